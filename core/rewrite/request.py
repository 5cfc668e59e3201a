"""What a user asks of a rewrite, and the one builder every front end uses to ask it.

The CLI parses its flags and the Edit page reads its widgets; both hand the pieces to
``build_request``, which applies the same rules: surrounding spaces are dropped, an empty
key or name means "none", an empty output name for a forwarded input means "its own name",
and renaming something to an empty name (or to its own name) is no rename.

Example:
    >>> request = build_request(key=" instance_key ", forwards={"rooms": ""}, rename_outputs={"output_0": ""})
    >>> request.key, request.forwards, request.rename_outputs
    ('instance_key', (Forward(input='rooms', output='rooms'),), ())
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_SIGNATURE = "serving_default"
DEFAULT_KEEP_ORIGINAL = "unkeyed"
RESULT_NAME_SUFFIX = "_keyed"
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
NAME_RULE = "a letter or underscore, then up to 127 letters, digits or underscores"
NOTHING_TO_DO = (
    "the plan changes nothing; choose at least one of a key, forwarded inputs, output or input renames, "
    "input casts, a new signature name, signatures to drop or to rename, dropping the optimizer state, "
    "or writing TF Serving warmup requests"
)


class KeyDtype(StrEnum):
    """The dtypes an instance key may have."""

    STRING = "string"
    INT64 = "int64"
    INT32 = "int32"


@dataclass(frozen=True)
class Forward:
    """Forward the base input ``input`` to the output ``output``."""

    input: str
    output: str


@dataclass(frozen=True)
class RewriteRequest:
    """What the user asks for; ``plan_rewrite`` checks it against a model.

    ``result_name`` None (or the base's own name) replaces the base signature;
    ``keep_original`` then keeps the untouched base under that name.
    """

    signature: str = DEFAULT_SIGNATURE
    key: str | None = None
    key_dtype: KeyDtype = KeyDtype.STRING
    forwards: tuple[Forward, ...] = ()
    rename_outputs: tuple[tuple[str, str], ...] = ()
    rename_inputs: tuple[tuple[str, str], ...] = ()
    cast_inputs: tuple[tuple[str, str], ...] = ()
    result_name: str | None = None
    keep_original: str | None = None
    drop: tuple[str, ...] = ()
    rename_signatures: tuple[tuple[str, str], ...] = ()
    drop_optimizer: bool = False
    # Serve this function of the object graph (a path such as ``serve``) as the new signature,
    # named ``result_name`` (else ``signature``), instead of rewriting an existing signature.
    from_function: str | None = None
    # Take each feature the base's tf.Example parse reads as a tensor, in place of the Examples.
    raw_features: bool = False

    def to_dict(self) -> dict:
        """Plain data (for a worker process), read back by ``from_dict``."""
        return {
            "signature": self.signature,
            "key": self.key,
            "key_dtype": self.key_dtype.value,
            "forwards": [[forward.input, forward.output] for forward in self.forwards],
            "rename_outputs": [list(pair) for pair in self.rename_outputs],
            "rename_inputs": [list(pair) for pair in self.rename_inputs],
            "cast_inputs": [list(pair) for pair in self.cast_inputs],
            "result_name": self.result_name,
            "keep_original": self.keep_original,
            "drop": list(self.drop),
            "rename_signatures": [list(pair) for pair in self.rename_signatures],
            "drop_optimizer": self.drop_optimizer,
            "from_function": self.from_function,
            "raw_features": self.raw_features,
        }

    @classmethod
    def from_dict(cls, data: dict) -> RewriteRequest:
        """The request ``to_dict`` wrote.

        Example:
            >>> request = RewriteRequest(key="k", forwards=(Forward("a", "b"),), rename_outputs=(("x", "y"),))
            >>> RewriteRequest.from_dict(request.to_dict()) == request
            True
        """
        return cls(
            signature=data["signature"],
            key=data["key"],
            key_dtype=KeyDtype(data["key_dtype"]),
            forwards=tuple(Forward(*pair) for pair in data["forwards"]),
            rename_outputs=tuple(tuple(pair) for pair in data["rename_outputs"]),
            rename_inputs=tuple(tuple(pair) for pair in data.get("rename_inputs", ())),
            cast_inputs=tuple(tuple(pair) for pair in data.get("cast_inputs", ())),
            result_name=data["result_name"],
            keep_original=data["keep_original"],
            drop=tuple(data["drop"]),
            rename_signatures=tuple(tuple(pair) for pair in data["rename_signatures"]),
            drop_optimizer=bool(data.get("drop_optimizer", False)),
            from_function=data.get("from_function"),
            raw_features=bool(data.get("raw_features", False)),
        )

    @property
    def rewrites_signature(self) -> bool:
        """True when the base signature itself changes (a key, forwards, renamed outputs or
        inputs, cast inputs, a new name); False when only other signatures or the model's
        optimizer state change, and the base is kept as it is."""
        new_name = self.result_name not in (None, self.signature)
        changes = self.key or self.forwards or self.rename_outputs or self.rename_inputs or self.cast_inputs
        changes = changes or self.from_function or self.raw_features
        return bool(changes or new_name)

    @property
    def replaces_base(self) -> bool:
        """Whether the result takes the base signature's place. A function's result never does;
        a raw-feature result goes beside its base unless named as it or the original is kept."""
        if self.from_function:
            return False
        if self.raw_features:
            return self.result_name == self.signature or (self.result_name is None and self.keep_original is not None)
        return self.result_name in (None, self.signature)

    @property
    def changes_nothing(self) -> bool:
        """True when nothing is asked (keeping the original alone changes nothing)."""
        return not (self.rewrites_signature or self.drop or self.rename_signatures or self.drop_optimizer)


Pairs = Mapping[str, str] | Iterable[tuple[str, str]]


def _pairs(pairs: Pairs) -> list[tuple[str, str]]:
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return [(str(old).strip(), str(new).strip()) for old, new in items]


def _optional(text: str | None) -> str | None:
    return (text or "").strip() or None


def _renames(pairs: Pairs) -> tuple[tuple[str, str], ...]:
    return tuple((old, new) for old, new in _pairs(pairs) if new and new != old)


def build_request(
    *,
    signature: str = DEFAULT_SIGNATURE,
    key: str | None = None,
    key_dtype: KeyDtype | str = KeyDtype.STRING,
    forwards: Pairs = (),
    rename_outputs: Pairs = (),
    rename_inputs: Pairs = (),
    cast_inputs: Pairs = (),
    result_name: str | None = None,
    keep_original: str | None = None,
    drop: Iterable[str] = (),
    rename_signatures: Pairs = (),
    drop_optimizer: bool = False,
    from_function: str | None = None,
    raw_features: bool = False,
) -> RewriteRequest:
    """Turn what a front end collected into a ``RewriteRequest``, the same way for all of them.

    Args:
        forwards: input → output name (empty: the input's own name).
        rename_outputs, rename_inputs, rename_signatures: old → new name (empty or unchanged: no rename).
        cast_inputs: input → the dtype clients send it in (empty: no cast; the input's own dtype
            is no cast either, which ``plan_rewrite`` sees).
        result_name: a new signature name for the result (empty or the base's name: replace it;
            with ``raw_features``, empty adds the result beside the base, and the base's name replaces it).

    Raises:
        ValueError: ``key_dtype`` is not one of ``KeyDtype``.
    """
    signature = signature.strip()
    result = _optional(result_name)
    return RewriteRequest(
        signature=signature,
        key=_optional(key),
        key_dtype=KeyDtype(key_dtype),
        forwards=tuple(Forward(name, output or name) for name, output in _pairs(forwards) if name),
        rename_outputs=_renames(rename_outputs),
        rename_inputs=_renames(rename_inputs),
        cast_inputs=tuple((name, dtype) for name, dtype in _pairs(cast_inputs) if name and dtype),
        result_name=None if result == signature and not raw_features else result,
        keep_original=_optional(keep_original),
        drop=tuple(name.strip() for name in drop if name.strip()),
        rename_signatures=_renames(rename_signatures),
        drop_optimizer=drop_optimizer,
        from_function=_optional(from_function),
        raw_features=raw_features,
    )


def default_result_name(base: str) -> str:
    """The name offered for a result added beside its base (``serving_default_keyed``)."""
    return f"{base}{RESULT_NAME_SUFFIX}"


def is_valid_name(name: str) -> bool:
    """True for names that signatures, inputs and outputs may have (see ``NAME_RULE``)."""
    return NAME_PATTERN.fullmatch(name) is not None
