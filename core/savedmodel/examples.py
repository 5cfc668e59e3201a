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

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core._tf import tf

_PARSE_OPS = {"ParseExample", "ParseExampleV2"}


@dataclass(frozen=True)
class ExampleSpec:
    """The features a model's ParseExample ops read: name → (dtype, shape) and sparse name → dtype."""

    dense: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    sparse: dict[str, str] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.dense or self.sparse)


def _const_strings(nodes: dict[str, Any], reference: str) -> list[str]:
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
        if node.op not in _PARSE_OPS:
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
            sparse_keys = _const_strings(nodes, node.input[2])
            dense_keys = _const_strings(nodes, node.input[3])
        else:
            n_sparse = node.attr["Nsparse"].i
            n_dense = node.attr["Ndense"].i
            sparse_keys = [k for ref in node.input[2 : 2 + n_sparse] for k in _const_strings(nodes, ref)]
            dense_keys = [k for ref in node.input[2 + n_sparse : 2 + n_sparse + n_dense] for k in _const_strings(nodes, ref)]
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
