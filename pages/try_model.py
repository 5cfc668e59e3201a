"""Try: run any signature of the original or the rewritten model on a TF Serving REST body
(answered as exact JSON text, as TF Serving would send it), on a small CSV file, or on a whole
file of rows through the Apache Beam pipeline of ``python -m core predict``, with results to
download. Every response belongs to the model and signature it came from."""

import streamlit as st

from core.present.words import escape_markdown, shape_text, unsafe_ops_warning
from core.progress import Progress
from core.rewrite.raw_features import example_signatures
from core.savedmodel.handle import ModelHandle
from core.serve.example_requests import examples_body_text, takes_examples_body
from core.studio.applying import ModelVersion
from pages.common import Message, page_start, say, widget_key
from pages.try_batch import render_batch_run
from pages.try_requests import render_csv_rows, render_json_request

session, model = page_start("Try")

choices = [ModelVersion.ORIGINAL] + ([ModelVersion.REWRITTEN] if session.rewrite is not None else [])
which = st.radio(
    "Model", choices, format_func=str, key=widget_key("try_model", model.digest), horizontal=True, index=len(choices) - 1
)
if which == ModelVersion.REWRITTEN:
    handle: ModelHandle = session.rewrite.handle
    digest, default_signature = session.rewrite.digest, session.rewrite.result.plan.result_name
else:
    handle, digest, default_signature = model.handle, model.digest, "serving_default"
default_key = session.rewrite.result.plan.key if which == ModelVersion.REWRITTEN else None
info = handle.info
names = info.public_signatures
if not names:
    say(Message.INFO, "This model has no serving signature to try; serve one of its functions as a signature on the Edit page.")
    st.stop()
signature_name = st.selectbox(
    "Signature",
    names,
    index=names.index(default_signature) if default_signature in names else 0,
    key=widget_key("try_signature", digest),
)
signature = info.signatures[signature_name]
owner = (digest, signature_name)
st.caption(f"Inputs: {escape_markdown(', '.join(f'{n} ({s.dtype} {shape_text(s.shape)})' for n, s in signature.inputs.items()))}")
example_inputs = handle.example_inputs(signature_name)
if example_inputs:
    features = ", ".join(f"{name} ({dtype} {shape_text(shape)})" for name, (dtype, shape) in handle.example_spec.dense.items())
    features += "".join(f", {name} ({dtype}, sparse)" for name, dtype in handle.example_spec.sparse.items())
    say(
        Message.INFO,
        f"Input {', '.join(repr(name) for name in example_inputs)} takes serialized tf.Example protos carrying the "
        f'features {features or "(none found in the graph)"}; send each as {{"b64": "<base64 of the serialized Example>"}}, '
        "as the example request below does."
        + (
            f" Or send TF Serving's {signature.method_name.rsplit('/', 1)[-1]} body, and Try builds each Example from the "
            f"values: {examples_body_text(signature.name, handle.example_spec)}"
            if takes_examples_body(signature.method_name)
            else ""
        )
        + (
            " To send the features as plain tensors instead, give the model a raw-feature signature on the Edit page."
            if signature_name in example_signatures(info)
            else ""
        ),
    )

if info.missing_checkpoint:
    say(Message.ERROR, f"This model cannot run: {info.missing_checkpoint}.")
    st.stop()
trusted = False
if info.unsafe_ops:
    say(Message.WARNING, unsafe_ops_warning(info, "Running it may read or write files or run code."))
    trusted = st.checkbox("I trust this model: run it anyway", key=widget_key("try_confirm_unsafe", digest))
    if not trusted:
        st.stop()
waiting = st.empty()
model_runner = session.model_runner(handle, allow_unsafe_ops=trusted, progress=Progress(report=waiting.caption))

json_tab, csv_tab, batch_tab = st.tabs(["JSON request", "CSV (a few rows)", "Batch run (Apache Beam)"])
with json_tab:
    render_json_request(session, handle, signature, owner, model_runner)
with csv_tab:
    render_csv_rows(session, signature, owner, model_runner)
with batch_tab:
    key_input = default_key if default_key in signature.inputs else None
    render_batch_run(session, handle, digest, signature_name, trusted=trusted, default_key=key_input)
