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
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from core.errors import DiskAllowanceError, ModelSourceError, OutputError, StudioError, UnsafeArchiveError, describe

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
    # What to do about the byte limit, said when an archive reaches it, and whether reaching
    # it is the archive's fault (refused for good) or the disk's (try again later).
    bytes_advice: str = "raise the size limit if this archive is trusted"
    bytes_limited_by_disk: bool = False

    def within(self, space_left: int, advice: str) -> ArchiveLimits:
        """These limits, the byte limit lowered to ``space_left`` when that is smaller."""
        if space_left >= self.max_total_bytes:
            return self
        return replace(self, max_total_bytes=space_left, bytes_advice=advice, bytes_limited_by_disk=True)

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


def _safe_relative_path(archive: str, member_name: str) -> PurePosixPath:
    pure = PurePosixPath(member_name.replace("\\", "/"))
    if pure.is_absolute() or (pure.parts and ":" in pure.parts[0]):
        raise UnsafeArchiveError(f"{archive}: member '{member_name}' has an absolute path; only relative paths are allowed")
    if ".." in pure.parts:
        raise UnsafeArchiveError(
            f"{archive}: member '{member_name}' climbs out with '..'; only paths inside the archive are allowed"
        )
    return pure


class _Budget:
    """Counts members and bytes against the limits while an archive is extracted.

    Declared sizes (zip's central directory, each tar header) are checked before a member is
    written, and the bytes really written are counted too, so a header that lies is caught.
    """

    def __init__(self, name: str, limits: ArchiveLimits) -> None:
        self.name = name
        self.limits = limits
        self.members = 0
        self.declared = 0
        self.written = 0

    def _too_many(self, member_name: str) -> UnsafeArchiveError:
        return UnsafeArchiveError(
            f"{self.name}: more than {self.limits.max_members} members (refused at '{member_name}'); "
            "raise the member limit if this archive is trusted"
        )

    def _too_big(self, member_name: str) -> StudioError:
        kind = DiskAllowanceError if self.limits.bytes_limited_by_disk else UnsafeArchiveError
        return kind(
            f"{self.name}: unpacks to more than {self.limits.max_total_bytes} bytes (refused at '{member_name}'); "
            f"{self.limits.bytes_advice}"
        )

    def declare(self, member_name: str, size: int) -> None:
        """A member is about to be written: count it and its declared size."""
        self.members += 1
        if self.members > self.limits.max_members:
            raise self._too_many(member_name)
        self.declared += max(size, 0)
        if self.declared > self.limits.max_total_bytes:
            raise self._too_big(member_name)

    def add_written(self, member_name: str, count: int) -> None:
        self.written += count
        if self.written > self.limits.max_total_bytes:
            raise self._too_big(member_name)


def _copy_member(source, target: Path, budget: _Budget, member_name: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: a member never writes through something already there (a second member of the
    # same name, or a link).
    with open(target, "xb") as out:
        while chunk := source.read(_COPY_CHUNK):
            budget.add_written(member_name, len(chunk))
            out.write(chunk)


def _check_zip_member(name: str, info: zipfile.ZipInfo) -> PurePosixPath:
    relative = _safe_relative_path(name, info.filename)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UnsafeArchiveError(f"{name}: member '{info.filename}' is a symbolic link; links are refused")
    # Zip writers that set no file type leave S_IFMT zero: those are plain files.
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UnsafeArchiveError(f"{name}: member '{info.filename}' is not a regular file or folder")
    return relative


def _extract_zip(archive: Path, target: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        # The central directory lists every member and its size: refuse before writing anything.
        checked = [(info, _check_zip_member(budget.name, info)) for info in members]
        preview = _Budget(budget.name, budget.limits)
        for info in members:
            preview.declare(info.filename, info.file_size)
        for info, relative in checked:
            budget.declare(info.filename, info.file_size)
            if info.is_dir():
                (target / relative).mkdir(parents=True, exist_ok=True)
                continue
            with zf.open(info) as source:
                _copy_member(source, target / relative, budget, info.filename)


def _extract_tar(archive: Path, target: Path, budget: _Budget) -> None:
    # Streaming mode reads the archive once, front to back, whatever its compression; each
    # header is checked before its member is written.
    with tarfile.open(archive, mode="r|*") as tar:
        for member in tar:
            relative = _safe_relative_path(budget.name, member.name)
            if member.issym() or member.islnk():
                kind = "symbolic link" if member.issym() else "hard link"
                raise UnsafeArchiveError(f"{budget.name}: member '{member.name}' is a {kind}; links are refused")
            if not (member.isdir() or member.isfile()):
                raise UnsafeArchiveError(
                    f"{budget.name}: member '{member.name}' is a device, FIFO or other special file; "
                    "only files and folders are allowed"
                )
            budget.declare(member.name, member.size if member.isfile() else 0)
            if member.isdir():
                (target / relative).mkdir(parents=True, exist_ok=True)
                continue
            _copy_member(tar.extractfile(member), target / relative, budget, member.name)


def extract_archive(archive: Path, target: Path, *, limits: ArchiveLimits = DEFAULT_LIMITS, display: str | None = None) -> None:
    """Extract ``archive`` (.zip, .tar, .tar.gz, .tgz) into the new or empty folder ``target``.

    ``display`` is the name messages use (default: the archive's file name).

    Raises:
        UnsafeArchiveError: a refused member, or the archive exceeds ``limits``.
        ModelSourceError: the file is not a readable archive of that kind, or cannot be unpacked.
    """
    name = display if display is not None else archive.name
    suffix = archive_suffix(archive)
    budget = _Budget(name, limits)
    target.mkdir(parents=True, exist_ok=True)
    try:
        if suffix in ZIP_SUFFIXES:
            _extract_zip(archive, target, budget)
        elif suffix in TAR_SUFFIXES:
            _extract_tar(archive, target, budget)
        else:
            raise ModelSourceError(f"{name}: not an archive; supported suffixes are {', '.join(ARCHIVE_SUFFIXES)}")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, UnicodeDecodeError) as err:
        raise ModelSourceError(f"{name}: cannot be read as a {suffix} archive ({describe(err)})") from err
    except FileExistsError as err:
        raise UnsafeArchiveError(f"{name}: a member's path is used twice ('{Path(err.filename).name}')") from err
    except OSError as err:
        reason = describe(err, names={target: name, archive: name})
        raise ModelSourceError(f"{name}: cannot be unpacked ({reason})") from err


def write_archive(source_dir: Path, destination: Path, *, root: str = "", fileobj: BinaryIO | None = None) -> None:
    """Stream every file under ``source_dir`` into the archive ``destination``.

    The kind follows the suffix (.zip, .tar, .tar.gz, .tgz); paths in the archive are relative
    to ``source_dir``, under the folder ``root`` when given. Files are copied in chunks,
    never held whole in memory. With ``fileobj`` the archive is written there instead (the
    kind still follows ``destination``'s suffix).

    Raises:
        OutputError: an unsupported suffix.
    """
    suffix = archive_suffix(destination)
    files = sorted(path for path in source_dir.rglob("*") if path.is_file())
    names = {path: "/".join(filter(None, (root, path.relative_to(source_dir).as_posix()))) for path in files}
    if suffix in ZIP_SUFFIXES:
        target = fileobj if fileobj is not None else destination
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL) as zf:
            for path in files:
                zf.write(path, names[path])
    elif suffix in TAR_SUFFIXES:
        mode = "w" if suffix == ".tar" else "w:gz"
        options = {} if suffix == ".tar" else {"compresslevel": _COMPRESS_LEVEL}
        with tarfile.open(name=None if fileobj is not None else destination, mode=mode, fileobj=fileobj, **options) as tar:
            for path in files:
                tar.add(path, arcname=names[path], recursive=False)
    else:
        raise OutputError(f"{destination.name}: unsupported archive suffix; choose one of {', '.join(ARCHIVE_SUFFIXES)}")
