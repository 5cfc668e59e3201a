"""The TF2 object-graph engine: rewrite a signature by editing ``saved_model.pb``, nothing else.

A TF2 SavedModel serves a signature three ways, and each gets its edit:

* the **function library** gains one function that calls the base signature's function with the
  same captured variables and returns its outputs (renamed as planned) plus the key and the
  forwarded inputs, each through an ``Identity``;
* the **object graph** (what ``tf.saved_model.load`` reads) gains that function's
  ``SavedConcreteFunction`` — bound to the base's captures, with its input and output structures
  — and a node for it under the signature map, where kept signatures stay and dropped ones go;
* the **graph and its SignatureDefs** (what the TF1 session loader and TF Serving read) gain the
  new ``SignatureDef`` as the TF1 graph engine writes it: the base's own call for the outputs, a
  placeholder for the key and ``Identity`` nodes, so these loaders run exactly the original's
  computation (a call of the wrapper there could be optimised otherwise and round differently).

Variables, assets and every other file are copied byte for byte and a fresh ``fingerprint.pb``
is written. Nothing of the model runs: the wrapper is built in an empty graph from its name and
types alone. Where a model is not laid out the way ``tf.saved_model.save`` writes signatures,
``object_graph_refusal`` says why and the load/save engine runs instead.

Example:
    >>> import tempfile
    >>> from core.rewrite.plan import plan_rewrite
    >>> from core.rewrite.request import RewriteRequest
    >>> from core.rewrite.signature_def import planned_signature_def
    >>> from core.savedmodel.handle import read_saved_model
    >>> source = read_saved_model(Path("sample_models/house_price"))
    >>> plan = plan_rewrite(source.info, RewriteRequest(key="k"))
    >>> object_graph_refusal(source, plan) is None
    True
    >>> saved_model = source.proto_copy()
    >>> result_def = planned_signature_def(saved_model.meta_graphs[source.meta_graph_index], plan)
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     rewrite_object_graph(source, plan, saved_model, result_def, Path(scratch, "out"))
    ...     sorted(read_saved_model(Path(scratch, "out")).info.signatures["serving_default"].outputs)
    ['k', 'output_0']
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core._tf import tf
from core.rewrite.optimizer_state import drop_optimizer_state
from core.rewrite.plan import OutputKind, RewritePlan
from core.rewrite.proto_edit import replace_signature_defs, write_edited_model
from core.rewrite.raw_feature_graph import raw_signature_function
from core.rewrite.signature_def import node_input
from core.savedmodel.handle import ModelHandle
from core.savedmodel.proto import CALL_OPS, copy_message

_SIGNATURE_MAP = "signature_map"


class _Refused(Exception):
    """The model is not laid out as the object-graph route needs; the message says how."""


@dataclass(frozen=True)
class _Base:
    """Where the base signature lives in each of the three views."""

    function: str  # the signature function the graph's call node calls
    captured_types: list[int]  # DataType enums of what it captures: variables, tables, constants
    map_node: int  # the object graph's signature map
    inputs: dict[str, Any]  # name → TensorSpec, in the order the function takes them
    outputs: dict[str, Any]  # name → TensorSpec (the function returns them in sorted order)
    bound_inputs: list[int]  # the object-graph nodes of what it captures


def _signature_map(object_graph: Any) -> int:
    root = object_graph.nodes[0]
    for child in root.children:
        node = object_graph.nodes[child.node_id]
        if child.local_name == "signatures" and node.WhichOneof("kind") == "user_object":
            if node.user_object.identifier == _SIGNATURE_MAP:
                return child.node_id
    raise _Refused("its object graph has no signature map")


def _decode_specs(encoded: Any, what: str) -> Any:
    from tensorflow.python.saved_model import nested_structure_coder

    try:
        return nested_structure_coder.decode_proto(encoded)
    except (ValueError, TypeError, NotImplementedError) as err:
        raise _Refused(f"its {what} cannot be read ({err})") from err


def _locate(source: ModelHandle, base_name: str) -> _Base:
    meta_graph = source.meta_graph
    signature = meta_graph.signature_def[base_name]
    nodes = {node.name: node for node in meta_graph.graph_def.node}
    outputs = sorted(signature.outputs)
    call_names = {signature.outputs[name].name.partition(":")[0] for name in outputs}
    if len(call_names) != 1:
        raise _Refused(f"signature '{base_name}' is not served by one function call in the graph")
    call = nodes.get(call_names.pop())
    if call is None or call.op not in CALL_OPS or "f" not in call.attr:
        raise _Refused(f"signature '{base_name}' is not served by a function call in the graph")
    for index, name in enumerate(outputs):
        if signature.outputs[name].name != f"{call.name}:{index}":
            raise _Refused(f"the outputs of signature '{base_name}' are not its function's outputs in order")
    inputs = sorted(signature.inputs)
    placeholders = {name: signature.inputs[name].name for name in inputs}
    if [node_input(placeholders[name]) for name in inputs] != list(call.input[: len(inputs)]):
        raise _Refused(f"the inputs of signature '{base_name}' are not its function's arguments in order")
    function = call.attr["f"].func.name
    object_graph = meta_graph.object_graph_def
    map_node = _signature_map(object_graph)
    entry = next((c.node_id for c in object_graph.nodes[map_node].children if c.local_name == base_name), None)
    saved = object_graph.nodes[entry] if entry is not None else None
    if saved is None or saved.WhichOneof("kind") != "bare_concrete_function":
        raise _Refused(f"signature '{base_name}' is not a concrete function in the object graph")
    if saved.bare_concrete_function.concrete_function_name != function or function not in object_graph.concrete_functions:
        raise _Refused(f"the object graph and the graph disagree on the function of signature '{base_name}'")
    concrete = object_graph.concrete_functions[function]
    structure = _decode_specs(concrete.canonicalized_input_signature, "input structure")
    returned = _decode_specs(concrete.output_signature, "output structure")
    if not (isinstance(structure, tuple) and len(structure) == 2 and structure[0] == () and isinstance(structure[1], dict)):
        raise _Refused(f"signature '{base_name}' does not take keyword tensors only")
    specs = [*structure[1].values(), *(returned.values() if isinstance(returned, dict) else [None])]
    if not isinstance(returned, dict) or not all(isinstance(spec, tf.TensorSpec) for spec in specs):
        raise _Refused(f"signature '{base_name}' takes or returns composite (sparse or ragged) tensors")
    if sorted(structure[1]) != inputs or sorted(returned) != outputs:
        raise _Refused(f"the object graph and the SignatureDef of '{base_name}' name different tensors")
    captured = list(call.input[len(inputs) :])
    if len(captured) != len(concrete.bound_inputs):
        raise _Refused(f"the function of signature '{base_name}' captures other values in each view")
    captured_types = list(call.attr["Tin"].list.type[len(inputs) :])
    ordered = {name: structure[1][name] for name in inputs}
    return _Base(function, captured_types, map_node, ordered, returned, list(concrete.bound_inputs))


def _raw_feature_base(base: _Base, meta_graph: Any, plan: RewritePlan) -> _Base:
    """The base as the raw-feature copy of its function takes it: the Examples' argument
    replaced by the features, in the parse's order."""
    parse = plan.example_parse
    inputs = {}
    for name, spec in base.inputs.items():
        if name != parse.example_input:
            inputs[name] = spec
            continue
        for feature in parse.features:
            inputs[feature.name] = _spec(plan.base.inputs[feature.name], feature.name)
    return _Base(
        raw_signature_function(meta_graph, plan), base.captured_types, base.map_node, inputs, base.outputs, base.bound_inputs
    )


def object_graph_refusal(source: ModelHandle, plan: RewritePlan) -> str | None:
    """Why this model's base signature cannot be rewritten by editing its protos, or None if it can.

    Example:
        >>> from core.rewrite.plan import plan_rewrite
        >>> from core.rewrite.request import RewriteRequest
        >>> from core.savedmodel.handle import read_saved_model
        >>> handle = read_saved_model(Path("sample_models/vocab_lookup"))
        >>> object_graph_refusal(handle, plan_rewrite(handle.info, RewriteRequest(key="k"))) is None
        True
    """
    try:
        if plan.rewrites_signature:
            _locate(source, plan.base.name)
        elif plan.changes_signature_set:
            _signature_map(source.meta_graph.object_graph_def)
    except _Refused as reason:
        return str(reason)
    return None


def _spec(info: Any, name: str) -> Any:
    """A TensorSpec named ``name`` for a planned tensor (``TensorSpecInfo``)."""
    shape = None if info.shape is None else [None if dim < 0 else dim for dim in info.shape]
    return tf.TensorSpec(shape, tf.as_dtype(info.dtype), name=name)


def _wrapper(plan: RewritePlan, base: _Base, name: str) -> Any:
    """The new signature function: the base's function called with the same captures, its
    outputs renamed, the key and forwarded inputs through ``Identity``; built in an empty graph."""
    from tensorflow.python.framework import graph_to_function_def
    from tensorflow.python.ops import gen_functional_ops

    inputs = sorted(plan.result.inputs)
    base_outputs = sorted(base.outputs)
    graph = tf.Graph()
    with graph.as_default():
        args = {
            input_name: tf.compat.v1.placeholder(
                tf.as_dtype(spec.dtype), _spec(spec, input_name).shape, name=f"arg_{index}"
            )
            for index, (input_name, spec) in enumerate((n, plan.result.inputs[n]) for n in inputs)
        }  # fmt: skip
        captures = [  # variables and tables are resources; captured constants keep their own dtype
            tf.compat.v1.placeholder(tf.as_dtype(dtype), None, name=f"captured_{index}")
            for index, dtype in enumerate(base.captured_types)
        ]
        fed = [  # the base's arguments, from the inputs renamed and cast as planned
            tf.cast(args[plan.fed_as[name]], base.inputs[name].dtype) if name in plan.casts else args[plan.fed_as[name]]
            for name in base.inputs
        ]
        called = gen_functional_ops.stateful_partitioned_call(
            args=fed + captures,
            Tout=[base.outputs[output].dtype for output in base_outputs],
            f=base.function,
        )
        returned = {}
        for index, output_name in enumerate(sorted(plan.output_sources)):
            source = plan.output_sources[output_name]
            value = called[base_outputs.index(source.name)] if source.kind is OutputKind.OUTPUT else args[source.name]
            returned[output_name] = tf.identity(value, name=f"identity_{index}")
    ordered = sorted(returned)
    function = graph_to_function_def.graph_to_function_def(
        graph,
        graph.get_operations(),
        [args[input_name] for input_name in inputs] + captures,
        [returned[output_name] for output_name in ordered],
        [f"output_{index}" for index in range(len(ordered))],
    )
    function.signature.name = name
    function.signature.is_stateful = True
    for index, input_name in enumerate(inputs):
        function.arg_attr[index].attr["_user_specified_name"].s = input_name.encode()
    return function


def _concrete_function(plan: RewritePlan, base: _Base) -> Any:
    from tensorflow.core.protobuf import saved_object_graph_pb2
    from tensorflow.python.saved_model import nested_structure_coder

    inputs = {name: _spec(spec, name) for name, spec in plan.result.inputs.items()}
    outputs = {name: _spec(spec, name) for name, spec in plan.result.outputs.items()}
    return saved_object_graph_pb2.SavedConcreteFunction(
        bound_inputs=base.bound_inputs,
        canonicalized_input_signature=nested_structure_coder.encode_structure(((), inputs)),
        output_signature=nested_structure_coder.encode_structure(outputs),
    )


def _function_node(object_graph: Any, base_node: int, function: str, inputs: list[str]) -> Any:
    """The object-graph node of the new signature: the base's, calling ``function`` with ``inputs``."""
    from tensorflow.python.saved_model import nested_structure_coder

    node = copy_message(object_graph.nodes[base_node])
    bare = node.bare_concrete_function
    bare.concrete_function_name = function
    del bare.argument_keywords[:]
    bare.argument_keywords.extend(inputs)
    spec = bare.function_spec.fullargspec
    if spec.HasField("named_tuple_value"):
        for field in spec.named_tuple_value.values:
            if field.key == "kwonlyargs":
                field.value.CopyFrom(nested_structure_coder.encode_structure(list(inputs)))
    return node


def _function_name(source: ModelHandle, plan: RewritePlan) -> str:
    """A name no function of the library has, stable for the same rewrite of the same model."""
    taken = {function.signature.name for function in source.meta_graph.graph_def.library.function}
    planned = (plan.base.name, plan.result_name, sorted(plan.output_sources.items()))
    if plan.casts or any(base != name for name, base in plan.input_sources.items()):
        planned += (sorted(plan.input_sources.items(), key=str), sorted(plan.casts.items()))
    if plan.example_parse:
        planned += ("raw features",)
    digest = hashlib.sha256(repr(planned).encode())
    number = int(digest.hexdigest()[:12], 16)
    while f"__inference_signature_studio_{number}" in taken:
        number += 1
    return f"__inference_signature_studio_{number}"  # fingerprinting wants a number at the end


def rewrite_object_graph(source: ModelHandle, plan: RewritePlan, saved_model: Any, result_def: Any, output_dir: Path) -> None:
    """Write ``saved_model`` (the source's proto, already holding the nodes ``result_def``
    reads) with the planned signatures, and without the optimizer state the plan drops, into
    the new folder ``output_dir``. A plan that leaves the base signature as it is keeps its
    function untouched.

    Raises:
        ValueError: the model is not laid out for this engine (``object_graph_refusal`` says why).
    """
    meta_graph = saved_model.meta_graphs[source.meta_graph_index]
    object_graph = meta_graph.object_graph_def
    try:
        if plan.rewrites_signature:
            base = _locate(source, plan.base.name)
        elif plan.changes_signature_set:
            map_node = _signature_map(object_graph)
    except _Refused as reason:
        raise ValueError(str(reason)) from None
    if plan.example_parse:
        base = _raw_feature_base(base, meta_graph, plan)
    if plan.rewrites_signature:
        name = _function_name(source, plan)
        meta_graph.graph_def.library.function.add().CopyFrom(_wrapper(plan, base, name))
        object_graph.concrete_functions[name].CopyFrom(_concrete_function(plan, base))
        map_node = base.map_node
        base_node = _map_entries(object_graph, map_node)[plan.base.name]
        object_graph.nodes.add().CopyFrom(_function_node(object_graph, base_node, name, sorted(plan.result.inputs)))
        result_node = len(object_graph.nodes) - 1
    elif plan.changes_signature_set:
        result_node = _map_entries(object_graph, map_node)[plan.base.name]
    if plan.rewrites_signature or plan.changes_signature_set:
        # The signature map: kept signatures under their final names, the result, nothing dropped.
        entries = _map_entries(object_graph, map_node)
        children = {final: entries[original] for final, original in plan.kept_signatures.items() if original in entries}
        children[plan.result_name] = result_node
        signature_map = object_graph.nodes[map_node]
        del signature_map.children[:]
        for final in sorted(children):
            signature_map.children.add(node_id=children[final], local_name=final)
        replace_signature_defs(meta_graph, plan.kept_signatures, plan.result_name, result_def)
    if plan.dropped_optimizers:
        drop_optimizer_state(object_graph, plan.dropped_optimizers)
    write_edited_model(source.path, output_dir, saved_model)


def _map_entries(object_graph: Any, map_node: int) -> dict[str, int]:
    return {child.local_name: child.node_id for child in object_graph.nodes[map_node].children}
