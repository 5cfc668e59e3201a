"""Values as TF Serving's JSON API writes them, and arrays of a signature's dtype from them.

``to_array`` reads JSON-like values (``{"b64": ...}`` for binary strings) into an array of an
input's dtype and checks its shape; ``json_value`` writes an output back as TF Serving would.

Example:
    >>> spec = TensorSpecInfo("float32", (-1, 1), "rooms:0")
    >>> to_array("rooms", [[3.0], [4.0]], spec).shape
    (2, 1)
    >>> json_value("label", np.array([b"ok", b"\\xff"], dtype=object))
    ['ok', {'b64': '/w=='}]
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from core._tf import tf
from core.errors import InputDataError
from core.savedmodel.info import TensorSpecInfo

BINARY_SUFFIX = "_bytes"


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
    expected = spec.shape if batched else (spec.shape[1:] if spec.shape else spec.shape)
    depth = _nesting(value)
    if depth > max(len(expected) if expected is not None else 0, _MAX_RANK):
        raise InputDataError(
            f"input '{name}' is nested {depth:,} levels deep; it takes {_shape_text(expected)}"
            if expected is not None
            else f"input '{name}' is nested {depth:,} levels deep; arrays of at most {_MAX_RANK} dimensions are read"
        )
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
    if expected is not None:
        mismatched = any(want >= 0 and want != got for want, got in zip(expected, array.shape, strict=False))
        if array.ndim != len(expected) or mismatched:
            raise InputDataError(f"input '{name}' needs shape {_shape_text(expected)}; received shape {list(array.shape)}")
    return array


# NumPy's own bound on dimensions: deeper nesting is never a tensor (only an unknown-rank input
# leaves the depth open, and it is held to this).
_MAX_RANK = 32


def single_value_row(cell: str, spec: TensorSpecInfo) -> list | None:
    """A CSV cell for an input whose rows have only unknown dimensions (a var-len feature's
    ``[-1, -1]``) that is not a JSON array: that one value as a row of one, nested to the row's
    rank. None for any other input, or a cell that is a JSON array (read as it is).

    Example:
        >>> spec = TensorSpecInfo("string", (-1, -1), "")
        >>> single_value_row("Sun Taxi, Inc.", spec), single_value_row('["a", "b"]', spec)
        (['Sun Taxi, Inc.'], None)

    Raises:
        InputDataError: a number input's cell is not a number.
    """
    row_shape = spec.shape[1:] if spec.shape else ()
    if not row_shape or any(dim >= 0 for dim in row_shape):
        return None
    text = cell.strip()
    try:
        value = json.loads(text) if spec.dtype != "string" or text.startswith("[") else cell
    except json.JSONDecodeError:
        if spec.dtype != "string":
            raise InputDataError(f"'{cell}' is not a {spec.dtype} value, nor a JSON array of them") from None
        value = cell
    if isinstance(value, list):
        return None
    if isinstance(value, dict) or value is None or (spec.dtype != "string" and isinstance(value, str)):
        raise InputDataError(f"'{cell}' is not a {spec.dtype} value, nor a JSON array of them")
    return np.reshape(np.array(value, dtype=object), (1,) * len(row_shape)).tolist()


def _shape_text(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join("?" if d < 0 else str(d) for d in shape) + "]"


def _nesting(value: Any) -> int:
    """How many lists deep ``value`` goes along its first items (without recursing)."""
    depth = 0
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    return depth


def _encode_strings(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list):
        return [_encode_strings(item) for item in value]
    return value


def json_value(name: str, value: Any) -> Any:
    """An output value as JSON: numbers, strings, lists; binary (or ``*_bytes``) as ``{"b64": ...}``."""
    if isinstance(value, np.ndarray):
        return [json_value(name, item) for item in value] if value.ndim else json_value(name, value[()])
    if isinstance(value, list):
        return [json_value(name, item) for item in value]
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
