"""Beam's ``ModelHandler`` for any signature of any SavedModel: blocks of rows in, outputs out.

The model runs in a Studio worker (sandboxed where bwrap works), never in Beam's own process;
TF1 graph models through a session as TF Serving runs them, TF2 models through
``tf.saved_model.load`` — no ``tf.keras.models.load_model``, no ``tensorflow_hub``. A block the
model rejects is run again row by row, so that only the rows it really rejects are set aside.
On a remote runner the model is copied from its Beam file system (``gs://``, …) to the worker's
disk first.

Example:
    >>> import numpy as np, tempfile
    >>> from core.batch.rows import RowBlock
    >>> handler = SignatureModelHandler("sample_models/house_price", "serving_default")
    >>> model = handler.load_model()
    >>> block = RowBlock("in.csv", [1], ["a"], {"rooms": np.ones((1, 1), np.float32), "tax_rate": np.ones((1, 1), np.float32)})
    >>> (result,) = handler.run_inference([block], model)
    >>> sorted(result.inference.outputs), result.inference.rejected
    (['output_0'], [])
    >>> model.close()
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from core.batch.rows import RowBlock, RowError
from core.errors import InputDataError
from core.execution.pool import Scope
from core.serve.models import WorkerModel
from core.sources.archive import ArchiveLimits
from core.sources.stage import stage_saved_model


@dataclass
class BlockOutcome:
    """What a block became: the outputs of the rows that ran (in ``block`` order, ``ran`` giving
    their positions) and the rows the model rejected."""

    outputs: dict[str, np.ndarray]
    ran: list[int]
    rejected: list[RowError] = field(default_factory=list)


def _release(scratch: Path, scope: list[Scope]) -> None:
    """Stop the model's workers and remove its staged copy (a long-lived Beam worker process
    would otherwise keep one sandboxed worker per pipeline it ever ran)."""
    for owned in scope:
        owned.close()
    shutil.rmtree(scratch, ignore_errors=True)


class BatchModel:
    """The model, staged on this machine and served by a worker; ``run`` calls one signature."""

    def __init__(self, source: str, *, allow_unsafe_ops: bool = False, worker_scratch: str | None = None) -> None:
        self._scratch = Path(tempfile.mkdtemp(prefix="signature-studio-batch-"))
        self._scopes: list[Scope] = []
        # Beam never says when it is done with a model: clean up when it is dropped, or at exit.
        self._finalizer = weakref.finalize(self, _release, self._scratch, self._scopes)
        local = fetch_model(source, self._scratch / "fetched")
        # A folder is read where it is; an archive or Keras file is staged in the scratch folder.
        handle = stage_saved_model(
            local,
            self._scratch / "model",
            limits=ArchiveLimits.from_environment(),
            display=source,
            allow_unsafe_code=allow_unsafe_ops,
        )
        scope, warm = worker_scope(handle.path, self._scratch, worker_scratch)
        if not warm:
            self._scopes.append(scope)  # a warm worker belongs to the command that started it
        self._model = WorkerModel(handle, scope, allow_unsafe_ops=allow_unsafe_ops)
        scope.prewarm()

    def run(self, signature: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._model.run(signature, feeds)

    def close(self) -> None:
        self._finalizer()


def worker_scope(model_dir: Path, scratch: Path, worker_scratch: str | None) -> tuple[Scope, bool]:
    """The scope that serves ``model_dir``, and whether it is a warm one: a worker may already be
    warming up for this model (the CLI starts one before it imports TensorFlow), whose scope is
    the model folder and ``worker_scratch``; a model staged in ``scratch`` gets a scope there.
    """
    warm = worker_scratch is not None and Path(worker_scratch).is_dir() and scratch.resolve() not in model_dir.resolve().parents
    return Scope.of(model_dir, scratch_parent=Path(worker_scratch) if warm else scratch), warm


def fetch_model(source: str, target: Path) -> str:
    """``source`` itself when this machine can read it; otherwise a copy in ``target``, read
    through Beam's file systems (a folder's files, or one archive or Keras file)."""
    if "://" not in source or source.startswith("file://"):
        return source.removeprefix("file://")
    prefix = source.rstrip("/")
    found = FileSystems.match([prefix + "/**"])[0].metadata_list
    if not found:
        found = FileSystems.match([prefix])[0].metadata_list
        target = target / Path(prefix).name
        names = {metadata.path: target for metadata in found}
    else:
        names = {metadata.path: target / metadata.path[len(prefix) + 1 :] for metadata in found}
    for remote, local in names.items():
        local.parent.mkdir(parents=True, exist_ok=True)
        with FileSystems.open(remote) as reader, open(local, "wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
    return str(target)


class SignatureModelHandler(ModelHandler[RowBlock, BlockOutcome, BatchModel]):
    """Runs blocks of rows through ``signature`` of the model at ``source`` (each block is one
    element: Beam does not batch them again)."""

    def __init__(self, source: str, signature: str, *, allow_unsafe_ops: bool = False, worker_scratch: str | None = None) -> None:
        super().__init__()
        self.source = source
        self.signature = signature
        self.allow_unsafe_ops = allow_unsafe_ops
        self.worker_scratch = worker_scratch

    def load_model(self) -> BatchModel:
        return BatchModel(self.source, allow_unsafe_ops=self.allow_unsafe_ops, worker_scratch=self.worker_scratch)

    def run_inference(
        self, batch: Sequence[RowBlock], model: BatchModel, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        return [PredictionResult(block, self._run_block(block, model)) for block in batch]

    def _run_block(self, block: RowBlock, model: BatchModel) -> BlockOutcome:
        try:
            return BlockOutcome(model.run(self.signature, block.feeds), list(range(len(block))))
        except InputDataError:
            pass  # some row is rejected: find which, one row at a time
        parts, ran, rejected = [], [], []
        for position in range(len(block)):
            row = block.take([position])
            try:
                parts.append(model.run(self.signature, row.feeds))
                ran.append(position)
            except InputDataError as err:
                rejected.append(RowError(block.file, block.rows[position], str(err), key=block.keys[position]))
        outputs = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]} if parts else {}
        return BlockOutcome(outputs, ran, rejected)

    def get_num_bytes(self, batch: Sequence[RowBlock]) -> int:
        return sum(block.nbytes() for block in batch)

    def get_metrics_namespace(self) -> str:
        return "signature_studio"

    def batch_elements_kwargs(self) -> dict[str, Any]:
        return {"max_batch_size": 1}  # blocks come batched already
