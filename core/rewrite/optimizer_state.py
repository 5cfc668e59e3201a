"""Drop training-only optimizer state from a TF2 object graph, so ``tf.saved_model.load`` (and
what builds on it: TFLite's converter, Beam's loaders) can revive the model again.

Each node that belongs to an optimizer alone (``core.savedmodel.revival``) is emptied into a
plain object with no children, and every edge to it from the rest of the graph is removed.
Nodes are emptied rather than removed so that every other node keeps its id: concrete
functions' captures, ``keras_metadata.pb`` and the checkpoint's own object graph all refer to
nodes by id. ``variables/`` is not touched, so the model's variables stay byte-identical; the
optimizer's values stay in the checkpoint, where nothing restores them any more (TensorFlow
logs that when it loads the model).

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_saved_model
    >>> from core.savedmodel.revival import find_optimizer_state
    >>> handle = read_saved_model(Path("sample_models/keras2_churn"))
    >>> saved_model = handle.proto_copy()
    >>> meta_graph = saved_model.meta_graphs[handle.meta_graph_index]
    >>> drop_optimizer_state(meta_graph.object_graph_def, handle.info.optimizers)
    >>> find_optimizer_state(meta_graph)
    ()
"""

from __future__ import annotations

from typing import Any

from core.savedmodel.proto import copy_message
from core.savedmodel.revival import OptimizerState

# The identifier TensorFlow revives as a plain object with nothing in it.
_PLAIN_OBJECT = "_generic_user_object"


def owned_nodes(optimizers: tuple[OptimizerState, ...]) -> set[int]:
    """The object-graph node ids that belong to ``optimizers`` alone."""
    return {node_id for state in optimizers for node_id in state.nodes}


def cut_edges_to(node: Any, dropped: set[int]) -> None:
    """Remove ``node``'s children and dependencies that point at ``dropped`` nodes (in place)."""
    for references in (node.children, node.dependencies):
        # Copies, because deleting from the repeated field detaches the messages it held.
        kept = [copy_message(reference) for reference in references if reference.node_id not in dropped]
        if len(kept) != len(references):
            del references[:]
            references.extend(kept)


def optimizer_state_in_use(object_graph: Any, optimizers: tuple[OptimizerState, ...]) -> str | None:
    """Why the state of ``optimizers`` cannot be dropped (a function captures some of it), or None."""
    dropped = owned_nodes(optimizers)
    for name in sorted(object_graph.concrete_functions):
        captured = sorted(dropped.intersection(object_graph.concrete_functions[name].bound_inputs))
        if captured:
            return f"function '{name}' of the model captures the optimizer's variables (object graph nodes {captured})"
    return None


def drop_optimizer_state(object_graph: Any, optimizers: tuple[OptimizerState, ...]) -> None:
    """Empty every node of ``optimizers`` in ``object_graph`` (edited in place) and cut the
    edges that lead to them; node ids do not change.

    Raises:
        ValueError: a function of the model captures optimizer state (``optimizer_state_in_use``).
    """
    in_use = optimizer_state_in_use(object_graph, optimizers)
    if in_use:
        raise ValueError(in_use)
    dropped = owned_nodes(optimizers)
    for node_id, node in enumerate(object_graph.nodes):
        if node_id not in dropped:
            cut_edges_to(node, dropped)
    for node_id in dropped:
        node = object_graph.nodes[node_id]
        node.Clear()
        node.user_object.identifier = _PLAIN_OBJECT
        node.user_object.version.producer = 1
        node.user_object.version.min_consumer = 1
