"""The files of a batch-prediction run, without Beam: the input formats, the summary of a run,
the names of its output files, its running row counts, and how many rows an input holds.

Example:
    >>> InputFormat.for_path("gs://bucket/rows-00001.tfrecord")
    <InputFormat.TFRECORD: 'tfrecord'>
"""

from __future__ import annotations

import os
import struct
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

RESULTS = "results"
ERRORS = "errors"


class InputFormat(StrEnum):
    """The formats a batch run reads, each named by the file suffixes that say it."""

    CSV = "csv"
    JSONL = "jsonl"
    TFRECORD = "tfrecord"

    @property
    def suffixes(self) -> tuple[str, ...]:
        """The file suffixes that say this format (``.jsonl``, ``.json``)."""
        return {"csv": (".csv",), "jsonl": (".jsonl", ".json"), "tfrecord": (".tfrecord", ".tfrecords")}[self.value]

    @classmethod
    def every_suffix(cls) -> list[str]:
        """Every suffix of every format, without the dot (as file uploaders want them)."""
        return [suffix.lstrip(".") for kind in cls for suffix in kind.suffixes]

    @classmethod
    def for_path(cls, path: str) -> InputFormat | None:
        """The format a file name says (``.csv``, ``.jsonl``/``.json``, ``.tfrecord``/``.tfrecords``,
        also as a shard ``rows.csv-00001``), or None."""
        name = path.lower()
        for kind in cls:
            if name.endswith(kind.suffixes) or any(suffix + "-" in name for suffix in kind.suffixes):
                return kind
        return None

    @classmethod
    def choices_text(cls) -> str:
        """The formats as a sentence lists them: ``csv, jsonl or tfrecord``."""
        names = [kind.value for kind in cls]
        return f"{', '.join(names[:-1])} or {names[-1]}"


@dataclass(frozen=True)
class PredictSummary:
    """What a run did: rows read, predicted and rejected, where the files are, which runner ran it."""

    rows: int
    predicted: int
    rejected: int
    results: str
    errors: str
    runner: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "predicted": self.predicted,
            "rejected": self.rejected,
            "results": self.results,
            "errors": self.errors,
            "runner": self.runner,
        }


class ProgressFile:
    """Running count of the rows one reader has read, in a file of its own in ``folder`` (the
    Studio adds them up); nothing when ``folder`` is None."""

    def __init__(self, folder: str | None) -> None:
        self.folder = folder
        self.count = 0
        self.path = os.path.join(folder, f"{uuid.uuid4().hex}.count") if folder else None

    def add(self, rows: int) -> None:
        self.count += rows
        if self.path is None:
            return
        partial = self.path + ".partial"
        with open(partial, "w") as out:
            out.write(str(self.count))
        os.replace(partial, self.path)


def read_progress(folder: Path) -> int:
    """Rows read so far by every reader that reports into ``folder``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as scratch:
        ...     _ = Path(scratch, "a.count").write_text("5"), Path(scratch, "b.count").write_text("7")
        ...     read_progress(Path(scratch))
        12
    """
    total = 0
    for path in folder.glob("*.count"):
        try:
            total += int(path.read_text() or 0)
        except (OSError, ValueError):
            continue  # being replaced right now: the next look finds it
    return total


def count_rows(path: Path, input_format: InputFormat) -> int:
    """Rows in an input file, for a progress bar: lines (less a CSV's header) or TFRecord records.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("w", suffix=".csv") as f:
        ...     _ = f.write("a,b\\n1,2\\n3,4\\n"); f.flush()
        ...     count_rows(Path(f.name), InputFormat.CSV)
        2
    """
    if input_format is InputFormat.TFRECORD:
        count = 0
        with open(path, "rb") as handle:
            while len(head := handle.read(12)) == 12:
                (length,) = struct.unpack("<Q", head[:8])
                handle.seek(length + 4, os.SEEK_CUR)
                count += 1
        return count
    lines = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    lines += last != b"\n"  # a last line without its line break
    return max(lines - (input_format is InputFormat.CSV), 0)
