"""One browser session of the Studio UI, without any Streamlit: which model is loaded,
the rewrite applied to it (run as a background job), the archives made from it, and the
session's private folder.

Everything belongs to the model it describes: loading another model drops the rewrite, the
comparison and the archives of the previous one (and cancels an Apply still running for it).
The pages keep one ``StudioSession`` per browser tab and only render what it returns;
``close()`` removes the folder.

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
import threading
from dataclasses import dataclass
from pathlib import Path

from core.batch.background import csv_header, rename_csv_columns, run_predict_process
from core.batch.files import InputFormat, count_rows
from core.batch.rows import BlockReader
from core.errors import DiskAllowanceError, InputDataError, ModelSourceError, OutputError, StudioError
from core.execution.loaders import Loader
from core.execution.pool import Scope
from core.progress import SILENT, Progress
from core.rewrite.publish import package_model
from core.rewrite.request import RewriteRequest
from core.savedmodel.handle import ModelHandle, read_saved_model
from core.savedmodel.proto import ModelFormat
from core.serve.models import WorkerModel
from core.serve.verification_rows import RealRows, rows_from_request
from core.sources.archive import ArchiveLimits
from core.sources.stage import SOURCE_FILE_SUFFIXES, find_saved_models, serving_versions, source_stem, stage_model
from core.studio.edit_form import ForwardChoices
from core.studio.jobs import Job, JobState
from core.studio.workspace import (
    DEFAULT_ROOT,
    Workspace,
    allowed_roots,
    content_digest,
    folder_bytes,
    resolve_allowed_path,
)
from core.workflows import RewriteResult, rewrite_saved_model

# Try answers a session keeps for a reloaded page (the oldest go first).
TRY_ANSWERS_KEPT = 16

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
    """A verified rewrite of a loaded model (``model_digest``), kept in the session's folder.

    ``digest`` identifies the rewrite: the model's content and the request.
    """

    model_digest: str
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


def rewrite_digest(model_digest: str, request: RewriteRequest) -> str:
    """What identifies a rewrite: the model's content and everything the request asks."""
    return hashlib.sha256(f"{model_digest}:{request!r}".encode()).hexdigest()


@dataclass(frozen=True)
class TryAnswer:
    """What Try answered once: the request as sent (a JSON body, or the CSV file's name), and
    either the result (``result``: the response text, or the CSV's rows and their JSON lines)
    or the error that refused it."""

    request: str
    result: object = None
    error: str | None = None


@dataclass(frozen=True)
class BatchInfo:
    """What the last batch run was started on: model (digest), signature, key column, the rows
    the file holds, where its running count is, and the name the file was uploaded as."""

    digest: str
    signature: str
    key_column: str | None
    total_rows: int
    progress_dir: Path
    filename: str


class StudioSession:
    """The state of one UI session; every method raises ``StudioError`` subclasses on bad input.

    Methods are called from the page's script thread; an Apply job's thread only hands its
    result over through ``_finish_apply``, under the session's lock.
    """

    def __init__(self, *, roots: list[Path] | None = None, work_parent: Path | None = None) -> None:
        self.roots = roots if roots is not None else allowed_roots()
        self.limits = ArchiveLimits.from_environment()
        self.workspace = Workspace(work_parent)
        self.model: LoadedModel | None = None
        self.rewrite: AppliedRewrite | None = None
        self.comparison: LoadedModel | None = None
        self.job: Job | None = None
        self.job_for: tuple[str, RewriteRequest] | None = None  # (model digest, request) of ``job``
        self.forwards = ForwardChoices()
        # The Edit page's last choices per model (content digest), so leaving the page or
        # reloading it brings them back.
        self.drafts: dict[str, RewriteRequest] = {}
        self.refusals: dict[str, str] = {}
        # What the model picker last loaded (source, choice), so a reloaded page shows it again.
        self.picked: tuple[str, str] | None = None
        self.batch: Job | None = None
        self.batch_info: BatchInfo | None = None
        self._try_answers: dict[tuple[str, ...], TryAnswer] = {}
        self._packages: dict[tuple[str, str, int | None], Path] = {}
        self._job_folder: Path | None = None
        self._lock = threading.RLock()

    # Loading -------------------------------------------------------------------------------

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
            upload = self._save_upload(filename, data, "upload")
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

    def remember_try_answer(self, owner: tuple[str, ...], answer: TryAnswer) -> None:
        """Keep Try's last answer for ``owner`` (model digest, signature, way of asking), so a
        reloaded page shows it again; only the last ``TRY_ANSWERS_KEPT`` are kept."""
        with self._lock:
            self._try_answers.pop(owner, None)
            self._try_answers[owner] = answer
            while len(self._try_answers) > TRY_ANSWERS_KEPT:
                self._try_answers.pop(next(iter(self._try_answers)))

    def try_answer(self, owner: tuple[str, ...]) -> TryAnswer | None:
        """Try's last answer for ``owner``, or None."""
        with self._lock:
            return self._try_answers.get(owner)

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
            staged = stage_model(source, source, limits=self.limits, display=label)  # folders are read where they are
        else:
            unpacked = self.workspace.new_folder("model")
            try:
                scope = self.scope(source.parent)  # a Keras file is exported by a worker that reads it
                staged = stage_model(source, unpacked, limits=self._unpack_limits(), display=label, scope=scope)
            except StudioError:
                shutil.rmtree(unpacked, ignore_errors=True)
                raise
            keep = (*keep, unpacked)
        digest = digest or content_digest(staged.path)
        if self.model is not None and self.model.digest == digest and self.model.label == label:
            if unpacked is not None:
                shutil.rmtree(unpacked, ignore_errors=True)
            return self.model
        handle = read_saved_model(staged.path, display=label, version=staged.version)
        with self._lock:
            if self.job is not None and self.job.running:
                self.job.cancel()  # its files stay until it stops; it hands over nothing
                keep = (*keep, self._job_folder)
            if self.batch is not None and self.batch.running:
                self.batch.cancel()  # a batch run belongs to the model it ran; it stops before its files go
                self.batch.wait(15)
            # Its files go with the workspace, so the run goes from the page too, even when
            # the same model comes back.
            self.batch = self.batch_info = None
            self._try_answers.clear()
            self.workspace.clear(keep=keep)
            previous = self.scope()
            self.model = LoadedModel(label=label, handle=handle, digest=digest)
            self.rewrite = None
            self.comparison = None
            self._packages.clear()
        if not previous.covers(*self.scope().readable):
            previous.close()  # its idle workers cannot read this model: they would only take memory and CPU
        # TensorFlow imports in a worker per loader while the user reads the model, so Apply
        # (which runs both loaders at once) and Try find them warm. A worker that ran a TF1
        # graph retires after its job, so for TF1 one more waits for Try while they are replaced.
        self.scope().prewarm(count=len(Loader) + (handle.format is ModelFormat.TF1))
        return self.model

    def _save_upload(self, filename: str, data: bytes, purpose: str) -> Path:
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
            upload = self._save_upload(filename, data, "compare-upload")
            label = Path(filename).name
            try:
                folder = self.workspace.new_folder("compare")
                source = stage_model(upload, folder, limits=self._unpack_limits(), display=label, scope=self.scope())
                handle = read_saved_model(source.path, display=label, version=source.version)
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

    def scope(self, *also: Path) -> Scope:
        """Where this session's model code runs: workers that read the session's folder (and,
        for a sample or server-path model, the allowed folder it lies in, and ``also``) and write
        only inside the session's folder.

        The whole allowed folder, not the model's own: the user may load any model in it, and
        workers then serve the next model of that folder warm instead of starting anew."""
        outside = [self._offered_folder(self.model.model_dir)] if self.model is not None else []
        workspace = self.workspace.path.resolve()
        readable = [workspace, *(path for path in [*outside, *also] if not path.resolve().is_relative_to(workspace))]
        return Scope.of(*readable, scratch_parent=workspace)

    def _offered_folder(self, model_dir: Path) -> Path:
        """The sample or allowed folder ``model_dir`` lies in (itself if none)."""
        resolved = model_dir.resolve()
        return next((root for root in [*self.roots, DEFAULT_ROOT] if resolved.is_relative_to(root.resolve())), model_dir)

    def model_runner(self, handle: ModelHandle, *, allow_unsafe_ops: bool = False, progress: Progress = SILENT) -> WorkerModel:
        """Runs signatures of ``handle`` (the loaded model, or its rewrite) in this session's workers.

        Raises:
            UnsafeModelError: the model uses unsafe ops and ``allow_unsafe_ops`` is off.
        """
        return WorkerModel(handle, self.scope(), allow_unsafe_ops=allow_unsafe_ops, progress=progress)

    # Applying ------------------------------------------------------------------------------

    def try_rows(self, model: LoadedModel, signature: str) -> dict[str, RealRows]:
        """The rows of Try's last answered JSON request to ``signature`` of ``model``, which
        Apply verifies with (none when Try refused it, or was not used)."""
        answer = self.try_answer((model.digest, signature, "json"))
        if answer is None or answer.error is not None:
            return {}
        try:
            rows = rows_from_request(answer.request, model.handle.info.signatures, "Try's last request")
        except StudioError:
            return {}
        return {name: batch for name, batch in rows.items() if name == signature}

    def _require_model(self) -> LoadedModel:
        if self.model is None:
            raise ModelSourceError("no model is loaded; choose a sample, upload a file or type a path first")
        return self.model

    def apply(self, request: RewriteRequest, progress: Progress = SILENT, *, allow_unsafe_ops: bool = False) -> AppliedRewrite:
        """Rewrite and verify the loaded model into the session's folder, in this thread.

        Raises:
            ModelSourceError: no model loaded. PlanError, VerificationError: as ``rewrite_model``.
        """
        model = self._require_model()
        self.workspace.require_space(folder_bytes(model.model_dir), "the rewrite")
        destination = self.workspace.new_folder("rewrite") / "model"
        result = rewrite_saved_model(
            model.handle, destination, request, allow_unsafe_ops=allow_unsafe_ops, progress=progress, scope=self.scope(),
            verify_rows=self.try_rows(model, request.signature),
        )  # fmt: skip
        return self._adopt(model, request, result)

    def start_apply(self, request: RewriteRequest, *, allow_unsafe_ops: bool = False) -> Job:
        """Rewrite and verify in a background job; the result becomes ``rewrite`` when it is done.

        Raises:
            ModelSourceError: no model loaded. StudioError: an Apply is running already.
        """
        model = self._require_model()
        with self._lock:
            if self.job is not None and self.job.running:
                raise StudioError("an Apply is running already; wait for it or cancel it first")
            self.workspace.require_space(folder_bytes(model.model_dir), "the rewrite")
            folder = self._job_folder = self.workspace.new_folder("rewrite")
            scope = self.scope()
            rows = self.try_rows(model, request.signature)

            def work(progress: Progress) -> RewriteResult:
                return rewrite_saved_model(
                    model.handle, folder / "model", request, allow_unsafe_ops=allow_unsafe_ops, progress=progress,
                    scope=scope, verify_rows=rows,
                )  # fmt: skip

            def finish(job: Job) -> None:
                with self._lock:
                    if job.state is JobState.DONE and self.model is model:
                        self._adopt(model, request, job.result)
                    else:  # failed, cancelled, or made for a model that is no longer loaded
                        shutil.rmtree(folder, ignore_errors=True)

            self.job = Job(f"apply to {model.label}", work, on_finish=finish)
            self.job_for = (model.digest, request)
            return self.job.start()

    def _adopt(self, model: LoadedModel, request: RewriteRequest, result: RewriteResult) -> AppliedRewrite:
        handle = read_saved_model(result.destination, display="rewritten", version=None)
        with self._lock:
            previous = self.rewrite
            self.rewrite = AppliedRewrite(model.digest, request, result, rewrite_digest(model.digest, request), handle)
            self._packages.clear()
            # Only the current rewrite and its archives are kept.
            if previous is not None and previous.model_dir.parent != result.destination.parent:
                shutil.rmtree(previous.model_dir.parent, ignore_errors=True)
            for folder in self.workspace.path.glob("download-*"):
                shutil.rmtree(folder, ignore_errors=True)
        return self.rewrite

    def job_matches(self, request: RewriteRequest) -> bool:
        """True when the last Apply job was started on the loaded model with exactly ``request``."""
        return self.model is not None and self.job_for == (self.model.digest, request)

    def rewrite_matches(self, request: RewriteRequest) -> bool:
        """True when the current rewrite was made from exactly ``request`` on the loaded model."""
        return (
            self.rewrite is not None
            and self.model is not None
            and self.rewrite.model_digest == self.model.digest
            and self.rewrite.request == request
        )

    # Batch runs ----------------------------------------------------------------------------

    def start_batch(
        self,
        handle: ModelHandle,
        digest: str,
        signature: str,
        filename: str,
        data: bytes,
        *,
        key_column: str | None = None,
        columns: dict[str, str] | None = None,
        allow_unsafe_ops: bool = False,
    ) -> Job:
        """Run every row of an uploaded file through ``signature`` of ``handle`` with Apache Beam
        (``python -m core predict`` in a child process), as a background job; only the last
        run's files are kept. ``columns`` (input → CSV column) feeds an input from a column
        named otherwise (a key column ``id`` for the input ``instance_id``).

        Raises:
            InputDataError: the file's name does not say CSV, JSON lines or TFRecord, or a CSV
                header lacks an input (said at once, naming the upload).
            StudioError: a batch run is running already. DiskAllowanceError: no room for it.
        """
        input_format = InputFormat.for_path(filename)
        if input_format is None:
            suffixes = ", ".join(f".{suffix}" for suffix in InputFormat.every_suffix())
            raise InputDataError(f"cannot tell the format of '{filename}'; upload a file ending in one of {suffixes}")
        if input_format is InputFormat.CSV:
            renames = {column: name for name, column in (columns or {}).items() if column and column != name}
            data = rename_csv_columns(data, renames)
            key_column = renames.get(key_column, key_column) if key_column else None
            reader = BlockReader.for_signature(handle, signature, input_format, key_column=key_column)
            reader.check_header(csv_header(data), filename)
        with self._lock:
            if self.batch is not None and self.batch.running:
                raise StudioError("a batch run is running already; wait for it or cancel it first")
            self.workspace.require_space(3 * len(data), "the batch run (its rows, results and errors)")
            for old in self.workspace.path.glob("batch-*"):
                shutil.rmtree(old, ignore_errors=True)
            folder = self.workspace.new_folder("batch")
            rows = folder / f"rows.{input_format.value}"  # the uploaded name never reaches the disk
            rows.write_bytes(data)

            def work(progress: Progress):
                return run_predict_process(
                    handle.path, rows, folder, signature=signature, key_column=key_column, input_format=input_format,
                    allow_unsafe_ops=allow_unsafe_ops, progress=progress, shown_as=filename,
                )  # fmt: skip

            self.batch_info = BatchInfo(
                digest, signature, key_column, count_rows(rows, input_format), folder / "progress", filename
            )
            self.batch = Job(f"batch run of {signature}", work)
            return self.batch.start()

    # Downloads -----------------------------------------------------------------------------

    def package(self, archive_format: str, version: int | None = None) -> Path:
        """The verified rewrite packed as ``zip`` or ``tar.gz`` (optionally in ``N/``); made once.

        Raises:
            OutputError: nothing applied yet, or an unknown format.
        """
        rewrite = self.rewrite
        if rewrite is None:
            raise OutputError("nothing to download yet: apply a rewrite first")
        if archive_format not in ARCHIVE_FORMATS:
            raise OutputError(f"unknown archive format '{archive_format}'; choose one of {list(ARCHIVE_FORMATS)}")
        key = (rewrite.digest, archive_format, version)
        if key not in self._packages or not self._packages[key].exists():
            # One archive at a time: the one asked for now replaces the one made before.
            for folder in self.workspace.path.glob("download-*"):
                shutil.rmtree(folder, ignore_errors=True)
            self._packages.clear()
            self.workspace.require_space(folder_bytes(rewrite.model_dir), "the archive")
            archive = self.workspace.new_folder("download") / f"{self.download_stem(rewrite)}.{archive_format}"
            package_model(rewrite.model_dir, archive, version=version)
            self._packages[key] = archive
        return self._packages[key]

    def model_stem(self) -> str:
        """A file-name stem from the loaded model's label (``house_price.tar.gz`` → ``house_price``)."""
        label = self.model.label if self.model else "model"
        return source_stem(label.split(" ")[0])

    def download_stem(self, rewrite: AppliedRewrite) -> str:
        """What a rewrite's archive is: model, signature, key, and a short id of the rewrite.

        ``house_price_serving_default_key-instance_key_3f9a1c``
        """
        plan = rewrite.result.plan
        key = f"_key-{plan.key}" if plan.key else ""
        return f"{self.model_stem()}_{plan.result_name}{key}_{rewrite.digest[:6]}"

    def close(self) -> None:
        """Cancel a running job, end the session's idle workers and remove the session's folder."""
        for job in (self.job, self.batch):
            if job is not None and job.running:
                job.cancel()
        if self.batch is not None:
            self.batch.wait(15)  # its child process ends before its folder goes
        self.scope().close()  # warm workers write only in this folder: nothing else can use them
        self.workspace.close()
