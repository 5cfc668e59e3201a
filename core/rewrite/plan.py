"""Check a ``RewriteRequest`` against a model before any work is done.

``plan_rewrite`` turns a request (what the user asked for) into a ``RewritePlan`` (what will
be written): the resulting signature, where each of its outputs comes from, and which
signatures survive under which names. Every problem is a ``PlanError`` that names the
valid choices. The Edit page calls it on every change, as a live preview.

Example:
    >>> from pathlib import Path
    >>> from core.rewrite.request import Forward
    >>> from core.savedmodel.handle import read_model_info
    >>> request = RewriteRequest(key="instance_key", forwards=(Forward("rooms", "rooms"),))
    >>> plan = plan_rewrite(read_model_info(Path("sample_models/house_price")), request)
    >>> sorted(plan.result.outputs)
    ['instance_key', 'output_0', 'rooms']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from core.errors import PlanError
from core.rewrite.input_edits import choices_text, function_base, input_casts, input_renames
from core.rewrite.raw_features import default_raw_name, raw_feature_base
from core.rewrite.request import NAME_RULE, NOTHING_TO_DO, KeyDtype, RewriteRequest, is_valid_name
from core.savedmodel.example_parse import ExampleParse
from core.savedmodel.info import ModelInfo, SignatureInfo, TensorSpecInfo, require_signature, unknown_signature_text
from core.savedmodel.proto import CLASSIFY_METHOD, PREDICT_METHOD, REGRESS_METHOD, ModelFormat, is_internal_signature
from core.savedmodel.revival import OptimizerState

BATCH_DIM = -1


class OutputKind(StrEnum):
    """Where an output of the rewritten signature takes its value from."""

    OUTPUT = "output"
    INPUT = "input"
    KEY = "key"


@dataclass(frozen=True)
class OutputSource:
    """An output of the rewritten signature: a base output, a base input, or the key."""

    kind: OutputKind
    name: str


@dataclass(frozen=True)
class RewritePlan:
    """A checked rewrite: the new signature and the fate of every other one."""

    request: RewriteRequest
    model_format: ModelFormat
    base: SignatureInfo
    result_name: str
    result: SignatureInfo
    output_sources: dict[str, OutputSource]
    kept_signatures: dict[str, str]
    # Each input of the result: the base input it feeds (under its new name), or None for the key.
    input_sources: dict[str, str | None]
    source_methods: dict[str, str]
    dropped: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    dropped_optimizers: tuple[OptimizerState, ...] = ()
    # Base inputs the result takes in another dtype (base name → the dtype clients send).
    casts: dict[str, str] = field(default_factory=dict)
    # With ``--raw-features``: the parse whose features the base takes in place of its Examples.
    example_parse: ExampleParse | None = None

    @property
    def key(self) -> str | None:
        return self.request.key

    @property
    def fed_as(self) -> dict[str, str]:
        """Base input → the result's input that feeds it (its new name, or its own)."""
        return {base: name for name, base in self.input_sources.items() if base is not None}

    @property
    def rewrites_signature(self) -> bool:
        """Whether the base signature changes; when it does not, it is kept as it is."""
        return self.request.rewrites_signature

    @property
    def changes_signature_set(self) -> bool:
        """Whether signatures are dropped, renamed or kept under a second name."""
        request = self.request
        return bool(request.drop or request.rename_signatures or request.keep_original)

    @property
    def final_signatures(self) -> list[str]:
        """Public signature names of the rewritten model."""
        return sorted([self.result_name, *self.kept_signatures])


def _check_name(kind: str, name: str, problems: list[str]) -> None:
    if not is_valid_name(name):
        problems.append(f"{kind} '{name}' is not a valid name: use {NAME_RULE}")
    elif kind == "signature name" and is_internal_signature(name):
        problems.append(f"signature name '{name}' is reserved: names starting with '__' belong to TensorFlow's loaders")


def _key_collision(key: str, taken_by: OutputSource, outputs: dict[str, OutputSource]) -> str:
    """Say which choice takes the key's output name: a rename, a forward, or the model itself."""
    if taken_by.kind is OutputKind.OUTPUT and taken_by.name != key:
        return f"cannot rename output '{taken_by.name}' to '{key}': that is the key's name; choose another output name"
    if taken_by.kind is OutputKind.INPUT:
        return f"cannot forward '{taken_by.name}' as '{key}': that is the key's name; choose another output name"
    return f"key name '{key}' collides with an output; outputs would be {choices_text(outputs)}"


def _leading_dim_problems(base: SignatureInfo, forwarded: list[str], key: str | None) -> tuple[list[str], list[str]]:
    """Explain every tensor whose first dimension cannot line up row by row with the key
    (problems), and those only a run can tell (notes: verification checks them)."""
    if key is None and not forwarded:
        return [], []
    what = f"the key '{key}'" if key else "forwarded inputs"
    tensors = [(f"output '{name}'", spec) for name, spec in base.outputs.items()]
    tensors += [(f"forwarded input '{name}'", base.inputs[name]) for name in forwarded]
    problems, notes = [], []
    leading: dict[str, int] = {}
    for label, spec in tensors:
        if spec.shape is None:
            notes.append(
                f"{label} has unknown rank, so whether {what} lines up with its rows is known only when it runs: "
                "verification checks that it has one row per row of the batch"
            )
        elif len(spec.shape) == 0:
            problems.append(f"{label} is a scalar with no batch dimension, so {what} cannot be matched to its rows")
        else:
            leading[label] = spec.shape[0]
    if len(set(leading.values())) > 1:
        listed = ", ".join(f"{label}: {dim}" for label, dim in leading.items())
        problems.append(
            f"the first dimensions differ ({listed}), so {what} cannot be matched row by row; "
            "every output and forwarded input must share one batch dimension"
        )
    return problems, notes


def _result_method(base: SignatureInfo, inputs: dict[str, TensorSpecInfo], outputs: list[str]) -> tuple[str, str | None]:
    """Keep the base's method name while the result still meets that method's contract."""
    method = base.method_name
    if method == CLASSIFY_METHOD and (list(inputs) != ["inputs"] or not outputs or set(outputs) - {"classes", "scores"}):
        contract = "one input 'inputs' and outputs among 'classes' and 'scores'"
    elif method == REGRESS_METHOD and (list(inputs) != ["inputs"] or outputs != ["outputs"]):
        contract = "one input 'inputs' and one output 'outputs'"
    else:
        return method, None
    note = (
        f"the result is a {PREDICT_METHOD} signature (the original is {method}): a {method} signature has "
        f"{contract}, and the result has more, which predict serves as they are; TF Serving answers it on :predict"
    )
    return PREDICT_METHOD, note


def _final_signatures(info: ModelInfo, request: RewriteRequest, result_name: str, problems: list[str]) -> dict[str, str]:
    """Map each surviving signature's final name to its source name (the result excluded)."""
    public = info.public_signatures
    replacing = request.replaces_base
    for name in request.drop:
        if name not in public:
            problems.append(f"cannot drop: {unknown_signature_text(name, public)}")
        elif name == request.signature and replacing:
            problems.append(f"cannot drop '{name}': the result replaces it; add the result under a new name to drop the base")
    renames = dict(request.rename_signatures)
    for old, new in renames.items():
        if old not in public or old in request.drop:
            problems.append(f"cannot rename unknown or dropped signature '{old}'; signatures: {choices_text(public)}")
        elif old == request.signature and replacing:
            problems.append(f"cannot rename '{old}': the result replaces it; give the result a new name instead")
        _check_name("signature name", new, problems)
    final: dict[str, str] = {}
    owners: dict[str, list[str]] = {result_name: ["the rewritten signature"]}
    for name in public:
        if name in request.drop or (name == request.signature and replacing):
            continue
        final[renames.get(name, name)] = name
        owners.setdefault(renames.get(name, name), []).append(f"signature '{name}'")
    if request.keep_original is not None:
        final[request.keep_original] = request.signature
        owners.setdefault(request.keep_original, []).append(f"the kept original of '{request.signature}'")
    for name, claimants in owners.items():
        if len(claimants) > 1:
            problems.append(f"signature name '{name}' would be used by {' and '.join(claimants)}; choose another name")
    return final


def other_signatures(info: ModelInfo, request: RewriteRequest) -> list[str]:
    """The signatures a request may drop or rename: every public one but a base being replaced."""
    return [name for name in info.public_signatures if name != request.signature or not request.replaces_base]


def plan_rewrite(info: ModelInfo, request: RewriteRequest, *, new_warmup: bool = False) -> RewritePlan:
    """Check ``request`` against ``info`` and return the plan to apply. ``new_warmup``: the
    rewrite also writes new TF Serving warmup requests, a change on its own.

    Raises:
        PlanError: one message listing every problem found, each with the valid choices.
    """
    base = function_base(info, request.from_function) if request.from_function else require_signature(info, request.signature)
    parse, raw_notes = None, []
    if request.raw_features:
        base, parse, raw_notes = raw_feature_base(info, base, request)
    public = info.public_signatures
    problems: list[str] = []

    beside = request.raw_features and request.keep_original is None  # a raw-feature signature goes beside its original
    result_name = request.result_name or (default_raw_name(request.signature) if beside else request.signature)
    if result_name != request.signature:
        _check_name("signature name", result_name, problems)
    if request.from_function and request.keep_original is not None:
        problems.append(
            f"there is no original signature to keep: the result is made from the function '{request.from_function}'; "
            "leave keeping the original off"
        )
    elif request.keep_original is not None:
        _check_name("signature name", request.keep_original, problems)
        if result_name != request.signature:
            problems.append(
                f"keeping the original applies only when the result replaces '{request.signature}'; "
                f"with the result added as '{result_name}' the base signature stays as it is"
            )

    output_sources: dict[str, OutputSource] = {}
    renames = dict(request.rename_outputs)
    for old, new in renames.items():
        if old not in base.outputs:
            problems.append(f"cannot rename unknown output '{old}'; outputs of '{base.name}': {choices_text(base.outputs)}")
        _check_name("output name", new, problems)
    for name in base.outputs:
        new = renames.get(name, name)
        if new in output_sources:
            problems.append(f"output name '{new}' is used twice after renaming; outputs: {choices_text(base.outputs)}")
        output_sources[new] = OutputSource(OutputKind.OUTPUT, name)

    fed_as = input_renames(base, request, problems)
    casts, cast_notes = input_casts(base, request, fed_as, problems)
    forwarded: list[str] = []
    for forward in request.forwards:
        if forward.input not in base.inputs:
            problems.append(
                f"cannot forward unknown input '{forward.input}'; inputs of '{base.name}': {choices_text(base.inputs)}"
            )
            continue
        if base.inputs[forward.input].composite:
            problems.append(
                f"input '{forward.input}' is a composite (sparse or ragged) tensor; only dense inputs can be forwarded"
            )
            continue
        _check_name("forwarded output name", forward.output, problems)
        if forward.output in output_sources:
            problems.append(
                f"cannot forward '{forward.input}' as '{forward.output}': an output of that name exists; "
                f"give the forwarded input another output name ({forward.input}:NEW_NAME)"
            )
            continue
        output_sources[forward.output] = OutputSource(OutputKind.INPUT, fed_as[forward.input])
        forwarded.append(forward.input)

    inputs = {
        fed_as[name]: TensorSpecInfo(casts[name], spec.shape, "", spec.composite) if name in casts else spec
        for name, spec in base.inputs.items()
    }
    input_sources: dict[str, str | None] = {fed_as[name]: name for name in base.inputs}
    if request.key is not None:
        _check_name("key name", request.key, problems)
        if request.key in inputs:
            renamed = " after renaming" if request.rename_inputs else ""
            problems.append(
                f"key name '{request.key}' collides with an input; inputs of '{base.name}'{renamed}: {choices_text(inputs)}"
            )
        if request.key in output_sources:
            problems.append(_key_collision(request.key, output_sources[request.key], output_sources))
        inputs[request.key] = TensorSpecInfo(KeyDtype(request.key_dtype).value, (BATCH_DIM,), "")
        input_sources[request.key] = None
        output_sources[request.key] = OutputSource(OutputKind.KEY, request.key)
    alignment_problems, alignment_notes = _leading_dim_problems(base, forwarded, request.key)
    problems += alignment_problems

    kept = _final_signatures(info, request, result_name, problems)
    if request.drop_optimizer:
        problems += _optimizer_problems(info)
    if request.changes_nothing and not new_warmup:
        problems.append(NOTHING_TO_DO)
    if problems:
        raise PlanError("; ".join(problems))

    outputs = {}
    for name, source in output_sources.items():
        if source.kind is OutputKind.OUTPUT:
            outputs[name] = base.outputs[source.name]
        else:
            spec = inputs[source.name]
            outputs[name] = TensorSpecInfo(spec.dtype, spec.shape, "")
    method, note = _result_method(base, inputs, list(outputs))
    result = SignatureInfo(
        name=result_name,
        method_name=method,
        internal=False,
        inputs=dict(sorted(inputs.items())),
        outputs=dict(sorted(outputs.items())),
    )
    return RewritePlan(
        request=request,
        model_format=info.format,
        base=base,
        result_name=result_name,
        result=result,
        output_sources=output_sources,
        kept_signatures=kept,
        input_sources=dict(sorted(input_sources.items())),
        casts=casts,
        source_methods={name: info.signatures[name].method_name for name in public},
        dropped=tuple(name for name in public if name in request.drop),
        notes=(
            tuple(raw_notes) + tuple(alignment_notes) + tuple(cast_notes) + ((note,) if note else ())
            + _optimizer_notes(info, request)
        ),
        dropped_optimizers=info.optimizers if request.drop_optimizer else (),
        example_parse=parse,
    )  # fmt: skip


def _optimizer_problems(info: ModelInfo) -> list[str]:
    if info.format is ModelFormat.TF1:
        return [
            "a TF1 graph has no object graph, so there is no optimizer state to drop "
            "(both loaders load TF1 graphs as they are); leave 'drop the optimizer state' off"
        ]
    if not info.optimizers:
        return [
            "the model holds no optimizer state to drop (no optimizer with slot variables in its object graph); "
            "leave 'drop the optimizer state' off"
        ]
    return []


def _optimizer_notes(info: ModelInfo, request: RewriteRequest) -> tuple[str, ...]:
    if not request.drop_optimizer:
        return ()
    return tuple(
        f"drops optimizer {state.describe()} from the object graph: {state.variables} variables and "
        f"{len(state.nodes)} objects that only training uses; their values stay in variables/, which nothing loads them from"
        for state in info.optimizers
    )
