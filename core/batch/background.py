"""A batch-prediction run as its own process (``python -m core predict``), for the Studio: Beam
and its memory stay out of the web server, a Cancel ends the whole process group, and the
running row count is read from the files the pipeline leaves in a progress folder.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     _ = Path(scratch, "rows.csv").write_text("rooms,tax_rate\\n3,0.1\\n4,0.2\\n")
    ...     run = run_predict_process(Path("sample_models/house_price"), Path(scratch, "rows.csv"), Path(scratch, "run"))
    ...     run.summary.predicted, len(run.results.read_text().splitlines())
    (2, 2)
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.batch.files import ERRORS, RESULTS, InputFormat, PredictSummary
from core.errors import BatchRunError, CancelledError, StudioError
from core.progress import SILENT, Progress
from core.rewrite.request import DEFAULT_SIGNATURE

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_POLL_S = 0.25


@dataclass(frozen=True)
class BatchRun:
    """A finished run: its counts, and its results and errors each joined into one file."""

    summary: PredictSummary
    results: Path
    errors: Path
    progress_dir: Path


def _join(folder: Path, kind: str, target: Path) -> Path:
    with open(target, "wb") as out:
        for shard in sorted(folder.glob(f"{kind}-*.jsonl")):
            with open(shard, "rb") as part:
                shutil.copyfileobj(part, out, 1 << 20)
    return target


def _error_from(stderr: str, code: int, names: dict[str, str]) -> StudioError:
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    message = lines[-1].removeprefix("error: ") if lines else f"the batch run stopped (exit code {code})"
    for path, shown in names.items():
        message = message.replace(path, shown)
    return BatchRunError(message) if code == 1 else StudioError(message)


def run_predict_process(
    model_dir: Path,
    input_path: Path,
    folder: Path,
    *,
    signature: str = DEFAULT_SIGNATURE,
    key_column: str | None = None,
    input_format: InputFormat | None = None,
    allow_unsafe_ops: bool = False,
    progress: Progress = SILENT,
    shown_as: str | None = None,
) -> BatchRun:
    """Run ``predict`` on the DirectRunner in a child process; its files go into ``folder``.

    ``folder/progress/`` holds the running counts (``read_progress``) while it runs;
    ``shown_as`` names the input in messages (the upload's name, not a path on the server).

    Raises:
        CancelledError: ``progress`` said stop; the process group was ended.
        StudioError: the run refused its input (the ``predict`` error line), or BatchRunError: it failed.
    """
    output, progress_dir = folder / "output", folder / "progress"
    progress_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "core", "predict", str(model_dir), str(input_path), str(output), "--json"]
    command += ["--signature", signature, "--progress-dir", str(progress_dir)]
    if key_column:
        command += ["--key-column", key_column]
    if input_format is not None:
        command += ["--input-format", input_format.value]
    if allow_unsafe_ops:
        command.append("--allow-unsafe-ops")
    progress.step("starting the pipeline (Apache Beam, DirectRunner)")
    log = open(folder / "stderr.txt", "w+b")  # noqa: SIM115  (read after the process ends)
    with log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=log, start_new_session=True, env=os.environ.copy()
        )
        try:
            while process.poll() is None:
                if progress.cancelled():
                    raise CancelledError("cancelled: the batch run was stopped")
                time.sleep(_POLL_S)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        printed = process.stdout.read().decode() if process.stdout else ""
        log.seek(0)
        stderr = log.read().decode(errors="replace")
    if process.returncode != 0:
        raise _error_from(stderr, process.returncode, {str(input_path): shown_as or input_path.name})
    summary = PredictSummary(**json.loads(printed))
    results = _join(output, RESULTS, folder / "results.jsonl")
    errors = _join(output, ERRORS, folder / "errors.jsonl")
    return BatchRun(summary, results, errors, progress_dir)


def csv_header(data: bytes) -> list[str]:
    """The column names of a CSV upload (its first row), for choosing the key column.

    Example:
        >>> csv_header(b'id,"rooms, total",tax\\n1,2,3\\n')
        ['id', 'rooms, total', 'tax']
    """
    first = data[: 1 << 16].decode("utf-8", errors="replace")
    return next(csv.reader(io.StringIO(first, newline="")), [])


def rename_csv_columns(data: bytes, renames: dict[str, str]) -> bytes:
    """A CSV upload with columns of its header renamed (old → new), the rows untouched: how a
    column the user picked for an input gets the input's name.

    Example:
        >>> rename_csv_columns(b"id,rooms\\n7,3\\n", {"id": "instance_id"})
        b'instance_id,rooms\\n7,3\\n'
    """
    if not renames:
        return data
    end = data.find(b"\n")
    head, rest = (data, b"") if end < 0 else (data[:end], data[end:])
    carriage = head.endswith(b"\r")
    columns = next(csv.reader(io.StringIO(head.rstrip(b"\r").decode("utf-8"), newline="")), [])
    written = io.StringIO()
    csv.writer(written, lineterminator="").writerow([renames.get(name, name) for name in columns])
    return written.getvalue().encode("utf-8") + (b"\r" if carriage else b"") + rest


def common_error(path: Path, limit: int = 1000) -> str | None:
    """The one reason every rejected row gives (of the first ``limit``), to say once above the
    table; None when the reasons differ or nothing was rejected."""
    reasons = set()
    with open(path, encoding="utf-8") as lines:
        for line in itertools.islice(lines, limit):
            reasons.add(json.loads(line).get("error"))
            if len(reasons) > 1:
                return None
    return next(iter(reasons)) if reasons else None


def results_preview(path: Path, limit: int = 20) -> pd.DataFrame:
    """The first ``limit`` lines of a results or errors file as a table: one column per field
    (a prediction's outputs each in their own column, as JSON text so that int64 stays exact).

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as f:
        ...     _ = f.write('{"key": "a", "prediction": {"price": [0.5], "id": 9007199254740993}}\\n'); f.flush()
        ...     results_preview(Path(f.name)).to_dict("records")
        [{'key': '"a"', 'price': '[0.5]', 'id': '9007199254740993'}]
    """
    records = []
    with open(path, encoding="utf-8") as lines:
        for line in itertools.islice(lines, limit):
            record = json.loads(line)
            flat = {name: value for name, value in record.items() if name != "prediction"}
            flat.update(record.get("prediction", {}))
            records.append({name: json.dumps(value, ensure_ascii=False) for name, value in flat.items()})
    return pd.DataFrame.from_records(records)
