"""Make a deterministic synthetic batch for a signature, to compare two models on.

Numbers are drawn from a seeded generator; unknown dimensions become the batch size (first
dimension) or 2 (others). String inputs of a model that parses ``tf.Example`` get serialized
Examples carrying every dense and sparse feature the graph parses; other string inputs get
plain words. Inputs that cannot be made (unknown rank, resource or variant dtypes) give a
reason instead, so callers can report "not verified: <reason>".

Example:
    >>> batch = synthesize_batch(info.signatures["serving_default"], ExampleSpec.empty())
    >>> batch.feeds["rooms"].shape
    (3, 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core._tf import tf
from core.model_info import SignatureInfo, read_saved_model_proto, serving_meta_graph_index

DEFAULT_BATCH_SIZE = 3
FREE_INNER_DIM = 2
SEED = 7
_PARSE_OPS = {"ParseExample", "ParseExampleV2"}


@dataclass(frozen=True)
class ExampleSpec:
    """The features a model's ParseExample ops read: name → (dtype, shape)."""

    dense: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    sparse: dict[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> ExampleSpec:
        return cls()

    @property
    def found(self) -> bool:
        return bool(self.dense or self.sparse)


@dataclass(frozen=True)
class SyntheticBatch:
    """Feeds by input name, or the reason none could be made."""

    feeds: dict[str, np.ndarray] | None
    reason: str | None = None


def _const_strings(nodes: dict[str, Any], reference: str) -> list[str]:
    node = nodes.get(reference.lstrip("^").split(":")[0])
    if node is None or node.op != "Const":
        return []
    return [value.decode() for value in np.atleast_1d(tf.make_ndarray(node.attr["value"].tensor)).tolist()]


def _collect_parse_specs(node_defs, spec: ExampleSpec) -> None:
    nodes = {node.name: node for node in node_defs}
    for node in node_defs:
        if node.op not in _PARSE_OPS:
            continue
        dense_types = [tf.as_dtype(t).name for t in node.attr["Tdense"].list.type]
        dense_shapes = [tuple(d.size for d in s.dim) for s in node.attr["dense_shapes"].list.shape]
        sparse_types = [tf.as_dtype(t).name for t in node.attr["sparse_types"].list.type]
        if node.op == "ParseExampleV2":
            sparse_keys = _const_strings(nodes, node.input[2])
            dense_keys = _const_strings(nodes, node.input[3])
        else:
            n_sparse = node.attr["Nsparse"].i
            n_dense = node.attr["Ndense"].i
            sparse_keys = [k for ref in node.input[2 : 2 + n_sparse] for k in _const_strings(nodes, ref)]
            dense_keys = [k for ref in node.input[2 + n_sparse : 2 + n_sparse + n_dense] for k in _const_strings(nodes, ref)]
        spec.dense.update(zip(dense_keys, zip(dense_types, dense_shapes, strict=False), strict=False))
        spec.sparse.update(zip(sparse_keys, sparse_types, strict=False))


def read_example_spec(model_dir: Path) -> ExampleSpec:
    """Find the tf.Example features the serving graph parses (empty if it parses none)."""
    saved_model = read_saved_model_proto(model_dir)
    graph_def = saved_model.meta_graphs[serving_meta_graph_index(saved_model)].graph_def
    spec = ExampleSpec()
    _collect_parse_specs(graph_def.node, spec)
    for function in graph_def.library.function:
        _collect_parse_specs(function.node_def, spec)
    return spec


def _numbers(rng: np.random.Generator, dtype: tf.DType, shape: tuple[int, ...]) -> np.ndarray:
    numpy_dtype = dtype.as_numpy_dtype
    if dtype.is_bool:
        return (np.arange(math.prod(shape)) % 2 == 0).reshape(shape)
    if dtype.is_integer:
        return rng.integers(0, 3, size=shape).astype(numpy_dtype)
    if dtype.is_complex:
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(numpy_dtype)
    return rng.standard_normal(shape).astype(numpy_dtype)


def _serialized_examples(spec: ExampleSpec, count: int, rng: np.random.Generator) -> list[bytes]:
    examples = []
    for row in range(count):
        features = {}
        for name, (dtype, shape) in spec.dense.items():
            features[name] = _feature(dtype, _numbers(rng, tf.as_dtype(dtype), (math.prod(shape),)), row)
        for name, dtype in spec.sparse.items():
            features[name] = _feature(dtype, _numbers(rng, tf.as_dtype(dtype), (1,)), row)
        examples.append(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())
    return examples


def _feature(dtype: str, values: np.ndarray, row: int) -> Any:
    if dtype == "string":
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[f"value-{row}-{i}".encode() for i in range(values.size)]))
    if dtype == "int64":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values.astype(np.int64).tolist()))
    return tf.train.Feature(float_list=tf.train.FloatList(value=values.astype(np.float32).tolist()))


def synthesize_batch(
    signature: SignatureInfo,
    example_spec: ExampleSpec,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> SyntheticBatch:
    """A deterministic batch for every input of ``signature``, or why one cannot be made."""
    rng = np.random.default_rng(SEED)
    feeds: dict[str, np.ndarray] = {}
    for name, spec in signature.inputs.items():
        if spec.composite:
            return SyntheticBatch(None, f"input '{name}' is a composite (sparse or ragged) tensor")
        if spec.shape is None:
            return SyntheticBatch(None, f"input '{name}' has unknown rank, so no batch can be shaped for it")
        try:
            dtype = tf.as_dtype(spec.dtype)
        except TypeError:
            return SyntheticBatch(None, f"input '{name}' has dtype {spec.dtype}, which cannot be synthesised")
        if dtype in (tf.resource, tf.variant):
            return SyntheticBatch(None, f"input '{name}' has dtype {spec.dtype}, which cannot be synthesised")
        shape = tuple((batch_size if index == 0 else FREE_INNER_DIM) if dim < 0 else dim for index, dim in enumerate(spec.shape))
        count = math.prod(shape)
        if dtype == tf.string:
            if example_spec.found:
                values = _serialized_examples(example_spec, count, rng)
            else:
                values = [f"word-{i}".encode() for i in range(count)]
            feeds[name] = np.array(values, dtype=object).reshape(shape)
        else:
            feeds[name] = _numbers(rng, dtype, shape)
    return SyntheticBatch(feeds)


def key_values(dtype: str, count: int) -> np.ndarray:
    """Distinct instance keys for ``count`` rows: ``key-0``, ... or 1000, 1001, ..."""
    if dtype == "string":
        return np.array([f"key-{i}".encode() for i in range(count)], dtype=object)
    return np.arange(1000, 1000 + count, dtype=tf.as_dtype(dtype).as_numpy_dtype)
