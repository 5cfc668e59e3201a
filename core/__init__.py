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

import importlib

# The public API, by the module that defines each name; imported on first use, so that
# ``import core`` (and ``python -m core``) does not load TensorFlow before it is needed.
_EXPORTS = {
    **dict.fromkeys(
        [
            "BatchRunError", "CancelledError", "DiskAllowanceError", "InputDataError", "ModelSourceError", "OutputError",
            "PlanError", "StudioError", "UnsafeArchiveError", "UnsafeModelError", "VerificationError",
        ],
        "core.errors",
    ),
    **dict.fromkeys(["RewriteResult", "diff_models", "inspect_model", "rewrite_model"], "core.workflows"),
    **dict.fromkeys(["RewritePlan", "plan_rewrite"], "core.rewrite.plan"),
    **dict.fromkeys(["Forward", "KeyDtype", "RewriteRequest", "build_request"], "core.rewrite.request"),
    "ArchiveLimits": "core.sources.archive",
    **dict.fromkeys(["Change", "SignatureDiff", "diff_signatures"], "core.savedmodel.diff"),
    **dict.fromkeys(["ModelHandle", "read_model_info", "read_saved_model"], "core.savedmodel.handle"),
    **dict.fromkeys(["ModelInfo", "SignatureInfo", "TensorSpecInfo"], "core.savedmodel.info"),
    "ModelFormat": "core.savedmodel.proto",
    "open_model": "core.sources.stage",
    **dict.fromkeys(["CheckStatus", "VerificationReport"], "core.verify.report"),
}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'core' has no attribute '{name}'")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
