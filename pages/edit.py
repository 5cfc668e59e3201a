"""Edit: choose a base signature, a key, inputs to forward and output names; preview the
result with its validation inline; Apply (rewrite + verification); download the archive."""

import streamlit as st

from core.errors import PlanError, StudioError, VerificationError
from core.plan import DEFAULT_KEEP_ORIGINAL, DEFAULT_SIGNATURE, Forward, KeyDtype, RewriteRequest, plan_rewrite
from core.studio import ARCHIVE_FORMATS
from core.tables import report_table
from core.verify import CheckStatus
from pages.common import model_info, page_start, render_signature

session, model = page_start("Edit")
info = model_info(model)
public = info.public_signatures

base_name = st.selectbox(
    "Base signature",
    public,
    index=public.index(DEFAULT_SIGNATURE) if DEFAULT_SIGNATURE in public else 0,
    key="edit_base",
)
base = info.signatures[base_name]

key_column, dtype_column = st.columns([3, 1])
key_name = key_column.text_input("Key name", key="edit_key", placeholder="instance_key", help="Empty: no key")
key_dtype = dtype_column.selectbox("Key dtype", [d.value for d in KeyDtype], key="edit_key_dtype")

st.markdown("**Forward inputs to the outputs**")
filter_text = st.text_input("Filter inputs", key="edit_filter", placeholder="part of an input name")
shown = [name for name in base.inputs if filter_text.lower() in name.lower()]
# Streamlit forgets a widget's state once it is not drawn, so ticks hidden by the filter live
# in their own store: input name → output name, per base signature.
ticked: dict[str, str] = st.session_state.setdefault("edit_forwards", {}).setdefault(base_name, {})


def _tick_key(name: str) -> str:
    return f"edit_forward_{base_name}_{name}"


def _name_key(name: str) -> str:
    return f"edit_forward_as_{base_name}_{name}"


def _select_shown() -> None:
    for name in shown:
        ticked.setdefault(name, name)


def _store_tick(name: str) -> None:
    if st.session_state[_tick_key(name)]:
        ticked.setdefault(name, name)
    else:
        ticked.pop(name, None)


def _store_output_name(name: str) -> None:
    ticked[name] = st.session_state[_name_key(name)].strip()


st.button(f"Select all shown ({len(shown)})", key="edit_select_all", on_click=_select_shown, disabled=not shown)
for name in shown:
    # Callbacks wrote every change to the store before this run; draw the widgets from it.
    st.session_state[_tick_key(name)] = name in ticked
    st.session_state[_name_key(name)] = ticked.get(name, name)
    tick, rename = st.columns([2, 3])
    tick.checkbox(name, key=_tick_key(name), on_change=_store_tick, args=(name,))
    if name in ticked:
        rename.text_input(
            f"Output name for {name}",
            key=_name_key(name),
            on_change=_store_output_name,
            args=(name,),
            label_visibility="collapsed",
        )
hidden = [name for name in ticked if name not in shown]
if hidden:
    st.caption(f"Also forwarded (hidden by the filter): {', '.join(hidden)}")
forwards = [Forward(name, output) for name, output in ticked.items()]

with st.expander("Rename outputs", expanded=False):
    renames = []
    for output in base.outputs:
        new = st.text_input(f"New name for {output}", value=output, key=f"edit_rename_{base_name}_{output}").strip()
        if new != output:
            renames.append((output, new))

st.markdown("**Result**")
mode = st.radio(
    "Result signature",
    [f"Replace '{base_name}'", "Add under a new name"],
    key="edit_result_mode",
    horizontal=True,
    label_visibility="collapsed",
)
replacing = mode.startswith("Replace")
result_name = None
keep_original = None
if replacing:
    keep_column, keep_name_column = st.columns([2, 3])
    if keep_column.checkbox("Keep the original signature", value=True, key="edit_keep"):
        keep_original = keep_name_column.text_input(
            "Name for the original", value=DEFAULT_KEEP_ORIGINAL, key="edit_keep_name"
        ).strip()
else:
    result_name = st.text_input("New signature name", value=f"{base_name}_keyed", key="edit_result_name").strip()
others = [name for name in public if name != base_name or not replacing]
drop = st.multiselect("Drop signatures", others, key="edit_drop")

request = RewriteRequest(
    signature=base_name,
    key=key_name.strip() or None,
    key_dtype=KeyDtype(key_dtype),
    forwards=tuple(forwards),
    rename_outputs=tuple(renames),
    result_name=result_name,
    keep_original=keep_original,
    drop=tuple(drop),
)

st.subheader("Preview")
plan = None
try:
    plan = plan_rewrite(info, request)
except PlanError as err:
    st.error(str(err))
if plan is not None:
    for note in plan.notes:
        st.info(note)
    st.caption(f"Signatures after the rewrite: {', '.join(plan.final_signatures)}")
    original_column, result_column = st.columns(2)
    with original_column:
        st.markdown("**Original**")
        render_signature(base, stacked=True)
    with result_column:
        st.markdown("**Result**")
        render_signature(plan.result, stacked=True)

if st.button("Apply", type="primary", disabled=plan is None, key="edit_apply"):
    with st.status("Rewriting and verifying…", expanded=True) as status:
        try:
            session.apply(request, progress=status.write)
            status.update(label="Rewritten and verified", state="complete", expanded=False)
        except VerificationError as err:
            status.update(label="Verification failed: nothing was kept", state="error")
            st.error(str(err))
            if err.report is not None:
                st.dataframe(report_table(err.report), hide_index=True, width="stretch")
        except StudioError as err:
            status.update(label="The rewrite was refused", state="error")
            st.error(str(err))

applied = session.rewrite
if applied is not None:
    report = applied.result.report
    st.subheader("Verification report")
    if applied.request != request:
        st.caption("This is the last applied rewrite; the choices above have changed since. Apply again to use them.")
    st.success(f"Signature `{applied.result.plan.result_name}` written and verified: {report.summary}.")
    unverified = [check for check in report.checks if check.status is CheckStatus.NOT_VERIFIED]
    for check in unverified:
        st.warning(f"Not verified ({check.loader}): {check.name}: {check.detail}")
    st.dataframe(report_table(report), hide_index=True, width="stretch")

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
