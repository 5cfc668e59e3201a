"""Models run inside the sandbox: a hostile model cannot touch the host, a job that runs too
long or takes too much memory is stopped with a message naming the limit, its worker is
replaced and the next job works, and no worker outlives its pool."""

from __future__ import annotations

import json
import subprocess
import zipfile

import numpy as np
import pytest

import core.execution.sandbox
from core.cli.main import main
from core.errors import InputDataError, RunLimitError, SandboxError, UnsafeModelError
from core.execution.pool import Scope, WorkerPool, get_pool
from core.execution.sandbox import bwrap_problem, use_sandbox
from core.execution.workers import WorkerProcess
from core.rewrite.request import RewriteRequest
from core.savedmodel.handle import read_saved_model
from core.serve.models import WorkerModel
from core.sources.keras_file import export_keras
from core.workflows import rewrite_model
from tests.conftest import tree_digest


@pytest.fixture
def pool(monkeypatch):
    """A pool of its own, stopped after the test (the process's pool is left alone)."""
    own = WorkerPool()
    monkeypatch.setattr(core.execution.pool, "_POOL", own)
    yield own
    own.shutdown()
    assert own.workers() == 0


def _children_running_workers() -> list[str]:
    found = subprocess.run(["pgrep", "-f", "core.worker"], capture_output=True, text=True).stdout.split()
    return found


def test_workers_run_sandboxed_on_this_machine(tmp_path):
    assert bwrap_problem() is None, "install Debian's bubblewrap: the tests run models sandboxed"
    with WorkerProcess(readable=[], scratch_parent=tmp_path) as worker:
        assert worker.sandboxed
        assert worker.call("run_models", loader="tf.saved_model.load", jobs=[]) == []


def test_a_model_that_writes_a_host_file_cannot(models, tmp_path, pool):
    host = models["nested_write_file"].parent / "host"
    before = tree_digest(host)
    result = rewrite_model(models["nested_write_file"], tmp_path / "out", RewriteRequest(key="k"), allow_unsafe_ops=True)
    assert tree_digest(host) == before, "the host is untouched: the file went to the sandbox's own /tmp, and is gone"
    assert result.report.ok, "the model ran (inside the sandbox) and was verified"
    assert not (host / "written-by-the-model.txt").exists()


def test_a_model_that_reads_a_host_file_gets_nothing(models, tmp_path, pool):
    model_dir = models["text_line_reader"]
    (model_dir.parent / "host" / "secret.txt").write_text("the server's secret\n")
    handle = read_saved_model(model_dir)
    runner = WorkerModel(handle, Scope.of(model_dir, scratch_parent=tmp_path), allow_unsafe_ops=True)
    with pytest.raises(InputDataError, match="rejected the input") as refused:
        runner.run("serving_default", {"x": np.ones(2, np.float32)})
    assert "secret" not in str(refused.value).replace("secret.txt", "")


def test_a_model_that_loops_forever_is_stopped_and_its_worker_replaced(models, tmp_path, pool, monkeypatch, samples):
    monkeypatch.setenv("STUDIO_RUN_TIMEOUT_S", "8")
    scope = Scope.of(models["loop_forever"], samples, scratch_parent=tmp_path)
    runner = WorkerModel(read_saved_model(models["loop_forever"]), scope)
    with pytest.raises(RunLimitError, match=r"the job timed out after 8 s and was stopped; nothing was written"):
        runner.run("serving_default", {"x": np.ones(2, np.float32)})
    healthy = WorkerModel(read_saved_model(samples / "vocab_lookup"), scope)
    assert healthy.run("serving_default", {"words": np.array([b"apple"], object)})["ids"].tolist() == [100]


def test_a_model_that_allocates_too_much_is_stopped_with_the_limit_named(models, tmp_path, pool, monkeypatch, samples):
    monkeypatch.setenv("STUDIO_RUN_MEMORY_MB", "2048")
    scope = Scope.of(models["allocate_too_much"], samples, scratch_parent=tmp_path)
    runner = WorkerModel(read_saved_model(models["allocate_too_much"]), scope)
    with pytest.raises(RunLimitError, match="exceeded the memory limit of 2048 MB"):
        runner.run("serving_default", {"x": np.full(2, 24, np.float32)})  # 24 GiB
    healthy = WorkerModel(read_saved_model(samples / "vocab_lookup"), scope)
    assert healthy.run("serving_default", {"words": np.array([b"kiwi"], object)})["ids"].tolist() == [-1]


def test_a_keras_file_with_a_lambda_is_refused_before_anything_is_deserialised(tmp_path, pool, monkeypatch):
    keras_file = tmp_path / "lambda.keras"
    config = {
        "class_name": "Functional",
        "module": "keras",
        "config": {"layers": [{"class_name": "Lambda", "module": "keras.layers", "config": {"function": "evil"}}]},
    }
    with zipfile.ZipFile(keras_file, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", b"")
    monkeypatch.setattr(Scope, "call", lambda *a, **k: pytest.fail("nothing may run before the scan refuses"))
    with pytest.raises(UnsafeModelError, match="lambda.keras holds code that loading would run \\(Lambda: a Lambda layer"):
        export_keras(keras_file, tmp_path / "out", "lambda.keras")
    assert not (tmp_path / "out").exists()


def test_no_worker_outlives_its_pool(samples, tmp_path):
    before = set(_children_running_workers())
    own = WorkerPool()
    own.prewarm([samples], tmp_path, count=2)
    own.call("run_models", readable=[samples], scratch_parent=tmp_path, loader="tf.saved_model.load", jobs=[])
    assert own.workers() == 2
    own.shutdown()
    assert own.workers() == 0
    assert set(_children_running_workers()) <= before
    assert not list(tmp_path.glob(".signature-studio-worker-*")), "their scratch folders are gone too"


def test_without_bwrap_models_still_run_and_say_so_unless_required(monkeypatch, tmp_path, samples, capsys):
    monkeypatch.setattr(core.execution.sandbox, "bwrap_problem", lambda: "bwrap is not installed (Debian package bubblewrap)")
    monkeypatch.delenv("STUDIO_SANDBOX", raising=False)  # CI sets require; this test starts from the default
    assert not use_sandbox()
    assert "models run WITHOUT a sandbox" in core.execution.sandbox.sandbox_warning()
    from core.cli.main import main

    assert main(["rewrite", str(samples / "house_price"), str(tmp_path / "out"), "--key", "k", "--no-verify"]) == 0
    assert "warning: models run WITHOUT a sandbox" in capsys.readouterr().err
    monkeypatch.setenv("STUDIO_SANDBOX", "require")
    with pytest.raises(SandboxError, match="STUDIO_SANDBOX=require and models cannot be sandboxed"):
        use_sandbox()
    assert main(["rewrite", str(samples / "house_price"), str(tmp_path / "out2"), "--key", "k"]) == 2
    assert "error: STUDIO_SANDBOX=require" in capsys.readouterr().err


def test_the_shared_pool_serves_scopes_it_covers(samples, tmp_path):
    pool = get_pool()
    scope = Scope.of(samples, scratch_parent=tmp_path)
    assert scope.covers(samples / "house_price", tmp_path / "anything")
    assert not scope.covers(tmp_path.parent / "elsewhere")
    assert pool.slots >= 1


def test_verification_past_the_memory_cap_fails_with_the_limit_named(models, tmp_path, pool, monkeypatch, capsys):
    """The cap stops the model's allocation while the source runs: that is no "not verified"
    row of a written model but a failed verification (exit 1) that names the limit."""
    monkeypatch.setenv("STUDIO_RUN_MEMORY_MB", "2048")
    code = main(["rewrite", str(models["allocate_by_batch"]), str(tmp_path / "out"), "--key", "k"])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(error) == 1
    assert error[0].startswith("error: verification stopped: the job exceeded the memory limit of 2048 MB")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_script_run_from_tmp_keeps_the_sandboxes_private_tmp_writable(monkeypatch, tmp_path):
    """``python /tmp/script.py`` puts /tmp on sys.path; bound read-only over the sandbox's own
    /tmp, it left the worker no temporary folder (found running a script from /tmp)."""
    monkeypatch.setattr(core.execution.sandbox.sys, "path", ["/tmp", "/", *core.execution.sandbox.sys.path])
    command = core.execution.sandbox.sandboxed_command(["true"], readable=[], scratch=tmp_path, code_root=tmp_path)
    bound = [command[i + 1] for i, arg in enumerate(command) if arg == "--ro-bind"]
    assert "/tmp" not in bound and "/" not in bound and command[command.index("--tmpfs") + 1] == "/tmp"
