"""The TF2 load/save engine, for TF2 models the object-graph engine cannot edit: load, wrap
the base signature, save.

The model is loaded with ``tf.saved_model.load``, the base signature is wrapped in a new
``tf.function`` that adds the key and forwarded inputs, and everything is saved with
``tf.saved_model.save``. Files the saver does not write (``assets.extra/`` and the like) are
copied afterwards, and the method names the saver turns into predict are set back.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from core.rewrite.plan import plan_rewrite
    >>> from core.rewrite.request import RewriteRequest
    >>> from core.savedmodel.handle import read_saved_model
    >>> source = read_saved_model(Path("sample_models/house_price"))
    >>> plan = plan_rewrite(source.info, RewriteRequest(key="k"))
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     rewrite_object_model(source, plan, Path(scratch, "out"))
    ...     sorted(read_saved_model(Path(scratch, "out")).info.signatures["serving_default"].outputs)
    ['k', 'output_0']
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from core._tf import tf
from core.errors import ModelSourceError, describe
from core.execution.loaders import call_function, trace_specs
from core.execution.memory import release_memory
from core.execution.pool import Scope
from core.progress import Progress
from core.rewrite.plan import OutputKind, RewritePlan, plan_rewrite
from core.rewrite.proto_edit import write_fingerprint, write_saved_model
from core.rewrite.request import RewriteRequest
from core.savedmodel.function_signatures import servable_trace
from core.savedmodel.handle import ModelHandle, read_saved_model
from core.savedmodel.proto import SAVED_MODEL_PBTXT


def _restore_method_names(model_dir: Path, plan: RewritePlan) -> None:
    """Give every signature its planned method name again.

    ``tf.saved_model.save`` writes every signature as predict; a classify or regress signature
    of a TF2 model would silently change. The method name is metadata only, so it is set back
    in ``saved_model.pb`` (and the fingerprint renewed) when anything differs.
    """
    wanted = {final: plan.source_methods[original] for final, original in plan.kept_signatures.items()}
    wanted[plan.result_name] = plan.result.method_name
    written = read_saved_model(model_dir)
    saved_model = written.proto_copy()
    meta_graph = saved_model.meta_graphs[written.meta_graph_index]
    changed = False
    for name, method in wanted.items():
        if meta_graph.signature_def[name].method_name != method:
            meta_graph.signature_def[name].method_name = method
            changed = True
    if changed:
        write_saved_model(model_dir, saved_model)
        write_fingerprint(model_dir)


def _input_specs(function: Any) -> dict[str, Any]:
    """The keyword input specs of a signature function, renamed to their keywords."""
    _, keyword_specs = function.structured_input_signature
    return {
        name: tf.TensorSpec(spec.shape, spec.dtype, name=name) if isinstance(spec, tf.TensorSpec) else spec
        for name, spec in keyword_specs.items()
    }


def _served_function(loaded: Any, source: ModelHandle, plan: RewritePlan) -> tuple[dict[str, Any], Any]:
    """The base as input specs (by name) and a call taking a dict of inputs and returning a
    dict of outputs: the base signature, or the function the plan serves (called as it was
    traced, its outputs named as ``tf.saved_model.save`` names a signature's)."""
    if not plan.request.from_function:
        signature = loaded.signatures[plan.base.name]
        return _input_specs(signature), lambda inputs: signature(**inputs)
    trace, _ = servable_trace(source.meta_graph, plan.request.from_function)
    specs = {name: tf.TensorSpec(spec.shape, spec.dtype, name=name) for name, spec in trace_specs(trace).items()}
    return specs, lambda inputs: call_function(loaded, plan.request.from_function, trace, inputs)


def _rewritten_function(base_specs: dict[str, Any], base_call: Any, plan: RewritePlan) -> Any:
    specs = {}
    for name, spec in base_specs.items():  # the inputs renamed and cast as planned
        new = plan.fed_as[name]
        if name in plan.casts:
            spec = tf.TensorSpec(spec.shape, tf.as_dtype(plan.casts[name]), name=new)
        elif isinstance(spec, tf.TensorSpec):
            spec = tf.TensorSpec(spec.shape, spec.dtype, name=new)
        specs[new] = spec
    if plan.key is not None:
        specs[plan.key] = tf.TensorSpec([None], tf.as_dtype(plan.request.key_dtype.value), name=plan.key)

    def fed(inputs: dict, name: str) -> Any:
        value = inputs[plan.fed_as[name]]
        return tf.cast(value, base_specs[name].dtype) if name in plan.casts else value

    @tf.function(input_signature=[specs])
    def rewritten(inputs):
        outputs = base_call({name: fed(inputs, name) for name in base_specs})
        return {
            name: outputs[source.name] if source.kind is OutputKind.OUTPUT else tf.identity(inputs[source.name])
            for name, source in plan.output_sources.items()
        }

    return rewritten.get_concrete_function()


def rewrite_object_call(source_dir: str, display: str, request: dict, output_name: str) -> str:
    """In a worker: plan ``request`` on the model and rewrite it into ``output_name`` (in the
    worker's scratch folder, its working folder)."""
    source = read_saved_model(Path(source_dir), display=display)
    plan = plan_rewrite(source.info, RewriteRequest.from_dict(request))
    rewrite_object_model(source, plan, Path.cwd() / output_name)
    return output_name


def rewrite_object_in_worker(source: ModelHandle, plan: RewritePlan, output_dir: Path, scope: Scope, progress: Progress) -> None:
    """``rewrite_object_model`` in a worker of ``scope``: loading a TF2 model runs its code."""

    def collect(output_name: str, scratch: Path) -> None:
        shutil.move(str(scratch / output_name), str(output_dir))

    scope.call(
        "rewrite_object",
        source_dir=str(source.path.resolve()),
        display=source.display,
        request=plan.request.to_dict(),
        output_name=f"rewrite-{uuid.uuid4().hex}",
        progress=progress,
        collect=collect,
    )


def rewrite_object_model(source: ModelHandle, plan: RewritePlan, output_dir: Path) -> None:
    """Load ``source``, add the planned signature, and save everything into ``output_dir``
    (in this process: a worker's, see ``rewrite_object_in_worker``)."""
    source_dir = source.path
    names = {source_dir: source.display, output_dir: "the rewrite"}
    try:
        loaded = tf.saved_model.load(str(source_dir), tags=source.serving_tags)
    except Exception as err:  # a damaged or crafted model trips the loader in many ways
        raise ModelSourceError(f"{source.display}: tf.saved_model.load cannot load it ({describe(err, names=names)})") from err
    try:
        signatures = {plan.result_name: _rewritten_function(*_served_function(loaded, source, plan), plan)}
        for final, original in plan.kept_signatures.items():
            signatures[final] = loaded.signatures[original]
        tf.saved_model.save(loaded, str(output_dir), signatures=signatures)
    except Exception as err:  # tracing or saving a model the loader accepted
        raise ModelSourceError(
            f"{source.display}: cannot be saved again with the new signature ({describe(err, names=names)})"
        ) from err
    del loaded, signatures
    release_memory()  # the loaded source is no longer needed; verification loads its own
    _restore_method_names(output_dir, plan)
    # The saver writes saved_model.pb, variables/, assets/ and fingerprint.pb; everything else
    # in the source (assets.extra/, documentation, ...) is carried over unchanged.
    for entry in source_dir.iterdir():
        target = output_dir / entry.name
        if target.exists() or entry.name == SAVED_MODEL_PBTXT:
            continue
        if entry.is_dir():
            shutil.copytree(entry, target)
        else:
            shutil.copy2(entry, target)
