"""The one error hierarchy of Signature Studio.

Every message says what failed, what was received and what the valid choices are, so the
CLI can print it as one ``error: ...`` line and the UI can show it with ``st.error``.

    StudioError
    ├── ModelSourceError        the model source cannot be read as a SavedModel
    │   └── UnsafeArchiveError  an archive member or the archive size is refused
    ├── PlanError               the rewrite plan does not fit the model
    ├── OutputError             the destination cannot be written
    ├── InputDataError          user-supplied input rows do not fit a signature
    └── VerificationError       the rewritten model did not behave like the source
"""

from __future__ import annotations

from typing import Any


class StudioError(Exception):
    """Base class of every error Signature Studio raises on purpose."""


class ModelSourceError(StudioError):
    """The model source is missing, unreadable, or not exactly one SavedModel."""


class UnsafeArchiveError(ModelSourceError):
    """An archive holds a member or a size that is refused for safety."""


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


class VerificationError(StudioError):
    """The rewritten model failed verification; nothing was written.

    ``report`` holds the full verification report for display.
    """

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


def first_line(err: BaseException, *, limit: int = 500) -> str:
    r"""The first line of an exception's message (its type name when empty), cut at ``limit``.

    Example:
        >>> first_line(ValueError("bad value\nwith details"))
        'bad value'
    """
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:limit]
