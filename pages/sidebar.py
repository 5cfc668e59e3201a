"""The sidebar: the model picker (a sample, an upload or an allowed server path) and the status
of what is loaded and rewritten."""

from __future__ import annotations

import threading
from collections.abc import Callable

import streamlit as st

from core.errors import DiskAllowanceError, StudioError
from core.present.words import escape_markdown
from core.studio.loading import DEFAULT_SAMPLE, UPLOAD_SUFFIXES, PickerSource, sample_names
from core.studio.session import StudioSession
from pages.common import SESSION_KEY, UPLOAD_LABEL, Message, say, studio


def _load(session: StudioSession, token: tuple[PickerSource, str], action: Callable[[], object], *, retry: bool = False) -> None:
    """Run ``action`` once per picker choice ``token``; a refused choice is refused again
    without being tried, until the user asks again (``retry``)."""
    if session.picked == token:
        return
    refusal_key = f"{token[0]}:{token[1]}"
    if retry:
        session.refusals.pop(refusal_key, None)
    if refusal_key in session.refusals:
        say(Message.ERROR, session.refusals[refusal_key], st.sidebar)
        return
    with st.spinner("Loading the model…"):
        try:
            action()
        except DiskAllowanceError as err:  # not the choice's fault: it may fit later
            say(Message.ERROR, str(err), st.sidebar)
            return
        except StudioError as err:
            session.refusals[refusal_key] = str(err)
            say(Message.ERROR, str(err), st.sidebar)
            return
    session.picked = token


def render_model_picker() -> None:
    """The sidebar: choose a sample, upload a file, or type an allowed server path."""
    session = studio()
    sidebar = st.sidebar
    sidebar.header("Model")
    source = sidebar.radio("Source", list(PickerSource), format_func=str, key="picker_source", horizontal=True)
    if session.job is not None and session.job.running:
        sidebar.caption("An Apply is running: loading another model cancels it.")
    if source == PickerSource.SAMPLE:
        names = sample_names()
        name = sidebar.selectbox("Sample model", names, index=names.index(DEFAULT_SAMPLE), key="picker_sample")
        _load(session, (PickerSource.SAMPLE, name), lambda: session.load_sample(name))
    elif source == PickerSource.UPLOAD:
        uploaded = sidebar.file_uploader(UPLOAD_LABEL, type=list(UPLOAD_SUFFIXES), key="picker_upload")
        if uploaded is not None:
            _load(
                session,
                (PickerSource.UPLOAD, uploaded.file_id),
                lambda: session.load_upload(uploaded.name, uploaded.getvalue(), identity=f"upload:{uploaded.file_id}"),
            )
    else:
        roots = ", ".join(str(root) for root in session.roots)
        path = sidebar.text_input("Path on the server", key="picker_path", help=f"Allowed under: {roots}")
        if sidebar.button("Load path", key="picker_load_path"):
            session.picked = None
            _load(session, (PickerSource.SERVER_PATH, path), lambda: session.load_path(path), retry=True)


_THIS_RUN = threading.local()  # Streamlit runs each session's script in its own thread


def render_sidebar_status(place) -> None:
    """What is loaded and rewritten, drawn after the page ran (so an Apply shows at once); the
    place is kept for ``refresh_sidebar_status`` during the run."""
    _THIS_RUN.status_place = place
    session = st.session_state.get(SESSION_KEY)
    if session is None or session.model is None:
        return
    with place.container():
        version = f" · TF Serving version {session.model.version}" if session.model.version is not None else ""
        st.success(f"Loaded: **{escape_markdown(session.model.label)}**{version}")
        job = session.job
        if job is not None and job.running:
            st.info("Applying… (its progress is on the Edit page)")
        elif session.rewrite is not None:
            report = session.rewrite.result.report
            proven = "verified" if report.fully_verified else "partly verified: see Edit"
            st.info(f"Rewritten: signature **{escape_markdown(session.rewrite.result.plan.result_name)}** ({proven})")


def refresh_sidebar_status() -> None:
    """Redraw the sidebar's status now (a page that watches a running job calls it)."""
    place = getattr(_THIS_RUN, "status_place", None)
    if place is not None:
        render_sidebar_status(place)
