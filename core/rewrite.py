"""Apply a checked ``RewritePlan`` to a SavedModel, writing the result into a new folder.

Two engines, chosen by the model's format:

* TF1 graph models are edited at the MetaGraphDef level: new Placeholder and Identity nodes
  and a new SignatureDef are added to ``saved_model.pb``; variables, assets, other
  MetaGraphs and signatures are copied byte for byte. Re-saving such a model through
  ``tf.saved_model.save`` would leave its variables uninitialised at inference.
* TF2 object-graph models are loaded with ``tf.saved_model.load``, the base signature is
  wrapped in a new ``tf.function`` and everything is saved with ``tf.saved_model.save``;
  files the saver does not write (``assets.extra/`` and the like) are copied afterwards.

Example:
    >>> apply_rewrite(Path("sample_models/house_price"), plan, Path("out/price"))
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from core._tf import tf
from core.errors import OutputError
from core.model_info import (
    FINGERPRINT_PB,
    SAVED_MODEL_PB,
    SAVED_MODEL_PBTXT,
    read_saved_model_proto,
    serving_meta_graph_index,
)
from core.plan import OutputKind, RewritePlan
from core.runner import release_memory

NODE_SCOPE = "signature_studio"


def apply_rewrite(source_dir: Path, plan: RewritePlan, output_dir: Path) -> None:
    """Write the rewritten model of ``source_dir`` into the new folder ``output_dir``.

    The source is only read. ``output_dir`` must not exist yet.

    Raises:
        OutputError: ``output_dir`` exists.
    """
    if output_dir.exists():
        raise OutputError(f"{output_dir} exists already; the rewrite writes into a new folder")
    if plan.model_format == "tf1":
        _rewrite_graph_model(source_dir, plan, output_dir)
    else:
        _rewrite_object_model(source_dir, plan, output_dir)
        release_memory()  # the loaded source is no longer needed; verification loads its own


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
    scope = f"{NODE_SCOPE}/{plan.result_name}"
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


def _rewrite_graph_model(source_dir: Path, plan: RewritePlan, output_dir: Path) -> None:
    saved_model = read_saved_model_proto(source_dir)
    meta_graph = saved_model.meta_graphs[serving_meta_graph_index(saved_model)]
    new_def = _rewritten_signature_def(meta_graph, plan)
    # Copies, because clearing the map below detaches the messages it held.
    signatures = meta_graph.signature_def
    rebuilt = {name: _copy(signature) for name, signature in signatures.items() if name.startswith("__")}
    rebuilt.update({final: _copy(signatures[source]) for final, source in plan.kept_signatures.items()})
    rebuilt[plan.result_name] = new_def
    meta_graph.ClearField("signature_def")
    for name in sorted(rebuilt):
        meta_graph.signature_def[name].CopyFrom(rebuilt[name])

    rewritten_files = {SAVED_MODEL_PB, SAVED_MODEL_PBTXT, FINGERPRINT_PB}
    shutil.copytree(
        source_dir,
        output_dir,
        ignore=lambda folder, names: [n for n in names if n in rewritten_files] if Path(folder) == source_dir else [],
    )
    (output_dir / SAVED_MODEL_PB).write_bytes(saved_model.SerializeToString(deterministic=True))
    if (source_dir / FINGERPRINT_PB).exists():
        _write_fingerprint(output_dir)


def _copy(message: Any) -> Any:
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


def _write_fingerprint(model_dir: Path) -> None:
    """Write a fresh ``fingerprint.pb``: the old one describes the old ``saved_model.pb``."""
    from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting

    (model_dir / FINGERPRINT_PB).write_bytes(fingerprinting.CreateFingerprintDef(str(model_dir)))


def _restore_method_names(model_dir: Path, plan: RewritePlan) -> None:
    """Give every signature its planned method name again.

    ``tf.saved_model.save`` writes every signature as predict; a classify or regress signature
    of a TF2 model would silently change. The method name is metadata only, so it is set back
    in ``saved_model.pb`` (and the fingerprint renewed) when anything differs.
    """
    wanted = {final: plan.source_methods[source] for final, source in plan.kept_signatures.items()}
    wanted[plan.result_name] = plan.result.method_name
    saved_model = read_saved_model_proto(model_dir)
    meta_graph = saved_model.meta_graphs[serving_meta_graph_index(saved_model)]
    changed = False
    for name, method in wanted.items():
        if meta_graph.signature_def[name].method_name != method:
            meta_graph.signature_def[name].method_name = method
            changed = True
    if changed:
        (model_dir / SAVED_MODEL_PB).write_bytes(saved_model.SerializeToString(deterministic=True))
        _write_fingerprint(model_dir)


def _input_specs(function: Any) -> dict[str, Any]:
    """The keyword input specs of a signature function, renamed to their keywords."""
    _, keyword_specs = function.structured_input_signature
    return {
        name: tf.TensorSpec(spec.shape, spec.dtype, name=name) if isinstance(spec, tf.TensorSpec) else spec
        for name, spec in keyword_specs.items()
    }


def _rewritten_function(base_function: Any, plan: RewritePlan) -> Any:
    base_specs = _input_specs(base_function)
    specs = dict(base_specs)
    if plan.key is not None:
        specs[plan.key] = tf.TensorSpec([None], tf.as_dtype(plan.request.key_dtype.value), name=plan.key)

    @tf.function(input_signature=[specs])
    def rewritten(inputs):
        outputs = base_function(**{name: inputs[name] for name in base_specs})
        return {
            name: outputs[source.name] if source.kind is OutputKind.OUTPUT else tf.identity(inputs[source.name])
            for name, source in plan.output_sources.items()
        }

    return rewritten.get_concrete_function()


def _rewrite_object_model(source_dir: Path, plan: RewritePlan, output_dir: Path) -> None:
    loaded = tf.saved_model.load(str(source_dir))
    signatures = {plan.result_name: _rewritten_function(loaded.signatures[plan.base.name], plan)}
    for final, source in plan.kept_signatures.items():
        signatures[final] = loaded.signatures[source]
    tf.saved_model.save(loaded, str(output_dir), signatures=signatures)
    _restore_method_names(output_dir, plan)
    # The saver writes saved_model.pb, variables/, assets/ and fingerprint.pb; everything else
    # in the source (assets.extra/, documentation, ...) is carried over unchanged.
    for entry in source_dir.iterdir():
        target = output_dir / entry.name
        if target.exists() or entry.name == SAVED_MODEL_PBTXT:
            continue
        if entry.is_dir():
            shutil.copytree(entry, target)
        else:
            shutil.copy2(entry, target)
