"""What ``inspect`` reports about a SavedModel, as frozen data: signatures with their inputs
and outputs, assets, variables and ops. ``core.savedmodel.handle`` fills these in.

Example:
    >>> spec = TensorSpecInfo("float32", (-1, 1), "rooms:0")
    >>> spec.to_json()
    {'dtype': 'float32', 'shape': [-1, 1], 'tensor_name': 'rooms:0'}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from core._tf import tf
from core.errors import ModelSourceError, PlanError
from core.savedmodel.proto import ModelFormat, is_internal_signature
from core.savedmodel.revival import OptimizerState, object_loader_problem

if TYPE_CHECKING:
    from core.savedmodel.example_parse import ExampleParse


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


class Side(StrEnum):
    """The two sides of a signature."""

    INPUT = "input"
    OUTPUT = "output"

    @property
    def plural(self) -> str:
        """``inputs``, ``outputs``."""
        return f"{self.value}s"

    def of(self, signature: SignatureInfo) -> dict[str, TensorSpecInfo]:
        """This side's tensors of ``signature``, by name."""
        return signature.inputs if self is Side.INPUT else signature.outputs


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
    format: ModelFormat
    tensorflow_version: str
    tag_sets: list[list[str]]
    signatures: dict[str, SignatureInfo]
    assets: list[str]
    assets_extra: list[str]
    variables: VariablesInfo
    ops: list[str]
    unsafe_ops: list[str]
    unsafe_op_reasons: dict[str, str]
    optimizers: tuple[OptimizerState, ...] = ()
    functions: tuple[str, ...] = ()
    missing_checkpoint: str | None = None
    # The functions that can be served as a signature (``rewrite --from-function``), by path.
    function_signatures: dict[str, SignatureInfo] = field(default_factory=dict)
    # TF Serving's warmup file (assets.extra/tf_serving_warmup_requests): records per signature.
    warmup: dict[str, int] = field(default_factory=dict)
    # Signatures that parse serialized tf.Examples: the parse and the features it reads.
    example_parses: dict[str, ExampleParse] = field(default_factory=dict)

    @property
    def object_loader_problem(self) -> str | None:
        """Why ``tf.saved_model.load`` cannot revive this model here, with the repair; None if it can."""
        return object_loader_problem(self.optimizers)

    @property
    def public_signatures(self) -> list[str]:
        """Names of the signatures a user can call or rewrite (internal ones left out)."""
        return [name for name, sig in self.signatures.items() if not sig.internal]

    def to_json(self) -> dict[str, Any]:
        """The ``inspect --json`` object."""
        return {
            "path": self.path,
            "version": self.version,
            "format": self.format.value,
            "tensorflow_version": self.tensorflow_version,
            "tag_sets": self.tag_sets,
            "signatures": {name: sig.to_json() for name, sig in self.signatures.items()},
            "assets": self.assets,
            "assets_extra": self.assets_extra,
            "variables": asdict(self.variables),
            "ops": self.ops,
            "unsafe_ops": self.unsafe_ops,
            "unsafe_op_reasons": self.unsafe_op_reasons,
            "functions": list(self.functions),
            "function_signatures": {path: sig.to_json() for path, sig in self.function_signatures.items()},
            "warmup": self.warmup,
            "example_parses": {name: parse.to_json() for name, parse in self.example_parses.items()},
            "missing_checkpoint": self.missing_checkpoint,
            "object_loader": {
                "revives": self.object_loader_problem is None,
                "problem": self.object_loader_problem,
                "optimizers": [
                    {"path": o.path, "identifier": o.identifier, "slot_variables": o.slot_variables, "variables": o.variables}
                    for o in self.optimizers
                ],
            },
        }


def require_complete(info: ModelInfo) -> None:
    """Refuse to run or rewrite a model whose checkpoint is missing (``inspect`` still reads it).

    Raises:
        ModelSourceError: what is missing, and that the whole folder is needed.
    """
    if info.missing_checkpoint:
        raise ModelSourceError(f"{info.path} is incomplete: {info.missing_checkpoint}")


def unknown_signature_text(name: str, public: list[str]) -> str:
    """The one sentence for a signature a model does not have, with its public signatures
    (internal ones are never a choice).

    Example:
        >>> unknown_signature_text("predict", ["serve", "serving_default"])
        "unknown signature 'predict'; signatures: [serve, serving_default]"
    """
    return f"unknown signature '{name}'; signatures: [{', '.join(public)}]"


def require_signature(info: ModelInfo, name: str) -> SignatureInfo:
    """The public signature ``name`` of the model, for every command that takes one.

    Raises:
        PlanError: no such signature (the valid names listed; internal ones never are), or
            the model has no serving signature at all (what it has instead, and what to do).

    Example:
        >>> from pathlib import Path
        >>> from core.savedmodel.handle import read_model_info
        >>> require_signature(read_model_info(Path("sample_models/house_price")), "predict")
        Traceback (most recent call last):
        core.errors.PlanError: unknown signature 'predict'; signatures: [serve, serving_default]
    """
    public = info.public_signatures
    if name in public:
        return info.signatures[name]
    if public:
        raise PlanError(unknown_signature_text(name, public))
    internal = [signature for signature in info.signatures if signature not in public]
    own = f"only TensorFlow's internal {internal}" if internal else "no SignatureDef at all"
    what = f"{info.path} has no serving signature ({own}); it holds the tag-sets {info.tag_sets}"
    if info.format is ModelFormat.TF1:
        raise PlanError(
            f"{what} and a TF1 graph, which serves only through SignatureDefs naming its input and output "
            "tensors; export it again with a signature_def_map (SavedModelBuilder.add_meta_graph_and_variables)"
        )
    functions = ", ".join(info.functions[:12]) + (f" and {len(info.functions) - 12} more" if len(info.functions) > 12 else "")
    offered = f"the functions {functions} on its object graph" if functions else "no function on its object graph"
    servable = list(info.function_signatures)
    make = f"make one of {servable} a signature with rewrite --from-function PATH, or " if servable else ""
    raise PlanError(
        f"{what} and {offered}; {make}save it again with signatures= "
        "(tf.saved_model.save(model, path, signatures={'serving_default': model.serve}))"
    )


def dtype_name(dtype_enum: int) -> str:
    """TensorFlow's name for a DataType enum value (``1`` → ``float32``; unknown → ``invalid``)."""
    try:
        return tf.dtypes.as_dtype(dtype_enum).name if dtype_enum else "invalid"
    except TypeError:
        return "invalid"


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
        internal=is_internal_signature(name),
        inputs={key: _tensor_spec_info(signature_def.inputs[key]) for key in sorted(signature_def.inputs)},
        outputs={key: _tensor_spec_info(signature_def.outputs[key]) for key in sorted(signature_def.outputs)},
    )
