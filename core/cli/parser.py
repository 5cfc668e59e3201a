"""The command line of ``python -m core``: its flags, and the ``A:B`` pairs some flags take.

Example:
    >>> args = build_parser().parse_args(["rewrite", "src", "dst", "--key", "id", "--forward", "rooms"])
    >>> request_from_args(args).forwards
    (Forward(input='rooms', output='rooms'),)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from core.batch.files import InputFormat
from core.errors import PlanError
from core.rewrite.request import DEFAULT_SIGNATURE, KeyDtype, RewriteRequest, build_request

EXIT_OK = 0
EXIT_VERIFICATION_FAILED = 1
EXIT_PIPELINE_FAILED = 1
EXIT_BAD_INPUT = 2
_UNSAFE_HELP = (
    "run a model that uses unsafe ops (files, Python, network) or a Keras file with code in it "
    "(Lambda layers); it is refused otherwise, and runs sandboxed either way"
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``error: ...`` line and exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="Inspect and rewrite TensorFlow SavedModel signatures.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    inspect = commands.add_parser("inspect", help="show a model's signatures, assets, variables and ops")
    inspect.add_argument("model", help="SavedModel folder, TF Serving base path, archive or Keras file")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.add_argument("--allow-unsafe-ops", action="store_true", help=_UNSAFE_HELP)

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
    rewrite.add_argument("--no-verify", action="store_true", help="skip verification (not recommended)")
    rewrite.add_argument("--allow-unsafe-ops", action="store_true", help=_UNSAFE_HELP)
    rewrite.add_argument("--json", action="store_true")

    diff = commands.add_parser("diff", help="compare two signatures of one model or of two models")
    diff.add_argument("model_a")
    diff.add_argument("model_b")
    diff.add_argument("--signature", default=DEFAULT_SIGNATURE, help="signature of MODEL_A (default: %(default)s)")
    diff.add_argument("--signature-b", help="signature of MODEL_B (default: the same name)")
    diff.add_argument("--json", action="store_true")
    diff.add_argument("--allow-unsafe-ops", action="store_true", help=_UNSAFE_HELP)

    predict = commands.add_parser(
        "predict",
        help="batch prediction on Apache Beam: every row of INPUT through a signature, keyed results in OUTPUT_DIR",
        epilog="Everything after -- goes to Beam's PipelineOptions unchanged (default: the DirectRunner).",
    )
    predict.add_argument("model", help="SavedModel folder, TF Serving base path, archive or Keras file (gs:// and the like too)")
    predict.add_argument("input", help="a file or glob of CSV, JSON lines or TFRecord files")
    predict.add_argument("output_dir", help="where results-*.jsonl and errors-*.jsonl are written")
    predict.add_argument("--signature", default=DEFAULT_SIGNATURE, help="the signature to run (default: %(default)s)")
    predict.add_argument("--key-column", metavar="NAME", help="the column that identifies a row (default: its row number)")
    predict.add_argument("--input-format", choices=[kind.value for kind in InputFormat], help="default: from the file suffix")
    predict.add_argument("--batch-size", type=int, default=1024, help="rows fed to the model at once (default: %(default)s)")
    predict.add_argument("--allow-unsafe-ops", action="store_true", help=_UNSAFE_HELP)
    predict.add_argument("--overwrite", action="store_true", help="replace results and errors of an earlier run in OUTPUT_DIR")
    predict.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    predict.add_argument("--progress-dir", help=argparse.SUPPRESS)  # the Studio reads running counts from here

    export = commands.add_parser(
        "export-config", help="write TF Serving, Vertex AI and Beam hand-off files for a model and signature"
    )
    export.add_argument("model", help="SavedModel folder, TF Serving base path, archive or Keras file")
    export.add_argument("dir", help="a new (or empty) folder for the files")
    export.add_argument("--signature", default=DEFAULT_SIGNATURE, help="the signature to serve (default: %(default)s)")
    export.add_argument("--name", help="the model's name in TF Serving (default: the model folder's name)")
    export.add_argument("--base-path", help="TF Serving's folder of version folders (default: /models/NAME)")
    export.add_argument("--key-field", help="the field that identifies an instance (Vertex AI keyField, Beam --key-column)")
    export.add_argument("--allow-unsafe-ops", action="store_true", help=_UNSAFE_HELP)
    export.add_argument("--json", action="store_true")
    return parser


def split_beam_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """The command's own arguments, and what follows ``--`` (Beam's, passed on unchanged).

    Example:
        >>> split_beam_args(["predict", "m", "in.csv", "out", "--", "--runner", "DirectRunner"])
        (['predict', 'm', 'in.csv', 'out'], ['--runner', 'DirectRunner'])
    """
    argv = list(argv)
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1 :]


def parse_pair(text: str, *, flag: str, optional_second: bool = False) -> tuple[str, str]:
    """Split ``A:B`` (or ``A`` alone when ``optional_second``) as given to a flag.

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
        form = "INPUT[:OUTPUT]" if optional_second else "OLD:NEW"
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
        result_name=args.result_name,
        keep_original=args.keep_original,
        drop=args.drop,
        rename_signatures=[parse_pair(text, flag="--rename-signature") for text in args.rename_signature],
        drop_optimizer=args.drop_optimizer,
    )
