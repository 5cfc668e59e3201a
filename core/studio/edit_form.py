"""The Edit page's form without Streamlit: the values its widgets start from (the model's last
draft), the ways a result is written, and which inputs are forwarded, and as what.

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
    >>> form = EditDefaults.from_draft(RewriteRequest(key="id", result_name="keyed"), "serving_default")
    >>> form.key, form.result_mode.label("serving_default"), form.result_name
    ('id', 'Add under a new name', 'keyed')
    >>> raw = EditDefaults.from_draft(RewriteRequest(signature="classify", raw_features=True), "classify", raw_features=True)
    >>> raw.result_mode.value, raw.result_name, raw.keep_original_name
    ('add', 'classify_raw', 'classify_examples')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from core.rewrite.input_edits import CASTABLE_DTYPES
from core.rewrite.raw_features import default_raw_name, raw_feature_signature
from core.rewrite.request import DEFAULT_KEEP_ORIGINAL, DEFAULT_SIGNATURE, KeyDtype, RewriteRequest, default_result_name
from core.savedmodel.info import ModelInfo, SignatureInfo

EXAMPLES_KEPT_SUFFIX = "_examples"


class ResultMode(StrEnum):
    """Where the result goes: in place of the base signature, or beside it under a new name."""

    REPLACE = "replace"
    ADD = "add"

    def label(self, base_name: str) -> str:
        """The words a choice shows: ``Replace 'serving_default'``, ``Add under a new name``."""
        return f"Replace '{base_name}'" if self is ResultMode.REPLACE else "Add under a new name"


def dtype_choices(dtype: str) -> list[str]:
    """The dtypes an input of ``dtype`` may be taken in: its own first, then every other
    number dtype for a number input (a string or bool input keeps its own).

    Example:
        >>> dtype_choices("string"), dtype_choices("float32")[:3]
        (['string'], ['float32', 'int8', 'int16'])
    """
    if dtype not in CASTABLE_DTYPES:
        return [dtype]
    return [dtype, *(other for other in CASTABLE_DTYPES if other != dtype)]


def base_signature_default(draft: RewriteRequest | None, public: list[str]) -> str:
    """The base the form starts on (a signature, or for a model without one a function): the
    draft's, else ``serving_default``, else the first."""
    wanted = (draft.from_function or draft.signature) if draft is not None else DEFAULT_SIGNATURE
    return wanted if wanted in public else public[0]


@dataclass(frozen=True)
class EditDefaults:
    """The values the form's widgets start from for one base signature: the model's last draft
    on that base, else a fresh form (no key; replace the base and keep the original, or for raw
    features add the result beside the base, as ``rewrite --raw-features`` does)."""

    key: str = ""
    key_dtype: KeyDtype = KeyDtype.STRING
    rename_outputs: dict[str, str] = field(default_factory=dict)
    rename_inputs: dict[str, str] = field(default_factory=dict)
    cast_inputs: dict[str, str] = field(default_factory=dict)
    result_mode: ResultMode = ResultMode.REPLACE
    result_name: str = ""
    keep_original: bool = True
    keep_original_name: str = DEFAULT_KEEP_ORIGINAL
    drop: tuple[str, ...] = ()
    rename_signatures: dict[str, str] = field(default_factory=dict)
    drop_optimizer: bool = False
    raw_features: bool = False

    @classmethod
    def from_draft(cls, draft: RewriteRequest | None, base_name: str, *, raw_features: bool | None = None) -> EditDefaults:
        """The defaults from ``draft`` when it was made on ``base_name`` (another base starts
        afresh); ``raw_features`` (None: the draft's) is whether the form takes the base's
        tf.Example features as tensors, which changes the names offered for the result."""
        same_base = draft is not None and (draft.from_function or draft.signature) == base_name
        raw = (same_base and draft.raw_features) if raw_features is None else raw_features
        fresh_name = default_raw_name(base_name) if raw else default_result_name(base_name)
        kept_name = f"{base_name}{EXAMPLES_KEPT_SUFFIX}" if raw else DEFAULT_KEEP_ORIGINAL
        if not same_base:
            return cls(result_name=fresh_name, keep_original_name=kept_name, raw_features=raw,
                       result_mode=ResultMode.ADD if raw else ResultMode.REPLACE)  # fmt: skip
        same_kind = draft.raw_features == raw  # where the result goes means another thing once raw is switched
        adding = not draft.replaces_base if same_kind else raw
        return cls(
            key=draft.key or "",
            key_dtype=KeyDtype(draft.key_dtype),
            rename_outputs=dict(draft.rename_outputs),
            rename_inputs=dict(draft.rename_inputs),
            cast_inputs=dict(draft.cast_inputs),
            result_mode=ResultMode.ADD if adding else ResultMode.REPLACE,
            result_name=(draft.result_name if same_kind and adding and draft.result_name else fresh_name),
            keep_original=draft.keep_original is not None if same_kind and not adding else True,  # replacing keeps it first
            keep_original_name=draft.keep_original if same_kind and draft.keep_original else kept_name,
            drop=tuple(draft.drop),
            rename_signatures=dict(draft.rename_signatures),
            drop_optimizer=draft.drop_optimizer,
            raw_features=raw,
        )


def form_base(info: ModelInfo, base_name: str, *, raw_features: bool = False) -> SignatureInfo:
    """The signature the form's tensors are chosen on: the base, or with ``raw_features`` the
    base taking its parsed tf.Example features (a signature without a usable parse stays itself)."""
    base = info.signatures.get(base_name) or info.function_signatures[base_name]
    parse = info.example_parses.get(base_name)
    if not raw_features or parse is None or parse.problem:
        return base
    return raw_feature_signature(base, parse)


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
    """Every ``ForwardSelection`` of a session, keyed by model digest and base signature (a
    base taken as raw features has inputs of its own, so a selection of its own)."""

    def __init__(self) -> None:
        self._selections: dict[tuple[str, str, bool], ForwardSelection] = {}

    def selection(self, digest: str, signature: str, *, raw_features: bool = False) -> ForwardSelection:
        return self._selections.setdefault((digest, signature, raw_features), ForwardSelection())


def filter_names(names: list[str], text: str) -> list[str]:
    """The names containing ``text`` (case-insensitive); all of them for an empty filter."""
    needle = text.strip().lower()
    return [name for name in names if needle in name.lower()]
