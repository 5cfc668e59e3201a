"""Which signature inputs end up as row indices of a table, found by following the graph.

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
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

# The operand of each gather that holds the row indices.
_INDICES_OPERAND = {"ResourceGather": 1, "GatherV2": 1, "Gather": 1, "ResourceGatherNd": 1, "GatherNd": 1}
_CALL_OPS = ("StatefulPartitionedCall", "PartitionedCall")


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
                called = node.attr["f"].func.name if node.op in _CALL_OPS else node.op
                arguments = library[called].signature.input_arg if called in library else ()
                if operand < len(arguments):
                    steps.append((called, arguments[operand].name))
                for step in steps:
                    if step not in seen:
                        seen.add(step)
                        queue.append(step)
        return False

    return {name for name in tensor_names if name and reaches_indices(name.split(":", 1)[0])}
