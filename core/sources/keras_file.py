"""Keras files (``.keras``, ``.h5``): read their configuration before Keras deserialises anything,
then export them to a SavedModel inside a worker.

Deserialising a Keras file runs code: ``Lambda`` layers carry Python bytecode, and a config may
name any module's class (Keras' ``safe_mode`` has had bypasses). So the configuration is read as
plain JSON first — from ``config.json`` in a ``.keras`` zip, from the ``model_config`` attribute
of an ``.h5`` file — and a file with Lambda layers or classes from outside Keras is refused
unless the user allows unsafe code; the export itself runs sandboxed either way.

Example:
    >>> import io, json, zipfile, tempfile
    >>> config = {"class_name": "Sequential", "module": "keras", "config": {"layers": [
    ...     {"class_name": "Lambda", "module": "keras.layers", "config": {"function": "..."}}]}}
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     path = Path(scratch, "m.keras")
    ...     with zipfile.ZipFile(path, "w") as zf:
    ...         zf.writestr("config.json", json.dumps(config))
    ...     scan_keras_file(path, "m.keras")
    {'Lambda': 'a Lambda layer carries Python code, which Keras would run when it loads the file'}
"""

from __future__ import annotations

import json
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import Any

from core.errors import ModelSourceError, UnsafeModelError, describe
from core.execution.pool import Scope

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
KERAS_MODULES = ("keras", "keras.", "tf_keras", "tensorflow.keras")
_LAMBDA = "a Lambda layer carries Python code, which Keras would run when it loads the file"


def check_keras_file(keras_file: Path, display: str) -> None:
    """Refuse a file that cannot be a Keras model before anything reads it further.

    Raises:
        ModelSourceError: a ``.keras`` file that is not a zip archive, or an ``.h5`` file that
            is not HDF5.
    """
    if keras_file.name.lower().endswith(".keras"):
        if not zipfile.is_zipfile(keras_file):
            raise ModelSourceError(f"{display} is not a Keras file: a .keras file is the zip archive that model.save() writes")
        return
    with open(keras_file, "rb") as handle:
        if handle.read(len(HDF5_SIGNATURE)) != HDF5_SIGNATURE:
            raise ModelSourceError(f"{display} is not a Keras file: an .h5 file is the HDF5 file that model.save() writes")


def _read_config(keras_file: Path, display: str) -> Any:
    try:
        if keras_file.name.lower().endswith(".keras"):
            with zipfile.ZipFile(keras_file) as zf:
                return json.loads(zf.read("config.json"))
        import h5py

        with h5py.File(keras_file, "r") as h5:
            text = h5.attrs.get("model_config")
            if text is None:
                raise KeyError("model_config")
            return json.loads(text.decode() if isinstance(text, bytes) else text)
    except (KeyError, OSError, ValueError, zipfile.BadZipFile) as err:
        raise ModelSourceError(f"{display}: its Keras configuration cannot be read ({describe(err)})") from err


def _walk(config: Any, found: dict[str, str]) -> None:
    if isinstance(config, list):
        for item in config:
            _walk(item, found)
        return
    if not isinstance(config, dict):
        return
    class_name, module = config.get("class_name"), config.get("module")
    if class_name == "Lambda":
        found["Lambda"] = _LAMBDA
    elif isinstance(class_name, str) and isinstance(module, str) and not module.startswith(KERAS_MODULES):
        found[f"{module}.{class_name}"] = f"a class from outside Keras ({module}), whose code would run when the file loads"
    elif isinstance(config.get("registered_name"), str) and "Custom>" in config["registered_name"]:
        found[config["registered_name"]] = "a custom object registered outside Keras, whose code would run when the file loads"
    for value in config.values():
        _walk(value, found)


def scan_keras_file(keras_file: Path, display: str) -> dict[str, str]:
    """What in the file's configuration would run code when Keras loads it: name → why.

    Raises:
        ModelSourceError: not a Keras file, or its configuration cannot be read.
    """
    check_keras_file(keras_file, display)
    found: dict[str, str] = {}
    _walk(_read_config(keras_file, display), found)
    return dict(sorted(found.items()))


def export_keras_call(keras_file: str, output_name: str, safe_mode: bool) -> str:
    """In a worker: load the Keras file and export it as a SavedModel into ``output_name``."""
    import keras

    target = Path.cwd() / output_name
    names = {keras_file: Path(keras_file).name}
    try:
        model = keras.saving.load_model(keras_file, safe_mode=safe_mode, compile=False)
    except Exception as err:  # Keras raises many unrelated types for a bad file
        raise ModelSourceError(
            f"Keras cannot load it with safe_mode {'on' if safe_mode else 'off'} ({describe(err, names=names)})"
        ) from err
    try:
        model.export(str(target), format="tf_saved_model", verbose=False)
    except Exception as err:  # export traces the model; any layer may fail
        raise ModelSourceError(
            f"the Keras model loaded but could not be exported as a SavedModel ({describe(err, names=names)})"
        ) from err
    return output_name


def export_keras(
    keras_file: Path, target: Path, display: str, *, allow_unsafe_code: bool = False, scope: Scope | None = None
) -> None:
    """Export ``keras_file`` into the new folder ``target``, in a worker.

    Raises:
        UnsafeModelError: the configuration holds Lambda layers or classes from outside Keras
            and ``allow_unsafe_code`` is off (nothing was deserialised).
        ModelSourceError: not a Keras file, or Keras cannot load or export it.
    """
    unsafe = scan_keras_file(keras_file, display)
    if unsafe and not allow_unsafe_code:
        listed = "; ".join(f"{name}: {reason}" for name, reason in unsafe.items())
        raise UnsafeModelError(f"{display} holds code that loading would run ({listed}); it loads only when you allow unsafe ops")
    if scope is None or not scope.covers(keras_file):
        scope = Scope.of(keras_file, scratch_parent=target.parent)  # the worker reads this one file

    def collect(output_name: str, scratch: Path) -> None:
        shutil.move(str(scratch / output_name), str(target))

    try:
        scope.call(
            "export_keras",
            keras_file=str(keras_file.resolve()),
            output_name=f"keras-{uuid.uuid4().hex}",
            safe_mode=not unsafe,
            collect=collect,
        )
    except ModelSourceError as err:
        raise ModelSourceError(f"{display}: {err}") from err
