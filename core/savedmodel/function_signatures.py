"""The functions of a TF2 object graph that can be served as a signature, each described as the
signature it would be, from the proto alone (``rewrite --from-function`` makes one of them a
signature; ``inspect`` lists them).

A function qualifies when one of its traced concrete functions takes only tensors (by position
or keyword) and returns a tensor, a list of tensors or a dict of them; the signature's inputs
are named as the trace named them (else by the function's argument names), its outputs as
``tf.saved_model.save`` names them (a dict's keys; ``output_0``, ``output_1``, … otherwise).

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_saved_model
    >>> found = function_signatures(read_saved_model(Path("sample_models/vocab_lookup")).meta_graph)
    >>> sorted(found), list(found["lookup"].inputs), list(found["lookup"].outputs)
    (['count_known', 'lookup'], ['words'], ['ids'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.savedmodel.functions import function_nodes
from core.savedmodel.info import SignatureInfo, TensorSpecInfo
from core.savedmodel.proto import PREDICT_METHOD


def _decode(encoded: Any) -> Any:
    from tensorflow.python.saved_model import nested_structure_coder

    try:
        return nested_structure_coder.decode_proto(encoded)
    except (ValueError, TypeError, NotImplementedError):
        return None


def _spec_info(spec: Any) -> TensorSpecInfo:
    shape = None if spec.shape.rank is None else tuple(-1 if dim is None else int(dim) for dim in spec.shape.as_list())
    return TensorSpecInfo(spec.dtype.name, shape, "")


def _argument_names(function: Any) -> list[str]:
    spec = _decode(function.function_spec.fullargspec) if function.HasField("function_spec") else None
    names = list(getattr(spec, "args", None) or [])
    return names[1:] if names[:1] == ["self"] else names


@dataclass(frozen=True)
class FunctionTrace:
    """How to call one traced concrete function: its argument structure ``(args, kwargs)``
    (tensor specs, and the Python values it was traced with, such as ``training=False``), and
    the input name of each tensor in ``tf.nest.flatten`` order."""

    structure: Any
    input_names: tuple[str, ...]


def _trace(structure: Any, argument_names: list[str]) -> FunctionTrace | None:
    """The trace's inputs named (a dict's keys, the trace's names, else the argument's), or
    None when it cannot be a signature (a Python value other than a flag, names that clash)."""
    from tensorflow.python.util import nest

    from core._tf import tf

    if not (isinstance(structure, tuple) and len(structure) == 2 and isinstance(structure[1], dict)):
        return None
    names = []
    for path, leaf in nest.flatten_with_joined_string_paths(structure):
        if isinstance(leaf, tf.TensorSpec):
            top, _, rest = path.partition("/")  # "0/rooms": positional 0, key rooms; "1/x": keyword x
            position = int(top) if top.isdigit() else None
            argument = argument_names[position] if position is not None and position < len(argument_names) else None
            names.append(leaf.name or rest.rpartition("/")[2] or argument or f"input_{len(names)}")
        elif leaf is not None and not isinstance(leaf, bool):
            return None  # a traced Python value a client could not send
    if not names or len(set(names)) != len(names):
        return None
    return FunctionTrace(structure, tuple(names))


def servable_trace(meta_graph: Any, path: str) -> tuple[FunctionTrace, SignatureInfo] | None:
    """The trace of the function at ``path`` that can be served (inference first: traced with
    no Python value set to True, such as ``training``), and the signature it would be."""
    from core._tf import tf

    node_id = function_nodes(meta_graph).get(path)
    if node_id is None:
        return None
    object_graph = meta_graph.object_graph_def
    function = object_graph.nodes[node_id].function
    candidates = []
    for concrete_name in function.concrete_functions:
        concrete = object_graph.concrete_functions.get(concrete_name)
        if concrete is None:
            continue
        structure = _decode(concrete.canonicalized_input_signature)
        trace = _trace(structure, _argument_names(function)) if structure is not None else None
        outputs = _outputs(_decode(concrete.output_signature))
        if trace is not None and outputs:
            training = any(leaf is True for leaf in tf.nest.flatten(structure))
            candidates.append((training, trace, outputs))
    if not candidates:
        return None
    _, trace, outputs = min(candidates, key=lambda candidate: candidate[0])
    specs = [leaf for leaf in tf.nest.flatten(trace.structure) if isinstance(leaf, tf.TensorSpec)]
    inputs = {name: _spec_info(spec) for name, spec in zip(trace.input_names, specs, strict=True)}
    return trace, SignatureInfo(path, PREDICT_METHOD, False, inputs, outputs)


def _outputs(structure: Any) -> dict[str, TensorSpecInfo] | None:
    from core._tf import tf

    if isinstance(structure, tf.TensorSpec):
        return {"output_0": _spec_info(structure)}
    if isinstance(structure, dict) and structure and all(isinstance(spec, tf.TensorSpec) for spec in structure.values()):
        return {str(name): _spec_info(spec) for name, spec in structure.items()}
    if isinstance(structure, (list, tuple)) and structure and all(isinstance(spec, tf.TensorSpec) for spec in structure):
        return {f"output_{index}": _spec_info(spec) for index, spec in enumerate(structure)}
    return None


def function_signatures(meta_graph: Any) -> dict[str, SignatureInfo]:
    """Path → the signature each servable function of the object graph would be; empty for
    TF1 graphs."""
    found = {}
    for path in function_nodes(meta_graph):
        served = servable_trace(meta_graph, path)
        if served is not None:
            found[path] = served[1]
    return dict(sorted(found.items()))
