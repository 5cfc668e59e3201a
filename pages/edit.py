"""Edit: choose a base signature, a key, inputs to forward and output names; preview the
result (a picture and tables) with its validation inline; Apply (rewrite + verification, in
the background, with Cancel); download the verified model while the choices still match it."""

import time

import streamlit as st

from core.errors import PlanError, StudioError, VerificationError
from core.present.tables import report_table
from core.present.words import escape_markdown, shape_text, unsafe_ops_warning
from core.rewrite.plan import RewritePlan, other_signatures, plan_rewrite
from core.rewrite.request import (
    DEFAULT_KEEP_ORIGINAL,
    DEFAULT_SIGNATURE,
    NOTHING_TO_DO,
    KeyDtype,
    RewriteRequest,
    build_request,
    default_result_name,
)
from core.savedmodel.info import SignatureInfo
from core.studio.edit_form import ForwardSelection, filter_names
from core.studio.jobs import Job, JobState
from core.studio.session import ARCHIVE_FORMATS, StudioSession
from pages.common import page_start, refresh_sidebar_status, render_signature, say, widget_key

PROGRESS_SECONDS = 0.5


def forward_picker(selection: ForwardSelection, base: SignatureInfo, owner: str) -> None:
    """A checkbox per input (filterable), with the output name of each ticked one."""
    st.markdown("**Forward inputs to the outputs**")
    filter_text = st.text_input("Filter inputs", key=widget_key("edit_filter", owner), placeholder="part of an input name")
    shown = filter_names(list(base.inputs), filter_text)
    st.button(
        f"Select all shown ({len(shown)})",
        key=widget_key("edit_select_all", owner, base.name),
        on_click=selection.tick_all,
        args=(shown,),
        disabled=not shown,
    )
    for name in shown:
        tick_key = widget_key("edit_forward", owner, base.name, name)
        name_key = widget_key("edit_forward_as", owner, base.name, name)
        # Callbacks wrote every change to the selection before this run; draw the widgets from it.
        st.session_state[tick_key] = name in selection
        st.session_state[name_key] = selection.output_name(name)
        tick, rename = st.columns([2, 3])
        tick.checkbox(name, key=tick_key, on_change=lambda n=name, k=tick_key: selection.set_ticked(n, st.session_state[k]))
        if name in selection:
            rename.text_input(
                f"Output name for {name}",
                key=name_key,
                on_change=lambda n=name, k=name_key: selection.rename(n, st.session_state[k]),
                label_visibility="collapsed",
            )
    hidden = [name for name, _ in selection.pairs() if name not in shown]
    if hidden:
        st.caption(f"Also forwarded (hidden by the filter): {escape_markdown(', '.join(hidden))}")


def renamers(names: list[str], label: str, drafted: dict[str, str], *owners: str) -> dict[str, str]:
    """A text field per name; returns old → new (empty or unchanged fields are no rename)."""
    return {
        name: st.text_input(f"{label} {name}", value=drafted.get(name, name), key=widget_key("edit_rename", *owners, name))
        for name in names
    }


def result_choices(base_name: str, draft: RewriteRequest | None, owner: str) -> tuple[str | None, str | None]:
    """Replace the base (keeping the original or not) or add under a new name."""
    st.markdown("**Result**")
    adding = draft is not None and draft.result_name is not None
    mode = st.radio(
        "Result signature",
        [f"Replace '{base_name}'", "Add under a new name"],
        index=1 if adding else 0,
        key=widget_key("edit_result_mode", owner, base_name),
        horizontal=True,
        label_visibility="collapsed",
    )
    if not mode.startswith("Replace"):
        name = draft.result_name if adding else default_result_name(base_name)
        return st.text_input("New signature name", value=name, key=widget_key("edit_result_name", owner, base_name)), None
    keep_column, keep_name_column = st.columns(2)
    keep = draft is None or draft.keep_original is not None
    if keep_column.checkbox("Keep the original", value=keep, key=widget_key("edit_keep", owner, base_name)):
        kept_name = (draft.keep_original if draft is not None else None) or DEFAULT_KEEP_ORIGINAL
        return None, keep_name_column.text_input(
            "Name for the original", value=kept_name, key=widget_key("edit_keep_name", owner, base_name)
        )
    return None, None


def choose_request(session: StudioSession, draft: RewriteRequest | None) -> RewriteRequest:
    """Every choice on the page, turned into a request by the shared builder. Widgets belong to
    the loaded model (and base signature); their first values come from this model's draft."""
    info, owner = session.model.handle.info, session.model.digest
    public = info.public_signatures
    wanted = draft.signature if draft is not None else DEFAULT_SIGNATURE
    base_name = st.selectbox(
        "Base signature", public, index=public.index(wanted) if wanted in public else 0, key=widget_key("edit_base", owner)
    )
    base = info.signatures[base_name]
    draft = draft if draft is not None and draft.signature == base_name else None
    key_column, dtype_column = st.columns([3, 2])
    key_name = key_column.text_input(
        "Key name",
        value=(draft.key if draft else None) or "",
        key=widget_key("edit_key", owner),
        placeholder="e.g. instance_key — empty: no key",
        help="An input added to the signature and returned unchanged as an output of the same name. Empty: no key.",
    )
    dtypes = [d.value for d in KeyDtype]
    key_dtype = dtype_column.selectbox(
        "Key dtype", dtypes, index=dtypes.index(draft.key_dtype) if draft else 0, key=widget_key("edit_key_dtype", owner)
    )
    selection = session.forwards.selection(owner, base_name)
    forward_picker(selection, base, owner)
    with st.expander("Rename outputs", expanded=bool(draft and draft.rename_outputs)):
        drafted = dict(draft.rename_outputs) if draft else {}
        output_renames = renamers(list(base.outputs), "New name for", drafted, owner, base_name, "output")
    result_name, keep_original = result_choices(base_name, draft, owner)
    others = other_signatures(info, build_request(signature=base_name, result_name=result_name))
    mode = "add" if result_name is not None else "replace"
    drop = st.multiselect(
        "Drop signatures",
        others,
        default=[name for name in (draft.drop if draft else ()) if name in others],
        key=widget_key("edit_drop", owner, base_name, mode),
    )
    kept = [name for name in others if name not in drop]
    with st.expander("Rename other signatures", expanded=bool(draft and draft.rename_signatures)):
        drafted = dict(draft.rename_signatures) if draft else {}
        signature_renames = renamers(kept, "New name for signature", drafted, owner, "signature")
    drop_optimizer = False
    if info.optimizers:
        drop_optimizer = st.checkbox(
            "Drop the optimizer state",
            value=bool(draft and draft.drop_optimizer),
            key=widget_key("edit_drop_optimizer", owner),
            help="Removes the training-only optimizer (and its slot variables) from the object graph, so "
            "tf.saved_model.load, TFLite's converter and Beam's loaders can load the model. variables/ stays byte-identical.",
        )
        if info.object_loader_problem:
            st.caption(escape_markdown(info.object_loader_problem))
    return build_request(
        signature=base_name,
        key=key_name,
        key_dtype=key_dtype,
        forwards=selection.pairs(),
        rename_outputs=output_renames,
        result_name=result_name,
        keep_original=keep_original,
        drop=drop,
        rename_signatures=signature_renames,
        drop_optimizer=drop_optimizer,
    )


def planned(session: StudioSession, request: RewriteRequest) -> RewritePlan | None:
    """The plan of ``request``, or None with why there is none (nothing asked, or a refusal)."""
    if request.changes_nothing:
        say("info", f"Nothing to rewrite yet: {NOTHING_TO_DO.removeprefix('the plan changes nothing; ')}.")
        return None
    try:
        return plan_rewrite(session.model.handle.info, request)
    except PlanError as err:
        say("error", str(err))
        return None


def preview(session: StudioSession, request: RewriteRequest, plan: RewritePlan) -> None:
    """The result as it would be, and the original (picture and tables, one tab each)."""
    for note in plan.notes:
        say("info", note)
    st.caption(f"Signatures after the rewrite: {escape_markdown(', '.join(plan.final_signatures))}")
    if plan.key is not None:
        key_spec = plan.result.inputs[plan.key]
        st.caption(
            f"The key `{plan.key}` ({key_spec.dtype}, shape {shape_text(key_spec.shape)}) takes one value per row of "
            "the batch and comes back unchanged as the output of the same name, so every prediction carries its row's key."
        )
    result_tab, original_tab = st.tabs(["Preview: result", "Original"])
    with result_tab:
        render_signature(plan.result, stacked=True, plan=plan)
    with original_tab:
        render_signature(session.model.handle.info.signatures[request.signature], stacked=True)


def _steps_text(job: Job) -> str:
    steps = job.steps
    lines = []
    for index, step in enumerate(steps):
        end = steps[index + 1].at if index + 1 < len(steps) else job.elapsed
        lines.append(f"- {escape_markdown(step.text)} — {end - step.at:.1f} s")
    return "\n".join(lines)


def watch_apply(job: Job, owner: str) -> None:
    """Follow the running Apply from this script run until it ends, redrawing each step with its
    time twice a second; then rerun the page to show the result. The job runs in its own thread:
    a click elsewhere only restarts this watching, and Cancel asks the job to stop."""
    st.button("Cancel", key=widget_key("edit_cancel", owner), on_click=job.cancel, disabled=job.cancel_requested)
    progress = st.empty()
    refresh_sidebar_status()  # "Applying…" now, not after the next click
    while job.running:
        label = "Cancelling…" if job.cancel_requested else "Rewriting and verifying…"
        with progress.container():
            # Not a ``with`` block: leaving one would mark the status complete.
            st.status(f"{label} {job.elapsed:.0f} s", expanded=True, state="running").markdown(_steps_text(job) or "- starting")
        time.sleep(PROGRESS_SECONDS)
    st.rerun()


def job_outcome(job: Job) -> None:
    """Why the last Apply of these choices wrote nothing: failed, refused or cancelled."""
    with st.status(f"{job.state.value.capitalize()} after {job.elapsed:.0f} s", expanded=False, state="error"):
        st.markdown(_steps_text(job))
    if job.state is JobState.CANCELLED:
        say("info", "Apply was cancelled: nothing was written.")
        return
    say("error", str(job.error))
    if isinstance(job.error, VerificationError) and job.error.report is not None:
        st.table(report_table(job.error.report).to_frame(), hide_index=True)


def verdict(session: StudioSession) -> None:
    """What the rewrite made from the current choices proved, in one line beside Apply."""
    applied = session.rewrite
    report = applied.result.report
    name = applied.result.plan.result_name
    say("success" if report.fully_verified else "warning", f"Signature '{name}' written and {report.verdict}.")


def verified_result(session: StudioSession) -> None:
    """The verification report and the download of the rewrite made from the current choices."""
    applied = session.rewrite
    st.subheader("Verification report")
    st.caption(f"Rewritten by the {applied.result.engine.value}.")
    if applied.result.engine_note:
        say("info", applied.result.engine_note)
    st.table(report_table(applied.result.report).to_frame(), hide_index=True)  # every row, details wrapped, none cut

    st.subheader("Download")
    format_column, layout_column, version_column = st.columns(3)
    archive_format = format_column.radio("Archive format", ARCHIVE_FORMATS, key="edit_archive_format", horizontal=True)
    version_layout = layout_column.checkbox("TF Serving version layout", key="edit_version_layout")
    version = version_column.number_input(
        "Version", min_value=0, value=1, step=1, key="edit_version", disabled=not version_layout
    )
    try:
        with st.spinner("Packing the archive…"):
            archive = session.package(archive_format, int(version) if version_layout else None)
    except StudioError as err:
        say("error", str(err))
        return
    st.download_button(
        f"Download {archive.name}",
        data=archive.read_bytes,  # read only when clicked: archives can be gigabytes
        file_name=archive.name,
        mime="application/zip" if archive_format == "zip" else "application/gzip",
        type="primary",
        key=widget_key("edit_download", applied.digest),
        on_click="ignore",  # a rerun would drop the file while the browser still fetches it
    )
    layout = f"inside a folder {int(version)}/" if version_layout else "at the archive's root"
    st.caption(f"The verified model, {layout}.")


def consent(session: StudioSession) -> bool:
    """For a model with unsafe ops: the user's say-so to run it (rewriting and verifying do)."""
    info = session.model.handle.info
    if not info.unsafe_ops:
        return True
    say("warning", unsafe_ops_warning(info, "Apply runs it to rewrite and verify it."))
    return st.checkbox("I trust this model: run it to rewrite and verify", key=widget_key("edit_consent", session.model.digest))


session, model = page_start("Edit")
# The choices on the left; on the right, where the eye goes next, Apply with its progress and
# outcome above the preview; the full report and the download below both.
choices_column, action_column = st.columns([2, 3], gap="large")
with choices_column:
    request = choose_request(session, session.drafts.get(model.digest))
    session.drafts[model.digest] = request
    allowed = consent(session)
with action_column:
    plan = planned(session, request)
    job = session.job
    running = job is not None and job.running
    if st.button("Apply", type="primary", disabled=plan is None or running or not allowed, key="edit_apply"):
        try:
            job, running = session.start_apply(request, allow_unsafe_ops=allowed), True
        except StudioError as err:
            say("error", str(err))
    if running:
        watch_apply(job, model.digest)
    elif session.rewrite_matches(request):
        verdict(session)
    elif job is not None and job.state is not JobState.DONE and session.job_matches(request):
        job_outcome(job)
    elif session.rewrite is not None:
        say(
            "info",
            f"The choices changed since the last Apply (signature '{session.rewrite.result.plan.result_name}'), "
            "so that rewrite is not offered for download. Apply again to rewrite with these choices.",
        )
    if plan is not None:
        preview(session, request, plan)
if not running and session.rewrite_matches(request):
    verified_result(session)
