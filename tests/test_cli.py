"""The CLI contract: commands, JSON shapes, text tables, exit codes 0/1/2 and one-line errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from core.cli.main import main
from core.workflows import inspect_model
from tests.conftest import ROOT


def _run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_inspect_text_shows_one_table_per_signature(samples, capsys):
    code, out, _ = _run(["inspect", samples / "tf1_half_plus_two"], capsys)
    assert code == 0
    assert "(TF Serving version 123)" in out
    assert "signature 'classify_x_to_y'  method tensorflow/serving/classify" in out
    assert out.count("name    dtype   shape  tensor") == 2  # inputs of classify and regress


def test_rewrite_json_reports_verification(samples, tmp_path, capsys):
    code, out, err = _run(
        ["rewrite", samples / "house_price", tmp_path / "out", "--key", "id", "--forward", "rooms:rooms_in",
         "--rename-output", "output_0:price", "--keep-original", "unkeyed", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["source"] == {"path": str(samples / "house_price"), "version": None}
    assert data["destination"] == str(tmp_path / "out")
    assert sorted(data["signature"]["serving_default"]["outputs"]) == ["id", "price", "rooms_in"]
    assert data["signatures"] == ["serve", "serving_default", "unkeyed"]
    assert data["dropped"] == []
    assert data["verification"]["ok"] is True
    loaders = {c["loader"] for c in data["verification"]["checks"]}
    assert {"tf.saved_model.load", "tf.compat.v1 session loader"} <= loaders


def test_rewrite_says_which_serving_version_it_read(models, tmp_path, capsys):
    code, out, _ = _run(["rewrite", models["serving_base"], tmp_path / "out", "--key", "k"], capsys)
    assert code == 0
    assert out.splitlines()[0] == f"read TF Serving version 7 of {models['serving_base']}"


def test_rewrite_text_output(samples, tmp_path, capsys):
    code, out, _ = _run(
        ["rewrite", samples / "vocab_lookup", tmp_path / "o.zip", "--key", "k", "--key-dtype", "int64", "--drop", "count_known"],
        capsys,
    )
    assert code == 0
    assert "signatures: serving_default\ndropped: count_known" in out
    assert f"wrote {tmp_path / 'o.zip'}" in out
    assert "verification: " in out and " 0 failed" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["inspect", "{tmp}/missing"], "does not exist"),
        (["rewrite", "{samples}/house_price", "{tmp}/o", "--key", "rooms"], "key name 'rooms' collides with an input"),
        (["rewrite", "{samples}/house_price", "{tmp}/o", "--signature", "nope", "--key", "k"], "unknown signature 'nope'"),
        (["rewrite", "{samples}/house_price", "{tmp}/o", "--forward", ":x"], "--forward takes INPUT[:OUTPUT]"),
        (["rewrite", "{samples}/house_price", "{tmp}/o", "--key-dtype", "float32", "--key", "k"], "invalid choice: 'float32'"),
        (["rewrite", "{samples}/house_price", "{samples}/house_price/inner", "--key", "k"], "overlaps the source"),
        (
            ["diff", "{samples}/house_price", "{samples}/vocab_lookup", "--signature", "serve"],
            "unknown signature 'serve'; signatures: [count_known, serving_default]",
        ),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(samples, tmp_path, capsys, args, message):
    code, out, err = _run([a.format(tmp=tmp_path, samples=samples) for a in args], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_existing_destination_needs_overwrite(samples, tmp_path, capsys):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "keep.txt").write_text("mine")
    code, _, err = _run(["rewrite", samples / "house_price", tmp_path / "o", "--key", "k"], capsys)
    assert code == 2 and "pass --overwrite" in err
    code, _, err = _run(["rewrite", samples / "house_price", tmp_path / "o", "--key", "k", "--overwrite"], capsys)
    assert code == 2 and "holds files that are not a SavedModel (keep.txt)" in err, "a user's files are never replaced"
    assert (tmp_path / "o" / "keep.txt").read_text() == "mine"
    assert _run(["rewrite", samples / "house_price", tmp_path / "m", "--key", "k", "--no-verify"], capsys)[0] == 0
    code, _, _ = _run(["rewrite", samples / "house_price", tmp_path / "m", "--key", "id", "--overwrite"], capsys)
    assert code == 0, "a SavedModel folder may be replaced"
    assert "id" in inspect_model(tmp_path / "m").signatures["serving_default"].inputs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "o"], "no staging folder is left"


def test_verification_failure_exits_1_and_writes_nothing(models, tmp_path, capsys):
    code, _, err = _run(["rewrite", models["random_output"], tmp_path / "o", "--key", "k"], capsys)
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("error: verification failed, nothing was written")
    assert list(tmp_path.iterdir()) == []


def test_diff_text_and_json(samples, tmp_path, capsys):
    _run(["rewrite", samples / "house_price", tmp_path / "o", "--key", "k", "--forward", "rooms:r"], capsys)
    code, out, _ = _run(["diff", samples / "house_price", tmp_path / "o"], capsys)
    assert code == 0
    assert "1 input added, 0 removed, 0 changed; 2 outputs added, 0 removed" in out
    assert re.search(r"^  \+ added +input +k +string \[-1\]$", out, re.MULTILINE)
    code, out, _ = _run(
        [
            "diff",
            samples / "house_price",
            samples / "house_price",
            "--signature",
            "serve",
            "--signature-b",
            "serving_default",
            "--json",
        ],
        capsys,
    )
    data = json.loads(out)
    assert data["a"] == "serve" and data["b"] == "serving_default"
    assert {row["change"] for row in data["rows"]} == {"tensor renamed"}  # same specs, other tensor names
    assert all(row["changed_fields"] == ["tensor_name"] for row in data["rows"])
    assert data["summary"].endswith("0 changed; 3 tensor name(s) differ")


def test_python_dash_m_core_in_a_fresh_process(samples, tmp_path):
    """The real entry point: stdout is pure JSON, stderr holds only our one error line."""
    ok = subprocess.run([sys.executable, "-m", "core", "inspect", str(samples / "house_price"), "--json"],
                        cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["format"] == "tf2"
    bad = subprocess.run([sys.executable, "-m", "core", "inspect", str(tmp_path / "nope")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("command", ["rewrite", "predict"])
def test_help_is_the_commands_own_usage_only(command, capsys):
    """The early start reads its few arguments quietly: ``--help`` prints one usage, not first a
    stray "the following arguments are required" from the early parser."""
    from core.cli.early import start_early

    assert start_early([command, "--help"]) is None
    assert capsys.readouterr().err == ""


def test_a_verified_rewrite_in_a_fresh_process_leaves_only_its_output(samples, tmp_path):
    """``python -m core rewrite`` starts its workers before its own imports and ends without
    TensorFlow's teardown: its exit handlers still run, so no temporary folder, staging folder
    or worker is left behind, whether the rewrite is written or refused."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}

    def cli(*args: object) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "core", "rewrite", *map(str, args)]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)

    done = cli(samples / "tf1_half_plus_two", work / "keyed", "--key", "k")
    assert done.returncode == 0, done.stderr
    assert re.search(r"verification: \d+ passed, 0 failed, 0 not verified", done.stdout)
    refused = cli(samples / "tf1_half_plus_two", work / "again", "--key", "x")
    assert refused.returncode == 2 and refused.stderr.startswith("error: ") and "Traceback" not in refused.stderr
    assert sorted(path.name for path in work.iterdir()) == ["keyed"]
    assert list(temp.iterdir()) == []


def test_a_keras_file_and_its_destination_in_unrelated_folders(models, tmp_path):
    """The sandboxed worker that exports a Keras file must see the file itself, wherever it is."""
    from core.execution.sandbox import use_sandbox

    kept = tmp_path / "downloads" / "from a colleague"
    kept.mkdir(parents=True)
    shutil.copy(models["keras_file"], kept / "price.keras")
    destination = tmp_path / "elsewhere" / "models" / "keyed"
    done = subprocess.run(
        [sys.executable, "-m", "core", "rewrite", str(kept / "price.keras"), str(destination), "--key", "id"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(r"verification: \d+ passed, 0 failed, 0 not verified", done.stdout)
    assert use_sandbox() or os.environ.get("STUDIO_SANDBOX") != "require"
