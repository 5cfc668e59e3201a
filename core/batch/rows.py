"""Rows of a batch-prediction input, read in blocks: CSV lines, JSON lines of TF Serving row
instances, or serialized ``tf.Example`` records — parsed a block at a time into the inputs of
one signature, every malformed row set aside with its reason, never guessed.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_saved_model
    >>> handle = read_saved_model(Path("sample_models/house_price"))
    >>> reader = BlockReader.for_signature(handle, "serving_default", InputFormat.CSV, key_column="id")
    >>> rows = [(1, ["a", "3", "0.1"]), (2, ["b", "x", "0.2"])]
    >>> block, rejected = reader.parse("in.csv", ["id", "rooms", "tax_rate"], rows)
    >>> block.keys, block.feeds["rooms"].tolist(), [r.error for r in rejected]
    (['a'], [[3.0]], ["column 'rooms': 'x' is not a float32 value"])
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError

from core.batch.files import InputFormat
from core.errors import InputDataError
from core.savedmodel.handle import ModelHandle
from core.savedmodel.info import SignatureInfo, TensorSpecInfo
from core.serve.values import json_value, single_value_row, to_array


def _raw(record: Any) -> str | None:
    return csv_line(record) if isinstance(record, list) else record


@dataclass
class RowBlock:
    """Rows of one file that parsed: their numbers in the file, their keys, and the feeds."""

    file: str
    rows: list[int]
    keys: list[Any]
    feeds: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, positions: Sequence[int]) -> RowBlock:
        """The rows at ``positions`` only."""
        index = np.asarray(positions, dtype=np.int64)
        return RowBlock(
            self.file,
            [self.rows[i] for i in positions],
            [self.keys[i] for i in positions],
            {name: value[index] for name, value in self.feeds.items()},
        )

    def nbytes(self) -> int:
        return sum(value.nbytes if value.dtype != object else sum(map(len, value.reshape(-1))) for value in self.feeds.values())


@dataclass
class RowError:
    """A row set aside: where it was, its key if one could be read (else the raw row), and why."""

    file: str
    row: int
    error: str
    key: Any = None
    raw: str | None = None

    def to_json(self, *, with_file: bool) -> dict[str, Any]:
        record: dict[str, Any] = {"error": self.error}
        if self.key is not None:
            record["key"] = self.key
        else:
            record["row"] = self.row if self.raw is None else self.raw
        record["row_number"] = self.row
        if with_file:
            record["file"] = self.file
        return record


def csv_line(cells: Sequence[str]) -> str:
    """A CSV row written back as its line (for an error that quotes it).

    Example:
        >>> csv_line(["a,b", "3"])
        '"a,b",3'
    """
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def _row_shape(spec: TensorSpecInfo) -> tuple[int, ...] | None:
    return None if spec.shape is None else tuple(spec.shape[1:])


def _one_value(spec: TensorSpecInfo) -> bool:
    shape = _row_shape(spec)
    return shape is not None and all(d >= 0 for d in shape) and math.prod(shape) == 1


@dataclass
class BlockReader:
    """Parses blocks of rows for one signature.

    ``key_column`` names the column that identifies a row; ``key_fed`` when the signature takes
    it as an input (it is then fed, and must come back equal). Without a key column the key is
    the row's number in its file.
    """

    signature: SignatureInfo
    input_format: InputFormat
    key_column: str | None = None
    example_inputs: list[str] = field(default_factory=list)

    @classmethod
    def for_signature(
        cls, handle: ModelHandle, signature: str, input_format: InputFormat, *, key_column: str | None = None
    ) -> BlockReader:
        return cls(handle.info.signatures[signature], input_format, key_column, handle.example_inputs(signature))

    @property
    def key_fed(self) -> bool:
        return self.key_column is not None and self.key_column in self.signature.inputs

    def check_header(self, header: Sequence[str], file: str) -> None:
        """Refuse a CSV header that lacks an input (or the key column), before anything runs.

        Raises:
            InputDataError: naming what is missing and what the signature takes.
        """
        wanted = sorted(set(self.signature.inputs) | ({self.key_column} if self.key_column else set()))
        twice = sorted({name for name in header if name in wanted and list(header).count(name) > 1})
        if twice:
            raise InputDataError(f"{file}: the CSV header names {twice} more than once; each column needs its own name")
        missing = [name for name in wanted if name not in header]
        if missing:
            raise InputDataError(
                f"{file}: the CSV header lacks {missing}; signature '{self.signature.name}' takes {sorted(self.signature.inputs)}"
                + (f" and the key column is '{self.key_column}'" if self.key_column else "")
                + f" (the header has {list(header)})"
            )

    def parse(
        self, file: str, header: Sequence[str] | None, lines: Sequence[tuple[int, Any]]
    ) -> tuple[RowBlock | None, list[RowError]]:
        """The rows of ``lines`` ((number, text or record)) that parse, and the ones that do not."""
        if self.input_format is InputFormat.CSV:
            fast = self._csv_columns(file, header or [], lines)
            if fast is not None:
                return fast, []
            records, rejected = self._csv_records(file, header or [], lines)
        elif self.input_format is InputFormat.JSONL:
            records, rejected = self._json_records(file, lines)
        else:
            records, rejected = self._example_records(file, lines)
        block, more = self._to_block(file, records)
        return block, rejected + more

    # The three formats, each to (row, key, {input: cell}) records -------------------------

    def _key_of(self, row: int, record: dict[str, Any]) -> Any:
        return record.get(self.key_column) if self.key_column else row

    def _csv_columns(self, file: str, header: Sequence[str], lines: Sequence[tuple[int, list[str]]]) -> RowBlock | None:
        """The block read column by column, when every row is whole and fits; else None (the
        careful path then finds the rows that do not)."""
        width = len(header)
        if any(len(cells) != width for _, cells in lines) or not set(self.signature.inputs) <= set(header):
            return None
        columns = dict(zip(header, zip(*(cells for _, cells in lines), strict=True), strict=True))
        try:
            feeds = {name: self._column(name, spec, list(columns[name])) for name, spec in self.signature.inputs.items()}
        except InputDataError:
            return None
        rows = [row for row, _ in lines]
        if self.key_fed:
            keys = [json_value(self.key_column, key) for key in feeds[self.key_column].tolist()]
        else:
            keys = list(columns[self.key_column]) if self.key_column else rows
        return RowBlock(file, rows, keys, feeds)

    def _csv_records(
        self, file: str, header: Sequence[str], lines: Sequence[tuple[int, list[str]]]
    ) -> tuple[list, list[RowError]]:
        records, rejected = [], []
        for row, cells in lines:
            if len(cells) != len(header):
                rejected.append(
                    RowError(file, row, f"the row has {len(cells)} fields; the header has {len(header)}", raw=csv_line(cells))
                )
                continue
            record = dict(zip(header, cells, strict=True))
            records.append((row, self._key_of(row, record), record, cells))
        return records, rejected

    def _json_records(self, file: str, lines: Sequence[tuple[int, str]]) -> tuple[list, list[RowError]]:
        records, rejected = [], []
        allowed = set(self.signature.inputs) | ({self.key_column} if self.key_column else set())
        for row, text in lines:
            try:
                record = json.loads(text)
            except json.JSONDecodeError as err:
                rejected.append(RowError(file, row, f"not a JSON object ({err.msg})", raw=text))
                continue
            if not isinstance(record, dict):
                rejected.append(RowError(file, row, "not a JSON object with the inputs", raw=text))
                continue
            key = self._key_of(row, record)
            extra = sorted(set(record) - allowed)
            if extra:
                rejected.append(
                    RowError(file, row, f"unknown field(s) {extra}; the row takes {sorted(allowed)}", key=key, raw=text)
                )
                continue
            records.append((row, key, record, text))
        return records, rejected

    def _example_records(self, file: str, lines: Sequence[tuple[int, bytes]]) -> tuple[list, list[RowError]]:
        from core._tf import tf

        (name,) = self.example_inputs
        records, rejected = [], []
        for row, payload in lines:
            key: Any = row
            if self.key_column:
                try:
                    example = tf.train.Example.FromString(payload)
                except DecodeError:
                    rejected.append(RowError(file, row, "the record is not a serialized tf.Example"))
                    continue
                feature = example.features.feature.get(self.key_column)
                values = list(feature.bytes_list.value or feature.int64_list.value or feature.float_list.value) if feature else []
                key = (
                    values[0].decode(errors="replace")
                    if values and isinstance(values[0], bytes)
                    else (values[0] if values else None)
                )
            records.append((row, key, {name: {"b64": base64.b64encode(payload).decode("ascii")}}, None))
        return records, rejected

    # Records to arrays ------------------------------------------------------------------------

    def _cell(self, name: str, spec: TensorSpecInfo, value: Any) -> Any:
        """One cell as the value ``to_array`` takes for one row (the careful path)."""
        if self.input_format is not InputFormat.CSV:
            return value
        if _one_value(spec):
            if spec.dtype == "string":
                return np.reshape(np.array([value.encode()], dtype=object), _row_shape(spec)).tolist()
            try:
                number = json.loads(value)
            except (json.JSONDecodeError, TypeError):
                raise InputDataError(f"column '{name}': '{value}' is not a {spec.dtype} value") from None
            if isinstance(number, list | dict) or number is None:
                raise InputDataError(f"column '{name}': '{value}' is not a {spec.dtype} value")
            return np.reshape(number, _row_shape(spec)).tolist()
        if spec.dtype == "string" and _row_shape(spec) == ():
            return value
        try:
            single = single_value_row(value, spec)
        except InputDataError as err:
            raise InputDataError(f"column '{name}': {err}") from None
        if single is not None:
            return single
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise InputDataError(
                f"column '{name}': needs a JSON array per cell (for example [1, 2]); received '{value}'"
            ) from None

    def _column(self, name: str, spec: TensorSpecInfo, values: list[Any]) -> np.ndarray:
        """A whole column at once (the fast path); raises on the first value that does not fit."""
        shape = _row_shape(spec)
        numeric = spec.dtype not in ("string", "bool") and not spec.dtype.startswith("complex")
        if self.input_format is InputFormat.CSV and _one_value(spec) and numeric:
            try:
                return np.array(values, dtype=np.dtype(spec.dtype)).reshape((len(values), *shape))
            except (ValueError, OverflowError, TypeError) as err:
                raise InputDataError(f"column '{name}': {err}") from None
        if self.input_format is InputFormat.CSV and _one_value(spec) and spec.dtype == "string":
            return np.array([value.encode() for value in values], dtype=object).reshape((len(values), *shape))
        return to_array(name, [self._cell(name, spec, value) for value in values], spec)

    def _to_block(self, file: str, records: list) -> tuple[RowBlock | None, list[RowError]]:
        if not records:
            return None, []
        rejected: list[RowError] = []
        complete = []
        for row, key, record, text in records:
            missing = [name for name in self.signature.inputs if name not in record]
            if missing:
                rejected.append(RowError(file, row, f"missing input(s) {missing}", key=key, raw=_raw(text)))
            else:
                complete.append((row, key, record, text))
        if not complete:
            return None, rejected
        try:
            feeds = {
                name: self._column(name, spec, [record[name] for _, _, record, _ in complete])
                for name, spec in self.signature.inputs.items()
            }
            good = [(row, key) for row, key, _, _ in complete]
        except InputDataError:
            # Some row does not fit: check them one by one, so it alone is set aside.
            good, checked_rows = [], []
            for row, key, record, text in complete:
                try:
                    checked = {
                        name: to_array(name, [self._cell(name, spec, record[name])], spec)
                        for name, spec in self.signature.inputs.items()
                    }
                except InputDataError as err:
                    rejected.append(RowError(file, row, str(err), key=key, raw=_raw(text)))
                    continue
                good.append((row, key))
                checked_rows.append(checked)
            if not good:
                return None, rejected
            feeds = {name: np.concatenate([checked[name] for checked in checked_rows]) for name in self.signature.inputs}
        keys = [key for _, key in good]
        if self.key_fed:
            keys = [json_value(self.key_column, key) for key in feeds[self.key_column].tolist()]
        return RowBlock(file, [row for row, _ in good], keys, feeds), rejected
