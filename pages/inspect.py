"""Inspect: what the loaded model offers — summary, signatures, unsafe ops, JSON download."""

import json

import streamlit as st

from core.present.tables import summary_table
from core.present.words import format_bytes, unsafe_ops_warning
from pages.common import Message, page_start, say
from pages.signature_view import render_signature

session, model = page_start("Inspect")
info = model.handle.info

st.markdown(
    "Signature Studio rewrites the serving signatures of a TensorFlow SavedModel — adds an instance key "
    "that comes back with every prediction, forwards inputs, renames outputs — and proves the result lost nothing. "
    "Choose a model in the sidebar, read its signatures below, then open **Edit** to rewrite one."
)

if info.unsafe_ops:
    say(Message.WARNING, unsafe_ops_warning(info, "Run it only if you trust where it came from."))
if info.missing_checkpoint:
    say(Message.ERROR, info.missing_checkpoint)
if info.object_loader_problem:
    say(Message.WARNING, info.object_loader_problem)

# The format and the variables are the long values: their columns are the wide ones.
format_column, version_column, signatures_column, variables_column = st.columns([3, 2, 2, 3])
format_column.metric("Format", info.format.label)
version_column.metric("TensorFlow", info.tensorflow_version or "unknown")
signatures_column.metric("Signatures", len(info.public_signatures))
variables_column.metric("Variables", f"{info.variables.count} · {format_bytes(info.variables.bytes)}")
st.table(summary_table(info).to_frame(), hide_index=True)
with st.expander(f"Ops used ({len(info.ops)} kinds)", expanded=False):
    st.caption(", ".join(info.ops))

show_internal = st.toggle("Show internal signatures", key="inspect_show_internal")
for signature in info.signatures.values():
    if signature.internal and not show_internal:
        continue
    render_signature(signature)

st.download_button(
    "Download the inspection as JSON",
    data=json.dumps(info.to_json(), indent=2),
    file_name=f"{session.model_stem()}_inspection.json",
    mime="application/json",
    key="inspect_download_json",
)
