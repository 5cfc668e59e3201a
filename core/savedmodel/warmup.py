"""TF Serving's warmup requests: ``assets.extra/tf_serving_warmup_requests``, a TFRecord of
``PredictionLog`` protos (``tensorflow-serving-api``) that TF Serving replays when it loads
the model. They are real requests the model's owner wrote, so verification feeds them.

Reading them runs nothing of the model: records are parsed as protos and tensors decoded
with ``tf.make_ndarray``.

Example:
    >>> from pathlib import Path
    >>> read_warmup_requests(Path("sample_models/house_price"))
    []
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core._tf import tf
from core.errors import ModelSourceError
from core.savedmodel.proto import ASSETS_EXTRA_DIR

WARMUP_FILE = "tf_serving_warmup_requests"
MAX_WARMUP_RECORDS = 1000  # TF Serving refuses a model whose file holds more
DEFAULT_SERVING_SIGNATURE = "serving_default"  # what a request naming no signature runs
EXAMPLES_INPUT = "inputs"  # the input TF Serving feeds a classify or regress request's Examples to


@dataclass(frozen=True)
class WarmupRequest:
    """One request of the warmup file as TF Serving runs it: the signature it names and the
    tensors fed to it (a classify or regress request's Examples serialized into ``inputs``, as
    TF Serving feeds them), and ``record``, its record's place in the file (a multi-inference
    record holds a request per task)."""

    signature: str
    feeds: dict[str, np.ndarray]
    record: int = 0


def warmup_path(model_dir: Path) -> Path:
    return model_dir / ASSETS_EXTRA_DIR / WARMUP_FILE


def _unreadable(model_dir: Path, display: str | None, err: Exception) -> ModelSourceError:
    shown = f"{display or model_dir.name}: {ASSETS_EXTRA_DIR}/{WARMUP_FILE}"
    return ModelSourceError(f"{shown} cannot be read as TF Serving warmup requests ({type(err).__name__})")


def read_warmup_records(model_dir: Path, *, display: str | None = None) -> list[bytes]:
    """The serialized ``PredictionLog`` records of the model's warmup file, every one of them
    (none when it has no file).

    Raises:
        ModelSourceError: the file is not a TFRecord file.
    """
    path = warmup_path(model_dir)
    if not path.is_file():
        return []
    try:
        return list(tf.compat.v1.io.tf_record_iterator(str(path)))
    except Exception as err:  # a broken frame: TF's DataLossError
        raise _unreadable(model_dir, display, err) from err


def model_specs(log) -> list:
    """The ``ModelSpec`` of each request a ``PredictionLog`` holds (one, or one per task of a
    multi-inference request), as messages that can be edited in place."""
    kind = log.WhichOneof("log_type")
    if kind == "multi_inference_log":
        return [task.model_spec for task in log.multi_inference_log.request.tasks]
    request = getattr(getattr(log, kind), "request", None) if kind else None
    return [request.model_spec] if request is not None and hasattr(request, "model_spec") else []


def signature_of(spec) -> str:
    """The signature a request's ``ModelSpec`` names (TF Serving's default when it names none)."""
    return spec.signature_name or DEFAULT_SERVING_SIGNATURE


def _serialized_examples(model_input) -> np.ndarray:
    """An ``Input``'s Examples serialized as TF Serving feeds them: with a context, the context's
    bytes before each example's, so an example's own feature wins (protobuf's merge)."""
    kind = model_input.WhichOneof("kind")
    if kind == "example_list_with_context":
        context = model_input.example_list_with_context.context.SerializeToString()
        examples = [context + example.SerializeToString() for example in model_input.example_list_with_context.examples]
    else:
        examples = [example.SerializeToString() for example in model_input.example_list.examples]
    return np.array(examples, dtype=object)


def requests_of_record(log, record: int) -> list[WarmupRequest]:
    """The requests TF Serving runs for one ``PredictionLog`` (none for a kind it has no request of)."""
    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        request = log.predict_log.request
        feeds = {name: tf.make_ndarray(tensor) for name, tensor in request.inputs.items()}
        return [WarmupRequest(signature_of(request.model_spec), feeds, record)]
    if kind in ("classify_log", "regress_log"):
        request = getattr(log, kind).request
        return [WarmupRequest(signature_of(request.model_spec), {EXAMPLES_INPUT: _serialized_examples(request.input)}, record)]
    if kind == "multi_inference_log":
        request = log.multi_inference_log.request
        examples = _serialized_examples(request.input)
        return [WarmupRequest(signature_of(task.model_spec), {EXAMPLES_INPUT: examples}, record) for task in request.tasks]
    return []


def read_warmup_requests(model_dir: Path, *, display: str | None = None) -> list[WarmupRequest]:
    """The requests of the model's warmup file that TF Serving runs when it loads the model, in
    order (none when it has no file); at most the first 1000 records, as TF Serving reads.

    Raises:
        ModelSourceError: the file is not a TFRecord of PredictionLog protos.
    """
    records = read_warmup_records(model_dir, display=display)
    if not records:
        return []
    from tensorflow_serving.apis import prediction_log_pb2

    requests = []
    try:
        for index, record in enumerate(records[:MAX_WARMUP_RECORDS]):
            requests += requests_of_record(prediction_log_pb2.PredictionLog.FromString(record), index)
    except Exception as err:  # protobuf's DecodeError, a bad tensor
        raise _unreadable(model_dir, display, err) from err
    return requests


def warmup_summary(model_dir: Path) -> dict[str, int]:
    """How many warmup records name each signature (a multi-inference record counts for each
    of its tasks); empty when the model has no file, ``{"(unreadable)": 0}`` when it is broken.

    Example:
        >>> warmup_summary(Path("sample_models/house_price"))
        {}
    """
    from tensorflow_serving.apis import prediction_log_pb2

    counts: dict[str, int] = {}
    try:
        for record in read_warmup_records(model_dir):
            for spec in model_specs(prediction_log_pb2.PredictionLog.FromString(record)):
                counts[signature_of(spec)] = counts.get(signature_of(spec), 0) + 1
    except Exception:  # a broken file: inspect says so, verification names the error
        return {"(unreadable)": 0}
    return counts
