"""The Try page's batch run: every row of an uploaded file through the chosen signature with
Apache Beam (the pipeline of ``python -m core predict``, on the DirectRunner in a child
process), its progress, its results and errors to download, and what runs or serves the same
model at scale. A run belongs to the model and signature it ran; no decisions live here."""

from __future__ import annotations

import streamlit as st

from core.batch.background import common_error, csv_header, results_preview
from core.batch.files import InputFormat, read_progress
from core.errors import StudioError
from core.savedmodel.handle import ModelHandle
from core.studio.jobs import Job, JobState
from core.studio.running import BatchInfo
from core.studio.session import StudioSession
from pages.common import Message, say, watch_job, widget_key
from pages.try_columns import column_picker, key_picker
from pages.try_handoff import render_at_scale


def _watch(job: Job, info: BatchInfo) -> None:
    """Follow the running batch: rows done of rows in the file."""

    def draw(job: Job) -> None:
        done = read_progress(info.progress_dir)
        fraction = min(done / info.total_rows, 1.0) if info.total_rows else 0.0
        label = "Cancelling…" if job.cancel_requested else "Predicting…"
        st.progress(fraction, text=f"{label} {done:,} of {info.total_rows:,} rows — {job.elapsed:.0f} s")

    watch_job(job, draw, cancel_key="try_batch_cancel")


def _outcome(job: Job, info: BatchInfo, stem: str) -> None:
    if job.state is JobState.CANCELLED:
        say(Message.INFO, "The batch run was cancelled: nothing was kept.")
        return
    if job.state is not JobState.DONE:
        say(Message.ERROR, str(job.error))
        return
    run = job.result
    if not (run.results.is_file() and run.errors.is_file()):
        return  # its files went with an earlier model: the run is gone too
    summary = run.summary
    counts = (
        f"{info.filename}: {summary.rows:,} rows: {summary.predicted:,} predicted, {summary.rejected:,} rejected "
        f"({job.elapsed:.0f} s, {summary.runner})"
    )
    shared = common_error(run.errors) if summary.rejected else None
    if summary.predicted == 0:
        say(Message.ERROR, f"{counts}: nothing was predicted." + (f" Every row: {shared}" if shared else ""))
    elif summary.rejected:
        say(Message.WARNING, f"{counts}." + (f" Every rejected row: {shared}" if shared else ""))
    else:
        say(Message.SUCCESS, f"{counts}.")
    results_column, errors_column = st.columns(2)
    for column, path, what in ((results_column, run.results, "results"), (errors_column, run.errors, "errors")):
        column.download_button(
            f"Download {what} (JSON lines)",
            data=path.read_bytes,  # read when clicked: results can be large
            file_name=f"{stem}_{info.signature}_{what}.jsonl",
            mime="application/jsonl",
            key=widget_key(f"try_batch_download_{what}", info.digest, info.signature),
            on_click="ignore",
        )
    if summary.predicted:
        st.markdown("**First results**")
        st.dataframe(results_preview(run.results), hide_index=True, width="stretch")
    if summary.rejected:
        st.markdown("**First rejected rows**")
        rejected = results_preview(run.errors)
        st.dataframe(rejected.drop(columns="error") if shared else rejected, hide_index=True, width="stretch")


def render_batch_run(
    session: StudioSession, handle: ModelHandle, digest: str, signature: str, *, trusted: bool, default_key: str | None
) -> None:
    """The batch-run tab for ``signature`` of ``handle`` (content ``digest``)."""
    owner = (digest, signature)
    st.caption(
        "Every row through the same Apache Beam pipeline as `python -m core predict`, on the DirectRunner in a "
        "separate process; a malformed row goes to the errors with its reason. For millions of rows, run the "
        "command below on a cluster."
    )
    upload = st.file_uploader(
        "Rows: a CSV with a header, JSON lines of TF Serving instances, or TFRecord of tf.Example",
        type=InputFormat.every_suffix(),
        key=widget_key("try_batch_file", digest),  # an upload belongs to the model it was made for
    )
    is_csv = upload is not None and InputFormat.for_path(upload.name) is InputFormat.CSV
    header = csv_header(upload.getvalue()) if is_csv else None
    key_column = key_picker(header, default_key, owner)
    columns = {}
    if header is not None and not handle.example_inputs(signature):
        columns = column_picker(header, list(handle.info.signatures[signature].inputs), key_column, owner)
        if key_column is None and default_key in columns:
            key_column = columns[default_key]  # the column that feeds the model's key is the rows' key too
    job = session.batch
    running = job is not None and job.running
    if st.button("Run batch", type="primary", disabled=upload is None or running, key="try_batch_run"):
        try:
            job = session.start_batch(
                handle, digest, signature, upload.name, upload.getvalue(), key_column=key_column, columns=columns,
                allow_unsafe_ops=trusted,
            )  # fmt: skip
            running = True
        except StudioError as err:
            say(Message.ERROR, str(err))
    info = session.batch_info
    if job is not None and info is not None:
        if (info.digest, info.signature) != owner:
            if running:
                say(Message.INFO, f"A batch run of '{info.signature}' (another model or signature) is running; it shows there.")
        elif running:
            _watch(job, info)
        else:
            _outcome(job, info, session.model_stem())
    render_at_scale(handle, signature, session.model_stem(), key_column)
