"""What a plan takes its base from and does to its inputs: a function of the object graph
served as a signature, inputs renamed, and inputs cast from the dtype clients send.

Each problem is appended to the plan's list in the plan's words (what was wrong, the valid
choices); ``plan_rewrite`` raises them together.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_model_info
    >>> base = read_model_info(Path("sample_models/house_price")).signatures["serving_default"]
    >>> problems = []
    >>> input_renames(base, RewriteRequest(rename_inputs=(("rooms", "tax_rate"),)), problems)
    {'rooms': 'tax_rate', 'tax_rate': 'tax_rate'}
    >>> problems
    ["input name 'tax_rate' would be used by inputs ['rooms', 'tax_rate'] after renaming; inputs would be [tax_rate, tax_rate]"]
"""

from __future__ import annotations

from core.errors import PlanError
from core.rewrite.request import NAME_RULE, RewriteRequest, is_valid_name
from core.savedmodel.info import ModelInfo, SignatureInfo
from core.savedmodel.proto import ModelFormat

# The dtypes an input may be cast between: numbers only. A string or bool input is never cast,
# since that would change what a client's value means, not only how it is stored.
CASTABLE_DTYPES = (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64",
)  # fmt: skip


def choices_text(names) -> str:
    """Names as a plan's messages list them: ``[rooms, tax_rate]``, sorted."""
    return "[" + ", ".join(sorted(names)) + "]"


def _check_input_name(name: str, problems: list[str]) -> None:
    if not is_valid_name(name):
        problems.append(f"input name '{name}' is not a valid name: use {NAME_RULE}")


def input_renames(base: SignatureInfo, request: RewriteRequest, problems: list[str]) -> dict[str, str]:
    """Base input → its name in the result; every rename checked (unknown inputs, bad names,
    two inputs ending under one name)."""
    renames = dict(request.rename_inputs)
    for old, new in renames.items():
        if old not in base.inputs:
            problems.append(f"cannot rename unknown input '{old}'; inputs of '{base.name}': {choices_text(base.inputs)}")
        _check_input_name(new, problems)
    fed_as = {name: renames.get(name, name) for name in base.inputs}
    final = list(fed_as.values())
    for name in sorted({name for name in final if final.count(name) > 1}):
        claimants = sorted(old for old, new in fed_as.items() if new == name)
        problems.append(
            f"input name '{name}' would be used by inputs {claimants} after renaming; inputs would be {choices_text(final)}"
        )
    return fed_as


def input_casts(
    base: SignatureInfo, request: RewriteRequest, fed_as: dict[str, str], problems: list[str]
) -> tuple[dict[str, str], list[str]]:
    """Base input → the dtype clients send it in (a cast to its own dtype is no cast), and a
    note for each cast; a cast TensorFlow should not make is a problem naming the ones it may."""
    casts: dict[str, str] = {}
    seen: set[str] = set()
    for name, dtype in request.cast_inputs:
        spec = base.inputs.get(name)
        if spec is None:
            problems.append(f"cannot cast unknown input '{name}'; inputs of '{base.name}': {choices_text(base.inputs)}")
        elif name in seen:
            problems.append(f"input '{name}' is cast twice; give one dtype for it")
        elif spec.composite:
            problems.append(f"input '{name}' is a composite (sparse or ragged) tensor; only dense inputs can be cast")
        elif dtype != spec.dtype and (dtype not in CASTABLE_DTYPES or spec.dtype not in CASTABLE_DTYPES):
            problems.append(
                f"cannot cast input '{name}' ({spec.dtype}) from '{dtype}': only numbers are cast, between "
                f"{', '.join(CASTABLE_DTYPES)}; a string or bool input keeps its dtype, since a cast would change "
                "what a client's value means"
            )
        elif dtype != spec.dtype:
            casts[name] = dtype
        seen.add(name)
    notes = [
        f"clients send '{fed_as[name]}' as {dtype}; the signature casts it to the model's {base.inputs[name].dtype} "
        "inside (as tf.cast does: a value the model's dtype cannot hold exactly is rounded or wraps)"
        for name, dtype in casts.items()
    ]
    return casts, notes


def function_base(info: ModelInfo, path: str) -> SignatureInfo:
    """The signature the function at ``path`` of the object graph would be, as the plan's base.

    Raises:
        PlanError: a TF1 graph (it has no functions; what it has instead), or no servable
            function at ``path`` (the ones there are).
    """
    if info.format is ModelFormat.TF1:
        signatures = info.public_signatures
        has = f"the signatures {signatures}" if signatures else "no SignatureDef at all"
        raise PlanError(
            f"{info.path} is a TF1 graph, which holds no functions to serve (--from-function takes a function of a "
            f"TF2 object graph); it holds the tag-sets {info.tag_sets} and {has}"
        )
    if path in info.function_signatures:
        return info.function_signatures[path]
    servable = list(info.function_signatures)
    others = [name for name in info.functions if name not in servable]
    also = f"; {others} take Python values or structures a client cannot send" if others else ""
    raise PlanError(f"no function '{path}' that can be served; functions that can: {servable or 'none'}{also}")
