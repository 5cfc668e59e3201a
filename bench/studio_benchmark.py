"""Benchmark the Studio on small models: Apply (key + verification) and the first Try answer.

Run from the project root:  python bench/studio_benchmark.py [--repeats 5] [--model PATH ...]

The Studio's own code path (a ``StudioSession``, as the page calls it) once it is up: a model is
loaded, the user reads it for a few seconds (``--read-seconds``), then Apply is clicked; once
the report is in, the first Try request runs on the rewritten model. Apply is timed from the
click to the finished job, Try from the request to its answer. Targets (issue "The Studio,
tried with strangers' models"): Apply ≤ 3 s, the first Try answer ≤ 2 s. The baseline is the
same rewrite as a command (``python -m core rewrite SRC DST --key K``), timed in the same run.

By default the committed samples (TF2, TF1 with assets, a Keras 2-era export) are measured;
``--model`` adds any SavedModel folder (a public one, say). Medians are printed, and the ratio
of Apply to the command.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.rewrite.request import RewriteRequest  # noqa: E402
from core.serve.rest import example_request, parse_rest_request  # noqa: E402
from core.studio.jobs import JobState  # noqa: E402
from core.studio.session import StudioSession  # noqa: E402

SAMPLES = ["house_price", "tf1_half_plus_two", "keras2_churn"]
APPLY_TARGET_S = 3.0
TRY_TARGET_S = 2.0


def studio_round(session: StudioSession, model: Path, key: str, read_seconds: float) -> tuple[float, float]:
    """Load ``model``, wait as a reader would, Apply a key, then the first Try: (apply s, try s)."""
    loaded = session.load_path(str(model))
    time.sleep(read_seconds)
    start = time.perf_counter()
    job = session.start_apply(RewriteRequest(key=key)).wait(600)
    apply_seconds = time.perf_counter() - start
    if job.state is not JobState.DONE or session.rewrite is None or not session.rewrite.result.report.ok:
        raise SystemExit(f"Apply failed on {loaded.label}: {job.error}")
    handle = session.rewrite.handle
    signature = handle.info.signatures[session.rewrite.result.plan.result_name]
    body = example_request(signature, example_spec=handle.example_spec, example_inputs=handle.example_inputs(signature.name))
    start = time.perf_counter()
    request = parse_rest_request(body, handle.info.signatures)
    session.model_runner(handle).run(request.signature, request.feeds)
    return apply_seconds, time.perf_counter() - start


def command_seconds(model: Path, key: str, work: Path) -> float:
    destination = work / f"cli-{time.monotonic_ns()}"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "core", "rewrite", str(model), str(destination), "--key", key],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"rewrite failed on {model}: {done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--read-seconds", type=float, default=6.0, help="time between loading and Apply")
    parser.add_argument("--model", type=Path, action="append", default=[], help="another SavedModel folder")
    args = parser.parse_args()
    models = [ROOT / "sample_models" / name for name in SAMPLES] + [path.resolve() for path in args.model]
    session = StudioSession(roots=sorted({model.parent for model in models}))
    print(f"{'model':<28} {'Apply':>8} {'first Try':>10} {'command':>9} {'Apply/command':>14}")
    try:
        with tempfile.TemporaryDirectory(prefix="studio-bench-") as scratch:
            for model in models:
                applies, tries, commands = [], [], []
                for round_number in range(args.repeats):
                    key = f"instance_key_{round_number}"
                    apply_seconds, try_seconds = studio_round(session, model, key, args.read_seconds)
                    applies.append(apply_seconds)
                    tries.append(try_seconds)
                    commands.append(command_seconds(model, key, Path(scratch)))
                    session.load_path(str(ROOT / "sample_models" / SAMPLES[0]))  # another model in between
                apply_median, try_median, command_median = map(statistics.median, (applies, tries, commands))
                verdict = "ok" if apply_median <= APPLY_TARGET_S and try_median <= TRY_TARGET_S else "MISSED"
                print(
                    f"{model.name:<28} {apply_median:>7.2f}s {try_median:>9.2f}s {command_median:>8.2f}s "
                    f"{apply_median / command_median:>13.2f}x  {verdict}"
                )
    finally:
        session.close()


if __name__ == "__main__":
    main()
