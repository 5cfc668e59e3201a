"""One worker process, seen from the Studio: start it (inside the sandbox), call it, watch it.

While a call runs, the worker is watched: past its time limit, past its memory limit, or when
the caller cancels, it is stopped at once and the call raises (``RunLimitError`` naming the
limit, or ``CancelledError``). A stopped worker is never used again.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as scratch, WorkerProcess(readable=[], scratch_parent=Path(scratch)) as worker:
    ...     worker.call("run_models", loader="tf.compat.v1 session loader", jobs=[])
    []
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import core.errors
from core.errors import CancelledError, RunLimitError, StudioError
from core.execution.memory import is_out_of_memory
from core.execution.sandbox import MEMORY_ENVIRONMENT, RunLimits, sandboxed_command, use_sandbox
from core.execution.wire import FRAME_LENGTH, MAX_FRAME_BYTES, WireError, decode, write_message

# The folder that holds the ``core`` package: the worker imports it from there.
CODE_ROOT = Path(core.errors.__file__).resolve().parents[1]
START_SECONDS = 120.0
POLL_SECONDS = 0.1
SCRATCH_PREFIX = ".signature-studio-worker-"
# Calls that serve a model the worker keeps loaded leave nothing behind: a batch run makes
# thousands, and they do not count towards retiring the worker (its memory still does).
_REPEATABLE = {"serve"}


class WorkerError(StudioError):
    """The worker process stopped, or answered with something that is not an answer."""


def _never() -> bool:
    return False


# Every worker is started from this one thread, which lives as long as the process. bwrap's
# --die-with-parent ends the sandbox when the *thread* that started it ends (PR_SET_PDEATHSIG),
# and the Studio starts workers from threads that end at once: a page's script run, an Apply
# job. Started from those, a warm worker was killed before anything could use it.
_SPAWNER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker-spawner")


def process_tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (0 once they are gone)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            continue  # ended while we looked
    return total


class WorkerProcess:
    """One ``python -m core.worker`` process (sandboxed when bwrap works here).

    It reads ``readable`` (read-only) and writes only its own scratch folder, made inside
    ``scratch_parent``. It starts at once; the first call waits until it is ready.

    Raises:
        SandboxError: a sandbox is required and bwrap is unusable.
    """

    def __init__(self, *, readable: Sequence[Path], scratch_parent: Path, limits: RunLimits | None = None) -> None:
        self.limits = limits or RunLimits.from_environment()
        self.readable = [Path(path).resolve() for path in readable]
        self.scratch_parent = Path(scratch_parent).resolve()
        self.scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=self.scratch_parent))
        self.sandboxed = use_sandbox()
        self.jobs_done = 0
        self.pid: int | None = None
        self._log = tempfile.TemporaryFile()
        command = [sys.executable, "-m", "core.worker"]
        if self.sandboxed:
            command = sandboxed_command(command, readable=self.readable, scratch=self.scratch, code_root=CODE_ROOT)
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.scratch),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(CODE_ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            MEMORY_ENVIRONMENT: str(self.limits.memory_mb * 1024 * 1024),
        }
        self.process = _SPAWNER.submit(
            subprocess.Popen,
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, cwd=self.scratch, env=env,
        ).result()  # fmt: skip

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def serves(self, readable: Sequence[Path], scratch_parent: Path) -> bool:
        """True when this worker can read every path of ``readable`` and writes beside ``scratch_parent``."""
        if Path(scratch_parent).resolve() != self.scratch_parent or not self.alive:
            return False
        roots = [*self.readable, self.scratch]
        wanted = [Path(path).resolve() for path in readable]
        return all(any(path == root or root in path.parents for root in roots) for path in wanted)

    def rss(self) -> int:
        return process_tree_rss(self.process.pid) if self.alive else 0

    def _stderr_tail(self) -> str:
        self._log.seek(0)
        lines = [line for line in self._log.read().decode(errors="replace").splitlines() if line.strip()]
        return " | ".join(lines[-3:])[-600:] or "no message"

    def _read(self, count: int, deadline: float, cancelled: Callable[[], bool]) -> bytes:
        fd = self.process.stdout.fileno()
        chunks, wanted = [], count
        while wanted:
            ready, _, _ = select.select([fd], [], [], POLL_SECONDS)
            if not ready:
                self._watch(deadline, cancelled)
                continue
            chunk = os.read(fd, min(wanted, 1 << 20))
            if not chunk:
                self.process.wait()
                if self.process.returncode == -signal.SIGKILL and self._memory_exceeded:
                    raise self._memory_error()
                raise WorkerError(f"the worker process stopped (exit {self.process.returncode}): {self._stderr_tail()}")
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)

    _memory_exceeded = False

    def _memory_error(self) -> RunLimitError:
        return RunLimitError(
            f"the job exceeded the memory limit of {self.limits.memory_mb} MB and was stopped; nothing was written"
        )

    def _watch(self, deadline: float, cancelled: Callable[[], bool]) -> None:
        """Stop the worker when the call runs past its deadline, its memory, or is cancelled."""
        if cancelled():
            self.close()
            raise CancelledError("cancelled: the job was stopped and nothing was written")
        if time.monotonic() > deadline:
            self.close()
            raise RunLimitError(f"the job timed out after {self.limits.timeout_s:g} s and was stopped; nothing was written")
        if self.rss() > self.limits.memory_mb * 1024 * 1024:
            self._memory_exceeded = True
            self.close()
            raise self._memory_error()

    def _receive(self, deadline: float, cancelled: Callable[[], bool]) -> Any:
        (length,) = FRAME_LENGTH.unpack(self._read(FRAME_LENGTH.size, deadline, cancelled))
        if length > MAX_FRAME_BYTES:
            raise WorkerError(f"the worker sent a frame of {length} bytes")
        try:
            return decode(self._read(length, deadline, cancelled))
        except WireError as err:
            raise WorkerError(f"the worker sent something that is not an answer ({err})") from err

    def wait_ready(self, *, cancelled: Callable[[], bool] = _never) -> None:
        """Block until the worker has imported TensorFlow and said so."""
        if self.pid is None:
            self.pid = self._receive(time.monotonic() + START_SECONDS, cancelled)["ready"]

    def call(self, function: str, *, cancelled: Callable[[], bool] = _never, **args: Any) -> Any:
        """Run ``function`` (a name in the worker's ``FUNCTIONS``) with ``args``; its result.

        Raises:
            StudioError (its own kind): the function refused the call.
            RunLimitError: past the time or memory limit (the worker is stopped).
            CancelledError: ``cancelled()`` turned true (the worker is stopped).
            WorkerError: the process stopped or sent garbage.
        """
        self.wait_ready(cancelled=cancelled)
        deadline = time.monotonic() + self.limits.timeout_s
        try:
            write_message(self.process.stdin, {"function": function, "args": args})
            answer = self._receive(deadline, cancelled)
        except BrokenPipeError as err:
            tail = self._stderr_tail()
            self.close()
            raise WorkerError(f"the worker process stopped: {tail}") from err
        if function not in _REPEATABLE:
            self.jobs_done += 1
        if "error" in answer:
            message = str(answer["message"])
            if is_out_of_memory(message):
                self.close()
                raise self._memory_error()
            kind = getattr(core.errors, str(answer["error"]), StudioError)
            raise (kind if isinstance(kind, type) and issubclass(kind, StudioError) else StudioError)(message)
        return answer["result"]

    def close(self) -> None:
        """End the process at once, wait for it, and remove its scratch folder."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                with contextlib.suppress(OSError):  # a pipe the dead worker broke
                    stream.close()
        if not self._log.closed:
            self._log.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
