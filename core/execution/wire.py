"""The bytes that pass between the Studio and a worker process that runs model code.

A worker runs untrusted models, so what it sends back must never be able to run code here:
no pickle. A message is JSON (None, bools, numbers, strings, lists, string-keyed dicts) with
bytes and NumPy arrays carried as separate binary buffers, their dtypes checked against a
list of plain numeric types (and byte strings for string tensors).

Frame: 8-byte length of the JSON header, the header, then each buffer as an 8-byte length
and its bytes.

Example:
    >>> import numpy as np
    >>> message = {"outputs": {"y": np.arange(3, dtype=np.int64), "k": np.array([b"a", b"bc"], dtype=object)}}
    >>> back = decode(encode(message))
    >>> back["outputs"]["y"].tolist(), back["outputs"]["k"].tolist()
    ([0, 1, 2], [b'a', b'bc'])
"""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO

import numpy as np

FRAME_LENGTH = struct.Struct("<Q")
# The dtypes an array may have on the wire; anything else (object arrays of Python objects,
# structured or void types) is refused in both directions.
NUMERIC_DTYPES = frozenset(
    {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
    | {"float16", "float32", "float64", "complex64", "complex128"}
)
MAX_FRAME_BYTES = 1 << 40


class WireError(ValueError):
    """A message that cannot be sent, or bytes that are not a valid message."""


def _encode(value: Any, buffers: list[bytes]) -> Any:
    if isinstance(value, np.generic):  # before Python's types: np.float64 is a float, np.bytes_ bytes
        return _encode(np.asarray(value), buffers)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        buffers.append(value)
        return {"$bytes": len(buffers) - 1}
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            items = value.reshape(-1).tolist()
            if not all(isinstance(item, bytes) for item in items):
                raise WireError("an object array on the wire may hold byte strings only")
            lengths = np.array([len(item) for item in items], dtype=np.int64)
            buffers += [b"".join(items), lengths.tobytes()]
            return {"$strings": len(buffers) - 2, "shape": list(value.shape)}
        if value.dtype.name not in NUMERIC_DTYPES:
            raise WireError(f"arrays of dtype {value.dtype} cannot be sent")
        buffers.append(np.ascontiguousarray(value).tobytes())
        return {"$array": len(buffers) - 1, "dtype": value.dtype.name, "shape": list(value.shape)}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise WireError("dict keys on the wire must be strings")
        return {"$dict": [[key, _encode(item, buffers)] for key, item in value.items()]}
    if isinstance(value, list | tuple):
        return [_encode(item, buffers) for item in value]
    raise WireError(f"a {type(value).__name__} cannot be sent; send plain data")


def encode(message: Any) -> bytes:
    """The frame for ``message``.

    Raises:
        WireError: the message holds something other than plain data and arrays.
    """
    buffers: list[bytes] = []
    header = json.dumps(_encode(message, buffers), allow_nan=True).encode()
    parts = [FRAME_LENGTH.pack(len(header)), header]
    for buffer in buffers:
        parts += [FRAME_LENGTH.pack(len(buffer)), buffer]
    return b"".join(parts)


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(d, int) and d >= 0 for d in value):
        raise WireError("an array's shape must be a list of non-negative whole numbers")
    return tuple(value)


def _decode(value: Any, buffers: list[bytes]) -> Any:
    if isinstance(value, list):
        return [_decode(item, buffers) for item in value]
    if not isinstance(value, dict):
        return value
    try:
        if "$dict" in value:
            return {str(key): _decode(item, buffers) for key, item in value["$dict"]}
        if "$bytes" in value:
            return buffers[value["$bytes"]]
        if "$array" in value:
            dtype = str(value["dtype"])
            if dtype not in NUMERIC_DTYPES:
                raise WireError(f"arrays of dtype {dtype} are refused")
            return np.frombuffer(buffers[value["$array"]], dtype=dtype).reshape(_shape(value["shape"])).copy()
        if "$strings" in value:
            data, lengths = buffers[value["$strings"]], np.frombuffer(buffers[value["$strings"] + 1], dtype=np.int64)
            if lengths.min(initial=0) < 0 or int(lengths.sum()) != len(data):
                raise WireError("string lengths do not add up")
            ends = np.cumsum(lengths)
            items = [data[end - length : end] for end, length in zip(ends.tolist(), lengths.tolist(), strict=True)]
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array.reshape(_shape(value["shape"]))
    except (IndexError, KeyError, TypeError, ValueError) as err:
        raise WireError(f"a malformed value on the wire ({err})") from err
    raise WireError("an object on the wire must be one of $dict, $bytes, $array, $strings")


def decode(frame: bytes) -> Any:
    """The message in ``frame``.

    Raises:
        WireError: the bytes are not a valid frame.
    """
    try:
        (header_length,) = FRAME_LENGTH.unpack_from(frame, 0)
        header = json.loads(frame[FRAME_LENGTH.size : FRAME_LENGTH.size + header_length])
        offset = FRAME_LENGTH.size + header_length
        buffers = []
        while offset < len(frame):
            (length,) = FRAME_LENGTH.unpack_from(frame, offset)
            offset += FRAME_LENGTH.size
            buffers.append(frame[offset : offset + length])
            offset += length
    except (struct.error, ValueError, UnicodeDecodeError) as err:
        raise WireError(f"not a valid frame ({err})") from err
    return _decode(header, buffers)


def write_message(stream: BinaryIO, message: Any) -> None:
    """Send ``message`` as one frame, prefixed by its length."""
    frame = encode(message)
    stream.write(FRAME_LENGTH.pack(len(frame)) + frame)
    stream.flush()


def read_message(stream: BinaryIO) -> Any:
    """The next message from ``stream``.

    Raises:
        EOFError: the stream ended.
        WireError: the bytes are not a valid frame.
    """
    prefix = stream.read(FRAME_LENGTH.size)
    if len(prefix) < FRAME_LENGTH.size:
        raise EOFError("the stream ended")
    (length,) = FRAME_LENGTH.unpack(prefix)
    if length > MAX_FRAME_BYTES:
        raise WireError(f"a frame of {length} bytes is refused")
    frame = stream.read(length)
    if len(frame) < length:
        raise EOFError("the stream ended inside a frame")
    return decode(frame)
