"""Small pieces the engines use when they write ``saved_model.pb`` themselves: graph nodes
with safe unique names, op definitions, the SignatureDef map, writing the edited model beside
its other files, the fingerprint.

Example:
    >>> from tensorflow.core.protobuf import meta_graph_pb2
    >>> original = meta_graph_pb2.SignatureDef(method_name="tensorflow/serving/predict")
    >>> copy = copy_message(original)
    >>> copy == original and copy is not original
    True
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from core.savedmodel.proto import FINGERPRINT_PB, SAVED_MODEL_PB, SAVED_MODEL_PBTXT, is_internal_signature


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


NODE_SCOPE = "signature_studio"
# What TensorFlow accepts in a node name after its first character; anything else becomes "_".
_NODE_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9_.\-/]")


def node_scope(signature: str) -> str:
    """The name scope of the nodes added for ``signature``; a signature's name may be any
    text (``sérvïng_日本``), a node's may not.

    Example:
        >>> node_scope("sérvïng_日本")
        'signature_studio/s_rv_ng___'
    """
    return f"{NODE_SCOPE}/{_NODE_NAME_CHARACTER.sub('_', signature)}"


def node_input(tensor_name: str) -> str:
    """The NodeDef input string for a tensor name (``x:0`` → ``x``, ``x:1`` → ``x:1``)."""
    node, _, index = tensor_name.partition(":")
    return node if index in ("", "0") else tensor_name


def _unique_node_name(wanted: str, taken: set[str]) -> str:
    name = wanted
    suffix = 1
    while name in taken:
        name = f"{wanted}_{suffix}"
        suffix += 1
    taken.add(name)
    return name


def add_node(graph_def: Any, taken: set[str], name: str, op: str, inputs: list[str], attrs: dict[str, Any]) -> str:
    node = graph_def.node.add()
    node.name = _unique_node_name(name, taken)
    node.op = op
    node.input.extend(inputs)
    for key, value in attrs.items():
        node.attr[key].CopyFrom(value)
    return node.name


def add_placeholder(graph_def: Any, taken: set[str], name: str, dtype: Any, shape: Any, info: Any) -> None:
    """Add a ``Placeholder`` node of ``dtype`` (a ``tf.DType``) and ``shape`` (a
    ``TensorShapeProto``) and describe it in the SignatureDef's TensorInfo ``info``."""
    from core._tf import tf

    placeholder = add_node(
        graph_def, taken, name, "Placeholder", [],
        {"dtype": tf.compat.v1.AttrValue(type=dtype.as_datatype_enum), "shape": tf.compat.v1.AttrValue(shape=shape)},
    )  # fmt: skip
    info.name, info.dtype = f"{placeholder}:0", dtype.as_datatype_enum
    info.tensor_shape.CopyFrom(shape)


def ensure_op_defs(meta_graph: Any, ops: list[str]) -> None:
    """Add the OpDefs of new ops to a stripped op list, as the SavedModel writer would."""
    from tensorflow.python.framework import op_def_registry

    if not meta_graph.meta_info_def.HasField("stripped_op_list"):
        return
    present = {op.name for op in meta_graph.meta_info_def.stripped_op_list.op}
    for op in ops:
        if op not in present:
            meta_graph.meta_info_def.stripped_op_list.op.add().CopyFrom(op_def_registry.get(op))
