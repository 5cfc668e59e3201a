"""Give the memory of a model that was just used back to the operating system.

Example:
    >>> release_memory()
"""

from __future__ import annotations

import ctypes
import gc


def _load_libc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - present in glibc only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


def release_memory() -> None:
    """Collect garbage, then hand freed heap pages back to the OS.

    A loaded model sits in reference cycles, and glibc keeps freed blocks for reuse; without
    both steps, verifying a large model holds several copies of its variables at once.
    """
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
