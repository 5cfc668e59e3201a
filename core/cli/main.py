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
from core.cli.exits import EXIT_BAD_INPUT, EXIT_OK, EXIT_PIPELINE_FAILED, error_line, one_line
from core.cli.parser import build_parser, split_beam_args
from core.cli.rewrite_command import run_rewrite
from core.errors import BatchRunError, InputDataError, StudioError, describe
from core.execution.sandbox import sandbox_warning
from core.present.text import format_diff, format_model_info, format_served_diff
from core.sources.archive import ArchiveLimits
from core.sources.stage import open_saved_model
from core.workflows import diff_against_served, diff_models, inspect_model


def _inspect(args: argparse.Namespace) -> int:
    info = inspect_model(args.model, limits=ArchiveLimits.from_environment(), allow_unsafe_code=args.allow_unsafe_ops)
    print(json.dumps(info.to_json(), indent=2) if args.json else format_model_info(info))
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    if args.model_b.lower().endswith(".json"):  # a deployment's metadata: what changes for its clients
        try:
            text = Path(args.model_b).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise InputDataError(f"{args.model_b} cannot be read as TF Serving's metadata JSON ({describe(err)})") from err
        info = inspect_model(args.model_a, limits=ArchiveLimits.from_environment(), allow_unsafe_code=args.allow_unsafe_ops)
        served = diff_against_served(
            info, text, display=Path(args.model_b).name, signature=args.signature, served_signature=args.signature_b
        )
        print(json.dumps(served.to_json(), indent=2) if args.json else format_served_diff(served))
        return EXIT_OK
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


COMMANDS = {"inspect": _inspect, "rewrite": run_rewrite, "diff": _diff, "predict": _predict, "export-config": _export_config}


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
