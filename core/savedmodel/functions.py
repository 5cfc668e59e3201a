"""The functions a TF2 object graph holds (``tf.function``s saved as attributes of the
model's objects), found from the proto alone: what a model without a serving signature still
offers.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_saved_model
    >>> object_graph_functions(read_saved_model(Path("sample_models/vocab_lookup")).meta_graph)
    ['count_known', 'lookup']
"""

from __future__ import annotations

from typing import Any

# What Keras 2 saves on every model and layer: the layers and their own calls, not the model's entry points.
_KERAS_INTERNALS = ("keras_api", "call_and_return_conditional_losses", "call_and_return_all_conditional_losses")
_KERAS_LAYERS = ("layer-", "layer_with_weights-")


def object_graph_functions(meta_graph: Any) -> list[str]:
    """Paths (``serve``, ``encoder.__call__``) of the functions reachable from the root, shortest
    path first, without Keras' per-layer internals; empty for TF1 graphs."""
    if not meta_graph.HasField("object_graph_def"):
        return []
    nodes = meta_graph.object_graph_def.nodes
    paths = {0: ""}
    queue = [0]
    found = []
    for node_id in queue:
        for child in nodes[node_id].children:
            name = child.local_name
            if child.node_id in paths or not 0 <= child.node_id < len(nodes) or name in _KERAS_INTERNALS:
                continue
            if name.startswith(_KERAS_LAYERS):
                continue
            path = f"{paths[node_id]}.{child.local_name}" if paths[node_id] else child.local_name
            paths[child.node_id] = path
            kind = nodes[child.node_id].WhichOneof("kind")
            if kind == "function":
                found.append(path)
            elif kind == "user_object" and nodes[child.node_id].user_object.identifier != "signature_map":
                queue.append(child.node_id)
    return sorted(found)
