"""TF Serving REST bodies and CSV batches against real models: formats, and every bad input."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from core.errors import InputDataError
from core.execution.pool import Scope
from core.savedmodel.handle import read_saved_model
from core.savedmodel.info import SignatureInfo, TensorSpecInfo
from core.serve.models import WorkerModel
from core.serve.rest import example_request, format_rest_response, parse_rest_request, request_text
from core.serve.tabular import read_csv_batch, results_as_jsonl, run_in_batches
from core.workflows import inspect_model
from tests.conftest import HOUSE_FEEDS


def _serve(model_dir, scratch_parent) -> WorkerModel:
    """The model served from a sandboxed worker, as the Try page serves it."""
    return WorkerModel(read_saved_model(model_dir), Scope.of(model_dir, scratch_parent=scratch_parent))


@pytest.fixture(scope="module")
def house(samples, tmp_path_factory):
    return inspect_model(samples / "house_price"), _serve(samples / "house_price", tmp_path_factory.mktemp("house"))


@pytest.fixture(scope="module")
def vocab(samples, tmp_path_factory):
    return inspect_model(samples / "vocab_lookup"), _serve(samples / "vocab_lookup", tmp_path_factory.mktemp("vocab"))


def test_row_format_round_trip(house):
    info, model = house
    request = parse_rest_request(
        {"instances": [{"rooms": [3.0], "tax_rate": [0.1]}, {"rooms": [4.0], "tax_rate": [0.2]}]}, info.signatures
    )
    assert request.signature == "serving_default" and request.row_format
    assert request.feeds["rooms"].dtype == np.float32 and request.feeds["rooms"].shape == (2, 1)
    response = format_rest_response(model.run(request.signature, request.feeds), request.row_format)
    assert len(response["predictions"]) == 2 and len(response["predictions"][0]) == 1


def test_columnar_format_and_named_signature(house):
    info, model = house
    request = parse_rest_request(
        json.dumps({"signature_name": "serve", "inputs": {"rooms": [[3.0]], "tax_rate": [[0.1]]}}), info.signatures
    )
    assert request.signature == "serve" and not request.row_format
    response = format_rest_response(model.run(request.signature, request.feeds), request.row_format)
    assert list(response) == ["outputs"] and np.shape(response["outputs"]) == (1, 1)


def test_single_input_shortcuts_and_b64(vocab):
    info, model = vocab
    row = parse_rest_request({"instances": ["apple", {"b64": base64.b64encode(b"banana").decode()}]}, info.signatures)
    assert row.feeds["words"].tolist() == [b"apple", b"banana"]
    response = format_rest_response(model.run(row.signature, row.feeds), row.row_format)
    assert response == {"predictions": [100, 101]}
    columnar = parse_rest_request({"inputs": ["kiwi"]}, info.signatures)
    assert format_rest_response(model.run(columnar.signature, columnar.feeds), False) == {"outputs": [-1]}


def test_multiple_outputs_per_row(vocab):
    info, model = vocab
    request = parse_rest_request({"signature_name": "count_known", "instances": [{"sentences": ["apple", "x"]}]}, info.signatures)
    response = format_rest_response(model.run(request.signature, request.feeds), True)
    assert response == {"predictions": [{"is_known": [True, False], "known_words": 1}]}


def test_binary_outputs_are_base64_when_named_bytes():
    response = format_rest_response({"image_bytes": np.array([b"\x00\xff"], object), "label": np.array([b"ok"], object)}, True)
    assert response["predictions"][0] == {"image_bytes": {"b64": "AP8="}, "label": "ok"}


@pytest.mark.parametrize(
    "body, message",
    [
        ("{not json", "the request is not valid JSON"),
        ({"rows": []}, r'exactly one of "instances" \(row format\) or "inputs"'),
        ({"instances": [], "inputs": {}}, 'exactly one of "instances"'),
        (
            {"signature_name": "nope", "instances": [{}]},
            r"signature_name: unknown signature 'nope'; signatures: \[serve, serving_default\]",
        ),
        ({"instances": [{"rooms": [1.0]}]}, r"instance 0: missing input\(s\) \['tax_rate'\]"),
        ({"instances": [{"rooms": [1.0], "tax_rate": [1.0], "size": 3}]}, r"unknown input\(s\) \['size'\]"),
        ({"instances": [{"rooms": ["many"], "tax_rate": [1.0]}]}, "input 'rooms': values cannot be read as float32"),
        (
            {"instances": [{"rooms": [1.0, 2.0], "tax_rate": [1.0]}]},
            r"input 'rooms' needs shape \[\?, 1\]; received shape \[1, 2\]",
        ),
        ({"inputs": {"rooms": [[1.0], [2.0, 3.0]], "tax_rate": [[1.0], [1.0]]}}, "rows have different lengths"),
        ({"instances": [1.0, 2.0]}, "each instance must be an object with the inputs"),
        ({"instances": "x"}, '"instances" must be a non-empty list'),
    ],
)
def test_bad_requests_are_clear(house, body, message):
    info, _ = house
    with pytest.raises(InputDataError, match=message):
        parse_rest_request(body, info.signatures)


@pytest.mark.parametrize(
    "body, message",
    [
        ('{"instances": ' + "[" * 100_000 + "]" * 100_000 + "}", "nests arrays or objects too deeply to read"),
        (
            '{"instances": [{"rooms": ' + "[" * 500 + "1.0" + "]" * 500 + ', "tax_rate": [1.0]}]}',
            r"input 'rooms' is nested 501 levels deep; it takes \[\?, 1\]",
        ),
        ({"instances": [{"rooms": [1.0], "tax_rate": [1.0]}] * 10_001}, "the request has 10,001 rows; Try reads at most 10,000"),
        ({"inputs": {"rooms": [[1.0]] * 20_000, "tax_rate": [[1.0]] * 20_000}}, "the request has 20,000 rows"),
        (" " * ((16 << 20) + 1), "the request is 16 MB; Try reads at most 10,000 rows and 16 MB per request"),
    ],
)
def test_requests_past_what_try_reads_are_one_sentence(house, body, message):
    """Nesting past Python's recursion limit, and more rows or bytes than a page answers, are
    refused with what Try accepts and where to go instead; never a RecursionError."""
    info, _ = house
    with pytest.raises(InputDataError, match=message) as raised:
        parse_rest_request(body, info.signatures)
    assert "Error" not in str(raised.value)


def test_model_errors_become_input_errors(samples, tmp_path):
    info = inspect_model(samples / "image_classifier")
    model = _serve(samples / "image_classifier", tmp_path)
    assert info.signatures["serving_default"].inputs["image"].shape == (-1, 28, 28)
    with pytest.raises(InputDataError, match="signature 'serving_default' rejected the input"):
        model.run("serving_default", {"image": np.zeros((1, 5, 5), np.float32)})


def test_example_request_runs(house):
    info, model = house
    request = parse_rest_request(example_request(info.signatures["serving_default"]), info.signatures)
    assert len(format_rest_response(model.run(request.signature, request.feeds), True)["predictions"]) == 2


def test_csv_batches_keep_row_order_and_carry_inputs(house):
    info, model = house
    rows = "\n".join(f"{i / 10},{i}" for i in range(10))
    feeds = read_csv_batch(f"tax_rate,rooms,comment\n{rows}\n".encode(), info.signatures["serving_default"])
    assert feeds["rooms"].shape == (10, 1)
    seen = []
    frame = run_in_batches(model, "serving_default", feeds, batch_size=4, progress=seen.append)
    assert seen == [0.4, 0.8, 1.0]
    whole = model.run("serving_default", feeds)["output_0"]
    assert frame["output_0"].tolist() == [float(str(np.float32(v))) for v in whole[:, 0]]
    lines = [json.loads(line) for line in results_as_jsonl(feeds, frame).splitlines()]
    assert lines[3]["instance"] == {"rooms": [3.0], "tax_rate": [0.3]}
    assert set(lines[3]["prediction"]) == {"output_0"}


def test_csv_array_cells(samples):
    info = inspect_model(samples / "vocab_lookup")
    feeds = read_csv_batch(b'sentences\n"[""apple"", ""kiwi""]"\n"[""date"", ""fig""]"\n', info.signatures["count_known"])
    assert feeds["sentences"].tolist() == [[b"apple", b"kiwi"], [b"date", b"fig"]]


@pytest.mark.parametrize(
    "csv, message",
    [
        (
            b"rooms\n1\n",
            r"the CSV lacks column\(s\) \['tax_rate'\]; signature 'serving_default' needs columns \['rooms', 'tax_rate'\]",
        ),
        (b"rooms,tax_rate\n", "the CSV has a header but no rows"),
        (b"rooms,tax_rate\n1,abc\n", "column 'tax_rate', row 1: 'abc' is not a float32 value"),
        (b"rooms,tax_rate\n1,\n", "column 'tax_rate', row 1: empty cell"),
        (b"", "the CSV cannot be read"),
    ],
)
def test_bad_csv_is_clear(house, csv, message):
    info, _ = house
    with pytest.raises(InputDataError, match=message):
        read_csv_batch(csv, info.signatures["serving_default"])


def test_csv_ragged_and_single_value_cells(samples):
    info = inspect_model(samples / "vocab_lookup")
    with pytest.raises(InputDataError, match="rows have different lengths"):
        read_csv_batch(b'sentences\n"[""a"", ""b""]"\n"[""c""]"\n', info.signatures["count_known"])
    # Rows of unknown width: a cell that is not a JSON array is a row of one value.
    assert read_csv_batch(b"sentences\nnot-json\n", info.signatures["count_known"])["sentences"].tolist() == [[b"not-json"]]
    widths = SignatureInfo("s", "tensorflow/serving/predict", False, {"x": TensorSpecInfo("float32", (-1, -1), "x:0")}, {})
    assert read_csv_batch(b"x\n2.5\n3\n", widths)["x"].tolist() == [[2.5], [3.0]]
    with pytest.raises(InputDataError, match=r"column 'x', row 1: 'ten' is not a float32 value, nor a JSON array of them"):
        read_csv_batch(b"x\nten\n", widths)


def test_request_text_is_valid_json_with_a_line_per_instance(house):
    info, _ = house
    body = example_request(info.signatures["serving_default"], rows=3)
    text = request_text(body)
    assert json.loads(text) == body
    assert len(text.splitlines()) == 3 + 5


def test_tf1_models_are_served_through_a_session_like_tf_serving(samples, tmp_path):
    import tensorflow as tf

    from core.execution.loader_kind import Loader

    model_dir = samples / "tf1_half_plus_two" / "00000123"
    info = inspect_model(model_dir)
    model = _serve(model_dir, tmp_path)
    assert model.loader("regress_x_to_y") is Loader.SESSION
    example = tf.train.Example(
        features=tf.train.Features(feature={"x": tf.train.Feature(float_list=tf.train.FloatList(value=[4.0]))})
    )
    body = {"signature_name": "regress_x_to_y", "instances": [{"b64": base64.b64encode(example.SerializeToString()).decode()}]}
    request = parse_rest_request(body, info.signatures)
    assert format_rest_response(model.run(request.signature, request.feeds), True) == {"predictions": [[4.0]]}
    with pytest.raises(InputDataError, match="signature 'serving_default' rejected the input"):
        model.run("serving_default", {"x": np.array([[1.0]], np.float32)})


def test_a_model_that_cannot_load_is_a_clear_error(samples, tmp_path):
    import shutil

    from core.errors import ModelSourceError

    broken = tmp_path / "broken"
    shutil.copytree(samples / "house_price", broken)
    for data in (broken / "variables").glob("variables.data-*"):
        data.write_bytes(b"")
    with pytest.raises(ModelSourceError, match="cannot load the model"):
        _serve(broken, tmp_path).run("serving_default", HOUSE_FEEDS)
