"""Run signatures of a SavedModel through either of TensorFlow's loaders.

* ``Loader.OBJECT`` is ``tf.saved_model.load`` and calls ``loaded.signatures[name]``.
* ``Loader.SESSION`` is the TF1 session loader (``tf.compat.v1.saved_model.loader.load``)
  and calls ``session.run`` on the SignatureDef's tensor names, as TF Serving does.

``ServingModel`` keeps a model loaded; ``run_signatures`` loads once for a set of runs.

Example:
    >>> results = run_signatures(Path("sample_models/house_price"), Loader.SESSION,
    ...                          {"a": ("serving_default", {"rooms": r, "tax_rate": t})})
    >>> results["a"].outputs["output_0"].shape
    (2, 1)
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from core._tf import tf
from core.errors import InputDataError, ModelSourceError
from core.model_info import SERVING_TAG, read_saved_model_proto, serving_meta_graph_index


class Loader(StrEnum):
    """The two ways a SavedModel is loaded for serving."""

    OBJECT = "tf.saved_model.load"
    SESSION = "tf.compat.v1 session loader"


@dataclass(frozen=True)
class RunResult:
    """Outputs of one signature call, or the error it raised (first line)."""

    outputs: dict[str, np.ndarray] | None
    error: str | None = None


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:500]


def serving_tags(model_dir: Path) -> list[str]:
    """The tag-set to load for serving (needed when a model holds several MetaGraphs)."""
    saved_model = read_saved_model_proto(model_dir)
    return list(saved_model.meta_graphs[serving_meta_graph_index(saved_model)].meta_info_def.tags) or [SERVING_TAG]


class ServingModel:
    """A SavedModel loaded once through ``loader``; its signatures run on demand.

    ``close()`` (or garbage collection) releases a session-loaded model. Calls are thread-safe.

    Raises:
        ModelSourceError: the model cannot be loaded.
    """

    def __init__(self, model_dir: Path, loader: Loader) -> None:
        self.model_dir = model_dir
        self.loader = loader
        self._session = None
        tags = serving_tags(model_dir)
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
            raise ModelSourceError(f"{model_dir.name}: {loader.value} cannot load the model: {_first_line(err)}") from err

    def run(self, signature: str, feeds: dict[str, Any]) -> dict[str, np.ndarray]:
        """Call ``signature`` with ``feeds`` (input name → array).

        Raises:
            InputDataError: the model rejected the input (TensorFlow's message, first line).
        """
        try:
            if self._session is None:
                outputs = self._loaded.signatures[signature](**{name: tf.constant(value) for name, value in feeds.items()})
                return {name: tensor.numpy() for name, tensor in outputs.items()}
            signature_def = self._meta_graph.signature_def[signature]
            fetches = {name: info.name for name, info in signature_def.outputs.items()}
            feed_dict = {signature_def.inputs[name].name: value for name, value in feeds.items()}
            if any(not tensor for tensor in [*fetches.values(), *feed_dict]):
                raise ValueError("composite (sparse or ragged) tensors cannot be run by tensor name")
            return self._session.run(fetches, feed_dict=feed_dict)
        except Exception as err:  # any op may fail on a given input
            raise InputDataError(f"signature '{signature}' rejected the input: {_first_line(err)}") from err

    def close(self) -> None:
        """Release the model (a session frees its variables at once)."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def __del__(self) -> None:
        self.close()


def _run_all(model_dir: Path, loader: Loader, runs: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, RunResult]:
    try:
        model = ServingModel(model_dir, loader)
    except ModelSourceError as err:
        return {label: RunResult(None, f"loading failed: {err}") for label in runs}
    results = {}
    for label, (signature, feeds) in runs.items():
        try:
            results[label] = RunResult(model.run(signature, feeds))
        except InputDataError as err:
            results[label] = RunResult(None, str(err))
    model.close()
    return results


def run_signatures(
    model_dir: Path,
    loader: Loader,
    runs: dict[str, tuple[str, dict[str, Any]]],
    *,
    isolated: bool = False,
) -> dict[str, RunResult]:
    """Load ``model_dir`` once with ``loader`` and make every run in ``runs``.

    Args:
        runs: label → (signature name, feeds by input name).
        isolated: load and run in a short-lived child process, so whatever TensorFlow keeps
            after loading is given back when it exits.

    Returns:
        label → ``RunResult``; errors are captured per run, never raised.
    """
    if isolated:
        spawn = multiprocessing.get_context("spawn")  # forking a process that runs TensorFlow is unsafe
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            return pool.submit(run_signatures, model_dir, loader, runs).result()
    results = _run_all(model_dir, loader, runs)
    release_memory()
    return results


def release_memory() -> None:
    """Free a model that was just used, and hand the memory back to the OS.

    A loaded model sits in reference cycles, and glibc keeps freed blocks for reuse; without
    both steps verifying a large model holds several copies of its variables at once.
    """
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - present in glibc only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


def identical(a: Any, b: Any) -> bool:
    """True when two arrays have the same dtype, shape and bytes (NaN-safe, bit for bit)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return a.tolist() == b.tolist()
    return a.tobytes() == b.tobytes()
