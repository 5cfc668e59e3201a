"""Running a model in a Studio session: Try's requests (answered by workers that keep the model
loaded, each answer kept for a reloaded page) and batch runs of a whole file with Apache Beam
in a child process. ``ModelRunning`` is that part of ``StudioSession``.

Example:
    >>> [way.value for way in TryWay]
    ['json', 'csv']
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.batch.background import csv_header, rename_csv_columns, run_predict_process
from core.batch.files import InputFormat, count_rows
from core.batch.rows import BlockReader
from core.errors import InputDataError, StudioError
from core.progress import SILENT, Progress
from core.savedmodel.handle import ModelHandle
from core.serve.models import WorkerModel
from core.studio.jobs import Job
from core.studio.workspace import Purpose, Workspace

# Try answers a session keeps for a reloaded page (the oldest go first).
TRY_ANSWERS_KEPT = 16


class TryWay(StrEnum):
    """How Try asked: a TF Serving REST body, or a small CSV file."""

    JSON = "json"
    CSV = "csv"


@dataclass(frozen=True)
class TryAnswer:
    """What Try answered once: the request as sent (a JSON body, or the CSV file's name), and
    either the result (``result``: the response text, or the CSV's rows and their JSON lines)
    or the error that refused it."""

    request: str
    result: object = None
    error: str | None = None


@dataclass(frozen=True)
class BatchInfo:
    """What the last batch run was started on: model (digest), signature, key column, the rows
    the file holds, where its running count is, and the name the file was uploaded as."""

    digest: str
    signature: str
    key_column: str | None
    total_rows: int
    progress_dir: Path
    filename: str


class ModelRunning:
    """Try and batch runs in a ``StudioSession`` (which holds the state these methods use)."""

    workspace: Workspace
    batch: Job | None
    batch_info: BatchInfo | None
    _try_answers: dict[tuple[str, ...], TryAnswer]
    _lock: threading.RLock

    def remember_try_answer(self, owner: tuple[str, ...], answer: TryAnswer) -> None:
        """Keep Try's last answer for ``owner`` (model digest, signature, way of asking), so a
        reloaded page shows it again; only the last ``TRY_ANSWERS_KEPT`` are kept."""
        with self._lock:
            self._try_answers.pop(owner, None)
            self._try_answers[owner] = answer
            while len(self._try_answers) > TRY_ANSWERS_KEPT:
                self._try_answers.pop(next(iter(self._try_answers)))

    def try_answer(self, owner: tuple[str, ...]) -> TryAnswer | None:
        """Try's last answer for ``owner``, or None."""
        with self._lock:
            return self._try_answers.get(owner)

    def model_runner(self, handle: ModelHandle, *, allow_unsafe_ops: bool = False, progress: Progress = SILENT) -> WorkerModel:
        """Runs signatures of ``handle`` (the loaded model, or its rewrite) in this session's workers.

        Raises:
            UnsafeModelError: the model uses unsafe ops and ``allow_unsafe_ops`` is off.
        """
        return WorkerModel(handle, self.scope(), allow_unsafe_ops=allow_unsafe_ops, progress=progress)

    def start_batch(
        self,
        handle: ModelHandle,
        digest: str,
        signature: str,
        filename: str,
        data: bytes,
        *,
        key_column: str | None = None,
        columns: dict[str, str] | None = None,
        allow_unsafe_ops: bool = False,
    ) -> Job:
        """Run every row of an uploaded file through ``signature`` of ``handle`` with Apache Beam
        (``python -m core predict`` in a child process), as a background job; only the last
        run's files are kept. ``columns`` (input → CSV column) feeds an input from a column
        named otherwise (a key column ``id`` for the input ``instance_id``).

        Raises:
            InputDataError: the file's name does not say CSV, JSON lines or TFRecord, or a CSV
                header lacks an input (said at once, naming the upload).
            StudioError: a batch run is running already. DiskAllowanceError: no room for it.
        """
        input_format = InputFormat.for_path(filename)
        if input_format is None:
            suffixes = ", ".join(f".{suffix}" for suffix in InputFormat.every_suffix())
            raise InputDataError(f"cannot tell the format of '{filename}'; upload a file ending in one of {suffixes}")
        if input_format is InputFormat.CSV:
            renames = {column: name for name, column in (columns or {}).items() if column and column != name}
            data = rename_csv_columns(data, renames)
            key_column = renames.get(key_column, key_column) if key_column else None
            reader = BlockReader.for_signature(handle, signature, input_format, key_column=key_column)
            reader.check_header(csv_header(data), filename)
        with self._lock:
            if self.batch is not None and self.batch.running:
                raise StudioError("a batch run is running already; wait for it or cancel it first")
            self.workspace.require_space(3 * len(data), "the batch run (its rows, results and errors)")
            self.workspace.remove_folders(Purpose.BATCH)
            folder = self.workspace.new_folder(Purpose.BATCH)
            rows = folder / f"rows.{input_format.value}"  # the uploaded name never reaches the disk
            rows.write_bytes(data)

            def work(progress: Progress):
                return run_predict_process(
                    handle.path, rows, folder, signature=signature, key_column=key_column, input_format=input_format,
                    allow_unsafe_ops=allow_unsafe_ops, progress=progress, shown_as=filename,
                )  # fmt: skip

            self.batch_info = BatchInfo(
                digest, signature, key_column, count_rows(rows, input_format), folder / "progress", filename
            )
            self.batch = Job(f"batch run of {signature}", work)
            return self.batch.start()
