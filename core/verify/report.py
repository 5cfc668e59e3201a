"""What verification found: one ``Check`` per thing checked, gathered in a report.

Example:
    >>> report = VerificationReport((Check("assets/ byte-identical", STRUCTURE, CheckStatus.PASSED),))
    >>> report.ok, report.summary
    (True, '1 passed, 0 failed, 0 not verified')
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.execution.loader_kind import Loader


class Files(StrEnum):
    """What checks that read the written files, rather than run the model, went through."""

    STRUCTURE = "saved_model.pb and files"


STRUCTURE = Files.STRUCTURE


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_VERIFIED = "not verified"


@dataclass(frozen=True)
class Check:
    """One verification check: what was checked, through which loader, and the outcome."""

    name: str
    loader: Loader | Files
    status: CheckStatus
    detail: str = ""


@dataclass(frozen=True)
class VerificationReport:
    """All checks of one rewrite. ``ok`` is False when any check failed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status is CheckStatus.FAILED]

    @property
    def not_verified(self) -> list[Check]:
        return [check for check in self.checks if check.status is CheckStatus.NOT_VERIFIED]

    def count(self, status: CheckStatus) -> int:
        return sum(check.status is status for check in self.checks)

    @property
    def summary(self) -> str:
        return (
            f"{self.count(CheckStatus.PASSED)} passed, {self.count(CheckStatus.FAILED)} failed, "
            f"{self.count(CheckStatus.NOT_VERIFIED)} not verified"
        )

    @property
    def fully_verified(self) -> bool:
        """Every check ran and passed: nothing was left unproven."""
        return self.ok and not self.not_verified

    @property
    def verdict(self) -> str:
        """What was proven and what was not, in one line: the loaders that ran every check, and
        for each loader left out, its reasons (each said once).

        Example:
            >>> skipped = Check("outputs", Loader.OBJECT, CheckStatus.NOT_VERIFIED, "cannot load it")
            >>> ran = Check("outputs", Loader.SESSION, CheckStatus.PASSED)
            >>> VerificationReport((ran, skipped, skipped)).verdict
            'verified through tf.compat.v1 session loader; not verified through tf.saved_model.load: cannot load it'
        """
        if not self.ok:
            return f"failed: {self.summary}"
        loaders = list(dict.fromkeys(check.loader for check in self.checks if check.loader != STRUCTURE))
        left_out: dict[str, list[str]] = {}
        for check in self.not_verified:
            reasons = left_out.setdefault(check.loader, [])
            if check.detail not in reasons:
                reasons.append(check.detail)
        proven = [loader for loader in loaders if loader not in left_out] or ["its files only"]
        said = "; ".join(f"not verified through {loader}: {' / '.join(reasons)}" for loader, reasons in left_out.items())
        return f"verified through {' and '.join(proven)}" + (f"; {said}" if said else f" ({self.summary})")

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": self.summary,
            "verdict": self.verdict,
            "checks": [
                {"name": c.name, "loader": c.loader.value, "status": c.status.value, "detail": c.detail} for c in self.checks
            ],
        }
