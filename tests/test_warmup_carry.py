"""A model's own TF Serving warmup requests through a rewrite. TF Serving replays every record
when it loads a model and refuses the model when one fails, so each record is carried over to
fit the result (renamed, translated, sent to the kept original, or removed with its signature)
and verification runs the result's whole file through both loaders. The records are written
by hand with TF Serving's own protos (``tensorflow-serving-api``): predict, classify (with a
context), regress and multi-inference, as estimator users write them."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from tensorflow_serving.apis import (
    classification_pb2,
    inference_pb2,
    input_pb2,
    model_pb2,
    predict_pb2,
    prediction_log_pb2,
    regression_pb2,
)

from core._tf import tf
from core.cli.main import main
from core.errors import PlanError, VerificationError
from core.rewrite.request import build_request
from core.savedmodel.handle import read_model_info
from core.savedmodel.warmup import read_warmup_requests, warmup_path
from core.workflows import rewrite_model
from tests.conftest import run_with_object_loader, run_with_session_loader, tree_digest

PredictionLog = prediction_log_pb2.PredictionLog


def _example(**features) -> tf.train.Example:
    example = tf.train.Example()
    for name, values in features.items():
        feature = example.features.feature[name]
        if isinstance(values[0], bytes):
            feature.bytes_list.value.extend(values)
        elif isinstance(values[0], int):
            feature.int64_list.value.extend(values)
        else:
            feature.float_list.value.extend(values)
    return example


PERSON = {"hours": [38], "income": [1.5, 2.25], "occupation": [b"nurse"]}
CONTEXT = _example(age=[41.0], occupation=[b"pilot"])  # the example's own occupation wins


def _spec(signature: str) -> model_pb2.ModelSpec:
    return model_pb2.ModelSpec(name="census", signature_name=signature)


def _estimator_records() -> list[PredictionLog]:
    """A classify request with a context, a regress request, a predict request carrying
    serialized Examples, and a multi-inference request that classifies and regresses."""
    with_context = input_pb2.Input(
        example_list_with_context=input_pb2.ExampleListWithContext(examples=[_example(**PERSON)], context=CONTEXT)
    )
    plain = input_pb2.Input(example_list=input_pb2.ExampleList(examples=[_example(age=[23.5], **PERSON)] * 2))
    serialized = np.array([_example(age=[30.0], tags=[b"a"], **PERSON).SerializeToString()], dtype=object)
    tasks = [
        inference_pb2.InferenceTask(model_spec=_spec("serving_default"), method_name="tensorflow/serving/classify"),
        inference_pb2.InferenceTask(model_spec=_spec("regression"), method_name="tensorflow/serving/regress"),
    ]
    return [
        PredictionLog(classify_log=prediction_log_pb2.ClassifyLog(
            request=classification_pb2.ClassificationRequest(model_spec=_spec("serving_default"), input=with_context))),
        PredictionLog(regress_log=prediction_log_pb2.RegressLog(
            request=regression_pb2.RegressionRequest(model_spec=_spec("regression"), input=plain))),
        PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=predict_pb2.PredictRequest(
            model_spec=_spec("predict"), inputs={"examples": tf.make_tensor_proto(serialized)}))),
        PredictionLog(multi_inference_log=prediction_log_pb2.MultiInferenceLog(
            request=inference_pb2.MultiInferenceRequest(tasks=tasks, input=plain))),
    ]  # fmt: skip


def _write(model_dir, records: list[PredictionLog]) -> None:
    path = warmup_path(model_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record.SerializeToString())


def _read(model_dir) -> list[PredictionLog]:
    return [PredictionLog.FromString(r) for r in tf.compat.v1.io.tf_record_iterator(str(warmup_path(model_dir)))]


def _names(log: PredictionLog) -> list[str]:
    kind = log.WhichOneof("log_type")
    if kind == "multi_inference_log":
        return [task.model_spec.signature_name for task in log.multi_inference_log.request.tasks]
    return [getattr(log, kind).request.model_spec.signature_name]


@pytest.fixture
def census(models, tmp_path):
    """The estimator-style export with its four warmup records."""
    model = tmp_path / "census"
    shutil.copytree(models["tf1_estimator_examples"], model)
    _write(model, _estimator_records())
    return model


def _warmup_checks(result) -> list:
    return [check for check in result.report.checks if check.name.startswith("warmup requests")]


def test_classify_requests_are_read_as_tf_serving_feeds_them(census):
    requests = read_warmup_requests(census)
    assert [(r.signature, r.record) for r in requests] == [
        ("serving_default", 0), ("regression", 1), ("predict", 2), ("serving_default", 3), ("regression", 3),
    ]  # fmt: skip
    (merged,) = requests[0].feeds["inputs"]
    features = tf.train.Example.FromString(merged).features.feature
    assert features["age"].float_list.value == [41.0] and features["occupation"].bytes_list.value == [b"nurse"]
    for run in (run_with_session_loader, run_with_object_loader):
        scores = run(census, "serving_default", requests[0].feeds)["scores"]
        assert scores.shape == (1, 2)


def test_renamed_and_dropped_signatures_take_their_records_with_them(census, tmp_path):
    out = tmp_path / "out"
    result = rewrite_model(census, out, build_request(rename_signatures={"regression": "value"}, drop=["predict"]))
    assert result.report.ok and not result.report.not_verified, result.report.summary
    assert [_names(log) for log in _read(out)] == [["serving_default"], ["value"], ["serving_default", "value"]]
    assert _read(out)[0] == _estimator_records()[0], "a record whose signature is untouched is copied as it was"
    notes = "\n".join(result.notes)
    assert "1 regress warmup request(s) of 'regression' now name 'value', its new name" in notes
    assert "1 predict warmup request(s) of 'predict' removed with the signature" in notes
    checks = _warmup_checks(result)
    assert [c.status.value for c in checks] == ["passed", "passed"]
    assert "3 of 3 record(s) read back; 4 of 4 request(s) ran" in checks[0].detail
    assert read_model_info(out).warmup == {"serving_default": 2, "value": 2}


def test_a_classify_signature_replaced_by_a_keyed_one_sends_its_records_to_the_kept_original(census, tmp_path):
    out = tmp_path / "out"
    result = rewrite_model(census, out, build_request(key="id", keep_original="examples"))
    assert result.report.ok and not result.report.not_verified, result.report.summary
    assert result.plan.result.method_name == "tensorflow/serving/predict"
    assert [_names(log) for log in _read(out)] == [["examples"], ["regression"], ["predict"], ["examples", "regression"]]
    assert "cannot be sent to the rewritten signature, so they now warm 'examples', the kept original" in "\n".join(result.notes)
    without = rewrite_model(census, tmp_path / "without", build_request(key="id"))
    assert without.report.ok
    assert [_names(log) for log in _read(tmp_path / "without")] == [["regression"], ["predict"]]
    assert "do not fit the rewritten signature, and TF Serving refuses a model whose warmup request fails" in "\n".join(
        without.notes
    )


def test_predict_requests_follow_a_renamed_and_cast_input_and_get_the_key(samples, tmp_path):
    """Written by hand as a user writes them: without our writer, the rewrite must still fit them."""
    model = tmp_path / "price"
    shutil.copytree(samples / "house_price", model)
    rows = {"rooms": np.array([[3.0], [5.0]], np.float32), "tax_rate": np.array([[0.1], [0.3]], np.float32)}
    request = predict_pb2.PredictRequest(model_spec=_spec(""), inputs={k: tf.make_tensor_proto(v) for k, v in rows.items()})
    _write(model, [PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))] * 2)
    before = tree_digest(model)
    out = tmp_path / "out"
    edits = build_request(key="id", key_dtype="int64", rename_inputs={"rooms": "n_rooms"}, cast_inputs={"rooms": "int64"})
    result = rewrite_model(model, out, edits)
    assert result.report.ok and not result.report.not_verified, result.report.summary
    assert tree_digest(model) == before, "the source is never modified"
    records = _read(out)
    assert len(records) == 2
    sent = {name: tf.make_ndarray(t) for name, t in records[0].predict_log.request.inputs.items()}
    assert sorted(sent) == ["id", "n_rooms", "tax_rate"] and sent["n_rooms"].dtype == np.int64
    assert sent["n_rooms"].tolist() == [[3], [5]] and sent["id"].dtype == np.int64
    want = run_with_session_loader(model, "serving_default", rows)["output_0"]
    np.testing.assert_array_equal(run_with_session_loader(out, "serving_default", sent)["output_0"], want)


def test_a_record_that_fits_nothing_fails_verification_and_nothing_is_written(samples, tmp_path):
    model = tmp_path / "price"
    shutil.copytree(samples / "house_price", model)
    wrong = predict_pb2.PredictRequest(model_spec=_spec("serve"), inputs={"rooms": tf.make_tensor_proto([[3.0]])})
    _write(model, [PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=wrong))])
    with pytest.raises(VerificationError, match=r"record 1 failed: .*\(TF Serving would refuse the model\)"):
        rewrite_model(model, tmp_path / "out", build_request(key="id"))
    assert not (tmp_path / "out").exists()


def test_a_file_over_tf_servings_limit_is_refused_before_anything_is_written(samples, tmp_path, capsys):
    model = tmp_path / "price"
    shutil.copytree(samples / "house_price", model)
    rows = {"rooms": tf.make_tensor_proto([[3.0]]), "tax_rate": tf.make_tensor_proto([[0.1]])}
    serve = predict_pb2.PredictRequest(model_spec=_spec("serve"), inputs=rows)
    _write(model, [PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=serve))] * 998)
    with pytest.raises(PlanError, match=r"would hold 1003 records \(998 of the model's own, 5 new\)"):
        rewrite_model(model, tmp_path / "out", build_request(key="id"), warmup_count=5)
    assert main(["rewrite", str(model), str(tmp_path / "out"), "--key", "id", "--warmup", "5"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: the result's warmup file would hold 1003 records") and not (tmp_path / "out").exists()


def test_warmup_alone_is_a_rewrite(samples, tmp_path, capsys):
    """Adding warmup requests to a model that needs nothing else: the signatures stay as they are."""
    out = tmp_path / "out"
    assert main(["rewrite", str(samples / "tf1_half_plus_two"), str(out), "--signature", "regress_x_to_y", "--warmup", "2"]) == 0
    assert "verification: " in capsys.readouterr().out
    assert read_model_info(out).warmup == {"regress_x_to_y": 2}
    assert read_model_info(out).signatures.keys() == read_model_info(samples / "tf1_half_plus_two" / "00000123").signatures.keys()
