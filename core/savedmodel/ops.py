"""Which ops a serving graph uses, and which of them make running it unsafe.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.proto import read_saved_model_proto
    >>> meta_graph = read_saved_model_proto(Path("sample_models/house_price")).meta_graphs[0]
    >>> unsafe_ops_of(used_ops(meta_graph))
    []
"""

from __future__ import annotations

from typing import Any

# Ops that touch files, print, or call back into Python: running a model that holds them
# can read or write the server's disk or run arbitrary code. The checkpoint ops (SaveV2,
# RestoreV2, ...) are left out: every SavedModel has them and they never run at inference.
UNSAFE_OPS = frozenset(
    {
        "ReadFile",
        "WriteFile",
        "PrintV2",
        "Print",
        "PyFunc",
        "EagerPyFunc",
        "PyFuncStateless",
        "MatchingFiles",
        "ImmutableConst",
        "WriteAudioSummary",
        "WriteImageSummary",
        "WriteScalarSummary",
        "WriteHistogramSummary",
        "WriteRawProtoSummary",
        "CreateSummaryFileWriter",
        "DebugIdentityV3",
    }
)


def used_ops(meta_graph: Any) -> set[str]:
    """Every op type in the graph and in its function library (calls to library functions left out)."""
    ops = {node.op for node in meta_graph.graph_def.node}
    for function in meta_graph.graph_def.library.function:
        ops.update(node.op for node in function.node_def)
    function_names = {function.signature.name for function in meta_graph.graph_def.library.function}
    return ops - function_names


def unsafe_ops_of(ops: set[str]) -> list[str]:
    """The ops that are unsafe to run: known-dangerous ones and ones this TensorFlow lacks."""
    from tensorflow.python.framework import op_def_registry

    unknown = {op for op in ops if op_def_registry.get(op) is None}
    return sorted((ops & UNSAFE_OPS) | unknown)
