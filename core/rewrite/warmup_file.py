"""The rewritten model's TF Serving warmup file: ``assets.extra/tf_serving_warmup_requests``, a
TFRecord of ``PredictionLog`` protos (``tensorflow-serving-api``), at most 1000 records.

TF Serving replays every record when it loads a model and refuses the model when one fails,
so a record must still fit the signature it names after the rewrite. ``result_warmup`` keeps
the model's own file byte for byte where the rewrite leaves its records' signatures alone, and
otherwise carries each record over: to a renamed signature's new name, into a replaced base
signature's new contract (a predict request gets the result's input names, casts and a key),
to the kept original (a request that cannot be translated), or out with its dropped signature;
the notes say which. New requests asked for (``WarmupRows``: synthesized rows the model accepts,
a file of real rows, or Try's last request) are written for the result signature and take the
place of the records that warmed it. Verification reads the file back and runs every request.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from core.savedmodel.warmup import read_warmup_requests
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     _ = write_warmup_records(Path(scratch), predict_records("serving_default", [{"x": np.ones((1, 2), np.float32)}] * 3))
    ...     [(request.signature, request.feeds["x"].shape) for request in read_warmup_requests(Path(scratch))]
    [('serving_default', (1, 2)), ('serving_default', (1, 2)), ('serving_default', (1, 2))]
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from core._tf import tf
from core.errors import PlanError
from core.rewrite.plan import RewritePlan
from core.rewrite.result_rows import result_feeds
from core.savedmodel.warmup import (
    MAX_WARMUP_RECORDS,
    model_specs,
    read_warmup_records,
    requests_of_record,
    signature_of,
    warmup_path,
)

Feeds = dict[str, np.ndarray]


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


def predict_records(signature: str, requests: list[Feeds]) -> list[bytes]:
    """Each request (input name → array, for ``signature``) as a serialized ``PredictionLog``."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    records = []
    for feeds in requests:
        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(signature_name=signature))
        for name, value in feeds.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
        records.append(
            prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request)).SerializeToString()
        )
    return records


def write_warmup_records(model_dir: Path, records: list[bytes] | tuple[bytes, ...]) -> Path:
    """Write ``records`` as the model's warmup file, replacing one that is there (no records:
    no file, as TF Serving needs none); returns its path."""
    path = warmup_path(model_dir)
    if not records:
        path.unlink(missing_ok=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)
    return path


def _for_result(plan: RewritePlan, rows: Feeds) -> Feeds:
    return result_feeds(plan, rows, spread_constant_casts=False)[1]


class RecordFate(StrEnum):
    """What the rewrite does to one record of the model's own warmup file."""

    KEPT = "kept"
    RENAMED = "renamed"
    TRANSLATED = "translated"
    REPOINTED = "repointed"
    DROPPED = "dropped"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class ResultWarmup:
    """The warmup file the result holds: its records in order; ``rewritten``: whether it differs
    from the model's own (else that file stays byte for byte); what became of the model's records."""

    records: tuple[bytes, ...]
    rewritten: bool
    notes: tuple[str, ...] = ()


def _fate(plan: RewritePlan, name: str, kind: str, feeds: Feeds | None, *, new: bool) -> tuple[RecordFate, str | None]:
    """What becomes of a request to signature ``name``, and the signature it names after."""
    request = plan.request
    if request.replaces_base and request.rewrites_signature and name == request.signature:
        if new:
            return RecordFate.SUPERSEDED, None
        base_inputs = set(plan.base.inputs)
        if kind == "predict_log" and plan.example_parse is None and feeds is not None and set(feeds) == base_inputs:
            return RecordFate.TRANSLATED, plan.result_name
        if request.keep_original:
            return RecordFate.REPOINTED, request.keep_original
        return RecordFate.DROPPED, None
    if name in request.drop:
        return RecordFate.DROPPED, None
    final = dict(request.rename_signatures).get(name, name)
    if new and final == plan.result_name:
        return RecordFate.SUPERSEDED, None
    return (RecordFate.RENAMED if final != name else RecordFate.KEPT), final


def _note(fate: RecordFate, count: int, kind: str, name: str, final: str | None, plan: RewritePlan, new: int) -> str:
    what = f"{count} {kind.removesuffix('_log').replace('_', '-')} warmup request(s) of '{name}'"
    request = plan.request
    if fate is RecordFate.RENAMED:
        return f"{what} now name '{final}', its new name"
    if fate is RecordFate.TRANSLATED:
        return f"{what} now fit the rewritten '{final}' (its input names and dtypes{', and a key' if plan.key else ''})"
    if fate is RecordFate.REPOINTED:
        return f"{what} cannot be sent to the rewritten signature, so they now warm '{final}', the kept original"
    if fate is RecordFate.SUPERSEDED:
        return f"{what} replaced by the {new} new one(s)"
    if name in request.drop:
        return f"{what} removed with the signature"
    return (
        f"{what} removed: they do not fit the rewritten signature, and TF Serving refuses a model whose warmup "
        "request fails (keep the original to keep them, or write new ones)"
    )


def result_warmup(source_dir: Path, plan: RewritePlan, warmup: WarmupRows | None = None) -> ResultWarmup | None:
    """The result's warmup file: the model's own records carried over to fit it (see the module),
    then ``warmup`` (rows of the base signature) as new requests for the result signature; its
    notes say what became of the model's records. None: neither has any.

    Example:
        >>> from core.rewrite.plan import plan_rewrite
        >>> from core.rewrite.request import RewriteRequest
        >>> from core.savedmodel.handle import read_model_info
        >>> plan = plan_rewrite(read_model_info(Path("sample_models/house_price")), RewriteRequest(key="id"), new_warmup=True)
        >>> rows = WarmupRows(({"rooms": np.array([[3.0]], np.float32), "tax_rate": np.array([[0.1]], np.float32)},), "a row")
        >>> len(result_warmup(Path("sample_models/house_price"), plan, rows).records)
        1

    Raises:
        ModelSourceError: the model's warmup file cannot be read.
        PlanError: the file would hold more than 1000 records (TF Serving refuses the model).
    """
    from tensorflow_serving.apis import prediction_log_pb2

    source = read_warmup_records(source_dir)
    if not source and warmup is None:
        return None
    # Real rows, sent as they are (verification alone spreads rows a cast makes equal).
    new_requests = [_for_result(plan, rows) for rows in warmup.requests] if warmup is not None else None
    new = len(new_requests or ())
    records: list[bytes] = []
    fates: Counter[tuple[RecordFate, str, str, str | None]] = Counter()
    for index, record in enumerate(source):
        log = prediction_log_pb2.PredictionLog.FromString(record)
        kind = log.WhichOneof("log_type") or "unknown"
        specs = model_specs(log)
        feeds = requests_of_record(log, index)[0].feeds if kind == "predict_log" else None
        decided = [
            (signature_of(spec), *_fate(plan, signature_of(spec), kind, feeds, new=new_requests is not None)) for spec in specs
        ]
        for name, fate, final in decided:
            fates[fate, kind, name, final] += 1
        if any(fate in (RecordFate.DROPPED, RecordFate.SUPERSEDED) for _, fate, _ in decided):
            continue  # a multi-inference record runs all its tasks or none
        if any(fate is RecordFate.TRANSLATED for _, fate, _ in decided):
            records += predict_records(plan.result_name, [_for_result(plan, feeds)])
            continue
        for spec, (_, _, final) in zip(specs, decided, strict=True):
            spec.signature_name = final
        changed = any(fate is not RecordFate.KEPT for _, fate, _ in decided)
        records.append(log.SerializeToString() if changed else record)
    if new_requests is not None:
        records += predict_records(plan.result_name, new_requests)
    if len(records) > MAX_WARMUP_RECORDS:
        raise PlanError(
            f"the result's warmup file would hold {len(records)} records ({len(source)} of the model's own"
            f"{f', {new} new' if new else ''}); TF Serving refuses a model whose file holds more than {MAX_WARMUP_RECORDS}: "
            "ask for fewer new requests, or replace the model's with --warmup N"
        )
    notes = tuple(
        _note(fate, count, kind, name, final, plan, new)
        for (fate, kind, name, final), count in fates.items()
        if fate is not RecordFate.KEPT
    )
    rewritten = new_requests is not None or bool(notes)
    return ResultWarmup(tuple(records) if rewritten else tuple(source), rewritten, notes)
