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

import threading
from pathlib import Path

from core.execution.loader_kind import Loader
from core.execution.pool import Scope
from core.rewrite.request import RewriteRequest
from core.savedmodel.proto import ModelFormat
from core.sources.archive import ArchiveLimits
from core.studio.applying import AppliedRewrite, RewriteApplying
from core.studio.downloads import ArchiveFormat, RewriteDownloads
from core.studio.edit_form import ForwardChoices
from core.studio.jobs import Job
from core.studio.loading import DEFAULT_ROOT, LoadedModel, ModelLoading, PickerSource
from core.studio.running import BatchInfo, ModelRunning, TryAnswer
from core.studio.workspace import Workspace, allowed_roots


class StudioSession(ModelLoading, RewriteApplying, ModelRunning, RewriteDownloads):
    """The state of one UI session; every method raises ``StudioError`` subclasses on bad input.

    Each concern is its own part: ``ModelLoading`` (``loading``), ``RewriteApplying``
    (``applying``), ``ModelRunning`` (``running``: Try and batch runs), ``RewriteDownloads``
    (``downloads``). This class holds their state and the rule that ties them together:
    everything belongs to the loaded model (``_replace_model``).

    Methods are called from the page's script thread; an Apply job's thread only hands its
    result over through its ``on_finish``, under the session's lock.
    """

    def __init__(self, *, roots: list[Path] | None = None, work_parent: Path | None = None) -> None:
        self.roots = roots if roots is not None else allowed_roots()
        self.limits = ArchiveLimits.from_environment()
        self.workspace = Workspace(work_parent)
        self.model: LoadedModel | None = None
        self.rewrite: AppliedRewrite | None = None
        self.comparison: LoadedModel | None = None
        self.job: Job | None = None
        self.job_for: tuple[str, RewriteRequest, bool] | None = None  # (model digest, request, warmup) of ``job``
        self.forwards = ForwardChoices()
        # The Edit page's last choices per model (content digest), so leaving the page or
        # reloading it brings them back.
        self.drafts: dict[str, RewriteRequest] = {}
        self.refusals: dict[str, str] = {}
        # What the model picker last loaded (source, choice), so a reloaded page shows it again.
        self.picked: tuple[PickerSource, str] | None = None
        self.batch: Job | None = None
        self.batch_info: BatchInfo | None = None
        self._try_answers: dict[tuple[str, ...], TryAnswer] = {}
        self._packages: dict[tuple[str, ArchiveFormat, int | None], Path] = {}
        self._job_folder: Path | None = None
        self._lock = threading.RLock()

    def _replace_model(self, model: LoadedModel, keep: tuple[Path, ...]) -> None:
        """Make ``model`` the loaded one; everything of the previous model goes."""
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
            self.model = model
            self.rewrite = None
            self.comparison = None
            self._packages.clear()
        if not previous.covers(*self.scope().readable):
            previous.close()  # its idle workers cannot read this model: they would only take memory and CPU
        # TensorFlow imports in a worker per loader while the user reads the model, so Apply
        # (which runs both loaders at once) and Try find them warm. A worker that ran a TF1
        # graph retires after its job, so for TF1 one more waits for Try while they are replaced.
        self.scope().prewarm(count=len(Loader) + (model.handle.format is ModelFormat.TF1))

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

    def close(self) -> None:
        """Cancel a running job, end the session's idle workers and remove the session's folder."""
        for job in (self.job, self.batch):
            if job is not None and job.running:
                job.cancel()
        if self.batch is not None:
            self.batch.wait(15)  # its child process ends before its folder goes
        self.scope().close()  # warm workers write only in this folder: nothing else can use them
        self.workspace.close()
