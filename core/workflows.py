"""The three things a user does, end to end: inspect, rewrite and diff.

This file shows the whole rewrite path: check the destination → open the source → read it
once → plan → apply (TF1 graph or TF2 object-graph engine, both editing protos) → verify with both loaders →
publish. The CLI and the UI call these functions and only render what they return.

Example:
    >>> import tempfile
    >>> from core.rewrite.request import RewriteRequest
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     result = rewrite_model("sample_models/house_price", f"{scratch}/out", RewriteRequest(key="id"))
    >>> result.report.ok, result.plan.final_signatures
    (True, ['serve', 'serving_default'])
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import PlanError, RunLimitError, VerificationError
from core.execution.loader_kind import Loader
from core.execution.pool import Scope
from core.progress import SILENT, Progress
from core.rewrite.apply import Engine, apply_rewrite, choose_engine
from core.rewrite.plan import RewritePlan, plan_rewrite
from core.rewrite.publish import Staging, check_destination, publish
from core.rewrite.raw_features import base_hints
from core.rewrite.request import DEFAULT_SIGNATURE, RewriteRequest
from core.rewrite.warmup_file import WarmupRows, one_row_each, result_warmup, rows_in, write_warmup_records
from core.savedmodel.contract import (
    ContractChange,
    changes_json,
    contract_changes,
    contract_verdict,
    read_serving_metadata,
)
from core.savedmodel.diff import SignatureDiff, diff_signatures
from core.savedmodel.examples import ExampleSpec
from core.savedmodel.handle import ModelHandle, read_saved_model
from core.savedmodel.info import ModelInfo, require_complete, require_signature, unknown_signature_text
from core.savedmodel.ops import require_consent
from core.savedmodel.warmup import MAX_WARMUP_RECORDS, read_warmup_requests
from core.serve.verification_rows import RealRows, read_rows_file, rows_from_warmup
from core.sources.archive import DEFAULT_LIMITS, ArchiveLimits
from core.sources.stage import open_saved_model
from core.verify.behaviour import BehaviourRuns
from core.verify.report import VerificationReport
from core.verify.synthetic import provided_batch, synthesize_batch
from core.verify.verifier import verify_rewrite


@dataclass(frozen=True)
class RewriteResult:
    """What a rewrite wrote and how it was checked (``report`` is None with verify off)."""

    destination: Path
    plan: RewritePlan
    engine: Engine
    source_info: ModelInfo
    output_info: ModelInfo
    report: VerificationReport | None
    engine_note: str | None = None
    warmup_notes: tuple[str, ...] = ()

    @property
    def notes(self) -> tuple[str, ...]:
        """The plan's notes, what became of the model's warmup requests, and which engine ran
        and why when it was the fallback."""
        return self.plan.notes + self.warmup_notes + ((self.engine_note,) if self.engine_note else ())

    def to_json(self) -> dict[str, Any]:
        """The ``rewrite --json`` object."""
        return {
            "source": {"path": self.source_info.path, "version": self.source_info.version},
            "destination": str(self.destination),
            "signature": {self.plan.result_name: self.plan.result.to_json()},
            "signatures": self.plan.final_signatures,
            "dropped": list(self.plan.dropped),
            "dropped_optimizer_state": [
                {"path": o.path, "identifier": o.identifier, "slot_variables": o.slot_variables, "variables": o.variables}
                for o in self.plan.dropped_optimizers
            ],
            "notes": list(self.notes),
            "engine": self.engine.value,
            "verification": self.report.to_json() if self.report else None,
        }


def inspect_model(source: Path | str, *, limits: ArchiveLimits = DEFAULT_LIMITS, allow_unsafe_code: bool = False) -> ModelInfo:
    """Describe the model behind any supported source (folder, version base, archive, Keras file).

    Raises:
        ModelSourceError: the source cannot be read as exactly one SavedModel.
        UnsafeModelError: a Keras file with code in it, and ``allow_unsafe_code`` is off.
    """
    with open_saved_model(source, limits=limits, allow_unsafe_code=allow_unsafe_code) as model:
        return model.info


def rewrite_saved_model(
    source: ModelHandle,
    destination: Path,
    request: RewriteRequest,
    *,
    version: int | None = None,
    verify: bool = True,
    allow_unsafe_ops: bool = False,
    progress: Progress = SILENT,
    staging: Staging | None = None,
    scope: Scope | None = None,
    verify_rows: dict[str, RealRows] | None = None,
    warmup: WarmupRows | None = None,
) -> RewriteResult:
    """Plan, apply, verify and publish a rewrite of the already-read model ``source``.

    Verification feeds real rows where there are some: ``verify_rows`` (by signature), else
    the model's TF Serving warmup requests, else a synthetic batch; the report says which.
    ``warmup``: base-signature rows written as the result's warmup requests (in place of the
    records that warmed it). The model's own warmup records are carried over to fit the result
    (``result_warmup``); verification reads the result's file back and runs every request.

    The destination must have been checked (``check_destination``). The result is built in a
    staging folder beside the destination and only moved (or packed) into place once verified;
    on any failure nothing is left behind. Model code runs in workers of ``scope`` (default:
    workers that read the source and the staging folder, started as soon as it exists, so they
    import TensorFlow while the engine and the structure checks run).

    Raises:
        ModelSourceError: the model's checkpoint is missing (``require_complete``).
        UnsafeModelError: the model uses unsafe ops and ``allow_unsafe_ops`` is off.
        PlanError: the request does not fit the model.
        VerificationError: the result failed verification; nothing was written.
    """
    require_complete(source.info)
    require_consent(source.info, allow_unsafe_ops=allow_unsafe_ops)
    plan = plan_rewrite(source.info, request, new_warmup=warmup is not None)
    choice = choose_engine(source, plan)
    real = rows_from_warmup(read_warmup_requests(source.path, display=source.display), source.info.signatures)
    warmup_file = result_warmup(source.path, plan, warmup)
    real.update(verify_rows or {})
    provided = {signature: provided_batch(rows.feeds, rows.origin) for signature, rows in real.items()}
    with staging or Staging(destination) as staging_dir, contextlib.ExitStack() as cleanup:
        if scope is None:
            scope = Scope.of(source.path, staging_dir, scratch_parent=staging_dir)
            # Its workers write in the staging folder: they end before it goes (a replacement
            # for a worker stopped on failure would otherwise write into it while it is removed).
            cleanup.callback(scope.close)
            scope.prewarm(count=(len(Loader) if verify else 0) + choice.engine.runs_the_model)
        output_dir = staging_dir / "model"
        # The workers load and run the source while a proto engine writes the result (the
        # load/save engine needs a worker of its own first, so it cannot wait on them).
        early = verify and not choice.engine.runs_the_model
        started = (
            BehaviourRuns(source, plan, scope=scope, progress=progress, provided=provided, warmup=warmup_file) if early else None
        )
        try:
            progress.step(f"rewriting ({choice.engine.value})")
            apply_rewrite(source, plan, output_dir, choice=choice, scope=scope, progress=progress)
            if warmup_file is not None and warmup_file.rewritten:
                origin = f", {len(warmup.requests)} new from {warmup.origin}" if warmup is not None else ""
                progress.step(f"writing {len(warmup_file.records)} warmup request(s){origin}")
                write_warmup_records(output_dir, warmup_file.records)
            output = read_saved_model(output_dir, display=str(destination), version=version)
        except BaseException:
            if started is not None:
                started.abandon()
            raise
        report = None
        if verify:
            try:
                report = verify_rewrite(
                    source,
                    output,
                    plan,
                    progress=progress,
                    scope=scope,
                    variables_copied=not choice.engine.runs_the_model,
                    started=started,
                    provided=provided,
                    warmup=warmup_file,
                )
            except RunLimitError as err:  # the model, not the rewrite, broke a limit: nothing is proven
                raise VerificationError(f"verification stopped: {err}") from err
            if not report.ok:
                failed = "; ".join(f"{c.name} [{c.loader}]: {c.detail}" for c in report.failed)
                raise VerificationError(f"verification failed, nothing was written: {failed}", report)
        progress.step("writing the output")
        published = publish(output_dir, destination, version=version)
    warmup_notes = warmup_file.notes if warmup_file is not None else ()
    return RewriteResult(published, plan, choice.engine, source.info, output.info, report, choice.note, warmup_notes)


def rewrite_model(
    source: Path | str,
    destination: Path | str,
    request: RewriteRequest,
    *,
    version: int | None = None,
    overwrite: bool = False,
    verify: bool = True,
    allow_unsafe_ops: bool = False,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    progress: Progress = SILENT,
    staging: Staging | None = None,
    scope: Scope | None = None,
    work_dir: Path | None = None,
    verify_with: Path | None = None,
    warmup_count: int = 0,
    warmup_from: Path | None = None,
) -> RewriteResult:
    """Rewrite the model at ``source`` as ``request`` asks and write it to ``destination``.

    ``staging``, ``scope`` and ``work_dir`` (where archives are unpacked) may be made ready
    beforehand, so that workers start before this process imports TensorFlow (the CLI does).
    ``verify_with``: a file of real rows for the base signature (``read_rows_file``), which
    verification feeds instead of a synthetic batch. ``warmup_count`` / ``warmup_from``: write
    TF Serving warmup requests into the result (``warmup_rows``).

    The destination is checked and the plan validated before any work. The rewritten model
    is built in a staging folder beside the destination, verified with both loaders, and
    only then moved (or packed) into place; on any failure nothing is left behind.

    Raises:
        ModelSourceError, UnsafeModelError, PlanError, OutputError: bad input, before anything is written.
        VerificationError: the rewritten model failed verification; nothing was written.
    """
    destination = Path(destination)
    check_destination(destination, version=version, overwrite=overwrite, source=Path(source))
    progress.step("reading the model")
    with open_saved_model(source, limits=limits, work_dir=work_dir, allow_unsafe_code=allow_unsafe_ops, scope=scope) as handle:
        rows = None
        if verify_with is not None:
            require_signature(handle.info, request.signature)
            rows = read_rows_file(Path(verify_with), handle.info.signatures, request.signature)
        warmup = warmup_rows(handle, request, count=warmup_count, rows_file=warmup_from)
        return rewrite_saved_model(
            handle,
            destination,
            request,
            version=version,
            verify=verify,
            allow_unsafe_ops=allow_unsafe_ops,
            progress=progress,
            staging=staging,
            scope=scope,
            verify_rows=rows,
            warmup=warmup,
        )


def warmup_rows(
    handle: ModelHandle, request: RewriteRequest, *, count: int = 0, rows_file: Path | None = None
) -> WarmupRows | None:
    """The warmup requests to write, as rows of the base signature: ``count`` one-row requests
    synthesized as verification synthesizes them, or the rows of ``rows_file`` (a TF Serving
    REST request is one request; each line of JSON lines and each CSV row is one). None: none asked.

    Raises:
        PlanError: both asked, a count outside 1 to 1000, or rows that cannot be synthesized.
        InputDataError: the file cannot be read as rows of the base signature.
    """
    if not count and rows_file is None:
        return None
    if count and rows_file is not None:
        raise PlanError("give --warmup N or --warmup-from FILE, not both")
    plan = plan_rewrite(handle.info, request, new_warmup=True)
    base = plan.base
    if rows_file is not None:
        signatures = {**handle.info.signatures, base.name: base}
        feeds = read_rows_file(Path(rows_file), signatures, base.name, flag="--warmup-from")[base.name].feeds
        each = Path(rows_file).suffix.lower() in (".jsonl", ".csv")
        return WarmupRows(one_row_each(feeds, rows_in(feeds)) if each else (feeds,), Path(rows_file).name)
    if not 1 <= count <= MAX_WARMUP_RECORDS:
        raise PlanError(
            f"--warmup takes a number of requests from 1 to {MAX_WARMUP_RECORDS} (TF Serving replays no more); received {count}"
        )
    spec = ExampleSpec() if plan.example_parse else handle.example_spec  # raw features are values, not Examples
    batch = synthesize_batch(base, spec, hints=base_hints(plan.example_parse, handle.input_hints))
    if batch.feeds is None:
        raise PlanError(
            f"cannot synthesize warmup rows for '{base.name}': {batch.reason}; give real ones with --warmup-from FILE"
        )
    return WarmupRows(one_row_each(batch.feeds, count), f"{count} synthesized row(s)")


@dataclass(frozen=True)
class ServedDiff:
    """A model's signature against the one a TF Serving deployment serves (its metadata JSON):
    the diff from the served signature to the model's, and what each change does to clients."""

    diff: SignatureDiff
    changes: list[ContractChange]

    @property
    def verdict(self) -> str:
        return contract_verdict(self.changes)

    def to_json(self) -> dict[str, Any]:
        return {**self.diff.to_json(), "verdict": self.verdict, "contract": changes_json(self.changes)}


def diff_against_served(
    model: ModelInfo, metadata_text: str, *, display: str, signature: str = DEFAULT_SIGNATURE, served_signature: str | None = None
) -> ServedDiff:
    """Diff ``signature`` of ``model`` against ``served_signature`` (default: the same name) of
    the deployment whose TF Serving metadata JSON is ``metadata_text``.

    Raises:
        InputDataError: the text is not TF Serving's metadata.
        PlanError: a signature name that one of them does not have, with the valid names.
    """
    served = read_serving_metadata(metadata_text, display)
    name = served_signature or signature
    if name not in served:
        raise PlanError(f"{display}: {unknown_signature_text(name, list(served))}")
    diff = diff_signatures(served[name], require_signature(model, signature))
    return ServedDiff(diff, contract_changes(diff))


def diff_models(
    source_a: Path | str,
    source_b: Path | str,
    *,
    signature_a: str = DEFAULT_SIGNATURE,
    signature_b: str | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    allow_unsafe_code: bool = False,
) -> SignatureDiff:
    """Diff ``signature_a`` of model A against ``signature_b`` (default: the same name) of model B.

    Raises:
        PlanError: a signature name that the model does not have, with the valid names.
    """
    info_a = inspect_model(source_a, limits=limits, allow_unsafe_code=allow_unsafe_code)
    same = str(source_b) == str(source_a)
    info_b = info_a if same else inspect_model(source_b, limits=limits, allow_unsafe_code=allow_unsafe_code)
    return diff_signatures(require_signature(info_a, signature_a), require_signature(info_b, signature_b or signature_a))
