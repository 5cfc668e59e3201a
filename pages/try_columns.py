"""Which columns of a batch file do what, on the Try page: the one that identifies a row, and
the ones that feed inputs the file names otherwise."""

import streamlit as st

from pages.common import Message, say, widget_key

ROW_NUMBER = "(row number)"


def key_picker(header: list[str] | None, default_key: str | None, owner: tuple[str, str]) -> str | None:
    """The column (or field) that identifies a row; None for the row's number in its file."""
    help_text = (
        "A column the signature takes is fed to the model, which must return it unchanged; any other column "
        "travels beside the model. Without one, a row's key is its number in the file."
    )
    if header is not None:
        choices = [ROW_NUMBER, *header]
        index = choices.index(default_key) if default_key in choices else 0
        chosen = st.selectbox("Key column", choices, index=index, help=help_text, key=widget_key("try_batch_key", *owner))
        return None if chosen == ROW_NUMBER else chosen
    typed = st.text_input(
        "Key field (empty: the row number)", value=default_key or "", help=help_text, key=widget_key("try_batch_field", *owner)
    )
    return typed.strip() or None


def column_picker(header: list[str], inputs: list[str], key_column: str | None, owner: tuple[str, str]) -> dict[str, str]:
    """For each input the CSV header lacks, the column that feeds it (the key column first
    offered, for a model that takes its key as an input); input → column."""
    missing = [name for name in inputs if name not in header]
    if not missing:
        return {}
    say(Message.INFO, f"The file has no column named {', '.join(repr(n) for n in missing)}: pick the column that feeds each.")
    chosen = {}
    for name in missing:
        choices = [column for column in header if column not in inputs]
        index = choices.index(key_column) + 1 if key_column in choices else 0
        picked = st.selectbox(
            f"Column for input '{name}'", ["(none)", *choices], index=index, key=widget_key("try_batch_column", *owner, name)
        )
        if picked != "(none)":
            chosen[name] = picked
    return chosen
