"""TF Serving's :classify and :regress bodies on Try: ``{"examples": [...]}`` built into
tf.Examples from the values typed, run, and answered as TF Serving answers them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core._tf import tf
from core.errors import InputDataError
from core.execution.pool import Scope
from core.savedmodel.handle import read_saved_model
from core.serve.models import WorkerModel
from core.serve.rest import parse_rest_request, rest_response

TF1 = "sample_models/tf1_half_plus_two/00000123"


def _ask(handle, body, tmp_path):
    request = parse_rest_request(
        json.dumps(body), handle.info.signatures, example_spec=handle.example_spec, example_inputs=handle.example_inputs
    )
    outputs = WorkerModel(handle, Scope.of(handle.path, scratch_parent=tmp_path)).run(request.signature, request.feeds)
    return rest_response(outputs, request)


def test_regress_and_classify_take_tf_servings_examples_body(tmp_path):
    from tests.conftest import ROOT

    handle = read_saved_model(ROOT / TF1)
    regressed = _ask(handle, {"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}, {"x": 4}]}, tmp_path)
    assert regressed == {"results": [2.5, 4.0]}, "y = x / 2 + 2, an int typed as the model's float"
    classified = _ask(handle, {"signature_name": "classify_x_to_y", "context": {"x": 2.0}, "examples": [{}]}, tmp_path)
    example = tf.train.Example()
    example.features.feature["x"].float_list.value.append(2.0)
    direct = WorkerModel(handle, Scope.of(handle.path, scratch_parent=tmp_path)).run(
        "classify_x_to_y", {"inputs": np.array([example.SerializeToString()], dtype=object)}
    )
    label, score = direct["classes"][0][0].decode(), float(direct["scores"][0][0])
    assert classified == {"results": [[[label, score]]]}, "the context's features go into every example"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"examples": [{"rooms": 1}]}, '"examples" is the body of :classify and :regress'),
        ({"signature_name": "regress_x_to_y", "examples": []}, '"examples" must be a non-empty list of objects'),
        ({"signature_name": "regress_x_to_y", "examples": [{"x": {"a": 1}}]}, "feature 'x': a value is a number, a string"),
        ({"signature_name": "regress_x_to_y", "examples": [{"x": "text"}]}, "feature 'x' takes float32; received 'text'"),
    ],
)
def test_a_bad_examples_body_is_one_sentence(body, message):
    from tests.conftest import ROOT

    handle = read_saved_model(ROOT / TF1)
    if "rooms" in json.dumps(body):
        handle = read_saved_model(ROOT / "sample_models/house_price")
    with pytest.raises(InputDataError) as raised:
        parse_rest_request(
            json.dumps(body), handle.info.signatures, example_spec=handle.example_spec, example_inputs=handle.example_inputs
        )
    assert message in str(raised.value)
