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
from core.savedmodel.proto import copy_message


def planned_signature_def(meta_graph: Any, plan: RewritePlan) -> Any:
    """The result's SignatureDef for ``plan``: the rewritten one, or the base's own (copied)
    when the plan leaves the base signature as it is."""
    if plan.rewrites_signature:
        return rewritten_signature_def(meta_graph, plan)
    return copy_message(meta_graph.signature_def[plan.base.name])


def rewritten_signature_def(meta_graph: Any, plan: RewritePlan) -> Any:
    """The planned SignatureDef, added to ``meta_graph``'s graph: the base signature's own
    tensors for its outputs, a placeholder for the key, ``Identity`` nodes for echoed and
    forwarded inputs. The session loader and TF Serving then run exactly the base's graph."""
    from tensorflow.core.protobuf import meta_graph_pb2

    graph_def = meta_graph.graph_def
    taken = {node.name for node in graph_def.node}
    base_def = meta_graph.signature_def[plan.base.name]
    scope = node_scope(plan.result_name)
    new_def = meta_graph_pb2.SignatureDef(method_name=plan.result.method_name)
    fed_as = plan.fed_as
    for base_name, tensor_info in base_def.inputs.items():
        if base_name in plan.casts:
            _cast_input(
                graph_def,
                taken,
                f"{scope}/{fed_as[base_name]}",
                plan.casts[base_name],
                tensor_info,
                new_def.inputs[fed_as[base_name]],
            )
        else:
            new_def.inputs[fed_as[base_name]].CopyFrom(tensor_info)
    if plan.key is not None:
        dtype = tf.as_dtype(plan.request.key_dtype.value)
        shape = tf.TensorShape([None]).as_proto()
        add_placeholder(graph_def, taken, f"{scope}/{plan.key}", dtype, shape, new_def.inputs[plan.key])
    for output_name, source in plan.output_sources.items():
        if source.kind is OutputKind.OUTPUT:
            new_def.outputs[output_name].CopyFrom(base_def.outputs[source.name])
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
    ensure_op_defs(meta_graph, ["Placeholder", "Identity"] + (["Cast", "PlaceholderWithDefault"] if plan.casts else []))
    return new_def


def cast_refusal(meta_graph: Any, plan: RewritePlan) -> str | None:
    """Why an input the plan casts cannot be cast in front of in this graph, or None if every
    one can: each must be fed through a ``Placeholder`` of its own.

    A cast input gets a placeholder of the clients' dtype and a ``Cast`` into the model's own
    placeholder, which becomes a ``PlaceholderWithDefault`` of that cast: a signature that
    feeds the model's placeholder (the kept original) runs exactly as before; the result, which
    feeds only the new one, runs the same graph on the cast values."""
    base_def = meta_graph.signature_def[plan.base.name]
    nodes = {node.name: node for node in meta_graph.graph_def.node}
    for name in plan.casts:
        tensor = base_def.inputs[name].name
        node = nodes.get(node_input(tensor))
        if node is None or node.op != "Placeholder" or tensor.partition(":")[2] not in ("", "0"):
            what = f"a {node.op} node" if node is not None else "no node of the graph"
            return f"input '{name}' of '{plan.base.name}' is not fed through a placeholder of its own ({tensor} is {what})"
    return None


def _cast_input(graph_def: Any, taken: set[str], name: str, dtype: str, base_info: Any, info: Any) -> None:
    """Feed the base input ``base_info`` from a new placeholder of ``dtype`` through a ``Cast``
    (see ``cast_refusal``); ``info`` describes the new placeholder."""
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
    placeholder = next(node for node in graph_def.node if node.name == node_input(base_info.name))
    placeholder.op = "PlaceholderWithDefault"  # the same dtype and shape attributes
    placeholder.input.append(cast)


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


def _unique_node_name(wanted: str, taken: set[str]) -> str:
    name = wanted
    suffix = 1
    while name in taken:
        name = f"{wanted}_{suffix}"
        suffix += 1
    taken.add(name)
    return name


def add_node(graph_def: Any, taken: set[str], name: str, op: str, inputs: list[str], attrs: dict[str, Any]) -> str:
    node = graph_def.node.add()
    node.name = _unique_node_name(name, taken)
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
