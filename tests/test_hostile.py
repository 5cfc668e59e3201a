"""Hostile inputs: every hole a probe of the Studio found, closed. Each test is one probe:
archives that would fill the disk, paths that break or hang, links out of a model, commands
that would destroy what they were given, names TensorFlow cannot take, leftovers, and
messages that leak the server's folders or split the one error line."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from core.cli.main import main
from core.errors import DiskAllowanceError, ModelSourceError, UnsafeArchiveError
from core.rewrite.publish import package_model
from core.sources.archive import ArchiveLimits, _Budget, extract_archive, write_archive
from core.studio.session import StudioSession
from core.studio.workspace import WORKSPACE_PREFIX, DiskAllowance, Workspace, sweep_stale_workspaces
from core.workflows import inspect_model
from tests.apptest import joined, load_server_path, open_app, switch_to, upload, wait_for_apply, widget
from tests.conftest import ROOT


def _cli(args, capsys) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# Scanning and consent ----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["save_v2", "text_line_reader", "nested_write_file", "nested_host_table"])
def test_a_model_with_file_io_is_never_run_without_consent(models, tmp_path, capsys, model):
    host = models[model].parent / "host"
    before = sorted(host.iterdir())
    code, _, err = _cli(["rewrite", models[model], tmp_path / "out", "--key", "k"], capsys)
    line = _one_error_line(err)
    assert code == 2 and "uses unsafe ops" in line and "pass --allow-unsafe-ops" in line
    assert not (tmp_path / "out").exists() and sorted(host.iterdir()) == before, "nothing ran, nothing was written"


def test_consent_lets_an_unsafe_model_be_rewritten(models, tmp_path, capsys):
    code, out, err = _cli(["rewrite", models["unsafe_ops"], tmp_path / "out", "--key", "k", "--allow-unsafe-ops"], capsys)
    assert code == 0, err
    assert "verification:" in out


# Archives are limited before they reach the disk -------------------------------------------


def test_a_zip_that_declares_too_much_is_refused_before_anything_is_written(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model/small.txt", b"x" * 10)
        zf.writestr("model/huge.bin", b"\0" * 2_000_000)  # compresses to about 2 KB
    target = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match=r"unpacks to more than 1000000 bytes \(refused at 'model/huge.bin'\)"):
        extract_archive(archive, target, limits=ArchiveLimits(max_total_bytes=1_000_000))
    assert not any(path.is_file() for path in target.rglob("*")), "the central directory is checked first"


def test_a_zip_with_too_many_members_is_refused_before_anything_is_written(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for index in range(50):
            zf.writestr(f"model/f{index}", b"")
    with pytest.raises(UnsafeArchiveError, match="more than 10 members"):
        extract_archive(archive, tmp_path / "out", limits=ArchiveLimits(max_members=10))
    assert not any(path.is_file() for path in (tmp_path / "out").rglob("*"))


def test_a_tar_member_is_refused_by_its_header_before_it_is_written(tmp_path):
    archive = tmp_path / "big.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"\0" * 3_000_000
        member = tarfile.TarInfo("model/huge.bin")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    with pytest.raises(UnsafeArchiveError, match="refused at 'model/huge.bin'"):
        extract_archive(archive, tmp_path / "out", limits=ArchiveLimits(max_total_bytes=1_000_000))
    assert not (tmp_path / "out" / "model" / "huge.bin").exists()


def test_the_real_byte_count_stops_a_header_that_lies():
    budget = _Budget("liar.tar", ArchiveLimits(max_total_bytes=100))
    budget.declare("member", 10)  # what the header says
    with pytest.raises(UnsafeArchiveError, match="unpacks to more than 100 bytes"):
        budget.add_written("member", 5000)  # what arrives


def test_uploads_are_bounded_by_the_sessions_disk_allowance(samples, tmp_path):
    session = StudioSession(work_parent=tmp_path)
    archive = tmp_path / "price.tar"
    write_archive(samples / "house_price", archive)
    size = archive.stat().st_size
    session.workspace.allowance = DiskAllowance(per_session=size // 2, total=10**12)
    with pytest.raises(
        DiskAllowanceError, match=r"needs .* of disk, and only .* is left: this session may use .*STUDIO_SESSION_DISK_MB"
    ):
        session.load_upload("price.tar", archive.read_bytes())
    session.workspace.allowance = DiskAllowance(per_session=10**12, total=size + 1000)  # the upload fits, its contents not
    with pytest.raises(
        DiskAllowanceError, match="the disk allowance binds: all sessions together may use .*STUDIO_TOTAL_DISK_MB"
    ):
        session.load_upload("price.tar", archive.read_bytes())
    assert not list(session.workspace.path.iterdir()), "nothing of a refused upload stays"
    session.close()


# Paths that break, hang or lead out of the model ---------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["sample_models/house\x00price", "sample_models/" + "x" * 5000, "sample_models/loop"],
    ids=["nul-byte", "5000-characters", "link-loop"],
)
def test_broken_server_paths_are_sentences(monkeypatch, tmp_path, path):
    root = tmp_path / "sample_models"
    root.mkdir()
    (root / "loop").symlink_to(root / "loop")
    monkeypatch.setenv("STUDIO_MODEL_ROOTS", str(root))
    monkeypatch.chdir(tmp_path)
    at = open_app().run()
    load_server_path(at, str(tmp_path / path))
    assert not at.exception
    assert joined(at.sidebar.error), "one sentence says what is wrong"


def test_a_fifo_source_is_refused_at_once(tmp_path):
    fifo = tmp_path / "model.zip"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-m", "core", "inspect", str(fifo)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "is not a regular file or a folder" in _one_error_line(done.stderr)


def test_a_fifo_under_an_allowed_root_does_not_hang_the_browser_session(monkeypatch, tmp_path):
    os.mkfifo(tmp_path / "model.zip")
    monkeypatch.setenv("STUDIO_MODEL_ROOTS", str(tmp_path))
    at = open_app().run()
    load_server_path(at, str(tmp_path / "model.zip"))
    assert "is not a regular file or a folder" in joined(at.sidebar.error)


def test_a_fifo_inside_a_model_folder_is_refused(samples, tmp_path):
    model = tmp_path / "model"
    write_archive(samples / "house_price", tmp_path / "m.tar")
    extract_archive(tmp_path / "m.tar", model)
    os.mkfifo(model / "assets.extra.fifo")
    with pytest.raises(ModelSourceError, match="assets.extra.fifo is a device, FIFO or socket"):
        inspect_model(model)


def test_a_link_out_of_an_allowed_model_folder_is_refused(monkeypatch, samples, tmp_path, capsys):
    root = tmp_path / "models"
    model = root / "leaky"
    write_archive(samples / "vocab_lookup", tmp_path / "m.tar")
    extract_archive(tmp_path / "m.tar", model)
    secret = tmp_path / "secret.txt"
    secret.write_text("the server's secret")
    (model / "assets.extra" / "leak.txt").symlink_to(secret)
    code, _, err = _cli(["rewrite", model, tmp_path / "out.zip", "--key", "k"], capsys)
    assert code == 2 and "assets.extra/leak.txt is a link to a file outside the model" in _one_error_line(err)
    assert not (tmp_path / "out.zip").exists()
    monkeypatch.setenv("STUDIO_MODEL_ROOTS", str(root))
    at = open_app().run()
    load_server_path(at, str(model))
    assert "leak.txt is a link to a file outside the model" in joined(at.sidebar.error)


def test_a_link_that_stays_inside_the_model_is_fine(samples, tmp_path):
    model = tmp_path / "model"
    write_archive(samples / "vocab_lookup", tmp_path / "m.tar")
    extract_archive(tmp_path / "m.tar", model)
    (model / "assets.extra" / "same_labels.csv").symlink_to(model / "assets.extra" / "labels.csv")
    assert "same_labels.csv" in inspect_model(model).assets_extra


# Garbage that parses, damage that loads ------------------------------------------------------


def test_an_upload_whose_saved_model_pb_is_random_is_refused_at_load(tmp_path):
    archive = tmp_path / "random.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("model/saved_model.pb", bytes(range(256)) * 4)
    at = open_app().run()
    upload(at, "random.zip", archive.read_bytes())
    assert "random.zip: saved_model.pb is not a valid SavedModel" in joined(at.sidebar.error)
    assert "Loaded: **house\\_price (sample)**" in "\n".join(s.value for s in at.sidebar.success)


def test_apply_on_a_model_with_truncated_variables_is_a_sentence(monkeypatch, samples, tmp_path):
    root = tmp_path / "models"
    model = root / "truncated"
    write_archive(samples / "house_price", tmp_path / "m.tar")
    extract_archive(tmp_path / "m.tar", model)
    for data in (model / "variables").glob("variables.data-*"):
        data.write_bytes(data.read_bytes()[:7])
    monkeypatch.setenv("STUDIO_MODEL_ROOTS", str(root))
    at = open_app().run()
    load_server_path(at, str(model))
    switch_to(at, "edit")
    widget(at, "text_input", "Key name").input("k").run()
    widget(at, "button", "Apply").click().run()
    wait_for_apply(at)
    assert not at.exception
    message = joined(at.error)
    assert "nothing was written" in message and "cannot load the model: Read less bytes than requested" in message
    assert WORKSPACE_PREFIX not in message


def test_a_model_no_loader_loads_fails_verification_and_nothing_is_written(samples, tmp_path, capsys):
    """The proto engines copy a broken model faithfully; verification refuses to hand it out."""
    model = tmp_path / "truncated"
    shutil.copytree(samples / "tf1_half_plus_two" / "00000123", model)
    for data in (model / "variables").glob("variables.data-*"):
        data.write_bytes(data.read_bytes()[:3])
    assert main(["rewrite", str(model), str(tmp_path / "out"), "--key", "k"]) == 1
    err = capsys.readouterr().err
    assert "verification failed, nothing was written: the original model loads [tf.saved_model.load]" in err
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".*"))


# The CLI never destroys what it was given -------------------------------------------------


def test_an_archive_is_never_rewritten_onto_itself(samples, tmp_path, capsys):
    archive = tmp_path / "m.zip"
    write_archive(samples / "house_price", archive)
    before = archive.read_bytes()
    code, _, err = _cli(["rewrite", archive, archive, "--key", "k", "--overwrite"], capsys)
    assert code == 2 and "overlaps the source" in _one_error_line(err)
    assert archive.read_bytes() == before
    code, _, err = _cli(["rewrite", archive, tmp_path, "--key", "k", "--overwrite"], capsys)
    assert code == 2 and "overlaps the source" in err, "nor into the folder that holds it"


def test_a_link_planted_at_a_partial_archive_name_is_not_followed(samples, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".signature-studio-partial-model.zip").symlink_to(outside)  # the name used to be predictable
    package_model(samples / "house_price", out / "model.zip", version=None)
    assert outside.read_text() == "keep me"
    assert zipfile.is_zipfile(out / "model.zip")
    assert sorted(p.name for p in out.iterdir()) == [".signature-studio-partial-model.zip", "model.zip"]


def test_a_failed_verification_leaves_no_parent_folders(models, tmp_path, capsys):
    code, _, _ = _cli(["rewrite", models["random_output"], tmp_path / "new" / "deeper" / "out", "--key", "k"], capsys)
    assert code == 1
    assert list(tmp_path.iterdir()) == []


# Names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--as", "--keep-original"])
def test_internal_names_are_never_a_result(samples, tmp_path, capsys, flag):
    code, _, err = _cli(
        ["rewrite", samples / "house_price", tmp_path / "o", "--key", "k", flag, "__saved_model_init_op", "--no-verify"], capsys
    )
    assert code == 2 and "signature name '__saved_model_init_op' is reserved" in _one_error_line(err)
    assert not (tmp_path / "o").exists()


def test_a_tf1_signature_with_any_name_gets_a_key(tmp_path, capsys):
    from core._tf import tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        x = v1.placeholder(tf.float32, [None], name="x")
        y = tf.identity(x * 2.0, name="y")
        builder = v1.saved_model.builder.SavedModelBuilder(str(tmp_path / "model"))
        signature = v1.saved_model.signature_def_utils.predict_signature_def({"x": x}, {"y": y})
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"sérvïng_日本": signature})
        builder.save()
    code, _, err = _cli(["rewrite", tmp_path / "model", tmp_path / "out", "--signature", "sérvïng_日本", "--key", "k"], capsys)
    assert code == 0, err
    assert "k" in inspect_model(tmp_path / "out").signatures["sérvïng_日本"].outputs


def test_a_newline_in_a_key_name_does_not_split_the_error_line(samples, tmp_path, capsys):
    code, _, err = _cli(["rewrite", samples / "house_price", tmp_path / "o", "--key", "bad\nname"], capsys)
    assert code == 2
    assert "key name 'bad\\nname' is not a valid name" in _one_error_line(err)


# Leftovers ---------------------------------------------------------------------------------


def test_a_dead_servers_session_folders_are_swept_at_start_up(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{WORKSPACE_PREFIX}{dead.stdout.strip()}-abc"
    (stale / "upload-1").mkdir(parents=True)
    live = Workspace(tmp_path, allowance=DiskAllowance(10**9, 10**9))
    foreign = tmp_path / "someone-elses-folder"
    foreign.mkdir()
    assert sweep_stale_workspaces(tmp_path) == 1
    assert not stale.exists() and live.path.exists() and foreign.exists()
    live.close()


def test_only_the_current_archive_is_kept(tmp_path):
    session = StudioSession(work_parent=tmp_path)
    session.load_sample("house_price")
    from core.rewrite.request import RewriteRequest
    from tests.sessions import apply_in_session

    apply_in_session(session, RewriteRequest(key="k"))
    first = session.package("zip")
    second = session.package("tar.gz")
    assert not first.exists() and second.exists()
    assert len(list(session.workspace.path.glob("download-*"))) == 1
    session.close()


# Messages ---------------------------------------------------------------------------------


def test_the_cli_in_a_fresh_process_prints_nothing_but_its_own_lines(samples, tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "core", "inspect", str(samples / "house_price")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ok.returncode == 0 and ok.stderr == "", "no TensorFlow start-up lines"
    bad = subprocess.run(
        [sys.executable, "-m", "core", "inspect", str(tmp_path / "nope")], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: ")


def test_messages_name_the_upload_not_where_the_server_keeps_it(tmp_path):
    session = StudioSession(work_parent=tmp_path)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("nothing/here.txt", "no model")
    with pytest.raises(ModelSourceError) as refused:
        session.load_upload("my_model.zip", archive.getvalue())
    assert str(refused.value).startswith("my_model.zip: the archive holds no SavedModel")
    assert str(tmp_path) not in str(refused.value)
    session.close()
