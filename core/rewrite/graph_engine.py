"""The TF1 graph engine: rewrite a signature by editing the MetaGraphDef, nothing else.

A Placeholder for the key, Identity nodes for echoed and forwarded tensors and a new
SignatureDef are added to ``saved_model.pb``; variables, assets, other MetaGraphs and every
other signature are copied byte for byte. Re-saving such a model through
``tf.saved_model.save`` would leave its ref variables uninitialised at inference.

Example:
    >>> import tempfile
    >>> from core.rewrite.plan import plan_rewrite
    >>> from core.rewrite.request import RewriteRequest
    >>> from core.savedmodel.handle import read_saved_model
    >>> source = read_saved_model(Path("sample_models/tf1_half_plus_two/00000123"))
    >>> plan = plan_rewrite(source.info, RewriteRequest(key="k"))
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     rewrite_graph_model(source, plan, Path(scratch, "out"))
    ...     sorted(read_saved_model(Path(scratch, "out")).info.signatures["serving_default"].outputs)
    ['k', 'y']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core._tf import tf
from core.rewrite.plan import OutputKind, RewritePlan
from core.rewrite.proto_edit import (
    add_node,
    add_placeholder,
    ensure_op_defs,
    node_input,
    node_scope,
    replace_signature_defs,
    write_edited_model,
)
from core.savedmodel.handle import ModelHandle


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
    for name, tensor_info in base_def.inputs.items():
        new_def.inputs[name].CopyFrom(tensor_info)
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
    ensure_op_defs(meta_graph, ["Placeholder", "Identity"])
    return new_def


def rewrite_graph_model(source: ModelHandle, plan: RewritePlan, output_dir: Path) -> None:
    """Write ``source`` with the planned signatures into the new folder ``output_dir``."""
    saved_model = source.proto_copy()
    meta_graph = saved_model.meta_graphs[source.meta_graph_index]
    new_def = rewritten_signature_def(meta_graph, plan)
    replace_signature_defs(meta_graph, plan.kept_signatures, plan.result_name, new_def)
    write_edited_model(source.path, output_dir, saved_model)
