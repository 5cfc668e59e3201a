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

import csv
import io
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from core.batch.files import ERRORS, RESULTS, InputFormat, PredictSummary
from core.batch.handler import SignatureModelHandler, fetch_model, worker_scope
from core.batch.rows import BlockReader
from core.batch.transforms import NAMESPACE, FormatResults, ReadBlocks, error_line, failed_rows
from core.errors import BatchRunError, InputDataError, ModelSourceError, OutputError, PlanError, first_line
from core.rewrite.request import DEFAULT_SIGNATURE
from core.savedmodel.handle import ModelHandle
from core.savedmodel.info import require_complete, require_signature
from core.savedmodel.ops import require_consent
from core.serve.models import WorkerModel
from core.sources.archive import ArchiveLimits
from core.sources.stage import open_saved_model

DEFAULT_BLOCK_ROWS = 1024


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
    failed = dead_letters.failed_inferences | "Failed blocks" >> beam.FlatMap(failed_rows)
    formatted.lines | "Write results" >> beam.io.WriteToText(f"{output}/{RESULTS}", file_name_suffix=".jsonl")
    (
        (blocks[ERRORS], formatted[ERRORS], failed)
        | "All errors" >> beam.Flatten()
        | "Error lines" >> beam.Map(error_line, with_file)
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
