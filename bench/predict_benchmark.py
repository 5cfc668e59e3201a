"""Benchmark ``python -m core predict`` (Apache Beam, DirectRunner) against an in-process loop.

Run from the project root:  python bench/predict_benchmark.py [--rows 300000] [--memory-rows 300000 3000000] [--repeats 3]

The model is the ``house_price`` sample rewritten with a string key (``instance_key``); the
input a CSV of ``instance_key,rooms,tax_rate``. Both contenders run as whole processes (so
TensorFlow's import and the model's load count for both) and write one JSON line per row:

* ``predict``: ``python -m core predict MODEL rows.csv OUT --key-column instance_key``;
* the baseline: pandas reads the CSV, the signature runs in batches of 1024 through
  ``tf.saved_model.load``, ``json.dumps`` writes each row.

Throughput is rows / wall-clock seconds, median of ``--repeats`` runs, interleaved. Memory is
the peak resident memory of the whole process tree (the Beam process and its model worker),
sampled every 0.1 s, at each size of ``--memory-rows``: flat means the input is streamed.
Everything is generated into a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from core.execution.workers import process_tree_rss  # noqa: E402  (reads /proc only; no TensorFlow)

BASELINE = """
import json, sys
import numpy as np, pandas as pd, tensorflow as tf
model, rows, out = sys.argv[1], sys.argv[2], sys.argv[3]
signature = tf.saved_model.load(model).signatures["serving_default"]
frame = pd.read_csv(rows, dtype={"instance_key": str})
with open(out, "w") as handle:
    for start in range(0, len(frame), 1024):
        part = frame.iloc[start:start + 1024]
        outputs = signature(
            instance_key=tf.constant(part["instance_key"].to_numpy(dtype=object)),
            rooms=tf.constant(part[["rooms"]].to_numpy(np.float32)),
            tax_rate=tf.constant(part[["tax_rate"]].to_numpy(np.float32)),
        )
        values = {name: tensor.numpy().tolist() for name, tensor in outputs.items()}
        keys = values.pop("instance_key")
        for index, key in enumerate(keys):
            prediction = {name: column[index] for name, column in values.items()}
            handle.write(json.dumps({"key": key.decode(), "prediction": prediction}) + "\\n")
"""

MAKE_MODEL = """
import sys
from core.workflows import rewrite_model
from core.rewrite.request import RewriteRequest
rewrite_model("sample_models/house_price", sys.argv[1], RewriteRequest(key="instance_key"))
"""


def write_rows(path: Path, count: int) -> None:
    with open(path, "w") as out:
        out.write("instance_key,rooms,tax_rate\n")
        for start in range(0, count, 10_000):
            out.write("".join(f"row-{i},{i % 9 + 1},{(i % 7) / 10}\n" for i in range(start, min(count, start + 10_000))))


def run_measured(command: list[str]) -> tuple[float, int]:
    """Run ``command`` from the project root; (seconds, peak RSS of its process tree in MiB)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process_tree_rss(process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{command[:4]} failed: {stderr[-2000:]}")
    return seconds, peak // 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--memory-rows", type=int, nargs="*", default=[300_000, 3_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="predict-bench-") as scratch:
        work = Path(scratch)
        model = work / "keyed"
        subprocess.run([sys.executable, "-c", MAKE_MODEL, str(model)], cwd=ROOT, check=True, capture_output=True)
        rows = work / "rows.csv"
        write_rows(rows, args.rows)

        def predict(csv: Path) -> list[str]:
            out = work / "out"
            shutil.rmtree(out, ignore_errors=True)
            return [sys.executable, "-m", "core", "predict", str(model), str(csv), str(out), "--key-column", "instance_key"]

        baseline = [sys.executable, "-c", BASELINE, str(model), str(rows), str(work / "baseline.jsonl")]
        times: dict[str, list[float]] = {"predict": [], "baseline": []}
        for _ in range(args.repeats):
            for name, command in (("predict", predict(rows)), ("baseline", baseline)):
                os.sync()
                times[name].append(run_measured(command)[0])
        medians = {name: statistics.median(values) for name, values in times.items()}
        print(f"{args.rows} CSV rows, {args.repeats} runs each, medians, {os.cpu_count()} cores\n")
        print("| contender | median s | rows/s | runs s |")
        print("|---|---:|---:|---|")
        for name, label in (
            ("predict", "python -m core predict (DirectRunner)"),
            ("baseline", "in-process loop (pandas, batches of 1024)"),
        ):
            runs = ", ".join(f"{t:.2f}" for t in times[name])
            print(f"| {label} | {medians[name]:.2f} | {args.rows / medians[name]:,.0f} | {runs} |")
        print(f"\npredict throughput = {medians['baseline'] / medians['predict']:.2f}x the in-process loop")
        print("\n| rows | predict peak RSS of the process tree, MiB | seconds |")
        print("|---:|---:|---:|")
        for count in args.memory_rows:
            write_rows(rows, count)
            seconds, peak = run_measured(predict(rows))
            print(f"| {count:,} | {peak} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
