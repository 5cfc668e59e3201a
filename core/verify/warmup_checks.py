"""The check of a warmup file the rewrite wrote: every record read back from the result ran
through its signature, through each loader (TF Serving replays them when it loads the model,
and a record it cannot run fails the load).

Example:
    >>> from core.execution.loaders import RunResult
    >>> ran = {"warmup:0": RunResult({"y": 1}), "warmup:1": RunResult(None, "bad shape")}
    >>> warmup_check(Loader.SESSION, ran, written=2).detail
    '2 of 2 request(s) read back; 1 ran; request 2 failed: bad shape'
"""

from __future__ import annotations

from core.execution.loader_kind import Loader
from core.execution.loaders import RunResult
from core.savedmodel.warmup import WARMUP_FILE, WarmupRequest
from core.verify.report import Check, CheckStatus

WARMUP_LABEL = "warmup:"


def warmup_runs(requests: list[WarmupRequest]) -> dict[str, tuple[str, dict]]:
    """A run per record read back, labelled in order."""
    return {f"{WARMUP_LABEL}{index}": (request.signature, request.feeds) for index, request in enumerate(requests)}


def warmup_check(loader: Loader, results: dict[str, RunResult], *, written: int) -> Check:
    """Whether all ``written`` records were read back and ran through ``loader``."""
    runs = {label: result for label, result in results.items() if label.startswith(WARMUP_LABEL)}
    failed = [
        (int(label.removeprefix(WARMUP_LABEL)) + 1, result.error) for label, result in runs.items() if result.outputs is None
    ]
    detail = f"{len(runs)} of {written} request(s) read back; {len(runs) - len(failed)} ran"
    if failed:
        number, error = failed[0]
        detail += f"; request {number} failed: {error}"
    status = CheckStatus.PASSED if len(runs) == written and not failed else CheckStatus.FAILED
    return Check(f"warmup requests ({WARMUP_FILE}) read back, each ran", loader, status, detail)
