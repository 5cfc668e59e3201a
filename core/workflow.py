"""The three things a user does, end to end: inspect, rewrite (plan → apply → verify →
publish) and diff. The CLI and the UI call these and only render what they return.

Example:
    >>> result = rewrite_model("sample_models/house_price", "out/price", RewriteRequest(key="id"))
    >>> result.report.ok
    True
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.archive import DEFAULT_LIMITS, ArchiveLimits
from core.diff import SignatureDiff, diff_signatures
from core.errors import PlanError, VerificationError
from core.model_info import ModelInfo, read_model_info
from core.output import check_destination, publish, staging_folder
from core.plan import DEFAULT_SIGNATURE, RewritePlan, RewriteRequest, plan_rewrite
from core.rewrite import apply_rewrite
from core.source import open_model
from core.verify import VerificationReport, verify_rewrite

Progress = Callable[[str], None]


def _silent(_: str) -> None:
    """The default progress callback: report nothing."""


@dataclass(frozen=True)
class RewriteResult:
    """What a rewrite wrote and how it was checked (``report`` is None with verify off)."""

    destination: Path
    plan: RewritePlan
    source_info: ModelInfo
    output_info: ModelInfo
    report: VerificationReport | None


def inspect_model(source: Path | str, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> ModelInfo:
    """Describe the model behind any supported source (folder, version base, archive, Keras file).

    Raises:
        ModelSourceError: the source cannot be read as exactly one SavedModel.
    """
    with open_model(source, limits=limits) as model:
        return read_model_info(model.path, display_path=model.display, version=model.version)


def rewrite_model(
    source: Path | str,
    destination: Path | str,
    request: RewriteRequest,
    *,
    version: int | None = None,
    overwrite: bool = False,
    verify: bool = True,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    progress: Progress = _silent,
) -> RewriteResult:
    """Rewrite the model at ``source`` as ``request`` asks and write it to ``destination``.

    The destination is checked and the plan validated before any work. The rewritten model
    is built in a staging folder beside the destination, verified with both loaders, and
    only then moved (or packed) into place; on any failure nothing is left behind.

    Raises:
        ModelSourceError, PlanError, OutputError: bad input, before anything is written.
        VerificationError: the rewritten model failed verification; nothing was written.
    """
    destination = Path(destination)
    check_destination(destination, version=version, overwrite=overwrite, source=Path(source))
    progress("reading the model")
    with open_model(source, limits=limits) as model:
        source_info = read_model_info(model.path, display_path=model.display, version=model.version)
        plan = plan_rewrite(source_info, request)
        staging = staging_folder(destination)
        try:
            output_dir = staging / "model"
            progress(f"rewriting ({'TF1 graph' if plan.model_format == 'tf1' else 'TF2 object graph'} engine)")
            apply_rewrite(model.path, plan, output_dir)
            report = None
            if verify:
                progress("verifying with both loaders")
                report = verify_rewrite(model.path, output_dir, plan)
                if not report.ok:
                    failed = "; ".join(f"{c.name} [{c.loader}]: {c.detail}" for c in report.failed)
                    raise VerificationError(f"verification failed, nothing was written: {failed}", report)
            output_info = read_model_info(output_dir, display_path=str(destination), version=version)
            progress("writing the output")
            written = publish(output_dir, destination, version=version)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    progress("done")
    return RewriteResult(written, plan, source_info, output_info, report)


def diff_models(
    source_a: Path | str,
    source_b: Path | str,
    *,
    signature_a: str = DEFAULT_SIGNATURE,
    signature_b: str | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> SignatureDiff:
    """Diff ``signature_a`` of model A against ``signature_b`` (default: the same name) of model B.

    Raises:
        PlanError: a signature name that the model does not have, with the valid names.
    """
    info_a = inspect_model(source_a, limits=limits)
    info_b = info_a if str(source_b) == str(source_a) else inspect_model(source_b, limits=limits)
    return diff_signatures(_signature(info_a, signature_a), _signature(info_b, signature_b or signature_a))


def _signature(info: ModelInfo, name: str):
    if name not in info.signatures:
        raise PlanError(f"{info.path} has no signature '{name}'; signatures: {sorted(info.signatures)}")
    return info.signatures[name]
