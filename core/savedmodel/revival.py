"""Whether ``tf.saved_model.load`` can revive a TF2 model, read from its object graph alone.

Keras 2-era exports (``model.save(dir)`` after ``compile``/``fit``) and ``tf.Module``s holding a
``tf.compat.v1.train`` optimizer keep the optimizer in the object graph with its *slot
variables* (Adam's ``m`` and ``v``). ``tf.saved_model.load`` recreates those with the
optimizer's ``add_slot``, which only a Keras 2 optimizer revived by ``tf_keras`` has; anything
else is revived as a plain object and the load fails with ``'_UserObject' object has no
attribute 'add_slot'`` (tensorflow/tensorflow#52091). TF Serving and the session loader never
revive Python objects and serve these models as they are.

Nothing here runs the model: ``find_optimizer_state`` walks the object graph proto.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_saved_model
    >>> find_optimizer_state(read_saved_model(Path("sample_models/house_price")).meta_graph)
    ()
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

# The identifier of a Keras 2 OptimizerV2: TensorFlow imports tf_keras to revive it.
KERAS2_OPTIMIZER = "optimizer"
DROP_OPTIMIZER_FLAG = "--drop-optimizer"


@dataclass(frozen=True)
class OptimizerState:
    """One optimizer in the object graph: where it hangs (``optimizer``), what TensorFlow calls
    it, its slot variables, its variables (slots, hyperparameters, the step count) and every
    node that belongs to it alone (itself included)."""

    path: str
    identifier: str
    node_id: int
    slot_variables: int
    variables: int
    nodes: tuple[int, ...]

    def describe(self) -> str:
        """``'optimizer' (Keras 2 optimizer, 8 slot variables)``."""
        kind = "Keras 2 optimizer" if self.identifier == KERAS2_OPTIMIZER else f"object '{self.identifier}'"
        return f"'{self.path}' ({kind}, {self.slot_variables} slot variables)"


def _references(node: Any) -> list[int]:
    """Every node id ``node`` points at: children, dependencies and slot variables."""
    ids = [child.node_id for child in node.children]
    ids += [dependency.node_id for dependency in node.dependencies]
    ids += [slot.slot_variable_node_id for slot in node.slot_variables]
    return ids


def _paths(object_graph: Any) -> dict[int, str]:
    """A readable path (``layer-1.kernel``) for each node reachable from the root, shortest first."""
    paths = {0: ""}
    queue = [0]
    for node_id in queue:
        for child in object_graph.nodes[node_id].children:
            if child.node_id not in paths and 0 <= child.node_id < len(object_graph.nodes):
                prefix = paths[node_id]
                paths[child.node_id] = f"{prefix}.{child.local_name}" if prefix else child.local_name
                queue.append(child.node_id)
    return paths


def find_optimizer_state(meta_graph: Any) -> tuple[OptimizerState, ...]:
    """The optimizers with slot variables in ``meta_graph``'s object graph (none for TF1 graphs).

    A node belongs to an optimizer when it is reached from the optimizer and not from the root
    by any path that avoids every optimizer (the model's own variables, which slots point at,
    stay with the model).
    """
    if not meta_graph.HasField("object_graph_def"):
        return ()
    object_graph = meta_graph.object_graph_def
    count = len(object_graph.nodes)
    optimizers = [node_id for node_id, node in enumerate(object_graph.nodes) if node.slot_variables]
    if not optimizers:
        return ()
    kept: set[int] = set()
    queue = [0]
    while queue:
        node_id = queue.pop()
        if node_id in kept or node_id in optimizers or not 0 <= node_id < count:
            continue
        kept.add(node_id)
        node = object_graph.nodes[node_id]
        queue += [child.node_id for child in node.children] + [dependency.node_id for dependency in node.dependencies]
    paths = _paths(object_graph)
    found = []
    for optimizer in optimizers:
        owned: set[int] = set()
        queue = [optimizer]
        while queue:
            node_id = queue.pop()
            if node_id in owned or node_id in kept or not 0 <= node_id < count:
                continue
            owned.add(node_id)
            queue += _references(object_graph.nodes[node_id])
        node = object_graph.nodes[optimizer]
        identifier = node.user_object.identifier if node.WhichOneof("kind") == "user_object" else node.WhichOneof("kind")
        found.append(
            OptimizerState(
                path=paths.get(optimizer, f"node {optimizer}"),
                identifier=identifier or "",
                node_id=optimizer,
                slot_variables=len(node.slot_variables),
                variables=sum(object_graph.nodes[i].WhichOneof("kind") == "variable" for i in owned),
                nodes=tuple(sorted(owned)),
            )
        )
    return tuple(found)


def tf_keras_installed() -> bool:
    """Whether ``tf_keras`` can be imported here (found, not imported)."""
    return importlib.util.find_spec("tf_keras") is not None


def object_loader_problem(optimizers: tuple[OptimizerState, ...]) -> str | None:
    """Why ``tf.saved_model.load`` cannot revive a model with these optimizers here, and the
    repair; None when it can.

    Example:
        >>> state = OptimizerState("opt", "_generic_user_object", 3, 2, 4, (3, 6, 7, 8, 9))
        >>> object_loader_problem((state,)).split(";")[0]
        "tf.saved_model.load cannot revive this model: it holds optimizer 'opt' (object '_generic_user_object', 2 slot variables)"
    """
    blocking = [state for state in optimizers if state.identifier != KERAS2_OPTIMIZER or not tf_keras_installed()]
    if not blocking:
        return None
    listed = ", ".join(state.describe() for state in blocking)
    return (
        f"tf.saved_model.load cannot revive this model: it holds optimizer {listed}; "
        "its slot variables can only be recreated by a Keras 2 optimizer (tf_keras), so loading fails with "
        "\"'_UserObject' object has no attribute 'add_slot'\". TF Serving and the session loader serve it as it is. "
        f"Repair: drop the optimizer state (rewrite {DROP_OPTIMIZER_FLAG}, or 'Drop the optimizer state' on the "
        "Edit page), which removes this training-only state from the object graph and keeps variables/ byte-identical"
    )
