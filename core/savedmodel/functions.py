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

from dataclasses import dataclass, field
from typing import Any

# What Keras 2 saves on every model and layer: the layers and their own calls, not the model's entry points.
_KERAS_INTERNALS = ("keras_api", "call_and_return_conditional_losses", "call_and_return_all_conditional_losses")
_KERAS_LAYERS = ("layer-", "layer_with_weights-")


def function_nodes(meta_graph: Any) -> dict[str, int]:
    """Path → object-graph node of every function reachable from the root (shortest path
    first), without Keras' per-layer internals; empty for TF1 graphs."""
    if not meta_graph.HasField("object_graph_def"):
        return {}
    nodes = meta_graph.object_graph_def.nodes
    paths = {0: ""}
    queue = [0]
    found = {}
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
                found[path] = child.node_id
            elif kind == "user_object" and nodes[child.node_id].user_object.identifier != "signature_map":
                queue.append(child.node_id)
    return found


def object_graph_functions(meta_graph: Any) -> list[str]:
    """Paths (``serve``, ``encoder.__call__``) of the functions reachable from the root, without
    Keras' per-layer internals; empty for TF1 graphs."""
    return sorted(function_nodes(meta_graph))


@dataclass(frozen=True)
class InputHints:
    """What the model's files say about the values its inputs accept, beyond the signature:
    the most specific shape each input name was traced with (a signature may declare
    ``[-1, -1]`` where the model's own function was traced ``[None, 20]``), the rows of
    the smallest embedding table, which integer ids must stay below, the input tensors
    (``name:0``) that index a table whatever their dtype (a float input cast to ids), and the
    last dimension a TF1 graph's first MatMul or convolution requires of an input tensor;
    ``var_len``: inputs that are var-len tf.Example features (of a raw-feature base), which
    rows fill with one value per example, as estimator and TFX exports' optional features hold."""

    traced_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    id_limit: int | None = None
    index_inputs: frozenset[str] = frozenset()
    graph_widths: dict[str, int] = field(default_factory=dict)
    var_len: frozenset[str] = frozenset()


def _specificity(shape: tuple[int, ...]) -> int:
    return sum(dim >= 0 for dim in shape)


def traced_shapes(meta_graph: Any) -> dict[str, tuple[int, ...]]:
    """Input name → the traced shape with the most known dimensions (-1 unknown) over every
    concrete function of the object graph; empty for TF1 graphs."""
    if not meta_graph.HasField("object_graph_def"):
        return {}
    from tensorflow.python.saved_model import nested_structure_coder

    from core._tf import tf

    found: dict[str, tuple[int, ...]] = {}
    for function in meta_graph.object_graph_def.concrete_functions.values():
        try:
            structure = nested_structure_coder.decode_proto(function.canonicalized_input_signature)
        except (ValueError, TypeError, NotImplementedError):
            continue
        for spec in tf.nest.flatten(structure):
            if not isinstance(spec, tf.TensorSpec) or not spec.name or spec.shape.rank is None:
                continue
            shape = tuple(-1 if dim is None else int(dim) for dim in spec.shape.as_list())
            if spec.name not in found or _specificity(shape) > _specificity(found[spec.name]):
                found[spec.name] = shape
    return found


def embedding_rows(variables: dict[str, Any]) -> int | None:
    """The rows of the smallest embedding table among the checkpoint's variables (by name:
    Keras' ``embeddings``, TF1's ``embedding`` scopes), or None when there is none."""
    rows = [
        spec.shape[0]
        for name, spec in variables.items()
        if "embedding" in name.lower() and ".OPTIMIZER_SLOT" not in name and len(spec.shape) >= 2 and spec.shape[0] > 0
    ]
    return min(rows) if rows else None
