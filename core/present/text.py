"""The CLI's text: a model, a signature, a rewrite and a diff, from the shared tables.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_model_info
    >>> print(format_signature(read_model_info(Path("sample_models/vocab_lookup")).signatures["serving_default"]))
    signature 'serving_default'  method tensorflow/serving/predict
      inputs:
        name   dtype   shape  tensor name
        words  string  [-1]   serving_default_words:0
      outputs:
        name  dtype  shape  tensor name
        ids   int64  [-1]   StatefulPartitionedCall_1:0
"""

from __future__ import annotations

from core.present.tables import diff_table, report_table, signature_table
from core.present.words import shape_text
from core.savedmodel.diff import SignatureDiff
from core.savedmodel.example_parse import ExampleParse
from core.savedmodel.info import ModelInfo, Side, SignatureInfo
from core.verify.report import VerificationReport
from core.workflows import RewriteResult, ServedDiff


def format_signature(signature: SignatureInfo) -> str:
    """A signature's method name, then a table of inputs and one of outputs."""
    internal = "  (internal)" if signature.internal else ""
    lines = [f"signature '{signature.name}'  method {signature.method_name or '-'}{internal}"]
    for side in Side:
        table = signature_table(signature, side)
        lines += [f"  {side.plural}:", table.to_text() if table.rows else "    (none)"]
    return "\n".join(lines)


def format_model_info(info: ModelInfo) -> str:
    """Everything ``inspect`` found, as text."""
    version = f" (TF Serving version {info.version})" if info.version is not None else ""
    lines = [
        f"model       {info.path}{version}",
        f"format      {info.format.label}, written by TensorFlow {info.tensorflow_version or 'unknown'}",
        f"tag-sets    {info.tag_sets}",
        f"variables   {info.variables.count} ({info.variables.bytes:,} bytes)",
        f"assets      {', '.join(info.assets) or '-'}",
        f"assets.extra {', '.join(info.assets_extra) or '-'}",
        f"ops         {len(info.ops)} kinds",
    ]
    for op, reason in info.unsafe_op_reasons.items():
        lines.append(f"UNSAFE OP   {op}: {reason}")
    if info.missing_checkpoint:
        lines.append(f"INCOMPLETE   {info.missing_checkpoint}")
    if info.object_loader_problem:
        lines.append(f"NOT REVIVABLE {info.object_loader_problem}")
    if info.warmup:
        used = ", ".join(f"{name} ({count})" for name, count in info.warmup.items())
        lines.append(f"warmup      {sum(info.warmup.values())} TF Serving warmup request(s): {used}")
    lines.append("")
    for name, signature in info.signatures.items():
        lines.append(format_signature(signature))
        if name in info.example_parses:
            lines.append(f"  {parse_text(info.example_parses[name])}")
        lines.append("")
    if info.function_signatures:
        lines.append("functions that can be served as a signature (rewrite --from-function PATH):")
        lines += [f"  {function_text(sig)}" for sig in info.function_signatures.values()]
    return "\n".join(lines).rstrip()


def parse_text(parse: ExampleParse) -> str:
    """What a signature's tf.Example parse reads, and whether ``rewrite --raw-features`` can serve it."""
    said = f"parses tf.Example in '{parse.example_input}': {parse.describe() or 'no feature its outputs read'}"
    if parse.problem:
        return f"{said}\n  no raw-feature signature: {parse.problem}"
    return f"{said}\n  rewrite --raw-features makes a signature taking them as tensors"


def function_text(signature: SignatureInfo) -> str:
    """A function as a call: ``serve(features float32 [-1, 4]) -> scores float32 [-1, 2]``."""

    def specs(tensors: dict) -> str:
        return ", ".join(f"{name} {spec.dtype} {shape_text(spec.shape)}" for name, spec in tensors.items())

    return f"{signature.name}({specs(signature.inputs)}) -> {specs(signature.outputs)}"


def format_report(report: VerificationReport, indent: str = "  ") -> str:
    """Every verification check, one per line."""
    return report_table(report).to_text(indent)


def format_diff(diff: SignatureDiff) -> str:
    """A one-line summary, then one row per input and output."""
    return f"'{diff.a}' → '{diff.b}': {diff.summary}\n" + diff_table(diff).to_text("  ")


def format_served_diff(served: ServedDiff) -> str:
    """The diff from the served signature, then each change clients see and the verdict."""
    lines = [format_diff(served.diff), "for clients of the served model:"]
    for change in served.changes:
        what = f"{change.row.side.value} '{change.row.label}' {change.row.change.value}" if change.row else "method name"
        lines.append(f"  {change.impact.value:<10}  {what}: {change.reason}")
    lines.append(served.verdict)
    return "\n".join(lines)


def format_rewrite(result: RewriteResult) -> str:
    """What ``rewrite`` prints: what was read and written, the result's signature, the notes,
    the signatures kept and dropped, and the verification report."""
    lines = []
    if result.source_info.version is not None:
        lines.append(f"read TF Serving version {result.source_info.version} of {result.source_info.path}")
    lines += [f"wrote {result.destination}", format_signature(result.output_info.signatures[result.plan.result_name])]
    lines += [f"note: {note}" for note in result.notes]
    lines.append(f"signatures: {', '.join(result.plan.final_signatures)}")
    if result.plan.dropped:
        lines.append(f"dropped: {', '.join(result.plan.dropped)}")
    lines += [f"dropped optimizer state: {s.describe()}, {s.variables} variables" for s in result.plan.dropped_optimizers]
    if result.report is None:
        lines.append("verification: skipped (--no-verify)")
    else:
        lines += [f"verification: {result.report.summary}", format_report(result.report)]
    return "\n".join(lines)
