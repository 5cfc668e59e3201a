"""``python -m core rewrite``: its flags, the request they make, and the run that writes,
verifies and reports the result.

Example:
    >>> import argparse
    >>> commands = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> add_rewrite_command(commands, unsafe_help="")
    >>> args = commands.choices["rewrite"].parse_args(["src", "dst", "--key", "id", "--forward", "rooms"])
    >>> request_from_args(args).forwards
    (Forward(input='rooms', output='rooms'),)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli.early import EarlyStart
from core.cli.exits import EXIT_OK, EXIT_VERIFICATION_FAILED
from core.errors import PlanError, VerificationError
from core.present.text import format_report, format_rewrite
from core.progress import SILENT, Progress
from core.rewrite.request import DEFAULT_SIGNATURE, KeyDtype, RewriteRequest, build_request
from core.sources.archive import ArchiveLimits
from core.workflows import rewrite_model


def add_rewrite_command(commands: argparse._SubParsersAction, *, unsafe_help: str) -> None:
    """Add ``rewrite`` and its flags to the subcommands ``commands``."""
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
    rewrite.add_argument("--rename-input", action="append", default=[], metavar="OLD:NEW", help="take an input under a new name")
    rewrite.add_argument(
        "--cast-input",
        action="append",
        default=[],
        metavar="NAME:DTYPE",
        help="take a numeric input in the dtype clients send (int64, float64, …) and cast it inside",
    )
    rewrite.add_argument(
        "--as", dest="result_name", metavar="NAME", help="add the result under NAME instead of replacing the base"
    )
    rewrite.add_argument("--keep-original", metavar="NAME", help="keep the untouched base signature under NAME")
    rewrite.add_argument(
        "--from-function",
        metavar="PATH",
        help="serve a function of the object graph (inspect lists them) as the signature --as NAME (default: --signature)",
    )
    rewrite.add_argument(
        "--raw-features",
        action="store_true",
        help=(
            "for a signature that parses serialized tf.Examples: a signature taking each parsed feature as a tensor, "
            "added beside it as SIGNATURE_raw (or --as NAME)"
        ),
    )
    rewrite.add_argument("--drop", action="append", default=[], metavar="NAME", help="drop another signature")
    rewrite.add_argument("--rename-signature", action="append", default=[], metavar="OLD:NEW", help="rename another signature")
    rewrite.add_argument(
        "--drop-optimizer",
        action="store_true",
        help="remove training-only optimizer state from the object graph, so tf.saved_model.load can load a Keras 2-era export",
    )
    rewrite.add_argument("--version", type=int, help="write the TF Serving layout DST/N/")
    rewrite.add_argument("--overwrite", action="store_true", help="replace an existing destination")
    rewrite.add_argument(
        "--verify-with",
        metavar="FILE",
        type=Path,
        help="real rows to verify with: a TF Serving REST request (.json), JSON lines (.jsonl) or CSV (.csv)",
    )
    rewrite.add_argument(
        "--warmup",
        type=int,
        default=0,
        metavar="N",
        help="write N TF Serving warmup requests (assets.extra/tf_serving_warmup_requests) of rows the model accepts",
    )
    rewrite.add_argument(
        "--warmup-from",
        metavar="FILE",
        type=Path,
        help="write the warmup requests from real rows: a TF Serving REST request (.json), JSON lines or CSV (one per row)",
    )
    rewrite.add_argument("--no-verify", action="store_true", help="skip verification (not recommended)")
    rewrite.add_argument("--allow-unsafe-ops", action="store_true", help=unsafe_help)
    rewrite.add_argument("--json", action="store_true")


def parse_pair(text: str, *, flag: str, optional_second: bool = False, form: str | None = None) -> tuple[str, str]:
    """Split ``A:B`` (or ``A`` alone when ``optional_second``) as given to a flag; ``form``
    names what the flag takes in the message (default ``OLD:NEW``).

    Raises:
        PlanError: the text is not of the form the flag takes.

    Example:
        >>> parse_pair("rooms:rooms_out", flag="--forward", optional_second=True)
        ('rooms', 'rooms_out')
    """
    first, sep, second = text.partition(":")
    if not sep and optional_second:
        second = first
    if not first or not second or (not sep and not optional_second):
        form = form or ("INPUT[:OUTPUT]" if optional_second else "OLD:NEW")
        raise PlanError(f"{flag} takes {form}; received '{text}'")
    return first, second


def request_from_args(args: argparse.Namespace) -> RewriteRequest:
    """Turn parsed ``rewrite`` flags into a ``RewriteRequest`` through the shared builder."""
    return build_request(
        signature=args.signature,
        key=args.key,
        key_dtype=args.key_dtype,
        forwards=[parse_pair(text, flag="--forward", optional_second=True) for text in args.forward],
        rename_outputs=[parse_pair(text, flag="--rename-output") for text in args.rename_output],
        rename_inputs=[parse_pair(text, flag="--rename-input") for text in args.rename_input],
        cast_inputs=[parse_pair(text, flag="--cast-input", form="NAME:DTYPE") for text in args.cast_input],
        result_name=args.result_name,
        keep_original=args.keep_original,
        drop=args.drop,
        rename_signatures=[parse_pair(text, flag="--rename-signature") for text in args.rename_signature],
        drop_optimizer=args.drop_optimizer,
        from_function=args.from_function,
        raw_features=args.raw_features,
    )


def _early_parts(early: EarlyStart | None) -> dict:
    if early is None:
        return {}
    return {"staging": early.staging, "scope": early.scope, "work_dir": early.work_dir}


def run_rewrite(args: argparse.Namespace) -> int:
    """Run ``rewrite`` as parsed; prints the result (or its report when verification failed)."""
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
            warmup_count=args.warmup,
            warmup_from=args.warmup_from,
            **_early_parts(args.early),
        )
    except VerificationError as err:
        if err.report is not None and not args.json:
            print(format_report(err.report, indent=""), file=sys.stderr)
        print(f"error: {err}", file=sys.stderr)
        return EXIT_VERIFICATION_FAILED
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(format_rewrite(result))
    return EXIT_OK
