"""Keyed batch prediction on Apache Beam: rows from files in, one JSON line per row out.

``predict`` checks everything it can before anything runs (the model, the signature, the input
files, a CSV header), then runs one pipeline — the same on the DirectRunner here and on
Dataflow, Flink or Spark — that reads each file in blocks of rows (so a keyed model pays per
block, not per row), parses them (a malformed row goes to the errors with its reason), runs the
blocks through ``RunInference`` with a dead-letter output, and writes
``OUTPUT_DIR/results-*.jsonl`` (``{"key", "prediction"}``) and ``OUTPUT_DIR/errors-*.jsonl``
(``{"error", "key" or "row"}``). Every input row ends in exactly one of the two.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     _ = Path(scratch, "rows.csv").write_text("rooms,tax_rate\\n3,0.1\\n4,oops\\n")
    ...     summary = predict("sample_models/house_price", f"{scratch}/rows.csv", f"{scratch}/out")
    >>> summary.rows, summary.predicted, summary.rejected
    (2, 1, 1)
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.tfrecordio import _TFRecordUtil
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, PredictionResult, RunInference
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from core.batch.files import ERRORS, RESULTS, InputFormat, PredictSummary, ProgressFile
from core.batch.handler import BlockOutcome, SignatureModelHandler, fetch_model, worker_scope
from core.batch.lines import result_lines
from core.batch.rows import BlockReader, RowBlock, RowError
from core.errors import BatchRunError, InputDataError, ModelSourceError, OutputError, PlanError, first_line
from core.rewrite.request import DEFAULT_SIGNATURE
from core.savedmodel.handle import ModelHandle
from core.savedmodel.info import require_complete, require_signature
from core.savedmodel.ops import require_consent
from core.serve.models import WorkerModel
from core.serve.values import json_value
from core.sources.archive import ArchiveLimits
from core.sources.stage import open_saved_model

DEFAULT_BLOCK_ROWS = 1024
NAMESPACE = "signature_studio"


class ReadBlocks(beam.DoFn):
    """One input file, read front to back in blocks of rows, each block parsed at once.

    Text must be UTF-8: a line that is not is rejected, never repaired. A TFRecord file whose
    framing breaks (a bad checksum, a cut record) cannot be read past that point: the rest of
    it is one rejected row that says so.
    """

    def __init__(self, reader: BlockReader, block_rows: int, progress_dir: str | None = None) -> None:
        self.reader = reader
        self.block_rows = block_rows
        self.progress_dir = progress_dir
        self.rows = Metrics.counter(NAMESPACE, "rows")
        self.rejected = Metrics.counter(NAMESPACE, "rejected")

    def setup(self) -> None:
        self._progress = ProgressFile(self.progress_dir)

    def _numbered(self, path: str, handle: Any) -> Iterator[tuple[int, Any]]:
        """(row number, record) of one file: a CSV row's cells (the header is row 0, quoted
        line breaks kept), a JSON line's text (the first line is row 1), a TFRecord's bytes;
        a ``RowError`` in place of a record that cannot be read."""
        if self.reader.input_format is InputFormat.TFRECORD:
            row = 0
            while True:
                try:
                    record = _TFRecordUtil.read_record(handle)
                except ValueError as err:
                    reason = f"{str(err).split(':')[0]} at record {row + 1}; the rest of the file cannot be read"
                    yield row + 1, RowError(path, row + 1, reason)
                    return
                if record is None:
                    return
                row += 1
                yield row, record
        text = io.TextIOWrapper(handle, encoding="utf-8", errors="surrogateescape", newline="")
        if self.reader.input_format is InputFormat.CSV:
            for row, cells in enumerate(csv.reader(text)):
                if cells:
                    yield row, (cells if "".join(cells).isascii() else _utf8_or_error(path, row, cells))
            return
        for row, line in enumerate(text, start=1):
            if line.strip():
                line = line.rstrip("\r\n")
                yield row, (line if line.isascii() else _utf8_or_error(path, row, line))

    def process(self, readable: fileio.ReadableFile) -> Iterator[Any]:
        path = readable.metadata.path
        with readable.open() as handle:
            records = self._numbered(path, handle)
            header = None
            if self.reader.input_format is InputFormat.CSV:
                header = next(records, (0, []))[1]
                if isinstance(header, RowError):
                    header = []
            block: list[tuple[int, Any]] = []
            for numbered in records:
                if isinstance(numbered[1], RowError):
                    self.rows.inc()
                    self.rejected.inc()
                    self._progress.add(1)
                    yield beam.pvalue.TaggedOutput(ERRORS, numbered[1])
                    continue
                block.append(numbered)
                if len(block) == self.block_rows:
                    yield from self._parse(path, header, block)
                    block = []
            if block:
                yield from self._parse(path, header, block)

    def _parse(self, path: str, header: list[str] | None, records: list[tuple[int, Any]]) -> Iterator[Any]:
        self.rows.inc(len(records))
        parsed, rejected = self.reader.parse(path, header, records)
        self.rejected.inc(len(rejected))
        for error in rejected:
            yield beam.pvalue.TaggedOutput(ERRORS, error)
        if parsed is not None:
            yield parsed
        self._progress.add(len(records))


def _utf8_or_error(path: str, row: int, record: Any) -> Any:
    """``record`` (a line, or a CSV row's cells), or a ``RowError`` if it held bytes that are not UTF-8."""
    text = record if isinstance(record, str) else "\x00".join(record)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace").replace("\x00", ",")
        return RowError(path, row, "the row is not UTF-8 text", raw=shown)
    return record


class FormatResults(beam.DoFn):
    """A block's outcome as JSON lines (one element for the whole block), and its rejected rows.

    ``key_name``: the model takes the key as an input and must echo it; a row whose key comes
    back different is an error.
    """

    def __init__(self, key_name: str | None, with_file: bool) -> None:
        self.key_name = key_name
        self.with_file = with_file
        self.predicted = Metrics.counter(NAMESPACE, "predicted")
        self.rejected = Metrics.counter(NAMESPACE, "rejected")

    def process(self, element: Any) -> Iterator[Any]:
        keys, result = (None, element) if isinstance(element, PredictionResult) else element
        block: RowBlock = result.example
        outcome: BlockOutcome = result.inference
        keys = list(keys) if keys is not None else block.keys
        ran = list(outcome.ran)
        if self.key_name is not None and self.key_name in outcome.outputs:
            echoed = outcome.outputs[self.key_name].tolist()
            good = []
            for index, position in enumerate(ran):
                value = echoed[index]
                if value == keys[position] or json_value(self.key_name, value) == keys[position]:
                    good.append(index)
                    continue
                mismatch = f"the model returned key {json_value(self.key_name, value)!r} for key {keys[position]!r}"
                yield beam.pvalue.TaggedOutput(ERRORS, RowError(block.file, block.rows[position], mismatch, key=keys[position]))
        else:
            good = list(range(len(ran)))
        lines = result_lines(
            [keys[ran[index]] for index in good], outcome.outputs, rows=good, file=block.file if self.with_file else None
        )
        for error in outcome.rejected:
            yield beam.pvalue.TaggedOutput(ERRORS, error)
        self.predicted.inc(len(lines))
        self.rejected.inc(len(block) - len(lines))
        if lines:
            yield "\n".join(lines)


def _without_class(line: str, kind: Any) -> str:
    """A traceback's last line without its exception's class (``core.errors.ModelSourceError: m``
    → ``m``): people read the sentence; the class is for the log.

    Example:
        >>> _without_class("core.errors.ModelSourceError: m: cannot load", ValueError)
        'core.errors.ModelSourceError: m: cannot load'
        >>> _without_class("core.errors.ModelSourceError: m: cannot load", "ModelSourceError")
        'm: cannot load'
    """
    name = getattr(kind, "__name__", kind)
    if isinstance(name, str) and name:
        return re.sub(rf"^(?:[\w.]+\.)?{re.escape(name)}: ", "", line, count=1)
    return line


def _failed_rows(element: tuple[Any, tuple[type, str, list[str]]]) -> Iterator[RowError]:
    """Rows of a block whose inference failed outright: Beam's dead-letter element is
    (batch, (exception type, repr, formatted traceback))."""
    batch, (kind, text, trace) = element
    lines = "".join(trace).strip().splitlines() if trace else []
    error = _without_class(lines[-1] if lines else text, kind)
    rejected = Metrics.counter(NAMESPACE, "rejected")
    for item in batch:
        keys, block = item if isinstance(item, tuple) else (None, item)
        rejected.inc(len(block))
        for position, row in enumerate(block.rows):
            key = keys[position] if keys is not None else block.keys[position]
            yield RowError(block.file, row, f"inference failed: {error}", key=key)


def _error_line(error: RowError, with_file: bool) -> str:
    record = error.to_json(with_file=with_file)
    if isinstance(record.get("row"), bytes):
        record["row"] = {"b64": base64.b64encode(record["row"]).decode("ascii")}
    return json.dumps(record, ensure_ascii=False, default=str)


def _input_files(pattern: str) -> list[str]:
    """The files ``pattern`` matches, through Beam's file systems.

    Raises:
        InputDataError: no file system for the scheme here, or the match itself failed.
    """
    try:
        return [metadata.path for metadata in FileSystems.match([pattern])[0].metadata_list]
    except ValueError as err:  # Beam's words for a scheme without its extra installed
        scheme = pattern.split("://")[0]
        raise InputDataError(f"cannot read {pattern}: no file system for '{scheme}://' here ({first_line(err)[-60:]})") from err
    except Exception as err:  # BeamIOError and friends: the pattern cannot be listed
        raise InputDataError(f"cannot list {pattern}: {first_line(err)}") from err


# Runners whose workers are other machines: a path on this one means nothing to them.
_REMOTE_RUNNERS = {"dataflowrunner", "dataflow"}


def _check_reachable(runner: str, paths: dict[str, str]) -> None:
    if runner.lower() not in _REMOTE_RUNNERS:
        return
    local = [f"{what} {path}" for what, path in paths.items() if "://" not in path]
    if local:
        raise PlanError(
            f"{runner} runs on other machines and cannot read {', '.join(local)}; give gs:// paths "
            "(or the DirectRunner for local files)"
        )


def _remove_partial_output(output: str) -> None:
    """What a failed run left in ``output``: Beam's temporary files and any shard already moved."""
    patterns = [f"{output}/beam-temp-*/**", f"{output}/beam-temp-*", f"{output}/{RESULTS}-*", f"{output}/{ERRORS}-*"]
    try:
        left = [metadata.path for result in FileSystems.match(patterns) for metadata in result.metadata_list]
        if left:
            FileSystems.delete(left)
        if "://" not in output:  # on a local disk, Beam's temporary folders themselves
            for folder in Path(output).glob("beam-temp-*"):
                shutil.rmtree(folder, ignore_errors=True)
    except Exception:  # cleaning up must never hide why the run failed
        return


def _clear_earlier_run(output_dir: str, *, overwrite: bool) -> None:
    """Refuse (or, with ``overwrite``, remove) the results and errors of an earlier run."""
    output = output_dir.rstrip("/")
    earlier = [
        metadata.path
        for pattern in (f"{output}/{RESULTS}-*", f"{output}/{ERRORS}-*")
        for metadata in FileSystems.match([pattern])[0].metadata_list
    ]
    if earlier and not overwrite:
        raise OutputError(f"{output_dir} holds the results of an earlier run ({len(earlier)} files)", needs_overwrite=True)
    if earlier:
        FileSystems.delete(earlier)


def preflight(
    model_source: str,
    input_pattern: str,
    *,
    signature: str,
    key_column: str | None,
    input_format: InputFormat | None,
    allow_unsafe_ops: bool,
    worker_scratch: str | None = None,
) -> tuple[BlockReader, list[str]]:
    """Everything that can be checked before the pipeline runs, the model's loading last (in
    the worker the pipeline will use when ``worker_scratch`` is the folder of one started
    early, which then keeps the model loaded).

    Raises:
        PlanError: an unknown signature (with the valid names), or a format the signature cannot take.
        InputDataError: no input file, or a CSV header that lacks an input.
        UnsafeModelError: the model uses unsafe ops and ``allow_unsafe_ops`` is off.
        BatchRunError: the model cannot be loaded to run the signature; no row was read.
    """
    files = _input_files(input_pattern)
    if not files and "://" not in input_pattern and Path(input_pattern).is_dir():
        raise InputDataError(f"{input_pattern} is a folder; give a file or a glob such as {input_pattern.rstrip('/')}/*.csv")
    if not files:
        raise InputDataError(f"no input file matches {input_pattern}")
    kind = input_format or InputFormat.for_path(files[0])
    if kind is None:
        raise InputDataError(f"cannot tell the format of {files[0]}; give --input-format {InputFormat.choices_text()}")
    with (
        tempfile.TemporaryDirectory(prefix="signature-studio-preflight-") as scratch,
        open_saved_model(
            fetch_model(model_source, Path(scratch, "model")),
            work_dir=Path(scratch),
            limits=ArchiveLimits.from_environment(),
            allow_unsafe_code=allow_unsafe_ops,
            display=model_source,
        ) as handle,
    ):
        require_complete(handle.info)
        require_consent(handle.info, allow_unsafe_ops=allow_unsafe_ops)
        require_signature(handle.info, signature)
        reader = BlockReader.for_signature(handle, signature, kind, key_column=key_column)
        if kind is InputFormat.TFRECORD and len(reader.example_inputs) != 1:
            raise PlanError(
                f"TFRecord input needs a signature that takes serialized tf.Example in its one input; '{signature}' "
                f"takes {sorted(reader.signature.inputs)}"
            )
        if kind is InputFormat.CSV:
            with FileSystems.open(files[0]) as raw:
                header = next(csv.reader(io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")), [])
            reader.check_header(header, files[0])
        _check_loads(handle, signature, Path(scratch), worker_scratch, allow_unsafe_ops=allow_unsafe_ops)
    return reader, files


def _check_loads(
    handle: ModelHandle, signature: str, scratch: Path, worker_scratch: str | None, *, allow_unsafe_ops: bool
) -> None:
    """Load the model as the pipeline will, so that a model no loader loads fails before any row is read."""
    scope, warm = worker_scope(handle.path, scratch, worker_scratch)
    try:
        WorkerModel(handle, scope, allow_unsafe_ops=allow_unsafe_ops).load(signature)
    except ModelSourceError as err:
        raise BatchRunError(f"cannot run '{signature}', nothing was read: {err}") from err
    finally:
        if not warm:
            scope.close()


def predict(
    model_source: str,
    input_pattern: str,
    output_dir: str,
    *,
    signature: str = DEFAULT_SIGNATURE,
    key_column: str | None = None,
    input_format: InputFormat | None = None,
    block_rows: int = DEFAULT_BLOCK_ROWS,
    beam_args: Sequence[str] = (),
    allow_unsafe_ops: bool = False,
    overwrite: bool = False,
    progress_dir: str | None = None,
    worker_scratch: str | None = None,
) -> PredictSummary:
    """Run keyed batch prediction; returns what it did.

    ``worker_scratch``: the scratch folder of a worker already started for the model (the CLI
    starts one early); used where it exists. ``overwrite`` removes the results and errors of an
    earlier run in ``output_dir`` first; without it they are refused (new files would mix with
    old ones).

    Raises:
        StudioError: bad input found before anything ran (see ``preflight``), an output folder
            with an earlier run's files, or a local path given to a runner on other machines.
        BatchRunError: the pipeline failed while it ran.
    """
    options = PipelineOptions(list(beam_args))
    runner = options.view_as(StandardOptions).runner or "DirectRunner"
    _check_reachable(runner, {"MODEL": model_source, "INPUT": input_pattern, "OUTPUT_DIR": output_dir})
    reader, files = preflight(
        model_source, input_pattern, signature=signature, key_column=key_column, input_format=input_format,
        allow_unsafe_ops=allow_unsafe_ops, worker_scratch=worker_scratch,
    )  # fmt: skip
    _clear_earlier_run(output_dir, overwrite=overwrite)
    with_file = len(files) > 1
    base = SignatureModelHandler(model_source, signature, allow_unsafe_ops=allow_unsafe_ops, worker_scratch=worker_scratch)
    handler = base.with_no_batching() if reader.key_fed else KeyedModelHandler(base).with_no_batching()
    output = output_dir.rstrip("/")
    try:
        pipeline = beam.Pipeline(options=options)
    except ValueError as err:  # an unknown runner and the like
        raise PlanError(f"Beam cannot start a pipeline with the options {list(beam_args)}: {first_line(err)}") from err
    blocks = (
        pipeline
        | "Find files" >> fileio.MatchFiles(input_pattern)
        | "Open files" >> fileio.ReadMatches()
        | "Read blocks" >> beam.ParDo(ReadBlocks(reader, block_rows, progress_dir)).with_outputs(ERRORS, main="blocks")
    )
    if reader.key_fed:
        ready = blocks.blocks | "As batches" >> beam.Map(lambda block: [block])
    else:  # the key travels beside the model
        ready = blocks.blocks | "Keys beside" >> beam.Map(lambda block: [(tuple(block.keys), block)])
    predictions, dead_letters = ready | "Run the model" >> RunInference(handler).with_exception_handling()
    formatted = predictions | "Format" >> beam.ParDo(
        FormatResults(key_column if reader.key_fed else None, with_file)
    ).with_outputs(ERRORS, main="lines")
    failed = dead_letters.failed_inferences | "Failed blocks" >> beam.FlatMap(_failed_rows)
    formatted.lines | "Write results" >> beam.io.WriteToText(f"{output}/{RESULTS}", file_name_suffix=".jsonl")
    (
        (blocks[ERRORS], formatted[ERRORS], failed)
        | "All errors" >> beam.Flatten()
        | "Error lines" >> beam.Map(_error_line, with_file)
        | "Write errors" >> beam.io.WriteToText(f"{output}/{ERRORS}", file_name_suffix=".jsonl")
    )
    try:
        result = pipeline.run()
        result.wait_until_finish()
    except Exception as err:  # the runner's own failure, or a model's: one sentence for the user
        _remove_partial_output(output)
        lines = str(err).strip().splitlines() or [type(err).__name__]
        raise BatchRunError(f"the pipeline failed on {runner}: {lines[-1][:500]}") from err
    counts: dict[str, int] = {}  # a counter of one name can be reported by several steps
    for metric in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        counts[metric.key.metric.name] = counts.get(metric.key.metric.name, 0) + int(metric.committed or 0)
    return PredictSummary(
        rows=int(counts.get("rows", 0)),
        predicted=int(counts.get("predicted", 0)),
        rejected=int(counts.get("rejected", 0)),
        results=f"{output}/{RESULTS}-*.jsonl",
        errors=f"{output}/{ERRORS}-*.jsonl",
        runner=runner,
    )
