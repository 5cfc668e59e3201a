"""The Edit page's choices per tensor: the inputs forwarded to the outputs (filterable), each
input's name and the dtype clients send it in, and each output's name."""

import streamlit as st

from core.present.words import escape_markdown
from core.savedmodel.info import SignatureInfo
from core.studio.edit_form import EditDefaults, ForwardSelection, dtype_choices, filter_names
from pages.common import widget_key


def forward_picker(selection: ForwardSelection, base: SignatureInfo, owner: str, scope: str) -> None:
    """A checkbox per input (filterable), with the output name of each ticked one; ``scope``
    tells the widgets of one base (and of its raw-feature form) apart."""
    st.markdown("**Forward inputs to the outputs**")
    filter_text = st.text_input("Filter inputs", key=widget_key("edit_filter", owner), placeholder="part of an input name")
    shown = filter_names(list(base.inputs), filter_text)
    st.button(
        f"Select all shown ({len(shown)})",
        key=widget_key("edit_select_all", owner, scope),
        on_click=selection.tick_all,
        args=(shown,),
        disabled=not shown,
    )
    for name in shown:
        tick_key = widget_key("edit_forward", owner, scope, name)
        name_key = widget_key("edit_forward_as", owner, scope, name)
        # Callbacks wrote every change to the selection before this run; draw the widgets from it.
        st.session_state[tick_key] = name in selection
        st.session_state[name_key] = selection.output_name(name)
        tick, rename = st.columns([2, 3])
        tick.checkbox(name, key=tick_key, on_change=lambda n=name, k=tick_key: selection.set_ticked(n, st.session_state[k]))
        if name in selection:
            rename.text_input(
                f"Output name for {name}",
                key=name_key,
                on_change=lambda n=name, k=name_key: selection.rename(n, st.session_state[k]),
                label_visibility="collapsed",
            )
    hidden = [name for name, _ in selection.pairs() if name not in shown]
    if hidden:
        st.caption(f"Also forwarded (hidden by the filter): {escape_markdown(', '.join(hidden))}")


def renamers(names: list[str], label: str, drafted: dict[str, str], *owners: str) -> dict[str, str]:
    """A text field per name; returns old → new (empty or unchanged fields are no rename)."""
    return {
        name: st.text_input(f"{label} {name}", value=drafted.get(name, name), key=widget_key("edit_rename", *owners, name))
        for name in names
    }


def input_editors(base: SignatureInfo, form: EditDefaults, owner: str, scope: str) -> tuple[dict[str, str], dict[str, str]]:
    """Per input, a new name and the dtype clients send it in; returns (old → new, input → dtype)."""
    renames, casts = {}, {}
    for name, spec in base.inputs.items():
        name_column, dtype_column = st.columns([3, 2])
        renames[name] = name_column.text_input(
            f"New name for input {name}",
            value=form.rename_inputs.get(name, name),
            key=widget_key("edit_rename", owner, scope, "input", name),
        )
        choices = dtype_choices(spec.dtype)
        wanted = form.cast_inputs.get(name, spec.dtype)
        casts[name] = dtype_column.selectbox(
            f"{name} sent as",
            choices,
            index=choices.index(wanted) if wanted in choices else 0,
            key=widget_key("edit_cast", owner, scope, name),
            disabled=len(choices) == 1,
            help="The signature casts it to the model's own dtype inside; a string or bool input keeps its dtype.",
        )
    return renames, {name: dtype for name, dtype in casts.items() if dtype != base.inputs[name].dtype}
