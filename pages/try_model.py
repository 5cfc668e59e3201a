"""Try: run any signature of the original or the rewritten model on a TF Serving REST body
or on a CSV file run in batches, with results downloadable as CSV or JSON lines."""

import streamlit as st

from core.errors import StudioError
from core.serve.rest import example_request, format_rest_response, parse_rest_request, request_text
from core.serve.tabular import DEFAULT_BATCH_SIZE, read_csv_batch, results_as_jsonl, run_in_batches
from pages.common import model_info, page_start, serving_model

session, model = page_start("Try")

choices = ["Original"] + (["Rewritten"] if session.rewrite is not None else [])
which = st.radio("Model", choices, key="try_model", horizontal=True, index=len(choices) - 1)
if which == "Rewritten":
    info, handle, digest = session.rewrite.handle.info, session.rewrite.handle, session.rewrite.digest
    default_signature = session.rewrite.result.plan.result_name
else:
    info, handle, digest = model_info(model), model.handle, model.digest
    default_signature = "serving_default"
names = info.public_signatures
signature_name = st.selectbox(
    "Signature", names, index=names.index(default_signature) if default_signature in names else 0, key="try_signature"
)
signature = info.signatures[signature_name]
st.caption(f"Inputs: {', '.join(f'{n} ({s.dtype})' for n, s in signature.inputs.items())}")

if info.unsafe_ops:
    st.warning(f"This model uses unsafe ops ({', '.join(info.unsafe_ops)}): running it may read or write files or run code.")
    if not st.checkbox("I trust this model: run it anyway", key=f"try_confirm_unsafe_{digest}"):
        st.stop()

json_tab, csv_tab = st.tabs(["JSON request", "CSV batch"])
with json_tab:
    body = st.text_area(
        'Request body (TF Serving REST: row format with "instances" or columnar with "inputs")',
        value=request_text(example_request(signature)),
        height=260,
        key=f"try_json_{which}_{signature_name}",
    )
    if st.button("Run request", type="primary", key="try_run_json"):
        try:
            request = parse_rest_request(body, info.signatures)
            outputs = serving_model(handle, digest).run(request.signature, request.feeds)
            st.session_state["try_json_response"] = format_rest_response(outputs, request.row_format)
        except StudioError as err:
            st.session_state.pop("try_json_response", None)
            st.error(str(err))
    if "try_json_response" in st.session_state:
        st.markdown("**Response**")
        st.json(st.session_state["try_json_response"])

with csv_tab:
    st.caption(
        f"One column per input ({', '.join(signature.inputs)}); tensors with more than one value per row are "
        "written as JSON arrays in their cell."
    )
    csv_file = st.file_uploader("Upload a CSV whose columns are the inputs", type=["csv"], key="try_csv")
    batch_size = st.number_input("Batch size", min_value=1, max_value=100_000, value=DEFAULT_BATCH_SIZE, key="try_batch")
    if st.button("Run CSV", type="primary", key="try_run_csv", disabled=csv_file is None):
        progress = st.progress(0.0, text="Running batches…")
        try:
            feeds = read_csv_batch(csv_file.getvalue(), signature)
            frame = run_in_batches(
                serving_model(handle, digest),
                signature_name,
                feeds,
                batch_size=int(batch_size),
                progress=lambda fraction: progress.progress(fraction, text=f"Running batches… {fraction:.0%}"),
            )
            st.session_state["try_csv_result"] = (frame, results_as_jsonl(feeds, frame))
            progress.progress(1.0, text=f"{len(frame)} rows done")
        except StudioError as err:
            progress.empty()
            st.session_state.pop("try_csv_result", None)
            st.error(str(err))
    if "try_csv_result" in st.session_state:
        frame, jsonl = st.session_state["try_csv_result"]
        st.dataframe(frame, hide_index=True, width="stretch")
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
