"""Signature Studio: inspect and rewrite the serving signatures of TensorFlow SavedModels.

Run:  streamlit run app.py
"""

import logging
from pathlib import Path

import streamlit as st

from core.errors import describe
from pages.common import Message, say
from pages.sidebar import render_model_picker, render_sidebar_status

# Absolute paths, so the router works whichever script runs it (tests run it from tests/).
PAGES = Path(__file__).resolve().parent / "pages"

st.set_page_config(page_title="Signature Studio", page_icon=":material/draw:", layout="wide")

navigation = st.navigation(
    [
        st.Page(PAGES / "inspect.py", title="Inspect", icon=":material/search:", default=True),
        st.Page(PAGES / "edit.py", title="Edit", icon=":material/edit:"),
        st.Page(PAGES / "compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page(PAGES / "try_model.py", title="Try", icon=":material/play_arrow:"),
    ]
)
render_model_picker()
status = st.sidebar.empty()
render_sidebar_status(status)
try:
    navigation.run()
except Exception as err:  # the last line of defence: a sentence for the user, the traceback for the log
    logging.getLogger("signature_studio").exception("a page failed")
    say(
        Message.ERROR,
        f"Something went wrong on this page: {describe(err)}. Nothing was lost; the details are in the server's log.",
    )
finally:  # also when a page stops early: the status shows what the page just did
    render_sidebar_status(status)
