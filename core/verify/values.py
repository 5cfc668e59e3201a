"""How verification compares two outputs: bit for bit, or, across the two loaders, within
float rounding (their optimisers fuse float ops differently on the same graph).

Example:
    >>> import numpy as np
    >>> identical(np.float32([1.0]), np.float32([1.0])), identical(np.float32([1.0]), np.float64([1.0]))
    (True, False)
"""

from __future__ import annotations

from typing import Any

import numpy as np


def identical(a: Any, b: Any) -> bool:
    """True when two arrays have the same dtype, shape and bytes (NaN-safe, bit for bit)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return a.tolist() == b.tolist()
    return a.tobytes() == b.tobytes()


# How far tf.saved_model.load may round from the session loader on the same graph (their
# optimisers fuse float ops differently), when only the session loader can run the original.
CROSS_LOADER_RTOL = 1e-5
CROSS_LOADER_ATOL = 1e-6


def rounding_difference(expected: Any, got: Any) -> str | None:
    """How ``got`` differs from ``expected`` when it differs only by float rounding
    (``'2 of 3 values, by at most 5.96e-08'``), or None when the difference is more than that.

    Example:
        >>> rounding_difference(np.float32([1.0, 2.0]), np.float32([1.0, 2.0000002]))
        '1 of 2 values, by at most 2.38e-07'
    """
    expected, got = np.asarray(expected), np.asarray(got)
    if expected.dtype != got.dtype or expected.shape != got.shape or not np.issubdtype(expected.dtype, np.floating):
        return None
    same_nan = np.isnan(expected) == np.isnan(got)
    if not same_nan.all() or not np.allclose(expected, got, rtol=CROSS_LOADER_RTOL, atol=CROSS_LOADER_ATOL, equal_nan=True):
        return None
    finite = ~np.isnan(expected)
    gaps = np.abs(expected[finite].astype(np.float64) - got[finite].astype(np.float64))
    return f"{int((gaps > 0).sum())} of {expected.size} values, by at most {gaps.max(initial=0.0):.3g}"
