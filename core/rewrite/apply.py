"""Apply a checked ``RewritePlan``: pick the engine for the model's format and write the result.

Example:
    >>> engine_for(ModelFormat.TF1), engine_for(ModelFormat.TF2)
    (<Engine.GRAPH: 'TF1 graph engine'>, <Engine.OBJECT: 'TF2 object-graph engine'>)
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from core.errors import OutputError
from core.execution.pool import Scope
from core.progress import SILENT, Progress
from core.rewrite.graph_engine import rewrite_graph_model
from core.rewrite.object_engine import rewrite_object_in_worker
from core.rewrite.plan import RewritePlan
from core.savedmodel.handle import ModelHandle
from core.savedmodel.proto import ModelFormat


class Engine(StrEnum):
    """The two ways a model is rewritten."""

    GRAPH = "TF1 graph engine"
    OBJECT = "TF2 object-graph engine"


def engine_for(model_format: ModelFormat) -> Engine:
    """TF1 graphs are edited in place; TF2 object graphs are loaded and saved again."""
    return Engine.GRAPH if model_format is ModelFormat.TF1 else Engine.OBJECT


def apply_rewrite(
    source: ModelHandle, plan: RewritePlan, output_dir: Path, *, scope: Scope | None = None, progress: Progress = SILENT
) -> Engine:
    """Write the rewritten model of ``source`` into the new folder ``output_dir``; returns the engine used.

    The source is only read. The TF1 graph engine edits protos here; the TF2 object-graph
    engine loads the model, which runs its code, so it runs in a worker of ``scope`` (default:
    one that reads the source and writes beside the output).

    Raises:
        OutputError: ``output_dir`` exists.
    """
    if output_dir.exists():
        raise OutputError(f"{output_dir.name} exists already; the rewrite writes into a new folder")
    engine = engine_for(plan.model_format)
    if engine is Engine.GRAPH:
        rewrite_graph_model(source, plan, output_dir)
    else:
        scope = scope or Scope.of(source.path, scratch_parent=output_dir.parent)
        rewrite_object_in_worker(source, plan, output_dir, scope, progress)
    return engine
