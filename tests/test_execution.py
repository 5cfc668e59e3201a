"""Running model code in a worker process: the wire format (plain data and arrays, never
pickle) and the worker's answers, errors and death."""

from __future__ import annotations

import time

import numpy as np
import pytest

from core.errors import StudioError
from core.execution.loader_kind import Loader
from core.execution.loaders import ModelRuns, run_models
from core.execution.pool import WorkerPool
from core.execution.wire import FRAME_LENGTH, WireError, decode, encode
from core.execution.workers import WorkerError, WorkerProcess, process_tree_rss
from tests.conftest import HOUSE_FEEDS


@pytest.mark.parametrize(
    "message",
    [
        {"a": [1, 2.5, None, True, "text", b"\x00\xff"]},
        {"array": np.arange(12, dtype=np.float32).reshape(3, 4), "scalar": np.float64(2.5)},
        {"strings": np.array([[b"a", b""], [b"\xff" * 3, b"long" * 100]], dtype=object)},
        {"empty": np.zeros((0, 3), np.int64), "bools": np.array([True, False])},
        [{"nested": {"deeper": [np.int32(7)]}}],
    ],
)
def test_wire_round_trip(message):
    back = decode(encode(message))
    flat_in, flat_out = _flatten(message), _flatten(back)
    assert len(flat_in) == len(flat_out)
    for a, b in zip(flat_in, flat_out, strict=True):
        if isinstance(a, np.ndarray | np.generic):
            a = np.asarray(a)
            assert a.dtype == b.dtype and a.shape == b.shape and a.tolist() == b.tolist()
        else:
            assert a == b


def _flatten(value):
    if isinstance(value, dict):
        return [item for key in value for item in [key, *_flatten(value[key])]]
    if isinstance(value, list | tuple):
        return [item for entry in value for item in _flatten(entry)]
    return [value]


@pytest.mark.parametrize(
    "message, reason",
    [
        ({"x": np.array([object()], dtype=object)}, "byte strings only"),
        ({"x": {1: "a"}}, "keys on the wire must be strings"),
        ({"x": {1, 2}}, "a set cannot be sent"),
        ({"x": np.zeros(2, dtype=[("a", "i4")])}, "cannot be sent"),
    ],
)
def test_wire_refuses_what_is_not_plain_data(message, reason):
    with pytest.raises(WireError, match=reason):
        encode(message)


def _frame(header: str, *buffers: bytes) -> bytes:
    """A frame as a hostile worker could write it, header and all."""
    parts = [FRAME_LENGTH.pack(len(header)), header.encode()]
    for buffer in buffers:
        parts += [FRAME_LENGTH.pack(len(buffer)), buffer]
    return b"".join(parts)


@pytest.mark.parametrize(
    "frame, reason",
    [
        (b"", "not a valid frame"),
        (_frame("{bad}"), "not a valid frame"),
        (_frame('{"$array": 0, "dtype": "object", "shape": [1]}', b"\x00" * 8), "dtype object are refused"),
        (_frame('{"$pickle": 0}', b"cos\nsystem\n"), "must be one of"),
        (_frame('{"$array": 3, "dtype": "int64", "shape": [1]}'), "malformed"),
        (_frame('{"$strings": 0, "shape": [2]}', b"abc", np.array([1, 5], np.int64).tobytes()), "do not add up"),
    ],
)
def test_wire_refuses_malformed_or_hostile_frames(frame, reason):
    with pytest.raises(WireError, match=reason):
        decode(frame)


def test_a_worker_runs_models_and_gives_the_same_answers(samples, tmp_path):
    job = ModelRuns(samples / "house_price", {"run": ("serving_default", HOUSE_FEEDS)})
    here = run_models(Loader.OBJECT, [job])[0]["run"]
    plain = [{"model_dir": str(samples / "house_price"), "runs": job.runs, "tags": None}]
    with WorkerProcess(readable=[samples / "house_price"], scratch_parent=tmp_path) as worker:
        (there,) = worker.call("run_models", loader=Loader.OBJECT.value, jobs=plain)
    assert there["run"]["error"] is None
    np.testing.assert_array_equal(there["run"]["outputs"]["output_0"], here.outputs["output_0"])
    assert there["run"]["outputs"]["output_0"].dtype == np.float32


def test_a_worker_reports_errors_by_kind_and_survives_them(samples, tmp_path):
    with WorkerProcess(readable=[samples], scratch_parent=tmp_path) as worker:
        with pytest.raises(StudioError, match="has no function 'nope'"):
            worker.call("nope")
        bad = {
            "model_dir": str(samples / "house_price"),
            "runs": {"r": ["serving_default", {"rooms": np.ones((1, 3))}]},
            "tags": None,
        }
        (answer,) = worker.call("run_models", loader=Loader.OBJECT.value, jobs=[bad])
        assert "rejected the input" in answer["r"]["error"]
        assert worker.call("run_models", loader=Loader.OBJECT.value, jobs=[]) == []
        with pytest.raises(StudioError, match="unexpected failure in the worker"):
            worker.call("run_models", loader=Loader.OBJECT.value, jobs=[{"model_dir": "x"}])


def test_a_worker_started_from_a_thread_that_ends_lives_on(samples, tmp_path):
    """The Studio warms workers from a page's script thread and from Apply jobs, threads that
    end at once; the sandbox must not end with them (bwrap's --die-with-parent follows the
    thread that started it), or every Apply would start its workers cold."""
    import threading

    started = []

    def start_then_go_on_working() -> None:
        started.append(WorkerProcess(readable=[samples], scratch_parent=tmp_path))
        time.sleep(1.0)  # the sandbox has set itself up to follow this thread by now

    thread = threading.Thread(target=start_then_go_on_working)
    thread.start()
    thread.join()
    (worker,) = started
    try:
        time.sleep(1.0)
        assert worker.alive, f"the worker ended with its thread (exit code {worker.process.returncode})"
        assert worker.call("run_models", loader=Loader.OBJECT.value, jobs=[]) == []
    finally:
        worker.close()


def test_a_dead_worker_is_a_clear_error(tmp_path):
    worker = WorkerProcess(readable=[], scratch_parent=tmp_path)
    worker.wait_ready()
    worker.process.kill()
    deadline = time.monotonic() + 30
    while process_tree_rss(worker.process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)  # the sandbox's own processes follow its death
    with pytest.raises(WorkerError, match="the worker process (stopped|did not answer)"):
        worker.call("run_models", loader=Loader.OBJECT.value, jobs=[])
    worker.close()


def test_serving_calls_do_not_retire_a_worker_but_other_jobs_do(samples, tmp_path):
    pool = WorkerPool(slots=1, jobs_per_worker=2)
    model = samples / "house_price"
    try:

        def serve() -> None:
            outputs = pool.call(
                "serve", readable=[model], scratch_parent=tmp_path, model_dir=str(model), loader=Loader.OBJECT.value,
                tags=["serve"], signature="serving_default", feeds=HOUSE_FEEDS,
            )  # fmt: skip
            assert outputs["output_0"].shape == (2, 1)

        serve()
        (first,) = pool._idle
        for _ in range(4):  # a batch run's many calls on one kept model
            serve()
        assert pool._idle == [first] and first.jobs_done == 0
        for _ in range(2):
            pool.call("run_models", readable=[model], scratch_parent=tmp_path, loader=Loader.OBJECT.value, jobs=[])
        assert first not in pool._idle and not first.alive  # retired after two counted jobs
    finally:
        pool.shutdown()


def test_warming_stops_where_the_idle_places_end(samples, tmp_path):
    """Sessions beyond what the pool keeps idle get no warm workers: each would cost a
    TensorFlow import and only push another session's worker out."""
    pool = WorkerPool(slots=1, max_idle=3)
    try:
        first, second = tmp_path / "first", tmp_path / "second"
        first.mkdir()
        second.mkdir()
        pool.prewarm([samples], first, count=2)
        pool.prewarm([samples], second, count=2)
        assert len(pool._idle) == 3
        assert sum(worker.scratch_parent == second.resolve() for worker in pool._idle) == 1
        pool.prewarm([samples], first, count=2)
        assert len(pool._idle) == 3, "the first scope has its two already"
    finally:
        pool.shutdown()


@pytest.mark.parametrize("replace_retired", [True, False])
def test_a_retired_worker_is_replaced_only_where_asked(samples, tmp_path, replace_retired):
    """A server keeps a warm replacement; a one-shot command (``python -m core``) does not."""
    pool = WorkerPool(slots=1, replace_retired=replace_retired)
    model = samples / "house_price"
    try:
        pool.call("run_models", readable=[model], scratch_parent=tmp_path, loader=Loader.OBJECT.value, jobs=[], dirty=True)
        assert pool.workers() == (1 if replace_retired else 0)
    finally:
        pool.shutdown()


def test_a_lease_keeps_one_worker_for_all_its_calls_and_retires_it_when_dirty(samples, tmp_path):
    """Verification loads the source, waits for the engine, then loads the result in the same
    worker: the lease holds that worker (and its slot) in between."""
    pool = WorkerPool(slots=1, replace_retired=False)
    model = samples / "house_price"
    try:
        with pool.lease(readable=[model], scratch_parent=tmp_path) as lease:
            assert lease.call("run_models", loader=Loader.OBJECT.value, jobs=[]) == []
            assert pool._busy == {lease.worker} and pool._running == 1
            lease.call("run_models", loader=Loader.SESSION.value, jobs=[], dirty=True)
            kept = lease.worker
        assert kept.jobs_done == 2 and not kept.alive  # one worker served both, retired for the dirty call
        with pool.lease(readable=[model], scratch_parent=tmp_path) as lease:
            assert lease.worker is not kept and lease.call("run_models", loader=Loader.OBJECT.value, jobs=[]) == []
        assert pool._running == 0 and pool._idle == [lease.worker]
    finally:
        pool.shutdown()
