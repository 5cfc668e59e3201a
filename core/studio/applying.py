"""Applying a rewrite in a Studio session: a background job that rewrites and verifies the
loaded model into the session's folder (with the rows of Try's last request where there are
some), and the verified result it hands over. ``RewriteApplying`` is that part of ``StudioSession``.

Example:
    >>> rewrite_digest("abc", RewriteRequest(key="k")) == rewrite_digest("abc", RewriteRequest(key="k"))
    True
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.errors import ModelSourceError, StudioError
from core.progress import Progress
from core.rewrite.plan import RewritePlan
from core.rewrite.request import RewriteRequest
from core.rewrite.warmup_file import WarmupRows, result_warmup
from core.savedmodel.handle import ModelHandle, read_saved_model
from core.serve.verification_rows import RealRows, rows_from_request
from core.studio.jobs import Job, JobState
from core.studio.loading import LoadedModel
from core.studio.running import TryWay
from core.studio.workspace import Purpose, Workspace, folder_bytes
from core.workflows import RewriteResult, rewrite_saved_model


class ModelVersion(StrEnum):
    """Which model a page shows: the loaded one, or the rewrite applied to it."""

    ORIGINAL = "Original"
    REWRITTEN = "Rewritten"


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
    warmup: bool = False  # TF Serving warmup requests were written from Try's last request

    @property
    def model_dir(self) -> Path:
        return self.result.destination


def rewrite_digest(model_digest: str, request: RewriteRequest, *, warmup: bool = False) -> str:
    """What identifies a rewrite: the model's content, everything the request asks, and
    whether Try's request was written as warmup."""
    return hashlib.sha256(f"{model_digest}:{request!r}{':warmup' if warmup else ''}".encode()).hexdigest()


class RewriteApplying:
    """Applying rewrites in a ``StudioSession`` (which holds the state these methods use)."""

    workspace: Workspace
    model: LoadedModel | None
    rewrite: AppliedRewrite | None
    job: Job | None
    job_for: tuple[str, RewriteRequest, bool] | None
    _packages: dict
    _job_folder: Path | None
    _lock: threading.RLock

    def try_rows(self, model: LoadedModel, signature: str) -> dict[str, RealRows]:
        """The rows of Try's last answered JSON request to ``signature`` of ``model``, which
        Apply verifies with (none when Try refused it, or was not used)."""
        answer = self.try_answer((model.digest, signature, TryWay.JSON))
        if answer is None or answer.error is not None:
            return {}
        try:
            rows = rows_from_request(answer.request, model.handle.info.signatures, "Try's last request")
        except StudioError:
            return {}
        return {name: batch for name, batch in rows.items() if name == signature}

    def _warmup_rows(self, model: LoadedModel, request: RewriteRequest, *, warmup: bool) -> WarmupRows | None:
        """Try's last request to the base signature as the result's new warmup request (``warmup``).

        Raises:
            StudioError: ``warmup`` without a request Try answered.
        """
        if not warmup:
            return None
        rows = self.try_rows(model, request.signature)
        if not rows:
            raise StudioError("no request to write as warmup: run one on the Try page (JSON request) first")
        return WarmupRows((rows[request.signature].feeds,), "Try's last request")

    def warmup_notes(self, plan: RewritePlan, *, warmup: bool = False) -> tuple[str, ...]:
        """What Apply would do to the loaded model's own TF Serving warmup requests (the Edit
        page's preview); none for a model without a warmup file or a refusal Apply reports."""
        model = self._require_model()
        if not model.handle.info.warmup:
            return ()
        try:
            carried = result_warmup(model.handle.path, plan, self._warmup_rows(model, plan.request, warmup=warmup))
        except StudioError:  # Apply says it, with the whole plan
            return ()
        return carried.notes if carried is not None else ()

    def _require_model(self) -> LoadedModel:
        if self.model is None:
            raise ModelSourceError("no model is loaded; choose a sample, upload a file or type a path first")
        return self.model

    def start_apply(self, request: RewriteRequest, *, allow_unsafe_ops: bool = False, warmup: bool = False) -> Job:
        """Rewrite and verify in a background job; the result becomes ``rewrite`` when it is done.
        ``warmup``: write Try's last request to the base signature as the result's TF Serving
        warmup request.

        Raises:
            ModelSourceError: no model loaded. StudioError: an Apply is running already, or
                ``warmup`` without a request Try answered.
        """
        model = self._require_model()
        rows = self.try_rows(model, request.signature)
        warmup_rows = self._warmup_rows(model, request, warmup=warmup)
        with self._lock:
            if self.job is not None and self.job.running:
                raise StudioError("an Apply is running already; wait for it or cancel it first")
            self.workspace.require_space(folder_bytes(model.model_dir), "the rewrite")
            folder = self._job_folder = self.workspace.new_folder(Purpose.REWRITE)
            scope = self.scope()

            def work(progress: Progress) -> RewriteResult:
                return rewrite_saved_model(
                    model.handle, folder / "model", request, allow_unsafe_ops=allow_unsafe_ops, progress=progress,
                    scope=scope, verify_rows=rows, warmup=warmup_rows,
                )  # fmt: skip

            def finish(job: Job) -> None:
                with self._lock:
                    if job.state is JobState.DONE and self.model is model:
                        self._adopt(model, request, job.result, warmup=warmup)
                    else:  # failed, cancelled, or made for a model that is no longer loaded
                        shutil.rmtree(folder, ignore_errors=True)

            self.job = Job(f"apply to {model.label}", work, on_finish=finish)
            self.job_for = (model.digest, request, warmup)
            return self.job.start()

    def _adopt(self, model: LoadedModel, request: RewriteRequest, result: RewriteResult, *, warmup: bool) -> AppliedRewrite:
        handle = read_saved_model(result.destination, display="rewritten", version=None)
        digest = rewrite_digest(model.digest, request, warmup=warmup)
        with self._lock:
            previous = self.rewrite
            self.rewrite = AppliedRewrite(model.digest, request, result, digest, handle, warmup)
            self._packages.clear()
            # Only the current rewrite and its archives are kept.
            if previous is not None and previous.model_dir.parent != result.destination.parent:
                shutil.rmtree(previous.model_dir.parent, ignore_errors=True)
            self.workspace.remove_folders(Purpose.DOWNLOAD)
        return self.rewrite

    def job_matches(self, request: RewriteRequest, *, warmup: bool = False) -> bool:
        """True when the last Apply job was started on the loaded model with exactly ``request``."""
        return self.model is not None and self.job_for == (self.model.digest, request, warmup)

    def rewrite_matches(self, request: RewriteRequest, *, warmup: bool = False) -> bool:
        """True when the current rewrite was made from exactly ``request`` (and ``warmup``) on the loaded model."""
        return (
            self.rewrite is not None
            and self.model is not None
            and self.rewrite.model_digest == self.model.digest
            and self.rewrite.request == request
            and self.rewrite.warmup == warmup
        )
