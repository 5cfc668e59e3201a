"""Signature Studio's core: inspect and rewrite TensorFlow SavedModel signatures, verified.

No Streamlit here; the CLI (``python -m core``) and the pages only render what this returns.

Example:
    >>> from core import RewriteRequest, rewrite_model
    >>> rewrite_model("sample_models/house_price", "out/price", RewriteRequest(key="instance_key"))
"""

from core.archive import ArchiveLimits
from core.diff import Change, SignatureDiff, diff_signatures
from core.errors import (
    InputDataError,
    ModelSourceError,
    OutputError,
    PlanError,
    StudioError,
    UnsafeArchiveError,
    VerificationError,
)
from core.model_info import ModelInfo, SignatureInfo, TensorSpecInfo, read_model_info
from core.plan import Forward, KeyDtype, RewritePlan, RewriteRequest, plan_rewrite
from core.source import open_model
from core.verify import CheckStatus, VerificationReport
from core.workflow import RewriteResult, diff_models, inspect_model, rewrite_model

__all__ = [
    "ArchiveLimits",
    "Change",
    "CheckStatus",
    "Forward",
    "InputDataError",
    "KeyDtype",
    "ModelInfo",
    "ModelSourceError",
    "OutputError",
    "PlanError",
    "RewritePlan",
    "RewriteRequest",
    "RewriteResult",
    "SignatureDiff",
    "SignatureInfo",
    "StudioError",
    "TensorSpecInfo",
    "UnsafeArchiveError",
    "VerificationError",
    "VerificationReport",
    "diff_models",
    "diff_signatures",
    "inspect_model",
    "open_model",
    "plan_rewrite",
    "read_model_info",
    "rewrite_model",
]
