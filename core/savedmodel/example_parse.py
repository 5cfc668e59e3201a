"""Where a signature parses serialized ``tf.Example`` protos, and the dense features it reads:
what a raw-feature signature (``rewrite --raw-features``) would take instead.

A TF1 graph parses in the graph, where a session (and TF Serving) can feed the parse's
outputs directly. A TF2 signature parses inside the functions it calls: the route from the
graph's call node to the function holding the ``ParseExample`` op is recorded, so the rewrite
can copy those functions with the parse cut out. A feature counts only if the signature's
outputs read it.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_saved_model
    >>> meta_graph = read_saved_model(Path("sample_models/tf1_half_plus_two/00000123")).meta_graph
    >>> parse = find_example_parse(meta_graph, "regress_x_to_y")
    >>> parse.example_input, [(f.name, f.dtype, f.shape, f.default) for f in parse.features]
    ('inputs', [('x', 'float32', (1,), None)])
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from core._tf import tf
from core.savedmodel.examples import PARSE_OPS, const_strings
from core.savedmodel.info import TensorSpecInfo
from core.savedmodel.proto import CALL_OPS

_PASS_THROUGH = {"Identity", "Reshape"}  # what stands between a default's Const and the parse
_MAX_DEPTH = 8
SPARSE_OUTPUTS = ("sparse_indices", "sparse_values", "sparse_shapes")  # a parse's outputs per var-len feature
# TF1 while loops: a frame a copy of the graph after the parse cannot share.
_LOOP_OPS = {"Enter", "RefEnter", "Exit", "RefExit", "NextIteration", "RefNextIteration", "LoopCond"}


@dataclass(frozen=True)
class ParsedFeature:
    """A feature the parse reads: its dtype and the shape of one example's value; ``default``
    the flat values an Example without it gets (None: every Example must carry it).

    A var-len feature (``sparse``) the parse gives as a SparseTensor; a client sends it as one
    row of values per example, every example of a request with as many (``shape`` ``(-1,)``).
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    default: tuple[Any, ...] | None
    index: int  # its place among the parse's dense outputs, or its sparse ones
    sparse: bool = False

    @property
    def spec(self) -> TensorSpecInfo:
        """The tensor a client sends for it: one value (or row of values) per example, batched."""
        return TensorSpecInfo(self.dtype, (-1, *self.shape), "")

    def default_text(self) -> str:
        """``a default of 30.0``, ``no default: Examples must carry it``, or how a var-len feature is sent."""
        if self.sparse:
            return "var-len: a row of values per example, as many in every example of a request"
        if self.default is None:
            return "no default: Examples must carry it"
        values = _plain(self.default)
        return f"a default of {values[0] if len(values) == 1 else values!r}"


def _plain(values: tuple[Any, ...] | None) -> list[Any] | None:
    return None if values is None else [v.decode(errors="replace") if isinstance(v, bytes) else v for v in values]


@dataclass(frozen=True)
class CallStep:
    """One call on the way to the parse: the call node ``node`` in ``scope`` (a function name, or
    None for the graph) passes the Examples as its operand ``operand``."""

    scope: str | None
    node: str
    operand: int


@dataclass(frozen=True)
class ExampleParse:
    """The ParseExample op that reads a signature's serialized Examples.

    ``scope`` is the function holding it (None: the graph); ``route`` the calls leading there.
    ``problem`` says why no raw-feature signature can be made of it (None: one can).
    """

    signature: str
    example_input: str
    node: str
    op: str
    scope: str | None
    route: tuple[CallStep, ...]
    features: tuple[ParsedFeature, ...]
    var_len: tuple[str, ...]
    problem: str | None = None

    def output_reference(self, feature: ParsedFeature, sparse_count: int = 0) -> str:
        """How the graph or a function body names the parse's output for a dense ``feature``."""
        if self.scope is None:
            return f"{self.node}:{3 * sparse_count + feature.index}"
        return f"{self.node}:dense_values:{feature.index}"

    def sparse_references(self, feature: ParsedFeature, sparse_count: int = 0) -> tuple[str, str, str]:
        """How the graph or a function body names the parse's indices, values and dense shape
        of a var-len ``feature``."""
        if self.scope is None:
            return tuple(f"{self.node}:{part * sparse_count + feature.index}" for part in range(3))
        return tuple(f"{self.node}:{part}:{feature.index}" for part in SPARSE_OUTPUTS)

    def to_json(self) -> dict[str, Any]:
        """What ``inspect --json`` says of the parse."""
        return {
            "example_input": self.example_input,
            "features": {
                f.name: {"dtype": f.dtype, "shape": list(f.shape), "var_len": f.sparse, "default": _plain(f.default)}
                for f in self.features
            },
            "var_len": list(self.var_len),
            "raw_features": self.problem is None,
            "problem": self.problem,
        }  # fmt: skip

    def describe(self) -> str:
        """``age float32 [1] (a default of 30.0), income float32 [1] (no default …), tags string var-len``."""
        return ", ".join(
            f"{f.name} {f.dtype} var-len" if f.sparse else f"{f.name} {f.dtype} {list(f.shape)} ({f.default_text()})"
            for f in self.features
        )


def _default(nodes: dict[str, Any], reference: str) -> tuple[Any, ...] | None:
    node = nodes.get(reference.lstrip("^").split(":")[0])
    while node is not None and node.op in _PASS_THROUGH and node.input:
        node = nodes.get(node.input[0].split(":")[0])
    if node is None or node.op != "Const":
        return None
    values = np.ravel(tf.make_ndarray(node.attr["value"].tensor)).tolist()
    return tuple(values) or None  # an empty default marks a required feature


def _parse_layout(node: Any, nodes: dict[str, Any]) -> tuple[list[str], list[str], list[tuple[str, str, tuple, Any]]]:
    """The parse's sparse keys, ragged keys and dense (key, dtype, shape, default); the sparse
    keys' dtypes are its ``sparse_types``."""
    dense_types = [tf.as_dtype(t).name for t in node.attr["Tdense"].list.type]
    dense_shapes = [tuple(d.size for d in s.dim) for s in node.attr["dense_shapes"].list.shape]
    if node.op == "ParseExampleV2":
        sparse_keys, dense_keys = const_strings(nodes, node.input[2]), const_strings(nodes, node.input[3])
        ragged_keys = const_strings(nodes, node.input[4])
        defaults = list(node.input[5 : 5 + len(dense_types)])
    else:
        n_sparse, n_dense = node.attr["Nsparse"].i, node.attr["Ndense"].i
        sparse_keys = [k for ref in node.input[2 : 2 + n_sparse] for k in const_strings(nodes, ref)]
        dense_keys = [k for ref in node.input[2 + n_sparse : 2 + n_sparse + n_dense] for k in const_strings(nodes, ref)]
        ragged_keys = []
        defaults = list(node.input[2 + n_sparse + n_dense : 2 + n_sparse + 2 * n_dense])
    dense = [
        (key, dtype, shape, _default(nodes, ref))
        for key, dtype, shape, ref in zip(dense_keys, dense_types, dense_shapes, defaults, strict=False)
    ]
    return sparse_keys, ragged_keys, dense


def _consumers(node_defs: Any) -> dict[str, list[tuple[Any, int]]]:
    found: dict[str, list[tuple[Any, int]]] = defaultdict(list)
    for node in node_defs:
        for operand, reference in enumerate(ref for ref in node.input if not ref.startswith("^")):
            found[reference.split(":", 1)[0]].append((node, operand))
    return found


def nodes_needed(nodes: dict[str, Any], roots: list[str], parse: str) -> tuple[set[str], set[str]]:
    """Walking back from ``roots``: the nodes the outputs run (the parse's own inputs left out,
    since its outputs are fed) and the parse's output references they read."""
    seen, read, stack = set(), set(), list(roots)
    while stack:
        name = stack.pop()
        if name in seen or name not in nodes:
            continue
        seen.add(name)
        for reference in nodes[name].input:
            source = reference.lstrip("^").split(":")[0]
            if source == parse and not reference.startswith("^"):
                read.add(reference if ":" in reference else f"{reference}:0")
            else:
                stack.append(source)
    return seen, read


def _reads_in_function(function: Any, parse: str) -> set[str]:
    read = {ref for node in function.node_def if node.name != parse for ref in node.input if ref.startswith(f"{parse}:")}
    return read | {ref for ref in function.ret.values() if ref.startswith(f"{parse}:")}


def _locate_parse(meta_graph: Any, placeholder: str) -> tuple[Any, str | None, tuple[CallStep, ...], str | None]:
    """Follow the Examples from ``placeholder``: (parse node, its scope, the calls, a problem)."""
    graph_def = meta_graph.graph_def
    library = {function.signature.name: function for function in graph_def.library.function}
    scope: str | None = None
    source, route = placeholder, []
    node_defs = graph_def.node
    for _ in range(_MAX_DEPTH):
        readers = _consumers(node_defs)[source]
        parses = [node for node, operand in readers if node.op in PARSE_OPS and operand == 0]
        calls = [(node, operand) for node, operand in readers if node.op in CALL_OPS]
        identities = [node for node, _ in readers if node.op == "Identity"]
        if scope is None and not parses and not calls and len(identities) == 1:
            source = identities[0].name  # a TF1 graph may name its Examples once more
            continue
        if not parses and not calls:
            return None, scope, tuple(route), None  # not parsed: not an Example input
        if len(parses) + len(calls) > 1:
            return None, scope, tuple(route), "the serialized Examples are parsed in more than one place"
        if scope is not None and len(readers) > 1:
            others = sorted({node.op for node, _ in readers} - PARSE_OPS - CALL_OPS)
            return None, scope, tuple(route), f"the serialized Examples are also read by {others} inside {scope}"
        if parses:
            return parses[0], scope, tuple(route), None
        call, operand = calls[0]
        function = library.get(call.attr["f"].func.name)
        if function is None or operand >= len(function.signature.input_arg):
            return None, scope, tuple(route), f"the call {call.name} runs a function the library does not hold"
        route.append(CallStep(scope, call.name, operand))
        scope, source, node_defs = function.signature.name, function.signature.input_arg[operand].name, function.node_def
    return None, scope, tuple(route), "the serialized Examples go through too many nested calls"


def find_example_parse(meta_graph: Any, signature: str) -> ExampleParse | None:
    """The parse of ``signature``'s serialized Examples, or None if none of its string inputs is
    parsed (a signature that parses in ways a raw-feature signature cannot serve has ``problem``)."""
    signature_def = meta_graph.signature_def[signature]
    for input_name, info in sorted(signature_def.inputs.items()):
        if info.dtype != tf.string.as_datatype_enum or not info.name:
            continue
        node, scope, route, problem = _locate_parse(meta_graph, info.name.split(":")[0])
        if node is None and problem is None:
            continue
        if node is None:
            return ExampleParse(signature, input_name, "", "", scope, route, (), (), problem)
        return _describe_parse(meta_graph, signature, input_name, node, scope, route)
    return None


def nodes_after(nodes: dict[str, Any], within: set[str], parse: str) -> set[str]:
    """The nodes of ``within`` that depend on the parse (by data or control)."""
    readers: dict[str, list[str]] = defaultdict(list)
    for name in within:
        for reference in nodes[name].input:
            readers[reference.lstrip("^").split(":")[0]].append(name)
    found, stack = set(), [parse]
    while stack:
        for reader in readers.get(stack.pop(), ()):
            if reader not in found:
                found.add(reader)
                stack.append(reader)
    return found


def _describe_parse(
    meta_graph: Any, signature: str, input_name: str, node: Any, scope: str | None, route: tuple[CallStep, ...]
) -> ExampleParse:
    signature_def = meta_graph.signature_def[signature]
    info = signature_def.inputs[input_name]
    graph_def = meta_graph.graph_def
    holder = next((f for f in graph_def.library.function if f.signature.name == scope), None)
    node_defs = holder.node_def if holder is not None else graph_def.node
    nodes = {n.name: n for n in node_defs}
    sparse_keys, ragged_keys, dense = _parse_layout(node, nodes)
    sparse_types = [tf.as_dtype(t).name for t in node.attr["sparse_types"].list.type]
    features = [ParsedFeature(key, dtype, shape, default, index) for index, (key, dtype, shape, default) in enumerate(dense)]
    var_len = [
        ParsedFeature(key, dtype, (-1,), None, index, sparse=True)
        for index, (key, dtype) in enumerate(zip(sparse_keys, sparse_types, strict=True))
    ]
    problem = None
    parse = ExampleParse(signature, input_name, node.name, node.op, scope, route, (), ())
    if holder is None:
        roots = [ref.name.split(":")[0] for ref in signature_def.outputs.values()]
        needed, read = nodes_needed(nodes, roots, node.name)
        refs = {parse.output_reference(f, len(sparse_keys)): f for f in features}
        if info.name.split(":")[0] in needed:
            problem = "the signature's outputs read the serialized Examples other than through the parse"
    else:
        read = _reads_in_function(holder, node.name)
        refs = {parse.output_reference(f): f for f in features}
    refs |= {ref: f for f in var_len for ref in parse.sparse_references(f, len(sparse_keys))}
    used = sorted({refs[ref] for ref in read & set(refs)}, key=lambda f: (f.sparse, f.index))
    if read - set(refs):
        problem = (
            f"the signature reads the ragged feature(s) {sorted(ragged_keys)}, which the parse gives as ragged tensors; "
            "a TF Serving predict signature takes each input as one dense tensor, and a ragged feature's rows may differ"
        )
    elif not used and problem is None:
        problem = "the signature's outputs read none of the features the parse gives"
    elif holder is None and any(f.sparse for f in used):
        loops = sorted({nodes[name].op for name in nodes_after(nodes, needed, node.name)} & _LOOP_OPS)
        if loops:
            problem = (
                f"the signature runs a TF1 while loop ({', '.join(loops)}) after the parse, and a var-len feature "
                "is taken by a copy of the graph after the parse, which cannot share the loop's frame"
            )
    return replace(parse, features=tuple(used), var_len=tuple(sparse_keys + ragged_keys), problem=problem)


def example_parses(meta_graph: Any) -> dict[str, ExampleParse]:
    """The parse of every signature that parses serialized Examples, by signature name."""
    found = {}
    for name in sorted(meta_graph.signature_def):
        try:
            parse = find_example_parse(meta_graph, name)
        except (ValueError, TypeError, KeyError, IndexError, StopIteration):
            continue  # a parse laid out unlike TensorFlow's own writes: nothing to offer
        if parse is not None:
            found[name] = parse
    return found


def examples_of_rows(features: tuple[ParsedFeature, ...], feeds: dict[str, np.ndarray]) -> np.ndarray:
    """One serialized tf.Example per row of ``feeds`` (feature name → batched values), each
    feature carried as the parse reads it: the bytes a client of the original would send.

    Example:
        >>> feature = ParsedFeature("x", "float32", (1,), None, 0)
        >>> rows = examples_of_rows((feature,), {"x": np.array([[2.0], [4.0]], np.float32)})
        >>> tf.train.Example.FromString(rows[1]).features.feature["x"].float_list.value[:]
        [4.0]
    """
    rows = len(next(iter(feeds.values()))) if feeds else 0
    serialized = []
    for row in range(rows):
        example = tf.train.Example()
        for feature in features:
            values = np.ravel(np.asarray(feeds[feature.name])[row]).tolist()
            target = example.features.feature[feature.name]
            if feature.dtype == "string":
                target.bytes_list.value.extend(v if isinstance(v, bytes) else str(v).encode() for v in values)
            elif feature.dtype == "int64":
                target.int64_list.value.extend(int(v) for v in values)
            else:
                target.float_list.value.extend(float(v) for v in values)
        serialized.append(example.SerializeToString())
    return np.array(serialized, dtype=object)
