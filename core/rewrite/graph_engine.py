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

import re
import shutil
from pathlib import Path
from typing import Any

from core._tf import tf
from core.rewrite.plan import OutputKind, RewritePlan
from core.rewrite.proto_edit import copy_message, write_fingerprint, write_saved_model
from core.savedmodel.handle import ModelHandle
from core.savedmodel.proto import FINGERPRINT_PB, SAVED_MODEL_PB, SAVED_MODEL_PBTXT, is_internal_signature

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


def _node_input(tensor_name: str) -> str:
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


def _add_node(graph_def: Any, taken: set[str], name: str, op: str, inputs: list[str], attrs: dict[str, Any]) -> str:
    node = graph_def.node.add()
    node.name = _unique_node_name(name, taken)
    node.op = op
    node.input.extend(inputs)
    for key, value in attrs.items():
        node.attr[key].CopyFrom(value)
    return node.name


def _ensure_op_defs(meta_graph: Any, ops: list[str]) -> None:
    """Add the OpDefs of new ops to a stripped op list, as the SavedModel writer would."""
    from tensorflow.python.framework import op_def_registry

    if not meta_graph.meta_info_def.HasField("stripped_op_list"):
        return
    present = {op.name for op in meta_graph.meta_info_def.stripped_op_list.op}
    for op in ops:
        if op not in present:
            meta_graph.meta_info_def.stripped_op_list.op.add().CopyFrom(op_def_registry.get(op))


def _rewritten_signature_def(meta_graph: Any, plan: RewritePlan) -> Any:
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
        placeholder = _add_node(
            graph_def,
            taken,
            f"{scope}/{plan.key}",
            "Placeholder",
            [],
            {"dtype": tf.compat.v1.AttrValue(type=dtype.as_datatype_enum), "shape": tf.compat.v1.AttrValue(shape=shape)},
        )
        key_info = new_def.inputs[plan.key]
        key_info.name = f"{placeholder}:0"
        key_info.dtype = dtype.as_datatype_enum
        key_info.tensor_shape.CopyFrom(shape)
    for output_name, source in plan.output_sources.items():
        if source.kind is OutputKind.OUTPUT:
            new_def.outputs[output_name].CopyFrom(base_def.outputs[source.name])
            continue
        fed = new_def.inputs[source.name]
        identity = _add_node(
            graph_def,
            taken,
            f"{scope}/{output_name}_output",
            "Identity",
            [_node_input(fed.name)],
            {"T": tf.compat.v1.AttrValue(type=fed.dtype)},
        )
        out = new_def.outputs[output_name]
        out.CopyFrom(fed)
        out.name = f"{identity}:0"
    _ensure_op_defs(meta_graph, ["Placeholder", "Identity"])
    return new_def


def rewrite_graph_model(source: ModelHandle, plan: RewritePlan, output_dir: Path) -> None:
    """Write ``source`` with the planned signatures into the new folder ``output_dir``."""
    saved_model = source.proto_copy()
    meta_graph = saved_model.meta_graphs[source.meta_graph_index]
    new_def = _rewritten_signature_def(meta_graph, plan)
    signatures = meta_graph.signature_def
    # Copies, because clearing the map below detaches the messages it held.
    rebuilt = {name: copy_message(signature) for name, signature in signatures.items() if is_internal_signature(name)}
    rebuilt.update({final: copy_message(signatures[original]) for final, original in plan.kept_signatures.items()})
    rebuilt[plan.result_name] = new_def
    meta_graph.ClearField("signature_def")
    for name in sorted(rebuilt):
        meta_graph.signature_def[name].CopyFrom(rebuilt[name])

    rewritten_files = {SAVED_MODEL_PB, SAVED_MODEL_PBTXT, FINGERPRINT_PB}
    source_dir = source.path
    shutil.copytree(
        source_dir,
        output_dir,
        ignore=lambda folder, names: [n for n in names if n in rewritten_files] if Path(folder) == source_dir else [],
    )
    write_saved_model(output_dir, saved_model)
    if (source_dir / FINGERPRINT_PB).exists():
        write_fingerprint(output_dir)
