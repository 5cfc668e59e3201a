"""The check of the result's TF Serving warmup file: every record read back from the result,
and each of its requests ran through its signature, through each loader (TF Serving replays
them when it loads the model, and refuses the model when one fails).

Example:
    >>> from core.execution.loaders import RunResult
    >>> ran = {"warmup:0:0": RunResult({"y": 1}), "warmup:1:1": RunResult(None, "bad shape")}
    >>> warmup_check(Loader.SESSION, ran, records=2).detail
    '2 of 2 record(s) read back; 1 of 2 request(s) ran; record 2 failed: bad shape (TF Serving would refuse the model)'
"""

from __future__ import annotations

from core.execution.loader_kind import Loader
from core.execution.loaders import RunResult
from core.savedmodel.warmup import WARMUP_FILE, WarmupRequest
from core.verify.report import Check, CheckStatus

WARMUP_LABEL = "warmup:"


def warmup_runs(requests: list[WarmupRequest]) -> dict[str, tuple[str, dict]]:
    """A run per request read back, labelled by its record and its place in the file."""
    return {
        f"{WARMUP_LABEL}{request.record}:{index}": (request.signature, request.feeds) for index, request in enumerate(requests)
    }


def warmup_check(loader: Loader, results: dict[str, RunResult], *, records: int) -> Check:
    """Whether all ``records`` of the file were read back and each of their requests ran through ``loader``."""
    runs = {label: result for label, result in results.items() if label.startswith(WARMUP_LABEL)}
    read_back = {label.split(":")[1] for label in runs}
    failed = [(int(label.split(":")[1]) + 1, result.error) for label, result in runs.items() if result.outputs is None]
    detail = f"{len(read_back)} of {records} record(s) read back; {len(runs) - len(failed)} of {len(runs)} request(s) ran"
    if failed:
        number, error = failed[0]
        detail += f"; record {number} failed: {error} (TF Serving would refuse the model)"
    status = CheckStatus.PASSED if len(read_back) == records and not failed else CheckStatus.FAILED
    return Check(f"warmup requests ({WARMUP_FILE}) read back, each ran", loader, status, detail)
