"""Which ops a serving graph uses, and which of them make running it unsafe — and why; and the one consent check
before anything runs a model that has them.

A SavedModel is a program. This scan reads every node of the graph and of every function in
its library that can run (the checkpoint ops of the model's own saver aside; in a TF1 graph,
which only runs what its nodes call, the functions they reach) and decides per op:

* **denied** — ops that read or write files, call back into Python, print to the server's
  logs, talk to other processes or change how files are reached (``DENIED`` says why for
  each). A few are refused only in the form that is dangerous: a table filled from a file that
  is not one of the model's assets, a dataset cache written to a named file, checkpoint
  reads and writes outside the model's own saver.
* **allowed** — stateless ops (pure compute, as TensorFlow registers them), and the stateful
  ops known to stay inside the process and the model (``ALLOWED_STATEFUL``: variables,
  tables, random numbers, control flow, in-memory datasets and queues).
* everything else is **unsafe**: a stateful op this scan does not know, or an op this
  TensorFlow does not know at all (a custom library's op).

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.proto import read_saved_model_proto
    >>> meta_graph = read_saved_model_proto(Path("sample_models/house_price")).meta_graphs[0]
    >>> scan_ops(meta_graph)
    {}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.errors import UnsafeModelError
from core.savedmodel.info import ModelInfo
from core.savedmodel.op_lists import (
    ALLOWED_STATEFUL,
    CHECKPOINT_OPS,
    COLLECTIVE_OPS,
    COLLECTIVE_REASON,
    DENIED,
    NOT_IN_TENSORFLOW,
    STATEFUL_UNKNOWN,
)
from core.savedmodel.proto import CALL_OPS


def _functions_called(node: Any) -> set[str]:
    """Library functions a node calls: its op (a direct call) and every function-valued attr."""
    called = {node.op}
    for value in node.attr.values():
        if value.HasField("func"):
            called.add(value.func.name)
        called.update(func.name for func in value.list.func)
    return called


def _node_name(reference: str) -> str:
    return reference.lstrip("^").split(":")[0]


def _saver_closure(meta_graph: Any, library: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Graph nodes and library functions that the model's own saver reaches (its save and
    restore ops, and everything they call or read)."""
    graph = {node.name: node for node in meta_graph.graph_def.node}
    saver = meta_graph.saver_def
    todo = [_node_name(name) for name in (saver.save_tensor_name, saver.restore_op_name) if name]
    nodes: set[str] = set()
    while todo:
        name = todo.pop()
        if name in nodes or name not in graph:
            continue
        nodes.add(name)
        todo += [_node_name(reference) for reference in graph[name].input]
    functions = _reachable_functions((graph[name] for name in nodes), library)
    return nodes, functions


def _reachable_functions(nodes: Iterable[Any], library: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    todo = [name for node in nodes for name in _functions_called(node) if name in library]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        todo += [called for node in library[name].node_def for called in _functions_called(node) if called in library]
    return found


def _asset_tensors(meta_graph: Any) -> set[str]:
    """Nodes whose value the loader replaces with an asset's path: the MetaGraph's
    ``asset_file_def`` and, in TF1 Builder exports, the ``saved_model_assets`` and
    ``asset_filepaths`` collections."""
    from tensorflow.core.protobuf import meta_graph_pb2

    names = {asset.tensor_info.name for asset in meta_graph.asset_file_def}
    collections = meta_graph.collection_def
    if "asset_filepaths" in collections:
        names.update(collections["asset_filepaths"].node_list.value)
    if "saved_model_assets" in collections:
        for packed in collections["saved_model_assets"].any_list.value:
            asset = meta_graph_pb2.AssetFileDef()
            if packed.Unpack(asset):
                names.add(asset.tensor_info.name)
    return {_node_name(name) for name in names}


# How many calls deep an asset's path is traced (TF2 models need two or three).
_MAX_CALL_DEPTH = 32


class _AssetPaths:
    """Where a model's asset paths flow: which tensors carry one.

    In the graph, the asset tensors (``_asset_tensors``). In a function, TF2 passes an asset's
    path in as a captured argument (its ``bound_inputs`` in the object graph name an asset),
    and a function may hand it on to another through a call. An argument carries an asset
    path only if every way into it does: a capture bound to an asset, or every call passing,
    at that place, a tensor that carries one. A constant path, a signature input, a capture of
    anything else, a function never called or called through control flow do not.
    """

    def __init__(self, meta_graph: Any, library: dict[str, Any]) -> None:
        self._library = library
        self._graph_assets = _asset_tensors(meta_graph)
        objects = meta_graph.object_graph_def
        self._captures: dict[str, dict[str, str | None]] = {}
        for name, concrete in objects.concrete_functions.items():
            if name not in library:
                continue
            arguments = [argument.name for argument in library[name].signature.input_arg]
            bound = list(concrete.bound_inputs)
            captured = arguments[len(arguments) - len(bound) :] if len(bound) <= len(arguments) else []
            self._captures[name] = {
                argument: objects.nodes[index].WhichOneof("kind") if index < len(objects.nodes) else None
                for argument, index in zip(captured, bound, strict=False)
            }
        self._callers: dict[str, list[tuple[str | None, Any]]] = {}
        scopes = [(None, meta_graph.graph_def.node), *((name, function.node_def) for name, function in library.items())]
        for caller, node_defs in scopes:
            for node in node_defs:
                for called in _functions_called(node) & library.keys():
                    self._callers.setdefault(called, []).append((caller, node))
        self._nodes = {name: {node.name: node for node in function.node_def} for name, function in library.items()}
        self._nodes[None] = {node.name: node for node in meta_graph.graph_def.node}
        self._argument_verdicts: dict[tuple[str, str], bool] = {}

    def nodes_of(self, function: str | None) -> dict[str, Any]:
        """The nodes of ``function`` (the graph's for None) by name."""
        return self._nodes[function]

    def carries_asset(self, function: str | None, reference: str, depth: int = 0) -> bool:
        """True when the tensor ``reference`` (in ``function``, or the graph for None) always
        holds one of the model's asset paths. ``depth``: calls traced so far."""
        nodes = self._nodes[function]
        name, seen = _node_name(reference), set()
        while name in nodes and nodes[name].op == "Identity" and nodes[name].input and name not in seen:
            seen.add(name)
            name = _node_name(nodes[name].input[0])
        if function is None:
            return name in self._graph_assets
        return name not in nodes and self._argument_carries_asset(function, name, depth)

    def _argument_carries_asset(self, function: str, argument: str, depth: int) -> bool:
        key = (function, argument)
        if depth > _MAX_CALL_DEPTH:
            return False  # a crafted chain of calls proves nothing (and must not exhaust the stack)
        if key not in self._argument_verdicts:
            self._argument_verdicts[key] = False  # a cycle of calls proves nothing
            self._argument_verdicts[key] = self._trace_argument(function, argument, depth)
        return self._argument_verdicts[key]

    def _trace_argument(self, function: str, argument: str, depth: int) -> bool:
        captures = self._captures.get(function, {})
        if argument in captures:
            return captures[argument] == "asset"
        arguments = [each.name for each in self._library[function].signature.input_arg]
        callers = self._callers.get(function, [])
        if argument not in arguments or not callers:
            return False
        place = arguments.index(argument)
        for caller, node in callers:
            direct = node.op == function or (node.op in CALL_OPS and node.attr["f"].func.name == function)
            inputs = [reference for reference in node.input if not reference.startswith("^")]
            if not direct or place >= len(inputs):
                return False
            if not self.carries_asset(caller, inputs[place], depth + 1):
                return False
        return True


def _const_string(nodes: dict[str, Any], reference: str) -> str | None:
    node = nodes.get(_node_name(reference))
    if node is None or node.op != "Const":
        return None
    values = node.attr["value"].tensor.string_val
    return values[0].decode(errors="replace") if len(values) == 1 else None


def _allowed_in_context(node: Any, nodes: dict[str, Any], assets: _AssetPaths, function: str | None) -> bool:
    """The few denied ops that are safe in one form: a table filled from one of the model's
    assets (in ``function``: from an argument that carries an asset's path, as TF2 passes
    them), a dataset cached in memory."""
    if node.op.startswith("InitializeTableFromTextFile") and len(node.input) > 1:
        return assets.carries_asset(function, node.input[1])
    if node.op.startswith("CacheDataset") and len(node.input) > 1:
        return _const_string(nodes, node.input[1]) == ""
    return False


def _verdict(op: str) -> str | None:
    """Why ``op`` is unsafe wherever it appears, or None when it is allowed."""
    from tensorflow.python.framework import op_def_registry

    if op in DENIED:
        return DENIED[op]
    op_def = op_def_registry.get(op)
    if op_def is None:
        return NOT_IN_TENSORFLOW
    if COLLECTIVE_OPS.match(op) and op_def.is_stateful:
        return COLLECTIVE_REASON
    if op_def.is_stateful and op not in ALLOWED_STATEFUL:
        return STATEFUL_UNKNOWN
    return None


def scan_ops(meta_graph: Any) -> dict[str, str]:
    """Every unsafe op of ``meta_graph`` (graph and library, the saver's checkpoint ops aside)
    and why it is unsafe: op → reason, sorted by op."""
    library = {function.signature.name: function for function in meta_graph.graph_def.library.function}
    saver_nodes, saver_functions = _saver_closure(meta_graph, library)
    assets = _AssetPaths(meta_graph, library)
    scanned = library
    if not meta_graph.HasField("object_graph_def"):
        # A TF1 graph runs only what its nodes call: a session and the TF1 loaders run nodes. A
        # library imported with a TF2 model (an estimator's embedded TF Transform graph brings
        # that model's own save, restore and table functions) is dead code there.
        reachable = _reachable_functions(meta_graph.graph_def.node, library)
        scanned = {name: function for name, function in library.items() if name in reachable}
    scopes: list[tuple[Any, Any, str | None]] = [(meta_graph.graph_def.node, saver_nodes, None)]
    scopes += [(function.node_def, name in saver_functions, name) for name, function in scanned.items()]
    found: dict[str, str] = {}
    for node_defs, saver, function in scopes:
        nodes = assets.nodes_of(function)
        for node in node_defs:
            if node.op in library:
                continue  # a call of a library function: the function itself is scanned
            in_saver = saver is True or (isinstance(saver, set) and node.name in saver)
            if in_saver and node.op in CHECKPOINT_OPS:
                continue  # the model's own checkpoint, read at load and never written at inference
            reason = _verdict(node.op)
            if reason is not None and not _allowed_in_context(node, nodes, assets, function):
                found.setdefault(node.op, reason)
    return dict(sorted(found.items()))


def used_ops(meta_graph: Any) -> set[str]:
    """Every op type in the graph and in its function library (calls to library functions left out)."""
    ops = {node.op for node in meta_graph.graph_def.node}
    for function in meta_graph.graph_def.library.function:
        ops.update(node.op for node in function.node_def)
    function_names = {function.signature.name for function in meta_graph.graph_def.library.function}
    return ops - function_names


def unsafe_ops_text(info: ModelInfo) -> str:
    """The unsafe ops of a model and why, as one phrase: ``PrintV2 writes into the server's logs; ReadFile reads …``."""
    return "; ".join(f"{op} {reason}" for op, reason in info.unsafe_op_reasons.items())


def require_consent(info: ModelInfo, *, allow_unsafe_ops: bool) -> None:
    """Refuse to run a model with unsafe ops unless the user allowed it: rewriting,
    verifying, trying and batch prediction all run the model.

    Raises:
        UnsafeModelError: naming every unsafe op and why it is unsafe.
    """
    if info.unsafe_ops and not allow_unsafe_ops:
        raise UnsafeModelError(
            f"{info.path} uses unsafe ops ({unsafe_ops_text(info)}); rewriting, verifying and serving run the model, "
            "so it runs only when you allow unsafe ops"
        )
