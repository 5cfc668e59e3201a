"""Check a destination before any work, and publish a verified model there atomically.

A destination ending in .zip, .tar, .tar.gz or .tgz is an archive, anything else a folder.
With ``version`` the model goes to ``N/`` inside it (TF Serving layout); an existing TF
Serving base path may then gain a new version folder. Work happens in a hidden staging folder
beside the destination, so the final step is a rename and no half-written output is left.

Example:
    >>> check_destination(Path("out/price.tar.gz"), version=1, overwrite=False)  # nothing there yet: fine
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from core.errors import OutputError, describe
from core.sources.archive import ARCHIVE_SUFFIXES, archive_suffix, write_archive
from core.sources.stage import is_saved_model_dir, serving_versions

STAGING_PREFIX = ".signature-studio-"


def _is_within(path: Path, folder: Path) -> bool:
    return path.resolve() == folder.resolve() or folder.resolve() in path.resolve().parents


def _describe_contents(folder: Path) -> str:
    names = sorted(entry.name for entry in folder.iterdir())
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _replaceable(folder: Path) -> bool:
    """Folders that overwriting may replace: empty, a SavedModel, or a TF Serving base path
    (numeric version folders that hold SavedModels, nothing else)."""
    entries = list(folder.iterdir())
    if not entries or is_saved_model_dir(folder):
        return True
    versions = serving_versions(folder)
    return bool(versions) and all(entry.name.isdigit() and entry.is_dir() for entry in entries)


def check_destination(destination: Path, *, version: int | None, overwrite: bool, source: Path | None = None) -> None:
    """Refuse a destination that exists (unless ``overwrite`` and it holds only a model), that
    overlaps the source, or that is not a plain file or folder.

    Raises:
        OutputError: with what exists and how to proceed.
    """
    if version is not None and version < 0:
        raise OutputError(f"the version must be a whole number of 0 or more; received {version}")
    try:
        exists, is_dir = destination.exists(), destination.is_dir()
        overlaps = source is not None and source.exists() and (_is_within(destination, source) or _is_within(source, destination))
    except (OSError, ValueError, RuntimeError) as err:
        raise OutputError(f"{destination} cannot be used as a path ({describe(err)})") from err
    if overlaps:
        raise OutputError(
            f"{destination} overlaps the source {source}; the source is never modified, so choose a path outside it"
        )
    if archive_suffix(destination) is not None:
        if is_dir:
            raise OutputError(
                f"{destination} is a folder; an archive destination must be a file path ending in {', '.join(ARCHIVE_SUFFIXES)}"
            )
        if exists and not overwrite:
            raise OutputError(f"{destination} exists", needs_overwrite=True)
        if exists and not destination.is_file():
            raise OutputError(f"{destination} is not a regular file; choose another destination")
        return
    if exists and not is_dir:
        raise OutputError(
            f"{destination} is a file; give a folder path or an archive path ending in {', '.join(ARCHIVE_SUFFIXES)}"
        )
    target = destination / str(version) if version is not None else destination
    if target.is_dir() and any(target.iterdir()):
        if not overwrite:
            raise OutputError(f"{target} exists and is not empty", needs_overwrite=True)
        if not _replaceable(target):
            raise OutputError(
                f"{target} holds files that are not a SavedModel ({_describe_contents(target)}); overwriting replaces only "
                "an empty folder, a SavedModel folder or a TF Serving base path, so choose another destination"
            )


def remove_folder(path: Path, *, attempts: int = 5) -> None:
    """Remove ``path`` and everything in it, again if a file appeared while it was removed (a
    worker stopped on failure may still be finishing a write there)."""
    for _ in range(attempts):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.2)


class Staging:
    """A hidden folder beside the destination to build the result in (same file system, so
    publishing is a rename). Used as a context manager it is made on entry (unless ``open()``
    made it before) and removed on exit, and on failure so are the parent folders it created.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as scratch, Staging(Path(scratch, "new", "out")) as staging:
        ...     staging.parent == Path(scratch, "new")
        True
    """

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        self.created: list[Path] = []
        self.path: Path | None = None

    def open(self) -> Staging:
        """Make the folder (and the destination's missing parents) now; returns itself."""
        if self.path is None:
            missing = [parent for parent in [self.destination.parent, *self.destination.parent.parents] if not parent.exists()]
            for parent in reversed(missing):
                parent.mkdir()
                self.created.append(parent)
            self.path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.destination.parent))
        return self

    def __enter__(self) -> Path:
        return self.open().path

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if self.path is not None:
            remove_folder(self.path)
        if kind is not None:
            for parent in reversed(self.created):
                with contextlib.suppress(OSError):
                    parent.rmdir()  # only if still empty


def _replace(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``, replacing what is there only once the move is ready.

    What is replaced is first moved into a new private folder (never a predictable name).
    """
    if not os.path.lexists(target):
        os.replace(source, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}old-", dir=target.parent))
    try:
        os.replace(target, retired / "old")
        os.replace(source, target)
    finally:
        shutil.rmtree(retired, ignore_errors=True)


def package_model(model_dir: Path, archive: Path, *, version: int | None) -> None:
    """Stream ``model_dir`` into ``archive`` (under ``N/`` with ``version``), via a partial file.

    The partial file is created exclusively under a random name (a link planted where it is
    written is never followed), and the archive appears under its name only once it is complete.
    """
    suffix = archive_suffix(archive) or ""
    descriptor, partial_name = tempfile.mkstemp(prefix=f"{STAGING_PREFIX}partial-", suffix=suffix, dir=archive.parent)
    partial = Path(partial_name)
    try:
        with os.fdopen(descriptor, "wb") as out:
            write_archive(model_dir, archive, root="" if version is None else str(version), fileobj=out)
        _replace(partial, archive)
    finally:
        partial.unlink(missing_ok=True)


def publish(model_dir: Path, destination: Path, *, version: int | None) -> Path:
    """Move (or pack) the verified ``model_dir`` to ``destination``; returns what was written.

    ``model_dir`` lies in a ``Staging`` folder, on the destination's file system, so moving it
    is a rename.
    """
    if archive_suffix(destination) is not None:
        package_model(model_dir, destination, version=version)
        return destination
    if version is None:
        _replace(model_dir, destination)
        return destination
    destination.mkdir(parents=True, exist_ok=True)
    _replace(model_dir, destination / str(version))
    return destination / str(version)
