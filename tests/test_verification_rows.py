"""Verification with inputs real models accept: ids inside their tables, widths the model was
traced with, and real rows when the user has them (``--verify-with``, Try's last request, the
model's TF Serving warmup requests). The report says what was fed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.cli.main import main
from core.errors import InputDataError, VerificationError
from core.rewrite.request import RewriteRequest
from core.savedmodel.handle import read_saved_model
from core.savedmodel.warmup import WARMUP_FILE, read_warmup_requests
from core.verify.synthetic import synthesize_batch
from core.workflows import rewrite_model


def _behaviour(report):
    return [check for check in report.checks if check.loader != "saved_model.pb and files"]


@pytest.mark.parametrize("model", ["declared_wider", "one_based_ids", "keras_float_ids", "tf1_float_ids", "tf1_open_width"])
def test_synthetic_batches_fit_what_the_model_accepts(models, tmp_path, model):
    result = rewrite_model(models[model], tmp_path / "keyed", RewriteRequest(key="k"))
    assert result.report.ok and not result.report.not_verified, result.report.to_json()


def test_a_width_the_signature_leaves_open_comes_from_the_traced_function(models):
    handle = read_saved_model(models["declared_wider"])
    batch = synthesize_batch(handle.info.signatures["serving_default"], handle.example_spec, hints=handle.input_hints)
    assert batch.feeds["x"].shape == (3, 20)
    assert "its width came from the model's traced [-1, 20]" in batch.guesses[0]


@pytest.mark.parametrize("model", ["tf1_open_width", "tf1_float_ids", "keras_float_ids"])
def test_reading_the_hints_leaves_the_graph_as_it_was(models, model):
    """A proto map adds any key it is indexed with: the reader must ask before it reads, or the
    engines would write attributes the ops do not have."""
    handle = read_saved_model(models[model])
    before = handle.meta_graph.SerializeToString(deterministic=True)
    assert handle.input_hints is not None
    assert handle.meta_graph.SerializeToString(deterministic=True) == before


def test_a_tf1_width_the_signature_leaves_open_comes_from_the_graph(models):
    handle = read_saved_model(models["tf1_open_width"])
    assert handle.input_hints.graph_widths == {"features:0": 5}
    batch = synthesize_batch(handle.info.signatures["serving_default"], handle.example_spec, hints=handle.input_hints)
    assert batch.feeds["features"].shape == (3, 5)
    assert "its width 5 came from the graph's first MatMul or convolution on it" in batch.guesses[0]


@pytest.mark.parametrize(("model", "tensor"), [("keras_float_ids", "serving_default_tokens:0"), ("tf1_float_ids", "codes:0")])
def test_a_float_input_the_model_casts_to_ids_gets_ids(models, model, tensor):
    handle = read_saved_model(models[model])
    assert tensor in handle.input_hints.index_inputs
    batch = synthesize_batch(handle.info.signatures["serving_default"], handle.example_spec, hints=handle.input_hints)
    (values,) = batch.feeds.values()
    assert values.dtype == np.float32 and set(np.unique(values)) <= {1.0, 2.0}


def test_float_inputs_that_index_nothing_keep_their_spread(models):
    handle = read_saved_model(models["keras_embedding"])
    assert handle.input_hints.index_inputs == {"serve_region:0", "serving_default_region:0"}
    batch = synthesize_batch(handle.info.signatures["serving_default"], handle.example_spec, hints=handle.input_hints)
    assert (batch.feeds["age_income_score"] < 0).any()


def test_ids_stay_inside_the_smallest_embedding_table(samples):
    handle = read_saved_model(samples / "keras2_churn")
    assert handle.input_hints.id_limit == 5
    batch = synthesize_batch(handle.info.signatures["serving_default"], handle.example_spec, hints=handle.input_hints)
    assert 1 <= batch.feeds["plan"].min() and batch.feeds["plan"].max() < 5


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("rows.csv", "rooms,tax_rate\n3,0.1\n4,0.2\n5,0.3\n6,0.4\n"),
        ("rows.jsonl", "".join(json.dumps({"rooms": [r], "tax_rate": [0.1]}) + "\n" for r in (3, 4, 5, 6))),
        ("request.json", json.dumps({"inputs": {"rooms": [[3], [4], [5], [6]], "tax_rate": [[0.1]] * 4}})),
    ],
)
def test_verify_with_a_file_feeds_its_rows_and_says_so(samples, tmp_path, capsys, name, text):
    rows = tmp_path / name
    rows.write_text(text)
    code = main(
        ["rewrite", str(samples / "house_price"), str(tmp_path / "out"), "--key", "id", "--verify-with", str(rows), "--json"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)["verification"]
    fed = [c for c in report["checks"] if c["name"].startswith("'serving_default' outputs bit-identical")]
    assert len(fed) == 2 and all(f"fed 4 rows of {name} (inputs " in c["detail"] for c in fed)
    assert report["ok"] and "0 not verified" in report["summary"]


def test_verify_with_rows_that_do_not_fit_is_one_error_and_nothing_written(samples, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    rows.write_text("rooms\n3\n")
    code = main(["rewrite", str(samples / "house_price"), str(tmp_path / "out"), "--key", "id", "--verify-with", str(rows)])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and line.startswith("error: --verify-with rows.csv: the CSV lacks column(s) ['tax_rate']")
    with pytest.raises(InputDataError, match=r"--verify-with rows.txt: cannot tell its format; give a TF Serving REST"):
        rewrite_model(samples / "house_price", tmp_path / "out", RewriteRequest(key="id"), verify_with=tmp_path / "rows.txt")
    assert not (tmp_path / "out").exists()


def _write_warmup(model_dir, requests):
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    (model_dir / "assets.extra").mkdir(exist_ok=True)
    with tf.io.TFRecordWriter(str(model_dir / "assets.extra" / WARMUP_FILE)) as writer:
        for signature, feeds in requests:
            request = predict_pb2.PredictRequest()
            request.model_spec.signature_name = signature
            for name, value in feeds.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def test_warmup_requests_are_read_back_and_fed(models, tmp_path):
    import shutil

    model_dir = tmp_path / "with_warmup"
    shutil.copytree(models["declared_wider"], model_dir)
    rows = np.linspace(0, 1, 40, dtype=np.float32).reshape(2, 20)
    _write_warmup(model_dir, [("other", {"y": rows}), ("serving_default", {"x": rows})])
    (request,) = [r for r in read_warmup_requests(model_dir) if r.signature == "serving_default"]
    np.testing.assert_array_equal(request.feeds["x"], rows)
    # TF Serving refuses a model one of whose warmup requests fails: so does verification.
    with pytest.raises(VerificationError, match="record 1 failed: .*the model has no signature 'other'; signatures: "):
        rewrite_model(model_dir, tmp_path / "refused", RewriteRequest(key="k"))
    _write_warmup(model_dir, [("serving_default", {"x": rows})])
    result = rewrite_model(model_dir, tmp_path / "keyed", RewriteRequest(key="k"))
    details = [c.detail for c in _behaviour(result.report) if "bit-identical" in c.name]
    assert all(f"fed 2 rows of warmup request 1 ({WARMUP_FILE}) (inputs k, x)" in detail for detail in details), details
    assert result.report.ok and not result.report.not_verified


def test_a_broken_warmup_file_is_a_clear_error(samples, tmp_path):
    import shutil

    model_dir = tmp_path / "broken_warmup"
    shutil.copytree(samples / "house_price", model_dir)
    (model_dir / "assets.extra").mkdir()
    (model_dir / "assets.extra" / WARMUP_FILE).write_bytes(b"not a tfrecord at all")
    from core.errors import ModelSourceError

    with pytest.raises(ModelSourceError, match=f"assets.extra/{WARMUP_FILE} cannot be read as TF Serving warmup requests"):
        rewrite_model(model_dir, tmp_path / "out", RewriteRequest(key="k"))
    assert not (tmp_path / "out").exists()


def test_apply_verifies_with_trys_last_request(samples):
    from core.studio.running import TryAnswer
    from core.studio.session import StudioSession
    from tests.sessions import apply_in_session

    session = StudioSession()
    try:
        model = session.load_sample("house_price")
        body = json.dumps({"instances": [{"rooms": [r], "tax_rate": [0.2]} for r in (1, 2, 3, 4, 5)]})
        session.remember_try_answer((model.digest, "serving_default", "json"), TryAnswer(body, result="{}"))
        applied = apply_in_session(session, RewriteRequest(key="id"))
        details = [c.detail for c in _behaviour(applied.result.report) if c.name.startswith("'serving_default' outputs")]
        assert len(details) == 2 and all("fed 5 rows of Try's last request" in d for d in details), details
        session.remember_try_answer((model.digest, "serving_default", "json"), TryAnswer("{bad", error="not JSON"))
        assert session.try_rows(model, "serving_default") == {}
    finally:
        session.close()
