"""What every page shares: the session, the sidebar model picker, cached inspection and
serving models, and a few rendering helpers. No decisions live here: they are in ``core``."""

from __future__ import annotations

import streamlit as st

from core.errors import StudioError
from core.execution.loaders import ServingModel, load_for_serving
from core.present.tables import signature_table
from core.savedmodel.handle import ModelHandle
from core.savedmodel.info import ModelInfo, SignatureInfo
from core.studio.session import DEFAULT_SAMPLE, UPLOAD_SUFFIXES, LoadedModel, StudioSession, sample_names

SESSION_KEY = "studio"
LOADED_TOKEN_KEY = "picker_loaded_token"
SOURCE_CHOICES = ("Sample", "Upload", "Server path")
UPLOAD_LABEL = "Upload a SavedModel archive or Keras file"


def studio() -> StudioSession:
    """This browser session's ``StudioSession``, created once with the default sample loaded."""
    if SESSION_KEY not in st.session_state:
        try:
            session = StudioSession()
            session.load_sample(DEFAULT_SAMPLE)
        except StudioError as err:  # a misconfigured deployment: say so, do not crash
            st.error(str(err))
            st.stop()
        st.session_state[SESSION_KEY] = session
        st.session_state[LOADED_TOKEN_KEY] = ("Sample", DEFAULT_SAMPLE)
    return st.session_state[SESSION_KEY]


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _serving_model(digest: str, _handle: ModelHandle) -> ServingModel:
    """Loaded models cached by content digest and shared read-only across sessions."""
    return load_for_serving(_handle)


def page_start(title: str) -> tuple[StudioSession, LoadedModel]:
    """Title a page and return the session and its loaded model (the page stops if none)."""
    session = studio()
    st.title(title)
    if session.model is None:
        st.info("Choose a model in the sidebar.")
        st.stop()
    st.caption(f"Model: **{session.model.label}**")
    return session, session.model


def model_info(model: LoadedModel) -> ModelInfo:
    """What ``inspect`` reports of the model (read once, with the model)."""
    return model.handle.info


def serving_model(handle: ModelHandle, digest: str) -> ServingModel:
    return _serving_model(digest, handle)


def _load(token: tuple[str, str], action) -> None:
    if st.session_state.get(LOADED_TOKEN_KEY) == token:
        return
    with st.spinner("Loading the model…"):
        try:
            action()
        except StudioError as err:
            st.sidebar.error(str(err))
            return
    st.session_state[LOADED_TOKEN_KEY] = token


def render_model_picker() -> None:
    """The sidebar: choose a sample, upload a file, or type an allowed server path."""
    session = studio()
    sidebar = st.sidebar
    sidebar.header("Model")
    source = sidebar.radio("Source", SOURCE_CHOICES, key="picker_source", horizontal=True)
    if source == "Sample":
        names = sample_names()
        name = sidebar.selectbox("Sample model", names, index=names.index(DEFAULT_SAMPLE), key="picker_sample")
        _load(("Sample", name), lambda: session.load_sample(name))
    elif source == "Upload":
        uploaded = sidebar.file_uploader(UPLOAD_LABEL, type=list(UPLOAD_SUFFIXES), key="picker_upload")
        if uploaded is not None:
            _load(("Upload", uploaded.file_id), lambda: session.load_upload(uploaded.name, uploaded.getvalue()))
    else:
        roots = ", ".join(str(root) for root in session.roots)
        path = sidebar.text_input("Path on the server", key="picker_path", help=f"Allowed under: {roots}")
        if sidebar.button("Load path", key="picker_load_path"):
            st.session_state.pop(LOADED_TOKEN_KEY, None)
            _load(("Server path", path), lambda: session.load_path(path))
    if session.model is not None:
        version = f" · TF Serving version {session.model.version}" if session.model.version is not None else ""
        sidebar.success(f"Loaded: **{session.model.label}**{version}")
        if session.rewrite is not None:
            sidebar.info(f"Rewritten: signature **{session.rewrite.result.plan.result_name}** (verified)")


def render_signature(signature: SignatureInfo, *, stacked: bool = False) -> None:
    """A signature as its method name and two tables, inputs and outputs: side by side, or
    one above the other (``stacked``) where the signature itself sits in a half-width column."""
    internal = " · internal" if signature.internal else ""
    st.markdown(f"#### `{signature.name}`")
    st.caption(f"method: `{signature.method_name or '—'}`{internal}")
    places = (st.container(), st.container()) if stacked else st.columns(2)
    for place, side in zip(places, ("inputs", "outputs"), strict=True):
        place.markdown(f"**{side.capitalize()}**")
        place.dataframe(signature_table(signature, side).to_frame(), hide_index=True, width="stretch")
