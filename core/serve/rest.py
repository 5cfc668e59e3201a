"""TF Serving's REST predict API: read a request body, answer as TF Serving would.

* ``parse_rest_request`` reads row format (``{"signature_name": ..., "instances": [...]}``)
  or columnar format (``{"inputs": {...}}``), with ``{"b64": ...}`` for binary strings.
* ``format_rest_response`` answers in the matching format (``{"predictions": [...]}`` or
  ``{"outputs": ...}``); ``response_text`` writes it as exact JSON text.
* ``example_request`` makes a request a signature accepts, for people to edit.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_model_info
    >>> info = read_model_info(Path("sample_models/house_price"))
    >>> request = parse_rest_request('{"instances": [{"rooms": [3.0], "tax_rate": [0.1]}]}', info.signatures)
    >>> request.signature, request.feeds["rooms"].shape, request.row_format
    ('serving_default', (1, 1), True)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import InputDataError
from core.rewrite.request import DEFAULT_SIGNATURE
from core.savedmodel.examples import ExampleSpec, serialized_example
from core.savedmodel.info import SignatureInfo, TensorSpecInfo, unknown_signature_text
from core.serve.example_requests import examples_response, parse_examples_body, takes_examples_body
from core.serve.values import json_value, to_array

# What one Try request may hold: a page answers a few rows; millions go to a batch run.
MAX_REQUEST_BYTES = 16 << 20
MAX_REQUEST_ROWS = 10_000
TRY_LIMITS = f"at most {MAX_REQUEST_ROWS:,} rows and {MAX_REQUEST_BYTES >> 20} MB per request"
_FOR_MORE = "for more, run a batch (the Batch run tab, or python -m core predict)"


@dataclass(frozen=True)
class RestRequest:
    """A parsed REST body: which signature, the feeds, and whether it used row format."""

    signature: str
    feeds: dict[str, np.ndarray]
    row_format: bool
    method: str | None = None  # a :classify/:regress body's method (``examples``), else None: predict


def _check_names(signature: SignatureInfo, given: list[str]) -> None:
    missing = sorted(set(signature.inputs) - set(given))
    unknown = sorted(set(given) - set(signature.inputs))
    if missing or unknown:
        parts = [f"missing input(s) {missing}" if missing else "", f"unknown input(s) {unknown}" if unknown else ""]
        raise InputDataError(f"{'; '.join(p for p in parts if p)}; signature '{signature.name}' takes {sorted(signature.inputs)}")


def parse_rest_request(
    body: str | dict[str, Any],
    signatures: dict[str, SignatureInfo],
    *,
    example_spec: ExampleSpec | None = None,
    example_inputs: Callable[[str], list[str]] | None = None,
) -> RestRequest:
    """Read a TF Serving REST body against the model's signatures: predict's ``instances`` or
    ``inputs``, or, for a classify or regress signature whose one input takes serialized
    Examples (``example_inputs`` says which), ``:classify``/``:regress``'s ``examples``.

    Raises:
        InputDataError: invalid JSON, unknown signature, missing or unknown inputs, wrong
            dtypes or shapes, ragged rows, arrays nested past what Python can read, or more
            than ``TRY_LIMITS`` — each message names what was expected.
    """
    try:
        return _parse(body, signatures, example_spec or ExampleSpec(), example_inputs or (lambda name: []))
    except RecursionError as err:  # the JSON reader and NumPy both recurse once per level
        raise InputDataError(
            "the request nests arrays or objects too deeply to read; a signature's input is an array of at most "
            "a few dimensions per row"
        ) from err


def _check_rows(rows: int) -> None:
    if rows > MAX_REQUEST_ROWS:
        raise InputDataError(f"the request has {rows:,} rows; Try reads {TRY_LIMITS}; {_FOR_MORE}")


def _parse(
    body: str | dict[str, Any],
    signatures: dict[str, SignatureInfo],
    spec: ExampleSpec,
    example_inputs: Callable[[str], list[str]],
) -> RestRequest:
    if isinstance(body, str):
        if len(body) > MAX_REQUEST_BYTES:
            raise InputDataError(f"the request is {len(body) / (1 << 20):.0f} MB; Try reads {TRY_LIMITS}; {_FOR_MORE}")
        try:
            body = json.loads(body)
        except json.JSONDecodeError as err:
            raise InputDataError(f"the request is not valid JSON: {err}") from err
    if not isinstance(body, dict) or sum(key in body for key in ("instances", "inputs", "examples")) != 1:
        raise InputDataError(
            'the request must be a JSON object with exactly one of "instances" (row format) or "inputs" (columnar), '
            'or "examples" for a classify or regress signature'
        )
    name = body.get("signature_name", DEFAULT_SIGNATURE)
    public = sorted(n for n, s in signatures.items() if not s.internal)
    if name not in public:
        raise InputDataError(f"signature_name: {unknown_signature_text(name, public)}")
    signature = signatures[name]
    if "examples" in body:
        taking = example_inputs(name)
        if not takes_examples_body(signature.method_name) or len(taking) != 1:
            raise InputDataError(
                f'"examples" is the body of :classify and :regress, for a signature that takes tf.Examples in one input; '
                f"'{name}' is {signature.method_name or 'no method'} taking {sorted(signature.inputs)}: send \"instances\" "
                'or "inputs"'
            )
        _check_rows(len(body["examples"]) if isinstance(body["examples"], list) else 0)
        return RestRequest(name, parse_examples_body(body, name, taking[0], spec), True, signature.method_name)
    only_input = next(iter(signature.inputs)) if len(signature.inputs) == 1 else None
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise InputDataError('"instances" must be a non-empty list of rows')
        _check_rows(len(instances))
        if all(isinstance(row, dict) and "b64" not in row for row in instances):
            for index, row in enumerate(instances):
                try:
                    _check_names(signature, list(row))
                except InputDataError as err:
                    raise InputDataError(f"instance {index}: {err}") from err
            columns = {key: [row[key] for row in instances] for key in signature.inputs}
        elif only_input is not None:
            columns = {only_input: instances}
        else:
            raise InputDataError(f"each instance must be an object with the inputs {sorted(signature.inputs)}")
        row_format = True
    else:
        inputs = body["inputs"]
        columns = inputs if isinstance(inputs, dict) and not (only_input and set(inputs) == {"b64"}) else {only_input: inputs}
        if None in columns:
            raise InputDataError(f'"inputs" must be an object with the inputs {sorted(signature.inputs)}')
        _check_names(signature, list(columns))
        row_format = False
        _check_rows(max((len(values) for values in columns.values() if isinstance(values, list)), default=0))
    feeds = {key: to_array(key, columns[key], signature.inputs[key]) for key in signature.inputs}
    return RestRequest(name, feeds, row_format)


def rest_response(outputs: dict[str, np.ndarray], request: RestRequest) -> dict[str, Any]:
    """Answer ``request`` as TF Serving would: ``results`` for a classify/regress body, else predict's."""
    if request.method is not None:
        return examples_response(outputs, request.method)
    return format_rest_response(outputs, request.row_format)


def format_rest_response(outputs: dict[str, np.ndarray], row_format: bool) -> dict[str, Any]:
    """Answer as TF Serving does: ``predictions`` per row, or ``outputs`` per tensor."""
    names = sorted(outputs)
    if row_format:
        rows = len(next(iter(outputs.values()))) if outputs else 0
        if len(names) == 1:
            return {"predictions": [json_value(names[0], outputs[names[0]][i]) for i in range(rows)]}
        return {"predictions": [{n: json_value(n, outputs[n][i]) for n in names} for i in range(rows)]}
    if len(names) == 1:
        return {"outputs": json_value(names[0], outputs[names[0]])}
    return {"outputs": {n: json_value(n, outputs[n]) for n in names}}


def example_request(
    signature: SignatureInfo,
    rows: int = 2,
    *,
    example_spec: ExampleSpec | None = None,
    example_inputs: Sequence[str] = (),
) -> dict[str, Any]:
    """A row-format request for ``signature`` with placeholder values of the right shapes.

    Inputs named in ``example_inputs`` take serialized tf.Examples: they get one carrying every
    feature of ``example_spec``, as ``{"b64": ...}``.
    """

    def example(row: int) -> dict[str, str]:
        def fill(dtype: str, count: int) -> list[Any]:
            return [f"row-{row}".encode()] * count if dtype == "string" else [row + 1] * count

        return {"b64": base64.b64encode(serialized_example(example_spec or ExampleSpec(), fill)).decode("ascii")}

    def placeholder(name: str, spec: TensorSpecInfo, row: int) -> Any:
        if name in example_inputs:
            return example(row)
        shape = [] if spec.shape is None else [1 if d < 0 else d for d in spec.shape[1:]]
        scalar: Any = f"row-{row}" if spec.dtype == "string" else (True if spec.dtype == "bool" else (row + 1))
        value: Any = scalar
        for dim in reversed(shape):
            value = [value] * dim
        return value

    instances = [{name: placeholder(name, spec, row) for name, spec in signature.inputs.items()} for row in range(rows)]
    return {"signature_name": signature.name, "instances": instances}


def response_text(response: dict[str, Any]) -> str:
    """A response as the exact JSON text TF Serving would send (int64 values stay exact).

    Example:
        >>> print(response_text({"predictions": [{"key": 9007199254740993}]}))
        {
          "predictions": [
            {
              "key": 9007199254740993
            }
          ]
        }
    """
    return json.dumps(response, indent=2, ensure_ascii=False)


def request_text(body: dict[str, Any]) -> str:
    """A request body as JSON text with one line per instance, for people to edit."""
    if "instances" not in body:
        return json.dumps(body, indent=2)
    head = {key: value for key, value in body.items() if key != "instances"}
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in head.items()]
    rows = ",\n".join(f"    {json.dumps(row)}" for row in body["instances"])
    return "{\n" + "\n".join(lines) + '\n  "instances": [\n' + rows + "\n  ]\n}"
