"""Edit: choose a base signature, a key, inputs to forward and output names; preview the
result with its validation inline; Apply (rewrite + verification); download the archive."""

import streamlit as st

from core.errors import PlanError, StudioError, VerificationError
from core.present.tables import report_table
from core.rewrite.plan import other_signatures, plan_rewrite
from core.rewrite.request import (
    DEFAULT_KEEP_ORIGINAL,
    DEFAULT_SIGNATURE,
    KeyDtype,
    RewriteRequest,
    build_request,
    default_result_name,
)
from core.savedmodel.info import ModelInfo, SignatureInfo
from core.studio.edit_form import ForwardSelection, filter_names
from core.studio.session import ARCHIVE_FORMATS, StudioSession
from pages.common import model_info, page_start, render_signature


def forward_picker(selection: ForwardSelection, base: SignatureInfo) -> None:
    """A checkbox per input (filterable), with the output name of each ticked one."""
    st.markdown("**Forward inputs to the outputs**")
    filter_text = st.text_input("Filter inputs", key="edit_filter", placeholder="part of an input name")
    shown = filter_names(list(base.inputs), filter_text)
    st.button(
        f"Select all shown ({len(shown)})",
        key="edit_select_all",
        on_click=selection.tick_all,
        args=(shown,),
        disabled=not shown,
    )
    for name in shown:
        tick_key, name_key = f"edit_forward_{base.name}_{name}", f"edit_forward_as_{base.name}_{name}"
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
        st.caption(f"Also forwarded (hidden by the filter): {', '.join(hidden)}")


def renamers(names: list[str], label: str, key_prefix: str) -> dict[str, str]:
    """A text field per name; returns old → new (empty or unchanged fields are no rename)."""
    return {name: st.text_input(f"{label} {name}", value=name, key=f"{key_prefix}_{name}") for name in names}


def result_choices(base_name: str) -> tuple[str | None, str | None]:
    """Replace the base (keeping the original or not) or add under a new name."""
    st.markdown("**Result**")
    mode = st.radio(
        "Result signature",
        [f"Replace '{base_name}'", "Add under a new name"],
        key="edit_result_mode",
        horizontal=True,
        label_visibility="collapsed",
    )
    if not mode.startswith("Replace"):
        return st.text_input("New signature name", value=default_result_name(base_name), key="edit_result_name"), None
    keep_column, keep_name_column = st.columns([2, 3])
    if keep_column.checkbox("Keep the original signature", value=True, key="edit_keep"):
        return None, keep_name_column.text_input("Name for the original", value=DEFAULT_KEEP_ORIGINAL, key="edit_keep_name")
    return None, None


def choose_request(session: StudioSession, info: ModelInfo) -> RewriteRequest:
    """Every choice on the page, turned into a request by the shared builder."""
    public = info.public_signatures
    default = public.index(DEFAULT_SIGNATURE) if DEFAULT_SIGNATURE in public else 0
    base_name = st.selectbox("Base signature", public, index=default, key="edit_base")
    base = info.signatures[base_name]
    key_column, dtype_column = st.columns([3, 1])
    key_name = key_column.text_input("Key name", key="edit_key", placeholder="instance_key", help="Empty: no key")
    key_dtype = dtype_column.selectbox("Key dtype", [d.value for d in KeyDtype], key="edit_key_dtype")
    selection = session.forwards.selection(session.model.digest, base_name)
    forward_picker(selection, base)
    with st.expander("Rename outputs", expanded=False):
        output_renames = renamers(list(base.outputs), "New name for", f"edit_rename_{base_name}")
    result_name, keep_original = result_choices(base_name)
    partial = build_request(signature=base_name, result_name=result_name)
    others = other_signatures(info, partial)
    drop = st.multiselect("Drop signatures", others, key="edit_drop")
    with st.expander("Rename other signatures", expanded=False):
        signature_renames = renamers([name for name in others if name not in drop], "New name for signature", "edit_rename_sig")
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
    )


def preview(info: ModelInfo, request: RewriteRequest) -> bool:
    """The result as it would be, or why it cannot be; True when it can be applied."""
    st.subheader("Preview")
    try:
        plan = plan_rewrite(info, request)
    except PlanError as err:
        st.error(str(err))
        return False
    for note in plan.notes:
        st.info(note)
    st.caption(f"Signatures after the rewrite: {', '.join(plan.final_signatures)}")
    original_column, result_column = st.columns(2)
    with original_column:
        st.markdown("**Original**")
        render_signature(info.signatures[request.signature], stacked=True)
    with result_column:
        st.markdown("**Result**")
        render_signature(plan.result, stacked=True)
    return True


def apply(session: StudioSession, request: RewriteRequest) -> None:
    with st.status("Rewriting and verifying…", expanded=True) as status:
        try:
            session.apply(request, progress=status.write)
            status.update(label="Rewritten and verified", state="complete", expanded=False)
        except VerificationError as err:
            status.update(label="Verification failed: nothing was kept", state="error")
            st.error(str(err))
            if err.report is not None:
                st.dataframe(report_table(err.report).to_frame(), hide_index=True, width="stretch")
        except StudioError as err:
            status.update(label="The rewrite was refused", state="error")
            st.error(str(err))


def applied_result(session: StudioSession, request: RewriteRequest) -> None:
    """The last verification report, and the download of the verified model."""
    applied = session.rewrite
    report = applied.result.report
    st.subheader("Verification report")
    if applied.request != request:
        st.caption("This is the last applied rewrite; the choices above have changed since. Apply again to use them.")
    st.success(f"Signature `{applied.result.plan.result_name}` written and verified: {report.summary}.")
    for check in report.not_verified:
        st.warning(f"Not verified ({check.loader}): {check.name}: {check.detail}")
    st.dataframe(report_table(report).to_frame(), hide_index=True, width="stretch")

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
        st.download_button(
            f"Download {archive.name}",
            data=archive.read_bytes,  # read only when clicked: archives can be gigabytes
            file_name=archive.name,
            mime="application/zip" if archive_format == "zip" else "application/gzip",
            type="primary",
            key="edit_download",
        )
        layout = f"inside a folder {int(version)}/" if version_layout else "at the archive's root"
        st.caption(f"The verified model, {layout}.")
    except StudioError as err:
        st.error(str(err))


session, model = page_start("Edit")
info = model_info(model)
request = choose_request(session, info)
can_apply = preview(info, request)
if st.button("Apply", type="primary", disabled=not can_apply, key="edit_apply"):
    apply(session, request)
if session.rewrite is not None:
    applied_result(session, request)
