"""A signature made from a function of the object graph (``rewrite --from-function``): listed by
inspect, written by the load/save engine, verified against the function itself through both
loaders, composed with the other edits, and refused with one sentence where it cannot be."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.cli.main import main
from core.errors import PlanError
from core.execution.pool import Scope
from core.rewrite.plan import plan_rewrite
from core.rewrite.request import RewriteRequest
from core.savedmodel.handle import read_model_info, read_saved_model
from core.serve.models import WorkerModel
from core.serve.rest import parse_rest_request
from core.workflows import rewrite_model
from tests.conftest import HOUSE_FEEDS, run_with_object_loader, run_with_session_loader

FEATURES = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 0.0]])


def _call_function(model_dir, feeds):
    """The function ``serve`` called through tf.saved_model.load, independently of ``core``."""
    from core._tf import tf

    loaded = tf.saved_model.load(str(model_dir))  # kept while its function runs: it owns the variables
    return loaded.serve(tf.constant(feeds))["scores"].numpy()


def test_inspect_lists_the_functions_that_can_be_served_with_their_specs(models, capsys):
    source = models["module_without_signatures"]
    info = read_model_info(source)
    assert info.public_signatures == [] and list(info.function_signatures) == ["serve"]
    assert main(["inspect", str(source)]) == 0
    assert "  serve(features float32 [-1, 4]) -> scores float32 [-1, 2]" in capsys.readouterr().out
    assert main(["inspect", str(source), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["function_signatures"]["serve"]
    assert listed["inputs"]["features"]["shape"] == [-1, 4] and list(listed["outputs"]) == ["scores"]


def test_a_module_saved_without_signatures_gets_one_from_its_function(models, tmp_path):
    source = models["module_without_signatures"]
    request = RewriteRequest(
        from_function="serve", key="id", rename_inputs=(("features", "x"),), cast_inputs=(("features", "float64"),),
        forwards=(), rename_outputs=(("scores", "score"),),
    )  # fmt: skip
    result = rewrite_model(source, tmp_path / "out", request)
    assert result.report.ok, result.report.summary
    assert [check.name for check in result.report.not_verified] == ["variables/ byte-identical"]
    assert result.engine.value == "TF2 load/save engine"
    assert any("a signature made from a function" in note for note in result.notes)
    titles = [check.name for check in result.report.checks if check.status.value == "passed"]
    assert any("function run through tf.saved_model.load" in title for title in titles), titles
    want = _call_function(source, FEATURES.astype(np.float32))
    keys = np.array([b"r1", b"r2"], object)
    for run in (run_with_object_loader, run_with_session_loader):
        got = run(tmp_path / "out", "serving_default", {"x": FEATURES, "id": keys})
        np.testing.assert_array_equal(got["score"], want)
        assert got["id"].tolist() == keys.tolist()
    handle = read_saved_model(tmp_path / "out")
    body = json.dumps({"instances": [{"x": list(row), "id": "r"} for row in FEATURES.tolist()]})
    parsed = parse_rest_request(body, handle.info.signatures)
    served = WorkerModel(handle, Scope.of(handle.path, scratch_parent=tmp_path)).run("serving_default", parsed.feeds)
    np.testing.assert_array_equal(served["score"], want)


def test_a_keras_export_serves_its_function_beside_its_signatures(samples, tmp_path):
    source = samples / "house_price"
    result = rewrite_model(source, tmp_path / "out", RewriteRequest(from_function="serve", result_name="direct"))
    assert result.report.ok and result.plan.final_signatures == ["direct", "serve", "serving_default"]
    for run in (run_with_object_loader, run_with_session_loader):
        np.testing.assert_array_equal(
            run(tmp_path / "out", "direct", HOUSE_FEEDS)["output_0"], run(source, "serving_default", HOUSE_FEEDS)["output_0"]
        )


@pytest.mark.parametrize(
    ("model", "request_", "message"),
    [
        (
            "module_without_signatures",
            RewriteRequest(from_function="nope"),
            "no function 'nope' that can be served; functions that can: ['serve']",
        ),
        (
            "module_without_signatures",
            RewriteRequest(from_function="serve", keep_original="old"),
            "there is no original signature to keep: the result is made from the function 'serve'",
        ),
        (
            "tf1_without_signatures",
            RewriteRequest(from_function="serve"),
            "is a TF1 graph, which holds no functions to serve (--from-function takes a function of a TF2 object graph); "
            "it holds the tag-sets [['mnist']] and no SignatureDef at all",
        ),
    ],
)
def test_bad_functions_are_one_sentence_with_what_there_is(models, model, request_, message):
    with pytest.raises(PlanError) as raised:
        plan_rewrite(read_model_info(models[model]), request_)
    assert message in str(raised.value)


def test_a_function_never_silently_replaces_a_signature_of_the_same_name(samples):
    with pytest.raises(
        PlanError,
        match="signature name 'serving_default' would be used by the rewritten signature and signature 'serving_default'",
    ):
        plan_rewrite(read_model_info(samples / "house_price"), RewriteRequest(from_function="serve"))


def test_the_cli_serves_a_function_and_refuses_a_wrong_one_with_one_line(models, tmp_path, capsys):
    source = models["module_without_signatures"]
    assert main(["rewrite", str(source), str(tmp_path / "bad"), "--from-function", "call"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == "error: no function 'call' that can be served; functions that can: ['serve']"
    assert not (tmp_path / "bad").exists()
    assert main(["rewrite", str(source), str(tmp_path / "out"), "--from-function", "serve", "--as", "predict", "--json"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["signatures"] == ["predict"] and written["engine"] == "TF2 load/save engine"
    assert main(["rewrite", str(models["tf1_without_signatures"]), str(tmp_path / "tf1"), "--from-function", "x"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "is a TF1 graph, which holds no functions to serve" in line and not (tmp_path / "tf1").exists()
