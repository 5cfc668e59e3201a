"""Result rows as JSON lines, a block at a time: ``{"key": …, "prediction": {output: value}}``.

Numbers are written from whole arrays at once (the shortest text that reads back as the same
value, int64 exact); anything else — strings, bytes that are not UTF-8 (``{"b64": …}``), NaN,
deeply nested rows — goes through ``json_value`` one row at a time, as the Try page writes it.

Example:
    >>> outputs = {"price": np.array([[0.1], [2.5]], np.float32), "id": np.array([2**53 + 1, 7])}
    >>> for line in result_lines(["a", "b"], outputs):
    ...     print(line)
    {"key": "a", "prediction": {"price": [0.1], "id": 9007199254740993}}
    {"key": "b", "prediction": {"price": [2.5], "id": 7}}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.serve.values import json_value


def _fast_texts(value: np.ndarray) -> list[str] | None:
    """Each row of a numeric or boolean array as JSON text, or None when it needs the careful path."""
    if value.ndim > 2 or value.dtype.kind not in "biuf":
        return None
    if value.dtype.kind == "b":
        texts = np.where(value, "true", "false")
    else:
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            return None  # NaN and infinities: as json.dumps writes them, row by row
        texts = value.astype(str)
    if value.ndim == 1:
        return texts.tolist()
    return ["[" + ", ".join(row) + "]" for row in texts.tolist()]


def output_texts(name: str, value: np.ndarray) -> list[str]:
    """Each row of one output as JSON text.

    Example:
        >>> output_texts("label", np.array([b"ok", b"\\xff"], dtype=object))
        ['"ok"', '{"b64": "/w=="}']
    """
    fast = _fast_texts(value)
    if fast is not None:
        return fast
    return [json.dumps(json_value(name, row), ensure_ascii=False) for row in value]


def result_lines(
    keys: Sequence[Any], outputs: dict[str, np.ndarray], *, rows: Sequence[int] | None = None, file: str | None = None
) -> list[str]:
    """One JSON line per key: the key and every output's row at the same position (or at
    ``rows[i]`` when given); ``file`` adds the input file's name to each line."""
    positions = np.arange(len(keys)) if rows is None else np.asarray(rows, dtype=np.int64)
    names = [json.dumps(name, ensure_ascii=False) for name in outputs]
    columns = [output_texts(name, value[positions]) for name, value in outputs.items()]
    tail = "}}" if file is None else "}, " + '"file": ' + json.dumps(file, ensure_ascii=False) + "}"
    lines = []
    for index, key in enumerate(keys):
        fields = ", ".join(f"{name}: {column[index]}" for name, column in zip(names, columns, strict=True))
        lines.append('{"key": ' + json.dumps(key, ensure_ascii=False) + ', "prediction": {' + fields + tail)
    return lines
