"""Try: run any signature of the original or the rewritten model on a TF Serving REST body
(answered as exact JSON text, as TF Serving would send it), on a small CSV file, or on a whole
file of rows through the Apache Beam pipeline of ``python -m core predict``, with results to
download. Every response belongs to the model and signature it came from."""

import streamlit as st

from core.errors import StudioError
from core.present.tables import exact_frame
from core.present.words import escape_markdown, shape_text, unsafe_ops_warning
from core.progress import Progress
from core.savedmodel.handle import ModelHandle
from core.serve.rest import (
    TRY_LIMITS,
    example_request,
    format_rest_response,
    parse_rest_request,
    request_text,
    response_text,
)
from core.serve.tabular import DEFAULT_BATCH_SIZE, read_csv_batch, results_as_jsonl, run_in_batches
from core.studio.session import TryAnswer
from pages.common import page_start, say, widget_key
from pages.try_batch import render_batch_run

session, model = page_start("Try")

choices = ["Original"] + (["Rewritten"] if session.rewrite is not None else [])
which = st.radio("Model", choices, key=widget_key("try_model", model.digest), horizontal=True, index=len(choices) - 1)
if which == "Rewritten":
    handle: ModelHandle = session.rewrite.handle
    digest, default_signature = session.rewrite.digest, session.rewrite.result.plan.result_name
else:
    handle, digest, default_signature = model.handle, model.digest, "serving_default"
default_key = session.rewrite.result.plan.key if which == "Rewritten" else None
info = handle.info
names = info.public_signatures
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
        "info",
        f"Input {', '.join(repr(name) for name in example_inputs)} takes serialized tf.Example protos carrying the "
        f'features {features or "(none found in the graph)"}; send each as {{"b64": "<base64 of the serialized Example>"}}, '
        "as the example request below does.",
    )

if info.missing_checkpoint:
    say("error", f"This model cannot run: {info.missing_checkpoint}.")
    st.stop()
trusted = False
if info.unsafe_ops:
    say("warning", unsafe_ops_warning(info, "Running it may read or write files or run code."))
    trusted = st.checkbox("I trust this model: run it anyway", key=widget_key("try_confirm_unsafe", digest))
    if not trusted:
        st.stop()
waiting = st.empty()
model_runner = session.model_runner(handle, allow_unsafe_ops=trusted, progress=Progress(report=waiting.caption))

json_tab, csv_tab, batch_tab = st.tabs(["JSON request", "CSV (a few rows)", "Batch run (Apache Beam)"])
with json_tab:
    # Answers live in the session, so a reloaded page shows the last request and its response.
    json_owner = (*owner, "json")
    answered = session.try_answer(json_owner)
    example = request_text(example_request(signature, example_spec=handle.example_spec, example_inputs=example_inputs))
    body = st.text_area(
        f'Request body (TF Serving REST: row format with "instances" or columnar with "inputs"; {TRY_LIMITS})',
        value=answered.request if answered is not None else example,
        height=260,
        key=widget_key("try_json", *owner),
    )
    if st.button("Run request", type="primary", key="try_run_json"):
        try:
            request = parse_rest_request(body, info.signatures)
            with st.spinner("Running in a worker…"):
                outputs = model_runner.run(request.signature, request.feeds)
            answered = TryAnswer(body, result=response_text(format_rest_response(outputs, request.row_format)))
        except StudioError as err:
            answered = TryAnswer(body, error=str(err))
        session.remember_try_answer(json_owner, answered)
    if answered is not None and answered.error is not None:
        say("error", answered.error)
    elif answered is not None:
        st.markdown("**Response**")
        st.code(answered.result, language="json", wrap_lines=True)
        st.download_button(
            "Download the response (JSON)",
            answered.result,
            "response.json",
            "application/json",
            key=widget_key("try_download_response", *owner),
            on_click="ignore",
        )

with csv_tab:
    st.caption(
        f"One column per input ({escape_markdown(', '.join(signature.inputs))}); tensors with more than one value per row "
        "are written as JSON arrays in their cell."
    )
    csv_file = st.file_uploader("Upload a CSV whose columns are the inputs", type=["csv"], key=widget_key("try_csv", digest))
    batch_size = st.number_input("Batch size", min_value=1, max_value=100_000, value=DEFAULT_BATCH_SIZE, key="try_batch")
    csv_owner = (*owner, "csv")
    if st.button("Run CSV", type="primary", key="try_run_csv", disabled=csv_file is None):
        progress = st.progress(0.0, text="Running batches…")
        try:
            feeds = read_csv_batch(csv_file.getvalue(), signature)
            frame = run_in_batches(
                model_runner,
                signature_name,
                feeds,
                batch_size=int(batch_size),
                progress=lambda fraction: progress.progress(fraction, text=f"Running batches… {fraction:.0%}"),
            )
            session.remember_try_answer(csv_owner, TryAnswer(csv_file.name, result=(frame, results_as_jsonl(feeds, frame))))
            progress.progress(1.0, text=f"{len(frame)} rows done")
        except StudioError as err:
            progress.empty()
            session.remember_try_answer(csv_owner, TryAnswer(csv_file.name, error=str(err)))
    ran = session.try_answer(csv_owner)
    if ran is not None and ran.error is not None:
        say("error", ran.error)
    elif ran is not None:
        frame, jsonl = ran.result
        st.caption(f"Results of {escape_markdown(ran.request)}")
        st.dataframe(exact_frame(frame), hide_index=True, width="stretch")
        csv_column, jsonl_column = st.columns(2)
        csv_column.download_button(
            "Download results (CSV)",
            frame.to_csv(index=False),
            "predictions.csv",
            "text/csv",
            key="try_download_csv",
            on_click="ignore",
        )
        jsonl_column.download_button(
            "Download results (JSON lines)",
            jsonl,
            "predictions.jsonl",
            "application/jsonl",
            key="try_download_jsonl",
            on_click="ignore",
        )

with batch_tab:
    key_input = default_key if default_key in signature.inputs else None
    render_batch_run(session, handle, digest, signature_name, trusted=trusted, default_key=key_input)
