"""Turn what a user points at into one SavedModel directory on disk, and open it once.

A model source can be a SavedModel directory, a TF Serving base path with numeric version
folders (the highest version is read), an archive holding one SavedModel at any depth
(.zip, .tar, .tar.gz, .tgz), or a Keras file (.keras, .h5) that is exported first.

Every front end opens a model with ``open_saved_model``: stage it, then parse it once into the
``ModelHandle`` that everything else reads.

Example:
    >>> with open_model("sample_models/tf1_half_plus_two") as source:
    ...     (source.path.name, source.version, source.kind.value)
    ('00000123', 123, 'serving_base')
    >>> with open_saved_model("sample_models/tf1_half_plus_two") as model:
    ...     (model.version, model.info.public_signatures)
    (123, ['classify_x_to_y', 'regress_x_to_y', 'serving_default'])
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.errors import ModelSourceError, describe
from core.execution.pool import Scope
from core.savedmodel.handle import ModelHandle, read_saved_model
from core.savedmodel.proto import SAVED_MODEL_PB, SAVED_MODEL_PBTXT, VALID_SOURCES
from core.sources.archive import ARCHIVE_SUFFIXES, DEFAULT_LIMITS, ArchiveLimits, archive_suffix, extract_archive
from core.sources.keras_file import export_keras

KERAS_SUFFIXES = (".keras", ".h5")
# Every kind of file a user can give as a model (folders aside).
SOURCE_FILE_SUFFIXES = ARCHIVE_SUFFIXES + KERAS_SUFFIXES
TEMP_PREFIX = "signature-studio-"


class SourceKind(StrEnum):
    """What the user pointed at."""

    DIRECTORY = "directory"
    SERVING_BASE = "serving_base"
    ARCHIVE = "archive"
    KERAS = "keras"


@dataclass(frozen=True)
class ModelSource:
    """A SavedModel directory ready to read, and where it came from."""

    path: Path
    display: str
    version: int | None
    kind: SourceKind


def source_stem(name: str) -> str:
    """A file name without its model suffix (``price.tar.gz`` → ``price``), for naming outputs."""
    stem = Path(name).name
    lowered = stem.lower()
    suffix = max((s for s in SOURCE_FILE_SUFFIXES if lowered.endswith(s)), key=len, default="")
    return stem[: len(stem) - len(suffix)] or "model"


def is_saved_model_dir(path: Path) -> bool:
    """True when ``path`` holds ``saved_model.pb`` or ``saved_model.pbtxt``."""
    return (path / SAVED_MODEL_PB).is_file() or (path / SAVED_MODEL_PBTXT).is_file()


def serving_versions(base: Path) -> dict[int, Path]:
    """The numeric version folders of a TF Serving base path that hold a SavedModel."""
    if not base.is_dir():
        return {}
    return {
        int(child.name): child
        for child in base.iterdir()
        if child.is_dir() and child.name.isdigit() and is_saved_model_dir(child)
    }


def find_saved_models(root: Path) -> list[Path]:
    """Every folder under ``root`` (itself included) that holds a SavedModel."""
    found = {path.parent for pattern in (SAVED_MODEL_PB, SAVED_MODEL_PBTXT) for path in root.rglob(pattern)}
    return sorted(found)


def _resolve_directory(directory: Path, display: str) -> ModelSource:
    if is_saved_model_dir(directory):
        version = int(directory.name) if directory.name.isdigit() else None
        return ModelSource(directory, display, version, SourceKind.DIRECTORY)
    versions = serving_versions(directory)
    if versions:
        highest = max(versions)
        return ModelSource(versions[highest], display, highest, SourceKind.SERVING_BASE)
    raise ModelSourceError(
        f"{display} is not a SavedModel: it has no {SAVED_MODEL_PB} and no numeric version folders "
        f"holding one. Give {VALID_SOURCES}."
    )


def _resolve_extracted(root: Path, display: str) -> ModelSource:
    models = find_saved_models(root)
    if not models:
        raise ModelSourceError(f"{display}: the archive holds no SavedModel (no {SAVED_MODEL_PB} at any depth)")
    if len(models) == 1:
        model = models[0]
        version = int(model.name) if model.name.isdigit() else None
        return ModelSource(model, display, version, SourceKind.ARCHIVE)
    parents = {model.parent for model in models}
    if len(parents) == 1 and all(model.name.isdigit() for model in models):
        resolved = _resolve_directory(parents.pop(), display)
        return ModelSource(resolved.path, display, resolved.version, SourceKind.ARCHIVE)
    listed = ", ".join(model.relative_to(root).as_posix() or "." for model in models)
    raise ModelSourceError(
        f"{display}: the archive holds {len(models)} SavedModels ({listed}); put exactly one SavedModel "
        "(or one TF Serving base path with version folders) in the archive"
    )


def _export_keras_file(keras_file: Path, target: Path, display: str, allow_unsafe_code: bool, scope: Scope | None) -> ModelSource:
    export_keras(keras_file, target, display, allow_unsafe_code=allow_unsafe_code, scope=scope)
    return ModelSource(target, display, None, SourceKind.KERAS)


def check_model_folder(model_dir: Path, display: str) -> None:
    """Refuse a model folder that holds a link leading out of it, or a device, FIFO or socket.

    Reading such a folder would pack a file from elsewhere into a download, or wait forever.

    Raises:
        ModelSourceError: naming the first such entry.
    """
    root = model_dir.resolve()
    for folder, folders, files in os.walk(model_dir, followlinks=False):
        for name in folders + files:
            entry = Path(folder) / name
            relative = entry.relative_to(model_dir).as_posix()
            mode = entry.lstat().st_mode
            if stat.S_ISLNK(mode):
                try:
                    target = entry.resolve(strict=True)
                except (OSError, RuntimeError) as err:
                    raise ModelSourceError(f"{display}: {relative} is a broken or looping link") from err
                if target != root and root not in target.parents:
                    raise ModelSourceError(
                        f"{display}: {relative} is a link to a file outside the model; only links within the model are allowed"
                    )
            elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise ModelSourceError(f"{display}: {relative} is a device, FIFO or socket; a model holds only files and folders")


def stage_model(
    source: Path | str,
    target: Path,
    *,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    display: str | None = None,
    allow_unsafe_code: bool = False,
    scope: Scope | None = None,
) -> ModelSource:
    """Make ``source`` available as a SavedModel folder, unpacking into ``target`` if needed.

    Folders are used where they are (nothing is copied); archives are extracted and Keras
    files exported (in a worker, within ``scope``) into ``target``, which the caller owns and
    removes. ``display`` is the name messages use (an upload's own file name rather than where
    the server keeps it). ``allow_unsafe_code`` lets a Keras file with Lambda layers load.

    Raises:
        ModelSourceError: the source is missing, unreadable or not exactly one SavedModel.
        UnsafeArchiveError: the archive holds refused members or exceeds ``limits``.
        UnsafeModelError: a Keras file with code in it, and ``allow_unsafe_code`` is off.
    """
    path = Path(source)
    display = display if display is not None else str(source)
    staged = _stage(path, target, limits, display, allow_unsafe_code, scope)
    check_model_folder(staged.path, display)
    return staged


def _stage(
    path: Path, target: Path, limits: ArchiveLimits, display: str, allow_unsafe_code: bool, scope: Scope | None
) -> ModelSource:
    try:
        exists, is_dir, is_file = path.exists(), path.is_dir(), path.is_file()
    except (OSError, ValueError) as err:  # a name too long, a NUL byte, a link loop
        raise ModelSourceError(f"{display} cannot be read as a path ({describe(err)}); give {VALID_SOURCES}") from err
    if not exists:
        raise ModelSourceError(f"{display} does not exist; give {VALID_SOURCES}")
    if is_dir:
        return _resolve_directory(path, display)
    if not is_file:  # reading a FIFO or a device would wait forever or never end
        raise ModelSourceError(f"{display} is not a regular file or a folder; give {VALID_SOURCES}")
    if archive_suffix(path) is not None:
        extract_archive(path, target, limits=limits, display=display)
        return _resolve_extracted(target, display)
    if path.name.lower().endswith(KERAS_SUFFIXES):
        target.mkdir(parents=True, exist_ok=True)
        return _export_keras_file(path, target / "saved_model", display, allow_unsafe_code, scope)
    raise ModelSourceError(f"{display} is a file of an unsupported kind; give {VALID_SOURCES}")


@contextmanager
def open_model(
    source: Path | str,
    *,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    work_dir: Path | None = None,
    allow_unsafe_code: bool = False,
    scope: Scope | None = None,
) -> Iterator[ModelSource]:
    """Yield the SavedModel folder behind ``source``; temporary files are removed on exit.

    Archives are extracted and Keras files exported into a private temporary folder (under
    ``work_dir`` when given) that is always removed, whatever happens inside the block.

    Raises:
        ModelSourceError: the source is missing, unreadable or not exactly one SavedModel.
        UnsafeArchiveError: the archive holds refused members or exceeds ``limits``.
    """
    try:
        is_dir = Path(source).is_dir()
    except (OSError, ValueError):
        is_dir = False  # stage_model says what is wrong with the path
    if is_dir:
        yield stage_model(source, Path(), limits=limits)
        return
    scratch = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=work_dir))
    try:
        yield stage_model(source, scratch, limits=limits, allow_unsafe_code=allow_unsafe_code, scope=scope)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def open_saved_model(
    source: Path | str,
    *,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    work_dir: Path | None = None,
    allow_unsafe_code: bool = False,
    scope: Scope | None = None,
    display: str | None = None,
) -> Iterator[ModelHandle]:
    """Yield the model behind ``source`` parsed once (``open_model``, then ``read_saved_model``);
    the handle's files are there until the block ends. ``display``: the name messages use.

    Raises:
        ModelSourceError: the source is missing, unreadable or not exactly one SavedModel.
        UnsafeArchiveError: the archive holds refused members or exceeds ``limits``.
        UnsafeModelError: a Keras file with code in it, and ``allow_unsafe_code`` is off.
    """
    with open_model(source, limits=limits, work_dir=work_dir, allow_unsafe_code=allow_unsafe_code, scope=scope) as staged:
        yield read_saved_model(staged.path, display=display or staged.display, version=staged.version)


def stage_saved_model(
    source: Path | str,
    target: Path,
    *,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    display: str | None = None,
    allow_unsafe_code: bool = False,
    scope: Scope | None = None,
) -> ModelHandle:
    """``stage_model`` into ``target`` (which the caller owns and removes), parsed once: for a
    model that outlives one block, as the Studio's and a batch worker's do."""
    staged = stage_model(source, target, limits=limits, display=display, allow_unsafe_code=allow_unsafe_code, scope=scope)
    return read_saved_model(staged.path, display=staged.display, version=staged.version)
