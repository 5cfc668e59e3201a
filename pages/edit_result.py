"""What Apply did, on the Edit page: its progress while it runs, why it wrote nothing, the
verdict of the rewrite made from the current choices, its full report and its download."""

import streamlit as st

from core.errors import StudioError, VerificationError
from core.present.tables import report_table
from core.present.words import escape_markdown
from core.studio.downloads import ArchiveFormat
from core.studio.jobs import Job, JobState
from core.studio.session import StudioSession
from pages.common import Message, say, watch_job, widget_key
from pages.sidebar import refresh_sidebar_status


def _steps_text(job: Job) -> str:
    steps = job.steps
    lines = []
    for index, step in enumerate(steps):
        end = steps[index + 1].at if index + 1 < len(steps) else job.elapsed
        lines.append(f"- {escape_markdown(step.text)} — {end - step.at:.1f} s")
    return "\n".join(lines)


def watch_apply(job: Job, owner: str) -> None:
    """Follow the running Apply until it ends, each step with its time; then show the result."""
    refresh_sidebar_status()  # "Applying…" now, not after the next click

    def draw(job: Job) -> None:
        label = "Cancelling…" if job.cancel_requested else "Rewriting and verifying…"
        # Not a ``with`` block: leaving one would mark the status complete.
        st.status(f"{label} {job.elapsed:.0f} s", expanded=True, state="running").markdown(_steps_text(job) or "- starting")

    watch_job(job, draw, cancel_key=widget_key("edit_cancel", owner))


def job_outcome(job: Job) -> None:
    """Why the last Apply of these choices wrote nothing: failed, refused or cancelled."""
    with st.status(f"{job.state.value.capitalize()} after {job.elapsed:.0f} s", expanded=False, state="error"):
        st.markdown(_steps_text(job))
    if job.state is JobState.CANCELLED:
        say(Message.INFO, "Apply was cancelled: nothing was written.")
        return
    say(Message.ERROR, str(job.error))
    if isinstance(job.error, VerificationError) and job.error.report is not None:
        st.table(report_table(job.error.report).to_frame(), hide_index=True)


def verdict(session: StudioSession) -> None:
    """What the rewrite made from the current choices proved, in one line beside Apply."""
    applied = session.rewrite
    report = applied.result.report
    name = applied.result.plan.result_name
    say(Message.SUCCESS if report.fully_verified else Message.WARNING, f"Signature '{name}' written and {report.verdict}.")


def verified_result(session: StudioSession) -> None:
    """The verification report and the download of the rewrite made from the current choices."""
    applied = session.rewrite
    st.subheader("Verification report")
    st.caption(f"Rewritten by the {applied.result.engine.value}.")
    if applied.result.engine_note:
        say(Message.INFO, applied.result.engine_note)
    st.table(report_table(applied.result.report).to_frame(), hide_index=True)  # every row, details wrapped, none cut

    st.subheader("Download")
    format_column, layout_column, version_column = st.columns(3)
    archive_format = format_column.radio(
        "Archive format", list(ArchiveFormat), format_func=str, key="edit_archive_format", horizontal=True
    )
    version_layout = layout_column.checkbox("TF Serving version layout", key="edit_version_layout")
    version = version_column.number_input(
        "Version", min_value=0, value=1, step=1, key="edit_version", disabled=not version_layout
    )
    try:
        with st.spinner("Packing the archive…"):
            archive = session.package(archive_format, int(version) if version_layout else None)
    except StudioError as err:
        say(Message.ERROR, str(err))
        return
    st.download_button(
        f"Download {archive.name}",
        data=archive.read_bytes,  # read only when clicked: archives can be gigabytes
        file_name=archive.name,
        mime=archive_format.mime_type,
        type="primary",
        key=widget_key("edit_download", applied.digest),
        on_click="ignore",  # a rerun would drop the file while the browser still fetches it
    )
    layout = f"inside a folder {int(version)}/" if version_layout else "at the archive's root"
    st.caption(f"The verified model, {layout}.")
