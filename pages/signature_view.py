"""A signature drawn the same way on every page: a picture (inputs → model → outputs), then
its inputs and outputs as tables."""

import streamlit as st

from core.present.diagram import signature_diagram
from core.present.tables import signature_table
from core.present.words import SHAPE_HELP
from core.rewrite.plan import RewritePlan
from core.savedmodel.info import Side, SignatureInfo


def render_signature(signature: SignatureInfo, *, stacked: bool = False, plan: RewritePlan | None = None) -> None:
    """A signature as a picture (inputs → model → outputs), then two tables: side by side, or
    one above the other (``stacked``) where the signature sits in a half-width column.

    With ``plan`` (whose result this is), the key and forwarded inputs are drawn passing by."""
    internal = " · internal" if signature.internal else ""
    st.markdown(f"#### `{signature.name}`")
    st.caption(f"method: `{signature.method_name or '—'}`{internal}")
    st.graphviz_chart(signature_diagram(signature, plan=plan), width="content")  # its own size on every page
    if plan is not None and signature.name == plan.result_name:
        legend = [":orange[**- - ▶**] the key passes by the model"] if plan.key else []
        legend += [":blue[**- - ▶**] forwarded inputs pass by it too"] if plan.request.forwards else []
        if legend:
            st.caption("; ".join(legend) + ".")
    places = (st.container(), st.container()) if stacked else st.columns(2)
    for place, side in zip(places, Side, strict=True):
        place.markdown(f"**{side.plural.capitalize()}**")
        place.table(signature_table(signature, side).to_frame(), hide_index=True)  # tensor names wrap, never cut
    st.caption(f"Shapes: {SHAPE_HELP}.")
