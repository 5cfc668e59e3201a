"""Per-session work folders, allowed server-side roots, and content digests.

The UI gives every browser session its own ``Workspace``: uploads, unpacked models, rewritten
models and archives live there, and the folder is removed when the session's state is
released (or the process exits). Server-side paths are accepted only under the roots listed
in ``STUDIO_MODEL_ROOTS`` (default: ``sample_models/``), so a shared deployment does not
expose the server's disk.

Example:
    >>> workspace = Workspace()
    >>> workspace.new_folder("upload").name
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
from pathlib import Path

from core.errors import ModelSourceError

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
    link cannot lead out of an allowed root.

    Raises:
        ModelSourceError: empty, outside every root, or missing.
    """
    if not text.strip():
        raise ModelSourceError(f"no path given; type a path under one of {[str(r) for r in roots]}")
    path = (PROJECT_ROOT / text.strip()).resolve()
    if not any(path == root or root in path.parents for root in roots):
        raise ModelSourceError(
            f"{text.strip()} is outside the allowed model folders {[str(r) for r in roots]}; set {ROOTS_VARIABLE} to allow more"
        )
    if not path.exists():
        raise ModelSourceError(f"{text.strip()} does not exist under the allowed model folders")
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


class Workspace:
    """A private temporary folder, removed by ``close()``, on garbage collection, or at exit."""

    def __init__(self, parent: Path | None = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=WORKSPACE_PREFIX, dir=parent))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)
        self._counter = 0

    def new_folder(self, purpose: str) -> Path:
        """A new, empty sub-folder whose name starts with ``purpose``."""
        self._counter += 1
        folder = self.path / f"{purpose}-{self._counter}"
        folder.mkdir()
        return folder

    def clear(self, *, keep: tuple[Path, ...] = ()) -> None:
        """Remove everything inside except the folders in ``keep`` (the model was replaced)."""
        for entry in self.path.iterdir():
            if entry in keep:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def close(self) -> None:
        """Remove the folder now."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive
