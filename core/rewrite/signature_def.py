"""The SignatureDef a rewrite adds, as both proto engines write it into the graph.

It serves the base signature's own tensors for its outputs, a ``Placeholder`` for the key and
``Identity`` nodes for echoed and forwarded inputs, so the session loader and TF Serving run
exactly the base's computation. New nodes get names under ``signature_studio/`` that no node
of the graph has.

Example:
    >>> from pathlib import Path
    >>> from core.rewrite.plan import plan_rewrite
    >>> from core.rewrite.request import RewriteRequest
    >>> from core.savedmodel.handle import read_saved_model
    >>> source = read_saved_model(Path("sample_models/tf1_half_plus_two/00000123"))
    >>> meta_graph = source.proto_copy().meta_graphs[source.meta_graph_index]
    >>> result = rewritten_signature_def(meta_graph, plan_rewrite(source.info, RewriteRequest(key="k")))
    >>> sorted(result.inputs), sorted(result.outputs), result.inputs["k"].name
    (['k', 'x'], ['k', 'y'], 'signature_studio/serving_default/k:0')
"""

from __future__ import annotations

import re
from typing import Any

from core._tf import tf
from core.rewrite.plan import OutputKind, RewritePlan
from core.savedmodel.proto import CALL_OPS, copy_message


def planned_signature_def(meta_graph: Any, plan: RewritePlan, base_def: Any | None = None) -> Any:
    """The result's SignatureDef for ``plan``: the rewritten one, or the base's own (copied)
    when the plan leaves the base signature as it is. ``base_def``: the base's SignatureDef
    when it is not the model's own (a raw-feature base)."""
    if plan.rewrites_signature:
        return rewritten_signature_def(meta_graph, plan, base_def)
    return copy_message(meta_graph.signature_def[plan.base.name])


def rewritten_signature_def(meta_graph: Any, plan: RewritePlan, base_def: Any | None = None) -> Any:
    """The planned SignatureDef, added to ``meta_graph``'s graph: the base signature's own
    tensors for its outputs, a placeholder for the key, ``Identity`` nodes for echoed and
    forwarded inputs, renamed inputs under their new names. The session loader and TF Serving
    then run exactly the base's graph (for cast inputs, on the cast values: ``cast_refusal``)."""
    from tensorflow.core.protobuf import meta_graph_pb2

    graph_def = meta_graph.graph_def
    taken = {node.name for node in graph_def.node}
    base_def = base_def if base_def is not None else meta_graph.signature_def[plan.base.name]
    scope = node_scope(plan.result_name)
    new_def = meta_graph_pb2.SignatureDef(method_name=plan.result.method_name)
    call = _serving_call(meta_graph, base_def) if plan.casts else None
    cast_tensors = {}
    for base_name, tensor_info in base_def.inputs.items():
        name = plan.fed_as[base_name]
        if base_name in plan.casts:
            cast_tensors[base_name] = _cast_input(
                graph_def, taken, f"{scope}/{name}", plan.casts[base_name], tensor_info, new_def.inputs[name],
                into_placeholder=call is None,
            )  # fmt: skip
        else:
            new_def.inputs[name].CopyFrom(tensor_info)
    called = _call_again(graph_def, taken, scope, call, base_def, cast_tensors) if call is not None else None
    if plan.key is not None:
        dtype = tf.as_dtype(plan.request.key_dtype.value)
        shape = tf.TensorShape([None]).as_proto()
        add_placeholder(graph_def, taken, f"{scope}/{plan.key}", dtype, shape, new_def.inputs[plan.key])
    for output_name, source in plan.output_sources.items():
        if source.kind is OutputKind.OUTPUT:
            out = new_def.outputs[output_name]
            out.CopyFrom(base_def.outputs[source.name])
            if called is not None:
                out.name = f"{called}:{out.name.partition(':')[2] or 0}"
            continue
        fed = new_def.inputs[source.name]
        identity = add_node(
            graph_def,
            taken,
            f"{scope}/{output_name}_output",
            "Identity",
            [node_input(fed.name)],
            {"T": tf.compat.v1.AttrValue(type=fed.dtype)},
        )
        out = new_def.outputs[output_name]
        out.CopyFrom(fed)
        out.name = f"{identity}:0"
    cast_ops = ["Cast"] + (["PlaceholderWithDefault"] if call is None else []) if plan.casts else []
    ensure_op_defs(meta_graph, ["Placeholder", "Identity", *cast_ops])
    return new_def


def _serving_call(meta_graph: Any, base_def: Any) -> Any | None:
    """The one function call that serves every output of ``base_def`` (as a TF2 model's
    signatures are served), or None (a TF1 graph)."""
    names = {info.name.partition(":")[0] for info in base_def.outputs.values()}
    node = next((n for n in meta_graph.graph_def.node if n.name in names), None) if len(names) == 1 else None
    return node if node is not None and node.op in CALL_OPS else None


def cast_refusal(meta_graph: Any, plan: RewritePlan) -> str | None:
    """Why an input the plan casts cannot be cast in front of in this graph, or None if every
    one can.

    A cast input gets a placeholder of the clients' dtype and a ``Cast``. A signature served
    by one function call (TF2) gets a second call of the same function, fed the cast values
    where the base's call is fed the model's placeholders. In a TF1 graph the model's own
    placeholder becomes a ``PlaceholderWithDefault`` of the cast, so it must be a
    ``Placeholder``: a signature that feeds it (the kept original) runs exactly as before, and
    the result, which feeds only the new one, runs the same graph on the cast values."""
    base_def = meta_graph.signature_def[plan.base.name]
    nodes = {node.name: node for node in meta_graph.graph_def.node}
    call = _serving_call(meta_graph, base_def)
    for name in plan.casts:
        tensor = base_def.inputs[name].name
        node = nodes.get(node_input(tensor))
        if call is not None:
            if node_input(tensor) not in call.input:
                return f"input '{name}' of '{plan.base.name}' is not an argument of the function call that serves it"
        elif node is None or node.op != "Placeholder" or tensor.partition(":")[2] not in ("", "0"):
            what = f"a {node.op} node" if node is not None else "no node of the graph"
            return f"input '{name}' of '{plan.base.name}' is not fed through a placeholder of its own ({tensor} is {what})"
    return None


def _cast_input(
    graph_def: Any, taken: set[str], name: str, dtype: str, base_info: Any, info: Any, *, into_placeholder: bool
) -> str:
    """A new placeholder of ``dtype`` (``info`` describes it) and a ``Cast`` to the base input's
    dtype; returns the cast's name. ``into_placeholder``: the base input's placeholder becomes a
    ``PlaceholderWithDefault`` of the cast (see ``cast_refusal``)."""
    client = tf.as_dtype(dtype)
    add_placeholder(graph_def, taken, name, client, base_info.tensor_shape, info)
    cast = add_node(
        graph_def, taken, f"{name}_cast", "Cast", [node_input(info.name)],
        {
            "SrcT": tf.compat.v1.AttrValue(type=client.as_datatype_enum),
            "DstT": tf.compat.v1.AttrValue(type=base_info.dtype),
            "Truncate": tf.compat.v1.AttrValue(b=False),
        },
    )  # fmt: skip
    if into_placeholder:
        placeholder = next(node for node in graph_def.node if node.name == node_input(base_info.name))
        placeholder.op = "PlaceholderWithDefault"  # the same dtype and shape attributes
        placeholder.input.append(cast)
    return cast


def _call_again(graph_def: Any, taken: set[str], scope: str, call: Any, base_def: Any, cast_tensors: dict[str, str]) -> str:
    """A second call of the base's function, fed the cast tensors where the base's call is
    fed the model's placeholders for those inputs; returns its name."""
    again = copy_message(call)
    again.name = unique_name(f"{scope}/call", taken)
    for base_name, cast in cast_tensors.items():
        position = list(call.input).index(node_input(base_def.inputs[base_name].name))
        again.input[position] = cast
    graph_def.node.append(again)
    return again.name


NODE_SCOPE = "signature_studio"
# What TensorFlow accepts in a node name after its first character; anything else becomes "_".
_NODE_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9_.\-/]")


def node_scope(signature: str) -> str:
    """The name scope of the nodes added for ``signature``; a signature's name may be any
    text (``sérvïng_日本``), a node's may not.

    Example:
        >>> node_scope("sérvïng_日本")
        'signature_studio/s_rv_ng___'
    """
    return f"{NODE_SCOPE}/{_NODE_NAME_CHARACTER.sub('_', signature)}"


def node_input(tensor_name: str) -> str:
    """The NodeDef input string for a tensor name (``x:0`` → ``x``, ``x:1`` → ``x:1``)."""
    node, _, index = tensor_name.partition(":")
    return node if index in ("", "0") else tensor_name


def unique_name(wanted: str, taken: set[str]) -> str:
    name = wanted
    suffix = 1
    while name in taken:
        name = f"{wanted}_{suffix}"
        suffix += 1
    taken.add(name)
    return name


def add_node(graph_def: Any, taken: set[str], name: str, op: str, inputs: list[str], attrs: dict[str, Any]) -> str:
    node = graph_def.node.add()
    node.name = unique_name(name, taken)
    node.op = op
    node.input.extend(inputs)
    for key, value in attrs.items():
        node.attr[key].CopyFrom(value)
    return node.name


def add_placeholder(graph_def: Any, taken: set[str], name: str, dtype: Any, shape: Any, info: Any) -> None:
    """Add a ``Placeholder`` node of ``dtype`` (a ``tf.DType``) and ``shape`` (a
    ``TensorShapeProto``) and describe it in the SignatureDef's TensorInfo ``info``."""
    placeholder = add_node(
        graph_def, taken, name, "Placeholder", [],
        {"dtype": tf.compat.v1.AttrValue(type=dtype.as_datatype_enum), "shape": tf.compat.v1.AttrValue(shape=shape)},
    )  # fmt: skip
    info.name, info.dtype = f"{placeholder}:0", dtype.as_datatype_enum
    info.tensor_shape.CopyFrom(shape)


def ensure_op_defs(meta_graph: Any, ops: list[str]) -> None:
    """Add the OpDefs of new ops to a stripped op list, as the SavedModel writer would."""
    from tensorflow.python.framework import op_def_registry

    if not meta_graph.meta_info_def.HasField("stripped_op_list"):
        return
    present = {op.name for op in meta_graph.meta_info_def.stripped_op_list.op}
    for op in ops:
        if op not in present:
            meta_graph.meta_info_def.stripped_op_list.op.add().CopyFrom(op_def_registry.get(op))
