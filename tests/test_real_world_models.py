"""Models as people have them: Keras 2-era exports that keep their optimizer (the committed
``keras2_churn`` sample, made with tf_keras) and a ``tf.Module`` trained with a
``tf.compat.v1`` optimizer. ``tf.saved_model.load`` cannot revive either; TF Serving serves
both. Inspect says so, Try and batch prediction serve them through the session as TF Serving
does, and ``--drop-optimizer`` repairs them, proven through both loaders."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from core.cli.main import main
from core.errors import ModelSourceError, PlanError
from core.execution.pool import Scope
from core.rewrite.request import RewriteRequest
from core.savedmodel.handle import read_saved_model
from core.savedmodel.revival import tf_keras_installed
from core.serve.models import WorkerModel
from core.verify.report import CheckStatus
from core.workflows import inspect_model, rewrite_model
from tests.conftest import ROOT, SAMPLES, run_with_object_loader, run_with_session_loader, tree_digest

CHURN_FEEDS = {"tenure": np.array([[0.5], [2.0], [4.5]], np.float32), "plan": np.array([[0], [3], [4]], np.int32)}
MODULE_FEEDS = {"features": np.linspace(-1.0, 1.0, 8, dtype=np.float32).reshape(2, 4)}


@pytest.fixture(params=["keras2_churn", "v1_optimizer_module"])
def trained(request, models):
    """(model folder, feeds, whether tf.saved_model.load revives it here)."""
    if request.param == "keras2_churn":
        return SAMPLES / "keras2_churn", CHURN_FEEDS, tf_keras_installed()
    return models["v1_optimizer_module"], MODULE_FEEDS, False


def test_the_object_loader_really_cannot_revive_them(trained):
    model_dir, feeds, revives = trained
    if revives:
        run_with_object_loader(model_dir, "serving_default", feeds)
        return
    with pytest.raises(AttributeError, match="add_slot"):
        run_with_object_loader(model_dir, "serving_default", feeds)


def test_inspect_finds_it_from_the_protos_and_names_the_repair(trained, capsys):
    model_dir, _, revives = trained
    info = inspect_model(model_dir)
    (optimizer,) = info.optimizers
    assert optimizer.path == "optimizer" and optimizer.slot_variables > 0
    assert (info.object_loader_problem is None) == revives
    data = info.to_json()["object_loader"]
    assert data["revives"] == revives and data["optimizers"][0]["path"] == "optimizer"
    if not revives:
        assert "'_UserObject' object has no attribute 'add_slot'" in info.object_loader_problem
        assert "--drop-optimizer" in info.object_loader_problem
        assert main(["inspect", str(model_dir)]) == 0
        assert "NOT REVIVABLE tf.saved_model.load cannot revive this model" in capsys.readouterr().out


def test_models_without_optimizer_state_revive(samples):
    for name in ("house_price", "vocab_lookup", "tf1_half_plus_two"):
        info = inspect_model(samples / name)
        assert info.optimizers == () and info.object_loader_problem is None


def test_try_serves_them_through_the_session_as_tf_serving_does(trained, tmp_path):
    model_dir, feeds, _ = trained
    model = WorkerModel(read_saved_model(model_dir), Scope.of(model_dir, scratch_parent=tmp_path))
    served = model.run("serving_default", feeds)
    expected = run_with_session_loader(model_dir, "serving_default", feeds)
    assert served.keys() == expected.keys()
    for name, value in expected.items():
        np.testing.assert_array_equal(served[name], value)


def test_the_repair_loads_in_both_loaders_with_the_originals_outputs(trained, tmp_path):
    model_dir, feeds, _ = trained
    result = rewrite_model(model_dir, tmp_path / "repaired", RewriteRequest(drop_optimizer=True))
    assert result.report.ok and not result.report.not_verified, result.report.to_json()
    checks = {(c.name.split(" (")[0], c.loader): c for c in result.report.checks}
    dropped = checks["optimizer state dropped from the object graph, nothing else", "saved_model.pb and files"]
    assert dropped.status is CheckStatus.PASSED and "dropped 'optimizer'" in dropped.detail
    assert checks["variables/ byte-identical", "saved_model.pb and files"].status is CheckStatus.PASSED
    assert any("drops optimizer 'optimizer'" in note for note in result.notes)

    repaired = tmp_path / "repaired"
    assert inspect_model(repaired).optimizers == ()
    original = run_with_session_loader(model_dir, "serving_default", feeds)
    for run in (run_with_object_loader, run_with_session_loader):
        outputs = run(repaired, "serving_default", feeds)
        for name, value in original.items():
            np.testing.assert_allclose(outputs[name], value, rtol=1e-6)
    # Every file but the proto and its fingerprint is the source's, byte for byte.
    before, after = tree_digest(model_dir), tree_digest(repaired)
    changed = {name for name in before if before[name] != after.get(name)}
    assert changed == {"saved_model.pb", "fingerprint.pb"} and set(after) == set(before)
    assert tree_digest(model_dir) == before  # the source is untouched


def test_tflite_converts_the_repaired_model(tmp_path, models):
    """In a process of its own: the converter loads with tf.saved_model.load."""
    source = models["v1_optimizer_module"]
    assert rewrite_model(source, tmp_path / "repaired", RewriteRequest(drop_optimizer=True)).report.ok
    script = "import sys, tensorflow as tf; print(len(tf.lite.TFLiteConverter.from_saved_model(sys.argv[1]).convert()))"
    for model, converts in ((tmp_path / "repaired", True), (source, False)):
        done = subprocess.run([sys.executable, "-c", script, str(model)], capture_output=True, text=True, timeout=300)
        assert (done.returncode == 0) == converts, done.stderr[-2000:]


def test_the_repair_composes_with_a_key_and_keeps_the_original(tmp_path):
    request = RewriteRequest(key="id", keep_original="unkeyed", drop_optimizer=True)
    result = rewrite_model(SAMPLES / "keras2_churn", tmp_path / "keyed", request)
    assert result.report.ok and not result.report.not_verified
    assert result.plan.final_signatures == ["serving_default", "unkeyed"]
    keys = np.array([b"a", b"b", b"c"], object)
    for run in (run_with_object_loader, run_with_session_loader):
        outputs = run(tmp_path / "keyed", "serving_default", {**CHURN_FEEDS, "id": keys})
        assert outputs["id"].tolist() == keys.tolist()


def test_a_key_without_the_repair_says_which_loader_was_left_out_and_why(tmp_path):
    if tf_keras_installed():
        pytest.skip("with tf_keras installed, tf.saved_model.load revives Keras 2 optimizers")
    result = rewrite_model(SAMPLES / "keras2_churn", tmp_path / "keyed", RewriteRequest(key="id"))
    assert result.report.ok
    (left,) = result.report.not_verified
    assert left.loader == "tf.saved_model.load" and "--drop-optimizer" in left.detail


def test_dropping_optimizer_state_a_model_does_not_have_is_refused(samples, tmp_path, capsys):
    with pytest.raises(PlanError, match="no optimizer state to drop"):
        rewrite_model(samples / "house_price", tmp_path / "out", RewriteRequest(drop_optimizer=True))
    code = main(["rewrite", str(samples / "tf1_half_plus_two"), str(tmp_path / "tf1"), "--drop-optimizer"])
    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "a TF1 graph has no object graph" in error[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "tf1").exists()


def test_predict_runs_a_keras2_export(tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("tenure,plan\n0.5,0\n2.0,3\n4.5,4\n")
    done = subprocess.run(
        [sys.executable, "-m", "core", "predict", str(SAMPLES / "keras2_churn"), str(rows), str(tmp_path / "out"), "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["rows"], summary["predicted"], summary["rejected"]) == (3, 3, 0)
    lines = [json.loads(line) for path in (tmp_path / "out").glob("results-*.jsonl") for line in path.read_text().splitlines()]
    expected = run_with_session_loader(SAMPLES / "keras2_churn", "serving_default", CHURN_FEEDS)["churn"]
    by_key = {line["key"]: line["prediction"]["churn"] for line in lines}
    np.testing.assert_array_equal(np.float32([by_key[row] for row in (1, 2, 3)]), expected)


def test_predict_on_a_model_no_loader_loads_fails_before_reading_a_row(samples, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(samples / "house_price", broken)
    for data in (broken / "variables").glob("variables.data-*"):
        data.write_bytes(b"")
    rows = tmp_path / "rows.csv"
    rows.write_text("rooms,tax_rate\n3,0.1\n4,0.2\n")
    done = subprocess.run(
        [sys.executable, "-m", "core", "predict", str(broken), str(rows), str(tmp_path / "out")],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot run 'serving_default', nothing was read: broken:")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("model", "says"),
    [
        (
            "module_without_signatures",
            "has no serving signature (only TensorFlow's internal ['__saved_model_init_op']); it holds the tag-sets "
            "[['serve']] and the functions serve on its object graph; make one of ['serve'] a signature with "
            "rewrite --from-function PATH, or save it again with signatures=",
        ),
        (
            "tf1_without_signatures",
            "has no serving signature (no SignatureDef at all); it holds the tag-sets [['mnist']] and a TF1 graph",
        ),
    ],
)
def test_a_model_without_a_serving_signature_is_one_sentence_of_what_it_has(models, tmp_path, capsys, model, says):
    source = models[model]
    rows = tmp_path / "rows.csv"
    rows.write_text("x\n1\n")
    for command in (
        ["rewrite", str(source), str(tmp_path / "out"), "--key", "id"],
        ["diff", str(source), str(source)],
        ["export-config", str(source), str(tmp_path / "handoff")],
    ):
        assert main(command) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert says in line and "signatures: []" not in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "handoff").exists()


@pytest.mark.parametrize(
    ("model", "remove", "missing"),
    [
        ("house_price", "variables", "variables/ is missing, though the graph holds"),
        ("house_price", "variables/variables.data-00000-of-00001", "variables/variables.data-* is missing"),
        ("tf1_half_plus_two/00000123", "variables/variables.index", "variables/variables.index is missing"),
    ],
)
def test_a_copy_without_its_checkpoint_is_named_incomplete_and_never_run(samples, tmp_path, capsys, model, remove, missing):
    """Public repositories often hold saved_model.pb without variables/ (or without the large
    data file): inspect says what is missing; rewrite, predict and Try refuse with that sentence
    instead of a loader's "not a valid checkpoint"."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(samples / model, copy)
    removed = copy / remove
    shutil.rmtree(removed) if removed.is_dir() else removed.unlink()
    info = inspect_model(copy)
    assert info.missing_checkpoint.startswith(missing)
    assert info.to_json()["missing_checkpoint"] == info.missing_checkpoint
    assert main(["inspect", str(copy)]) == 0
    assert f"INCOMPLETE   {missing}" in capsys.readouterr().out
    rows = tmp_path / "rows.csv"
    rows.write_text("x\n1\n")
    for command in (
        ["rewrite", str(copy), str(tmp_path / "out"), "--key", "id"],
        ["predict", str(copy), str(rows), str(tmp_path / "predicted")],
    ):
        assert main(command) == 2
        error = capsys.readouterr().err.strip().splitlines()
        assert error == [f"error: {copy} is incomplete: {info.missing_checkpoint}"]
    assert not (tmp_path / "out").exists() and not (tmp_path / "predicted").exists()
    with pytest.raises(ModelSourceError, match="is incomplete"):
        WorkerModel(read_saved_model(copy), Scope.of(copy, scratch_parent=tmp_path))
