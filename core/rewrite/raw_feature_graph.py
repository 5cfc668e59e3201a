"""The base a raw-feature signature is built on, written into the graph: the signature's own
computation, fed each parsed feature as a tensor where it was fed serialized ``tf.Example``\\s.

* In a **TF1 graph** the parse runs in the graph, and a session (TF Serving's too) can feed any
  tensor: the base takes the parse's dense outputs as its inputs and nothing is added. A
  var-len feature is a SparseTensor, three tensors no client can feed by one name: it gets a
  placeholder of its own, nodes that make that SparseTensor of it, and a copy of the graph
  between the parse and the outputs that reads them (nodes that do not depend on the parse,
  variables and tables among them, are shared, not copied).
* In a **TF2 object graph** the parse runs inside the functions the signature calls. Each
  function on the way to it is copied under a new name, the Examples argument replaced by one
  argument per feature; in the copy that held it, the parse is gone and its outputs' readers
  read those arguments (a var-len feature's readers, the SparseTensor made of its argument).
  A second call of the signature's function, with a placeholder per feature, serves the base
  in the graph; the object-graph engine calls the copy as its base.

The original functions and nodes are untouched, so every other signature runs as before.

Example:
    >>> from pathlib import Path
    >>> from core.rewrite.plan import plan_rewrite
    >>> from core.rewrite.request import RewriteRequest
    >>> from core.savedmodel.handle import read_saved_model
    >>> source = read_saved_model(Path("sample_models/tf1_half_plus_two/00000123"))
    >>> plan = plan_rewrite(source.info, RewriteRequest(signature="regress_x_to_y", raw_features=True))
    >>> meta_graph = source.proto_copy().meta_graphs[source.meta_graph_index]
    >>> base_def = raw_base_signature_def(meta_graph, plan)
    >>> {name: info.name for name, info in base_def.inputs.items()}
    {'x': 'ParseExample/ParseExampleV2:0'}
"""

from __future__ import annotations

import hashlib
from typing import Any

from core._tf import tf
from core.rewrite.plan import RewritePlan
from core.rewrite.signature_def import add_placeholder, ensure_op_defs, node_input, node_scope, unique_name
from core.savedmodel.example_parse import ExampleParse, nodes_after, nodes_needed
from core.savedmodel.proto import copy_message

RAW_CALL = "raw_features_call"


def raw_base_signature_def(meta_graph: Any, plan: RewritePlan) -> Any:
    """The SignatureDef of the plan's raw-feature base, its nodes and functions added to
    ``meta_graph``: the original's outputs, each feature an input."""
    parse = plan.example_parse
    original = meta_graph.signature_def[plan.base.name]
    base_def = copy_message(original)
    del base_def.inputs[parse.example_input]
    graph_def = meta_graph.graph_def
    taken = {node.name for node in graph_def.node}
    scope = f"{node_scope(plan.result_name)}/raw"
    if any(feature.sparse for feature in parse.features):
        ensure_op_defs(meta_graph, list(SPARSE_TENSOR_OPS))
    if parse.scope is None:
        _graph_base(meta_graph, parse, base_def, taken, scope)
        return base_def
    placeholders = []
    for feature in parse.features:
        info = base_def.inputs[feature.name]
        add_placeholder(graph_def, taken, f"{scope}/{feature.name}", tf.as_dtype(feature.dtype), _shape(feature.spec.shape), info)
        placeholders.append(node_input(info.name))
    outermost = _cut_functions(meta_graph, parse, _stem(plan))
    graph_call = next(node for node in graph_def.node if node.name == parse.route[0].node)
    call = copy_message(graph_call)
    call.name = unique_name(f"{scope}/{RAW_CALL}", taken)
    _feed_features(call, parse.route[0].operand, placeholders, parse, outermost)
    graph_def.node.append(call)
    for info in base_def.outputs.values():
        info.name = f"{call.name}:{info.name.partition(':')[2] or 0}"
    return base_def


def _graph_base(meta_graph: Any, parse: ExampleParse, base_def: Any, taken: set[str], scope: str) -> None:
    """A TF1 graph's base: dense features fed into the parse's outputs; var-len ones into a
    copy of the graph after the parse (see the module)."""
    graph_def = meta_graph.graph_def
    sparse = _sparse_count(graph_def.node, parse.node)
    replaced: dict[str, str] = {}
    for feature in parse.features:
        info = base_def.inputs[feature.name]
        dtype = tf.as_dtype(feature.dtype)
        if not feature.sparse:
            info.name = parse.output_reference(feature, sparse)
            info.dtype = dtype.as_datatype_enum
            info.tensor_shape.CopyFrom(_shape(feature.spec.shape))
            continue
        add_placeholder(graph_def, taken, f"{scope}/{feature.name}", dtype, _shape(feature.spec.shape), info)
        nodes, made = sparse_tensor_nodes(f"{scope}/{feature.name}_sparse", node_input(info.name), dtype, taken)
        graph_def.node.extend(nodes)
        replaced |= dict(zip(parse.sparse_references(feature, sparse), made, strict=True))
    if not replaced:
        return
    nodes = {node.name: node for node in graph_def.node}
    roots = [info.name.split(":")[0] for info in base_def.outputs.values()]
    copies = _copy_after_parse(graph_def, nodes, parse.node, replaced, roots, f"{scope}/after_parse", taken)
    for info in base_def.outputs.values():
        node, _, index = info.name.partition(":")
        if node in copies:
            info.name = f"{copies[node]}:{index or 0}"


def _copy_after_parse(
    graph_def: Any, nodes: dict[str, Any], parse: str, replaced: dict[str, str], roots: list[str], prefix: str, taken: set[str]
) -> dict[str, str]:
    """Copy every node between the parse and ``roots``, reading ``replaced`` where they read the
    parse's outputs (the rest of them, dense features, are fed); original name → copy's name."""
    after = nodes_after(nodes, nodes_needed(nodes, roots, parse)[0], parse)
    copies = {name: unique_name(f"{prefix}/{name}", taken) for name in nodes if name in after}
    for name, copy_name in copies.items():
        node = copy_message(nodes[name])
        node.name = copy_name
        inputs = []
        for reference in node.input:
            control = reference.startswith("^")
            source, _, index = reference.lstrip("^").partition(":")
            if source == parse:
                if not control:  # the copy runs without the parse: its control edge goes
                    inputs.append(replaced.get(f"{source}:{index or 0}", reference))
            elif source in copies:
                inputs.append(f"{'^' if control else ''}{copies[source]}{':' + index if index else ''}")
            else:
                inputs.append(reference)
        del node.input[:]
        node.input.extend(inputs)
        graph_def.node.append(node)
    return copies


SPARSE_TENSOR_OPS = ("Shape", "Const", "Fill", "Where", "Reshape")  # what ``sparse_tensor_nodes`` adds


def sparse_tensor_nodes(
    prefix: str, source: str, dtype: Any, taken: set[str], *, in_function: bool = False
) -> tuple[list[Any], tuple[str, str, str]]:
    """Nodes that make ``source`` (``[batch, width]``) the SparseTensor a parse gives Examples
    that each carry ``width`` values: every (row, column) in row-major order, the values in that
    order, the shape ``[batch, width]``; and how a reader names its indices, values and shape.

    Example:
        >>> nodes, made = sparse_tensor_nodes("company", "company_input", tf.string, set())
        >>> [node.op for node in nodes], made
        (['Shape', 'Const', 'Fill', 'Where', 'Const', 'Reshape'], ('company/indices', 'company/values', 'company/dense_shape'))
    """
    attr = tf.compat.v1.AttrValue
    made: list[Any] = []

    def add(name: str, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        node = tf.compat.v1.NodeDef(name=unique_name(f"{prefix}/{name}", taken), op=op, input=inputs)
        for key, value in attrs.items():
            node.attr[key].CopyFrom(value)
        made.append(node)
        return f"{node.name}:{output}:0" if in_function else node.name

    kind, int32, int64, boolean = (d.as_datatype_enum for d in (dtype, tf.int32, tf.int64, tf.bool))
    shape = add("dense_shape", "Shape", [source], "output", T=attr(type=kind), out_type=attr(type=int64))
    true = add("true", "Const", [], "output", dtype=attr(type=boolean), value=attr(tensor=tf.make_tensor_proto(True)))
    every = add("every", "Fill", [shape, true], "output", T=attr(type=boolean), index_type=attr(type=int64))
    indices = add("indices", "Where", [every], "index", T=attr(type=boolean))
    flat = add("flat", "Const", [], "output", dtype=attr(type=int32), value=attr(tensor=tf.make_tensor_proto([-1], tf.int32)))
    values = add("values", "Reshape", [source, flat], "output", T=attr(type=kind), Tshape=attr(type=int32))
    return made, (indices, values, shape)


def raw_signature_function(meta_graph: Any, plan: RewritePlan) -> str:
    """The function the raw-feature base's call runs (a TF2 model, after ``raw_base_signature_def``)."""
    scope = f"{node_scope(plan.result_name)}/raw/{RAW_CALL}"
    call = next(node for node in meta_graph.graph_def.node if node.name == scope)
    return call.attr["f"].func.name


def _shape(dims: tuple[int, ...]) -> Any:
    return tf.TensorShape([None if dim < 0 else dim for dim in dims]).as_proto()


def _sparse_count(node_defs: Any, parse_node: str) -> int:
    node = next(node for node in node_defs if node.name == parse_node)
    return node.attr["num_sparse"].i if node.op == "ParseExampleV2" else node.attr["Nsparse"].i


def _stem(plan: RewritePlan) -> int:
    """A number for the copies' names, stable for the same rewrite."""
    planned = repr((plan.base.name, plan.result_name, "raw"))
    return int(hashlib.sha256(planned.encode()).hexdigest()[:12], 16)


def _feed_features(call: Any, operand: int, feeds: list[str], parse: ExampleParse, function: str) -> None:
    """Make ``call`` run ``function`` with ``feeds`` (one per feature) where it passed the Examples."""
    data = [ref for ref in call.input if not ref.startswith("^")]
    control = [ref for ref in call.input if ref.startswith("^")]
    del call.input[:]
    call.input.extend(data[:operand] + feeds + data[operand + 1 :] + control)
    types = list(call.attr["Tin"].list.type)
    features = [tf.as_dtype(feature.dtype).as_datatype_enum for feature in parse.features]
    call.attr["Tin"].list.ClearField("type")
    call.attr["Tin"].list.type.extend(types[:operand] + features + types[operand + 1 :])
    call.attr["f"].func.name = function
    if "_read_only_resource_inputs" in call.attr:
        shift = len(feeds) - 1
        indices = [i + shift if i > operand else i for i in call.attr["_read_only_resource_inputs"].list.i]
        call.attr["_read_only_resource_inputs"].list.ClearField("i")
        call.attr["_read_only_resource_inputs"].list.i.extend(indices)


def _replace_argument(function: Any, position: int, parse: ExampleParse, taken_args: set[str]) -> list[str]:
    """Replace ``function``'s argument at ``position`` by one argument per feature; their names."""
    from tensorflow.core.framework import op_def_pb2

    signature = function.signature
    args = list(signature.input_arg)
    names = [unique_name(f"signature_studio_raw_{feature.index}", taken_args) for feature in parse.features]
    new_args = [
        op_def_pb2.OpDef.ArgDef(name=name, type=tf.as_dtype(feature.dtype).as_datatype_enum)
        for name, feature in zip(names, parse.features, strict=True)
    ]
    del signature.input_arg[:]
    signature.input_arg.extend(args[:position] + new_args + args[position + 1 :])
    shift = len(names) - 1
    arg_attrs = {index: copy_message(value) for index, value in function.arg_attr.items()}
    function.ClearField("arg_attr")
    for index, value in arg_attrs.items():
        if index != position:
            function.arg_attr[index + shift if index > position else index].CopyFrom(value)
    for offset, feature in enumerate(parse.features):
        attrs = function.arg_attr[position + offset].attr
        attrs["_user_specified_name"].s = feature.name.encode()
        attrs["_output_shapes"].list.shape.add().CopyFrom(_shape(feature.spec.shape))
    unique_ids = dict(function.resource_arg_unique_id)
    function.ClearField("resource_arg_unique_id")
    for index, value in unique_ids.items():
        function.resource_arg_unique_id[index + shift if index > position else index] = value
    if "_input_shapes" in function.attr:
        shapes = [copy_message(shape) for shape in function.attr["_input_shapes"].list.shape]
        features = [_shape(feature.spec.shape) for feature in parse.features]
        function.attr["_input_shapes"].list.ClearField("shape")
        function.attr["_input_shapes"].list.shape.extend(shapes[:position] + features + shapes[position + 1 :])
    return names


def _cut_functions(meta_graph: Any, parse: ExampleParse, stem: int) -> str:
    """Copy each function on the parse's route, innermost first, fed features; the outermost
    copy's name (what the graph's call runs)."""
    library = meta_graph.graph_def.library
    functions = {function.signature.name: function for function in library.function}
    taken = set(functions)
    scopes = [step.scope for step in parse.route[1:]] + [parse.scope]
    positions = [step.operand for step in parse.route]
    inner: str | None = None
    for depth in range(len(scopes) - 1, -1, -1):
        function = copy_message(functions[scopes[depth]])
        name = f"__inference_signature_studio_raw_{stem + depth}"
        while name in taken:
            stem += 1
            name = f"__inference_signature_studio_raw_{stem + depth}"
        taken.add(name)
        function.signature.name = name
        args = _replace_argument(
            function,
            positions[depth],
            parse,
            {a.name for a in function.signature.input_arg} | {n.name for n in function.node_def},
        )
        if inner is None:
            _drop_parse(function, parse, args)
        else:
            call = next(node for node in function.node_def if node.name == parse.route[depth + 1].node)
            _feed_features(call, parse.route[depth + 1].operand, args, parse, inner)
        library.function.add().CopyFrom(function)
        inner = name
    return inner


def _drop_parse(function: Any, parse: ExampleParse, args: list[str]) -> None:
    """Remove the parse from ``function``; its dense outputs' readers read ``args`` instead, a
    var-len feature's readers the SparseTensor made of its argument."""
    replaced, made = {}, []
    taken = {node.name for node in function.node_def} | set(args)
    for feature, arg in zip(parse.features, args, strict=True):
        if not feature.sparse:
            replaced[parse.output_reference(feature)] = arg
            continue
        nodes, refs = sparse_tensor_nodes(f"{arg}_sparse", arg, tf.as_dtype(feature.dtype), taken, in_function=True)
        made += nodes
        replaced |= dict(zip(parse.sparse_references(feature), refs, strict=True))
    kept = [node for node in function.node_def if node.name != parse.node] + made
    del function.node_def[:]
    for node in kept:
        inputs = [replaced.get(ref, ref) for ref in node.input if ref != f"^{parse.node}"]
        del node.input[:]
        node.input.extend(inputs)
        function.node_def.add().CopyFrom(node)
    for key, ref in list(function.ret.items()):
        function.ret[key] = replaced.get(ref, ref)
    for key, node in list(function.control_ret.items()):
        if node == parse.node:
            del function.control_ret[key]
