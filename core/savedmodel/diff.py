"""Compare two signatures: inputs and outputs added, removed, renamed or changed, and method names.

A removed and an added row are one rename when the caller says so (a rewrite's plan knows
which outputs it renamed) or, within one model, when both name the same graph tensor.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_model_info
    >>> info = read_model_info(Path("sample_models/house_price"))
    >>> diff_signatures(info.signatures["serve"], info.signatures["serving_default"]).summary
    '0 inputs added, 0 removed, 0 changed; 0 outputs added, 0 removed, 0 changed; 3 tensor name(s) differ'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.savedmodel.info import Side, SignatureInfo, TensorSpecInfo


class Change(StrEnum):
    """How one input or output differs. ``RENAMED``: the same tensor under a new name.
    ``TENSOR_RENAMED``: same name, dtype and shape, only the graph tensor behind it differs —
    invisible to a serving client, so not counted as changed."""

    ADDED = "added"
    REMOVED = "removed"
    RENAMED = "renamed"
    CHANGED = "changed"
    TENSOR_RENAMED = "tensor renamed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class DiffRow:
    """One input or output present in either signature, and how it changed."""

    side: Side
    name: str
    change: Change
    before: TensorSpecInfo | None
    after: TensorSpecInfo | None
    changed_fields: tuple[str, ...] = ()
    renamed_from: str | None = None

    @property
    def label(self) -> str:
        """The row's name as people read it (``output_0 → price`` for a rename)."""
        return f"{self.renamed_from} → {self.name}" if self.renamed_from else self.name

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side.value,
            "name": self.name,
            "renamed_from": self.renamed_from,
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

    def count(self, side: Side, change: Change) -> int:
        return sum(row.side == side and row.change is change for row in self.rows)

    @property
    def identical(self) -> bool:
        """Same method name and the same inputs and outputs (tensor names may differ)."""
        interface_unchanged = all(row.change in (Change.UNCHANGED, Change.TENSOR_RENAMED) for row in self.rows)
        return self.method_before == self.method_after and interface_unchanged

    @property
    def summary(self) -> str:
        parts = [
            f"{self.count(side, Change.ADDED)} {side.value if self.count(side, Change.ADDED) == 1 else side.plural} added, "
            f"{self.count(side, Change.REMOVED)} removed, "
            f"{self.count(side, Change.CHANGED)} changed"
            for side in Side
        ]
        text = "; ".join(parts)
        renamed = sum(row.change is Change.RENAMED for row in self.rows)
        if renamed:
            text += f"; {renamed} renamed"
        tensor_renamed = sum(row.change is Change.TENSOR_RENAMED for row in self.rows)
        if tensor_renamed:
            text += f"; {tensor_renamed} tensor name(s) differ"
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


def _compare(old: TensorSpecInfo, new: TensorSpecInfo) -> tuple[Change, tuple[str, ...]]:
    fields = tuple(field for field in ("dtype", "shape", "tensor_name") if getattr(old, field) != getattr(new, field))
    if not fields:
        return Change.UNCHANGED, fields
    if fields == ("tensor_name",):
        return Change.TENSOR_RENAMED, fields
    return Change.CHANGED, fields


def _rows(
    side: Side,
    before: dict[str, TensorSpecInfo],
    after: dict[str, TensorSpecInfo],
    renames: dict[str, str],
    same_model: bool,
) -> list[DiffRow]:
    removed = sorted(set(before) - set(after))
    added = sorted(set(after) - set(before))
    pairs = {new: old for old, new in renames.items() if old in removed and new in added}
    if same_model:
        for new in added:
            tensor = after[new].tensor_name
            match = [old for old in removed if tensor and before[old].tensor_name == tensor and old not in pairs.values()]
            if new not in pairs and len(match) == 1:
                pairs[new] = match[0]
    rows = []
    for name in sorted((set(before) | set(after)) - set(pairs.values())):
        old, new = before.get(name), after.get(name)
        if name in pairs:
            old = before[pairs[name]]
            _, fields = _compare(old, new)
            fields = tuple(f for f in fields if f != "tensor_name")
            rows.append(DiffRow(side, name, Change.RENAMED, old, new, fields, renamed_from=pairs[name]))
        elif old is None:
            rows.append(DiffRow(side, name, Change.ADDED, None, new))
        elif new is None:
            rows.append(DiffRow(side, name, Change.REMOVED, old, None))
        else:
            change, fields = _compare(old, new)
            rows.append(DiffRow(side, name, change, old, new, fields))
    return rows


def diff_signatures(
    a: SignatureInfo,
    b: SignatureInfo,
    *,
    renamed_outputs: dict[str, str] | None = None,
    renamed_inputs: dict[str, str] | None = None,
    same_model: bool = False,
) -> SignatureDiff:
    """Row-by-row difference of two signatures (any two, from one model or two).

    Args:
        renamed_outputs, renamed_inputs: old → new names known to be renames (from a rewrite's plan).
        same_model: both signatures come from one model, so equal tensor names mean the same tensor.
    """
    renames = renamed_outputs or {}
    return SignatureDiff(
        a=a.name,
        b=b.name,
        method_before=a.method_name,
        method_after=b.method_name,
        rows=tuple(
            _rows(Side.INPUT, a.inputs, b.inputs, renamed_inputs or {}, same_model)
            + _rows(Side.OUTPUT, a.outputs, b.outputs, renames, same_model)
        ),
    )
