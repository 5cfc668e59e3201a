"""The SavedModel on disk: its file names, tags, method names, and the parsed proto.

Everything else that reads a model starts here; nothing in this module runs a graph.

Example:
    >>> from pathlib import Path
    >>> saved_model = read_saved_model_proto(Path("sample_models/house_price"))
    >>> serving_meta_graph_index(saved_model)
    0
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from google.protobuf import message, text_format

from core.errors import ModelSourceError

SAVED_MODEL_PB = "saved_model.pb"
SAVED_MODEL_PBTXT = "saved_model.pbtxt"
FINGERPRINT_PB = "fingerprint.pb"
ASSETS_DIR = "assets"
ASSETS_EXTRA_DIR = "assets.extra"
VARIABLES_DIR = "variables"
VARIABLES_PREFIX = Path(VARIABLES_DIR) / "variables"
SERVING_TAG = "serve"
# The ops by which a graph or a function calls a library function by name (its ``f`` attr).
CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})
# The ops that hold a variable (TF1 reference variables, resource variables).
VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp"})
PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
INTERNAL_PREFIX = "__"

VALID_SOURCES = (
    "a SavedModel directory, a TF Serving base path with numeric version folders, "
    "an archive (.zip, .tar, .tar.gz, .tgz) or a Keras file (.keras, .h5)"
)


class ModelFormat(StrEnum):
    """How a SavedModel was written: a TF1 graph, or a TF2 object graph."""

    TF1 = "tf1"
    TF2 = "tf2"

    @property
    def label(self) -> str:
        """The words people read for this format (``TF1 graph``)."""
        return "TF1 graph" if self is ModelFormat.TF1 else "TF2 object graph"


def is_internal_signature(name: str) -> bool:
    """True for signatures the loaders use for themselves (``__saved_model_init_op``)."""
    return name.startswith(INTERNAL_PREFIX)


def read_saved_model_proto(model_dir: Path, *, display: str | None = None) -> Any:
    """Parse ``saved_model.pb`` (or ``.pbtxt``) of ``model_dir`` into a SavedModel proto.

    ``display`` is the name used in messages (the user's file name, not a temporary folder).

    Raises:
        ModelSourceError: no SavedModel file, or one that does not parse.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    shown = display if display is not None else model_dir.name
    saved_model = saved_model_pb2.SavedModel()
    pb_path = model_dir / SAVED_MODEL_PB
    pbtxt_path = model_dir / SAVED_MODEL_PBTXT
    try:
        if pb_path.is_file():
            saved_model.ParseFromString(pb_path.read_bytes())
        elif pbtxt_path.is_file():
            text_format.Parse(pbtxt_path.read_text(encoding="utf-8"), saved_model)
        else:
            raise ModelSourceError(f"{shown} is not a SavedModel: it has no {SAVED_MODEL_PB}. Give {VALID_SOURCES}.")
    except (message.DecodeError, text_format.ParseError, UnicodeDecodeError) as err:
        raise ModelSourceError(f"{shown}: {SAVED_MODEL_PB} is not a valid SavedModel proto ({err})") from err
    if not saved_model.meta_graphs:
        raise ModelSourceError(f"{shown}: {SAVED_MODEL_PB} holds no MetaGraph")
    return saved_model


def serving_meta_graph_index(saved_model: Any, *, display: str = "the model") -> int:
    """Index of the MetaGraph that serving uses: the one tagged ``serve``, else the only one.

    Raises:
        ModelSourceError: several MetaGraphs and none (or more than one) tagged ``serve``.
    """
    tag_sets = [list(meta.meta_info_def.tags) for meta in saved_model.meta_graphs]
    serving = [i for i, tags in enumerate(tag_sets) if SERVING_TAG in tags]
    if len(serving) == 1:
        return serving[0]
    exact = [i for i in serving if tag_sets[i] == [SERVING_TAG]]
    if len(exact) == 1:
        return exact[0]
    if not serving and len(tag_sets) == 1:
        return 0
    raise ModelSourceError(
        f"{display}: cannot tell which MetaGraph serves: tag-sets are {tag_sets}; "
        f"exactly one tag-set must contain '{SERVING_TAG}'"
    )


def list_files(folder: Path) -> list[str]:
    """Relative POSIX paths of every file under ``folder`` (empty if it does not exist)."""
    if not folder.is_dir():
        return []
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def copy_message(message: Any) -> Any:
    """A detached copy of a proto message, to edit without touching the original."""
    copy = type(message)()
    copy.CopyFrom(message)
    return copy
