"""The one error hierarchy of Signature Studio.

Every message says what failed, what was received and what the valid choices are, so the
CLI can print it as one ``error: ...`` line and the UI can show it with ``st.error``.

    StudioError
    ├── ModelSourceError        the model source cannot be read as a SavedModel
    │   └── UnsafeArchiveError  an archive member or the archive size is refused
    ├── UnsafeModelError        the model uses unsafe ops and running it was not allowed
    ├── PlanError               the rewrite plan does not fit the model
    ├── OutputError             the destination cannot be written
    ├── InputDataError          user-supplied input rows do not fit a signature
    ├── DiskAllowanceError      the disk allowance leaves no room for this now
    ├── SandboxError            models cannot run as configured (no sandbox where one is required)
    ├── RunLimitError           a job ran past its time or memory limit and was stopped
    ├── VerificationError       the rewritten model did not behave like the source
    ├── BatchRunError           a batch-prediction pipeline failed while it ran
    └── CancelledError          the user cancelled a running job; nothing was written

``describe`` turns a third-party exception into the sentence to show: the line that names
the cause (TensorFlow's messages start with boilerplate), with private folders replaced by
the names the user knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class StudioError(Exception):
    """Base class of every error Signature Studio raises on purpose."""


class ModelSourceError(StudioError):
    """The model source is missing, unreadable, or not exactly one SavedModel."""


class UnsafeArchiveError(ModelSourceError):
    """An archive holds a member or a size that is refused for safety."""


class UnsafeModelError(StudioError):
    """The model uses unsafe ops (files, Python, network) and running it was not allowed."""


class PlanError(StudioError):
    """The requested rewrite does not fit the model's signatures."""


class OutputError(StudioError):
    """The destination exists, is not writable, or has an unsupported form.

    ``needs_overwrite`` marks a destination that only overwriting would allow; each front end
    says in its own words how to ask for that.
    """

    def __init__(self, message: str, *, needs_overwrite: bool = False) -> None:
        super().__init__(message)
        self.needs_overwrite = needs_overwrite


class InputDataError(StudioError):
    """Input rows (JSON or CSV) do not match the signature they are fed to."""


class DiskAllowanceError(StudioError):
    """The disk allowance of the session (or of all sessions) leaves no room for this now."""


class SandboxError(StudioError):
    """Models cannot run as configured: a sandbox is required and unavailable, or a bad limit."""


class RunLimitError(StudioError):
    """A job ran past its time or memory limit; its worker was stopped and nothing was written."""


class VerificationError(StudioError):
    """The rewritten model failed verification; nothing was written.

    ``report`` holds the full verification report for display.
    """

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class BatchRunError(StudioError):
    """A batch-prediction pipeline failed while it ran (its runner's reason, in one sentence)."""


class CancelledError(StudioError):
    """The user cancelled a running job; nothing was written."""


def first_line(err: BaseException, *, limit: int = 500) -> str:
    r"""The first line of an exception's message (its type name when empty), cut at ``limit``.

    Example:
        >>> first_line(ValueError("bad value\nwith details"))
        'bad value'
    """
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:limit]


# Lines of TensorFlow's error messages that say where, not what.
_BOILERPLATE = re.compile(
    r"^(Graph execution error:|Detected at node|Node:|<stack traces unavailable>|Original stack trace|"
    r"\s*\[\[\{\{node|\s*File \"|Traceback|\s*$)"
)


def hide_paths(text: str, names: Mapping[Path | str, str]) -> str:
    r"""Replace each private folder in ``text`` with the name the user knows.

    Example:
        >>> hide_paths("cannot open /tmp/ws-1/model/variables", {"/tmp/ws-1/model": "price.zip"})
        'cannot open price.zip/variables'
    """
    for private in sorted(names, key=lambda path: len(str(path)), reverse=True):
        text = text.replace(str(private), names[private])
    return text


def describe(err: BaseException, *, names: Mapping[Path | str, str] | None = None, limit: int = 500) -> str:
    r"""The line of ``err``'s message that names the cause, private folders replaced by ``names``.

    Example:
        >>> describe(ValueError("Graph execution error:\n\nDetected at node x\nInput is empty\n\t [[{{node x}}]]"))
        'Input is empty'
    """
    text = str(getattr(err, "message", None) or err).strip()
    lines = [line.strip() for line in text.splitlines() if not _BOILERPLATE.match(line)]
    found = (lines[0] if lines else "") or type(err).__name__
    found = found.removeprefix("Name: <unknown>, ")
    return hide_paths(found, names or {})[:limit]
