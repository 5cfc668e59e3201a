"""Where model code runs: inside Debian's ``bubblewrap`` (``bwrap``), with limits.

A worker sees the Python runtime and the Studio's code read-only, the models it may run
read-only, and one scratch folder it may write; nothing else of the disk (a private, empty
``/tmp``), no network, its own PID namespace, and it dies with its parent. Its memory is
capped (``STUDIO_RUN_MEMORY_MB``) and each job has a time limit (``STUDIO_RUN_TIMEOUT_S``).

``STUDIO_SANDBOX``: ``auto`` (default) sandboxes when ``bwrap`` works on this machine and says
loudly when it does not; ``require`` refuses to run models without it; ``off`` never uses it.

Example:
    >>> limits = RunLimits.from_environment({"STUDIO_RUN_TIMEOUT_S": "20", "STUDIO_RUN_MEMORY_MB": "2048"})
    >>> limits.timeout_s, limits.memory_mb
    (20.0, 2048)
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.errors import SandboxError

SANDBOX_VARIABLE = "STUDIO_SANDBOX"
TIMEOUT_VARIABLE = "STUDIO_RUN_TIMEOUT_S"
MEMORY_VARIABLE = "STUDIO_RUN_MEMORY_MB"
DEFAULT_TIMEOUT_S = 300.0
MEMORY_ENVIRONMENT = "STUDIO_WORKER_MEMORY_BYTES"  # how the worker learns its own memory cap
UNSANDBOXED_WARNING = (
    "models run WITHOUT a sandbox: bubblewrap (bwrap) is not usable on this machine, so a model's code "
    "can reach this machine's files and network; install Debian's bubblewrap, or set STUDIO_SANDBOX=require to refuse"
)
# The system folders a Python process needs, read-only (links among them are recreated as links).
_SYSTEM = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group")


class SandboxMode(StrEnum):
    AUTO = "auto"
    REQUIRE = "require"
    OFF = "off"


def _total_memory_mb() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)


@dataclass(frozen=True)
class RunLimits:
    """Per job: seconds before it is stopped; per worker: megabytes of memory it may hold."""

    timeout_s: float
    memory_mb: int

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RunLimits:
        """``STUDIO_RUN_TIMEOUT_S`` (default 300) and ``STUDIO_RUN_MEMORY_MB`` (default half the machine).

        Raises:
            SandboxError: a value that is not a positive number.
        """
        environ = os.environ if environ is None else environ
        timeout_text = environ.get(TIMEOUT_VARIABLE, "").strip()
        memory_text = environ.get(MEMORY_VARIABLE, "").strip()
        try:
            timeout = float(timeout_text) if timeout_text else DEFAULT_TIMEOUT_S
            memory = int(memory_text) if memory_text else _total_memory_mb() // 2
        except ValueError as err:
            raise SandboxError(f"{TIMEOUT_VARIABLE} and {MEMORY_VARIABLE} must be positive numbers ({err})") from err
        if timeout <= 0 or memory <= 0:
            raise SandboxError(f"{TIMEOUT_VARIABLE} and {MEMORY_VARIABLE} must be positive; received {timeout}, {memory}")
        return cls(timeout, memory)


def sandbox_mode(environ: Mapping[str, str] | None = None) -> SandboxMode:
    """The mode ``STUDIO_SANDBOX`` asks for.

    Raises:
        SandboxError: a value other than auto, require or off.
    """
    text = (os.environ if environ is None else environ).get(SANDBOX_VARIABLE, "").strip().lower() or SandboxMode.AUTO
    try:
        return SandboxMode(text)
    except ValueError as err:
        raise SandboxError(f"{SANDBOX_VARIABLE} must be one of {[m.value for m in SandboxMode]}; received '{text}'") from err


@functools.cache
def bwrap_problem() -> str | None:
    """Why ``bwrap`` cannot sandbox here (None when it can): missing, or refused by the kernel."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap is not installed (Debian package bubblewrap)"
    probe = [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap cannot start ({err})"
    if done.returncode != 0:
        return f"bwrap cannot create a sandbox here ({done.stderr.strip()[:200] or done.returncode})"
    return None


def use_sandbox(environ: Mapping[str, str] | None = None) -> bool:
    """True when workers run inside bwrap.

    Raises:
        SandboxError: ``STUDIO_SANDBOX=require`` and bwrap cannot sandbox here.
    """
    mode = sandbox_mode(environ)
    if mode is SandboxMode.OFF:
        return False
    problem = bwrap_problem()
    if problem is not None and mode is SandboxMode.REQUIRE:
        raise SandboxError(f"STUDIO_SANDBOX=require and models cannot be sandboxed: {problem}")
    return problem is None


def sandbox_warning(environ: Mapping[str, str] | None = None) -> str | None:
    """The warning to show everywhere when models run unsandboxed (None when they are sandboxed)."""
    try:
        if use_sandbox(environ):
            return None
    except SandboxError as err:
        return str(err)
    if sandbox_mode(environ) is SandboxMode.OFF:
        return f"models run WITHOUT a sandbox ({SANDBOX_VARIABLE}=off): a model's code can reach this machine's files and network"
    return UNSANDBOXED_WARNING


_NEVER_BOUND = {Path("/"), Path("/tmp")}


def _runtime_paths() -> list[Path]:
    """The Python installation and every import path outside it (read-only in the sandbox)."""
    roots = [Path(sys.base_prefix), Path(sys.prefix)]
    roots += [Path(entry) for entry in sys.path if entry and Path(entry).is_dir()]
    # A script run from /tmp (or /) puts that folder on sys.path; bound read-only, it would hide
    # the sandbox's private /tmp (or the whole system) and the worker would find no temp folder.
    return _outermost([root for root in roots if root.resolve() not in _NEVER_BOUND])


def _outermost(paths: Sequence[Path]) -> list[Path]:
    resolved = sorted({path.resolve() for path in paths}, key=lambda path: len(path.parts))
    kept: list[Path] = []
    for path in resolved:
        if not any(path == outer or outer in path.parents for outer in kept):
            kept.append(path)
    return kept


def sandboxed_command(command: list[str], *, readable: Sequence[Path], scratch: Path, code_root: Path) -> list[str]:
    """``command`` wrapped in bwrap: system, Python and ``code_root`` read-only, ``readable`` read-only,
    ``scratch`` writable, a private ``/tmp``, no network, own PID namespace, dies with its parent."""
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session"]
    for system in _SYSTEM:
        path = Path(system)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), system]
        elif path.is_dir():
            args += ["--ro-bind", system, system]
    for file in _SYSTEM_FILES:
        args += ["--ro-bind-try", file, file]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in _outermost([*_runtime_paths(), code_root]):
        args += ["--ro-bind", str(path), str(path)]
    for path in _outermost([Path(p) for p in readable if Path(p).exists()]):
        args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
    return [*args, *command]
