"""The workers that run model code: a small pool, warm (TensorFlow imported), sandboxed.

Jobs name the folders they read and where the worker may write (a *scope*); an idle worker
that serves the scope is reused, or a new one starts. At most one job per core runs at once;
the others queue, and their place in the queue is reported. A worker is retired after a job
that leaves memory behind (``dirty``: TF1 models loaded with ``tf.saved_model.load``), after
``jobs_per_worker`` jobs, or once it holds most of its memory limit; a replacement then starts
at once, so the next job finds it warm.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     pool = WorkerPool()
    ...     pool.call("run_models", readable=[], scratch_parent=Path(scratch), loader="tf.saved_model.load", jobs=[])
    ...     pool.shutdown()
    []
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import CancelledError
from core.execution.workers import WorkerProcess
from core.progress import SILENT, Progress

DEFAULT_JOBS_PER_WORKER = 100
# A worker that holds this share of its memory limit after a job is retired.
RETIRE_MEMORY_SHARE = 0.7


class Lease:
    """One worker held for a job of several calls (``WorkerPool.lease``)."""

    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker
        self.dirty = False

    def call(
        self,
        function: str,
        *,
        cancelled: Callable[[], bool] = SILENT.cancelled,
        dirty: bool = False,
        collect: Callable[[Any, Path], Any] | None = None,
        **args: Any,
    ) -> Any:
        """Run ``function`` (a name in the worker's ``FUNCTIONS``) with ``args``.

        Args:
            cancelled: polled while the call runs; when it turns true, the worker is stopped.
            dirty: the call leaves memory behind; the worker is retired when the lease ends.
            collect: ``collect(result, scratch)`` runs while the worker is still held, to move
                what the function wrote (in the worker's scratch folder, its working folder)
                out; its return value is the call's.

        Raises:
            StudioError: whatever the function or the worker raises (limits, cancellation).
        """
        self.dirty = self.dirty or dirty
        result = self.worker.call(function, cancelled=cancelled, **args)
        return collect(result, self.worker.scratch) if collect is not None else result


class WorkerPool:
    """Workers by scope; thread-safe. ``slots`` jobs run at once (default: one per core).

    ``replace_retired``: a retired worker's replacement starts at once, so the next job of its
    scope finds it warm (a server); a one-shot command turns it off, the replacement would only
    take a core from the jobs still running."""

    def __init__(
        self,
        *,
        slots: int | None = None,
        max_idle: int | None = None,
        jobs_per_worker: int = DEFAULT_JOBS_PER_WORKER,
        replace_retired: bool = True,
    ) -> None:
        self.slots = slots or os.cpu_count() or 1
        self.max_idle = max_idle if max_idle is not None else 2 * self.slots
        self.jobs_per_worker = jobs_per_worker
        self.replace_retired = replace_retired
        self._idle: list[WorkerProcess] = []
        self._busy: set[WorkerProcess] = set()
        self._running = 0
        self._queue: list[object] = []
        self._lock = threading.Condition()

    # Slots and the queue --------------------------------------------------------------

    def _acquire_slot(self, progress: Progress) -> None:
        ticket = object()
        reported = None
        with self._lock:
            self._queue.append(ticket)
            try:
                while not (self._queue[0] is ticket and self._running < self.slots):
                    ahead = self._queue.index(ticket) + (1 if self._running >= self.slots else 0)
                    if ahead != reported:
                        progress.report(f"waiting for a worker: {ahead} job(s) ahead")
                        reported = ahead
                    if progress.cancelled():
                        raise CancelledError("cancelled while waiting for a worker: nothing was written")
                    self._lock.wait(0.25)
            except BaseException:
                self._queue.remove(ticket)
                self._lock.notify_all()
                raise
            self._queue.pop(0)
            self._running += 1
            self._lock.notify_all()

    def _release_slot(self) -> None:
        with self._lock:
            self._running -= 1
            self._lock.notify_all()

    @property
    def queued(self) -> int:
        """Jobs waiting for a slot."""
        return len(self._queue)

    # Workers ---------------------------------------------------------------------------

    def _take(self, readable: Sequence[Path], scratch_parent: Path) -> WorkerProcess:
        with self._lock:
            self._idle = [worker for worker in self._idle if worker.alive]
            for worker in self._idle:
                if worker.serves(readable, scratch_parent):
                    self._idle.remove(worker)
                    self._busy.add(worker)
                    return worker
        worker = WorkerProcess(readable=readable, scratch_parent=scratch_parent)
        with self._lock:
            self._busy.add(worker)
        return worker

    def _give_back(self, worker: WorkerProcess, *, retire: bool) -> None:
        limit = worker.limits.memory_mb * 1024 * 1024
        retire = retire or not worker.alive or worker.jobs_done >= self.jobs_per_worker
        retire = retire or worker.rss() > RETIRE_MEMORY_SHARE * limit
        evicted = []
        with self._lock:
            self._busy.discard(worker)
            if not retire:
                self._idle.append(worker)
                while len(self._idle) > self.max_idle:
                    evicted.append(self._idle.pop(0))
        for old in evicted:
            old.close()
        if retire:
            worker.close()
            if self.replace_retired:
                self.prewarm(worker.readable, worker.scratch_parent)

    def prewarm(self, readable: Sequence[Path], scratch_parent: Path, *, count: int = 1) -> None:
        """Start workers for this scope now (they import TensorFlow while the caller works on),
        unless ``count`` idle ones already serve it, and only as many as the idle places left."""
        with self._lock:
            have = sum(worker.serves(readable, scratch_parent) for worker in self._idle)
            # Never more idle workers than the pool keeps: beyond that, warming one only evicts
            # another session's (and costs a TensorFlow import each, on cores that are busy).
            count = min(count, have + max(self.max_idle - len(self._idle), 0))
        for _ in range(count - have):
            try:
                worker = WorkerProcess(readable=readable, scratch_parent=scratch_parent)
            except OSError:
                return  # the scope's folder went away; the next call starts its own
            with self._lock:
                self._idle.append(worker)

    @contextlib.contextmanager
    def lease(self, *, readable: Sequence[Path], scratch_parent: Path, progress: Progress = SILENT) -> Iterator[Lease]:
        """A slot and a worker that reads ``readable`` and writes in ``scratch_parent``, kept
        for several calls (the worker keeps what they load); given back on leaving the block.

        Raises:
            CancelledError: ``progress`` says the user cancelled while the job queued.
        """
        self._acquire_slot(progress)
        try:
            worker = self._take(readable, scratch_parent)
            lease = Lease(worker)
            try:
                yield lease
            finally:
                self._give_back(worker, retire=lease.dirty)
        finally:
            self._release_slot()

    def call(
        self,
        function: str,
        *,
        readable: Sequence[Path],
        scratch_parent: Path,
        progress: Progress = SILENT,
        dirty: bool = False,
        collect: Callable[[Any, Path], Any] | None = None,
        **args: Any,
    ) -> Any:
        """Run ``function`` in a worker that reads ``readable`` and writes in ``scratch_parent``
        (``Lease.call`` on a lease of one call).

        Raises:
            StudioError: whatever the function or the worker raises (limits, cancellation).
        """
        with self.lease(readable=readable, scratch_parent=scratch_parent, progress=progress) as lease:
            return lease.call(function, cancelled=progress.cancelled, dirty=dirty, collect=collect, **args)

    def close_scope(self, scratch_parent: Path) -> int:
        """Stop the idle workers that write in ``scratch_parent`` (their job's owner is done with
        them, as a batch handler is when Beam releases its model); how many were stopped."""
        parent = Path(scratch_parent).resolve()
        with self._lock:
            ending = [worker for worker in self._idle if worker.scratch_parent == parent]
            self._idle = [worker for worker in self._idle if worker.scratch_parent != parent]
        for worker in ending:
            worker.close()
        return len(ending)

    def workers(self) -> int:
        """How many worker processes are alive (idle or busy)."""
        with self._lock:
            return sum(worker.alive for worker in [*self._idle, *self._busy])

    def shutdown(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers = [*self._idle, *self._busy]
            self._idle.clear()
        for worker in workers:
            worker.close()


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def get_pool() -> WorkerPool:
    """The process's pool, made on first use."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = WorkerPool()
        return _POOL


@dataclass(frozen=True)
class Scope:
    """What a job's worker may read (read-only) and where it may write: its scratch folder is
    made inside ``scratch_parent``, on the file system its results are moved to."""

    readable: tuple[Path, ...]
    scratch_parent: Path

    @classmethod
    def of(cls, *readable: Path, scratch_parent: Path) -> Scope:
        return cls(tuple(Path(path).resolve() for path in readable), Path(scratch_parent).resolve())

    def call(
        self,
        function: str,
        *,
        progress: Progress = SILENT,
        dirty: bool = False,
        collect: Callable[[Any, Path], Any] | None = None,
        **args: Any,
    ) -> Any:
        """``WorkerPool.call`` in this scope, on the process's pool."""
        return get_pool().call(
            function,
            readable=self.readable,
            scratch_parent=self.scratch_parent,
            progress=progress,
            dirty=dirty,
            collect=collect,
            **args,
        )

    def lease(self, progress: Progress = SILENT) -> contextlib.AbstractContextManager[Lease]:
        """``WorkerPool.lease`` in this scope, on the process's pool."""
        return get_pool().lease(readable=self.readable, scratch_parent=self.scratch_parent, progress=progress)

    def prewarm(self, count: int = 1) -> None:
        """Start ``count`` workers for this scope now, so the next jobs find them warm."""
        get_pool().prewarm(self.readable, self.scratch_parent, count=count)

    def close(self) -> None:
        """Stop this scope's idle workers (``WorkerPool.close_scope``), when nothing will call them again."""
        if _POOL is not None:
            _POOL.close_scope(self.scratch_parent)

    def covers(self, *paths: Path) -> bool:
        """True when every one of ``paths`` lies in a readable folder or beside the scratch folder."""
        roots = [*self.readable, self.scratch_parent]
        return all(any(path == root or root in path.parents for root in roots) for path in (Path(p).resolve() for p in paths))
