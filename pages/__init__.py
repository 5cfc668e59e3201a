"""Streamlit pages of Signature Studio; ``app.py`` routes between them."""
