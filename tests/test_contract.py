"""The contract diff against a deployment: TF Serving's model metadata JSON (made here from our
own models in TF Serving's shape) read as signatures, and a verdict per client-visible change."""

from __future__ import annotations

import json

import pytest

from core.cli.main import main
from core.errors import InputDataError
from core.rewrite.request import RewriteRequest
from core.savedmodel.contract import Impact, contract_changes, read_serving_metadata, serving_metadata
from core.savedmodel.diff import diff_signatures
from core.savedmodel.handle import read_saved_model
from core.savedmodel.info import SignatureInfo, TensorSpecInfo
from core.workflows import diff_against_served, rewrite_model

PREDICT = "tensorflow/serving/predict"


def _metadata(model_dir, tmp_path):
    handle = read_saved_model(model_dir)
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(serving_metadata(handle.meta_graph, model_name="price", version=3)))
    return path


def test_metadata_in_tf_servings_shape_reads_as_the_models_signatures(samples, tmp_path):
    path = _metadata(samples / "house_price", tmp_path)
    data = json.loads(path.read_text())
    served = data["metadata"]["signature_def"]["signature_def"]
    assert "__saved_model_init_op" in served and data["model_spec"]["version"] == "3"
    assert served["serving_default"]["inputs"]["rooms"]["tensor_shape"]["dim"][0]["size"] == "-1", "int64 as a string"
    assert served["serving_default"]["inputs"]["rooms"]["dtype"] == "DT_FLOAT"
    signatures = read_serving_metadata(path.read_text(), "metadata.json")
    model = read_saved_model(samples / "house_price").info.signatures
    assert sorted(signatures) == ["serve", "serving_default"], "the init op is not a signature"
    assert signatures["serving_default"].inputs == model["serving_default"].inputs


def test_a_keyed_rewrite_breaks_clients_of_the_served_model(samples, tmp_path, capsys):
    path = _metadata(samples / "house_price", tmp_path)
    out = tmp_path / "keyed"
    rewrite_model(samples / "house_price", out, RewriteRequest(key="id", forwards=()))
    served = diff_against_served(read_saved_model(out).info, path.read_text(), display="metadata.json")
    impacts = {(c.row.side.value, c.row.label): c.impact for c in served.changes}
    assert impacts == {("input", "id"): Impact.BREAKING, ("output", "id"): Impact.COMPATIBLE}
    assert served.verdict == "breaking for clients: input 'id' added"
    assert main(["diff", str(out), str(path)]) == 0
    printed = capsys.readouterr().out
    assert "breaking    input 'id' added: clients must now send it" in printed
    assert "compatible  output 'id' added: clients that do not read it are unaffected" in printed
    assert main(["diff", str(out), str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"].startswith("breaking") and {c["impact"] for c in data["contract"]} == {"breaking", "compatible"}


def _signature(inputs: dict, outputs: dict, method: str = PREDICT) -> SignatureInfo:
    spec = {name: TensorSpecInfo(dtype, shape, "") for name, (dtype, shape) in inputs.items()}
    out = {name: TensorSpecInfo(dtype, shape, "") for name, (dtype, shape) in outputs.items()}
    return SignatureInfo("s", method, False, spec, out)


@pytest.mark.parametrize(
    ("served", "new", "impacts"),
    [
        (_signature({"x": ("float32", (-1, 3))}, {}), _signature({"x": ("float32", (-1, -1))}, {}), {"x": Impact.COMPATIBLE}),
        (_signature({"x": ("float32", (-1, 3))}, {}), _signature({"x": ("float64", (-1, 3))}, {}), {"x": Impact.BREAKING}),
        (_signature({"x": ("float32", (-1, -1))}, {}), _signature({"x": ("float32", (-1, 3))}, {}), {"x": Impact.BREAKING}),
        (_signature({}, {"y": ("float32", (-1,))}), _signature({}, {}), {"y": Impact.BREAKING}),
        (
            _signature({}, {"y": ("float32", (-1,))}),
            _signature({}, {"y": ("float32", (-1,)), "z": ("int64", (-1,))}),
            {"z": Impact.COMPATIBLE},
        ),
        (_signature({"x": ("string", (-1,))}, {}), _signature({}, {}), {"x": Impact.BREAKING}),
    ],
)
def test_each_client_visible_change_gets_its_verdict(served, new, impacts):
    changes = contract_changes(diff_signatures(served, new))
    assert {c.row.label: c.impact for c in changes} == impacts


def test_a_changed_method_name_breaks_clients():
    changes = contract_changes(diff_signatures(_signature({}, {}, "tensorflow/serving/classify"), _signature({}, {})))
    assert [(c.row, c.impact) for c in changes] == [(None, Impact.BREAKING)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "metadata.json is not JSON"),
        (
            json.dumps({"model_spec": {}}),
            "metadata.json is not TF Serving's model metadata: it has no metadata.signature_def.signature_def",
        ),
    ],
)
def test_a_file_that_is_not_tf_servings_metadata_is_one_sentence(text, message):
    with pytest.raises(InputDataError) as raised:
        read_serving_metadata(text, "metadata.json")
    assert message in str(raised.value) and "GET /v1/models/NAME/metadata" in str(raised.value)


def test_the_cli_refuses_bad_metadata_and_an_unknown_served_signature_with_one_line(samples, tmp_path, capsys):
    bad = tmp_path / "metadata.json"
    bad.write_text(json.dumps({"models": []}))
    assert main(["diff", str(samples / "house_price"), str(bad)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: metadata.json is not TF Serving's model metadata")
    good = _metadata(samples / "house_price", tmp_path)
    assert main(["diff", str(samples / "house_price"), str(good), "--signature-b", "predict"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == "error: metadata.json: unknown signature 'predict'; signatures: [serve, serving_default]"
