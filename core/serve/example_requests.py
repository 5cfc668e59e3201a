"""TF Serving's ``:classify`` and ``:regress`` REST bodies: ``{"signature_name": ...,
"context": {...}, "examples": [{"feature": value, ...}, ...]}``, each example built into a
serialized ``tf.Example`` for the signature's one Example input (features typed as the model's
ParseExample reads them), and answered as TF Serving answers them: ``{"results": ...}``.

A value is a number, a string, ``{"b64": ...}`` for bytes, or a list of them; the context's
features go into every example.

Example:
    >>> from core.savedmodel.examples import ExampleSpec
    >>> spec = ExampleSpec(dense={"x": ("float32", (1,))})
    >>> example = tf.train.Example.FromString(build_example({"x": 2}, spec))
    >>> example.features.feature["x"].float_list.value[:]
    [2.0]
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import numpy as np

from core._tf import tf
from core.errors import InputDataError
from core.savedmodel.examples import ExampleSpec
from core.savedmodel.proto import CLASSIFY_METHOD, REGRESS_METHOD

_FLOATS = {"float16", "float32", "float64", "bfloat16"}


def _values(name: str, value: Any) -> list[Any]:
    values = value if isinstance(value, list) else [value]
    decoded = []
    for item in values:
        if isinstance(item, dict) and set(item) == {"b64"}:
            try:
                decoded.append(base64.b64decode(item["b64"], validate=True))
            except (binascii.Error, TypeError) as err:
                raise InputDataError(f"feature '{name}': {{\"b64\": ...}} is not base64 ({err})") from err
        elif isinstance(item, (bool, int, float, str)):
            decoded.append(item)
        else:
            raise InputDataError(f"feature '{name}': a value is a number, a string, {{\"b64\": ...}} or a list of them")
    return decoded


def build_example(features: dict[str, Any], spec: ExampleSpec) -> bytes:
    """One serialized ``tf.Example`` of ``features``, each typed as the model reads it (else
    by its JSON type: whole numbers as int64, other numbers as float, text as bytes)."""
    example = tf.train.Example()
    for name, value in features.items():
        values = _values(name, value)
        dtype = spec.dense[name][0] if name in spec.dense else spec.sparse.get(name)
        feature = example.features.feature[name]
        try:
            if dtype == "string" or (dtype is None and all(isinstance(v, (str, bytes)) for v in values)):
                feature.bytes_list.value.extend(v if isinstance(v, bytes) else str(v).encode() for v in values)
            elif dtype in _FLOATS or (dtype is None and any(isinstance(v, float) for v in values)):
                feature.float_list.value.extend(float(v) for v in values)
            else:
                feature.int64_list.value.extend(int(v) for v in values)
        except (TypeError, ValueError) as err:
            raise InputDataError(f"feature '{name}' takes {dtype or 'numbers'}; received {value!r}") from err
    return example.SerializeToString()


def parse_examples_body(body: dict[str, Any], signature: str, example_input: str, spec: ExampleSpec) -> dict[str, np.ndarray]:
    """The feeds of an ``examples`` body for ``signature``, whose input ``example_input`` takes them.

    Raises:
        InputDataError: no examples, an example that is not an object, or a value of the wrong kind.
    """
    examples = body.get("examples")
    context = body.get("context", {})
    if not isinstance(examples, list) or not examples or not all(isinstance(e, dict) for e in examples):
        raise InputDataError('"examples" must be a non-empty list of objects, feature name → value')
    if not isinstance(context, dict):
        raise InputDataError('"context" must be an object, feature name → value, shared by every example')
    serialized = [build_example({**context, **example}, spec) for example in examples]
    return {example_input: np.array(serialized, dtype=object)}


def examples_response(outputs: dict[str, np.ndarray], method: str) -> dict[str, Any]:
    """Answer as TF Serving's ``:classify`` (per example, ``[label, score]`` pairs) or
    ``:regress`` (per example, its value) does.

    Example:
        >>> examples_response({"outputs": np.array([[2.5], [3.0]], np.float32)}, REGRESS_METHOD)
        {'results': [2.5, 3.0]}
    """
    if method == REGRESS_METHOD:
        return {"results": [float(np.ravel(row)[0]) for row in outputs["outputs"]]}
    scores = outputs.get("scores")
    classes = outputs.get("classes")
    rows = len(scores if scores is not None else classes)
    results = []
    for row in range(rows):
        labels = [v.decode() if isinstance(v, bytes) else str(v) for v in np.ravel(classes[row])] if classes is not None else None
        values = [float(v) for v in np.ravel(scores[row])] if scores is not None else None
        count = len(labels if labels is not None else values)
        results.append([[labels[i] if labels else "", values[i] if values else 0.0] for i in range(count)])
    return {"results": results}


def examples_body_text(signature: str, spec: ExampleSpec) -> str:
    """A ``:classify``/``:regress`` body for ``signature`` with a value for every feature, as text.

    Example:
        >>> examples_body_text("classify_x_to_y", ExampleSpec(dense={"x": ("float32", (1,))}))
        '{"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}]}'
    """

    def value(dtype: str) -> Any:
        return "text" if dtype == "string" else (1.0 if dtype in _FLOATS else 1)

    features = {name: value(dtype) for name, (dtype, _) in spec.dense.items()}
    features.update({name: [value(dtype)] for name, dtype in spec.sparse.items()})
    return json.dumps({"signature_name": signature, "examples": [features]})


def takes_examples_body(method: str) -> bool:
    """Whether TF Serving answers this signature's method on ``:classify``/``:regress``."""
    return method in (CLASSIFY_METHOD, REGRESS_METHOD)
