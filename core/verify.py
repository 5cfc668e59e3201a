"""Prove that a rewritten model lost nothing, by reading it and running it fresh.

Structure checks compare ``saved_model.pb`` and the files of source and output: the new
signature's inputs and outputs, every kept signature (method name, inputs, outputs),
dropped signatures gone, ``assets/`` and ``assets.extra/`` byte for byte, the variables'
names, dtypes and shapes. Behaviour checks load both models with each loader
(``tf.saved_model.load`` and the TF1 session loader) and feed the same synthetic batch:
outputs bit-identical, key echoed, forwarded inputs equal to what was fed. A check that
cannot be made says "not verified" and why; none passes silently.

Example:
    >>> report = verify_rewrite(Path("sample_models/house_price"), Path("out/price"), plan)
    >>> report.ok
    True
"""

from __future__ import annotations

import filecmp
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from core._tf import tf
from core.model_info import ASSETS_DIR, ASSETS_EXTRA_DIR, VARIABLES_PREFIX, ModelInfo, list_files, read_model_info
from core.plan import OutputKind, RewritePlan
from core.runner import Loader, RunResult, identical, run_signatures
from core.synthetic import DEFAULT_BATCH_SIZE, SyntheticBatch, key_values, read_example_spec, synthesize_batch

STRUCTURE = "saved_model.pb and files"


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_VERIFIED = "not verified"


@dataclass(frozen=True)
class Check:
    """One verification check: what was checked, through which loader, and the outcome."""

    name: str
    loader: str
    status: CheckStatus
    detail: str = ""


@dataclass(frozen=True)
class VerificationReport:
    """All checks of one rewrite. ``ok`` is False when any check failed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status is CheckStatus.FAILED]

    def count(self, status: CheckStatus) -> int:
        return sum(check.status is status for check in self.checks)

    @property
    def summary(self) -> str:
        return (
            f"{self.count(CheckStatus.PASSED)} passed, {self.count(CheckStatus.FAILED)} failed, "
            f"{self.count(CheckStatus.NOT_VERIFIED)} not verified"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": self.summary,
            "checks": [{"name": c.name, "loader": c.loader, "status": c.status.value, "detail": c.detail} for c in self.checks],
        }


def _io(signature) -> dict[str, Any]:
    """Inputs and outputs by name, dtype and shape (tensor names may differ after a rewrite)."""
    return {
        "inputs": {name: (spec.dtype, spec.shape) for name, spec in signature.inputs.items()},
        "outputs": {name: (spec.dtype, spec.shape) for name, spec in signature.outputs.items()},
    }


def _structure_checks(source: ModelInfo, output: ModelInfo, source_dir: Path, output_dir: Path, plan: RewritePlan) -> list[Check]:
    checks = []

    def check(name: str, passed: bool, detail: str) -> None:
        checks.append(Check(name, STRUCTURE, CheckStatus.PASSED if passed else CheckStatus.FAILED, detail))

    result = output.signatures.get(plan.result_name)
    check(
        f"signature '{plan.result_name}' has the planned inputs and outputs",
        result is not None and _io(result) == _io(plan.result) and result.method_name == plan.result.method_name,
        f"method {plan.result.method_name}; inputs {sorted(plan.result.inputs)}; outputs {sorted(plan.result.outputs)}",
    )
    for final, original in plan.kept_signatures.items():
        kept = output.signatures.get(final)
        before = source.signatures[original]
        same = kept is not None and _io(kept) == _io(before) and kept.method_name == before.method_name
        label = f"'{final}'" if final == original else f"'{final}' (was '{original}')"
        check(f"signature {label} kept with method name and I/O", same, before.method_name)
    unexpected = set(output.public_signatures) - set(plan.final_signatures)
    missing = set(plan.final_signatures) - set(output.public_signatures)
    check(
        "no signature lost or added beyond the plan",
        not unexpected and not missing,
        f"expected {plan.final_signatures}; unexpected {sorted(unexpected)}; missing {sorted(missing)}",
    )
    for folder in (ASSETS_DIR, ASSETS_EXTRA_DIR):
        names = list_files(source_dir / folder)
        same_names = names == list_files(output_dir / folder)
        _, mismatch, errors = filecmp.cmpfiles(source_dir / folder, output_dir / folder, names, shallow=False)
        check(
            f"{folder}/ byte-identical",
            same_names and not mismatch and not errors,
            f"{len(names)} file(s)" + (f"; differing: {mismatch + errors}" if mismatch or errors else ""),
        )
    source_variables = _variable_specs(source_dir)
    check(
        "variables: same names, dtypes and shapes",
        source_variables == _variable_specs(output_dir),
        f"{len(source_variables)} variable(s), {source.variables.bytes} bytes",
    )
    return checks


def _variable_specs(model_dir: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    prefix = model_dir / VARIABLES_PREFIX
    if not prefix.with_suffix(".index").is_file():
        return {}
    reader = tf.train.load_checkpoint(str(prefix))
    dtypes = reader.get_variable_to_dtype_map()
    return {
        name: (dtypes[name].name, tuple(shape))
        for name, shape in reader.get_variable_to_shape_map().items()
        if not name.startswith("_CHECKPOINTABLE")
    }


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
    if comparison.batch.feeds is None:
        return [check(title, CheckStatus.NOT_VERIFIED, comparison.batch.reason or "")]
    if before.outputs is None:
        reason = f"the original signature rejected the synthetic batch: {before.error}"
        return [check(title, CheckStatus.NOT_VERIFIED, reason)]
    if after.outputs is None:
        return [check(title, CheckStatus.FAILED, f"the rewritten signature failed where the original ran: {after.error}")]
    if not comparison.is_result:
        differing = sorted(
            name
            for name in before.outputs
            if name not in after.outputs or not identical(before.outputs[name], after.outputs[name])
        )
        status = CheckStatus.FAILED if differing or set(after.outputs) != set(before.outputs) else CheckStatus.PASSED
        return [check(title, status, f"differing: {differing}" if differing else f"{len(before.outputs)} output(s)")]

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
    checks.insert(
        0, check(title, CheckStatus.FAILED if differing else CheckStatus.PASSED, f"differing: {differing}" if differing else "")
    )
    return checks


def _comparisons(source_dir: Path, source: ModelInfo, plan: RewritePlan) -> list[_Comparison]:
    example_spec = read_example_spec(source_dir)
    batches = {name: synthesize_batch(source.signatures[name], example_spec) for name in source.public_signatures}
    base_batch = batches[plan.base.name]
    result_batch = base_batch
    if base_batch.feeds is not None and plan.key is not None:
        rows = next(iter(base_batch.feeds.values())).shape[0] if base_batch.feeds else DEFAULT_BATCH_SIZE
        feeds = {**base_batch.feeds, plan.key: key_values(plan.request.key_dtype.value, rows)}
        result_batch = SyntheticBatch(feeds)
    comparisons = [_Comparison(plan.result_name, plan.base.name, result_batch, is_result=True)]
    comparisons += [
        _Comparison(final, original, batches[original], is_result=False) for final, original in plan.kept_signatures.items()
    ]
    return comparisons


def _behaviour_checks(source_dir: Path, output_dir: Path, source: ModelInfo, plan: RewritePlan) -> list[Check]:
    comparisons = _comparisons(source_dir, source, plan)
    runnable = [c for c in comparisons if c.batch.feeds is not None]
    # The original gets the same batch less the key, which only the result takes.
    original_runs = {
        c.final: (c.original, {k: v for k, v in c.batch.feeds.items() if k in source.signatures[c.original].inputs})
        for c in runnable
    }
    output_runs = {c.final: (c.final, c.batch.feeds) for c in runnable}
    missing = RunResult(None, "not run")
    checks = []
    for loader in Loader:
        # tf.saved_model.load keeps a TF1 model's ref variables until the process exits: load
        # those in a child process, or every verification would hold two more model copies.
        isolated = loader is Loader.OBJECT and source.format == "tf1"
        before = run_signatures(source_dir, loader, original_runs, isolated=isolated)
        after = run_signatures(output_dir, loader, output_runs, isolated=isolated)
        for comparison in comparisons:
            checks += _compare(
                comparison, before.get(comparison.final, missing), after.get(comparison.final, missing), plan, loader
            )
    return checks


def verify_rewrite(source_dir: Path, output_dir: Path, plan: RewritePlan) -> VerificationReport:
    """Check ``output_dir`` against ``source_dir`` and ``plan``; returns every check made.

    Nothing is raised for a failed check: the caller decides (``report.ok``).
    """
    source = read_model_info(source_dir)
    output = read_model_info(output_dir)
    checks = _structure_checks(source, output, source_dir, output_dir, plan)
    checks += _behaviour_checks(source_dir, output_dir, source, plan)
    return VerificationReport(tuple(checks))
