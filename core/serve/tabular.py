"""CSV batches: turn CSV columns into a signature's inputs, run them in batches, and give one
result row per instance, so a keyed signature's output carries every row's key.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_model_info
    >>> info = read_model_info(Path("sample_models/house_price"))
    >>> feeds = read_csv_batch(b"rooms,tax_rate\\n3,0.1\\n4,0.2\\n", info.signatures["serving_default"])
    >>> feeds["rooms"].tolist()
    [[3.0], [4.0]]
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InputDataError
from core.savedmodel.info import SignatureInfo, TensorSpecInfo
from core.serve.values import json_value, single_value_row, to_array

DEFAULT_CSV_BATCH_ROWS = 64


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
                single = single_value_row(str(cell), spec)
                values.append(json.loads(cell) if single is None else single)
            except InputDataError as err:
                raise InputDataError(f"column '{name}', row {index}: {err}") from None
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
    model: Any,
    signature: str,
    feeds: dict[str, np.ndarray],
    *,
    batch_size: int = DEFAULT_CSV_BATCH_ROWS,
    progress: Callable[[float], None] = lambda fraction: None,
) -> pd.DataFrame:
    """Run ``feeds`` through ``signature`` of ``model`` (anything with ``run(signature, feeds)``,
    such as a ``WorkerModel``) ``batch_size`` rows at a time; one result row per instance.

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
    return json_value(name, value)


def results_as_jsonl(inputs: dict[str, np.ndarray], results: pd.DataFrame) -> str:
    """Batch-prediction style JSON lines: ``{"instance": {...}, "prediction": {...}}`` per row."""
    lines = []
    for index, record in enumerate(results.to_dict(orient="records")):
        instance = {name: json_value(name, value[index]) for name, value in inputs.items()}
        prediction = {k: json.loads(v) if isinstance(v, str) and v[:1] in "[{" else v for k, v in record.items()}
        lines.append(json.dumps({"instance": instance, "prediction": prediction}))
    return "\n".join(lines) + "\n"
