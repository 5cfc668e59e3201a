"""What every page shares: the session (found again after a reload), the page's start, widget
keys, messages shown as plain text, and watching a background job. No decisions live here:
they are in ``core``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import NoReturn

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.errors import StudioError
from core.execution.sandbox import sandbox_warning
from core.present.words import escape_markdown
from core.studio.jobs import Job
from core.studio.loading import DEFAULT_SAMPLE, LoadedModel, PickerSource
from core.studio.registry import SessionRegistry
from core.studio.session import StudioSession
from core.studio.workspace import sweep_stale_workspaces

SESSION_KEY = "studio"
TOKEN_KEY = "studio_token"
TOKEN_PARAMETER = "session"
UPLOAD_LABEL = "Upload a SavedModel archive or Keras file"
SWEEP_SECONDS = 30
PROGRESS_SECONDS = 0.5  # how often a watched job is redrawn


class Message(StrEnum):
    """The kinds of message a page shows (each is Streamlit's function of that name)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    SUCCESS = "success"


def say(kind: Message, text: str, place=st) -> None:
    """Show ``text`` as it is (no Markdown surprises) as an error, warning, info or success."""
    getattr(place, Message(kind).value)(escape_markdown(text))


def _is_connected(connection: str) -> bool:
    return runtime.exists() and bool(runtime.get_instance().is_active_session(connection))


def _new_session() -> StudioSession:
    session = StudioSession()
    session.load_sample(DEFAULT_SAMPLE)
    session.picked = (PickerSource.SAMPLE, DEFAULT_SAMPLE)
    return session


@st.cache_resource(show_spinner=False)
def _registry() -> SessionRegistry:
    """Every browser tab's session, by the token in its address; swept in the background."""
    sweep_stale_workspaces()  # the folders of a server that was killed
    registry = SessionRegistry(_new_session, is_connected=lambda connection: _is_connected(connection))

    def sweep_forever() -> None:
        while True:
            time.sleep(SWEEP_SECONDS)
            registry.sweep()

    threading.Thread(target=sweep_forever, name="studio session sweeper", daemon=True).start()
    return registry


def studio() -> StudioSession:
    """This tab's ``StudioSession``: the one its address names (after a reload), else a new one
    with the default sample loaded."""
    if SESSION_KEY not in st.session_state:
        try:
            token, session = _registry().attach(st.query_params.get(TOKEN_PARAMETER), get_script_run_ctx().session_id)
        except StudioError as err:  # a misconfigured deployment: say so, do not crash
            say(Message.ERROR, str(err))
            st.stop()
        st.session_state[SESSION_KEY] = session
        st.session_state[TOKEN_KEY] = token
        _show_picked(session)
    # Switching pages drops the address's parameters: put the token back every run.
    if st.query_params.get(TOKEN_PARAMETER) != st.session_state[TOKEN_KEY]:
        st.query_params[TOKEN_PARAMETER] = st.session_state[TOKEN_KEY]
    return st.session_state[SESSION_KEY]


def _show_picked(session: StudioSession) -> None:
    """Set the picker's widgets to what the (reattached) session has loaded."""
    if session.picked is None:
        return
    source, choice = session.picked
    st.session_state["picker_source"] = source
    if source == PickerSource.SAMPLE:
        st.session_state["picker_sample"] = choice
    elif source == PickerSource.SERVER_PATH:
        st.session_state["picker_path"] = choice


def page_start(title: str) -> tuple[StudioSession, LoadedModel]:
    """Title a page and return the session and its loaded model (the page stops if none)."""
    session = studio()
    warning = sandbox_warning()
    if warning:
        say(Message.WARNING, f"Warning: {warning}.")
    st.title(title)
    if session.model is None:
        st.info("Choose a model in the sidebar.")
        st.stop()
    st.caption(f"Model: **{escape_markdown(session.model.label)}**")
    return session, session.model


def widget_key(name: str, *owners: str) -> str:
    """A widget key owned by what the widget describes (a model's digest, a signature, …), so
    another model never inherits its value."""
    return "_".join([name, *(owner[:16] for owner in owners)])


def watch_job(job: Job, draw: Callable[[Job], None], *, cancel_key: str) -> NoReturn:
    """Follow a running background job from this script run until it ends, redrawing it with
    ``draw`` twice a second; then rerun the page to show the outcome. The job runs in its own
    thread: a click elsewhere only restarts this watching, and Cancel asks the job to stop."""
    st.button("Cancel", key=cancel_key, on_click=job.cancel, disabled=job.cancel_requested)
    place = st.empty()
    while job.running:
        with place.container():
            draw(job)
        time.sleep(PROGRESS_SECONDS)
    st.rerun()
