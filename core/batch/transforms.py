"""The Beam steps of a batch run: reading files in blocks of parsed rows (a malformed row goes to
the errors with its reason), formatting each block's predictions as JSON lines, and turning a
failed block into one error line per row.

Example:
    >>> error_line(RowError("rows.csv", 3, "bad value in rooms", raw="3,x"), with_file=False)
    '{"error": "bad value in rooms", "row": "3,x", "row_number": 3}'
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.tfrecordio import _TFRecordUtil
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import PredictionResult

from core.batch.files import ERRORS, InputFormat, ProgressFile
from core.batch.handler import BlockOutcome
from core.batch.lines import result_lines
from core.batch.rows import BlockReader, RowBlock, RowError
from core.serve.values import json_value

NAMESPACE = "signature_studio"


class ReadBlocks(beam.DoFn):
    """One input file, read front to back in blocks of rows, each block parsed at once.

    Text must be UTF-8: a line that is not is rejected, never repaired. A TFRecord file whose
    framing breaks (a bad checksum, a cut record) cannot be read past that point: the rest of
    it is one rejected row that says so.
    """

    def __init__(self, reader: BlockReader, block_rows: int, progress_dir: str | None = None) -> None:
        self.reader = reader
        self.block_rows = block_rows
        self.progress_dir = progress_dir
        self.rows = Metrics.counter(NAMESPACE, "rows")
        self.rejected = Metrics.counter(NAMESPACE, "rejected")

    def setup(self) -> None:
        self._progress = ProgressFile(self.progress_dir)

    def _numbered(self, path: str, handle: Any) -> Iterator[tuple[int, Any]]:
        """(row number, record) of one file: a CSV row's cells (the header is row 0, quoted
        line breaks kept), a JSON line's text (the first line is row 1), a TFRecord's bytes;
        a ``RowError`` in place of a record that cannot be read."""
        if self.reader.input_format is InputFormat.TFRECORD:
            row = 0
            while True:
                try:
                    record = _TFRecordUtil.read_record(handle)
                except ValueError as err:
                    reason = f"{str(err).split(':')[0]} at record {row + 1}; the rest of the file cannot be read"
                    yield row + 1, RowError(path, row + 1, reason)
                    return
                if record is None:
                    return
                row += 1
                yield row, record
        text = io.TextIOWrapper(handle, encoding="utf-8", errors="surrogateescape", newline="")
        if self.reader.input_format is InputFormat.CSV:
            for row, cells in enumerate(csv.reader(text)):
                if cells:
                    yield row, (cells if "".join(cells).isascii() else _utf8_or_error(path, row, cells))
            return
        for row, line in enumerate(text, start=1):
            if line.strip():
                line = line.rstrip("\r\n")
                yield row, (line if line.isascii() else _utf8_or_error(path, row, line))

    def process(self, readable: fileio.ReadableFile) -> Iterator[Any]:
        path = readable.metadata.path
        with readable.open() as handle:
            records = self._numbered(path, handle)
            header = None
            if self.reader.input_format is InputFormat.CSV:
                header = next(records, (0, []))[1]
                if isinstance(header, RowError):
                    header = []
            block: list[tuple[int, Any]] = []
            for numbered in records:
                if isinstance(numbered[1], RowError):
                    self.rows.inc()
                    self.rejected.inc()
                    self._progress.add(1)
                    yield beam.pvalue.TaggedOutput(ERRORS, numbered[1])
                    continue
                block.append(numbered)
                if len(block) == self.block_rows:
                    yield from self._parse(path, header, block)
                    block = []
            if block:
                yield from self._parse(path, header, block)

    def _parse(self, path: str, header: list[str] | None, records: list[tuple[int, Any]]) -> Iterator[Any]:
        self.rows.inc(len(records))
        parsed, rejected = self.reader.parse(path, header, records)
        self.rejected.inc(len(rejected))
        for error in rejected:
            yield beam.pvalue.TaggedOutput(ERRORS, error)
        if parsed is not None:
            yield parsed
        self._progress.add(len(records))


def _utf8_or_error(path: str, row: int, record: Any) -> Any:
    """``record`` (a line, or a CSV row's cells), or a ``RowError`` if it held bytes that are not UTF-8."""
    text = record if isinstance(record, str) else "\x00".join(record)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace").replace("\x00", ",")
        return RowError(path, row, "the row is not UTF-8 text", raw=shown)
    return record


class FormatResults(beam.DoFn):
    """A block's outcome as JSON lines (one element for the whole block), and its rejected rows.

    ``key_name``: the model takes the key as an input and must echo it; a row whose key comes
    back different is an error.
    """

    def __init__(self, key_name: str | None, with_file: bool) -> None:
        self.key_name = key_name
        self.with_file = with_file
        self.predicted = Metrics.counter(NAMESPACE, "predicted")
        self.rejected = Metrics.counter(NAMESPACE, "rejected")

    def process(self, element: Any) -> Iterator[Any]:
        keys, result = (None, element) if isinstance(element, PredictionResult) else element
        block: RowBlock = result.example
        outcome: BlockOutcome = result.inference
        keys = list(keys) if keys is not None else block.keys
        ran = list(outcome.ran)
        if self.key_name is not None and self.key_name in outcome.outputs:
            echoed = outcome.outputs[self.key_name].tolist()
            good = []
            for index, position in enumerate(ran):
                value = echoed[index]
                if value == keys[position] or json_value(self.key_name, value) == keys[position]:
                    good.append(index)
                    continue
                mismatch = f"the model returned key {json_value(self.key_name, value)!r} for key {keys[position]!r}"
                yield beam.pvalue.TaggedOutput(ERRORS, RowError(block.file, block.rows[position], mismatch, key=keys[position]))
        else:
            good = list(range(len(ran)))
        lines = result_lines(
            [keys[ran[index]] for index in good], outcome.outputs, rows=good, file=block.file if self.with_file else None
        )
        for error in outcome.rejected:
            yield beam.pvalue.TaggedOutput(ERRORS, error)
        self.predicted.inc(len(lines))
        self.rejected.inc(len(block) - len(lines))
        if lines:
            yield "\n".join(lines)


def _without_class(line: str, kind: Any) -> str:
    """A traceback's last line without its exception's class (``core.errors.ModelSourceError: m``
    → ``m``): people read the sentence; the class is for the log.

    Example:
        >>> _without_class("core.errors.ModelSourceError: m: cannot load", ValueError)
        'core.errors.ModelSourceError: m: cannot load'
        >>> _without_class("core.errors.ModelSourceError: m: cannot load", "ModelSourceError")
        'm: cannot load'
    """
    name = getattr(kind, "__name__", kind)
    if isinstance(name, str) and name:
        return re.sub(rf"^(?:[\w.]+\.)?{re.escape(name)}: ", "", line, count=1)
    return line


def failed_rows(element: tuple[Any, tuple[type, str, list[str]]]) -> Iterator[RowError]:
    """Rows of a block whose inference failed outright: Beam's dead-letter element is
    (batch, (exception type, repr, formatted traceback))."""
    batch, (kind, text, trace) = element
    lines = "".join(trace).strip().splitlines() if trace else []
    error = _without_class(lines[-1] if lines else text, kind)
    rejected = Metrics.counter(NAMESPACE, "rejected")
    for item in batch:
        keys, block = item if isinstance(item, tuple) else (None, item)
        rejected.inc(len(block))
        for position, row in enumerate(block.rows):
            key = keys[position] if keys is not None else block.keys[position]
            yield RowError(block.file, row, f"inference failed: {error}", key=key)


def error_line(error: RowError, with_file: bool) -> str:
    record = error.to_json(with_file=with_file)
    if isinstance(record.get("row"), bytes):
        record["row"] = {"b64": base64.b64encode(record["row"]).decode("ascii")}
    return json.dumps(record, ensure_ascii=False, default=str)
