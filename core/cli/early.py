"""Start the workers of ``rewrite`` and ``predict`` before this process imports TensorFlow.

Both take seconds; done one after the other they add up. ``python -m core rewrite SRC DST``
makes the staging folder beside DST and starts the workers that will read SRC and it, then
imports the rest of the Studio while they import TensorFlow. Only light modules are imported
here: nothing of TensorFlow.

Example:
    >>> start_early(["inspect", "sample_models/house_price"]) is None
    True
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from core.execution.pool import Scope
from core.rewrite.publish import Staging
from core.sources.stage import TEMP_PREFIX


@dataclass
class EarlyStart:
    """What ``rewrite`` (or ``predict``) made ready: the staging folder (``rewrite`` only), where
    archives unpack and workers write, the workers' scope."""

    staging: Staging | None
    work_dir: Path
    scope: Scope


class _QuietParser(argparse.ArgumentParser):
    """Reads the few arguments the early start needs; one it cannot read is the real parser's to
    report (after ``--help`` too), so it fails silently instead of printing usage."""

    def __init__(self) -> None:
        super().__init__(add_help=False)

    def error(self, message: str) -> NoReturn:
        raise SystemExit(2)


def _start_predict(argv: list[str]) -> EarlyStart | None:
    """For ``predict MODEL …`` of a model folder on this machine: the worker that will serve it."""
    parser = _QuietParser()
    parser.add_argument("model")
    try:
        args, _ = parser.parse_known_args(argv[1 : argv.index("--") if "--" in argv else len(argv)])
    except SystemExit:
        return None
    model = Path(args.model)
    if "://" in args.model or not model.is_dir():
        return None  # remote, an archive or a Keras file: staged first, its worker starts then
    try:
        work_dir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    except OSError:
        return None
    scope = Scope.of(model, scratch_parent=work_dir)
    scope.prewarm()
    return EarlyStart(None, work_dir, scope)


def start_early(argv: list[str]) -> EarlyStart | None:
    """For ``rewrite SRC DST`` that will run model code, make the folders and start the workers,
    and for ``predict`` of a local model folder, its worker; None for anything else, or when the
    folders cannot be made (the command then says why)."""
    if argv and argv[0] == "predict":
        return _start_predict(argv)
    if not argv or argv[0] != "rewrite":
        return None
    parser = _QuietParser()
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--no-verify", action="store_true")
    try:
        args, _ = parser.parse_known_args(argv[1:])
    except SystemExit:
        return None
    if args.no_verify:
        return None  # the engine alone: a worker only for the TF2 load/save engine, started when needed
    try:
        source = Path(args.src).resolve()
        staging = Staging(Path(args.dst)).open()
        work_dir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    except (OSError, ValueError, RuntimeError):
        return None
    # The source itself (a folder, or the Keras file a worker exports) and where archives unpack.
    scope = Scope.of(source, work_dir, staging.path, scratch_parent=staging.path)
    scope.prewarm(count=2)  # one per loader
    return EarlyStart(staging, work_dir, scope)
