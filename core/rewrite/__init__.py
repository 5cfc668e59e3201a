"""Rewriting: the request, the checked plan, the two engines, and publishing the result."""

from core.rewrite.apply import Engine, apply_rewrite
from core.rewrite.plan import OutputKind, RewritePlan, plan_rewrite
from core.rewrite.publish import check_destination, package_model, publish
from core.rewrite.request import Forward, KeyDtype, RewriteRequest, build_request

__all__ = [
    "Engine",
    "Forward",
    "KeyDtype",
    "OutputKind",
    "RewritePlan",
    "RewriteRequest",
    "apply_rewrite",
    "build_request",
    "check_destination",
    "package_model",
    "plan_rewrite",
    "publish",
]
