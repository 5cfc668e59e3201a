"""Benchmark inspect and rewrite on generated TF2 and TF1 models with ~1 GB of variables.

Run from the project root:  python bench/benchmark.py [--gigabytes 1.0] [--repeats 3] [--engine-gigabytes 4]

Every measurement runs in a fresh subprocess (so TensorFlow's import is counted the same way
for every contender); contenders are interleaved round by round with ``sync`` before each run.
The table shows medians, peak RSS (the process and its children) and the ratio against the
baseline named in the issue:

* ``inspect`` vs ``saved_model_cli show --all`` (and vs inspecting a tiny model: the time must
  not grow with the variables, because only ``saved_model.pb`` and the index are read);
* ``rewrite --key`` (verified, and with ``--no-verify``) vs the manual recipe (load, wrap in a
  ``tf.function``, ``tf.saved_model.save``) and vs ``cp -r`` of the model;
* ``rewrite --no-verify`` vs the floor of any rewrite command, ``python -c 'import tensorflow'``
  followed by ``cp -r``, and its peak memory above a bare TensorFlow import — also on TF2 models
  of ``--engine-gigabytes`` (memory must not grow with the variables);
* the Streamlit server's code path (a ``StudioSession``) after each of ten Applies.

Models are generated into a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIABLE_ROWS = 8192

GENERATE_TF2 = """
import sys, numpy as np, tensorflow as tf
count, target = int(sys.argv[1]), sys.argv[2]
class Big(tf.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.w = [tf.Variable(rng.standard_normal(({rows}, {rows}), dtype=np.float32)) for _ in range(count)]
    @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
    def serve(self, x):
        return {{"y": tf.add_n([x @ w[:8, :4] for w in self.w])}}
m = Big()
tf.saved_model.save(m, target, signatures={{"serving_default": m.serve}})
"""

GENERATE_TF1 = """
import sys, tensorflow as tf
count, target = int(sys.argv[1]), sys.argv[2]
v1 = tf.compat.v1
g = tf.Graph()
with g.as_default(), v1.Session(graph=g) as s:
    x = v1.placeholder(tf.float32, [None, 8], name="x")
    ws = [
        v1.get_variable(f"w{{i}}", [{rows}, {rows}], initializer=v1.random_normal_initializer(seed=i), use_resource=False)
        for i in range(count)
    ]
    y = tf.add_n([tf.matmul(x, w[:8, :4]) for w in ws], name="y")
    s.run(v1.global_variables_initializer())
    b = v1.saved_model.builder.SavedModelBuilder(target)
    sig = v1.saved_model.signature_def_utils.predict_signature_def({{"x": x}}, {{"y": y}})
    b.add_meta_graph_and_variables(s, ["serve"], signature_def_map={{"serving_default": sig}})
    b.save()
"""

MANUAL_RECIPE = """
import sys, tensorflow as tf
source, target = sys.argv[1], sys.argv[2]
loaded = tf.saved_model.load(source)
base = loaded.signatures["serving_default"]
specs = dict(base.structured_input_signature[1])
@tf.function(input_signature=[{**specs, "k": tf.TensorSpec([None], tf.string, name="k")}])
def keyed(inputs):
    outputs = base(**{n: inputs[n] for n in specs})
    return {**outputs, "k": tf.identity(inputs["k"])}
tf.saved_model.save(loaded, target, signatures={"serving_default": keyed.get_concrete_function()})
"""

CHECK_INFERENCE = """
import sys, numpy as np, tensorflow as tf
g = tf.Graph()
with g.as_default(), tf.compat.v1.Session(graph=g) as s:
    meta = tf.compat.v1.saved_model.loader.load(s, ["serve"], sys.argv[1])
    sig = meta.signature_def["serving_default"]
    feeds = {sig.inputs["x"].name: np.ones([2, 8], np.float32)}
    if "k" in sig.inputs:
        feeds[sig.inputs["k"].name] = np.array([b"a", b"b"], object)
    s.run({k: v.name for k, v in sig.outputs.items()}, feeds)
"""


IN_PROCESS = """
import json, shutil, statistics, sys, time
from pathlib import Path
from core.workflows import inspect_model
from core.rewrite.apply import apply_rewrite
from core.rewrite.plan import plan_rewrite
from core.rewrite.request import RewriteRequest
from core.savedmodel.handle import read_saved_model
model, tiny, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
def median_of(action, repeats=5):
    times = []
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    shutil.rmtree(out, ignore_errors=True)
    return statistics.median(times)
source = read_saved_model(model)
plan = plan_rewrite(source.info, RewriteRequest(key="k"))
print(json.dumps({
    "inspect": median_of(lambda: inspect_model(model)),
    "inspect_tiny": median_of(lambda: inspect_model(tiny)),
    "engine": median_of(lambda: apply_rewrite(source, plan, out), repeats=3),
}))
"""


SERVER_RSS = """
import json, os, sys
from pathlib import Path
from core.rewrite.request import RewriteRequest
from core.studio.session import StudioSession
model, applies = Path(sys.argv[1]), int(sys.argv[2])
def rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS:"))
session = StudioSession(roots=[model.parent])
session.load_path(str(model))
after = []
for index in range(applies):
    session.start_apply(RewriteRequest(key=f"key_{index}")).wait()
    after.append(rss_mib())
session.close()
print(json.dumps(after))
"""


def run_measured(command: list[str]) -> tuple[float, int, str]:
    """Run ``command``; return (seconds, peak RSS in MiB, stdout) of that process."""
    start = time.perf_counter()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        stdout.seek(0)
        stderr.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {stderr.read().decode()[-2000:]}")
        return elapsed, usage.ru_maxrss // 1024, stdout.read().decode()


def measure_interleaved(contenders: list[tuple[str, object, object]], repeats: int) -> list[dict]:
    """Run every contender once per round, for ``repeats`` rounds; medians and peak RSS.

    Interleaving spreads slow drifts of the machine over all contenders, and ``sync`` before
    each run keeps one run's disk write-back out of the next one's time.
    """
    times: dict[str, list[float]] = {label: [] for label, _, _ in contenders}
    peaks: dict[str, int] = dict.fromkeys(times, 0)
    for _ in range(repeats):
        for label, make_command, cleanup in contenders:
            cleanup()
            os.sync()
            seconds, peak, _ = run_measured(make_command())
            times[label].append(seconds)
            peaks[label] = max(peaks[label], peak)
    for _, _, cleanup in contenders:
        cleanup()
    return [
        {"label": label, "median_s": statistics.median(times[label]), "times": times[label], "peak_mib": peaks[label]}
        for label in times
    ]


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code), *args]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def works_at_inference(model: Path) -> bool:
    try:
        run_measured(python(CHECK_INFERENCE, str(model)))
    except RuntimeError:
        return False
    return True


def bench_model(kind: str, model: Path, work: Path, repeats: int) -> list[dict]:
    out = work / f"out-{kind}"

    def clear():
        shutil.rmtree(out, ignore_errors=True)

    cli = [sys.executable, "-m", "core"]
    saved_model_cli = shutil.which("saved_model_cli") or "saved_model_cli"
    tiny = ROOT / "sample_models" / "house_price"

    def nothing() -> None:
        """Read-only contenders leave nothing to clear."""

    rows = measure_interleaved(
        [
            (f"{kind}: inspect (this tool)", lambda: [*cli, "inspect", str(model), "--json"], nothing),
            (f"{kind}: inspect tiny model (this tool)", lambda: [*cli, "inspect", str(tiny), "--json"], nothing),
            (f"{kind}: saved_model_cli show --all", lambda: [saved_model_cli, "show", "--dir", str(model), "--all"], nothing),
            (f"{kind}: rewrite --key (verified)", lambda: [*cli, "rewrite", str(model), str(out), "--key", "k"], clear),
            (
                f"{kind}: rewrite --key --no-verify",
                lambda: [*cli, "rewrite", str(model), str(out), "--key", "k", "--no-verify"],
                clear,
            ),
            (f"{kind}: manual recipe (load, wrap, save)", lambda: python(MANUAL_RECIPE, str(model), str(out)), clear),
            (f"{kind}: cp -r", lambda: ["cp", "-r", str(model), str(out)], clear),
            *import_and_copy(kind, model, out, clear),
        ],
        repeats,
    )
    run_measured(python(MANUAL_RECIPE, str(model), str(out)))
    rows[5]["works"] = works_at_inference(out)
    clear()
    run_measured([*cli, "rewrite", str(model), str(out), "--key", "k", "--no-verify"])
    rows[3]["works"] = rows[4]["works"] = works_at_inference(out)
    clear()
    _, peak, printed = run_measured(python(IN_PROCESS, str(model), str(tiny), str(out)))
    in_process = json.loads(printed.strip().splitlines()[-1])
    rows += [
        {"label": f"{kind}: inspect, in-process", "median_s": in_process["inspect"], "peak_mib": peak},
        {"label": f"{kind}: inspect tiny model, in-process", "median_s": in_process["inspect_tiny"], "peak_mib": peak},
        {"label": f"{kind}: rewrite engine, in-process, no verify", "median_s": in_process["engine"], "peak_mib": peak},
    ]
    return rows


def import_and_copy(kind: str, model: Path, out: Path, clear) -> list[tuple]:
    """The floor of any rewrite command: TensorFlow's import alone, and it followed by ``cp -r``."""
    both = f"{shlex.quote(sys.executable)} -c 'import tensorflow' && cp -r {shlex.quote(str(model))} {shlex.quote(str(out))}"
    return [
        (f"{kind}: python -c 'import tensorflow'", lambda: python("import tensorflow"), lambda: None),
        (f"{kind}: import tensorflow + cp -r", lambda: ["sh", "-c", both], clear),
    ]


def bench_engine_size(model: Path, work: Path, repeats: int, label: str) -> list[dict]:
    """``rewrite --no-verify`` of a TF2 model against TensorFlow's import plus ``cp -r``."""
    out = work / "out-size"

    def clear():
        shutil.rmtree(out, ignore_errors=True)

    cli = [sys.executable, "-m", "core"]
    return measure_interleaved(
        [
            (
                f"{label}: rewrite --key --no-verify",
                lambda: [*cli, "rewrite", str(model), str(out), "--key", "k", "--no-verify"],
                clear,
            ),
            *import_and_copy(label, model, out, clear),
        ],
        repeats,
    )


def server_rss(kind: str, model: Path, applies: int = 10) -> dict:
    """The UI's code path (a StudioSession in one process, as in the Streamlit server): RSS of
    that process after each of ``applies`` Applies of the model; models run in workers."""
    _, _, printed = run_measured(python(SERVER_RSS, str(model), str(applies)))
    after = json.loads(printed.strip().splitlines()[-1])
    return {"kind": kind, "first": after[0], "last": after[-1], "growth": after[-1] - after[0], "all": after}


def print_table(rows: list[dict], baselines: dict[str, str]) -> None:
    by_label = {row["label"]: row for row in rows}
    print(f"| {'measurement':48} | median s | peak RSS MiB | vs baseline | output serves |")
    print(f"|{'-' * 50}|---------:|-------------:|:------------|:--------------|")
    for row in rows:
        baseline = baselines.get(row["label"])
        ratio = f"{row['median_s'] / by_label[baseline]['median_s']:.2f}× {baseline.split(': ', 1)[1]}" if baseline else ""
        works = {True: "yes", False: "NO (fails at inference)"}.get(row.get("works"), "")
        print(f"| {row['label']:48} | {row['median_s']:8.3f} | {row['peak_mib']:12} | {ratio:11} | {works} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.0, help="variable size of each generated model")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--engine-gigabytes", type=float, nargs="*", default=[4.0],
        help="more sizes of TF2 model for rewrite --no-verify against import + cp -r (memory must not grow)",
    )  # fmt: skip
    args = parser.parse_args()
    count = max(1, round(args.gigabytes * 1024**3 / (VARIABLE_ROWS * VARIABLE_ROWS * 4)))
    with tempfile.TemporaryDirectory(prefix="signature-studio-bench-") as scratch:
        work = Path(scratch)
        rows: list[dict] = []
        baselines: dict[str, str] = {}
        rss = []
        for kind, generator in (("TF2", GENERATE_TF2), ("TF1", GENERATE_TF1)):
            model = work / kind
            run_measured(python(generator.format(rows=VARIABLE_ROWS), str(count), str(model)))
            print(f"{kind} model: {folder_size(model) / 1024**3:.2f} GiB", file=sys.stderr)
            rows += bench_model(kind, model, work, args.repeats)
            rss.append(server_rss(kind, model))
            baselines[f"{kind}: inspect (this tool)"] = f"{kind}: saved_model_cli show --all"
            baselines[f"{kind}: inspect tiny model (this tool)"] = f"{kind}: inspect (this tool)"
            for label in ("rewrite --key (verified)", "rewrite --key --no-verify"):
                baselines[f"{kind}: {label}"] = f"{kind}: manual recipe (load, wrap, save)"
            baselines[f"{kind}: inspect tiny model, in-process"] = f"{kind}: inspect, in-process"
            baselines[f"{kind}: rewrite engine, in-process, no verify"] = f"{kind}: cp -r"
        for size in args.engine_gigabytes:
            label = f"TF2 {size:g} GiB"
            model = work / label.replace(" ", "-")
            shutil.rmtree(work / "TF1", ignore_errors=True)
            size_count = max(1, round(size * 1024**3 / (VARIABLE_ROWS * VARIABLE_ROWS * 4)))
            run_measured(python(GENERATE_TF2.format(rows=VARIABLE_ROWS), str(size_count), str(model)))
            print(f"{label} model: {folder_size(model) / 1024**3:.2f} GiB", file=sys.stderr)
            rows += bench_engine_size(model, work, args.repeats, label)
            shutil.rmtree(model, ignore_errors=True)
    print(f"\n{args.repeats} runs each, medians; {count} variables of {VARIABLE_ROWS}x{VARIABLE_ROWS} float32 per model\n")
    print_table(rows, baselines)
    print("\nrewrite --no-verify against the floor (TensorFlow's import, then cp -r), and its memory above the import:")
    by_label = {row["label"]: row for row in rows}
    for label in ["TF2", "TF1", *(f"TF2 {size:g} GiB" for size in args.engine_gigabytes)]:
        rewrite, floor = by_label[f"{label}: rewrite --key --no-verify"], by_label[f"{label}: import tensorflow + cp -r"]
        bare = by_label[f"{label}: python -c 'import tensorflow'"]
        print(
            f"- {label}: {rewrite['median_s'] / floor['median_s']:.2f}× import + cp -r; "
            f"peak RSS {rewrite['peak_mib']} MiB, {rewrite['peak_mib'] - bare['peak_mib']:+d} MiB above a bare import"
        )
    print("\nThe server's RSS (the UI's code path in one process) after each of 10 Applies, MiB:")
    for entry in rss:
        growth = f"{entry['growth']:+d}"
        print(f"- {entry['kind']}: after the 1st {entry['first']}, after the 10th {entry['last']} ({growth}); {entry['all']}")


if __name__ == "__main__":
    main()
