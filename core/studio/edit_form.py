"""The Edit page's choices that outlive a widget: which inputs are forwarded, and as what.

Streamlit forgets a widget's value once it is not drawn, and a filter hides inputs; so the
ticks live here, one selection per model (content digest) and base signature. Loading
another model never carries a tick over, because its digest differs.

Example:
    >>> choices = ForwardChoices()
    >>> selection = choices.selection("digest-of-model", "serving_default")
    >>> selection.tick("rooms"); selection.rename("rooms", "rooms_seen"); selection.tick("tax_rate")
    >>> selection.pairs()
    [('rooms', 'rooms_seen'), ('tax_rate', 'tax_rate')]
    >>> choices.selection("digest-of-another-model", "serving_default").pairs()
    []
"""

from __future__ import annotations


class ForwardSelection:
    """Input → output name for the inputs ticked on one base signature of one model."""

    def __init__(self) -> None:
        self._outputs: dict[str, str] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._outputs

    def output_name(self, name: str) -> str:
        return self._outputs.get(name, name)

    def tick(self, name: str) -> None:
        self._outputs.setdefault(name, name)

    def untick(self, name: str) -> None:
        self._outputs.pop(name, None)

    def set_ticked(self, name: str, ticked: bool) -> None:
        if ticked:
            self.tick(name)
        else:
            self.untick(name)

    def rename(self, name: str, output: str) -> None:
        """Forward ``name`` as ``output`` (an empty name means its own name)."""
        self._outputs[name] = output.strip()

    def tick_all(self, names: list[str]) -> None:
        for name in names:
            self.tick(name)

    def clear(self) -> None:
        self._outputs.clear()

    def pairs(self) -> list[tuple[str, str]]:
        """(input, output name) in the order they were ticked, for ``build_request``."""
        return list(self._outputs.items())


class ForwardChoices:
    """Every ``ForwardSelection`` of a session, keyed by model digest and base signature."""

    def __init__(self) -> None:
        self._selections: dict[tuple[str, str], ForwardSelection] = {}

    def selection(self, digest: str, signature: str) -> ForwardSelection:
        return self._selections.setdefault((digest, signature), ForwardSelection())


def filter_names(names: list[str], text: str) -> list[str]:
    """The names containing ``text`` (case-insensitive); all of them for an empty filter."""
    needle = text.strip().lower()
    return [name for name in names if needle in name.lower()]
