"""Start a worker process and call it: the parent side of ``core.execution.worker``.

Example:
    >>> with WorkerProcess() as worker:
    ...     worker.call("run_models", loader="tf.compat.v1 session loader", jobs=[])
    []
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import core.errors
from core.errors import StudioError
from core.execution.wire import FRAME_LENGTH, MAX_FRAME_BYTES, WireError, decode, write_message

# The folder that holds the ``core`` package: the worker imports it from there.
CODE_ROOT = Path(core.errors.__file__).resolve().parents[1]
START_SECONDS = 120.0


class WorkerError(StudioError):
    """The worker process stopped, or answered with something that is not an answer."""


class WorkerProcess:
    """One ``python -m core.execution.worker`` process; ``call`` runs one function in it.

    Raises:
        WorkerError: the process cannot start, or stops (its last stderr lines say why).
    """

    def __init__(self, *, start_seconds: float = START_SECONDS) -> None:
        self._log = tempfile.TemporaryFile()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(CODE_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.execution.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=CODE_ROOT,
            env=env,
        )
        self.pid = self._receive(time.monotonic() + start_seconds)["ready"]

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stderr_tail(self) -> str:
        self._log.seek(0)
        lines = [line for line in self._log.read().decode(errors="replace").splitlines() if line.strip()]
        return " | ".join(lines[-3:])[-600:] or "no message"

    def _read(self, count: int, deadline: float | None) -> bytes:
        fd = self.process.stdout.fileno()
        chunks, wanted = [], count
        while wanted:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, min(wanted, 1 << 20))
            if not chunk:
                self.process.wait()
                raise WorkerError(f"the worker process stopped (exit {self.process.returncode}): {self._stderr_tail()}")
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)

    def _receive(self, deadline: float | None) -> Any:
        (length,) = FRAME_LENGTH.unpack(self._read(FRAME_LENGTH.size, deadline))
        if length > MAX_FRAME_BYTES:
            raise WorkerError(f"the worker sent a frame of {length} bytes")
        try:
            return decode(self._read(length, deadline))
        except WireError as err:
            raise WorkerError(f"the worker sent something that is not an answer ({err})") from err

    def call(self, function: str, *, timeout: float | None = None, **args: Any) -> Any:
        """Run ``function`` (a name in the worker's ``FUNCTIONS``) with ``args``; its result.

        Raises:
            StudioError (its own kind): the function refused the call.
            WorkerError: the process stopped or did not answer within ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            write_message(self.process.stdin, {"function": function, "args": args})
            answer = self._receive(deadline)
        except (BrokenPipeError, TimeoutError) as err:
            self.close()
            raise WorkerError(f"the worker process did not answer: {self._stderr_tail()}") from err
        if "error" in answer:
            kind = getattr(core.errors, str(answer["error"]), StudioError)
            raise (kind if isinstance(kind, type) and issubclass(kind, StudioError) else StudioError)(answer["message"])
        return answer["result"]

    def close(self) -> None:
        """End the process (at once) and wait for it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._log.close()
