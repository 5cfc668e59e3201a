"""Verification: structure checks on the files, behaviour checks through both loaders."""

from core.verify.report import Check, CheckStatus, VerificationReport
from core.verify.verifier import verify_rewrite

__all__ = ["Check", "CheckStatus", "VerificationReport", "verify_rewrite"]
