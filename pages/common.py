"""What every page shares: the session (found again after a reload), the sidebar model picker
and status, messages shown as plain text, and a signature drawn as a picture and two tables.
No decisions live here: they are in ``core``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.errors import DiskAllowanceError, StudioError
from core.execution.sandbox import sandbox_warning
from core.present.diagram import signature_diagram
from core.present.tables import signature_table
from core.present.words import SHAPE_HELP, escape_markdown
from core.rewrite.plan import RewritePlan
from core.savedmodel.info import SignatureInfo
from core.studio.registry import SessionRegistry
from core.studio.session import DEFAULT_SAMPLE, UPLOAD_SUFFIXES, LoadedModel, StudioSession, sample_names
from core.studio.workspace import sweep_stale_workspaces

SESSION_KEY = "studio"
TOKEN_KEY = "studio_token"
TOKEN_PARAMETER = "session"
SOURCE_CHOICES = ("Sample", "Upload", "Server path")
UPLOAD_LABEL = "Upload a SavedModel archive or Keras file"
SWEEP_SECONDS = 30


def say(kind: str, text: str, place=st) -> None:
    """Show ``text`` as it is (no Markdown surprises) as an ``error``, ``warning``, ``info`` or ``success``."""
    getattr(place, kind)(escape_markdown(text))


def _is_connected(connection: str) -> bool:
    return runtime.exists() and bool(runtime.get_instance().is_active_session(connection))


def _new_session() -> StudioSession:
    session = StudioSession()
    session.load_sample(DEFAULT_SAMPLE)
    session.picked = ("Sample", DEFAULT_SAMPLE)
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
            say("error", str(err))
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
    if source == "Sample":
        st.session_state["picker_sample"] = choice
    elif source == "Server path":
        st.session_state["picker_path"] = choice


def page_start(title: str) -> tuple[StudioSession, LoadedModel]:
    """Title a page and return the session and its loaded model (the page stops if none)."""
    session = studio()
    warning = sandbox_warning()
    if warning:
        say("warning", f"Warning: {warning}.")
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


def _load(session: StudioSession, token: tuple[str, str], action: Callable[[], object], *, retry: bool = False) -> None:
    """Run ``action`` once per picker choice ``token``; a refused choice is refused again
    without being tried, until the user asks again (``retry``)."""
    if session.picked == token:
        return
    refusal_key = f"{token[0]}:{token[1]}"
    if retry:
        session.refusals.pop(refusal_key, None)
    if refusal_key in session.refusals:
        say("error", session.refusals[refusal_key], st.sidebar)
        return
    with st.spinner("Loading the model…"):
        try:
            action()
        except DiskAllowanceError as err:  # not the choice's fault: it may fit later
            say("error", str(err), st.sidebar)
            return
        except StudioError as err:
            session.refusals[refusal_key] = str(err)
            say("error", str(err), st.sidebar)
            return
    session.picked = token


def render_model_picker() -> None:
    """The sidebar: choose a sample, upload a file, or type an allowed server path."""
    session = studio()
    sidebar = st.sidebar
    sidebar.header("Model")
    source = sidebar.radio("Source", SOURCE_CHOICES, key="picker_source", horizontal=True)
    if session.job is not None and session.job.running:
        sidebar.caption("An Apply is running: loading another model cancels it.")
    if source == "Sample":
        names = sample_names()
        name = sidebar.selectbox("Sample model", names, index=names.index(DEFAULT_SAMPLE), key="picker_sample")
        _load(session, ("Sample", name), lambda: session.load_sample(name))
    elif source == "Upload":
        uploaded = sidebar.file_uploader(UPLOAD_LABEL, type=list(UPLOAD_SUFFIXES), key="picker_upload")
        if uploaded is not None:
            _load(
                session,
                ("Upload", uploaded.file_id),
                lambda: session.load_upload(uploaded.name, uploaded.getvalue(), identity=f"upload:{uploaded.file_id}"),
            )
    else:
        roots = ", ".join(str(root) for root in session.roots)
        path = sidebar.text_input("Path on the server", key="picker_path", help=f"Allowed under: {roots}")
        if sidebar.button("Load path", key="picker_load_path"):
            session.picked = None
            _load(session, ("Server path", path), lambda: session.load_path(path), retry=True)


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
    for place, side in zip(places, ("inputs", "outputs"), strict=True):
        place.markdown(f"**{side.capitalize()}**")
        place.table(signature_table(signature, side).to_frame(), hide_index=True)  # tensor names wrap, never cut
    st.caption(f"Shapes: {SHAPE_HELP}.")
