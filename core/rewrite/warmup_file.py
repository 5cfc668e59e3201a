"""Writing TF Serving's warmup requests into a rewritten model: ``assets.extra/
tf_serving_warmup_requests``, a TFRecord of ``PredictionLog`` protos (``tensorflow-serving-api``),
one predict request per record, at most 1000 (TF Serving replays no more).

The requests are for the result signature: rows of the base signature (synthesized ones the
model accepts, a file of real rows, or Try's last request) under the result's input names and
dtypes, with the key. Verification reads the file back and runs every record.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from core.savedmodel.warmup import read_warmup_requests
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     _ = write_warmup_file(Path(scratch), "serving_default", [{"x": np.ones((1, 2), np.float32)}] * 3)
    ...     [(request.signature, request.feeds["x"].shape) for request in read_warmup_requests(Path(scratch))]
    [('serving_default', (1, 2)), ('serving_default', (1, 2)), ('serving_default', (1, 2))]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core._tf import tf
from core.errors import PlanError
from core.savedmodel.warmup import MAX_WARMUP_RECORDS, warmup_path


@dataclass(frozen=True)
class WarmupRows:
    """Requests to write as warmup: each a batch of the base signature's inputs (by base input
    name), and where they came from (``5 requests synthesized``, ``rows.csv``)."""

    requests: tuple[dict[str, np.ndarray], ...]
    origin: str

    def __post_init__(self) -> None:
        if not self.requests:
            raise PlanError(f"no warmup request to write from {self.origin}; give at least one row")
        if len(self.requests) > MAX_WARMUP_RECORDS:
            raise PlanError(
                f"a warmup file holds at most {MAX_WARMUP_RECORDS} requests (TF Serving replays no more); "
                f"{self.origin} gives {len(self.requests)}"
            )


def rows_in(feeds: dict[str, np.ndarray]) -> int:
    shaped = [np.shape(value) for value in feeds.values() if np.ndim(value)]
    return shaped[0][0] if shaped else 1


def one_row_each(feeds: dict[str, np.ndarray], count: int) -> tuple[dict[str, Any], ...]:
    """``count`` requests of one row each, taken from ``feeds`` in turn (a batch's rows, round
    and round); inputs without a batch dimension go whole into each.

    Example:
        >>> [r["x"].tolist() for r in one_row_each({"x": np.array([[1], [2]])}, 3)]
        [[[1]], [[2]], [[1]]]
    """
    rows = rows_in(feeds)
    return tuple(
        {name: value[index % rows : index % rows + 1] if np.ndim(value) else value for name, value in feeds.items()}
        for index in range(count)
    )


def write_warmup_file(model_dir: Path, signature: str, requests: list[dict[str, np.ndarray]]) -> Path:
    """Write ``requests`` (input name → array, for ``signature``) as the model's warmup file,
    replacing one that is there; returns its path."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    path = warmup_path(model_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for feeds in requests:
            request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(signature_name=signature))
            for name, value in feeds.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path
