"""The verifier must fail what is wrong: a result that garbles the key, changes an output or
echoes the key with another dtype is caught through both loaders."""

from __future__ import annotations

import threading
import time

import pytest

import core.workflows
from core._tf import tf
from core.errors import OutputError
from core.rewrite.apply import apply_rewrite
from core.rewrite.plan import plan_rewrite
from core.rewrite.request import KeyDtype, RewriteRequest
from core.savedmodel.handle import read_saved_model
from core.verify.report import CheckStatus
from core.verify.structure import CHUNK_BYTES, same_bytes
from core.verify.verifier import verify_rewrite


class _Doubler(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def serve(self, x):
        return {"y": x * 2.0}


class _BadRewrite(tf.Module):
    """What a buggy rewrite could produce: the key reversed, and ``y`` slightly off."""

    def __init__(self, key_dtype: tf.DType, echo_dtype: tf.DType, scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.echo_dtype = echo_dtype
        self.serve = tf.function(
            self._serve,
            input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x"), tf.TensorSpec([None], key_dtype, name="k")],
        )

    def _serve(self, x, k):
        echoed = tf.reverse(k, [0]) if k.dtype == tf.string else tf.cast(k, self.echo_dtype)
        return {"y": x * self.scale, "k": echoed}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("verify") / "source"
    module = _Doubler()
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    return folder


def _failed(report) -> dict[tuple[str, str], str]:
    return {(c.name, c.loader): c.detail for c in report.checks if c.status is CheckStatus.FAILED}


def _save(module, folder):
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    return folder


def test_garbled_key_and_changed_output_fail_in_both_loaders(source, tmp_path):
    plan = plan_rewrite(read_saved_model(source).info, RewriteRequest(key="k"))
    bad = _save(_BadRewrite(tf.string, tf.string, 2.0000002), tmp_path / "bad")
    report = verify_rewrite(read_saved_model(source), read_saved_model(bad), plan)
    assert not report.ok
    failed = _failed(report)
    for loader in ("tf.saved_model.load", "tf.compat.v1 session loader"):
        assert ("'serving_default': key 'k' echoed", loader) in failed
        assert failed[("'serving_default' outputs bit-identical to original 'serving_default'", loader)] == "differing: ['y']"


def test_key_echoed_with_another_dtype_fails(source, tmp_path):
    plan = plan_rewrite(read_saved_model(source).info, RewriteRequest(key="k", key_dtype=KeyDtype.INT32))
    bad = _save(_BadRewrite(tf.int32, tf.int64, 2.0), tmp_path / "widened")
    report = verify_rewrite(read_saved_model(source), read_saved_model(bad), plan)
    failed = _failed(report)
    assert ("signature 'serving_default' has the planned inputs and outputs", "saved_model.pb and files") in failed
    assert ("'serving_default': key 'k' echoed", "tf.saved_model.load") in failed


def test_a_correct_result_passes(source, tmp_path):
    plan = plan_rewrite(read_saved_model(source).info, RewriteRequest(key="k", key_dtype=KeyDtype.INT32))
    good = _save(_BadRewrite(tf.int32, tf.int32, 2.0), tmp_path / "good")
    report = verify_rewrite(read_saved_model(source), read_saved_model(good), plan)
    assert report.ok, _failed(report)
    assert report.count(CheckStatus.PASSED) == len(report.checks)


def test_a_result_that_does_not_load_fails_and_says_so(source, tmp_path):
    plan = plan_rewrite(read_saved_model(source).info, RewriteRequest(key="k", key_dtype=KeyDtype.INT32))
    broken = _save(_BadRewrite(tf.int32, tf.int32, 2.0), tmp_path / "broken")
    for data in (broken / "variables").glob("variables.data-*"):
        data.write_bytes(data.read_bytes()[:3])
    report = verify_rewrite(read_saved_model(source), read_saved_model(broken), plan, variables_copied=False)
    # The session loader needs none of the (variable-less) checkpoint; tf.saved_model.load reads it.
    detail = _failed(report)[("'serving_default' outputs bit-identical to original 'serving_default'", "tf.saved_model.load")]
    assert detail.startswith("the rewritten model failed to load where the original loaded: broken:")
    assert not report.ok


def test_byte_comparison_finds_one_changed_byte_anywhere(tmp_path):
    """Variable files are compared a MiB at a time: a change in any chunk, or in the length, counts."""
    size = 3 * CHUNK_BYTES + 17
    original = tmp_path / "a"
    original.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    copy = tmp_path / "b"
    copy.write_bytes(original.read_bytes())
    assert same_bytes(original, copy)
    for position in (0, CHUNK_BYTES, size - 1):
        changed = bytearray(original.read_bytes())
        changed[position] ^= 1
        copy.write_bytes(changed)
        assert not same_bytes(original, copy), position
    copy.write_bytes(original.read_bytes() + b"\0")
    assert not same_bytes(original, copy) and not same_bytes(copy, original)


def _behaviour_threads() -> list[threading.Thread]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        running = [thread for thread in threading.enumerate() if thread.name.startswith("behaviour")]
        if not running:
            return []
        time.sleep(0.1)
    return running


@pytest.mark.parametrize("model", ["house_price", "tf1_half_plus_two"])
def test_source_runs_begun_for_a_rewrite_whose_engine_fails_are_stopped(samples, tmp_path, monkeypatch, model):
    """The source starts running in the workers before the engine writes the result; when the
    engine fails, they stop, their slots are freed, and nothing is written."""

    def failing_engine(*args, **kwargs):
        raise OutputError("the disk is full (simulated)")

    monkeypatch.setattr(core.workflows, "apply_rewrite", failing_engine)
    with pytest.raises(OutputError, match="the disk is full"):
        core.workflows.rewrite_model(samples / model, tmp_path / "out", RewriteRequest(key="k"))
    assert _behaviour_threads() == []
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    result = core.workflows.rewrite_model(samples / model, tmp_path / "out", RewriteRequest(key="k"))
    assert result.report.ok and result.report.summary.endswith("0 failed, 0 not verified")


def test_a_tf1_result_with_other_variable_values_fails_in_both_loaders(samples, tmp_path):
    """For TF1 the workers take the models in another order (the object loader last): each
    loader still compares the result with the source it loaded itself."""
    source = read_saved_model(samples / "tf1_half_plus_two" / "00000123")
    plan = plan_rewrite(source.info, RewriteRequest(key="k"))
    apply_rewrite(source, plan, tmp_path / "out")
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        changed = [tf.compat.v1.Variable(0.25, name="a"), tf.compat.v1.Variable(2.0, name="b")]
        session.run(tf.compat.v1.variables_initializer(changed))
        saver = tf.compat.v1.train.Saver(changed)
        saver.save(session, str(tmp_path / "out" / "variables" / "variables"), write_meta_graph=False, write_state=False)
    report = verify_rewrite(source, read_saved_model(tmp_path / "out"), plan)
    failed = _failed(report)
    differing = failed[("variables/ byte-identical", "saved_model.pb and files")]
    assert differing == "2 file(s); differing: ['variables.data-00000-of-00001', 'variables.index']"
    for loader in ("tf.saved_model.load", "tf.compat.v1 session loader"):
        assert failed[("'serving_default' outputs bit-identical to original 'serving_default'", loader)] == "differing: ['y']"
        assert ("'serving_default': key 'k' echoed", loader) not in failed
