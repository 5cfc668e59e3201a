"""Find the ``tf.Example`` features a serving graph parses, from its ParseExample ops.

Classify and regress signatures take serialized ``tf.Example`` protos; knowing the features
the graph reads lets verification and the Try page build Examples the model accepts.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.proto import read_saved_model_proto
    >>> saved_model = read_saved_model_proto(Path("sample_models/tf1_half_plus_two/00000123"))
    >>> read_example_spec(saved_model.meta_graphs[0]).dense
    {'x': ('float32', (1,))}
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core._tf import tf

PARSE_OPS = {"ParseExample", "ParseExampleV2"}
# Method names whose single input is, by TF Serving's contract, serialized tf.Examples.
_EXAMPLE_METHODS = {"tensorflow/serving/classify", "tensorflow/serving/regress"}


@dataclass(frozen=True)
class ExampleSpec:
    """The features a model's ParseExample ops read: name → (dtype, shape) and sparse name → dtype."""

    dense: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    sparse: dict[str, str] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.dense or self.sparse)


def const_strings(nodes: dict[str, Any], reference: str) -> list[str]:
    node = nodes.get(reference.lstrip("^").split(":")[0])
    if node is None or node.op != "Const":
        return []
    try:
        values = np.atleast_1d(tf.make_ndarray(node.attr["value"].tensor)).tolist()
        return [value.decode() for value in values]
    except (TypeError, ValueError, AttributeError, UnicodeDecodeError):
        return []


def _collect_parse_specs(node_defs, spec: ExampleSpec) -> None:
    nodes = {node.name: node for node in node_defs}
    for node in node_defs:
        if node.op not in PARSE_OPS:
            continue
        try:
            dense_types = [tf.as_dtype(t).name for t in node.attr["Tdense"].list.type]
            sparse_types = [tf.as_dtype(t).name for t in node.attr["sparse_types"].list.type]
        except TypeError:
            continue  # a malformed node: nothing to learn from it
        dense_shapes = [tuple(d.size for d in s.dim) for s in node.attr["dense_shapes"].list.shape]
        if node.op == "ParseExampleV2":
            if len(node.input) < 4:
                continue
            sparse_keys = const_strings(nodes, node.input[2])
            dense_keys = const_strings(nodes, node.input[3])
        else:
            n_sparse = node.attr["Nsparse"].i
            n_dense = node.attr["Ndense"].i
            sparse_keys = [k for ref in node.input[2 : 2 + n_sparse] for k in const_strings(nodes, ref)]
            dense_keys = [k for ref in node.input[2 + n_sparse : 2 + n_sparse + n_dense] for k in const_strings(nodes, ref)]
        spec.dense.update(zip(dense_keys, zip(dense_types, dense_shapes, strict=False), strict=False))
        spec.sparse.update(zip(sparse_keys, sparse_types, strict=False))


def read_example_spec(meta_graph: Any) -> ExampleSpec:
    """The tf.Example features parsed anywhere in ``meta_graph`` (empty if it parses none)."""
    spec = ExampleSpec()
    graph_def = meta_graph.graph_def
    _collect_parse_specs(graph_def.node, spec)
    for function in graph_def.library.function:
        _collect_parse_specs(function.node_def, spec)
    return spec


def feature_count(shape: tuple[int, ...]) -> int:
    """How many values a dense feature of ``shape`` holds (unknown dimensions count as 1)."""
    return math.prod(max(dim, 1) for dim in shape)


def serialized_example(spec: ExampleSpec, fill: Callable[[str, int], list[Any]]) -> bytes:
    """One serialized tf.Example carrying every feature of ``spec``.

    ``fill(dtype, count)`` gives a feature's values: bytes for ``string``, ints for ``int64``,
    floats otherwise.
    """
    kinds = {"string": "bytes_list", "int64": "int64_list"}
    features = {}
    wanted = [(name, dtype, feature_count(shape)) for name, (dtype, shape) in spec.dense.items()]
    wanted += [(name, dtype, 1) for name, dtype in spec.sparse.items()]
    for name, dtype, count in wanted:
        kind = kinds.get(dtype, "float_list")
        features[name] = tf.train.Feature(**{kind: {"value": fill(dtype, count)}})
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def example_inputs(meta_graph: Any, signature: Any) -> list[str]:
    """The inputs of ``signature`` (a SignatureInfo) that take serialized tf.Examples.

    A classify or regress signature's input does by contract; in a TF1 graph, so does any
    input whose placeholder feeds a ParseExample op.
    """
    if signature.method_name in _EXAMPLE_METHODS:
        return list(signature.inputs)
    nodes = {node.name: node for node in meta_graph.graph_def.node}
    parsed = set()
    for node in meta_graph.graph_def.node:
        if node.op in PARSE_OPS and node.input:
            source = node.input[0].split(":")[0]
            while source in nodes and nodes[source].op == "Identity" and nodes[source].input:
                source = nodes[source].input[0].split(":")[0]
            parsed.add(source)
    return [name for name, spec in signature.inputs.items() if spec.tensor_name.split(":")[0] in parsed]
