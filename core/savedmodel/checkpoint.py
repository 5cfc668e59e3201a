"""Read the variables' names, dtypes and shapes from the checkpoint index, never their data.

Example:
    >>> from pathlib import Path
    >>> specs = read_variable_specs(Path("sample_models/tf1_half_plus_two/00000123"))
    >>> specs["a"]
    VariableSpec(dtype='float32', shape=())
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core._tf import tf
from core.errors import ModelSourceError, first_line
from core.savedmodel.info import VariablesInfo
from core.savedmodel.proto import VARIABLE_OPS, VARIABLES_PREFIX

# The checkpoint's own bookkeeping entry (TF2 object graphs), not a variable.
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


@dataclass(frozen=True)
class VariableSpec:
    """One variable as the checkpoint index lists it."""

    dtype: str
    shape: tuple[int, ...]

    @property
    def bytes(self) -> int:
        """Size of the values (0 for strings, whose size the index does not give)."""
        dtype = tf.as_dtype(self.dtype)
        return 0 if dtype == tf.string else math.prod(self.shape) * dtype.size


def read_variable_specs(model_dir: Path, *, display: str | None = None) -> dict[str, VariableSpec]:
    """Every variable in ``variables/variables.index`` (empty when the model has none).

    Raises:
        ModelSourceError: the index exists but cannot be read.
    """
    prefix = model_dir / VARIABLES_PREFIX
    if not prefix.with_suffix(".index").is_file():
        return {}
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        shapes = reader.get_variable_to_shape_map()
        dtypes = reader.get_variable_to_dtype_map()
    except (tf.errors.OpError, ValueError) as err:
        shown = display if display is not None else model_dir.name
        raise ModelSourceError(f"{shown}: the variables index cannot be read ({first_line(err)})") from err
    return {
        name: VariableSpec(dtypes[name].name, tuple(int(d) for d in shape))
        for name, shape in sorted(shapes.items())
        if name != OBJECT_GRAPH_KEY
    }


def missing_checkpoint(model_dir: Path, meta_graph: Any) -> str | None:
    """What of the checkpoint is missing from a model whose graph holds variables (a copy made
    of ``saved_model.pb`` alone, or without the large data file), or None if nothing is.

    Example:
        >>> from core.savedmodel.handle import read_saved_model
        >>> handle = read_saved_model(Path("sample_models/house_price"))
        >>> missing_checkpoint(handle.path, handle.meta_graph) is None
        True
    """
    if meta_graph.HasField("object_graph_def"):
        held = sum(node.WhichOneof("kind") == "variable" for node in meta_graph.object_graph_def.nodes)
    else:
        held = sum(node.op in VARIABLE_OPS for node in meta_graph.graph_def.node)
    if not held:
        return None
    prefix = model_dir / VARIABLES_PREFIX
    index = prefix.with_suffix(".index")
    if not index.is_file():
        missing = f"{VARIABLES_PREFIX}.index" if prefix.parent.is_dir() else f"{prefix.parent.name}/"
    elif not any(prefix.parent.glob(f"{prefix.name}.data-*")):
        missing = f"{VARIABLES_PREFIX}.data-*"
    else:
        return None
    return (
        f"{missing} is missing, though the graph holds {held} variable(s); the values of the weights are not "
        "there, so no loader can run it. Copy the whole SavedModel folder: saved_model.pb with variables/ "
        "(and assets/, if it has one)"
    )


def summarize_variables(specs: dict[str, VariableSpec]) -> VariablesInfo:
    """How many variables, and their total size in bytes."""
    return VariablesInfo(count=len(specs), bytes=sum(spec.bytes for spec in specs.values()))
