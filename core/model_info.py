"""Read what a SavedModel offers from ``saved_model.pb`` and the checkpoint index only.

Nothing here loads variable values or runs a graph, so reading a model with gigabytes of
variables takes as long as reading a small one.

Example:
    >>> info = read_model_info(Path("sample_models/house_price"))
    >>> sorted(info.signatures["serving_default"].inputs)
    ['rooms', 'tax_rate']
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from google.protobuf import message, text_format

from core._tf import tf
from core.errors import ModelSourceError

SAVED_MODEL_PB = "saved_model.pb"
SAVED_MODEL_PBTXT = "saved_model.pbtxt"
FINGERPRINT_PB = "fingerprint.pb"
SERVING_TAG = "serve"
ASSETS_DIR = "assets"
ASSETS_EXTRA_DIR = "assets.extra"
VARIABLES_PREFIX = Path("variables") / "variables"
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"

# Ops that touch files, print, or call back into Python: running a model that holds them
# can read or write the server's disk or run arbitrary code. The checkpoint ops (SaveV2,
# RestoreV2, ...) are left out: every SavedModel has them and they never run at inference.
UNSAFE_OPS = frozenset(
    {
        "ReadFile",
        "WriteFile",
        "PrintV2",
        "Print",
        "PyFunc",
        "EagerPyFunc",
        "PyFuncStateless",
        "MatchingFiles",
        "ImmutableConst",
        "WriteAudioSummary",
        "WriteImageSummary",
        "WriteScalarSummary",
        "WriteHistogramSummary",
        "WriteRawProtoSummary",
        "CreateSummaryFileWriter",
        "DebugIdentityV3",
    }
)


@dataclass(frozen=True)
class TensorSpecInfo:
    """One input or output of a signature.

    ``shape`` is None for unknown rank; unknown dimensions are -1. ``composite`` marks sparse
    and ragged tensors (their ``tensor_name`` is the values tensor, or empty).
    """

    dtype: str
    shape: tuple[int, ...] | None
    tensor_name: str
    composite: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "shape": None if self.shape is None else list(self.shape),
            "tensor_name": self.tensor_name,
        }


@dataclass(frozen=True)
class SignatureInfo:
    """One SignatureDef: its method name and named inputs and outputs."""

    name: str
    method_name: str
    internal: bool
    inputs: dict[str, TensorSpecInfo]
    outputs: dict[str, TensorSpecInfo]

    def to_json(self) -> dict[str, Any]:
        return {
            "method_name": self.method_name,
            "internal": self.internal,
            "inputs": {name: spec.to_json() for name, spec in self.inputs.items()},
            "outputs": {name: spec.to_json() for name, spec in self.outputs.items()},
        }


@dataclass(frozen=True)
class VariablesInfo:
    """How many variables the checkpoint index lists, and their total size in bytes."""

    count: int
    bytes: int


@dataclass(frozen=True)
class ModelInfo:
    """Everything ``inspect`` reports about one SavedModel."""

    path: str
    version: int | None
    format: str
    tensorflow_version: str
    tag_sets: list[list[str]]
    signatures: dict[str, SignatureInfo]
    assets: list[str]
    assets_extra: list[str]
    variables: VariablesInfo
    ops: list[str]
    unsafe_ops: list[str]

    @property
    def public_signatures(self) -> list[str]:
        """Names of the signatures a user can call or rewrite (internal ones left out)."""
        return [name for name, sig in self.signatures.items() if not sig.internal]

    def to_json(self) -> dict[str, Any]:
        """The ``inspect --json`` object."""
        return {
            "path": self.path,
            "version": self.version,
            "format": self.format,
            "tensorflow_version": self.tensorflow_version,
            "tag_sets": self.tag_sets,
            "signatures": {name: sig.to_json() for name, sig in self.signatures.items()},
            "assets": self.assets,
            "assets_extra": self.assets_extra,
            "variables": asdict(self.variables),
            "ops": self.ops,
            "unsafe_ops": self.unsafe_ops,
        }


def read_saved_model_proto(model_dir: Path) -> Any:
    """Parse ``saved_model.pb`` (or ``.pbtxt``) of ``model_dir`` into a SavedModel proto.

    Raises:
        ModelSourceError: no SavedModel file, or one that does not parse.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    pb_path = model_dir / SAVED_MODEL_PB
    pbtxt_path = model_dir / SAVED_MODEL_PBTXT
    try:
        if pb_path.is_file():
            saved_model.ParseFromString(pb_path.read_bytes())
        elif pbtxt_path.is_file():
            text_format.Parse(pbtxt_path.read_text(encoding="utf-8"), saved_model)
        else:
            raise ModelSourceError(
                f"{model_dir} is not a SavedModel: it has no {SAVED_MODEL_PB}. "
                "Give a SavedModel directory, a TF Serving base path with numeric version "
                "folders, an archive (.zip, .tar, .tar.gz, .tgz) or a Keras file (.keras, .h5)."
            )
    except (message.DecodeError, text_format.ParseError, UnicodeDecodeError) as err:
        raise ModelSourceError(f"{model_dir}: {SAVED_MODEL_PB} is not a valid SavedModel proto ({err})") from err
    if not saved_model.meta_graphs:
        raise ModelSourceError(f"{model_dir}: {SAVED_MODEL_PB} holds no MetaGraph")
    return saved_model


def serving_meta_graph_index(saved_model: Any) -> int:
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
        f"cannot tell which MetaGraph serves: tag-sets are {tag_sets}; exactly one tag-set must contain '{SERVING_TAG}'"
    )


def dtype_name(dtype_enum: int) -> str:
    """TensorFlow's name for a DataType enum value (``1`` → ``float32``)."""
    if dtype_enum == 0:
        return "invalid"
    return tf.dtypes.as_dtype(dtype_enum).name


def _shape_of(shape_proto: Any) -> tuple[int, ...] | None:
    if shape_proto.unknown_rank:
        return None
    return tuple(int(dim.size) for dim in shape_proto.dim)


def _tensor_spec_info(tensor_info: Any) -> TensorSpecInfo:
    encoding = tensor_info.WhichOneof("encoding")
    if encoding == "coo_sparse":
        tensor_name = tensor_info.coo_sparse.values_tensor_name
    elif encoding == "composite_tensor":
        tensor_name = ""
    else:
        tensor_name = tensor_info.name
    return TensorSpecInfo(
        dtype=dtype_name(tensor_info.dtype),
        shape=_shape_of(tensor_info.tensor_shape),
        tensor_name=tensor_name,
        composite=encoding != "name",
    )


def signature_info(name: str, signature_def: Any) -> SignatureInfo:
    """Turn one SignatureDef proto into a ``SignatureInfo``."""
    return SignatureInfo(
        name=name,
        method_name=signature_def.method_name,
        internal=name.startswith("__"),
        inputs={key: _tensor_spec_info(signature_def.inputs[key]) for key in sorted(signature_def.inputs)},
        outputs={key: _tensor_spec_info(signature_def.outputs[key]) for key in sorted(signature_def.outputs)},
    )


def list_files(folder: Path) -> list[str]:
    """Relative POSIX paths of every file under ``folder`` (empty if it does not exist)."""
    if not folder.is_dir():
        return []
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def read_variables_info(model_dir: Path) -> VariablesInfo:
    """Count variables and their bytes from the checkpoint index, never reading their data."""
    prefix = model_dir / VARIABLES_PREFIX
    if not prefix.with_suffix(".index").is_file():
        return VariablesInfo(count=0, bytes=0)
    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except (tf.errors.OpError, ValueError) as err:
        raise ModelSourceError(f"{model_dir}: the variables index cannot be read ({err})") from err
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    count = 0
    total = 0
    for name, shape in shapes.items():
        if name == OBJECT_GRAPH_KEY:
            continue
        count += 1
        dtype = dtypes[name]
        if dtype != tf.string:
            total += math.prod(shape) * dtype.size
    return VariablesInfo(count=count, bytes=total)


def used_ops(meta_graph: Any) -> set[str]:
    """Every op type in the graph and in its function library."""
    ops = {node.op for node in meta_graph.graph_def.node}
    for function in meta_graph.graph_def.library.function:
        ops.update(node.op for node in function.node_def)
    function_names = {function.signature.name for function in meta_graph.graph_def.library.function}
    return ops - function_names


def unsafe_ops_of(ops: set[str]) -> list[str]:
    """The ops that are unsafe to run: known-dangerous ones and ones this TensorFlow lacks."""
    from tensorflow.python.framework import op_def_registry

    unknown = {op for op in ops if op_def_registry.get(op) is None}
    return sorted((ops & UNSAFE_OPS) | unknown)


def read_model_info(model_dir: Path, *, display_path: str | None = None, version: int | None = None) -> ModelInfo:
    """Describe the SavedModel in ``model_dir`` without loading its variables.

    Args:
        model_dir: a SavedModel directory (use ``core.open_model`` for archives and the like).
        display_path: the path to report (the user's source rather than a temporary folder).
        version: the TF Serving version folder this model came from, if any.

    Raises:
        ModelSourceError: not a SavedModel, or unreadable.

    Example:
        >>> read_model_info(Path("sample_models/tf1_half_plus_two")).format
        'tf1'
    """
    saved_model = read_saved_model_proto(model_dir)
    meta_graph = saved_model.meta_graphs[serving_meta_graph_index(saved_model)]
    ops = used_ops(meta_graph)
    return ModelInfo(
        path=display_path if display_path is not None else str(model_dir),
        version=version,
        format="tf2" if meta_graph.HasField("object_graph_def") else "tf1",
        tensorflow_version=meta_graph.meta_info_def.tensorflow_version,
        tag_sets=[sorted(meta.meta_info_def.tags) for meta in saved_model.meta_graphs],
        signatures={name: signature_info(name, meta_graph.signature_def[name]) for name in sorted(meta_graph.signature_def)},
        assets=list_files(model_dir / ASSETS_DIR),
        assets_extra=list_files(model_dir / ASSETS_EXTRA_DIR),
        variables=read_variables_info(model_dir),
        ops=sorted(ops),
        unsafe_ops=unsafe_ops_of(ops),
    )
