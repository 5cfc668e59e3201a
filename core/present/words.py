"""The words and marks every front end uses for the same things: shapes, sizes, changes.

Example:
    >>> shape_text((-1, 28, 28)), shape_text(None), format_bytes(1536)
    ('[-1, 28, 28]', 'unknown rank', '1.5 KiB')
"""

from __future__ import annotations

import re

from core.savedmodel.diff import Change
from core.savedmodel.info import ModelInfo
from core.savedmodel.ops import unsafe_ops_text

CHANGE_MARKERS = {
    Change.ADDED: "+ added",
    Change.REMOVED: "- removed",
    Change.CHANGED: "~ changed",
    Change.RENAMED: "> renamed",
    Change.TENSOR_RENAMED: ". tensor renamed",
    Change.UNCHANGED: "",
}

SHAPE_HELP = (
    "-1 is a dimension of any size (the first one is the batch: one entry per row); 'unknown rank' means any number of dimensions"
)


def shape_text(shape: tuple[int, ...] | None) -> str:
    """``[-1, 1]``, or ``unknown rank``."""
    return "unknown rank" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]"


def unsafe_ops_warning(info: ModelInfo, consequence: str) -> str:
    """The warning a page shows for a model with unsafe ops: each op and why, then what running
    it means there (``consequence``: ``"Apply runs it to rewrite and verify it."``)."""
    return f"This model uses unsafe ops: {unsafe_ops_text(info)}. {consequence}"


def format_bytes(count: int) -> str:
    """``1.5 MiB``-style sizes."""
    size = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} bytes"


# The characters that start Markdown (or Streamlit's math and tables) inside a sentence.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#$~|])")


def escape_markdown(text: str) -> str:
    r"""``text`` as Markdown that shows it as it is (a name rule keeps its underscores).

    Example:
        >>> print(escape_markdown("a letter or '_' then *more*"))
        a letter or '\_' then \*more\*
    """
    return _MARKDOWN.sub(r"\\\1", text)
