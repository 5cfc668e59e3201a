"""``python -m core``: inspect, rewrite and diff SavedModel signatures from the shell.

Exit codes: 0 done; 1 verification failed (nothing written); 2 bad input of any kind, with
one ``error: ...`` line on stderr and no traceback (set STUDIO_DEBUG=1 to see tracebacks).
Archive limits come from STUDIO_MAX_ARCHIVE_BYTES and STUDIO_MAX_ARCHIVE_MEMBERS.

Example:
    $ python -m core rewrite sample_models/house_price out/price --key instance_key
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from core.archive import ArchiveLimits
from core.errors import StudioError, VerificationError
from core.model_info import ModelInfo, SignatureInfo
from core.plan import DEFAULT_SIGNATURE, Forward, KeyDtype, RewriteRequest, parse_pair
from core.workflow import diff_models, inspect_model, rewrite_model

EXIT_OK = 0
EXIT_VERIFICATION_FAILED = 1
EXIT_BAD_INPUT = 2
CHANGE_MARKERS = {"added": "+", "removed": "-", "changed": "~", "tensor renamed": ".", "unchanged": " "}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``error: ...`` line and exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see python -m core {self.prog.split()[-1]} --help)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="Inspect and rewrite TensorFlow SavedModel signatures.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    inspect = commands.add_parser("inspect", help="show a model's signatures, assets, variables and ops")
    inspect.add_argument("model", help="SavedModel folder, TF Serving base path, archive or Keras file")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")

    rewrite = commands.add_parser("rewrite", help="add a key, forward inputs, rename outputs; verified")
    rewrite.add_argument("src")
    rewrite.add_argument("dst", help="a new folder, or an archive path ending in .zip, .tar, .tar.gz or .tgz")
    rewrite.add_argument("--signature", default=DEFAULT_SIGNATURE, help="the base signature (default: %(default)s)")
    rewrite.add_argument("--key", help="add this instance-key input, echoed as an output of the same name")
    rewrite.add_argument("--key-dtype", choices=[d.value for d in KeyDtype], default=KeyDtype.STRING.value)
    rewrite.add_argument(
        "--forward", action="append", default=[], metavar="INPUT[:OUTPUT]", help="forward an input to the outputs"
    )
    rewrite.add_argument("--rename-output", action="append", default=[], metavar="OLD:NEW")
    rewrite.add_argument(
        "--as", dest="result_name", metavar="NAME", help="add the result under NAME instead of replacing the base"
    )
    rewrite.add_argument("--keep-original", metavar="NAME", help="keep the untouched base signature under NAME")
    rewrite.add_argument("--drop", action="append", default=[], metavar="NAME", help="drop another signature")
    rewrite.add_argument("--rename-signature", action="append", default=[], metavar="OLD:NEW", help="rename another signature")
    rewrite.add_argument("--version", type=int, help="write the TF Serving layout DST/N/")
    rewrite.add_argument("--overwrite", action="store_true", help="replace an existing destination")
    rewrite.add_argument("--no-verify", action="store_true", help="skip verification (not recommended)")
    rewrite.add_argument("--json", action="store_true")

    diff = commands.add_parser("diff", help="compare two signatures of one model or of two models")
    diff.add_argument("model_a")
    diff.add_argument("model_b")
    diff.add_argument("--signature", default=DEFAULT_SIGNATURE, help="signature of MODEL_A (default: %(default)s)")
    diff.add_argument("--signature-b", help="signature of MODEL_B (default: the same name)")
    diff.add_argument("--json", action="store_true")
    return parser


def request_from_args(args: argparse.Namespace) -> RewriteRequest:
    """Turn parsed ``rewrite`` flags into a ``RewriteRequest``."""
    return RewriteRequest(
        signature=args.signature,
        key=args.key,
        key_dtype=KeyDtype(args.key_dtype),
        forwards=tuple(Forward(*parse_pair(text, flag="--forward", optional_second=True)) for text in args.forward),
        rename_outputs=tuple(parse_pair(text, flag="--rename-output") for text in args.rename_output),
        result_name=args.result_name,
        keep_original=args.keep_original,
        drop=tuple(args.drop),
        rename_signatures=tuple(parse_pair(text, flag="--rename-signature") for text in args.rename_signature),
    )


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "    ") -> str:
    """Left-aligned columns, one header line; used for every table the CLI prints."""
    cells = [list(map(str, headers))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def _shape_text(shape: tuple[int, ...] | None) -> str:
    return "unknown rank" if shape is None else "[" + ", ".join(map(str, shape)) + "]"


def format_signature(signature: SignatureInfo) -> str:
    lines = [
        f"signature '{signature.name}'  method {signature.method_name or '-'}" + ("  (internal)" if signature.internal else "")
    ]
    for side, specs in (("inputs", signature.inputs), ("outputs", signature.outputs)):
        lines.append(f"  {side}:")
        rows = [(name, spec.dtype, _shape_text(spec.shape), spec.tensor_name or "-") for name, spec in specs.items()]
        lines.append(format_table(("name", "dtype", "shape", "tensor"), rows) if rows else "    (none)")
    return "\n".join(lines)


def format_model_info(info: ModelInfo) -> str:
    version = f" (TF Serving version {info.version})" if info.version is not None else ""
    lines = [
        f"model       {info.path}{version}",
        f"format      {info.format.upper()}, written by TensorFlow {info.tensorflow_version or 'unknown'}",
        f"tag-sets    {info.tag_sets}",
        f"variables   {info.variables.count} ({info.variables.bytes:,} bytes)",
        f"assets      {', '.join(info.assets) or '-'}",
        f"assets.extra {', '.join(info.assets_extra) or '-'}",
        f"ops         {len(info.ops)} kinds",
    ]
    if info.unsafe_ops:
        lines.append(f"UNSAFE OPS  {', '.join(info.unsafe_ops)}: running this model may touch files or run code")
    lines += ["", *[format_signature(sig) + "\n" for sig in info.signatures.values()]]
    return "\n".join(lines).rstrip()


def _inspect(args: argparse.Namespace) -> int:
    info = inspect_model(args.model, limits=ArchiveLimits.from_environment())
    print(json.dumps(info.to_json(), indent=2) if args.json else format_model_info(info))
    return EXIT_OK


def _report_rows(report) -> list[tuple[str, str, str, str]]:
    return [(check.status.value, check.loader, check.name, check.detail) for check in report.checks]


def _rewrite(args: argparse.Namespace) -> int:
    request = request_from_args(args)
    # Progress only on an interactive terminal: scripts get one error line or none.
    show_progress = sys.stderr.isatty() and not args.json
    progress = (lambda step: print(f"... {step}", file=sys.stderr)) if show_progress else (lambda step: None)
    try:
        result = rewrite_model(
            args.src,
            args.dst,
            request,
            version=args.version,
            overwrite=args.overwrite,
            verify=not args.no_verify,
            progress=progress,
        )
    except VerificationError as err:
        if err.report is not None and not args.json:
            print(format_table(("status", "loader", "check", "detail"), _report_rows(err.report), indent=""), file=sys.stderr)
        print(f"error: {err}", file=sys.stderr)
        return EXIT_VERIFICATION_FAILED
    if args.json:
        print(
            json.dumps(
                {
                    "source": {"path": result.source_info.path, "version": result.source_info.version},
                    "destination": str(result.destination),
                    "signature": {result.plan.result_name: result.plan.result.to_json()},
                    "signatures": result.plan.final_signatures,
                    "dropped": list(result.plan.dropped),
                    "notes": list(result.plan.notes),
                    "verification": result.report.to_json() if result.report else None,
                },
                indent=2,
            )
        )
        return EXIT_OK
    if result.source_info.version is not None:
        print(f"read TF Serving version {result.source_info.version} of {result.source_info.path}")
    print(f"wrote {result.destination}")
    print(format_signature(result.output_info.signatures[result.plan.result_name]))
    for note in result.plan.notes:
        print(f"note: {note}")
    print(f"signatures: {', '.join(result.plan.final_signatures)}")
    if result.plan.dropped:
        print(f"dropped: {', '.join(result.plan.dropped)}")
    if result.report is None:
        print("verification: skipped (--no-verify)")
    else:
        print(f"verification: {result.report.summary}")
        print(format_table(("status", "loader", "check", "detail"), _report_rows(result.report), indent="  "))
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    diff = diff_models(
        args.model_a,
        args.model_b,
        signature_a=args.signature,
        signature_b=args.signature_b,
        limits=ArchiveLimits.from_environment(),
    )
    if args.json:
        print(json.dumps(diff.to_json(), indent=2))
        return EXIT_OK
    print(f"'{diff.a}' → '{diff.b}': {diff.summary}")
    rows = [
        (
            CHANGE_MARKERS[row.change.value],
            row.side,
            row.name,
            f"{row.before.dtype} {_shape_text(row.before.shape)}" if row.before else "-",
            f"{row.after.dtype} {_shape_text(row.after.shape)}" if row.after else "-",
            ", ".join(row.changed_fields),
        )
        for row in diff.rows
    ]
    print(format_table(("", "side", "name", "before", "after", "changed"), rows, indent="  "))
    return EXIT_OK


COMMANDS = {"inspect": _inspect, "rewrite": _rewrite, "diff": _diff}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed
        return int(exit_.code or 0)
    try:
        return COMMANDS[args.command](args)
    except StudioError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:  # the last line of defence: never a traceback for the user
        if os.environ.get("STUDIO_DEBUG"):
            raise
        print(f"error: unexpected failure ({type(err).__name__}: {err}); set STUDIO_DEBUG=1 for details", file=sys.stderr)
        return EXIT_BAD_INPUT
