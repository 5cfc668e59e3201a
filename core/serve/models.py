"""A model served from a worker: ``run(signature, feeds)`` as TF Serving would answer, the
model loaded once inside the worker (sandboxed) and kept there for the next calls.

Example:
    >>> import numpy as np, tempfile
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_saved_model
    >>> handle = read_saved_model(Path("sample_models/vocab_lookup"))
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     model = WorkerModel(handle, Scope.of(handle.path, scratch_parent=Path(scratch)))
    ...     model.run("serving_default", {"words": np.array([b"apple", b"kiwi"], dtype=object)})["ids"].tolist()
    [100, -1]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.execution.loader_kind import Loader
from core.execution.pool import Scope
from core.progress import SILENT, Progress
from core.savedmodel.handle import ModelHandle
from core.savedmodel.info import SignatureInfo, require_complete
from core.savedmodel.ops import require_consent


def serving_loader(signature: SignatureInfo) -> Loader:
    """The loader that serves ``signature`` as TF Serving does: a session on the SignatureDef's
    tensor names, for TF1 and TF2 models alike (TF Serving revives no Python objects, so Keras
    2-era exports that ``tf.saved_model.load`` cannot revive run too); ``tf.saved_model.load``
    only for signatures with composite (sparse or ragged) tensors, which a session cannot feed
    by name."""
    tensors = [*signature.inputs.values(), *signature.outputs.values()]
    return Loader.OBJECT if any(spec.composite for spec in tensors) else Loader.SESSION


class WorkerModel:
    """Runs the signatures of ``handle`` in workers of ``scope``.

    Raises:
        ModelSourceError: the model's checkpoint is missing (``require_complete``).
        UnsafeModelError: the model uses unsafe ops and ``allow_unsafe_ops`` is off.
    """

    def __init__(self, handle: ModelHandle, scope: Scope, *, allow_unsafe_ops: bool = False, progress: Progress = SILENT) -> None:
        require_complete(handle.info)
        require_consent(handle.info, allow_unsafe_ops=allow_unsafe_ops)
        self.handle = handle
        self.scope = scope
        self.progress = progress

    def loader(self, signature: str) -> Loader:
        """The loader that runs ``signature`` (``serving_loader``)."""
        return serving_loader(self.handle.info.signatures[signature])

    def load(self, signature: str) -> None:
        """Load the model for ``signature`` in a worker, which keeps it for the next calls.

        Raises:
            ModelSourceError: the loader cannot load the model (the reason, in one line).
            RunLimitError: loading ran past the time or memory limit.
        """
        self._call(signature, None)

    def run(self, signature: str, feeds: dict[str, Any]) -> dict[str, np.ndarray]:
        """Call ``signature`` with ``feeds`` (input name → array) in a worker.

        Raises:
            ModelSourceError: the model cannot be loaded.
            InputDataError: the model rejected the input.
            RunLimitError: the call ran past the time or memory limit.
        """
        return self._call(signature, {name: np.asarray(value) for name, value in feeds.items()})

    def _call(self, signature: str, feeds: dict[str, np.ndarray] | None) -> Any:
        return self.scope.call(
            "serve",
            model_dir=str(self.handle.path.resolve()),
            loader=self.loader(signature).value,
            tags=self.handle.serving_tags,
            signature=signature,
            feeds=feeds,
            progress=self.progress,
        )
