"""TF Serving warmup requests written into a rewritten model: synthesized, from a file of rows,
or from Try's last request; read back with TF Serving's own ``PredictionLog`` proto, run by
verification through both loaders, listed by inspect; bad asks refused with one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tensorflow_serving.apis import prediction_log_pb2

from core._tf import tf
from core.cli.main import main
from core.rewrite.request import RewriteRequest
from core.savedmodel.handle import read_model_info
from core.savedmodel.warmup import warmup_path
from core.studio.running import TryAnswer, TryWay
from core.studio.session import StudioSession
from core.workflows import rewrite_model
from tests.conftest import run_with_session_loader


def _records(model_dir) -> list:
    """The warmup file as TF Serving reads it: a TFRecord of PredictionLog protos."""
    return [
        prediction_log_pb2.PredictionLog.FromString(r) for r in tf.compat.v1.io.tf_record_iterator(str(warmup_path(model_dir)))
    ]


def _warmup_checks(report) -> list:
    return [check for check in report.checks if check.name.startswith("warmup requests")]


def test_synthesized_warmup_requests_are_for_the_result_and_each_runs(samples, tmp_path, capsys):
    out = tmp_path / "out"
    request = RewriteRequest(key="id", rename_inputs=(("rooms", "n_rooms"),), cast_inputs=(("tax_rate", "float64"),))
    result = rewrite_model(samples / "house_price", out, request, warmup_count=4)
    assert result.report.ok and not result.report.not_verified, result.report.summary
    checks = _warmup_checks(result.report)
    assert len(checks) == 2 and {c.status.value for c in checks} == {"passed"} and "4 of 4" in checks[0].detail
    records = _records(out)
    assert len(records) == 4 and {r.WhichOneof("log_type") for r in records} == {"predict_log"}
    first = records[0].predict_log.request
    assert first.model_spec.signature_name == "serving_default" and sorted(first.inputs) == ["id", "n_rooms", "tax_rate"]
    feeds = {name: tf.make_ndarray(tensor) for name, tensor in first.inputs.items()}
    assert feeds["tax_rate"].dtype == np.float64 and feeds["n_rooms"].shape == (1, 1)
    assert run_with_session_loader(out, "serving_default", feeds)["id"].tolist() == feeds["id"].tolist()
    assert read_model_info(out).warmup == {"serving_default": 4}
    assert main(["inspect", str(out)]) == 0
    assert "warmup      4 TF Serving warmup request(s): serving_default (4)" in capsys.readouterr().out


@pytest.mark.parametrize(("name", "text", "records"), [
    ("rows.csv", "x\n1.5\n2.5\n4\n", 3),
    ("request.json", json.dumps({"instances": [{"x": 1.5}, {"x": 2.5}]}), 1),
])  # fmt: skip
def test_warmup_from_real_rows_on_a_tf1_graph(samples, tmp_path, name, text, records):
    rows = tmp_path / name
    rows.write_text(text)
    out = tmp_path / "out"
    result = rewrite_model(
        samples / "tf1_half_plus_two", out, RewriteRequest(key="k", cast_inputs=(("x", "float64"),)), warmup_from=rows
    )
    assert result.report.ok and {c.status.value for c in _warmup_checks(result.report)} == {"passed"}
    written = _records(out)
    assert len(written) == records
    x = tf.make_ndarray(written[0].predict_log.request.inputs["x"])
    assert x.dtype == np.float64 and x.tolist()[0] == 1.5


@pytest.mark.parametrize(("flags", "message"), [
    (["--warmup", "1001"], "error: --warmup takes a number of requests from 1 to 1000 (TF Serving replays no more)"),
    (["--warmup", "2", "--warmup-from", "rows.csv"], "error: give --warmup N or --warmup-from FILE, not both"),
    (["--warmup-from", "rows.txt"], "error: --warmup-from rows.txt: cannot tell its format"),
])  # fmt: skip
def test_bad_warmup_asks_are_one_line_and_write_nothing(samples, tmp_path, capsys, monkeypatch, flags, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rows.csv").write_text("rooms,tax_rate\n1,0.1\n")
    (tmp_path / "rows.txt").write_text("")
    assert main(["rewrite", str(samples / "house_price"), str(tmp_path / "out"), "--key", "id", *flags]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(message)
    assert not (tmp_path / "out").exists()


def test_the_studio_writes_trys_last_request_as_warmup(tmp_path):
    session = StudioSession(work_parent=tmp_path)
    try:
        model = session.load_sample("house_price")
        with pytest.raises(Exception, match="no request to write as warmup"):
            session.start_apply(RewriteRequest(key="id"), warmup=True)
        body = json.dumps({"instances": [{"rooms": [3.0], "tax_rate": [0.1]}, {"rooms": [4.0], "tax_rate": [0.2]}]})
        session.remember_try_answer((model.digest, "serving_default", TryWay.JSON), TryAnswer(body, result="{}"))
        job = session.start_apply(RewriteRequest(key="id"), warmup=True).wait(600)
        assert job.error is None, job.error
        applied = session.rewrite
        assert applied.warmup and session.rewrite_matches(RewriteRequest(key="id"), warmup=True)
        assert not session.rewrite_matches(RewriteRequest(key="id")), "without warmup it is another rewrite"
        (record,) = _records(applied.model_dir)
        sent = tf.make_ndarray(record.predict_log.request.inputs["rooms"])
        assert sent.tolist() == [[3.0], [4.0]] and "id" in record.predict_log.request.inputs
        assert {c.status.value for c in _warmup_checks(applied.result.report)} == {"passed"}
    finally:
        session.close()
