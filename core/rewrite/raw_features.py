"""A raw-feature base: what a signature that parses serialized ``tf.Example``\\s would be if it
took each parsed feature as a tensor (``rewrite --raw-features``).

The plan then builds on it as on any base (a key, forwards, renames, casts), and the result is
added beside the original (``<signature>_raw`` unless named). Fed directly, no parse runs, so a
feature's default in the parse no longer applies: clients send every feature, and the plan
says which defaults they must now fill in themselves.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_model_info
    >>> info = read_model_info(Path("sample_models/tf1_half_plus_two/00000123"))
    >>> base, parse, notes = raw_feature_base(info, info.signatures["classify_x_to_y"], RewriteRequest(raw_features=True))
    >>> base.method_name, sorted(base.inputs), sorted(base.outputs)
    ('tensorflow/serving/predict', ['x'], ['classes', 'scores'])
"""

from __future__ import annotations

from dataclasses import replace

from core.errors import PlanError
from core.rewrite.input_edits import choices_text
from core.rewrite.request import NAME_RULE, RewriteRequest, is_valid_name
from core.savedmodel.example_parse import ExampleParse
from core.savedmodel.functions import InputHints
from core.savedmodel.info import ModelInfo, SignatureInfo, TensorSpecInfo
from core.savedmodel.proto import PREDICT_METHOD

RAW_NAME_SUFFIX = "_raw"


def default_raw_name(signature: str) -> str:
    """The name a raw-feature signature gets beside its original: ``serving_default_raw``."""
    return f"{signature}{RAW_NAME_SUFFIX}"


def base_hints(plan_parse: ExampleParse | None, hints: InputHints) -> InputHints:
    """What rows for a base may look like: a raw-feature base's var-len features one value per
    example, as the optional scalar features of estimator and TFX exports carry them."""
    if plan_parse is None:
        return hints
    return replace(hints, var_len=frozenset(feature.name for feature in plan_parse.features if feature.sparse))


def example_signatures(info: ModelInfo) -> list[str]:
    """The public signatures a raw-feature signature can be made of."""
    return [name for name in info.public_signatures if name in info.example_parses and not info.example_parses[name].problem]


def raw_feature_base(
    info: ModelInfo, original: SignatureInfo, request: RewriteRequest
) -> tuple[SignatureInfo, ExampleParse, list[str]]:
    """The base signature with its serialized-Example input replaced by the parsed features,
    the parse, and the plan's notes.

    Raises:
        PlanError: a function, not a signature; the signature parses no Examples (the ones that
            do), or parses them in a way a raw-feature signature cannot serve (why); a feature
            whose name is not a valid input name and is not renamed to one.
    """
    if request.from_function:
        raise PlanError(
            "--raw-features replaces a signature's serialized tf.Example input; a function served with --from-function "
            "has no such input: choose one or the other"
        )
    parse = info.example_parses.get(original.name)
    if parse is None:
        can = example_signatures(info)
        raise PlanError(
            f"signature '{original.name}' parses no tf.Example (no ParseExample op reads its inputs), so it has no raw "
            f"features; signatures that parse tf.Example: {choices_text(can) if can else 'none'}"
        )
    if parse.problem:
        can = example_signatures(info)
        raise PlanError(
            f"cannot make a raw-feature signature of '{original.name}': {parse.problem}; "
            f"signatures one can be made of: {choices_text(can) if can else 'none'}"
        )
    renamed = dict(request.rename_inputs)
    problems = []
    for feature in parse.features:
        if feature.name in original.inputs and feature.name != parse.example_input:
            problems.append(
                f"feature '{feature.name}' has the name of another input of '{original.name}'; "
                f"inputs: {choices_text(original.inputs)}"
            )
        elif not is_valid_name(renamed.get(feature.name, feature.name)):
            problems.append(
                f"feature '{feature.name}' is not a valid input name ({NAME_RULE}): give it one "
                f"(--rename-input {feature.name}:NEW_NAME, or its name box on the Edit page)"
            )
    if problems:
        raise PlanError("; ".join(problems))
    return raw_feature_signature(original, parse), parse, _notes(original, parse)


def raw_feature_signature(original: SignatureInfo, parse: ExampleParse) -> SignatureInfo:
    """``original`` as a predict signature taking each parsed feature as a tensor in place of
    its serialized Examples (unchecked: ``raw_feature_base`` says what a plan refuses).

    Example:
        >>> from pathlib import Path
        >>> from core.savedmodel.handle import read_model_info
        >>> info = read_model_info(Path("sample_models/tf1_half_plus_two/00000123"))
        >>> raw = raw_feature_signature(info.signatures["regress_x_to_y"], info.example_parses["regress_x_to_y"])
        >>> raw.method_name, {name: (spec.dtype, spec.shape) for name, spec in raw.inputs.items()}
        ('tensorflow/serving/predict', {'x': ('float32', (-1, 1))})
    """
    inputs: dict[str, TensorSpecInfo] = {n: s for n, s in original.inputs.items() if n != parse.example_input}
    for feature in parse.features:
        inputs.setdefault(feature.name, TensorSpecInfo(feature.spec.dtype, feature.spec.shape, ""))
    return SignatureInfo(original.name, PREDICT_METHOD, False, dict(sorted(inputs.items())), original.outputs)


LISTED_FEATURES = 6  # past this many, a note counts the features (the signature's inputs list them)


def _listed(items: list[str], what: str) -> str:
    """``'a', 'b'`` or, for many, ``17 features ('a', 'b', 'c', …)``."""
    if len(items) <= LISTED_FEATURES:
        return f"{what} {', '.join(items)}"
    return f"{len(items)} {what} ({', '.join(items[:3])}, …; the signature's inputs list them all)"


def _notes(original: SignatureInfo, parse: ExampleParse) -> list[str]:
    listed = _listed([f"'{f.name}' ({f.dtype} {list(f.spec.shape)})" for f in parse.features], "features")
    notes = [
        f"the result takes the {listed} where '{original.name}' takes serialized tf.Examples in "
        f"'{parse.example_input}'; it is a {PREDICT_METHOD} signature, answered by TF Serving on :predict"
    ]
    defaults = [
        f"'{f.name}' got {f.default_text().removeprefix('a default of ')}" for f in parse.features if f.default is not None
    ]
    if defaults:
        notes.append(
            "fed directly, no parse runs, so the parse's defaults no longer fill in a missing feature: clients send "
            f"every feature (an Example without it: {', '.join(defaults)})"
        )
    var_len = [f"'{f.name}'" for f in parse.features if f.sparse]
    if var_len:
        notes.append(
            f"the {_listed(var_len, 'var-len features')} are taken as a row of values per example (shape [-1, -1]), "
            "as many in every example of a request, as the parse gives Examples that each carry that many; an Example "
            "without the feature, or a request whose examples carry different counts, goes to the original signature"
        )
    unread = [name for name in parse.var_len if name not in {f.name for f in parse.features}]
    if unread:
        notes.append(f"the parse also reads the var-len feature(s) {unread}, which these outputs never read")
    return notes
