"""The two ways a SavedModel is loaded for serving, named without importing TensorFlow (a
verification report and a page name them too).

Example:
    >>> [loader.value for loader in Loader]
    ['tf.saved_model.load', 'tf.compat.v1 session loader']
"""

from __future__ import annotations

from enum import StrEnum


class Loader(StrEnum):
    """The two ways a SavedModel is loaded for serving."""

    OBJECT = "tf.saved_model.load"
    SESSION = "tf.compat.v1 session loader"
