"""Apply a checked ``RewritePlan``: pick the engine for the model and write the result.

TF1 graphs and TF2 object graphs are both rewritten by editing ``saved_model.pb`` (nothing of
the model runs, variables are copied byte for byte). A TF2 model whose signature is not laid
out the way ``tf.saved_model.save`` writes one is loaded and saved again instead, in a worker;
the choice says why.

Example:
    >>> from core.rewrite.plan import plan_rewrite
    >>> from core.rewrite.request import RewriteRequest
    >>> from core.savedmodel.handle import read_saved_model
    >>> source = read_saved_model(Path("sample_models/house_price"))
    >>> choose_engine(source, plan_rewrite(source.info, RewriteRequest(key="k")))
    EngineChoice(engine=<Engine.TF2_OBJECT_GRAPH: 'TF2 object-graph engine'>, reason=None)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.errors import OutputError, PlanError
from core.execution.pool import Scope
from core.progress import SILENT, Progress
from core.rewrite.optimizer_state import optimizer_state_in_use
from core.rewrite.plan import RewritePlan
from core.rewrite.raw_feature_graph import raw_base_signature_def
from core.rewrite.signature_def import cast_refusal, planned_signature_def
from core.rewrite.tf1_graph import rewrite_graph_model
from core.rewrite.tf2_load_save import rewrite_object_in_worker
from core.rewrite.tf2_object_graph import object_graph_refusal, rewrite_object_graph
from core.savedmodel.handle import ModelHandle
from core.savedmodel.proto import ModelFormat


class Engine(StrEnum):
    """The ways a model is rewritten."""

    TF1_GRAPH = "TF1 graph engine"
    TF2_OBJECT_GRAPH = "TF2 object-graph engine"
    TF2_LOAD_SAVE = "TF2 load/save engine"

    @property
    def runs_the_model(self) -> bool:
        """Whether rewriting loads the model (and so runs its code, in a worker)."""
        return self is Engine.TF2_LOAD_SAVE


@dataclass(frozen=True)
class EngineChoice:
    """The engine for a rewrite, and why when it is the load/save fallback."""

    engine: Engine
    reason: str | None = None

    @property
    def note(self) -> str | None:
        """The plan note that says which engine ran and why, for the fallback."""
        if self.reason is None:
            return None
        return f"the TF2 load/save engine ran (it rewrites every variable file) because {self.reason}"


def choose_engine(source: ModelHandle, plan: RewritePlan) -> EngineChoice:
    """The engine for ``plan`` on ``source``: the proto editors where they apply.

    Raises:
        PlanError: only the load/save engine could write the plan, and ``tf.saved_model.load``
            cannot revive the model (or the plan drops its optimizer state, which that engine
            cannot); or a function of the model uses the optimizer state the plan drops.
    """
    if plan.request.from_function:
        if source.info.object_loader_problem:
            raise PlanError(
                f"a signature is made from a function by loading the model with tf.saved_model.load, which cannot "
                f"revive it: {source.info.object_loader_problem}"
            )
        return EngineChoice(Engine.TF2_LOAD_SAVE, "a signature made from a function needs the model loaded to trace a call of it")
    if plan.example_parse:
        return _raw_feature_engine(source, plan)
    cast_problem = cast_refusal(source.meta_graph, plan) if plan.casts else None
    if plan.model_format is ModelFormat.TF1:
        if cast_problem:  # a TF1 graph has no other engine: there is nothing to fall back on
            raise PlanError(f"cannot cast the input: {cast_problem}; leave that input's dtype as it is")
        return EngineChoice(Engine.TF1_GRAPH)
    in_use = optimizer_state_in_use(source.meta_graph.object_graph_def, plan.dropped_optimizers)
    if in_use:
        raise PlanError(f"cannot drop the optimizer state: {in_use}; leave 'drop the optimizer state' off")
    refusal = object_graph_refusal(source, plan) or cast_problem
    if refusal is None:
        return EngineChoice(Engine.TF2_OBJECT_GRAPH)
    problem = source.info.object_loader_problem
    if plan.dropped_optimizers or problem:
        raise PlanError(
            f"the proto engines cannot write this rewrite because {refusal}, and the TF2 load/save engine needs "
            "tf.saved_model.load, which cannot revive this model (it holds optimizer state); drop the optimizer "
            "state on its own first, then rewrite the repaired model"
        )
    return EngineChoice(Engine.TF2_LOAD_SAVE, refusal)


def _raw_feature_engine(source: ModelHandle, plan: RewritePlan) -> EngineChoice:
    """The proto engine for a raw-feature base; none other can cut a parse out of a graph."""
    if plan.model_format is ModelFormat.TF1:
        if plan.casts:
            raise PlanError(
                f"cannot cast {sorted(plan.casts)}: in a TF1 graph a raw feature is fed straight into the parse's output, "
                "with no placeholder of its own to cast in front of; leave the features' dtypes as they are"
            )
        return EngineChoice(Engine.TF1_GRAPH)
    in_use = optimizer_state_in_use(source.meta_graph.object_graph_def, plan.dropped_optimizers)
    refusal = (f"a function of the model uses the optimizer state: {in_use}" if in_use else None) or object_graph_refusal(
        source, plan
    )
    if refusal:
        raise PlanError(
            f"cannot make a raw-feature signature of '{plan.base.name}': {refusal}, and only the object-graph engine "
            "can cut the parse out of its functions"
        )
    return EngineChoice(Engine.TF2_OBJECT_GRAPH)


def apply_rewrite(
    source: ModelHandle,
    plan: RewritePlan,
    output_dir: Path,
    *,
    choice: EngineChoice | None = None,
    scope: Scope | None = None,
    progress: Progress = SILENT,
) -> EngineChoice:
    """Write the rewritten model of ``source`` into the new folder ``output_dir``; returns the engine used.

    The source is only read. The proto editors run here; the load/save engine loads the model,
    which runs its code, so it runs in a worker of ``scope`` (default: one that reads the source
    and writes beside the output).

    Raises:
        OutputError: ``output_dir`` exists.
    """
    if output_dir.exists():
        raise OutputError(f"{output_dir.name} exists already; the rewrite writes into a new folder")
    choice = choice or choose_engine(source, plan)
    if choice.engine is Engine.TF2_LOAD_SAVE:
        scope = scope or Scope.of(source.path, scratch_parent=output_dir.parent)
        rewrite_object_in_worker(source, plan, output_dir, scope, progress)
        return choice
    # Both proto engines serve the result through the same SignatureDef: the base's own
    # tensors, a placeholder for the key, Identity nodes for what is echoed.
    saved_model = source.proto_copy()
    meta_graph = saved_model.meta_graphs[source.meta_graph_index]
    base_def = raw_base_signature_def(meta_graph, plan) if plan.example_parse else None
    result_def = planned_signature_def(meta_graph, plan, base_def)
    write = rewrite_graph_model if choice.engine is Engine.TF1_GRAPH else rewrite_object_graph
    write(source, plan, saved_model, result_def, output_dir)
    return choice
