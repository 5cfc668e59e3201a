"""Try's two quick ways of asking: a TF Serving REST body (answered as the exact JSON text TF
Serving would send) and a small CSV file of rows. Answers live in the session, so a reloaded
page shows the last request and its response."""

import streamlit as st

from core.errors import StudioError
from core.present.tables import exact_frame
from core.present.words import escape_markdown
from core.savedmodel.handle import ModelHandle
from core.savedmodel.info import SignatureInfo
from core.serve.models import WorkerModel
from core.serve.rest import (
    TRY_LIMITS,
    example_request,
    parse_rest_request,
    request_text,
    response_text,
    rest_response,
)
from core.serve.tabular import DEFAULT_CSV_BATCH_ROWS, read_csv_batch, results_as_jsonl, run_in_batches
from core.studio.running import TryAnswer, TryWay
from core.studio.session import StudioSession
from pages.common import Message, say, widget_key


def render_json_request(
    session: StudioSession, handle: ModelHandle, signature: SignatureInfo, owner: tuple[str, str], model_runner: WorkerModel
) -> None:
    """A TF Serving REST body for ``signature`` (prefilled with an example), its exact response."""
    info, example_inputs = handle.info, handle.example_inputs(signature.name)
    # Answers live in the session, so a reloaded page shows the last request and its response.
    json_owner = (*owner, TryWay.JSON)
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
            request = parse_rest_request(
                body, info.signatures, example_spec=handle.example_spec, example_inputs=handle.example_inputs
            )
            with st.spinner("Running in a worker…"):
                outputs = model_runner.run(request.signature, request.feeds)
            answered = TryAnswer(body, result=response_text(rest_response(outputs, request)))
        except StudioError as err:
            answered = TryAnswer(body, error=str(err))
        session.remember_try_answer(json_owner, answered)
    if answered is not None and answered.error is not None:
        say(Message.ERROR, answered.error)
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


def render_csv_rows(session: StudioSession, signature: SignatureInfo, owner: tuple[str, str], model_runner: WorkerModel) -> None:
    """A small CSV file of rows through ``signature``, in batches; the results to download."""
    signature_name = signature.name
    st.caption(
        f"One column per input ({escape_markdown(', '.join(signature.inputs))}); tensors with more than one value per row "
        "are written as JSON arrays in their cell."
    )
    csv_file = st.file_uploader("Upload a CSV whose columns are the inputs", type=["csv"], key=widget_key("try_csv", owner[0]))
    batch_size = st.number_input("Batch size", min_value=1, max_value=100_000, value=DEFAULT_CSV_BATCH_ROWS, key="try_batch")
    csv_owner = (*owner, TryWay.CSV)
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
        say(Message.ERROR, ran.error)
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
