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
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import CancelledError
from core.execution.loader_kind import Loader
from core.execution.loaders import FUNCTION_TARGET, RunResult
from core.execution.pool import Scope
from core.progress import SILENT, Progress
from core.rewrite.plan import OutputKind, RewritePlan
from core.rewrite.raw_features import base_hints
from core.rewrite.result_rows import result_feeds
from core.rewrite.warmup_file import ResultWarmup
from core.savedmodel.examples import ExampleSpec
from core.savedmodel.handle import ModelHandle
from core.savedmodel.proto import ModelFormat
from core.savedmodel.warmup import read_warmup_requests
from core.verify.report import Check, CheckStatus
from core.verify.synthetic import SyntheticBatch, synthesize_batch
from core.verify.values import identical, rounding_difference
from core.verify.warmup_checks import warmup_check, warmup_runs

# How long an abandoned run may take to notice and stop (its worker call polls for it).
ABANDON_SECONDS = 60


SOURCE, OUTPUT = "source", "output"


@dataclass(frozen=True)
class _Comparison:
    """One behaviour check: run ``original`` on the source and ``final`` on the output.
    ``original_feeds``: what the original is fed, when not the batch less the key (the result
    takes its inputs renamed or cast)."""

    final: str
    original: str
    batch: SyntheticBatch
    is_result: bool
    original_feeds: dict[str, Any] | None = None
    target: str | None = None  # what runs as the original, when not a signature (a function)


def _same_outputs(
    expected: dict[str, Any], got: dict[str, Any], names: dict[str, str], across: bool
) -> tuple[list[str], list[str]]:
    """Outputs of ``got`` (final name → name in ``expected`` in ``names``) that differ, and,
    ``across`` loaders, those that only round differently (with by how much)."""
    differing, rounded = [], []
    for final, original in names.items():
        value = got.get(final)
        if value is not None and identical(expected[original], value):
            continue
        gap = rounding_difference(expected[original], value) if across and value is not None else None
        if gap is None:
            differing.append(final)
        else:
            rounded.append(f"'{final}' rounds differently: {gap}")
    return sorted(differing), rounded


def _compare(
    comparison: _Comparison,
    before: RunResult,
    after: RunResult,
    plan: RewritePlan,
    loader: Loader,
    *,
    across: str | None = None,
    load_problem: str | None = None,
) -> list[Check]:
    """The checks of one comparison through ``loader``; ``across``: ``before`` ran through the
    other loader, and why (this one cannot load the original until its optimizer state is
    dropped, or cannot run a function without a signature), said in the title.
    ``load_problem``: why this loader cannot load the original, as inspect found it (said
    instead of the loader's own error)."""

    def check(name: str, status: CheckStatus, detail: str = "") -> Check:
        return Check(name, loader, status, detail)

    title = f"'{comparison.final}' outputs bit-identical to original '{comparison.original}'"
    notes = comparison.batch.notes
    if across:
        title += f" ({across})"
    if comparison.batch.feeds is None:
        return [check(title, CheckStatus.NOT_VERIFIED, comparison.batch.reason or "")]
    if before.outputs is None:
        guessed = f" ({'; '.join(comparison.batch.guesses)})" if comparison.batch.guesses else ""
        reason = f"the original signature rejected {comparison.batch.described}{guessed}: {before.error}"
        if not before.loaded:
            reason = load_problem or f"the original model does not load with this loader (it does with the other): {before.error}"
        return [check(title, CheckStatus.NOT_VERIFIED, reason)]
    if after.outputs is None:
        failed = (
            "the rewritten model failed to load where the original loaded"
            if not after.loaded
            else "the rewritten signature failed where the original ran"
        )
        return [check(title, CheckStatus.FAILED, f"{failed}: {after.error}")]
    if not comparison.is_result:
        differing, rounded = _same_outputs(before.outputs, after.outputs, {name: name for name in before.outputs}, bool(across))
        status = CheckStatus.FAILED if differing or set(after.outputs) != set(before.outputs) else CheckStatus.PASSED
        detail = f"differing: {differing}" if differing else "; ".join([f"{len(before.outputs)} output(s)", *rounded, *notes])
        return [check(title, status, detail)]

    checks = []
    feeds = comparison.batch.feeds
    names = {name: source.name for name, source in plan.output_sources.items() if source.kind is OutputKind.OUTPUT}
    differing, rounded = _same_outputs(before.outputs, after.outputs, names, bool(across))
    for name, source in plan.output_sources.items():
        got = after.outputs.get(name)
        if source.kind is OutputKind.OUTPUT:
            continue
        want = feeds[source.name]
        label = f"key '{name}' echoed" if source.kind is OutputKind.KEY else f"input '{source.name}' forwarded as '{name}'"
        passed = got is not None and identical(want, got)
        checks.append(check(f"'{comparison.final}': {label}", CheckStatus.PASSED if passed else CheckStatus.FAILED))
    detail = f"differing: {differing}" if differing else "; ".join([*rounded, *notes])
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


def _comparisons(source: ModelHandle, plan: RewritePlan, provided: dict[str, SyntheticBatch]) -> list[_Comparison]:
    info = source.info
    batches = {
        name: provided.get(name) or synthesize_batch(info.signatures[name], source.example_spec, hints=source.input_hints)
        for name in info.public_signatures
    }
    function = plan.request.from_function
    if function or plan.example_parse:  # the base is not a signature of the model: rows for what it takes
        spec = ExampleSpec() if plan.example_parse else source.example_spec  # raw features are values, not Examples
        base_batch = synthesize_batch(plan.base, spec, hints=base_hints(plan.example_parse, source.input_hints))
    else:
        base_batch = batches[plan.base.name]
    result_batch, original_feeds = base_batch, None
    if base_batch.feeds is not None:
        original_feeds, feeds = result_feeds(plan, base_batch.feeds)
        result_batch = SyntheticBatch(feeds, guesses=base_batch.guesses, origin=base_batch.origin)
    target = f"{FUNCTION_TARGET}{function}" if function else None
    comparisons = [
        _Comparison(plan.result_name, plan.base.name, result_batch, is_result=True, original_feeds=original_feeds, target=target)
    ]
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

    def __init__(
        self,
        source: ModelHandle,
        plan: RewritePlan,
        *,
        scope: Scope,
        progress: Progress = SILENT,
        provided: dict[str, SyntheticBatch] | None = None,
        warmup: ResultWarmup | None = None,
    ) -> None:
        self.source = source
        self.plan = plan
        self.warmup = warmup  # the result's warmup file: read back, each request is run, as TF Serving does
        self.comparisons = _comparisons(source, plan, provided or {})
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
        # The original gets the same rows under its own names, less the key, which only the result takes.
        runs = {
            SOURCE: {
                c.final: (
                    c.target or c.original,
                    c.original_feeds
                    if c.original_feeds is not None
                    else {k: v for k, v in c.batch.feeds.items() if k in signatures[c.original].inputs},
                )
                for c in self._runnable
            },
            OUTPUT: {c.final: (c.final, c.batch.feeds) for c in self._runnable},
        }
        # A TF1 model loaded by tf.saved_model.load keeps its ref variables until the process
        # exits, so a worker that did is retired after the job.
        dirty = self.source.format is ModelFormat.TF1
        results = {}
        # Queued for a slot, a run stops when abandoned too, not only when the user cancels.
        with self._scope.lease(Progress(report=self._progress.report, cancelled=self._cancelled)) as lease:
            for which, loader in order:
                model = self.source if which == SOURCE else self._wait_for_output()
                made = runs[which]
                if which == OUTPUT and self.warmup is not None and self.warmup.records:
                    made = {**made, **warmup_runs(read_warmup_requests(model.path, display=model.display))}
                job = {"model_dir": str(model.path.resolve()), "runs": made, "tags": model.serving_tags}
                (ran,) = lease.call("run_models", cancelled=self._cancelled, dirty=dirty, loader=loader.value, jobs=[job])
                results[which, loader] = {label: RunResult(a["outputs"], a["error"], a["loaded"]) for label, a in ran.items()}
        return results

    def abandon(self) -> None:
        """Stop the workers (the rewrite failed or was cancelled) and wait until their runs have
        ended, so that none of them still writes in the rewrite's folder when it is removed;
        nothing is compared."""
        self._abandoned = True
        self._output_ready.set()
        futures.wait(self._running, timeout=ABANDON_SECONDS)

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
            return [Check("the original model loads", loader, CheckStatus.FAILED, unloadable[loader]) for loader in Loader]
        missing = RunResult(None, "not run")
        checks = []
        for loader in Loader:
            before, after = results[loader]
            # Only a model whose optimizer state was dropped loads through tf.saved_model.load where
            # its original did not: its outputs are compared with the original's through the session.
            across = None
            if unloadable[loader] and self.plan.dropped_optimizers and not unloadable[Loader.SESSION]:
                before, across = (
                    results[Loader.SESSION][0],
                    f"run through the {Loader.SESSION.value}, which alone loads the original",
                )
            for comparison in self.comparisons:
                original, crossing = before, across
                if comparison.target is not None and loader is Loader.SESSION:
                    # A function without a signature runs only through tf.saved_model.load.
                    original = results[Loader.OBJECT][0]
                    crossing = f"the function run through {Loader.OBJECT.value}, which alone calls a function by its path"
                checks += _compare(
                    comparison,
                    original.get(comparison.final, missing),
                    after.get(comparison.final, missing),
                    self.plan,
                    loader,
                    across=crossing,
                    load_problem=self.source.info.object_loader_problem if loader is Loader.OBJECT else None,
                )
            if self.warmup is not None and self.warmup.records:
                checks.append(warmup_check(loader, after, records=len(self.warmup.records)))
        return checks
