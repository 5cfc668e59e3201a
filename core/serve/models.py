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

from core.errors import UnsafeModelError
from core.execution.loaders import Loader
from core.execution.pool import Scope
from core.progress import SILENT, Progress
from core.savedmodel.handle import ModelHandle
from core.savedmodel.proto import ModelFormat


def serving_loader(model_format: ModelFormat) -> Loader:
    """The loader closest to TF Serving for this format: TF1 graph models through a session
    (``tf.saved_model.load`` would keep their ref variables until the worker exits), TF2 models
    through ``tf.saved_model.load``."""
    return Loader.SESSION if model_format is ModelFormat.TF1 else Loader.OBJECT


class WorkerModel:
    """Runs the signatures of ``handle`` in workers of ``scope``.

    Raises:
        UnsafeModelError: the model uses unsafe ops and ``allow_unsafe_ops`` is off.
    """

    def __init__(self, handle: ModelHandle, scope: Scope, *, allow_unsafe_ops: bool = False, progress: Progress = SILENT) -> None:
        if handle.info.unsafe_ops and not allow_unsafe_ops:
            raise UnsafeModelError(
                f"{handle.display} uses unsafe ops ({', '.join(handle.info.unsafe_ops)}); it runs only with consent"
            )
        self.handle = handle
        self.scope = scope
        self.loader = serving_loader(handle.format)
        self.progress = progress

    def run(self, signature: str, feeds: dict[str, Any]) -> dict[str, np.ndarray]:
        """Call ``signature`` with ``feeds`` (input name → array) in a worker.

        Raises:
            InputDataError: the model rejected the input.
            RunLimitError: the call ran past the time or memory limit.
        """
        return self.scope.call(
            "serve",
            model_dir=str(self.handle.path.resolve()),
            loader=self.loader.value,
            tags=self.handle.serving_tags,
            signature=signature,
            feeds={name: np.asarray(value) for name, value in feeds.items()},
            progress=self.progress,
        )
