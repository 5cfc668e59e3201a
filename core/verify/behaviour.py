"""Behaviour checks: run the source and the result through both loaders on one synthetic
batch and compare: outputs bit-identical, key echoed, forwarded inputs equal to what was fed.

Example:
    >>> import numpy as np
    >>> identical(np.float32([1.0, np.nan]), np.float32([1.0, np.nan])), identical(np.float32([0.0]), np.float32([-0.0]))
    (True, False)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.execution.loaders import Loader, ModelRuns, RunResult
from core.execution.pool import Scope
from core.progress import SILENT, Progress
from core.rewrite.plan import OutputKind, RewritePlan
from core.savedmodel.handle import ModelHandle
from core.savedmodel.proto import ModelFormat
from core.verify.report import Check, CheckStatus
from core.verify.synthetic import DEFAULT_BATCH_SIZE, SyntheticBatch, key_values, synthesize_batch


def identical(a: Any, b: Any) -> bool:
    """True when two arrays have the same dtype, shape and bytes (NaN-safe, bit for bit)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return a.tolist() == b.tolist()
    return a.tobytes() == b.tobytes()


@dataclass(frozen=True)
class _Comparison:
    """One behaviour check: run ``original`` on the source and ``final`` on the output."""

    final: str
    original: str
    batch: SyntheticBatch
    is_result: bool


def _compare(comparison: _Comparison, before: RunResult, after: RunResult, plan: RewritePlan, loader: Loader) -> list[Check]:
    def check(name: str, status: CheckStatus, detail: str = "") -> Check:
        return Check(name, loader.value, status, detail)

    title = f"'{comparison.final}' outputs bit-identical to original '{comparison.original}'"
    guesses = comparison.batch.guesses
    if comparison.batch.feeds is None:
        return [check(title, CheckStatus.NOT_VERIFIED, comparison.batch.reason or "")]
    if before.outputs is None:
        guessed = f" ({'; '.join(guesses)})" if guesses else ""
        reason = f"the original signature rejected the synthetic batch{guessed}: {before.error}"
        if not before.loaded:
            reason = f"the original model does not load with this loader (it does with the other): {before.error}"
        return [check(title, CheckStatus.NOT_VERIFIED, reason)]
    if after.outputs is None:
        failed = (
            "the rewritten model failed to load where the original loaded"
            if not after.loaded
            else "the rewritten signature failed where the original ran"
        )
        return [check(title, CheckStatus.FAILED, f"{failed}: {after.error}")]
    if not comparison.is_result:
        differing = sorted(
            name
            for name in before.outputs
            if name not in after.outputs or not identical(before.outputs[name], after.outputs[name])
        )
        status = CheckStatus.FAILED if differing or set(after.outputs) != set(before.outputs) else CheckStatus.PASSED
        detail = f"differing: {differing}" if differing else "; ".join([f"{len(before.outputs)} output(s)", *guesses])
        return [check(title, status, detail)]

    checks = []
    feeds = comparison.batch.feeds
    differing = []
    for name, source in plan.output_sources.items():
        got = after.outputs.get(name)
        if source.kind is OutputKind.OUTPUT:
            if got is None or not identical(before.outputs[source.name], got):
                differing.append(name)
            continue
        want = feeds[source.name]
        label = f"key '{name}' echoed" if source.kind is OutputKind.KEY else f"input '{source.name}' forwarded as '{name}'"
        passed = got is not None and identical(want, got)
        checks.append(check(f"'{comparison.final}': {label}", CheckStatus.PASSED if passed else CheckStatus.FAILED))
    detail = f"differing: {differing}" if differing else "; ".join(guesses)
    checks.insert(0, check(title, CheckStatus.FAILED if differing else CheckStatus.PASSED, detail))
    if plan.key is not None or plan.request.forwards:
        # A key only identifies rows if every output has one row per row of the batch; shapes
        # of unknown rank cannot promise it, so the run shows it.
        rows = len(next(iter(feeds.values())))
        misaligned = sorted(name for name, value in after.outputs.items() if np.ndim(value) == 0 or np.shape(value)[0] != rows)
        status = CheckStatus.FAILED if misaligned else CheckStatus.PASSED
        detail = f"not {rows} rows: {misaligned}" if misaligned else f"{rows} rows"
        checks.append(check(f"'{comparison.final}': every output has one row per row of the batch", status, detail))
    return checks


def _comparisons(source: ModelHandle, plan: RewritePlan) -> list[_Comparison]:
    info = source.info
    batches = {name: synthesize_batch(info.signatures[name], source.example_spec) for name in info.public_signatures}
    base_batch = batches[plan.base.name]
    result_batch = base_batch
    if base_batch.feeds is not None and plan.key is not None:
        rows = next(iter(base_batch.feeds.values())).shape[0] if base_batch.feeds else DEFAULT_BATCH_SIZE
        feeds = {**base_batch.feeds, plan.key: key_values(plan.request.key_dtype.value, rows)}
        result_batch = SyntheticBatch(feeds, guesses=base_batch.guesses)
    comparisons = [_Comparison(plan.result_name, plan.base.name, result_batch, is_result=True)]
    comparisons += [
        _Comparison(final, original, batches[original], is_result=False) for final, original in plan.kept_signatures.items()
    ]
    return comparisons


def _run_in_worker(scope: Scope, loader: Loader, jobs: list[ModelRuns], *, dirty: bool, progress: Progress) -> list[dict]:
    plain = [{"model_dir": str(job.model_dir.resolve()), "runs": job.runs, "tags": job.tags} for job in jobs]
    answers = scope.call("run_models", loader=loader.value, jobs=plain, dirty=dirty, progress=progress)
    return [
        {label: RunResult(answer["outputs"], answer["error"], answer["loaded"]) for label, answer in results.items()}
        for results in answers
    ]


def _load_error(results: dict[str, RunResult]) -> str | None:
    """Why the model of these runs could not be loaded, or None if it was (or nothing ran)."""
    return next((result.error for result in results.values() if not result.loaded), None)


def behaviour_checks(
    source: ModelHandle, output: ModelHandle, plan: RewritePlan, *, progress: Progress = SILENT, scope: Scope | None = None
) -> list[Check]:
    """Run source and result through each loader on the same batches and compare them.

    The models run in workers of ``scope`` (default: workers that read the two models), one
    per loader, side by side; each worker loads each model once."""
    comparisons = _comparisons(source, plan)
    runnable = [c for c in comparisons if c.batch.feeds is not None]
    signatures = source.info.signatures
    # The original gets the same batch less the key, which only the result takes.
    original_runs = {
        c.final: (c.original, {k: v for k, v in c.batch.feeds.items() if k in signatures[c.original].inputs}) for c in runnable
    }
    output_runs = {c.final: (c.final, c.batch.feeds) for c in runnable}
    missing = RunResult(None, "not run")
    scope = scope or Scope.of(source.path, output.path, scratch_parent=output.path.parent)
    jobs = [ModelRuns(source.path, original_runs, source.serving_tags), ModelRuns(output.path, output_runs, output.serving_tags)]
    progress.step("verifying: original and result side by side, through both loaders")
    with ThreadPoolExecutor(max_workers=len(Loader)) as threads:
        # Each loader in its own worker; a TF1 model loaded by tf.saved_model.load keeps its ref
        # variables until the process exits, so that worker is retired after the job.
        running = {
            loader: threads.submit(
                _run_in_worker,
                scope,
                loader,
                jobs,
                dirty=loader is Loader.OBJECT and source.format is ModelFormat.TF1,
                progress=progress,
            )
            for loader in Loader
        }
        results = {loader: future.result() for loader, future in running.items()}
    unloadable = {loader: _load_error(results[loader][0]) for loader in Loader}
    if runnable and all(unloadable.values()):
        # Nothing can be proven of a model no loader loads, and its copy would not load either.
        return [Check("the original model loads", loader.value, CheckStatus.FAILED, unloadable[loader]) for loader in Loader]
    checks = []
    for loader in Loader:
        before, after = results[loader]
        for comparison in comparisons:
            checks += _compare(
                comparison, before.get(comparison.final, missing), after.get(comparison.final, missing), plan, loader
            )
    return checks
