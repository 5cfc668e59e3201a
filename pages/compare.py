"""Compare: two signatures side by side — original vs rewritten, two of one model (the original
or the rewritten), or the loaded model vs a second upload — with added, removed, renamed and
changed rows marked in words and colour, and a picture of each."""

import pandas as pd
import streamlit as st

from core.errors import StudioError
from core.present.tables import contract_table, diff_table
from core.present.words import CHANGE_MARKERS, escape_markdown
from core.rewrite.plan import RewritePlan
from core.savedmodel.contract import contract_changes, contract_verdict
from core.savedmodel.diff import Change
from core.studio.applying import ModelVersion
from core.studio.compare import CompareMode, CompareSide, Comparison, base_side, served_side
from core.studio.loading import UPLOAD_SUFFIXES
from pages.common import UPLOAD_LABEL, Message, page_start, say, widget_key
from pages.signature_view import render_signature

ROW_COLOURS = {
    CHANGE_MARKERS[Change.ADDED]: "#d7f5dd",
    CHANGE_MARKERS[Change.REMOVED]: "#fbdcdc",
    CHANGE_MARKERS[Change.CHANGED]: "#fff1c2",
    CHANGE_MARKERS[Change.RENAMED]: "#dde8fb",
}


def pick(column, side: CompareSide, name: str, avoid: str | None = None) -> str:
    """The signature chosen on ``side``; its selector belongs to that side's model and the mode."""
    names = side.info.public_signatures
    return column.selectbox(
        f"Signature {name} ({side.label})",
        names,
        index=names.index(side.default_signature(avoid)),
        key=widget_key("compare_signature", name, mode, side.digest),
    )


session, model = page_start("Compare")
original = CompareSide(model.label, model.digest, model.handle.info, None)
rewrite = session.rewrite
rewritten = None
if rewrite is not None:
    rewritten = CompareSide("rewritten", rewrite.digest, rewrite.handle.info, rewrite.result.plan.result_name)

modes = list(CompareMode)
mode = st.radio(
    "Compare", modes, format_func=str, key=widget_key("compare_mode", model.digest), horizontal=True, index=0 if rewrite else 1
)
plan: RewritePlan | None = rewrite.result.plan if rewrite is not None else None
if mode == CompareMode.ORIGINAL_VS_REWRITTEN:
    if rewritten is None:
        say(Message.INFO, "Nothing rewritten yet: apply a rewrite on the Edit page first.")
        st.stop()
    left, right = base_side(model.label, model.digest, original.info, plan), rewritten
elif mode == CompareMode.TWO_SIGNATURES:
    which = ModelVersion.ORIGINAL
    if rewritten is not None:
        which = st.radio(
            "Model", list(ModelVersion), format_func=str, key=widget_key("compare_which", model.digest), horizontal=True
        )
    side = original if which == ModelVersion.ORIGINAL else rewritten
    kept = plan.request.keep_original if plan is not None and side is rewritten else None
    left, right = (
        CompareSide(side.label, side.digest, side.info, kept),
        CompareSide(side.label, side.digest, side.info, side.default),
    )
elif mode == CompareMode.SERVED:
    metadata = st.file_uploader(
        "TF Serving's metadata of the deployed model (JSON from GET /v1/models/NAME/metadata)",
        type=["json"],
        key=widget_key("compare_metadata", model.digest),
    )
    if metadata is None:
        st.stop()
    try:
        left = served_side(metadata.name, metadata.getvalue(), original.info)
    except StudioError as err:
        say(Message.ERROR, str(err))
        st.stop()
    right = rewritten or original
    st.caption(f"What changes for its clients if {escape_markdown(right.label)} replaces it.")
else:
    second = st.file_uploader(f"{UPLOAD_LABEL} to compare with", type=list(UPLOAD_SUFFIXES), key="compare_upload")
    other = session.comparison  # kept until the loaded model changes, also when the uploader forgot it
    if second is not None:
        try:
            with st.spinner("Loading the second model…"):
                other = session.load_comparison_upload(second.name, second.getvalue())
        except StudioError as err:
            say(Message.ERROR, str(err))
            other = None
    if other is None:
        st.stop()
    if second is None:
        st.caption(f"Comparing with {escape_markdown(other.label)}, uploaded before.")
    left, right = original, CompareSide(other.label, other.digest, other.handle.info, None)

left_column, right_column = st.columns(2)
left_name = pick(left_column, left, "A")
right_name = pick(right_column, right, "B", avoid=left_name if left.digest == right.digest else None)


comparison = Comparison(left, left_name, right, right_name, model.digest, plan, rewrite.digest if rewrite else None)
diff = comparison.diff()
st.markdown(f"**{diff.summary}**")
if diff.identical:
    st.success("The two signatures are identical.")
if mode == CompareMode.SERVED:
    changes = contract_changes(diff)
    verdict = contract_verdict(changes)
    say(Message.ERROR if verdict.startswith("breaking") else Message.SUCCESS, verdict[0].upper() + verdict[1:] + ".")
    if changes:
        st.table(contract_table(changes).to_frame(), hide_index=True)


ROW_PIXELS = 35  # Streamlit's row height in a dataframe


def _colour_rows(row: pd.Series) -> list[str]:
    colour = ROW_COLOURS.get(row["change"], "")
    return [f"background-color: {colour}" if colour else "" for _ in row]


table = diff_table(diff).to_frame()
# Every row in view (a wide model's added key would otherwise hide below a scroll box).
st.dataframe(table.style.apply(_colour_rows, axis=1), hide_index=True, width="stretch", height=ROW_PIXELS * (len(table) + 1) + 3)
st.caption(
    "Rows are marked in words as well as by colour: + added, - removed, > renamed (the same tensor under a new name), "
    "~ changed (dtype or shape), . tensor renamed (same name, dtype and shape; only the graph tensor behind it differs)."
)

left_full, right_full = st.columns(2)
with left_full:
    render_signature(left.info.signatures[left_name], stacked=True, plan=plan if comparison.on_rewritten(left) else None)
with right_full:
    render_signature(right.info.signatures[right_name], stacked=True, plan=plan if comparison.on_rewritten(right) else None)
