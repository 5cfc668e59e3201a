"""The Edit page's form: a base signature, a key, inputs to forward, output names, where the
result goes and what else changes, turned into a request by the shared builder. Widgets belong
to the loaded model (and base signature); their first values come from the model's draft
(``EditDefaults``)."""

import streamlit as st

from core.errors import PlanError
from core.present.words import escape_markdown
from core.rewrite.plan import other_signatures
from core.rewrite.request import DEFAULT_SIGNATURE, KeyDtype, RewriteRequest, build_request
from core.savedmodel.info import ModelInfo, require_signature
from core.studio.edit_form import EditDefaults, ResultMode, base_signature_default, form_base
from core.studio.session import StudioSession
from pages.common import Message, say, widget_key
from pages.edit_tensors import forward_picker, input_editors, renamers


def raw_features_choice(info: ModelInfo, base_name: str, draft: RewriteRequest | None, owner: str) -> bool:
    """For a base that parses serialized tf.Examples: whether the result takes each feature as a
    tensor instead (disabled, with the reason, where the parse cannot be served so)."""
    parse = info.example_parses.get(base_name)
    if parse is None:
        return False
    raw = st.checkbox(
        "Take the tf.Example features as tensors (raw features)",
        value=EditDefaults.from_draft(draft, base_name).raw_features and not parse.problem,
        key=widget_key("edit_raw", owner, base_name),
        disabled=bool(parse.problem),
        help=f"'{base_name}' takes serialized tf.Examples in '{parse.example_input}'. The result takes each feature its "
        "outputs read as a named tensor, so TF Serving's REST JSON reaches it; by default it goes beside the original.",
    )
    if parse.problem:
        st.caption(escape_markdown(f"No raw-feature signature: {parse.problem}."))
    return raw and not parse.problem


def result_choices(base_name: str, form: EditDefaults, owner: str, scope: str) -> tuple[str | None, str | None]:
    """Replace the base (keeping the original or not) or add under a new name. For raw features,
    replacing without keeping names the base itself (the request's way to say "in its place")."""
    st.markdown("**Result**")
    modes = list(ResultMode)
    mode = st.radio(
        "Result signature",
        modes,
        index=modes.index(form.result_mode),
        format_func=lambda choice: choice.label(base_name),
        key=widget_key("edit_result_mode", owner, scope),
        horizontal=True,
        label_visibility="collapsed",
    )
    if mode == ResultMode.ADD:
        name = st.text_input("New signature name", value=form.result_name, key=widget_key("edit_result_name", owner, scope))
        return name, None
    keep_column, keep_name_column = st.columns(2)
    if keep_column.checkbox("Keep the original", value=form.keep_original, key=widget_key("edit_keep", owner, scope)):
        kept = keep_name_column.text_input(
            "Name for the original", value=form.keep_original_name, key=widget_key("edit_keep_name", owner, scope)
        )
        return None, kept
    return (base_name if form.raw_features else None), None


def choose_request(session: StudioSession, draft: RewriteRequest | None) -> RewriteRequest:
    """Every choice of the form, turned into a request by the shared builder."""
    info, owner = session.model.handle.info, session.model.digest
    # A model without a serving signature offers the functions of its object graph instead.
    bases = info.signatures if info.public_signatures else info.function_signatures
    names = [name for name in bases if name in info.public_signatures or not info.public_signatures]
    label = "Base signature" if info.public_signatures else "Function to serve as a signature"
    if not names:  # nothing to serve: say what the model holds instead
        try:
            require_signature(info, DEFAULT_SIGNATURE)
        except PlanError as err:
            say(Message.ERROR, str(err))
        st.stop()
    base_default = base_signature_default(draft, names)
    base_name = st.selectbox(label, names, index=names.index(base_default), key=widget_key("edit_base", owner))
    function = None if info.public_signatures else base_name
    raw = function is None and raw_features_choice(info, base_name, draft, owner)
    base = form_base(info, base_name, raw_features=raw)
    form = EditDefaults.from_draft(draft, base_name, raw_features=raw)
    scope = f"{base_name}/raw" if raw else base_name  # the raw base's widgets are its own
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
    selection = session.forwards.selection(owner, base_name, raw_features=raw)
    forward_picker(selection, base, owner, scope)
    with st.expander("Rename inputs, or take them in another dtype", expanded=bool(form.rename_inputs or form.cast_inputs)):
        input_renames, input_casts = input_editors(base, form, owner, scope)
    with st.expander("Rename outputs", expanded=bool(form.rename_outputs)):
        output_renames = renamers(list(base.outputs), "New name for", form.rename_outputs, owner, base_name, "output")
    if function is None:
        result_name, keep_original = result_choices(base_name, form, owner, scope)
    else:
        wanted = draft.result_name if draft is not None and draft.from_function == function else None
        result_name = st.text_input(
            "New signature name", value=wanted or DEFAULT_SIGNATURE, key=widget_key("edit_function_result", owner, function)
        )
        keep_original = None
    placing = build_request(
        signature=base_name, result_name=result_name, keep_original=keep_original, from_function=function, raw_features=raw
    )
    others = other_signatures(info, placing)
    mode = ResultMode.REPLACE if placing.replaces_base else ResultMode.ADD
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
        signature=DEFAULT_SIGNATURE if function else base_name,
        from_function=function,
        key=key_name,
        key_dtype=key_dtype,
        forwards=selection.pairs(),
        rename_outputs=output_renames,
        rename_inputs=input_renames,
        cast_inputs=input_casts,
        result_name=result_name,
        keep_original=keep_original,
        drop=drop,
        rename_signatures=signature_renames,
        drop_optimizer=drop_optimizer,
        raw_features=raw,
    )
