"""Long work (Apply, batch runs) in a background thread: its steps with their times, its
outcome, and a Cancel; a page polls it instead of running it inside a script run, so touching a
widget never stops it.

Example:
    >>> job = Job("count", lambda progress: progress.step("counting") or 42).start()
    >>> job.wait(10).state, job.result, [step.text for step in job.steps]
    (<JobState.DONE: 'done'>, 42, ['counting'])
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.errors import CancelledError, StudioError, describe
from core.progress import Progress


class JobState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class JobStep:
    """One reported step and when it started, in seconds after the job started."""

    text: str
    at: float


class Job:
    """``work(progress)`` run once in a daemon thread; every attribute is safe to read from any thread.

    ``on_finish(job)`` runs in the job's thread once the outcome is known (done, failed or
    cancelled). A failure is always a ``StudioError`` in ``error``, never a traceback.
    """

    def __init__(self, title: str, work: Callable[[Progress], Any], *, on_finish: Callable[[Job], None] | None = None) -> None:
        self.title = title
        self._work = work
        self._on_finish = on_finish
        self._lock = threading.Lock()
        self._steps: list[JobStep] = []
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._started = 0.0
        self._ended: float | None = None
        self.state = JobState.RUNNING
        self.result: Any = None
        self.error: StudioError | None = None

    def start(self) -> Job:
        self._started = time.monotonic()
        threading.Thread(target=self._run, name=f"job: {self.title}", daemon=True).start()
        return self

    def _report(self, text: str) -> None:
        with self._lock:
            self._steps.append(JobStep(text, time.monotonic() - self._started))

    def _run(self) -> None:
        progress = Progress(report=self._report, cancelled=self._cancel.is_set)
        try:
            self.result = self._work(progress)
            state = JobState.DONE
        except CancelledError as err:
            self.error, state = err, JobState.CANCELLED
        except Exception as err:
            if self._cancel.is_set():
                # Cancelling stops the job's workers and removes its folder: what fails after is the
                # cancel taking effect (a worker gone mid-call), not a failure of the work.
                self.error, state = CancelledError(f"cancelled: nothing was written ({describe(err)})"), JobState.CANCELLED
            elif isinstance(err, StudioError):
                self.error, state = err, JobState.FAILED
            else:  # the last line of defence: a page shows a sentence, not a traceback
                self.error, state = StudioError(f"unexpected failure: {describe(err)}"), JobState.FAILED
        self._ended = time.monotonic()
        self.state = state
        try:
            if self._on_finish is not None:
                self._on_finish(self)
        finally:
            self._finished.set()

    @property
    def running(self) -> bool:
        return not self._finished.is_set()

    @property
    def steps(self) -> list[JobStep]:
        with self._lock:
            return list(self._steps)

    @property
    def elapsed(self) -> float:
        """Seconds since the start, or the whole run once finished."""
        end = self._ended if self._ended is not None else time.monotonic()
        return end - self._started

    def cancel(self) -> None:
        """Ask the job to stop at its next step."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> Job:
        """Block until the job has finished (or ``timeout`` seconds passed)."""
        self._finished.wait(timeout)
        return self
