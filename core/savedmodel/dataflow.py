"""What a graph says of its inputs' values beyond the signature, found by following the graph:
which inputs end up as row indices of a table, and the width a TF1 input's signature leaves
open but its first MatMul or convolution fixes.

A Keras 2 ``Sequential`` whose first layer is an ``Embedding`` takes its ids as ``float32``
(the default input dtype) and casts them inside; such an input must get whole numbers inside the
table, as an integer input would, or the model rejects the batch (``indices[0,3] = -1 is not in
[0, 2713)``). The walk goes from the input's placeholder through every op and into the library
functions its call ops run, and stops at a gather's indices operand. It over-approximates (it
does not track which output of an op or a call carries the value), which only costs a float
input the normal-distributed values it could have had.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_saved_model
    >>> meta_graph = read_saved_model(Path("sample_models/house_price")).meta_graph
    >>> index_inputs(meta_graph, ["serving_default_rooms:0"])
    set()
    >>> graph_widths(read_saved_model(Path("sample_models/tf1_half_plus_two/00000123")).meta_graph, ["x:0"])
    {}
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from core.savedmodel.proto import CALL_OPS, VARIABLE_OPS

# The operand of each gather that holds the row indices.
_INDICES_OPERAND = {"ResourceGather": 1, "GatherV2": 1, "Gather": 1, "ResourceGatherNd": 1, "GatherNd": 1}
# Ops whose output has their first operand's last dimension, on the way to the op that fixes it.
_SAME_WIDTH = {"Identity", "Cast", "Sub", "Add", "AddV2", "Mul", "RealDiv", "Neg", "Relu", "Sigmoid", "Tanh", "Square"}
_CONVOLUTIONS = {"Conv2D", "Conv3D", "DepthwiseConv2dNative"}
_READS = {"Identity", "ReadVariableOp", "Snapshot"}


def _consumers(node_defs: Any) -> dict[str, list[tuple[Any, int]]]:
    """Source (a node, or a function's argument) → the nodes reading it, with the operand index.
    Graph inputs read ``node:0``, function bodies ``node:out:0`` or ``arg``: the source is the
    first part either way; control inputs (``^node``) carry no value."""
    found: dict[str, list[tuple[Any, int]]] = defaultdict(list)
    for node in node_defs:
        operand = 0
        for reference in node.input:
            if reference.startswith("^"):
                continue
            found[reference.split(":", 1)[0]].append((node, operand))
            operand += 1
    return found


def index_inputs(meta_graph: Any, tensor_names: list[str]) -> set[str]:
    """The tensors of ``tensor_names`` (signature inputs, ``name:0``) whose values reach the
    indices of a gather, directly or through casts, reshapes and function calls."""
    library = {function.signature.name: function for function in meta_graph.graph_def.library.function}
    consumers: dict[str | None, dict[str, list[tuple[Any, int]]]] = {None: _consumers(meta_graph.graph_def.node)}

    def scope_consumers(scope: str | None) -> dict[str, list[tuple[Any, int]]]:
        if scope not in consumers:
            consumers[scope] = _consumers(library[scope].node_def)
        return consumers[scope]

    def reaches_indices(start: str) -> bool:
        seen = {(None, start)}
        queue: list[tuple[str | None, str]] = [(None, start)]
        while queue:
            scope, source = queue.pop()
            for node, operand in scope_consumers(scope).get(source, ()):
                if _INDICES_OPERAND.get(node.op) == operand:
                    return True
                steps = [(scope, node.name)]
                called = node.attr["f"].func.name if node.op in CALL_OPS and "f" in node.attr else node.op
                arguments = library[called].signature.input_arg if called in library else ()
                if operand < len(arguments):
                    steps.append((called, arguments[operand].name))
                for step in steps:
                    if step not in seen:
                        seen.add(step)
                        queue.append(step)
        return False

    return {name for name in tensor_names if name and reaches_indices(name.split(":", 1)[0])}


def _static_shape(nodes: dict[str, Any], reference: str) -> list[int] | None:
    """The shape of a weight (a variable, or a read of one, or a constant), from the graph."""
    node = nodes.get(reference.lstrip("^").split(":", 1)[0])
    for _ in range(8):
        if node is None:
            return None
        if node.op in _READS and node.input:
            node = nodes.get(node.input[0].split(":", 1)[0])
            continue
        if node.op in VARIABLE_OPS and "shape" in node.attr:
            shape = node.attr["shape"].shape
            return None if shape.unknown_rank else [dim.size for dim in shape.dim]
        if node.op == "Const" and "value" in node.attr:
            return [dim.size for dim in node.attr["value"].tensor.tensor_shape.dim]
        return None
    return None


def _fixed_width(nodes: dict[str, Any], node: Any, operand: int) -> int | None:
    """The width ``node`` requires of its ``operand``: a MatMul's rows of weights, a
    convolution's input channels (NHWC, the default)."""

    # Attributes are read with ``in`` first: indexing a proto map adds the key, and this reader
    # must never change the graph it reads (the engines copy it).
    def flag(name: str) -> bool:
        return name in node.attr and node.attr[name].b

    if operand != 0 or len(node.input) < 2:
        return None
    if node.op == "MatMul" and not flag("transpose_a"):
        shape = _static_shape(nodes, node.input[1])
        if shape and len(shape) == 2:
            return shape[1] if flag("transpose_b") else shape[0]
    if node.op in _CONVOLUTIONS:
        data_format = node.attr["data_format"].s.decode() if "data_format" in node.attr else "NHWC"
        shape = _static_shape(nodes, node.input[1])
        if data_format.endswith("C") and shape and len(shape) >= 3:
            return shape[-2]
    return None


def graph_widths(meta_graph: Any, tensor_names: list[str]) -> dict[str, int]:
    """Tensor (``name:0``) → the last dimension the graph's first MatMul or convolution on it
    requires, for inputs of the graph itself (TF1; a TF2 model's functions say it by their
    traced shapes). Inputs no such op reads are left out."""
    nodes = {node.name: node for node in meta_graph.graph_def.node}
    consumers = _consumers(meta_graph.graph_def.node)
    found: dict[str, int] = {}
    for tensor in tensor_names:
        queue, seen = [tensor.split(":", 1)[0]], set()
        while queue and tensor not in found:
            source = queue.pop(0)
            for node, operand in consumers.get(source, ()):
                width = _fixed_width(nodes, node, operand)
                if width is not None and width > 0:
                    found[tensor] = width
                    break
                if node.op in _SAME_WIDTH and operand == 0 and node.name not in seen:
                    seen.add(node.name)
                    queue.append(node.name)
    return found
