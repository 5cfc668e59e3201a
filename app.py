"""Signature Studio: inspect and rewrite the serving signatures of TensorFlow SavedModels.

Run:  streamlit run app.py
"""

import streamlit as st

from pages.common import render_model_picker

st.set_page_config(page_title="Signature Studio", page_icon=":material/draw:", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/inspect.py", title="Inspect", icon=":material/search:", default=True),
        st.Page("pages/edit.py", title="Edit", icon=":material/edit:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page("pages/try_model.py", title="Try", icon=":material/play_arrow:"),
    ]
)
render_model_picker()
navigation.run()
