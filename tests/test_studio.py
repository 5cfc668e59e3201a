"""The UI's Streamlit-free session: loading, replacing, failing safely, packaging, cleanup;
and the allowed-roots rule for server paths."""

from __future__ import annotations

import gc
import os
import tarfile

import pytest

from core.errors import ModelSourceError, OutputError
from core.rewrite.request import RewriteRequest
from core.savedmodel.archive import write_archive
from core.studio.session import StudioSession, sample_names
from core.studio.workspace import ROOTS_VARIABLE, Workspace, allowed_roots, content_digest, resolve_allowed_path
from tests.conftest import ROOT, SAMPLE_NAMES


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
    applied = session.apply(RewriteRequest(key="k"))
    assert applied.result.report.ok
    assert session.workspace.path in applied.model_dir.parents
    zip_archive = session.package("zip", 3)
    assert zip_archive.name == "house_price_rewritten.zip"
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
    session.apply(RewriteRequest(key="k"))
    model = session.load_upload("vocab.tar.gz", _upload(samples, tmp_path))
    assert model.label == "vocab.tar.gz"
    assert session.rewrite is None
    folders = {p.name.split("-")[0] for p in session.workspace.path.iterdir()}
    assert folders == {"upload", "model"}, "the old rewrite is removed with the old model"
    assert session.load_upload("again.tar.gz", _upload(samples, tmp_path)) is model, "same bytes, same model"


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


def test_workspace_clear_keeps_what_is_asked(tmp_path):
    workspace = Workspace(tmp_path)
    keep, drop = workspace.new_folder("model"), workspace.new_folder("upload")
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
