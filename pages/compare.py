"""Compare: two signatures side by side — original vs rewritten, two of one model, or the
loaded model vs a second upload — with added, removed and changed rows marked."""

import pandas as pd
import streamlit as st

from core.errors import StudioError
from core.present.tables import diff_table
from core.present.words import CHANGE_MARKERS
from core.savedmodel.diff import Change, diff_signatures
from core.savedmodel.info import ModelInfo
from core.studio.session import UPLOAD_SUFFIXES
from pages.common import UPLOAD_LABEL, model_info, page_start, render_signature

ROW_COLOURS = {
    CHANGE_MARKERS[Change.ADDED]: "#d7f5dd",
    CHANGE_MARKERS[Change.REMOVED]: "#fbdcdc",
    CHANGE_MARKERS[Change.CHANGED]: "#fff1c2",
    CHANGE_MARKERS[Change.RENAMED]: "#dde8fb",
}
MODES = ("Original vs rewritten", "Two signatures of this model", "This model vs another upload")

session, model = page_start("Compare")
info = model_info(model)

mode = st.radio("Compare", MODES, key="compare_mode", horizontal=True, index=0 if session.rewrite else 1)
left_info: ModelInfo = info
right_info: ModelInfo | None = None
left_label = right_label = model.label
if mode == MODES[0]:
    if session.rewrite is None:
        st.info("Nothing rewritten yet: apply a rewrite on the Edit page first.")
        st.stop()
    right_info = session.rewrite.result.output_info
    right_label = "rewritten"
    left_default, right_default = session.rewrite.result.plan.base.name, session.rewrite.result.plan.result_name
elif mode == MODES[1]:
    right_info = info
    left_default = right_default = None
else:
    second = st.file_uploader(f"{UPLOAD_LABEL} to compare with", type=list(UPLOAD_SUFFIXES), key="compare_upload")
    if second is not None:
        try:
            with st.spinner("Loading the second model…"):
                other = session.load_comparison_upload(second.name, second.getvalue())
            right_info, right_label = model_info(other), other.label
        except StudioError as err:
            st.error(str(err))
    if right_info is None:
        st.stop()
    left_default = right_default = None


def _pick(column, label: str, model: ModelInfo, default: str | None, key: str, fallback_index: int = 0) -> str:
    names = model.public_signatures
    index = names.index(default) if default in names else min(fallback_index, len(names) - 1)
    return column.selectbox(label, names, index=index, key=key)


left_column, right_column = st.columns(2)
left_name = _pick(left_column, f"Signature A ({left_label})", left_info, left_default, "compare_left")
right_name = _pick(right_column, f"Signature B ({right_label})", right_info, right_default, "compare_right", fallback_index=1)
diff = diff_signatures(left_info.signatures[left_name], right_info.signatures[right_name])

st.markdown(f"**{diff.summary}**")
if diff.identical:
    st.success("The two signatures are identical.")


def _colour_rows(row: pd.Series) -> list[str]:
    colour = ROW_COLOURS.get(row["change"], "")
    return [f"background-color: {colour}" if colour else "" for _ in row]


table = diff_table(diff).to_frame()
st.dataframe(table.style.apply(_colour_rows, axis=1), hide_index=True, width="stretch")
st.caption(
    "Rows are marked in words as well as by colour: + added, - removed, > renamed (the same tensor under a new name), "
    "~ changed (dtype or shape), . tensor renamed (same name, dtype and shape; only the graph tensor behind it differs)."
)

with st.expander("Both signatures in full"):
    left_full, right_full = st.columns(2)
    with left_full:
        render_signature(left_info.signatures[left_name], stacked=True)
    with right_full:
        render_signature(right_info.signatures[right_name], stacked=True)
