"""The command line of ``python -m core``: every command's flags (``rewrite``'s are in
``core.cli.rewrite_command``), and the arguments after ``--`` that go to Beam.

Example:
    >>> build_parser().parse_args(["diff", "a", "b", "--signature", "serve"]).signature
    'serve'
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from core.batch.files import InputFormat
from core.cli.exits import EXIT_BAD_INPUT
from core.cli.rewrite_command import add_rewrite_command
from core.rewrite.request import DEFAULT_SIGNATURE

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

    add_rewrite_command(commands, unsafe_help=_UNSAFE_HELP)

    diff = commands.add_parser("diff", help="compare two signatures of one model or of two models")
    diff.add_argument("model_a")
    diff.add_argument(
        "model_b", help="another model, or a deployment's TF Serving metadata (.json, from GET /v1/models/NAME/metadata)"
    )
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
