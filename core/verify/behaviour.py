"""Behaviour checks: run the source and the result through both loaders on one synthetic
batch and compare: outputs bit-identical, key echoed, forwarded inputs equal to what was fed.
The source can start running before the result exists (``BehaviourRuns``).

Example:
    >>> import numpy as np
    >>> identical(np.float32([1.0, np.nan]), np.float32([1.0, np.nan])), identical(np.float32([0.0]), np.float32([-0.0]))
    (True, False)
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import CancelledError
from core.execution.loaders import Loader, RunResult
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


SOURCE, OUTPUT = "source", "output"


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


def _load_error(results: dict[str, RunResult]) -> str | None:
    """Why the model of these runs could not be loaded, or None if it was (or nothing ran)."""
    return next((result.error for result in results.values() if not result.loaded), None)


class BehaviourRuns:
    """The behaviour checks of one rewrite, begun before its result exists.

    Two workers of ``scope`` start at once and run the source while the engine writes the
    result (for TF1, one of them first waits for it); ``finish(output)`` hands them the result
    and compares. Each model runs through each loader once. ``abandon()`` stops the workers.

    ``scope`` must cover the folder the result will be written to.
    """

    def __init__(self, source: ModelHandle, plan: RewritePlan, *, scope: Scope, progress: Progress = SILENT) -> None:
        self.source = source
        self.plan = plan
        self.comparisons = _comparisons(source, plan)
        self._runnable = [c for c in self.comparisons if c.batch.feeds is not None]
        self._scope = scope
        self._progress = progress
        self._output: ModelHandle | None = None
        self._abandoned = False
        self._output_ready = threading.Event()
        # Each model is loaded once per loader, in two workers side by side, each taking one
        # model through each loader: so the two slow loads (tf.saved_model.load's) run at once,
        # not one after the other. That loader keeps a TF1 model's memory until its process
        # ends, so for TF1 it comes second in each worker, where it reuses what the session
        # loader freed instead of faulting in a GiB anew; one worker then waits for the result.
        if source.format is ModelFormat.TF1:
            orders = [[(SOURCE, Loader.SESSION), (OUTPUT, Loader.OBJECT)], [(OUTPUT, Loader.SESSION), (SOURCE, Loader.OBJECT)]]
        else:
            orders = [[(SOURCE, Loader.OBJECT), (OUTPUT, Loader.SESSION)], [(SOURCE, Loader.SESSION), (OUTPUT, Loader.OBJECT)]]
        threads = ThreadPoolExecutor(max_workers=len(orders), thread_name_prefix="behaviour")
        self._running = [threads.submit(self._run, order) for order in orders]
        threads.shutdown(wait=False)  # each thread ends with its job

    def _cancelled(self) -> bool:
        return self._abandoned or self._progress.cancelled()

    def _wait_for_output(self) -> ModelHandle:
        while not self._output_ready.wait(0.25):
            if self._cancelled():
                break
        if self._output is None or self._cancelled():
            raise CancelledError("cancelled: nothing was written")
        return self._output

    def _run(self, order: list[tuple[str, Loader]]) -> dict[tuple[str, Loader], dict[str, RunResult]]:
        """In one worker, each (model, loader) of ``order`` in turn, the result once it exists;
        their results by label."""
        signatures = self.source.info.signatures
        # The original gets the same batch less the key, which only the result takes.
        runs = {
            SOURCE: {
                c.final: (c.original, {k: v for k, v in c.batch.feeds.items() if k in signatures[c.original].inputs})
                for c in self._runnable
            },
            OUTPUT: {c.final: (c.final, c.batch.feeds) for c in self._runnable},
        }
        # A TF1 model loaded by tf.saved_model.load keeps its ref variables until the process
        # exits, so a worker that did is retired after the job.
        dirty = self.source.format is ModelFormat.TF1
        results = {}
        with self._scope.lease(self._progress) as lease:
            for which, loader in order:
                model = self.source if which == SOURCE else self._wait_for_output()
                job = {"model_dir": str(model.path.resolve()), "runs": runs[which], "tags": model.serving_tags}
                (ran,) = lease.call("run_models", cancelled=self._cancelled, dirty=dirty, loader=loader.value, jobs=[job])
                results[which, loader] = {label: RunResult(a["outputs"], a["error"], a["loaded"]) for label, a in ran.items()}
        return results

    def abandon(self) -> None:
        """Stop the workers (the rewrite failed or was cancelled); nothing is compared."""
        self._abandoned = True
        self._output_ready.set()

    def output_written(self, output: ModelHandle) -> None:
        """Let the workers run ``output`` now (``finish`` then only collects)."""
        self._output = output
        self._output_ready.set()

    def finish(self, output: ModelHandle) -> list[Check]:
        """Run ``output`` in the workers that ran the source, and compare; every check made.

        Raises:
            CancelledError: the user cancelled.
            StudioError: a worker failed or broke a limit (``RunLimitError``).
        """
        self.output_written(output)
        try:
            ran = {key: value for future in self._running for key, value in future.result().items()}
        except BaseException:
            self.abandon()  # one worker failed or was stopped: the other stops too
            raise
        results = {loader: (ran[SOURCE, loader], ran[OUTPUT, loader]) for loader in Loader}
        unloadable = {loader: _load_error(results[loader][0]) for loader in Loader}
        if self._runnable and all(unloadable.values()):
            # Nothing can be proven of a model no loader loads, and its copy would not load either.
            return [Check("the original model loads", loader.value, CheckStatus.FAILED, unloadable[loader]) for loader in Loader]
        missing = RunResult(None, "not run")
        checks = []
        for loader in Loader:
            before, after = results[loader]
            for comparison in self.comparisons:
                checks += _compare(
                    comparison, before.get(comparison.final, missing), after.get(comparison.final, missing), self.plan, loader
                )
        return checks
