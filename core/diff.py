"""Compare two signatures: inputs and outputs added, removed or changed, and method names.

Example:
    >>> d = diff_signatures(before.signatures["serving_default"], after.signatures["serving_default"])
    >>> d.summary
    '0 inputs added, 0 removed, 0 changed; 2 outputs added, 0 removed, 0 changed'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.model_info import SignatureInfo, TensorSpecInfo


class Change(StrEnum):
    """How one input or output differs. ``TENSOR_RENAMED``: same name, dtype and shape, only the
    graph tensor behind it differs — invisible to a serving client, so not counted as changed."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    TENSOR_RENAMED = "tensor renamed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class DiffRow:
    """One input or output present in either signature, and how it changed."""

    side: str
    name: str
    change: Change
    before: TensorSpecInfo | None
    after: TensorSpecInfo | None
    changed_fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "name": self.name,
            "change": self.change.value,
            "before": self.before.to_json() if self.before else None,
            "after": self.after.to_json() if self.after else None,
            "changed_fields": list(self.changed_fields),
        }


@dataclass(frozen=True)
class SignatureDiff:
    """The difference between signature ``a`` and signature ``b``."""

    a: str
    b: str
    method_before: str
    method_after: str
    rows: tuple[DiffRow, ...]

    def count(self, side: str, change: Change) -> int:
        return sum(row.side == side and row.change is change for row in self.rows)

    @property
    def identical(self) -> bool:
        """Same method name and the same inputs and outputs (tensor names may differ)."""
        interface_unchanged = all(row.change in (Change.UNCHANGED, Change.TENSOR_RENAMED) for row in self.rows)
        return self.method_before == self.method_after and interface_unchanged

    @property
    def summary(self) -> str:
        parts = [
            f"{self.count(side, Change.ADDED)} {side}s added, {self.count(side, Change.REMOVED)} removed, "
            f"{self.count(side, Change.CHANGED)} changed"
            for side in ("input", "output")
        ]
        text = "; ".join(parts)
        renamed = sum(row.change is Change.TENSOR_RENAMED for row in self.rows)
        if renamed:
            text += f"; {renamed} tensor name(s) differ"
        if self.method_before != self.method_after:
            text += f"; method name {self.method_before} → {self.method_after}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "method_name": {"before": self.method_before, "after": self.method_after},
            "summary": self.summary,
            "rows": [row.to_json() for row in self.rows],
        }


def _rows(side: str, before: dict[str, TensorSpecInfo], after: dict[str, TensorSpecInfo]) -> list[DiffRow]:
    rows = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old is None:
            rows.append(DiffRow(side, name, Change.ADDED, None, new))
        elif new is None:
            rows.append(DiffRow(side, name, Change.REMOVED, old, None))
        else:
            fields = tuple(field for field in ("dtype", "shape", "tensor_name") if getattr(old, field) != getattr(new, field))
            if not fields:
                change = Change.UNCHANGED
            elif fields == ("tensor_name",):
                change = Change.TENSOR_RENAMED
            else:
                change = Change.CHANGED
            rows.append(DiffRow(side, name, change, old, new, fields))
    return rows


def diff_signatures(a: SignatureInfo, b: SignatureInfo) -> SignatureDiff:
    """Row-by-row difference of two signatures (any two, from one model or two)."""
    return SignatureDiff(
        a=a.name,
        b=b.name,
        method_before=a.method_name,
        method_after=b.method_name,
        rows=tuple(_rows("input", a.inputs, b.inputs) + _rows("output", a.outputs, b.outputs)),
    )
