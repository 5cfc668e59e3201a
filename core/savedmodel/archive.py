"""Extract model archives safely, and write output archives by streaming.

Extraction refuses members that could escape the target folder or surprise the reader
(absolute paths, ``..``, links, device files) and archives larger than the limits, before
writing the offending member.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     write_archive(Path("sample_models/house_price"), Path(scratch, "price.tar.gz"))
    ...     extract_archive(Path(scratch, "price.tar.gz"), Path(scratch, "unpacked"))
    ...     Path(scratch, "unpacked", "saved_model.pb").is_file()
    True
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.errors import ModelSourceError, OutputError, UnsafeArchiveError

ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
ARCHIVE_SUFFIXES = ZIP_SUFFIXES + TAR_SUFFIXES
DEFAULT_MAX_TOTAL_BYTES = 8 * 1024**3
DEFAULT_MAX_MEMBERS = 100_000
_COPY_CHUNK = 1024 * 1024
# Level 1 packs weight files almost as well as level 9 (float data hardly compresses) at a
# fraction of the time, which matters for multi-gigabyte models.
_COMPRESS_LEVEL = 1


MAX_BYTES_VARIABLE = "STUDIO_MAX_ARCHIVE_BYTES"
MAX_MEMBERS_VARIABLE = "STUDIO_MAX_ARCHIVE_MEMBERS"


@dataclass(frozen=True)
class ArchiveLimits:
    """How much an archive may unpack to; beyond either limit it is refused."""

    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES
    max_members: int = DEFAULT_MAX_MEMBERS

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ArchiveLimits:
        """Limits from ``STUDIO_MAX_ARCHIVE_BYTES`` and ``STUDIO_MAX_ARCHIVE_MEMBERS`` (defaults otherwise).

        Raises:
            ModelSourceError: a value that is not a positive whole number.
        """
        environ = os.environ if environ is None else environ
        values = {}
        for field_name, variable, default in (
            ("max_total_bytes", MAX_BYTES_VARIABLE, DEFAULT_MAX_TOTAL_BYTES),
            ("max_members", MAX_MEMBERS_VARIABLE, DEFAULT_MAX_MEMBERS),
        ):
            text = environ.get(variable, "").strip()
            if not text:
                values[field_name] = default
                continue
            if not text.isdigit() or int(text) == 0:
                raise ModelSourceError(f"{variable} must be a positive whole number; received '{text}'")
            values[field_name] = int(text)
        return cls(**values)


DEFAULT_LIMITS = ArchiveLimits()


def archive_suffix(path: Path) -> str | None:
    """The archive suffix of ``path`` (``.tar.gz``, ``.zip``, ...) or None."""
    name = path.name.lower()
    return next((suffix for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True) if name.endswith(suffix)), None)


def _safe_relative_path(archive: Path, member_name: str) -> PurePosixPath:
    pure = PurePosixPath(member_name.replace("\\", "/"))
    if pure.is_absolute() or (pure.parts and ":" in pure.parts[0]):
        raise UnsafeArchiveError(f"{archive.name}: member '{member_name}' has an absolute path; only relative paths are allowed")
    if ".." in pure.parts:
        raise UnsafeArchiveError(
            f"{archive.name}: member '{member_name}' climbs out with '..'; only paths inside the archive are allowed"
        )
    return pure


class _Budget:
    """Counts members and bytes against the limits while an archive is extracted."""

    def __init__(self, archive: Path, limits: ArchiveLimits) -> None:
        self.archive = archive
        self.limits = limits
        self.members = 0
        self.bytes = 0

    def add_member(self, member_name: str) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise UnsafeArchiveError(
                f"{self.archive.name}: more than {self.limits.max_members} members (refused at '{member_name}'); "
                "raise the member limit if this archive is trusted"
            )

    def add_bytes(self, member_name: str, count: int) -> None:
        self.bytes += count
        if self.bytes > self.limits.max_total_bytes:
            raise UnsafeArchiveError(
                f"{self.archive.name}: unpacks to more than {self.limits.max_total_bytes} bytes "
                f"(refused at '{member_name}'); raise the size limit if this archive is trusted"
            )


def _copy_member(source, target: Path, budget: _Budget, member_name: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        while chunk := source.read(_COPY_CHUNK):
            budget.add_bytes(member_name, len(chunk))
            out.write(chunk)


def _extract_zip(archive: Path, target: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            budget.add_member(info.filename)
            relative = _safe_relative_path(archive, info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchiveError(f"{archive.name}: member '{info.filename}' is a symbolic link; links are refused")
            # Zip writers that set no file type leave S_IFMT zero: those are plain files.
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise UnsafeArchiveError(f"{archive.name}: member '{info.filename}' is not a regular file or folder")
            if info.is_dir():
                (target / relative).mkdir(parents=True, exist_ok=True)
                continue
            with zf.open(info) as source:
                _copy_member(source, target / relative, budget, info.filename)


def _extract_tar(archive: Path, target: Path, budget: _Budget) -> None:
    # Streaming mode reads the archive once, front to back, whatever its compression.
    with tarfile.open(archive, mode="r|*") as tar:
        for member in tar:
            budget.add_member(member.name)
            relative = _safe_relative_path(archive, member.name)
            if member.issym() or member.islnk():
                kind = "symbolic link" if member.issym() else "hard link"
                raise UnsafeArchiveError(f"{archive.name}: member '{member.name}' is a {kind}; links are refused")
            if member.isdir():
                (target / relative).mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                raise UnsafeArchiveError(
                    f"{archive.name}: member '{member.name}' is a device, FIFO or other special file; "
                    "only files and folders are allowed"
                )
            source = tar.extractfile(member)
            _copy_member(source, target / relative, budget, member.name)


def extract_archive(archive: Path, target: Path, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
    """Extract ``archive`` (.zip, .tar, .tar.gz, .tgz) into the empty folder ``target``.

    Raises:
        UnsafeArchiveError: a refused member, or the archive exceeds ``limits``.
        ModelSourceError: the file is not a readable archive of that kind.
    """
    suffix = archive_suffix(archive)
    budget = _Budget(archive, limits)
    try:
        if suffix in ZIP_SUFFIXES:
            _extract_zip(archive, target, budget)
        elif suffix in TAR_SUFFIXES:
            _extract_tar(archive, target, budget)
        else:
            raise ModelSourceError(f"{archive.name}: not an archive; supported suffixes are {', '.join(ARCHIVE_SUFFIXES)}")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as err:
        raise ModelSourceError(f"{archive.name}: cannot be read as a {suffix} archive ({err})") from err


def write_archive(source_dir: Path, destination: Path, *, root: str = "") -> None:
    """Stream every file under ``source_dir`` into the archive ``destination``.

    The kind follows the suffix (.zip, .tar, .tar.gz, .tgz); paths in the archive are relative
    to ``source_dir``, under the folder ``root`` when given. Files are copied in chunks,
    never held whole in memory.

    Raises:
        OutputError: an unsupported suffix.
    """
    suffix = archive_suffix(destination)
    files = sorted(path for path in source_dir.rglob("*") if path.is_file())
    names = {path: "/".join(filter(None, (root, path.relative_to(source_dir).as_posix()))) for path in files}
    if suffix in ZIP_SUFFIXES:
        with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL) as zf:
            for path in files:
                zf.write(path, names[path])
    elif suffix in TAR_SUFFIXES:
        mode = "w" if suffix == ".tar" else "w:gz"
        options = {} if suffix == ".tar" else {"compresslevel": _COMPRESS_LEVEL}
        with tarfile.open(destination, mode, **options) as tar:
            for path in files:
                tar.add(path, arcname=names[path], recursive=False)
    else:
        raise OutputError(f"{destination.name}: unsupported archive suffix; choose one of {', '.join(ARCHIVE_SUFFIXES)}")
