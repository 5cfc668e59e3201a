"""Small pieces both engines use when they write ``saved_model.pb`` themselves.

Example:
    >>> from tensorflow.core.protobuf import meta_graph_pb2
    >>> original = meta_graph_pb2.SignatureDef(method_name="tensorflow/serving/predict")
    >>> copy = copy_message(original)
    >>> copy == original and copy is not original
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.savedmodel.proto import FINGERPRINT_PB, SAVED_MODEL_PB


def copy_message(message: Any) -> Any:
    """A detached copy of a proto message."""
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


def write_saved_model(model_dir: Path, saved_model: Any) -> None:
    """Write the SavedModel proto as ``saved_model.pb``, deterministically."""
    (model_dir / SAVED_MODEL_PB).write_bytes(saved_model.SerializeToString(deterministic=True))


def write_fingerprint(model_dir: Path) -> None:
    """Write a fresh ``fingerprint.pb``: the old one describes the old ``saved_model.pb``."""
    from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting

    (model_dir / FINGERPRINT_PB).write_bytes(fingerprinting.CreateFingerprintDef(str(model_dir)))
