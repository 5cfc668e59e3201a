"""One browser session of the Studio UI, without any Streamlit: which model is loaded,
the rewrite applied to it, the archives made from it, and the session's private folder.

The pages keep one ``StudioSession`` in their session state and only render what it returns.
Loading a new model empties the session's folder (old uploads, rewrites and archives go);
``close()`` — or garbage collection of the session — removes the folder.

Example:
    >>> session = StudioSession()
    >>> session.load_sample("house_price").label
    'house_price (sample)'
    >>> session.model.handle.format.value
    'tf2'
    >>> session.close()
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.errors import ModelSourceError, OutputError, StudioError
from core.pipeline import Progress, RewriteResult, rewrite_saved_model
from core.rewrite.publish import package_model
from core.rewrite.request import RewriteRequest
from core.savedmodel.archive import ArchiveLimits
from core.savedmodel.handle import ModelHandle, read_saved_model
from core.savedmodel.source import SOURCE_FILE_SUFFIXES, find_saved_models, serving_versions, source_stem, stage_model
from core.studio.edit_form import ForwardChoices
from core.studio.workspace import DEFAULT_ROOT, Workspace, allowed_roots, content_digest, resolve_allowed_path

# What the uploader accepts, as Streamlit wants it: suffixes without the dot.
UPLOAD_SUFFIXES = tuple(suffix.lstrip(".") for suffix in SOURCE_FILE_SUFFIXES)
ARCHIVE_FORMATS = ("zip", "tar.gz")
DEFAULT_SAMPLE = "house_price"


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


@dataclass(frozen=True)
class AppliedRewrite:
    """A verified rewrite of the loaded model, kept in the session's folder."""

    request: RewriteRequest
    result: RewriteResult
    digest: str
    handle: ModelHandle

    @property
    def model_dir(self) -> Path:
        return self.result.destination


def sample_names(root: Path = DEFAULT_ROOT) -> list[str]:
    """Names of the sample models (folders holding a SavedModel or TF Serving versions)."""
    return sorted(
        child.name for child in root.iterdir() if child.is_dir() and (find_saved_models(child) or serving_versions(child))
    )


class StudioSession:
    """The state of one UI session; every method raises ``StudioError`` subclasses on bad input."""

    def __init__(self, *, roots: list[Path] | None = None, work_parent: Path | None = None) -> None:
        self.roots = roots if roots is not None else allowed_roots()
        self.limits = ArchiveLimits.from_environment()
        self.workspace = Workspace(work_parent)
        self.model: LoadedModel | None = None
        self.rewrite: AppliedRewrite | None = None
        self.comparison: LoadedModel | None = None
        self.forwards = ForwardChoices()
        self._packages: dict[tuple[str, str, int | None], Path] = {}

    def load_sample(self, name: str) -> LoadedModel:
        """Load the sample model ``name`` (see ``sample_names``)."""
        names = sample_names()
        if name not in names:
            raise ModelSourceError(f"unknown sample model '{name}'; samples: {names}")
        return self._load(DEFAULT_ROOT / name, f"{name} (sample)", digest=None)

    def load_path(self, text: str) -> LoadedModel:
        """Load a server-side path, allowed only under the configured roots."""
        path = resolve_allowed_path(text, self.roots)
        return self._load(path, text.strip(), digest=None if path.is_dir() else content_digest(path))

    def load_upload(self, filename: str, data: bytes) -> LoadedModel:
        """Load an uploaded archive or Keras file (``UPLOAD_SUFFIXES``).

        Re-uploading the same bytes keeps the loaded model and its rewrite.
        """
        digest = hashlib.sha256(data).hexdigest()
        if self.model is not None and self.model.digest == digest:
            return self.model
        upload = self._save_upload(filename, data, "upload")
        try:
            return self._load(upload, Path(filename).name, digest=digest, keep=(upload.parent,))
        except StudioError:
            shutil.rmtree(upload.parent, ignore_errors=True)
            raise

    def _load(self, source: Path, label: str, *, digest: str | None, keep: tuple[Path, ...] = ()) -> LoadedModel:
        """Stage ``source``; only once that worked, drop the previous model's files."""
        unpacked = None
        if source.is_dir():
            staged = stage_model(source, source, limits=self.limits)  # folders are read where they are
        else:
            unpacked = self.workspace.new_folder("model")
            try:
                staged = stage_model(source, unpacked, limits=self.limits)
            except StudioError:
                shutil.rmtree(unpacked, ignore_errors=True)
                raise
            keep = (*keep, unpacked)
        digest = digest or content_digest(staged.path)
        if self.model is not None and self.model.digest == digest and self.model.label == label:
            if unpacked is not None:
                shutil.rmtree(unpacked, ignore_errors=True)
            return self.model
        self.workspace.clear(keep=keep)
        handle = read_saved_model(staged.path, display=label, version=staged.version)
        self.model = LoadedModel(label=label, handle=handle, digest=digest)
        self.rewrite = None
        self.comparison = None
        self._packages.clear()
        return self.model

    def _save_upload(self, filename: str, data: bytes, purpose: str) -> Path:
        name = Path(filename).name
        if not name.lower().endswith(tuple(f".{suffix}" for suffix in UPLOAD_SUFFIXES)):
            raise ModelSourceError(f"{name}: unsupported file; upload one of {', '.join('.' + s for s in UPLOAD_SUFFIXES)}")
        upload = self.workspace.new_folder(purpose) / name
        upload.write_bytes(data)
        return upload

    def load_comparison_upload(self, filename: str, data: bytes) -> LoadedModel:
        """Load a second model to compare against (kept until the main model changes)."""
        digest = hashlib.sha256(data).hexdigest()
        if self.comparison is not None and self.comparison.digest == digest:
            return self.comparison
        upload = self._save_upload(filename, data, "compare-upload")
        try:
            source = stage_model(upload, self.workspace.new_folder("compare"), limits=self.limits)
        except StudioError:
            shutil.rmtree(upload.parent, ignore_errors=True)
            raise
        handle = read_saved_model(source.path, display=Path(filename).name, version=source.version)
        self.comparison = LoadedModel(label=Path(filename).name, handle=handle, digest=digest)
        return self.comparison

    def apply(self, request: RewriteRequest, progress: Progress = lambda step: None) -> AppliedRewrite:
        """Rewrite and verify the loaded model into the session's folder.

        Raises:
            ModelSourceError: no model loaded. PlanError, VerificationError: as ``rewrite_model``.
        """
        if self.model is None:
            raise ModelSourceError("no model is loaded; choose a sample, upload a file or type a path first")
        destination = self.workspace.new_folder("rewrite") / "model"
        result = rewrite_saved_model(self.model.handle, destination, request, progress=progress)
        digest = hashlib.sha256(f"{self.model.digest}:{request!r}".encode()).hexdigest()
        handle = read_saved_model(result.destination, display="rewritten", version=None)
        self.rewrite = AppliedRewrite(request, result, digest, handle)
        self._packages.clear()
        return self.rewrite

    def package(self, archive_format: str, version: int | None = None) -> Path:
        """The verified rewrite packed as ``zip`` or ``tar.gz`` (optionally in ``N/``); made once.

        Raises:
            OutputError: nothing applied yet, or an unknown format.
        """
        if self.rewrite is None:
            raise OutputError("nothing to download yet: apply a rewrite first")
        if archive_format not in ARCHIVE_FORMATS:
            raise OutputError(f"unknown archive format '{archive_format}'; choose one of {list(ARCHIVE_FORMATS)}")
        key = (self.rewrite.digest, archive_format, version)
        if key not in self._packages or not self._packages[key].exists():
            archive = self.workspace.new_folder("download") / f"{self.download_stem()}.{archive_format}"
            package_model(self.rewrite.model_dir, archive, version=version)
            self._packages[key] = archive
        return self._packages[key]

    def model_stem(self) -> str:
        """A file-name stem from the loaded model's label (``house_price.tar.gz`` → ``house_price``)."""
        label = self.model.label if self.model else "model"
        return source_stem(label.split(" ")[0])

    def download_stem(self) -> str:
        """The file-name stem of the rewritten model's archives."""
        return f"{self.model_stem()}_rewritten"

    def close(self) -> None:
        """Remove the session's folder."""
        self.workspace.close()
