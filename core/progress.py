"""How a long job reports its steps and learns that it was cancelled.

The pipeline calls ``progress.step("verifying …")`` between steps; a front end passes a
``Progress`` whose ``report`` shows the step and whose ``cancelled`` says whether the user
asked to stop. A cancelled job stops at its next step with ``CancelledError``.

Example:
    >>> steps = []
    >>> progress = Progress(report=steps.append)
    >>> progress.step("reading the model")
    >>> steps
    ['reading the model']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.errors import CancelledError


def _never() -> bool:
    return False


def _ignore(_: str) -> None:
    """Report nothing."""


@dataclass(frozen=True)
class Progress:
    """A step reporter and a cancellation check; the default reports nothing and never cancels."""

    report: Callable[[str], None] = _ignore
    cancelled: Callable[[], bool] = _never

    def step(self, text: str) -> None:
        """Start the step ``text``, or stop here if the job was cancelled.

        Raises:
            CancelledError: the user asked to stop.
        """
        if self.cancelled():
            raise CancelledError("cancelled: nothing was written")
        self.report(text)


SILENT = Progress()
