"""Batch prediction on Apache Beam's DirectRunner, end to end: CSV, JSON lines and TFRecord
inputs through keyed and unkeyed models of every family (Keras export, tf.Module, TF1 session
model); every row in exactly one of results and errors, predictions equal to a direct call."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core._tf import tf
from core.batch.files import InputFormat, read_progress
from core.batch.handoff import handoff_files, runner_commands, write_handoff
from core.batch.pipeline import predict
from core.cli.parser import build_parser, split_beam_args
from core.errors import InputDataError, OutputError, PlanError
from core.rewrite.request import RewriteRequest, build_request
from core.savedmodel.handle import read_saved_model
from core.workflows import rewrite_model
from tests.conftest import ROOT, SAMPLES, run_with_object_loader, run_with_session_loader

BIG = 2**53 + 1  # not representable as a float64: must stay exact end to end


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """Keyed rewrites of one model per family: name → folder."""
    root = tmp_path_factory.mktemp("keyed")
    made = {
        "keras": (SAMPLES / "house_price", build_request(key="instance_key", forwards=[("tax_rate", "tax_rate")])),
        "tf1": (SAMPLES / "tf1_half_plus_two", build_request(key="id", key_dtype="int64")),
        "module": (SAMPLES / "vocab_lookup", RewriteRequest(key="row_id")),
    }
    for name, (source, request) in made.items():
        rewrite_model(source, root / name, request)
    return {name: root / name for name in made}


def _lines(folder: Path, kind: str) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.glob(f"{kind}-*.jsonl")) for line in path.read_text("utf-8").splitlines()]


def _csv_text(rows: list[list[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def test_csv_through_a_keyed_keras_export(keyed, tmp_path):
    keys = ["plain", "with,comma", 'with "quotes"', "ünïcødé ✓", "two\nlines"]
    rows = [["instance_key", "rooms", "tax_rate", "note"]]
    rows += [[key, index + 1, 0.25 * index, "ignored"] for index, key in enumerate(keys)]
    rows += [["bad-number", "three", 0.1, ""], ["too-few", 1]]
    text = _csv_text(rows) + "missing-field,,0.3,\n"
    (tmp_path / "rows.csv").write_text(text, encoding="utf-8")

    summary = predict(str(keyed["keras"]), str(tmp_path / "rows.csv"), str(tmp_path / "out"), key_column="instance_key")

    assert (summary.rows, summary.predicted, summary.rejected) == (8, 5, 3)
    results = _lines(tmp_path / "out", "results")
    assert sorted(r["key"] for r in results) == sorted(keys)  # every key exactly once
    direct = run_with_object_loader(
        keyed["keras"],
        "serving_default",
        {
            "instance_key": np.array([k.encode() for k in keys], object),
            "rooms": np.arange(1, 6, dtype=np.float32)[:, None],
            "tax_rate": (0.25 * np.arange(5, dtype=np.float32))[:, None],
        },
    )
    by_key = {r["key"]: r["prediction"] for r in results}
    for index, key in enumerate(keys):
        assert by_key[key]["instance_key"] == key
        assert np.float32(by_key[key]["output_0"][0]) == direct["output_0"][index][0]
        assert by_key[key]["tax_rate"] == [0.25 * index]
    errors = {e.get("key", e.get("row")): e["error"] for e in _lines(tmp_path / "out", "errors")}
    assert errors == {
        "bad-number": "column 'rooms': 'three' is not a float32 value",
        "too-few,1": "the row has 2 fields; the header has 4",
        "missing-field": "column 'rooms': '' is not a float32 value",
    }


def test_jsonl_through_a_keyed_tf1_model_keeps_int64_keys_exact(keyed, tmp_path):
    rows = [{"id": BIG + i, "x": float(i)} for i in range(4)]
    lines = [json.dumps(row) for row in rows] + ['{"id": 7, "x": "NaN?"}', "{broken", '{"id": 8}', '{"id": 9, "x": 1, "y": 2}']
    (tmp_path / "rows.jsonl").write_text("\n".join(lines) + "\n")

    summary = predict(str(keyed["tf1"]), str(tmp_path / "rows.jsonl"), str(tmp_path / "out"), key_column="id")

    assert (summary.rows, summary.predicted, summary.rejected) == (8, 4, 4)
    results = _lines(tmp_path / "out", "results")
    assert sorted(r["key"] for r in results) == [BIG + i for i in range(4)]
    direct = run_with_session_loader(
        keyed["tf1"],
        "serving_default",
        {"x": np.arange(4, dtype=np.float32), "id": np.array([BIG + i for i in range(4)], np.int64)},
    )
    for result in results:
        index = result["key"] - BIG
        assert result["prediction"]["id"] == result["key"]
        assert np.float32(result["prediction"]["y"]) == direct["y"][index]
    errors = _lines(tmp_path / "out", "errors")
    assert {e.get("key") for e in errors} == {7, 8, 9, None}
    assert any(e.get("row") == "{broken" and e["error"].startswith("not a JSON object") for e in errors)
    assert any(e.get("key") == 9 and "unknown field(s) ['y']" in e["error"] for e in errors)


def _example(x: float, key: int | None = None, name: str = "x") -> bytes:
    feature = {name: tf.train.Feature(float_list=tf.train.FloatList(value=[x]))}
    if key is not None:
        feature["id"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[key]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def test_tfrecord_through_a_tf1_regress_signature_with_the_key_beside(samples, tmp_path):
    records = [_example(float(i), BIG + i) for i in range(3)] + [b"not an example", _example(1.0, 99, name="wrong")]
    with tf.io.TFRecordWriter(str(tmp_path / "rows.tfrecord")) as writer:
        for record in records:
            writer.write(record)

    summary = predict(
        str(samples / "tf1_half_plus_two"), str(tmp_path / "rows.tfrecord"), str(tmp_path / "out"),
        signature="regress_x_to_y", key_column="id",
    )  # fmt: skip

    results = _lines(tmp_path / "out", "results")
    errors = _lines(tmp_path / "out", "errors")
    assert (summary.rows, summary.predicted, summary.rejected) == (5, 3, 2)
    assert {r["key"]: r["prediction"]["outputs"] for r in results} == {BIG + i: [0.5 * i + 2] for i in range(3)}
    assert {(e.get("key"), e.get("row")) for e in errors} == {(None, 4), (99, None)}
    rejected_by_model = next(e for e in errors if e.get("key") == 99)
    assert "rejected the input" in rejected_by_model["error"]  # found by running the block row by row


def test_unkeyed_tfrecord_uses_row_numbers(samples, tmp_path):
    with tf.io.TFRecordWriter(str(tmp_path / "rows.tfrecord")) as writer:
        for i in range(3):
            writer.write(_example(float(i)))
    (tmp_path / "rows.tfrecord").write_bytes((tmp_path / "rows.tfrecord").read_bytes() + b"\x00cut")

    summary = predict(str(samples / "tf1_half_plus_two"), str(tmp_path / "rows.tfrecord"), str(tmp_path / "out"),
                      signature="classify_x_to_y")  # fmt: skip

    assert sorted(r["key"] for r in _lines(tmp_path / "out", "results")) == [1, 2, 3]
    (error,) = _lines(tmp_path / "out", "errors")
    assert error["row"] == 4 and "the rest of the file cannot be read" in error["error"]
    assert summary.rejected == 1


def test_csv_through_a_keyed_tf_module_and_jsonl_with_the_key_beside(keyed, samples, tmp_path):
    (tmp_path / "rows.csv").write_text('row_id,words\nr1,hello\nr2,"unknown, word"\nr3,world\n', encoding="utf-8")
    predict(str(keyed["module"]), str(tmp_path / "rows.csv"), str(tmp_path / "keyed"), key_column="row_id")
    keyed_results = {r["key"]: r["prediction"] for r in _lines(tmp_path / "keyed", "results")}
    assert sorted(keyed_results) == ["r1", "r2", "r3"]

    # The unkeyed model with the same key column: the key travels beside the model.
    lines = [json.dumps({"row_id": k, "words": w}, ensure_ascii=False) for k, w in (("r1", "hello"), ("r2", "unknown, word"))]
    lines.append(json.dumps({"row_id": "r3", "words": {"b64": base64.b64encode(b"world").decode()}}))
    (tmp_path / "rows.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    predict(str(samples / "vocab_lookup"), str(tmp_path / "rows.jsonl"), str(tmp_path / "beside"), key_column="row_id")
    beside = {r["key"]: r["prediction"] for r in _lines(tmp_path / "beside", "results")}
    assert sorted(beside) == ["r1", "r2", "r3"]
    for key, prediction in beside.items():
        assert {name: value for name, value in keyed_results[key].items() if name != "row_id"} == prediction
    words = np.array([b"hello", b"world"], object)
    direct = run_with_object_loader(samples / "vocab_lookup", "serving_default", {"words": words})
    (name,) = direct
    assert [beside["r1"][name], beside["r3"][name]] == direct[name].tolist()


def test_several_files_keep_their_names_and_row_numbers(samples, tmp_path):
    for part in ("a", "b"):
        (tmp_path / f"part-{part}.csv").write_text("rooms,tax_rate\n1,0.1\n2,0.2\n")
    progress = tmp_path / "progress"
    progress.mkdir()
    summary = predict(str(samples / "house_price"), str(tmp_path / "part-*.csv"), str(tmp_path / "out"),
                      progress_dir=str(progress), block_rows=1)  # fmt: skip
    results = _lines(tmp_path / "out", "results")
    assert sorted((Path(r["file"]).name, r["key"]) for r in results) == [
        ("part-a.csv", 1), ("part-a.csv", 2), ("part-b.csv", 1), ("part-b.csv", 2),
    ]  # fmt: skip
    assert summary.rows == 4 and read_progress(progress) == 4


def test_bad_arguments_are_refused_before_anything_runs(samples, tmp_path):
    (tmp_path / "rows.csv").write_text("rooms\n1\n")
    with pytest.raises(PlanError, match=r"unknown signature 'nope'; signatures: \[serve, serving_default\]"):
        predict(str(samples / "house_price"), str(tmp_path / "rows.csv"), str(tmp_path / "out"), signature="nope")
    with pytest.raises(InputDataError, match=r"the CSV header lacks \['tax_rate'\]"):
        predict(str(samples / "house_price"), str(tmp_path / "rows.csv"), str(tmp_path / "out"))
    with pytest.raises(InputDataError, match="no input file matches"):
        predict(str(samples / "house_price"), str(tmp_path / "none-*.csv"), str(tmp_path / "out"))
    with pytest.raises(PlanError, match="TFRecord input needs a signature that takes serialized tf.Example"):
        predict(
            str(samples / "house_price"), str(tmp_path / "rows.csv"), str(tmp_path / "out"), input_format=InputFormat.TFRECORD
        )
    with pytest.raises(PlanError, match="DataflowRunner runs on other machines and cannot read MODEL"):
        predict(str(samples / "house_price"), "gs://b/in.csv", "gs://b/out", beam_args=["--runner", "DataflowRunner"])
    assert not (tmp_path / "out").exists()


def _cli(*args: object, temp: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TMPDIR": str(temp)} if temp is not None else None
    command = [sys.executable, "-m", "core", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env=env)


def test_cli_exit_codes_and_summary(samples, tmp_path, tmp_path_factory):
    temp = tmp_path_factory.mktemp("tmpdir")  # the runs' temporary folders must all be gone at exit
    (tmp_path / "rows.csv").write_text("rooms,tax_rate\n3,0.1\n4,x\n")
    done = _cli("predict", samples / "house_price", tmp_path / "rows.csv", tmp_path / "out", "--json", "--",
                "--direct_num_workers", "1", temp=temp)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "rows": 2, "predicted": 1, "rejected": 1, "runner": "DirectRunner",
        "results": f"{tmp_path}/out/results-*.jsonl", "errors": f"{tmp_path}/out/errors-*.jsonl",
    }  # fmt: skip
    again = _cli("predict", samples / "house_price", tmp_path / "rows.csv", tmp_path / "out")
    assert again.returncode == 2 and "holds the results of an earlier run" in again.stderr and "--overwrite" in again.stderr
    replaced = _cli("predict", samples / "house_price", tmp_path / "rows.csv", tmp_path / "out", "--overwrite", temp=temp)
    assert replaced.returncode == 0 and replaced.stdout.startswith("2 rows: 1 predicted, 1 rejected\n")
    assert list(temp.iterdir()) == []

    missing = _cli("predict", samples / "house_price", tmp_path / "nothing.csv", tmp_path / "o2")
    assert missing.returncode == 2 and missing.stderr.startswith("error: no input file matches")
    (tmp_path / "a-file").write_text("")
    failed = _cli("predict", samples / "house_price", tmp_path / "rows.csv", tmp_path / "a-file" / "out")
    assert failed.returncode == 1, failed.stderr
    assert failed.stderr.startswith("error: the pipeline failed on DirectRunner") and "Traceback" not in failed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "out", "rows.csv"]


def test_export_config_writes_serving_and_batch_handoff(models, samples, tmp_path):
    handoff = handoff_files(read_saved_model(models["serving_base"] / "7", version=7), key_field="row")
    assert 'base_path: "/models/serving_base"' in handoff.files["models.config"]
    assert "versions: 7" in handoff.files["models.config"]
    vertex = json.loads(handoff.files["vertex_batch_prediction.json"])["instanceConfig"]
    assert vertex == {"instanceType": "object", "includedFields": ["rooms", "tax_rate"], "keyField": "row"}
    assert handoff.warnings == []
    assert "--key-column row" in handoff.files["README.md"] and "DataflowRunner" in handoff.files["README.md"]

    classify = handoff_files(read_saved_model(samples / "tf1_half_plus_two" / "00000123"), signature="classify_x_to_y")
    assert json.loads(classify.files["request.json"]) == {"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}] * 2}
    assert ":classify" in classify.files["request.sh"]

    fixed = handoff_files(read_saved_model(models["fixed_batch"]))
    assert "allowed_batch_sizes: 4" in fixed.files["batching_parameters.txt"]

    code = _cli("export-config", samples / "house_price", tmp_path / "handoff", "--key-field", "rooms")
    assert code.returncode == 0, code.stderr
    assert "warning: Vertex AI removes keyField 'rooms'" in code.stderr
    assert sorted(p.name for p in (tmp_path / "handoff").iterdir()) == sorted(handoff.files)
    with pytest.raises(OutputError, match="not an empty folder"):
        write_handoff(handoff, tmp_path / "handoff")
    with pytest.raises(PlanError, match="unknown signature"):
        handoff_files(read_saved_model(samples / "house_price"), signature="nope")


def test_a_studio_session_runs_a_batch_in_the_background_and_keeps_only_the_last(samples):
    from core.studio.jobs import JobState
    from core.studio.session import StudioSession

    session = StudioSession()
    try:
        model = session.load_sample("house_price")
        with pytest.raises(
            InputDataError,
            match=r"cannot tell the format of 'rows.txt'; upload a file ending in one of "
            r"\.csv, \.jsonl, \.json, \.tfrecord, \.tfrecords",
        ):
            session.start_batch(model.handle, model.digest, "serving_default", "rows.txt", b"")
        data = b"rooms,tax_rate\n3,0.1\n4,0.2\n5,x\n"
        job = session.start_batch(model.handle, model.digest, "serving_default", "my rows.csv", data).wait(300)
        assert job.state is JobState.DONE, job.error
        assert session.batch_info.total_rows == 3 and read_progress(session.batch_info.progress_dir) == 3
        assert (job.result.summary.predicted, job.result.summary.rejected) == (2, 1)
        assert [json.loads(line)["key"] for line in job.result.results.read_text().splitlines()] == [1, 2]
        first_folder = job.result.results.parent
        second = session.start_batch(model.handle, model.digest, "serving_default", "again.csv", data).wait(300)
        assert second.state is JobState.DONE and not first_folder.exists()  # only the last run's files stay

        slow = session.start_batch(model.handle, model.digest, "serving_default", "big.csv", data * 20_000)
        session.load_sample("vocab_lookup")  # another model: its batch run stops and its files go
        assert slow.wait(30).state is JobState.CANCELLED
        assert not list(session.workspace.path.glob("batch-*"))
    finally:
        session.close()


def test_a_studio_batch_checks_the_header_at_once_and_maps_a_column_to_the_models_key_input(samples, tmp_path):
    """The header is checked before the pipeline starts, naming the upload (never the server's
    copy of it); a model that takes its key as an input gets it from a column named otherwise."""
    from core.studio.jobs import JobState
    from core.studio.session import StudioSession

    keyed = tmp_path / "keyed"
    rewrite_model(samples / "house_price", keyed, RewriteRequest(key="instance_id"))
    session = StudioSession(roots=[tmp_path])
    try:
        model = session.load_path(str(keyed))
        data = b"id,rooms,tax_rate\nr1,3,0.1\nr2,4,0.2\n"
        with pytest.raises(InputDataError) as refused:
            session.start_batch(model.handle, model.digest, "serving_default", "loan20.csv", data, key_column="id")
        assert str(refused.value).startswith("loan20.csv: the CSV header lacks ['instance_id']")
        assert str(session.workspace.path) not in str(refused.value)
        assert session.batch is None and not list(session.workspace.path.glob("batch-*")), "nothing started"
        job = session.start_batch(
            model.handle, model.digest, "serving_default", "loan20.csv", data, key_column="id", columns={"instance_id": "id"}
        ).wait(300)
        assert job.state is JobState.DONE, job.error
        results = [json.loads(line) for line in job.result.results.read_text().splitlines()]
        assert [(r["key"], r["prediction"]["instance_id"]) for r in results] == [("r1", "r1"), ("r2", "r2")]
    finally:
        session.close()


def test_a_batch_run_goes_with_its_files_when_a_model_is_loaded_again(samples):
    """Batch on A, load B, load A again: A's old run is gone from the session with its files."""
    from core.studio.session import StudioSession

    session = StudioSession()
    try:
        model = session.load_sample("house_price")
        session.start_batch(model.handle, model.digest, "serving_default", "rows.csv", b"rooms,tax_rate\n3,0.1\n").wait(300)
        session.load_sample("vocab_lookup")
        again = session.load_sample("house_price")
        assert again.digest == model.digest
        assert session.batch is None and session.batch_info is None
    finally:
        session.close()


def test_the_project_builds_as_a_wheel_that_beam_can_ship_to_its_workers(samples, tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "core", source / "core", ignore=shutil.ignore_patterns("__pycache__"))
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"), "."]
    subprocess.run(build, cwd=source, check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("signature_studio-*.whl")
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(tmp_path / "site"), str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    assert (tmp_path / "site" / "core" / "batch" / "pipeline.py").is_file()
    assert not (tmp_path / "site" / "tests").exists()
    # The installed package runs from anywhere, without this checkout on its path.
    done = subprocess.run(
        [sys.executable, "-m", "core", "export-config", str(samples / "house_price"), str(tmp_path / "handoff")],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "handoff" / "models.config").is_file()


@pytest.mark.parametrize("runner", ["Dataflow", "Flink", "Spark"])
def test_the_commands_at_scale_parse_as_this_tool_and_beam_read_them(runner):
    """No cluster here to run them on; what can be checked is that every flag is one Beam knows,
    each lands where the runner reads it, and this tool's part parses as ``predict``."""
    from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions, StandardOptions

    command = runner_commands("gs://b/models/m/1", "serving_default", key_column="id", input_pattern="gs://b/rows/*.csv",
                              output_dir="gs://b/out")[runner]  # fmt: skip
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:3] == ["python", "-m", "core"]
    own, beam_args = split_beam_args(words[3:])
    args = build_parser().parse_args(own)
    assert (args.command, args.model, args.key_column) == ("predict", "gs://b/models/m/1", "id")
    assert args.signature == "serving_default"
    known = PipelineOptions([]).get_all_options()
    flags = [word[2:].split("=")[0] for word in beam_args if word.startswith("--")]
    assert flags and [flag for flag in flags if flag not in known] == []
    options = PipelineOptions(beam_args).get_all_options()
    assert PipelineOptions(beam_args).view_as(StandardOptions).runner == f"{runner}Runner"
    assert PipelineOptions(beam_args).view_as(SetupOptions).setup_file == "./pyproject.toml"
    expected = {
        "Dataflow": {"project": "PROJECT", "region": "REGION", "temp_location": "gs://BUCKET/tmp"},
        "Flink": {"flink_master": "FLINK_HOST:8081", "environment_type": "DOCKER"},
        "Spark": {"spark_master_url": "spark://SPARK_HOST:7077", "environment_type": "DOCKER"},
    }[runner]
    assert {name: options[name] for name in expected} == expected


def test_the_project_ships_as_a_package_a_remote_runner_installs(tmp_path):
    """What ``--setup_file ./pyproject.toml`` or ``--extra_package`` hands a cluster: a wheel of
    ``core`` alone, with the requirements, that imports (worker included) wherever installed."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "core", project / "core", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", project],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("signature_studio-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(name for name in names if name.endswith(".dist-info/METADATA"))).decode()
    assert {name.split("/")[0] for name in names} == {"core", wheel.name.split("-py3")[0] + ".dist-info"}
    assert {"core/__main__.py", "core/batch/handler.py", "core/worker.py"} <= set(names)
    requirements = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert all(f"Requires-Dist: {line}" in metadata for line in requirements if line and not line.startswith("#"))
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", site, wheel], check=True, capture_output=True, timeout=300)
    elsewhere = subprocess.run(
        [sys.executable, "-c", "import core.batch.handler, core.worker; print(core.__file__)"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert Path(elsewhere.stdout.strip()).is_relative_to(site)


def test_a_long_lived_process_keeps_no_model_worker_per_pipeline(samples, tmp_path):
    """A Beam worker process runs pipeline after pipeline: each one's model worker ends when
    Beam lets go of its model (Beam itself keeps the last model it used for the next bundle)."""
    import gc

    from core.execution.pool import get_pool

    rows = tmp_path / "rows.csv"
    rows.write_text("rooms,tax_rate\n3,0.1\n4,0.2\n")
    before = get_pool().workers()
    for run in range(4):
        assert predict(str(samples / "house_price"), str(rows), str(tmp_path / f"out{run}")).predicted == 2
    gc.collect()
    assert get_pool().workers() - before <= 1
