"""Tables (pandas DataFrames) of what core returns, for the UI to render as they are.

Example:
    >>> signature_table(info.signatures["serving_default"], "inputs").columns.tolist()
    ['name', 'dtype', 'shape', 'tensor name']
"""

from __future__ import annotations

import pandas as pd

from core.diff import Change, SignatureDiff
from core.model_info import ModelInfo, SignatureInfo, TensorSpecInfo
from core.verify import VerificationReport

CHANGE_MARKERS = {
    Change.ADDED: "+ added",
    Change.REMOVED: "− removed",
    Change.CHANGED: "~ changed",
    Change.TENSOR_RENAMED: "· tensor renamed",
    Change.UNCHANGED: "",
}


def shape_text(shape: tuple[int, ...] | None) -> str:
    """``[-1, 1]``, or ``unknown rank``."""
    return "unknown rank" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]"


def _spec_text(spec: TensorSpecInfo | None) -> str:
    return "" if spec is None else f"{spec.dtype} {shape_text(spec.shape)}"


def signature_table(signature: SignatureInfo, side: str) -> pd.DataFrame:
    """One row per input (``side="inputs"``) or output: name, dtype, shape, tensor name."""
    specs = signature.inputs if side == "inputs" else signature.outputs
    return pd.DataFrame(
        [(name, spec.dtype, shape_text(spec.shape), spec.tensor_name or "(new)") for name, spec in specs.items()],
        columns=["name", "dtype", "shape", "tensor name"],
    )


def summary_table(info: ModelInfo) -> pd.DataFrame:
    """Key facts of a model as label/value rows."""
    rows = [
        ("format", "TF1 graph" if info.format == "tf1" else "TF2 object graph"),
        ("written by TensorFlow", info.tensorflow_version or "unknown"),
        ("TF Serving version", "—" if info.version is None else str(info.version)),
        ("signatures", str(len(info.public_signatures))),
        ("variables", f"{info.variables.count} ({format_bytes(info.variables.bytes)})"),
        ("assets", ", ".join(info.assets) or "—"),
        ("assets.extra", ", ".join(info.assets_extra) or "—"),
        ("tag-sets", "; ".join(",".join(tags) for tags in info.tag_sets)),
    ]
    return pd.DataFrame(rows, columns=["", "value"])


def format_bytes(count: int) -> str:
    """``1.5 MiB``-style sizes."""
    size = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} bytes"


def report_table(report: VerificationReport) -> pd.DataFrame:
    """One row per verification check."""
    return pd.DataFrame(
        [(check.status.value, check.loader, check.name, check.detail) for check in report.checks],
        columns=["status", "loader", "check", "detail"],
    )


def diff_table(diff: SignatureDiff) -> pd.DataFrame:
    """One row per input/output of either signature, with a text marker for the change."""
    return pd.DataFrame(
        [
            (
                CHANGE_MARKERS[row.change],
                row.side,
                row.name,
                _spec_text(row.before),
                _spec_text(row.after),
                ", ".join(row.changed_fields),
            )
            for row in diff.rows
        ],
        columns=["change", "side", "name", "before", "after", "changed fields"],
    )
