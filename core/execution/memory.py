"""Give the memory of a model that was just used back to the operating system, and tell an
allocation that the memory cap stopped from any other error.

Example:
    >>> release_memory()
    >>> is_out_of_memory("OOM when allocating tensor with shape[1024,1024,6144]"), is_out_of_memory("bad input")
    (True, False)
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
# What TensorFlow, the C++ runtime and Python say when the cap (RLIMIT_DATA) stops an allocation.
_OUT_OF_MEMORY = ("OOM when allocating", "bad_alloc", "Cannot allocate memory", "MemoryError")


def is_out_of_memory(message: str) -> bool:
    """Whether an error message says an allocation failed."""
    return any(marker in message for marker in _OUT_OF_MEMORY)


def release_memory() -> None:
    """Collect garbage, then hand freed heap pages back to the OS.

    A loaded model sits in reference cycles, and glibc keeps freed blocks for reuse; without
    both steps, verifying a large model holds several copies of its variables at once.
    """
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
