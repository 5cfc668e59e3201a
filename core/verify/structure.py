"""Structure checks: compare ``saved_model.pb`` and the files of the source and the result.

The new signature has exactly the planned inputs and outputs; every kept signature has its
method name, inputs and outputs; nothing is lost or added; ``assets/`` and ``assets.extra/``
are byte-identical; the variables have the same names, dtypes and shapes, and their files are
byte-identical where the engine copied them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.rewrite.optimizer_state import cut_edges_to, owned_nodes
from core.rewrite.plan import RewritePlan
from core.savedmodel.handle import ModelHandle
from core.savedmodel.info import SignatureInfo
from core.savedmodel.proto import ASSETS_DIR, ASSETS_EXTRA_DIR, VARIABLES_DIR, copy_message, list_files
from core.savedmodel.revival import find_optimizer_state
from core.savedmodel.warmup import WARMUP_FILE
from core.verify.report import STRUCTURE, Check, CheckStatus

CHUNK_BYTES = 1 << 20


def _io(signature: SignatureInfo) -> dict[str, Any]:
    """Inputs and outputs by name, dtype and shape (tensor names may differ after a rewrite)."""
    return {
        "inputs": {name: (spec.dtype, spec.shape) for name, spec in signature.inputs.items()},
        "outputs": {name: (spec.dtype, spec.shape) for name, spec in signature.outputs.items()},
    }


def same_bytes(first: Path, second: Path) -> bool:
    """True when two files hold the same bytes. They are read a MiB at a time (``filecmp``
    reads 8 KiB, three times slower on a GiB of variables).

    Raises:
        OSError: a file cannot be read.

    Example:
        >>> same_bytes(Path("sample_models/house_price/saved_model.pb"), Path("sample_models/house_price/saved_model.pb"))
        True
    """
    with open(first, "rb") as a, open(second, "rb") as b:
        if os.fstat(a.fileno()).st_size != os.fstat(b.fileno()).st_size:
            return False
        while chunk := a.read(CHUNK_BYTES):
            if chunk != b.read(CHUNK_BYTES):
                return False
        return not b.read(1)


def _same_files(source_folder: Path, output_folder: Path, *, rewritten: str | None = None) -> tuple[bool, str]:
    """Whether two folders hold the same files byte for byte (but ``rewritten``, a file the
    rewrite writes anew), and a detail for the report."""
    names = [name for name in list_files(source_folder) if name != rewritten]
    same_names = names == [name for name in list_files(output_folder) if name != rewritten]
    differing = []
    for name in names:
        try:
            if not same_bytes(source_folder / name, output_folder / name):
                differing.append(name)
        except OSError:
            differing.append(name)
    detail = f"{len(names)} file(s)" + (f"; differing: {differing}" if differing else "")
    if rewritten:
        detail += f"; {rewritten} written anew for the result"
    return same_names and not differing, detail


def _optimizer_check(source: ModelHandle, output: ModelHandle, plan: RewritePlan) -> tuple[bool, str]:
    """Whether exactly the planned optimizer state left the object graph: none is left, and
    every other object of the source is still there with the same id, kind and content (less
    its edges to what was dropped; the signature map changes with the signatures)."""
    before = source.meta_graph.object_graph_def.nodes
    after = output.meta_graph.object_graph_def.nodes
    dropped = owned_nodes(plan.dropped_optimizers)
    changed = []
    for node_id, node in enumerate(before):
        if node_id in dropped or (node.WhichOneof("kind") == "user_object" and node.user_object.identifier == "signature_map"):
            continue
        expected = copy_message(node)
        cut_edges_to(expected, dropped)
        if node_id >= len(after) or after[node_id] != expected:
            changed.append(node_id)
    left = find_optimizer_state(output.meta_graph)
    described = "; ".join(
        f"{state.describe()}: {len(state.nodes)} objects, {state.variables} variables" for state in plan.dropped_optimizers
    )
    detail = f"dropped {described}; {len(before) - len(dropped)} other objects unchanged"
    if left or changed:
        detail = f"optimizer state left: {[state.path for state in left]}; objects changed: {changed[:10]}"
    return not left and not changed, detail


def structure_checks(
    source: ModelHandle, output: ModelHandle, plan: RewritePlan, *, variables_copied: bool = True, warmup_rewritten: bool = False
) -> list[Check]:
    """Every check that reading the two models can make. ``variables_copied``: the engine copied
    the variable files (the proto editors do), so they must be byte-identical."""
    checks = []

    def check(name: str, passed: bool, detail: str) -> None:
        checks.append(Check(name, STRUCTURE, CheckStatus.PASSED if passed else CheckStatus.FAILED, detail))

    before_info, after_info = source.info, output.info
    result = after_info.signatures.get(plan.result_name)
    check(
        f"signature '{plan.result_name}' has the planned inputs and outputs",
        result is not None and _io(result) == _io(plan.result) and result.method_name == plan.result.method_name,
        f"method {plan.result.method_name}; inputs {sorted(plan.result.inputs)}; outputs {sorted(plan.result.outputs)}",
    )
    for final, original in plan.kept_signatures.items():
        kept = after_info.signatures.get(final)
        before = before_info.signatures[original]
        same = kept is not None and _io(kept) == _io(before) and kept.method_name == before.method_name
        label = f"'{final}'" if final == original else f"'{final}' (was '{original}')"
        check(f"signature {label} kept with method name and I/O", same, before.method_name)
    unexpected = set(after_info.public_signatures) - set(plan.final_signatures)
    missing = set(plan.final_signatures) - set(after_info.public_signatures)
    check(
        "no signature lost or added beyond the plan",
        not unexpected and not missing,
        f"expected {plan.final_signatures}; unexpected {sorted(unexpected)}; missing {sorted(missing)}",
    )
    if plan.dropped_optimizers:
        check("optimizer state dropped from the object graph, nothing else", *_optimizer_check(source, output, plan))
    for folder in (ASSETS_DIR, ASSETS_EXTRA_DIR):
        rewritten = WARMUP_FILE if warmup_rewritten and folder == ASSETS_EXTRA_DIR else None
        check(f"{folder}/ byte-identical", *_same_files(source.path / folder, output.path / folder, rewritten=rewritten))
    source_variables = source.variable_specs
    check(
        "variables: same names, dtypes and shapes",
        source_variables == output.variable_specs,
        f"{len(source_variables)} variable(s), {before_info.variables.bytes} bytes",
    )
    if variables_copied:
        check(f"{VARIABLES_DIR}/ byte-identical", *_same_files(source.path / VARIABLES_DIR, output.path / VARIABLES_DIR))
    else:
        checks.append(
            Check(
                f"{VARIABLES_DIR}/ byte-identical",
                STRUCTURE,
                CheckStatus.NOT_VERIFIED,
                "the TF2 load/save engine wrote the variables anew: their values are proven by bit-identical outputs",
            )
        )
    return checks
