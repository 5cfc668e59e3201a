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
MAX_WARMUP_RECORDS = 1000  # TF Serving reads no more than this


@dataclass(frozen=True)
class WarmupRequest:
    """One predict request of the warmup file: the signature it names and its input tensors."""

    signature: str
    feeds: dict[str, np.ndarray]


def warmup_path(model_dir: Path) -> Path:
    return model_dir / ASSETS_EXTRA_DIR / WARMUP_FILE


def read_warmup_requests(model_dir: Path, *, display: str | None = None) -> list[WarmupRequest]:
    """The predict requests of the model's warmup file, in order (none when it has no file;
    classify, regress and multi-inference records carry Examples and are skipped).

    Raises:
        ModelSourceError: the file is not a TFRecord of PredictionLog protos.
    """
    path = warmup_path(model_dir)
    if not path.is_file():
        return []
    from tensorflow_serving.apis import prediction_log_pb2

    shown = f"{display or model_dir.name}: {ASSETS_EXTRA_DIR}/{WARMUP_FILE}"
    requests = []
    try:
        for index, record in enumerate(tf.compat.v1.io.tf_record_iterator(str(path))):
            if index >= MAX_WARMUP_RECORDS:
                break
            log = prediction_log_pb2.PredictionLog.FromString(record)
            if log.WhichOneof("log_type") != "predict_log":
                continue
            request = log.predict_log.request
            feeds = {name: tf.make_ndarray(tensor) for name, tensor in request.inputs.items()}
            requests.append(WarmupRequest(request.model_spec.signature_name or "serving_default", feeds))
    except Exception as err:  # a broken record: TF's DataLossError, protobuf's DecodeError, a bad tensor
        raise ModelSourceError(f"{shown} cannot be read as TF Serving warmup requests ({type(err).__name__})") from err
    return requests


def warmup_summary(model_dir: Path) -> dict[str, int]:
    """How many warmup records the model's file holds per signature (predict, classify and
    regress requests alike); empty when it has none, ``{"(unreadable)": 0}`` when it is broken.

    Example:
        >>> warmup_summary(Path("sample_models/house_price"))
        {}
    """
    path = warmup_path(model_dir)
    if not path.is_file():
        return {}
    from tensorflow_serving.apis import prediction_log_pb2

    counts: dict[str, int] = {}
    try:
        for index, record in enumerate(tf.compat.v1.io.tf_record_iterator(str(path))):
            if index >= MAX_WARMUP_RECORDS:
                break
            log = prediction_log_pb2.PredictionLog.FromString(record)
            kind = log.WhichOneof("log_type")
            request = getattr(getattr(log, kind), "request", None) if kind else None
            spec = getattr(request, "model_spec", None)
            name = (spec.signature_name if spec is not None else "") or "serving_default"
            counts[name] = counts.get(name, 0) + 1
    except Exception:  # a broken file: inspect says so, verification names the error
        return {"(unreadable)": 0}
    return counts
