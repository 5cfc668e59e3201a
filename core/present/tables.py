"""Every table the Studio shows, built once: the CLI prints it as text, the UI as a DataFrame.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_model_info
    >>> table = signature_table(read_model_info(Path("sample_models/house_price")).signatures["serve"], Side.INPUT)
    >>> print(table.to_text())
        name      dtype    shape    tensor name
        rooms     float32  [-1, 1]  serve_rooms:0
        tax_rate  float32  [-1, 1]  serve_tax_rate:0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.present.words import CHANGE_MARKERS, shape_text
from core.savedmodel.contract import ContractChange
from core.savedmodel.diff import SignatureDiff
from core.savedmodel.info import ModelInfo, Side, SignatureInfo, TensorSpecInfo
from core.verify.report import VerificationReport

NONE = "—"


@dataclass(frozen=True)
class Table:
    """Column names and rows of cells (strings)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def to_text(self, indent: str = "    ") -> str:
        """Left-aligned columns under one header line."""
        cells = [list(self.columns), *[list(row) for row in self.rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        return "\n".join(
            indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells
        )

    def to_frame(self) -> Any:
        """The table as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(list(self.rows), columns=list(self.columns))


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    return Table(tuple(columns), tuple(tuple(str(cell) for cell in row) for row in rows))


def _spec_text(spec: TensorSpecInfo | None) -> str:
    return "" if spec is None else f"{spec.dtype} {shape_text(spec.shape)}"


def signature_table(signature: SignatureInfo, side: Side) -> Table:
    """One row per input (``Side.INPUT``) or output of ``signature``: name, dtype, shape, tensor name."""
    specs = side.of(signature)
    rows = [(name, spec.dtype, shape_text(spec.shape), spec.tensor_name or NONE) for name, spec in specs.items()]
    return _table(("name", "dtype", "shape", "tensor name"), rows)


def summary_table(info: ModelInfo) -> Table:
    """The facts of a model the Inspect page's metrics (format, TensorFlow version, signatures,
    variables) leave out, as fact/value rows."""
    rows = [
        ("TF Serving version", NONE if info.version is None else str(info.version)),
        ("assets", ", ".join(info.assets) or NONE),
        ("assets.extra", ", ".join(info.assets_extra) or NONE),
        ("tag-sets", "; ".join(",".join(tags) for tags in info.tag_sets)),
    ]
    return _table(("fact", "value"), rows)


def report_table(report: VerificationReport) -> Table:
    """One row per verification check."""
    return _table(
        ("status", "loader", "check", "detail"), [(c.status.value, c.loader.value, c.name, c.detail) for c in report.checks]
    )


def diff_table(diff: SignatureDiff) -> Table:
    """One row per input/output of either signature, marked in words for the change."""
    rows = [
        (
            CHANGE_MARKERS[row.change],
            row.side.value,
            row.label,
            _spec_text(row.before),
            _spec_text(row.after),
            ", ".join(row.changed_fields),
        )
        for row in diff.rows
    ]
    return _table(("change", "side", "name", "before", "after", "changed fields"), rows)


def contract_table(changes: list[ContractChange]) -> Table:
    """One row per change a client of the served signature sees: its impact and why."""
    rows = [
        (
            change.impact.value,
            change.row.side.value if change.row else "method",
            change.row.label if change.row else "method name",
            change.reason,
        )
        for change in changes
    ]
    return _table(("for clients", "side", "name", "why"), rows)


EXACT_INTEGER_LIMIT = 2**53  # beyond it, a browser's numbers round integers


def exact_frame(frame: Any) -> Any:
    """``frame`` with every integer column that holds a value a browser would round (beyond
    2**53) written as text, so a key like 9007199254740993 shows as it is.

    Example:
        >>> import pandas as pd
        >>> exact_frame(pd.DataFrame({"key": [9007199254740993, 1], "n": [1, 2]})).to_dict("list")
        {'key': ['9007199254740993', '1'], 'n': [1, 2]}
    """
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column].tolist()
        if any(isinstance(v, int) and not isinstance(v, bool) and abs(v) > EXACT_INTEGER_LIMIT for v in values):
            frame[column] = [str(v) for v in values]
    return frame
