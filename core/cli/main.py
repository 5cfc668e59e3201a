"""``python -m core``: inspect, rewrite and diff SavedModel signatures, run batch prediction on
Apache Beam, and write hand-off files for serving, from the shell.

Exit codes: 0 done; 1 verification failed (nothing written) or the batch pipeline failed; 2 bad input of any kind, with
one ``error: ...`` line on stderr and no traceback (set STUDIO_DEBUG=1 to see tracebacks).
Archive limits come from STUDIO_MAX_ARCHIVE_BYTES and STUDIO_MAX_ARCHIVE_MEMBERS.

Example:
    >>> main(["inspect", "sample_models/house_price", "--json"])  # doctest: +ELLIPSIS
    {
      "path": "sample_models/house_price",
    ...
    0
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.cli.early import EarlyStart
from core.cli.parser import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_PIPELINE_FAILED,
    EXIT_VERIFICATION_FAILED,
    build_parser,
    request_from_args,
    split_beam_args,
)
from core.errors import BatchRunError, OutputError, StudioError, UnsafeModelError, VerificationError
from core.execution.sandbox import sandbox_warning
from core.present.text import format_diff, format_model_info, format_report, format_signature
from core.progress import SILENT, Progress
from core.sources.archive import ArchiveLimits
from core.sources.stage import open_saved_model
from core.workflows import RewriteResult, diff_models, inspect_model, rewrite_model


def _inspect(args: argparse.Namespace) -> int:
    info = inspect_model(args.model, limits=ArchiveLimits.from_environment(), allow_unsafe_code=args.allow_unsafe_ops)
    print(json.dumps(info.to_json(), indent=2) if args.json else format_model_info(info))
    return EXIT_OK


def rewrite_json(result: RewriteResult) -> dict:
    """The ``rewrite --json`` object."""
    return {
        "source": {"path": result.source_info.path, "version": result.source_info.version},
        "destination": str(result.destination),
        "signature": {result.plan.result_name: result.plan.result.to_json()},
        "signatures": result.plan.final_signatures,
        "dropped": list(result.plan.dropped),
        "dropped_optimizer_state": [
            {"path": o.path, "identifier": o.identifier, "slot_variables": o.slot_variables, "variables": o.variables}
            for o in result.plan.dropped_optimizers
        ],
        "notes": list(result.notes),
        "engine": result.engine.value,
        "verification": result.report.to_json() if result.report else None,
    }


def _print_rewrite(result: RewriteResult) -> None:
    if result.source_info.version is not None:
        print(f"read TF Serving version {result.source_info.version} of {result.source_info.path}")
    print(f"wrote {result.destination}")
    print(format_signature(result.output_info.signatures[result.plan.result_name]))
    for note in result.notes:
        print(f"note: {note}")
    print(f"signatures: {', '.join(result.plan.final_signatures)}")
    if result.plan.dropped:
        print(f"dropped: {', '.join(result.plan.dropped)}")
    for state in result.plan.dropped_optimizers:
        print(f"dropped optimizer state: {state.describe()}, {state.variables} variables")
    if result.report is None:
        print("verification: skipped (--no-verify)")
    else:
        print(f"verification: {result.report.summary}")
        print(format_report(result.report))


def _early_parts(early: EarlyStart | None) -> dict:
    if early is None:
        return {}
    return {"staging": early.staging, "scope": early.scope, "work_dir": early.work_dir}


def _rewrite(args: argparse.Namespace) -> int:
    request = request_from_args(args)
    # Progress only on an interactive terminal: scripts get one error line or none.
    show_progress = sys.stderr.isatty() and not args.json
    progress = Progress(report=lambda step: print(f"... {step}", file=sys.stderr)) if show_progress else SILENT
    try:
        result = rewrite_model(
            args.src,
            args.dst,
            request,
            version=args.version,
            overwrite=args.overwrite,
            verify=not args.no_verify,
            allow_unsafe_ops=args.allow_unsafe_ops,
            limits=ArchiveLimits.from_environment(),
            progress=progress,
            verify_with=args.verify_with,
            **_early_parts(args.early),
        )
    except VerificationError as err:
        if err.report is not None and not args.json:
            print(format_report(err.report, indent=""), file=sys.stderr)
        print(f"error: {err}", file=sys.stderr)
        return EXIT_VERIFICATION_FAILED
    if args.json:
        print(json.dumps(rewrite_json(result), indent=2))
    else:
        _print_rewrite(result)
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    diff = diff_models(
        args.model_a,
        args.model_b,
        signature_a=args.signature,
        signature_b=args.signature_b,
        limits=ArchiveLimits.from_environment(),
        allow_unsafe_code=args.allow_unsafe_ops,
    )
    print(json.dumps(diff.to_json(), indent=2) if args.json else format_diff(diff))
    return EXIT_OK


def _predict(args: argparse.Namespace) -> int:
    if not os.environ.get("STUDIO_DEBUG"):
        logging.getLogger().setLevel(logging.CRITICAL)  # Beam's chatter and tracebacks; a failure is one error line
    from core.batch.files import InputFormat
    from core.batch.pipeline import predict  # Beam loads only for this command

    try:
        summary = predict(
            args.model,
            args.input,
            args.output_dir,
            signature=args.signature,
            key_column=args.key_column,
            input_format=InputFormat(args.input_format) if args.input_format else None,
            block_rows=args.batch_size,
            beam_args=args.beam_args,
            allow_unsafe_ops=args.allow_unsafe_ops,
            overwrite=args.overwrite,
            progress_dir=args.progress_dir,
            worker_scratch=str(args.early.work_dir) if args.early is not None else None,
        )
    except BatchRunError as err:
        print(error_line(err), file=sys.stderr)
        return EXIT_PIPELINE_FAILED
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        print(f"{summary.rows} rows: {summary.predicted} predicted, {summary.rejected} rejected")
        print(f"results: {summary.results}")
        print(f"errors: {summary.errors}")
    return EXIT_OK


def _export_config(args: argparse.Namespace) -> int:
    from core.batch.handoff import handoff_files, write_handoff

    with open_saved_model(args.model, limits=ArchiveLimits.from_environment(), allow_unsafe_code=args.allow_unsafe_ops) as handle:
        handoff = handoff_files(
            handle, signature=args.signature, model_name=args.name, base_path=args.base_path, key_field=args.key_field
        )
    written = write_handoff(handoff, Path(args.dir))
    if args.json:
        print(json.dumps({"dir": args.dir, "files": sorted(handoff.files), "warnings": handoff.warnings}, indent=2))
        return EXIT_OK
    for warning in handoff.warnings:
        print(f"warning: {one_line(warning)}", file=sys.stderr)
    print(f"wrote {len(written)} files to {args.dir}: {', '.join(sorted(handoff.files))}")
    return EXIT_OK


COMMANDS = {"inspect": _inspect, "rewrite": _rewrite, "diff": _diff, "predict": _predict, "export-config": _export_config}


def one_line(text: str) -> str:
    r"""``text`` with line breaks and other control characters written as escapes, so a name
    that holds one never splits the one ``error:`` line.

    Example:
        >>> print(one_line("key name 'a\nb' is not valid"))
        key name 'a\nb' is not valid
    """
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


def error_line(err: StudioError) -> str:
    """The one ``error: ...`` line for ``err``, in the CLI's words."""
    text = one_line(str(err))
    if isinstance(err, OutputError) and err.needs_overwrite:
        text += "; pass --overwrite to replace it or choose another destination"
    if isinstance(err, UnsafeModelError):
        text += "; pass --allow-unsafe-ops to run it anyway"
    return f"error: {text}"


def main(argv: Sequence[str] | None = None, *, early: EarlyStart | None = None) -> int:
    """Run one command; returns the exit code. ``early``: what ``core.cli.early`` made ready."""
    own, beam_args = split_beam_args(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(own)
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed
        return int(exit_.code or 0)
    if beam_args and args.command != "predict":
        print(f"error: only predict passes arguments after -- (to Beam); received {beam_args}", file=sys.stderr)
        return EXIT_BAD_INPUT
    args.early, args.beam_args = early, beam_args
    warning = sandbox_warning()
    if warning and args.command in ("rewrite", "predict"):
        print(f"warning: {warning}", file=sys.stderr)
    try:
        return COMMANDS[args.command](args)
    except StudioError as err:
        print(error_line(err), file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:  # the last line of defence: never a traceback for the user
        if os.environ.get("STUDIO_DEBUG"):
            raise
        print(
            one_line(f"error: unexpected failure ({type(err).__name__}: {err}); set STUDIO_DEBUG=1 for details"), file=sys.stderr
        )
        return EXIT_BAD_INPUT
