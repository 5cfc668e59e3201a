"""Signature Studio's core: inspect and rewrite TensorFlow SavedModel signatures, verified.

The packages are the architecture, each importing only from the ones above it in this list:

* ``savedmodel`` — read: sources, safe archives, the proto, one parsed ``ModelHandle``.
* ``execution`` — run model code: TensorFlow's two loaders.
* ``rewrite`` — the request, the checked plan, the TF1 graph and TF2 object-graph engines, publishing.
* ``verify`` — structure and behaviour checks; ``serve`` — TF Serving REST bodies and CSV batches.
* ``pipeline`` — inspect, rewrite (the whole path in one file) and diff, end to end.
* ``present`` — the words and tables every front end shows.
* ``cli`` and ``studio`` — the front-end adapters: the command line and the UI session.

No Streamlit here; the CLI (``python -m core``) and the pages only render what this returns.

Example:
    >>> from core import inspect_model
    >>> inspect_model("sample_models/house_price").public_signatures
    ['serve', 'serving_default']
"""

from core.errors import (
    CancelledError,
    DiskAllowanceError,
    InputDataError,
    ModelSourceError,
    OutputError,
    PlanError,
    StudioError,
    UnsafeArchiveError,
    UnsafeModelError,
    VerificationError,
)
from core.pipeline import RewriteResult, diff_models, inspect_model, rewrite_model
from core.rewrite.plan import RewritePlan, plan_rewrite
from core.rewrite.request import Forward, KeyDtype, RewriteRequest, build_request
from core.savedmodel import (
    ArchiveLimits,
    Change,
    ModelFormat,
    ModelHandle,
    ModelInfo,
    SignatureDiff,
    SignatureInfo,
    TensorSpecInfo,
    diff_signatures,
    open_model,
    read_model_info,
    read_saved_model,
)
from core.verify import CheckStatus, VerificationReport

__all__ = [
    "ArchiveLimits",
    "CancelledError",
    "Change",
    "CheckStatus",
    "DiskAllowanceError",
    "Forward",
    "InputDataError",
    "KeyDtype",
    "ModelFormat",
    "ModelHandle",
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
    "UnsafeModelError",
    "VerificationError",
    "VerificationReport",
    "build_request",
    "diff_models",
    "diff_signatures",
    "inspect_model",
    "open_model",
    "plan_rewrite",
    "read_model_info",
    "read_saved_model",
    "rewrite_model",
]
