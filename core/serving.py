"""Run a signature on user input the way TF Serving's REST API and batch prediction do.

* ``parse_rest_request`` reads a TF Serving REST body: row format
  (``{"signature_name": ..., "instances": [...]}``) or columnar (``{"inputs": {...}}``), with
  ``{"b64": ...}`` for binary strings; ``format_rest_response`` answers in the matching
  format (``{"predictions": [...]}`` or ``{"outputs": ...}``).
* ``read_csv_batch`` turns CSV columns into inputs (scalars, or JSON arrays in a cell for
  tensors); ``run_in_batches`` runs them chunk by chunk and returns one row per instance, so
  a keyed signature's output carries every row's key, as batch prediction does.

Example:
    >>> model = load_for_serving(Path("sample_models/house_price"))
    >>> request = parse_rest_request('{"instances": [{"rooms": [3.0], "tax_rate": [0.1]}]}', info.signatures)
    >>> format_rest_response(model.run(request.signature, request.feeds), request.row_format)
    {'predictions': [[...]]}
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core._tf import tf
from core.errors import InputDataError
from core.model_info import SignatureInfo, TensorSpecInfo, read_model_info
from core.plan import DEFAULT_SIGNATURE
from core.runner import Loader, ServingModel

DEFAULT_BATCH_SIZE = 64
BINARY_SUFFIX = "_bytes"


@dataclass(frozen=True)
class RestRequest:
    """A parsed REST body: which signature, the feeds, and whether it used row format."""

    signature: str
    feeds: dict[str, np.ndarray]
    row_format: bool


def load_for_serving(model_dir: Path) -> ServingModel:
    """Load ``model_dir`` the way TF Serving serves it: TF1 graph models through a session
    (``tf.saved_model.load`` would keep their ref variables until the process exits), TF2
    models through ``tf.saved_model.load``.

    Raises:
        ModelSourceError: the model cannot be loaded.
    """
    loader = Loader.SESSION if read_model_info(model_dir).format == "tf1" else Loader.OBJECT
    return ServingModel(model_dir, loader)


def _decode_binary(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) != {"b64"}:
            raise InputDataError(f'an object in the request must be {{"b64": ...}}; received keys {sorted(value)}')
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (ValueError, TypeError) as err:
            raise InputDataError(f'invalid base64 in {{"b64": ...}}: {err}') from err
    if isinstance(value, list):
        return [_decode_binary(item) for item in value]
    return value


def to_array(name: str, value: Any, spec: TensorSpecInfo, *, batched: bool = True) -> np.ndarray:
    """Convert JSON-like ``value`` into an array of ``spec``'s dtype, checking the shape.

    Raises:
        InputDataError: ragged nesting, a value of the wrong type, or a shape that does not fit.
    """
    dtype = tf.as_dtype(spec.dtype)
    try:
        if dtype == tf.string:
            array = np.array(_encode_strings(_decode_binary(value)), dtype=object)
            if any(isinstance(v, list) for v in array.flat):
                raise ValueError("inhomogeneous nesting")  # numpy keeps ragged lists as objects
            if not all(isinstance(v, bytes) for v in array.flat):
                raise ValueError("not all values are strings")
        else:
            array = np.array(value, dtype=dtype.as_numpy_dtype)
    except (ValueError, TypeError, OverflowError) as err:
        text = str(err)
        if "inhomogeneous" in text or "sequence" in text:
            raise InputDataError(f"input '{name}': rows have different lengths (ragged); every row needs the same shape") from err
        raise InputDataError(f"input '{name}': values cannot be read as {spec.dtype} ({text})") from err
    expected = spec.shape if batched else (spec.shape[1:] if spec.shape else spec.shape)
    if expected is not None:
        mismatched = any(want >= 0 and want != got for want, got in zip(expected, array.shape, strict=False))
        if array.ndim != len(expected) or mismatched:
            wanted = "[" + ", ".join("?" if d < 0 else str(d) for d in expected) + "]"
            raise InputDataError(f"input '{name}' needs shape {wanted}; received shape {list(array.shape)}")
    return array


def _encode_strings(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list):
        return [_encode_strings(item) for item in value]
    return value


def _check_names(signature: SignatureInfo, given: list[str]) -> None:
    missing = sorted(set(signature.inputs) - set(given))
    unknown = sorted(set(given) - set(signature.inputs))
    if missing or unknown:
        parts = [f"missing input(s) {missing}" if missing else "", f"unknown input(s) {unknown}" if unknown else ""]
        raise InputDataError(f"{'; '.join(p for p in parts if p)}; signature '{signature.name}' takes {sorted(signature.inputs)}")


def parse_rest_request(body: str | dict[str, Any], signatures: dict[str, SignatureInfo]) -> RestRequest:
    """Read a TF Serving REST predict body against the model's signatures.

    Raises:
        InputDataError: invalid JSON, unknown signature, missing or unknown inputs, wrong
            dtypes or shapes, ragged rows — each message names what was expected.
    """
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except json.JSONDecodeError as err:
            raise InputDataError(f"the request is not valid JSON: {err}") from err
    if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
        raise InputDataError(
            'the request must be a JSON object with exactly one of "instances" (row format) or "inputs" (columnar)'
        )
    name = body.get("signature_name", DEFAULT_SIGNATURE)
    public = sorted(n for n, s in signatures.items() if not s.internal)
    if name not in public:
        raise InputDataError(f"unknown signature_name '{name}'; signatures: {public}")
    signature = signatures[name]
    only_input = next(iter(signature.inputs)) if len(signature.inputs) == 1 else None
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise InputDataError('"instances" must be a non-empty list of rows')
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
    feeds = {key: to_array(key, columns[key], signature.inputs[key]) for key in signature.inputs}
    return RestRequest(name, feeds, row_format)


def _json_value(name: str, value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [_json_value(name, item) for item in value] if value.ndim else _json_value(name, value[()])
    if isinstance(value, list):
        return [_json_value(name, item) for item in value]
    if isinstance(value, bytes):
        if name.endswith(BINARY_SUFFIX):
            return {"b64": base64.b64encode(value).decode("ascii")}
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, np.floating) and value.dtype.itemsize < 8:
        # As TF Serving does: the shortest decimal that reads back as the same float32.
        return float(str(value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def format_rest_response(outputs: dict[str, np.ndarray], row_format: bool) -> dict[str, Any]:
    """Answer as TF Serving does: ``predictions`` per row, or ``outputs`` per tensor."""
    names = sorted(outputs)
    if row_format:
        rows = len(next(iter(outputs.values()))) if outputs else 0
        if len(names) == 1:
            return {"predictions": [_json_value(names[0], outputs[names[0]][i]) for i in range(rows)]}
        return {"predictions": [{n: _json_value(n, outputs[n][i]) for n in names} for i in range(rows)]}
    if len(names) == 1:
        return {"outputs": _json_value(names[0], outputs[names[0]])}
    return {"outputs": {n: _json_value(n, outputs[n]) for n in names}}


def example_request(signature: SignatureInfo, rows: int = 2) -> dict[str, Any]:
    """A row-format request for ``signature`` with placeholder values of the right shapes."""

    def placeholder(spec: TensorSpecInfo, row: int) -> Any:
        shape = [] if spec.shape is None else [1 if d < 0 else d for d in spec.shape[1:]]
        scalar: Any = f"row-{row}" if spec.dtype == "string" else (True if spec.dtype == "bool" else (row + 1))
        value: Any = scalar
        for dim in reversed(shape):
            value = [value] * dim
        return value

    instances = [{name: placeholder(spec, row) for name, spec in signature.inputs.items()} for row in range(rows)]
    return {"signature_name": signature.name, "instances": instances}


def request_text(body: dict[str, Any]) -> str:
    """A request body as JSON text with one line per instance, for people to edit."""
    if "instances" not in body:
        return json.dumps(body, indent=2)
    head = {key: value for key, value in body.items() if key != "instances"}
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in head.items()]
    rows = ",\n".join(f"    {json.dumps(row)}" for row in body["instances"])
    return "{\n" + "\n".join(lines) + '\n  "instances": [\n' + rows + "\n  ]\n}"


def _cell_values(name: str, column: pd.Series, spec: TensorSpecInfo) -> list[Any]:
    row_shape = None if spec.shape is None else spec.shape[1:]
    scalar_rows = row_shape is not None and all(d >= 0 for d in row_shape) and math.prod(row_shape) == 1
    values = []
    for index, cell in enumerate(column.tolist(), start=1):
        as_scalar = scalar_rows or row_shape == () or (row_shape is None and not str(cell).lstrip().startswith("["))
        if as_scalar:
            value: Any = cell
            if spec.dtype != "string" and isinstance(cell, str):
                try:
                    value = json.loads(cell) if cell.strip() else None
                except json.JSONDecodeError:
                    raise InputDataError(f"column '{name}', row {index}: '{cell}' is not a {spec.dtype} value") from None
            values.append(np.reshape(value, row_shape).tolist() if scalar_rows and value is not None else value)
        else:
            try:
                values.append(json.loads(cell))
            except (json.JSONDecodeError, TypeError):
                wanted = list(row_shape) if row_shape is not None else "any shape"
                raise InputDataError(
                    f"column '{name}', row {index}: input '{name}' needs an array of shape {wanted} per row, "
                    f"written as JSON in the cell (for example [1, 2]); received '{cell}'"
                ) from None
        if values[-1] is None:
            raise InputDataError(f"column '{name}', row {index}: empty cell; every input needs a value")
    return values


def read_csv_batch(data: bytes, signature: SignatureInfo) -> dict[str, np.ndarray]:
    """Turn CSV bytes (a header row of input names) into feeds for ``signature``.

    Raises:
        InputDataError: unreadable CSV, missing columns (named, with the expected ones), values
            of the wrong dtype, ragged array cells.
    """
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputDataError(f"the CSV cannot be read: {err}") from err
    missing = sorted(set(signature.inputs) - set(frame.columns))
    if missing:
        raise InputDataError(
            f"the CSV lacks column(s) {missing}; signature '{signature.name}' needs columns {sorted(signature.inputs)} "
            f"(found {list(frame.columns)})"
        )
    if frame.empty:
        raise InputDataError("the CSV has a header but no rows")
    return {name: to_array(name, _cell_values(name, frame[name], spec), spec) for name, spec in signature.inputs.items()}


def run_in_batches(
    model: ServingModel,
    signature: str,
    feeds: dict[str, np.ndarray],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[float], None] = lambda fraction: None,
) -> pd.DataFrame:
    """Run ``feeds`` through ``signature`` ``batch_size`` rows at a time; one result row per instance.

    A row's single value appears as itself; larger tensors as JSON arrays in their cell.
    """
    rows = len(next(iter(feeds.values())))
    parts = []
    for start in range(0, rows, batch_size):
        chunk = {name: value[start : start + batch_size] for name, value in feeds.items()}
        outputs = model.run(signature, chunk)
        parts.append({name: [_row_cell(name, value[i]) for i in range(len(value))] for name, value in outputs.items()})
        progress(min(1.0, (start + batch_size) / rows))
    columns = {name: [cell for part in parts for cell in part[name]] for name in parts[0]}
    frame = pd.DataFrame(columns)
    for name in frame.columns:
        frame[name] = frame[name].map(lambda cell: json.dumps(cell) if isinstance(cell, list | dict) else cell)
    return frame


def _row_cell(name: str, value: Any) -> Any:
    """One output of one row as a table cell: a single value unwrapped (``[3.5]`` → ``3.5``)."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())
    return _json_value(name, value)


def results_as_jsonl(inputs: dict[str, np.ndarray], results: pd.DataFrame) -> str:
    """Batch-prediction style JSON lines: ``{"instance": {...}, "prediction": {...}}`` per row."""
    lines = []
    for index, record in enumerate(results.to_dict(orient="records")):
        instance = {name: _json_value(name, value[index]) for name, value in inputs.items()}
        prediction = {k: json.loads(v) if isinstance(v, str) and v[:1] in "[{" else v for k, v in record.items()}
        lines.append(json.dumps({"instance": instance, "prediction": prediction}))
    return "\n".join(lines) + "\n"
