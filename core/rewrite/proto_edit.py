"""What the proto engines share when they write ``saved_model.pb`` themselves: the
SignatureDef map, writing the edited model beside its other files, the fingerprint.

Example:
    >>> from tensorflow.core.protobuf import meta_graph_pb2
    >>> meta_graph = meta_graph_pb2.MetaGraphDef()
    >>> meta_graph.signature_def["old"].method_name = "tensorflow/serving/predict"
    >>> replace_signature_defs(meta_graph, {"kept": "old"}, "new", meta_graph_pb2.SignatureDef())
    >>> sorted(meta_graph.signature_def)
    ['kept', 'new']
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from core.savedmodel.proto import FINGERPRINT_PB, SAVED_MODEL_PB, SAVED_MODEL_PBTXT, copy_message, is_internal_signature


def write_saved_model(model_dir: Path, saved_model: Any) -> None:
    """Write the SavedModel proto as ``saved_model.pb``, deterministically."""
    (model_dir / SAVED_MODEL_PB).write_bytes(saved_model.SerializeToString(deterministic=True))


def write_fingerprint(model_dir: Path) -> None:
    """Write a fresh ``fingerprint.pb``: the old one describes the old ``saved_model.pb``."""
    from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting

    (model_dir / FINGERPRINT_PB).write_bytes(fingerprinting.CreateFingerprintDef(str(model_dir)))


def copy_model_files(source_dir: Path, output_dir: Path) -> None:
    """Copy every file of the model byte for byte into the new ``output_dir``, except the files
    that describe ``saved_model.pb`` (it is written anew, and its fingerprint with it)."""
    rewritten = {SAVED_MODEL_PB, SAVED_MODEL_PBTXT, FINGERPRINT_PB}
    shutil.copytree(
        source_dir,
        output_dir,
        ignore=lambda folder, names: [n for n in names if n in rewritten] if Path(folder) == source_dir else [],
    )


def write_edited_model(source_dir: Path, output_dir: Path, saved_model: Any) -> None:
    """Write the edited proto into the new ``output_dir`` beside every other file of the source,
    copied byte for byte, and a fresh fingerprint where the source had one."""
    copy_model_files(source_dir, output_dir)
    write_saved_model(output_dir, saved_model)
    if (source_dir / FINGERPRINT_PB).exists():
        write_fingerprint(output_dir)


def replace_signature_defs(meta_graph: Any, kept: dict[str, str], new_name: str, new_def: Any) -> None:
    """Leave in ``meta_graph`` the internal SignatureDefs, the ``kept`` ones (final name →
    original name) and ``new_def`` as ``new_name``; the rest are dropped."""
    signatures = meta_graph.signature_def
    # Copies, because clearing the map below detaches the messages it held.
    rebuilt = {name: copy_message(signature) for name, signature in signatures.items() if is_internal_signature(name)}
    rebuilt.update({final: copy_message(signatures[original]) for final, original in kept.items()})
    rebuilt[new_name] = new_def
    meta_graph.ClearField("signature_def")
    for name in sorted(rebuilt):
        meta_graph.signature_def[name].CopyFrom(rebuilt[name])
