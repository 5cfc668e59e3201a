"""Per-session work folders, allowed server-side roots, and content digests.

The UI gives every browser session its own ``Workspace``: uploads, unpacked models, rewritten
models and archives live there, and the folder is removed when the session's state is
released (or the process exits). Server-side paths are accepted only under the roots listed
in ``STUDIO_MODEL_ROOTS`` (default: ``sample_models/``), so a shared deployment does not
expose the server's disk.

Example:
    >>> workspace = Workspace()
    >>> workspace.new_folder(Purpose.UPLOAD).name
    'upload-1'
    >>> workspace.close()
    >>> resolve_allowed_path("sample_models/house_price", [DEFAULT_ROOT]) == DEFAULT_ROOT / "house_price"
    True
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.errors import DiskAllowanceError, ModelSourceError, describe

ROOTS_VARIABLE = "STUDIO_MODEL_ROOTS"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ROOT = PROJECT_ROOT / "sample_models"
WORKSPACE_PREFIX = "signature-studio-session-"
_CHUNK = 1024 * 1024


def allowed_roots(environ: dict[str, str] | None = None) -> list[Path]:
    """The folders under which server-side model paths are allowed.

    ``STUDIO_MODEL_ROOTS`` holds them separated by ``os.pathsep`` (``:`` on Linux); relative
    entries are taken from the project root.
    """
    value = (os.environ if environ is None else environ).get(ROOTS_VARIABLE, "")
    entries = [entry for entry in value.split(os.pathsep) if entry.strip()]
    if not entries:
        return [DEFAULT_ROOT]
    return [(PROJECT_ROOT / entry.strip()).resolve() for entry in entries]


def resolve_allowed_path(text: str, roots: list[Path]) -> Path:
    """Resolve a typed server path, refusing anything outside ``roots``.

    Relative paths are taken from the project root. Symbolic links are resolved first, so a
    link cannot lead out of an allowed root (links inside the model are checked when it is read).

    Raises:
        ModelSourceError: empty, unreadable as a path, outside every root, or missing.
    """
    if not text.strip():
        raise ModelSourceError(f"no path given; type a path under one of {[str(r) for r in roots]}")
    shown = text.strip() if len(text.strip()) <= 120 else text.strip()[:117] + "..."
    try:
        path = (PROJECT_ROOT / text.strip()).resolve()
        path.exists()
    except (OSError, ValueError, RuntimeError) as err:  # NUL bytes, names too long, link loops
        raise ModelSourceError(f"{shown!r} cannot be read as a path ({describe(err)})") from err
    if not any(path == root or root in path.parents for root in roots):
        raise ModelSourceError(
            f"{shown} is outside the allowed model folders {[str(r) for r in roots]}; set {ROOTS_VARIABLE} to allow more"
        )
    if not path.exists():
        raise ModelSourceError(f"{shown} does not exist under the allowed model folders")
    return path


def content_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, or of a folder's relative file names and bytes."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


SESSION_DISK_VARIABLE = "STUDIO_SESSION_DISK_MB"
TOTAL_DISK_VARIABLE = "STUDIO_TOTAL_DISK_MB"
DEFAULT_SESSION_DISK_MB = 32 * 1024
# By default all sessions together may fill this share of the space free at start-up.
DEFAULT_TOTAL_SHARE = 0.8
_MB = 1024 * 1024


def folder_bytes(path: Path) -> int:
    """The bytes of every file under ``path`` (links not followed); 0 if it is gone."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue  # removed while counting
    return total


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_workspaces(parent: Path | None = None) -> int:
    """Remove the session folders left by Studio processes that are gone (a killed server);
    returns how many. Folders of running processes are left alone."""
    parent = Path(parent or tempfile.gettempdir())
    removed = 0
    for folder in parent.glob(f"{WORKSPACE_PREFIX}*"):
        pid_text = folder.name.removeprefix(WORKSPACE_PREFIX).split("-", 1)[0]
        if folder.is_dir() and pid_text.isdigit() and not _pid_alive(int(pid_text)):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


@dataclass(frozen=True)
class DiskAllowance:
    """How much disk one session, and all sessions together, may fill (bytes)."""

    per_session: int
    total: int

    @classmethod
    def from_environment(cls, parent: Path | None = None, environ: Mapping[str, str] | None = None) -> DiskAllowance:
        """``STUDIO_SESSION_DISK_MB`` and ``STUDIO_TOTAL_DISK_MB``; by default 32 GiB per session
        and 80% of the space free in the sessions' folder.

        Raises:
            ModelSourceError: a value that is not a positive whole number.
        """
        environ = os.environ if environ is None else environ
        free = shutil.disk_usage(parent or tempfile.gettempdir()).free
        values = []
        for variable, default in ((SESSION_DISK_VARIABLE, DEFAULT_SESSION_DISK_MB * _MB), (TOTAL_DISK_VARIABLE, None)):
            text = environ.get(variable, "").strip()
            if not text:
                values.append(default if default is not None else int(free * DEFAULT_TOTAL_SHARE))
            elif text.isdigit() and int(text) > 0:
                values.append(int(text) * _MB)
            else:
                raise ModelSourceError(f"{variable} must be a positive whole number of megabytes; received '{text}'")
        return cls(*values)


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", _MB), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


class Purpose(StrEnum):
    """What a folder of the workspace holds; its name starts with the value."""

    UPLOAD = "upload"
    MODEL = "model"  # an uploaded archive unpacked, or a Keras file exported
    COMPARE_UPLOAD = "compare-upload"
    COMPARE = "compare"
    REWRITE = "rewrite"
    BATCH = "batch"
    DOWNLOAD = "download"


class Workspace:
    """A private temporary folder, removed by ``close()``, on garbage collection, or at exit."""

    def __init__(self, parent: Path | None = None, *, allowance: DiskAllowance | None = None) -> None:
        # The process id in the name lets a later start-up tell a dead server's folders apart.
        self.parent = Path(parent or tempfile.gettempdir())
        self.path = Path(tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-", dir=self.parent))
        self.allowance = allowance or DiskAllowance.from_environment(self.parent)
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)
        self._counter = 0

    def new_folder(self, purpose: Purpose) -> Path:
        """A new, empty sub-folder whose name starts with ``purpose``."""
        self._counter += 1
        folder = self.path / f"{Purpose(purpose).value}-{self._counter}"
        folder.mkdir()
        return folder

    def remove_folders(self, purpose: Purpose) -> None:
        """Remove every folder made for ``purpose`` (only the newest run's files are kept)."""
        for folder in self.path.glob(f"{Purpose(purpose).value}-*"):
            if folder.name.removeprefix(f"{purpose.value}-").isdigit():
                shutil.rmtree(folder, ignore_errors=True)

    def clear(self, *, keep: tuple[Path, ...] = ()) -> None:
        """Remove everything inside except the folders in ``keep`` (the model was replaced)."""
        for entry in self.path.iterdir():
            if entry in keep:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def space_left(self) -> tuple[int, str]:
        """Bytes this session may still write, and which allowance binds (for messages)."""
        own = folder_bytes(self.path)
        everyone = sum(folder_bytes(folder) for folder in self.parent.glob(f"{WORKSPACE_PREFIX}*") if folder.is_dir())
        session_left = self.allowance.per_session - own
        total_left = self.allowance.total - everyone
        if session_left <= total_left:
            return max(0, session_left), f"this session may use {_size(self.allowance.per_session)} ({SESSION_DISK_VARIABLE})"
        return max(0, total_left), f"all sessions together may use {_size(self.allowance.total)} ({TOTAL_DISK_VARIABLE})"

    def require_space(self, needed: int, what: str) -> None:
        """Refuse to write ``needed`` bytes for ``what`` beyond the disk allowance.

        Raises:
            DiskAllowanceError: saying how much is left and which allowance binds.
        """
        left, rule = self.space_left()
        if needed > left:
            raise DiskAllowanceError(
                f"{what} needs {_size(needed)} of disk, and only {_size(left)} is left: {rule}; "
                "load a smaller model or try again when other sessions have ended"
            )

    def close(self) -> None:
        """Remove the folder now."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive
