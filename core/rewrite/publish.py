"""Check a destination before any work, and publish a verified model there atomically.

A destination ending in .zip, .tar, .tar.gz or .tgz is an archive, anything else a folder.
With ``version`` the model goes to ``N/`` inside it (TF Serving layout); an existing TF
Serving base path may then gain a new version folder. Work happens in a hidden staging folder
beside the destination, so the final step is a rename and no half-written output is left.

Example:
    >>> check_destination(Path("out/price.tar.gz"), version=1, overwrite=False)  # nothing there yet: fine
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from core.errors import OutputError
from core.savedmodel.archive import ARCHIVE_SUFFIXES, archive_suffix, write_archive

STAGING_PREFIX = ".signature-studio-"


def _is_within(path: Path, folder: Path) -> bool:
    return path.resolve() == folder.resolve() or folder.resolve() in path.resolve().parents


def check_destination(destination: Path, *, version: int | None, overwrite: bool, source: Path | None = None) -> None:
    """Refuse a destination that exists (unless ``overwrite``) or lies inside the source.

    Raises:
        OutputError: with what exists and how to proceed.
    """
    if version is not None and version < 0:
        raise OutputError(f"the version must be a whole number of 0 or more; received {version}")
    if source is not None and source.is_dir() and (_is_within(destination, source) or _is_within(source, destination)):
        raise OutputError(
            f"{destination} overlaps the source {source}; the source is never modified, so choose a folder outside it"
        )
    if archive_suffix(destination) is not None:
        if destination.is_dir():
            raise OutputError(
                f"{destination} is a folder; an archive destination must be a file path ending in {', '.join(ARCHIVE_SUFFIXES)}"
            )
        if destination.exists() and not overwrite:
            raise OutputError(f"{destination} exists", needs_overwrite=True)
        return
    if destination.exists() and not destination.is_dir():
        raise OutputError(
            f"{destination} is a file; give a folder path or an archive path ending in {', '.join(ARCHIVE_SUFFIXES)}"
        )
    target = destination / str(version) if version is not None else destination
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise OutputError(f"{target} exists and is not empty", needs_overwrite=True)


def staging_folder(destination: Path) -> Path:
    """A new hidden folder beside ``destination`` (same file system, so publishing is a rename)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=destination.parent))


def _replace(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``, replacing what is there only once the move is ready."""
    if target.exists():
        retired = target.with_name(f"{STAGING_PREFIX}{target.name}.old")
        os.replace(target, retired)
        os.replace(source, target)
        if retired.is_dir():
            shutil.rmtree(retired)
        else:
            retired.unlink()
    else:
        os.replace(source, target)


def package_model(model_dir: Path, archive: Path, *, version: int | None) -> None:
    """Stream ``model_dir`` into ``archive`` (under ``N/`` with ``version``), via a partial file.

    The archive appears under its name only once it is complete.
    """
    partial = archive.with_name(f"{STAGING_PREFIX}partial-{archive.name}")  # keeps the suffix that picks the kind
    try:
        write_archive(model_dir, partial, root="" if version is None else str(version))
        _replace(partial, archive)
    finally:
        partial.unlink(missing_ok=True)


def publish(model_dir: Path, destination: Path, *, version: int | None) -> Path:
    """Move (or pack) the verified ``model_dir`` to ``destination``; returns what was written.

    ``model_dir`` lies in a staging folder from ``staging_folder``, on the destination's file
    system, so moving it is a rename.
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
