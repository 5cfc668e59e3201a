"""How ``python -m core`` ends: its exit codes, and the one ``error: ...`` line it prints.

Example:
    >>> from core.errors import UnsafeModelError
    >>> print(error_line(UnsafeModelError("m uses unsafe ops (ReadFile)")))
    error: m uses unsafe ops (ReadFile); pass --allow-unsafe-ops to run it anyway
"""

from __future__ import annotations

from core.errors import OutputError, StudioError, UnsafeModelError

EXIT_OK = 0
EXIT_VERIFICATION_FAILED = 1
EXIT_PIPELINE_FAILED = 1
EXIT_BAD_INPUT = 2


def one_line(text: str) -> str:
    r"""``text`` with line breaks and other control characters written as escapes, so a name
    that holds one never splits the one ``error:`` line.

    Example:
        >>> print(one_line("key name 'a\nb' is not valid"))
        key name 'a\nb' is not valid
    """
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


def error_line(err: StudioError) -> str:
    """The one ``error: ...`` line for ``err``, in the CLI's words."""
    text = one_line(str(err))
    if isinstance(err, OutputError) and err.needs_overwrite:
        text += "; pass --overwrite to replace it or choose another destination"
    if isinstance(err, UnsafeModelError):
        text += "; pass --allow-unsafe-ops to run it anyway"
    return f"error: {text}"
