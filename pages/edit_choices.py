"""The Edit page's form: a base signature, a key, inputs to forward, output names, where the
result goes and what else changes, turned into a request by the shared builder. Widgets belong
to the loaded model (and base signature); their first values come from the model's draft
(``EditDefaults``)."""

import streamlit as st

from core.present.words import escape_markdown
from core.rewrite.plan import other_signatures
from core.rewrite.request import KeyDtype, RewriteRequest, build_request
from core.savedmodel.info import SignatureInfo
from core.studio.edit_form import EditDefaults, ForwardSelection, ResultMode, base_signature_default, filter_names
from core.studio.session import StudioSession
from pages.common import widget_key


def forward_picker(selection: ForwardSelection, base: SignatureInfo, owner: str) -> None:
    """A checkbox per input (filterable), with the output name of each ticked one."""
    st.markdown("**Forward inputs to the outputs**")
    filter_text = st.text_input("Filter inputs", key=widget_key("edit_filter", owner), placeholder="part of an input name")
    shown = filter_names(list(base.inputs), filter_text)
    st.button(
        f"Select all shown ({len(shown)})",
        key=widget_key("edit_select_all", owner, base.name),
        on_click=selection.tick_all,
        args=(shown,),
        disabled=not shown,
    )
    for name in shown:
        tick_key = widget_key("edit_forward", owner, base.name, name)
        name_key = widget_key("edit_forward_as", owner, base.name, name)
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


def result_choices(base_name: str, form: EditDefaults, owner: str) -> tuple[str | None, str | None]:
    """Replace the base (keeping the original or not) or add under a new name."""
    st.markdown("**Result**")
    modes = list(ResultMode)
    mode = st.radio(
        "Result signature",
        modes,
        index=modes.index(form.result_mode),
        format_func=lambda choice: choice.label(base_name),
        key=widget_key("edit_result_mode", owner, base_name),
        horizontal=True,
        label_visibility="collapsed",
    )
    if mode == ResultMode.ADD:
        name = st.text_input("New signature name", value=form.result_name, key=widget_key("edit_result_name", owner, base_name))
        return name, None
    keep_column, keep_name_column = st.columns(2)
    if keep_column.checkbox("Keep the original", value=form.keep_original, key=widget_key("edit_keep", owner, base_name)):
        kept = keep_name_column.text_input(
            "Name for the original", value=form.keep_original_name, key=widget_key("edit_keep_name", owner, base_name)
        )
        return None, kept
    return None, None


def choose_request(session: StudioSession, draft: RewriteRequest | None) -> RewriteRequest:
    """Every choice of the form, turned into a request by the shared builder."""
    info, owner = session.model.handle.info, session.model.digest
    public = info.public_signatures
    base_default = base_signature_default(draft, public)
    base_name = st.selectbox("Base signature", public, index=public.index(base_default), key=widget_key("edit_base", owner))
    base = info.signatures[base_name]
    form = EditDefaults.from_draft(draft, base_name)
    key_column, dtype_column = st.columns([3, 2])
    key_name = key_column.text_input(
        "Key name",
        value=form.key,
        key=widget_key("edit_key", owner),
        placeholder="e.g. instance_key — empty: no key",
        help="An input added to the signature and returned unchanged as an output of the same name. Empty: no key.",
    )
    dtypes = list(KeyDtype)
    key_dtype = dtype_column.selectbox(
        "Key dtype", dtypes, index=dtypes.index(form.key_dtype), format_func=str, key=widget_key("edit_key_dtype", owner)
    )
    selection = session.forwards.selection(owner, base_name)
    forward_picker(selection, base, owner)
    with st.expander("Rename outputs", expanded=bool(form.rename_outputs)):
        output_renames = renamers(list(base.outputs), "New name for", form.rename_outputs, owner, base_name, "output")
    result_name, keep_original = result_choices(base_name, form, owner)
    others = other_signatures(info, build_request(signature=base_name, result_name=result_name))
    mode = ResultMode.ADD if result_name is not None else ResultMode.REPLACE
    drop = st.multiselect(
        "Drop signatures",
        others,
        default=[name for name in form.drop if name in others],
        key=widget_key("edit_drop", owner, base_name, mode),
    )
    kept = [name for name in others if name not in drop]
    with st.expander("Rename other signatures", expanded=bool(form.rename_signatures)):
        signature_renames = renamers(kept, "New name for signature", form.rename_signatures, owner, "signature")
    drop_optimizer = False
    if info.optimizers:
        drop_optimizer = st.checkbox(
            "Drop the optimizer state",
            value=form.drop_optimizer,
            key=widget_key("edit_drop_optimizer", owner),
            help="Removes the training-only optimizer (and its slot variables) from the object graph, so "
            "tf.saved_model.load, TFLite's converter and Beam's loaders can load the model. variables/ stays byte-identical.",
        )
        if info.object_loader_problem:
            st.caption(escape_markdown(info.object_loader_problem))
    return build_request(
        signature=base_name,
        key=key_name,
        key_dtype=key_dtype,
        forwards=selection.pairs(),
        rename_outputs=output_renames,
        result_name=result_name,
        keep_original=keep_original,
        drop=drop,
        rename_signatures=signature_renames,
        drop_optimizer=drop_optimizer,
    )
