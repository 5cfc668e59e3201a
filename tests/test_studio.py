"""The UI's Streamlit-free session: loading, replacing, failing safely, packaging, cleanup;
and the allowed-roots rule for server paths."""

from __future__ import annotations

import gc
import os
import re
import tarfile
import threading
import time

import pytest

from core.errors import ModelSourceError, OutputError, PlanError, StudioError
from core.rewrite.request import RewriteRequest
from core.sources.archive import write_archive
from core.studio.jobs import Job, JobState
from core.studio.loading import sample_names
from core.studio.registry import SessionRegistry
from core.studio.running import TRY_ANSWERS_KEPT, TryAnswer
from core.studio.session import StudioSession
from core.studio.workspace import ROOTS_VARIABLE, Purpose, Workspace, allowed_roots, content_digest, resolve_allowed_path
from tests.conftest import ROOT, SAMPLE_NAMES
from tests.sessions import apply_in_session


@pytest.fixture
def session(tmp_path):
    studio = StudioSession(work_parent=tmp_path)
    yield studio
    studio.close()


def _upload(samples, tmp_path, name="vocab_lookup", suffix=".tar.gz") -> bytes:
    archive = tmp_path / f"{name}{suffix}"
    write_archive(samples / name, archive)
    return archive.read_bytes()


def test_samples_are_listed():
    assert sample_names() == sorted(SAMPLE_NAMES)


def test_load_apply_package(session, tmp_path):
    model = session.load_sample("house_price")
    assert model.label == "house_price (sample)"
    applied = apply_in_session(session, RewriteRequest(key="k"))
    assert applied.result.report.ok
    assert session.workspace.path in applied.model_dir.parents
    zip_archive = session.package("zip", 3)
    assert re.fullmatch(r"house_price_serving_default_key-k_[0-9a-f]{6}\.zip", zip_archive.name)
    assert session.package("zip", 3) == zip_archive, "the same archive is made once"
    tgz = session.package("tar.gz")
    with tarfile.open(tgz) as tar:
        assert "saved_model.pb" in tar.getnames()
    with pytest.raises(OutputError, match=r"unknown archive format 'rar'; choose one of \['zip', 'tar.gz'\]"):
        session.package("rar")


def test_package_needs_an_applied_rewrite(session):
    session.load_sample("house_price")
    with pytest.raises(OutputError, match="apply a rewrite first"):
        session.package("zip")


def test_upload_replaces_the_model_and_its_files(session, samples, tmp_path):
    session.load_sample("house_price")
    apply_in_session(session, RewriteRequest(key="k"))
    data = _upload(samples, tmp_path)  # packed once: gzip stamps the second it was packed
    model = session.load_upload("vocab.tar.gz", data)
    assert model.label == "vocab.tar.gz"
    assert session.rewrite is None
    folders = {p.name.split("-")[0] for p in session.workspace.path.iterdir() if not p.name.startswith(".")}
    assert folders == {"upload", "model"}, "the old rewrite is removed with the old model (warm workers aside)"
    assert session.load_upload("again.tar.gz", data) is model, "same bytes, same model"


def test_failed_upload_keeps_the_previous_model(session, samples, tmp_path):
    first = session.load_upload("vocab.tar.gz", _upload(samples, tmp_path))
    before = sorted(session.workspace.path.iterdir())
    with pytest.raises(ModelSourceError, match="cannot be read as a .zip archive"):
        session.load_upload("broken.zip", b"garbage")
    with pytest.raises(ModelSourceError, match=r"notes.txt: unsupported file; upload one of \.zip"):
        session.load_upload("notes.txt", b"hello")
    assert session.model is first
    assert sorted(session.workspace.path.iterdir()) == before
    assert first.model_dir.is_dir()


def test_comparison_upload(session, samples, tmp_path):
    session.load_sample("house_price")
    other = session.load_comparison_upload("vocab.zip", _upload(samples, tmp_path, suffix=".zip"))
    assert other.label == "vocab.zip" and session.comparison is other
    session.load_sample("vocab_lookup")
    assert session.comparison is None


def test_workspace_is_removed_on_close_and_on_garbage_collection(tmp_path):
    studio = StudioSession(work_parent=tmp_path)
    studio.load_sample("house_price")
    folder = studio.workspace.path
    studio.close()
    assert not folder.exists()
    studio = StudioSession(work_parent=tmp_path)
    folder = studio.workspace.path
    del studio
    gc.collect()
    assert not folder.exists()


def test_a_closed_session_leaves_no_worker_behind(tmp_path):
    """A session's warm workers write only in its folder; once it is closed (its tab gone)
    they end with it, instead of waiting idle for a session that will not come back."""
    from core.execution.pool import get_pool

    studio = StudioSession(work_parent=tmp_path)
    studio.load_sample("house_price")
    folder = studio.workspace.path.resolve()
    assert any(worker.scratch_parent == folder for worker in get_pool()._idle), "warm workers at load"
    studio.close()
    assert not any(worker.scratch_parent == folder for worker in get_pool()._idle)


def test_a_model_from_the_same_allowed_folder_finds_its_workers_warm(tmp_path):
    """Workers read the whole allowed folder, so loading the next sample starts none."""
    from core.execution.pool import get_pool

    studio = StudioSession(work_parent=tmp_path)
    try:
        studio.load_sample("house_price")
        folder = studio.workspace.path.resolve()
        warm = {id(worker) for worker in get_pool()._idle if worker.scratch_parent == folder}
        studio.load_sample("vocab_lookup")
        assert {id(worker) for worker in get_pool()._idle if worker.scratch_parent == folder} == warm
    finally:
        studio.close()


def test_workspace_clear_keeps_what_is_asked(tmp_path):
    workspace = Workspace(tmp_path)
    keep, drop = workspace.new_folder(Purpose.MODEL), workspace.new_folder(Purpose.UPLOAD)
    workspace.clear(keep=(keep,))
    assert keep.exists() and not drop.exists()
    workspace.close()
    assert workspace.closed


def test_allowed_roots_default_and_environment(tmp_path):
    assert allowed_roots({}) == [ROOT / "sample_models"]
    roots = allowed_roots({ROOTS_VARIABLE: f"{tmp_path}{os.pathsep}sample_models"})
    assert roots == [tmp_path.resolve(), (ROOT / "sample_models").resolve()]


def test_paths_outside_the_roots_are_refused(tmp_path):
    roots = [ROOT / "sample_models"]
    assert resolve_allowed_path("sample_models/house_price", roots) == ROOT / "sample_models" / "house_price"
    for outside in ("/etc", "sample_models/../core", str(tmp_path)):
        with pytest.raises(ModelSourceError, match="is outside the allowed model folders"):
            resolve_allowed_path(outside, roots)
    with pytest.raises(ModelSourceError, match="does not exist"):
        resolve_allowed_path("sample_models/nope", roots)
    with pytest.raises(ModelSourceError, match="no path given"):
        resolve_allowed_path("  ", roots)


def test_a_symlink_cannot_lead_out_of_a_root(tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    (root / "escape").symlink_to("/etc")
    with pytest.raises(ModelSourceError, match="is outside the allowed model folders"):
        resolve_allowed_path(str(root / "escape"), [root])


def test_session_load_path_uses_the_roots(samples, tmp_path):
    studio = StudioSession(roots=[samples.resolve()], work_parent=tmp_path)
    assert studio.load_path(str(samples / "tf1_half_plus_two")).version == 123
    with pytest.raises(ModelSourceError, match="outside the allowed model folders"):
        studio.load_path(str(tmp_path))
    studio.close()


def test_content_digest_follows_content_not_names(samples, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(samples / "house_price", copy)
    assert content_digest(copy) == content_digest(samples / "house_price")
    (copy / "assets.extra").mkdir()
    (copy / "assets.extra" / "note.txt").write_text("x")
    assert content_digest(copy) != content_digest(samples / "house_price")


def test_each_rewrite_gets_its_own_download_name_and_only_the_current_one_is_kept(session):
    session.load_sample("house_price")
    first = apply_in_session(session, RewriteRequest(key="k"))
    first_archive = session.package("zip")
    second = apply_in_session(session, RewriteRequest(key="k", keep_original="plain"))
    second_archive = session.package("zip")
    assert first_archive.name != second_archive.name
    assert not first.model_dir.exists() and not first_archive.exists(), "an older rewrite and its archive are removed"
    assert second.model_dir.exists() and second_archive.exists()
    assert session.rewrite_matches(RewriteRequest(key="k", keep_original="plain"))
    assert not session.rewrite_matches(RewriteRequest(key="k"))


def test_apply_in_the_background_hands_over_its_result(session):
    session.load_sample("house_price")
    job = session.start_apply(RewriteRequest(key="k"))
    with pytest.raises(StudioError, match="an Apply is running already"):
        session.start_apply(RewriteRequest(key="other"))
    job.wait(120)
    assert job.state is JobState.DONE
    assert session.rewrite is not None and session.rewrite.request == RewriteRequest(key="k")
    assert [step.text for step in job.steps][-1] == "writing the output"


def test_a_failed_apply_in_the_background_is_a_sentence_and_leaves_nothing(session):
    session.load_sample("house_price")
    job = session.start_apply(RewriteRequest(key="rooms")).wait(60)
    assert job.state is JobState.FAILED and isinstance(job.error, PlanError)
    assert session.rewrite is None
    assert not list(session.workspace.path.glob("rewrite-*")), "the job's folder is removed"


def test_loading_another_model_cancels_a_running_apply(session):
    session.load_sample("tf1_half_plus_two")
    job = session.start_apply(RewriteRequest(key="k"))
    session.load_sample("house_price")
    job.wait(120)
    assert job.state in (JobState.CANCELLED, JobState.DONE)
    assert session.rewrite is None, "nothing of the old model is handed to the new one"
    assert not list(session.workspace.path.glob("rewrite-*")), "the old job's folder is removed"


def test_jobs_report_steps_cancel_and_never_raise():
    def slow(progress):
        progress.step("one")
        time.sleep(0.2)
        progress.step("two")
        return "done"

    job = Job("slow", slow).start()
    job.cancel()
    assert job.wait(10).state is JobState.CANCELLED
    assert [step.text for step in job.steps] == ["one"]

    def broken(progress):
        raise KeyError("internal")

    job = Job("broken", broken).start().wait(10)
    assert job.state is JobState.FAILED and isinstance(job.error, StudioError)
    assert str(job.error) == "unexpected failure: 'internal'"

    started = threading.Event()

    def torn_down(progress):  # cancelling stops a worker the job was waiting on
        started.set()
        time.sleep(0.2)
        raise StudioError("the worker process stopped (exit -9)")

    job = Job("torn down", torn_down).start()
    started.wait(10)
    job.cancel()
    assert job.wait(10).state is JobState.CANCELLED and "the worker process stopped" in str(job.error)


def test_a_refused_upload_is_refused_again_without_unpacking(session, monkeypatch):
    import core.sources.stage

    calls = []
    real = core.sources.stage.extract_archive
    monkeypatch.setattr(core.sources.stage, "extract_archive", lambda *a, **k: calls.append(1) or real(*a, **k))
    for identity in ("upload-1", "upload-1", "upload-2"):  # the same bytes uploaded again: a new identity
        with pytest.raises(ModelSourceError, match="broken.zip: cannot be read as a .zip archive"):
            session.load_upload("broken.zip", b"PK\x03\x04 garbage", identity=identity)
    assert len(calls) == 1


class _Closable:
    closed = False

    def close(self) -> None:
        self.closed = True


def test_registry_finds_a_session_again_after_a_reload_but_never_shares_an_open_one():
    now = [0.0]
    open_connections = {"tab-1"}
    registry = SessionRegistry(_Closable, is_connected=open_connections.__contains__, grace_seconds=60, clock=lambda: now[0])
    token, first = registry.attach(None, "tab-1")
    copied_token, copied = registry.attach(token, "tab-2")
    assert copied is not first and copied_token != token, "an address copied while the tab is open gets its own session"
    open_connections.add("tab-2")
    open_connections.discard("tab-1")  # tab 1 is reloaded: its old connection is gone
    assert registry.attach(token, "tab-3")[1] is first
    open_connections.add("tab-3")


def test_registry_ends_sessions_whose_tab_is_gone_after_the_grace_period():
    now = [0.0]
    registry = SessionRegistry(_Closable, is_connected=lambda connection: False, grace_seconds=60, clock=lambda: now[0])
    _, session = registry.attach(None, "tab-1")
    assert registry.sweep() == 0  # just gone: the grace period starts
    now[0] = 30.0
    assert registry.sweep() == 0 and not session.closed
    now[0] = 61.0
    assert registry.sweep() == 1 and session.closed
    assert len(registry) == 0


def test_try_answers_are_kept_per_owner_and_only_the_last_few(tmp_path):
    session = StudioSession(roots=[tmp_path], work_parent=tmp_path)
    try:
        owners = [("model", f"signature-{index}", "json") for index in range(TRY_ANSWERS_KEPT + 1)]
        for owner in owners:
            session.remember_try_answer(owner, TryAnswer("{}", result=owner[1]))
        session.remember_try_answer(owners[1], TryAnswer("{}", error="refused"))  # answered again: newest now
        session.remember_try_answer(("model", "extra", "csv"), TryAnswer("rows.csv", result=None))
        assert session.try_answer(owners[0]) is None and session.try_answer(owners[2]) is None  # the oldest went
        assert session.try_answer(owners[1]).error == "refused"
        assert session.try_answer(owners[-1]).result == f"signature-{TRY_ANSWERS_KEPT}"
    finally:
        session.close()
