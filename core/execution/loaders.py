"""Run signatures of a SavedModel through either of TensorFlow's loaders.

* ``Loader.OBJECT`` is ``tf.saved_model.load`` and calls ``loaded.signatures[name]``.
* ``Loader.SESSION`` is the TF1 session loader (``tf.compat.v1.saved_model.loader.load``)
  and calls ``session.run`` on the SignatureDef's tensor names, as TF Serving does.

``ServingModel`` keeps a model loaded; ``run_models`` loads each of several models once for
a set of runs. These run model code: the Studio calls them only inside a worker process (the
``*_call`` functions below are what ``core.worker`` offers); tests call them directly.

Example:
    >>> handle_dir = Path("sample_models/vocab_lookup")
    >>> model = ServingModel(handle_dir, Loader.OBJECT)
    >>> model.run("serving_default", {"words": [b"apple", b"kiwi"]})["ids"].tolist()
    [100, -1]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core._tf import tf
from core.errors import InputDataError, ModelSourceError, describe
from core.execution.loader_kind import Loader
from core.execution.memory import is_out_of_memory, release_memory
from core.savedmodel.function_signatures import FunctionTrace, servable_trace
from core.savedmodel.proto import SERVING_TAG, read_saved_model_proto, serving_meta_graph_index

# The tag-set loaded when a caller names none.
DEFAULT_TAGS = [SERVING_TAG]

# A label for one run, and what it runs: (signature name, feeds by input name). The target may
# instead be FUNCTION_TARGET + a function's path on the object graph (tf.saved_model.load only).
Runs = dict[str, tuple[str, dict[str, Any]]]
FUNCTION_TARGET = "function:"


def trace_specs(trace: FunctionTrace) -> dict[str, Any]:
    """The tensor specs of a function's trace, by input name."""
    specs = [leaf for leaf in tf.nest.flatten(trace.structure) if isinstance(leaf, tf.TensorSpec)]
    return dict(zip(trace.input_names, specs, strict=True))


def call_function(loaded: Any, path: str, trace: FunctionTrace, inputs: dict[str, Any]) -> dict[str, Any]:
    """Call the function at ``path`` of a model loaded by ``tf.saved_model.load`` as ``trace``
    was traced (the inputs by name in its structure, its Python values as they were); its
    outputs named as ``tf.saved_model.save`` names a signature's."""
    function = loaded
    for part in path.split("."):
        function = getattr(function, part)
    leaves = tf.nest.flatten(trace.structure)
    fed = iter(inputs[name] for name in trace.input_names)
    args, kwargs = tf.nest.pack_sequence_as(
        trace.structure, [next(fed) if isinstance(leaf, tf.TensorSpec) else leaf for leaf in leaves]
    )
    outputs = function(*args, **kwargs)
    if isinstance(outputs, dict):
        return dict(outputs)
    return {f"output_{index}": value for index, value in enumerate(tf.nest.flatten(outputs))}


@dataclass(frozen=True)
class RunResult:
    """Outputs of one signature call, or the error it raised (first line); ``loaded`` is False
    when the model itself could not be loaded."""

    outputs: dict[str, np.ndarray] | None
    error: str | None = None
    loaded: bool = True


class ServingModel:
    """A SavedModel loaded once through ``loader``; its signatures run on demand.

    ``close()`` (or garbage collection) releases a session-loaded model. Calls are thread-safe.

    Raises:
        ModelSourceError: the model cannot be loaded.
    """

    def __init__(self, model_dir: Path, loader: Loader, *, tags: list[str] | None = None, display: str | None = None) -> None:
        self.model_dir = model_dir
        self.loader = loader
        self.display = display if display is not None else model_dir.name
        self._session = None
        tags = tags or DEFAULT_TAGS
        try:
            if loader is Loader.OBJECT:
                self._loaded = tf.saved_model.load(str(model_dir), tags=tags)
            else:
                graph = tf.Graph()
                self._session = tf.compat.v1.Session(graph=graph)
                with graph.as_default():
                    self._meta_graph = tf.compat.v1.saved_model.loader.load(self._session, tags, str(model_dir))
        except Exception as err:  # TensorFlow raises many types while loading
            self.close()
            reason = describe(err, names={model_dir: self.display})
            raise ModelSourceError(f"{self.display}: {loader.value} cannot load the model: {reason}") from err

    def run(self, signature: str, feeds: dict[str, Any]) -> dict[str, np.ndarray]:
        """Call ``signature`` with ``feeds`` (input name → array).

        Raises:
            InputDataError: the model rejected the input (TensorFlow's message, first line).
        """
        try:
            if signature.startswith(FUNCTION_TARGET):
                return self._run_function(signature.removeprefix(FUNCTION_TARGET), feeds)
            names = list(self._loaded.signatures) if self._session is None else list(self._meta_graph.signature_def)
            if signature not in names:  # a protobuf map would answer an empty SignatureDef
                raise ValueError(f"the model has no signature '{signature}'; signatures: {', '.join(sorted(names))}")
            if self._session is None:
                outputs = self._loaded.signatures[signature](**{name: tf.constant(value) for name, value in feeds.items()})
                return {name: tensor.numpy() for name, tensor in outputs.items()}
            signature_def = self._meta_graph.signature_def[signature]
            extra, missing = sorted(set(feeds) - set(signature_def.inputs)), sorted(set(signature_def.inputs) - set(feeds))
            if extra or (missing and not signature_def.defaults):  # TF Serving's own check
                raise ValueError(f"the inputs do not match the signature: sent extra {extra}, missing but required {missing}")
            fetches = {name: info.name for name, info in signature_def.outputs.items()}
            feed_dict = {signature_def.inputs[name].name: value for name, value in feeds.items()}
            if any(not tensor for tensor in [*fetches.values(), *feed_dict]):
                raise ValueError("composite (sparse or ragged) tensors cannot be run by tensor name")
            return self._session.run(fetches, feed_dict=feed_dict)
        except Exception as err:  # any op may fail on a given input
            reason = describe(err, names={self.model_dir: self.display})
            raise InputDataError(f"signature '{signature}' rejected the input: {reason}") from err

    def _run_function(self, path: str, feeds: dict[str, Any]) -> dict[str, np.ndarray]:
        if self._session is not None:
            raise ValueError(f"the function '{path}' has no SignatureDef, which the {Loader.SESSION.value} runs by")
        saved_model = read_saved_model_proto(self.model_dir)
        served = servable_trace(saved_model.meta_graphs[serving_meta_graph_index(saved_model)], path)
        if served is None:
            raise ValueError(f"the model has no function '{path}' that can be served")
        inputs = {name: tf.constant(value) for name, value in feeds.items()}
        return {name: tensor.numpy() for name, tensor in call_function(self._loaded, path, served[0], inputs).items()}

    def close(self) -> None:
        """Release the model (a session frees its variables at once)."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def __del__(self) -> None:
        self.close()


def _run_all(model_dir: Path, loader: Loader, runs: Runs, tags: list[str] | None) -> dict[str, RunResult]:
    try:
        model = ServingModel(model_dir, loader, tags=tags)
    except ModelSourceError as err:
        return {label: RunResult(None, str(err), loaded=False) for label in runs}
    results = {}
    for label, (signature, feeds) in runs.items():
        try:
            results[label] = RunResult(model.run(signature, feeds))
        except InputDataError as err:
            if is_out_of_memory(str(err)):
                raise  # the memory cap stopped it: a limit, not a batch the model rejects
            results[label] = RunResult(None, str(err))
    model.close()
    return results


@dataclass(frozen=True)
class ModelRuns:
    """The runs to make on one model: its folder, its tag-set, and label → (signature, feeds)."""

    model_dir: Path
    runs: Runs
    tags: list[str] | None = None


def run_models(loader: Loader, jobs: list[ModelRuns]) -> list[dict[str, RunResult]]:
    """Load each model of ``jobs`` once with ``loader``, one after the other, and make its runs,
    in this process (a worker's: see ``core.execution.pool``; the worker releases the last
    model's memory once it has answered).

    Returns:
        For each job, label → ``RunResult``; errors are captured per run, never raised.

    Example:
        >>> import numpy as np
        >>> feeds = {"rooms": np.ones((2, 1), np.float32), "tax_rate": np.ones((2, 1), np.float32)}
        >>> job = ModelRuns(Path("sample_models/house_price"), {"a": ("serving_default", feeds)})
        >>> run_models(Loader.SESSION, [job])[0]["a"].outputs["output_0"].shape
        (2, 1)
    """
    results = []
    for index, job in enumerate(jobs):
        if index:
            release_memory()  # the previous model's memory, before the next one loads
        results.append(_run_all(job.model_dir, loader, job.runs, job.tags))
    return results


# What a worker is asked to do, on plain data (see ``core.worker.FUNCTIONS``).


def run_models_call(loader: str, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``run_models`` on plain data: jobs as {model_dir, runs, tags}; results as {outputs, error, loaded}."""
    model_runs = [ModelRuns(Path(job["model_dir"]), {k: tuple(v) for k, v in job["runs"].items()}, job["tags"]) for job in jobs]
    return [
        {label: {"outputs": result.outputs, "error": result.error, "loaded": result.loaded} for label, result in results.items()}
        for results in run_models(Loader(loader), model_runs)
    ]


_SERVED: dict[tuple[str, str, tuple[str, ...]], ServingModel] = {}
MODELS_KEPT = 2  # loaded models a worker keeps for the next call


def serve_call(
    model_dir: str, loader: str, tags: list[str], signature: str, feeds: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Run one signature on ``feeds`` (None: only load the model), keeping the model loaded
    for the next call (the last few)."""
    key = (model_dir, loader, tuple(tags))
    model = _SERVED.pop(key, None) or ServingModel(Path(model_dir), Loader(loader), tags=tags)
    _SERVED[key] = model
    while len(_SERVED) > MODELS_KEPT:
        _SERVED.pop(next(iter(_SERVED))).close()
        release_memory()
    return None if feeds is None else model.run(signature, feeds)
