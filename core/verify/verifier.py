"""Prove that a rewritten model lost nothing, by reading it and running it fresh.

``verify_rewrite`` gathers the structure checks (``saved_model.pb`` and files) and the
behaviour checks (both loaders, one synthetic batch). A check that cannot be made says
"not verified" and why; none passes silently.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from core.rewrite.apply import apply_rewrite
    >>> from core.rewrite.plan import plan_rewrite
    >>> from core.rewrite.request import RewriteRequest
    >>> from core.savedmodel.handle import read_saved_model
    >>> source = read_saved_model(Path("sample_models/house_price"))
    >>> plan = plan_rewrite(source.info, RewriteRequest(key="k"))
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     _ = apply_rewrite(source, plan, Path(scratch, "out"))
    ...     verify_rewrite(source, read_saved_model(Path(scratch, "out")), plan).summary
    '15 passed, 0 failed, 0 not verified'
"""

from __future__ import annotations

from core.execution.pool import Scope
from core.progress import SILENT, Progress
from core.rewrite.plan import RewritePlan
from core.rewrite.warmup_file import ResultWarmup
from core.savedmodel.handle import ModelHandle
from core.verify.behaviour import BehaviourRuns
from core.verify.report import VerificationReport
from core.verify.structure import structure_checks
from core.verify.synthetic import SyntheticBatch


def verify_rewrite(
    source: ModelHandle,
    output: ModelHandle,
    plan: RewritePlan,
    *,
    progress: Progress = SILENT,
    scope: Scope | None = None,
    variables_copied: bool = True,
    started: BehaviourRuns | None = None,
    provided: dict[str, SyntheticBatch] | None = None,
    warmup: ResultWarmup | None = None,
) -> VerificationReport:
    """Check ``output`` against ``source`` and ``plan``; returns every check made.
    ``variables_copied``: the engine copied the variable files, which must then be byte-identical.
    ``started``: behaviour runs begun while the engine wrote ``output`` (by default they start
    here); either way the workers run while the structure checks are made. ``provided``: real
    rows by signature, fed instead of synthetic batches. ``warmup``: the warmup file the result
    holds, read back and run request by request.

    Nothing is raised for a failed check: the caller decides (``report.ok``).

    Raises:
        CancelledError: ``progress`` says the user cancelled.
    """
    scope = scope or Scope.of(source.path, output.path, scratch_parent=output.path.parent)
    runs = started or BehaviourRuns(source, plan, scope=scope, progress=progress, provided=provided, warmup=warmup)
    runs.output_written(output)
    try:
        progress.step("verifying: saved_model.pb, assets and variables")
        rewritten = warmup is not None and warmup.rewritten
        checks = structure_checks(source, output, plan, variables_copied=variables_copied, warmup_rewritten=rewritten)
        progress.step("verifying: original and result side by side, through both loaders")
    except BaseException:
        runs.abandon()
        raise
    return VerificationReport(tuple(checks + runs.finish(output)))
