"""What a new model changes for the clients of a deployed one: TF Serving's model metadata
(``GET /v1/models/NAME/metadata``, the served SignatureDefs as JSON) read as signatures, and a
verdict per client-visible change of the diff from the served signature to the new one.

An input clients must now send, or one they send that is gone or renamed, or a dtype or shape
they no longer fit, breaks them; an output added is compatible; an output removed, renamed or
changed breaks clients that read it; a shape that only accepts more is compatible. Tensor
names are not part of the contract (clients send and read names, not tensors), nor is
TensorFlow's internal ``__saved_model_init_op``.

Example:
    >>> from core.savedmodel.diff import diff_signatures
    >>> from core.savedmodel.info import SignatureInfo, TensorSpecInfo
    >>> served = SignatureInfo("s", "tensorflow/serving/predict", False, {"x": TensorSpecInfo("float32", (-1, 3), "")}, {})
    >>> new = SignatureInfo("s", "tensorflow/serving/predict", False, {"x": TensorSpecInfo("float32", (-1, -1), ""),
    ...     "id": TensorSpecInfo("string", (-1,), "")}, {})
    >>> [(c.row.label, c.impact.value) for c in contract_changes(diff_signatures(served, new))]
    [('id', 'breaking'), ('x', 'compatible')]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.errors import InputDataError
from core.savedmodel.diff import Change, DiffRow, SignatureDiff
from core.savedmodel.info import Side, SignatureInfo, TensorSpecInfo, signature_info

METADATA_HELP = "the JSON TF Serving answers to GET /v1/models/NAME/metadata"


class Impact(StrEnum):
    """What a change does to a client written against the served signature."""

    BREAKING = "breaking"
    COMPATIBLE = "compatible"


@dataclass(frozen=True)
class ContractChange:
    """One client-visible change, its impact, and why."""

    row: DiffRow | None  # None: the method name
    impact: Impact
    reason: str


def _accepts_more(old: TensorSpecInfo, new: TensorSpecInfo) -> bool:
    """The new shape accepts every value the old one did (same dtype; dims opened, or any rank)."""
    if old.dtype != new.dtype:
        return False
    if new.shape is None:
        return True
    if old.shape is None or len(old.shape) != len(new.shape):
        return False
    return all(after in (-1, before) for before, after in zip(old.shape, new.shape, strict=True))


def _change(row: DiffRow) -> ContractChange | None:
    if row.change in (Change.UNCHANGED, Change.TENSOR_RENAMED):
        return None
    fields = ", ".join(row.changed_fields)
    if row.side is Side.INPUT:
        if row.change is Change.ADDED:
            return ContractChange(row, Impact.BREAKING, "clients must now send it")
        if row.change is Change.REMOVED:
            return ContractChange(row, Impact.BREAKING, "clients that send it are refused: TF Serving takes no unknown input")
        if row.change is Change.RENAMED:
            return ContractChange(row, Impact.BREAKING, f"clients send it as '{row.renamed_from}'")
        if _accepts_more(row.before, row.after):
            return ContractChange(row, Impact.COMPATIBLE, "it accepts everything it did, and more")
        return ContractChange(row, Impact.BREAKING, f"what clients send no longer fits its {fields}")
    if row.change is Change.ADDED:
        return ContractChange(row, Impact.COMPATIBLE, "clients that do not read it are unaffected")
    if row.change is Change.REMOVED:
        return ContractChange(row, Impact.BREAKING, "clients that read it no longer get it")
    if row.change is Change.RENAMED:
        return ContractChange(row, Impact.BREAKING, f"clients read it as '{row.renamed_from}'")
    return ContractChange(row, Impact.BREAKING, f"clients that read it get another {fields}")


def contract_changes(diff: SignatureDiff) -> list[ContractChange]:
    """Every client-visible change of ``diff`` (from the served signature to the new one)."""
    changes = [change for change in map(_change, diff.rows) if change is not None]
    if diff.method_before != diff.method_after:
        reason = f"the method name changes ({diff.method_before} → {diff.method_after}): clients call another endpoint"
        changes.append(ContractChange(None, Impact.BREAKING, reason))
    return changes


def contract_verdict(changes: list[ContractChange]) -> str:
    """One line: ``breaking for clients: 1 input added`` or ``compatible for clients``."""
    breaking = [change for change in changes if change.impact is Impact.BREAKING]
    if not breaking:
        return "compatible for clients: nothing they send or read changes" if not changes else "compatible for clients"
    named = ", ".join(f"{c.row.side.value} '{c.row.label}' {c.row.change.value}" if c.row else "method name" for c in breaking)
    return f"breaking for clients: {named}"


def read_serving_metadata(text: str, display: str) -> dict[str, SignatureInfo]:
    """The public signatures of TF Serving's model metadata JSON (snake_case keys, int64 sizes
    as strings, ``__saved_model_init_op`` left out).

    Raises:
        InputDataError: the text is not JSON, or not TF Serving's metadata (what was expected).
    """
    from google.protobuf import json_format
    from tensorflow.core.protobuf import meta_graph_pb2

    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputDataError(f"{display} is not JSON ({err}); give {METADATA_HELP}") from err
    found = data.get("metadata", {}).get("signature_def", {}).get("signature_def") if isinstance(data, dict) else None
    if not isinstance(found, dict):
        raise InputDataError(
            f"{display} is not TF Serving's model metadata: it has no metadata.signature_def.signature_def; give {METADATA_HELP}"
        )
    signatures = {}
    for name, value in found.items():
        try:
            signature = json_format.ParseDict(value, meta_graph_pb2.SignatureDef(), ignore_unknown_fields=True)
        except (json_format.ParseError, TypeError, ValueError) as err:
            raise InputDataError(f"{display}: signature '{name}' is not a SignatureDef ({err})") from err
        info = signature_info(name, signature)
        if not info.internal:
            signatures[name] = info
    return signatures


def serving_metadata(meta_graph: Any, *, model_name: str, version: int | None = None) -> dict[str, Any]:
    """What TF Serving answers to ``GET /v1/models/NAME/metadata`` for a model with this
    serving MetaGraph (its SignatureDefs in TF Serving's JSON, internal ones included)."""
    from google.protobuf import json_format

    signatures = {
        name: json_format.MessageToDict(signature, preserving_proto_field_name=True)
        for name, signature in sorted(meta_graph.signature_def.items())
    }
    return {
        "model_spec": {"name": model_name, "signature_name": "", "version": str(version or 1)},
        "metadata": {
            "signature_def": {"@type": "type.googleapis.com/tensorflow.serving.SignatureDefMap", "signature_def": signatures}
        },
    }


def changes_json(changes: list[ContractChange]) -> list[dict[str, Any]]:
    """The contract changes as plain data (``diff --json``)."""
    return [
        {
            "side": change.row.side.value if change.row else None,
            "name": change.row.label if change.row else "method_name",
            "change": change.row.change.value if change.row else "changed",
            "impact": change.impact.value,
            "reason": change.reason,
        }
        for change in changes
    ]
