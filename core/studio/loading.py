"""Loading a model into a Studio session: a sample, a server path under the allowed roots, or
an uploaded archive or Keras file (unpacked into the session's folder), parsed once; and a
second upload to compare against. ``ModelLoading`` is the part of ``StudioSession`` that does it.

Example:
    >>> sample_names()[:2]
    ['house_price', 'image_classifier']
    >>> [source.value for source in PickerSource]
    ['Sample', 'Upload', 'Server path']
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.errors import DiskAllowanceError, ModelSourceError, StudioError
from core.savedmodel.handle import ModelHandle
from core.sources.archive import ArchiveLimits
from core.sources.stage import SOURCE_FILE_SUFFIXES, find_saved_models, serving_versions, stage_saved_model
from core.studio.workspace import DEFAULT_ROOT, Purpose, Workspace, content_digest, resolve_allowed_path

# What the uploader accepts, as Streamlit wants it: suffixes without the dot.
UPLOAD_SUFFIXES = tuple(suffix.lstrip(".") for suffix in SOURCE_FILE_SUFFIXES)
DEFAULT_SAMPLE = "house_price"


class PickerSource(StrEnum):
    """Where the model picker takes a model from."""

    SAMPLE = "Sample"
    UPLOAD = "Upload"
    SERVER_PATH = "Server path"


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to inspect and rewrite; ``digest`` identifies its content."""

    label: str
    handle: ModelHandle
    digest: str

    @property
    def model_dir(self) -> Path:
        return self.handle.path

    @property
    def version(self) -> int | None:
        return self.handle.version


def sample_names(root: Path = DEFAULT_ROOT) -> list[str]:
    """Names of the sample models (folders holding a SavedModel or TF Serving versions)."""
    return sorted(
        child.name for child in root.iterdir() if child.is_dir() and (find_saved_models(child) or serving_versions(child))
    )


class ModelLoading:
    """Loading models into a ``StudioSession`` (which holds the state these methods use)."""

    roots: list[Path]
    limits: ArchiveLimits
    workspace: Workspace
    model: LoadedModel | None
    comparison: LoadedModel | None
    refusals: dict[str, str]

    def load_sample(self, name: str) -> LoadedModel:
        """Load the sample model ``name`` (see ``sample_names``)."""
        names = sample_names()
        if name not in names:
            raise ModelSourceError(f"unknown sample model '{name}'; samples: {names}")
        return self._load(DEFAULT_ROOT / name, f"{name} (sample)", digest=None)

    def load_path(self, text: str) -> LoadedModel:
        """Load a server-side path, allowed only under the configured roots."""
        path = resolve_allowed_path(text, self.roots)
        return self._load(path, text.strip(), digest=None)  # digested once staged: a FIFO is refused first

    def load_upload(self, filename: str, data: bytes, *, identity: str | None = None) -> LoadedModel:
        """Load an uploaded archive or Keras file (``UPLOAD_SUFFIXES``).

        Re-uploading the same bytes keeps the loaded model and its rewrite. A refused upload is
        remembered by ``identity`` (default: its content digest) and refused again at once.
        """
        if identity is not None:
            self._refuse_again(identity)
        digest = hashlib.sha256(data).hexdigest()
        identity = identity or digest
        self._refuse_again(digest)
        if self.model is not None and self.model.digest == digest:
            return self.model
        try:
            upload = self._save_upload(filename, data, Purpose.UPLOAD)
            try:
                return self._load(upload, Path(filename).name, digest=digest, keep=(upload.parent,))
            except StudioError:
                shutil.rmtree(upload.parent, ignore_errors=True)
                raise
        except DiskAllowanceError:
            raise  # the disk, not the upload: it may fit later
        except StudioError as err:
            self.refusals[identity] = self.refusals[digest] = str(err)
            raise

    def _refuse_again(self, identity: str) -> None:
        if identity in self.refusals:
            raise ModelSourceError(self.refusals[identity])

    def _unpack_limits(self) -> ArchiveLimits:
        """The archive limits, lowered to what the disk allowance leaves."""
        left, rule = self.workspace.space_left()
        return self.limits.within(left, f"the disk allowance binds: {rule}")

    def _load(self, source: Path, label: str, *, digest: str | None, keep: tuple[Path, ...] = ()) -> LoadedModel:
        """Stage ``source``; only once that worked, drop the previous model's files."""
        unpacked = None
        if source.is_dir():
            handle = stage_saved_model(source, source, limits=self.limits, display=label)  # folders are read where they are
        else:
            unpacked = self.workspace.new_folder(Purpose.MODEL)
            try:
                scope = self.scope(source.parent)  # a Keras file is exported by a worker that reads it
                handle = stage_saved_model(source, unpacked, limits=self._unpack_limits(), display=label, scope=scope)
            except StudioError:
                shutil.rmtree(unpacked, ignore_errors=True)
                raise
            keep = (*keep, unpacked)
        digest = digest or content_digest(handle.path)
        if self.model is not None and self.model.digest == digest and self.model.label == label:
            if unpacked is not None:
                shutil.rmtree(unpacked, ignore_errors=True)
            return self.model
        self._replace_model(LoadedModel(label=label, handle=handle, digest=digest), keep)
        return self.model

    def _save_upload(self, filename: str, data: bytes, purpose: Purpose) -> Path:
        name = Path(filename).name
        if not name.lower().endswith(tuple(f".{suffix}" for suffix in UPLOAD_SUFFIXES)):
            raise ModelSourceError(f"{name}: unsupported file; upload one of {', '.join('.' + s for s in UPLOAD_SUFFIXES)}")
        self.workspace.require_space(len(data), f"the upload {name}")
        upload = self.workspace.new_folder(purpose) / name
        upload.write_bytes(data)
        return upload

    def load_comparison_upload(self, filename: str, data: bytes) -> LoadedModel:
        """Load a second model to compare against (kept until the main model changes)."""
        digest = hashlib.sha256(data).hexdigest()
        self._refuse_again(digest)
        if self.comparison is not None and self.comparison.digest == digest:
            return self.comparison
        try:
            upload = self._save_upload(filename, data, Purpose.COMPARE_UPLOAD)
            label = Path(filename).name
            try:
                folder = self.workspace.new_folder(Purpose.COMPARE)
                handle = stage_saved_model(upload, folder, limits=self._unpack_limits(), display=label, scope=self.scope())
            except StudioError:
                shutil.rmtree(upload.parent, ignore_errors=True)
                raise
        except DiskAllowanceError:
            raise
        except StudioError as err:
            self.refusals[digest] = str(err)
            raise
        self.comparison = LoadedModel(label=label, handle=handle, digest=digest)
        return self.comparison
