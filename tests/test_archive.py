"""Archive safety: every refused member kind, both limits, and streaming output archives."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from core.errors import UnsafeArchiveError
from core.sources.archive import ArchiveLimits, extract_archive, write_archive
from tests.conftest import tree_digest


def _tar_with(path, member: tarfile.TarInfo, data: bytes = b"") -> None:
    with tarfile.open(path, "w:gz") as tar:
        ok = tarfile.TarInfo("model/ok.txt")
        ok.size = 2
        tar.addfile(ok, io.BytesIO(b"ok"))
        member.size = len(data) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(data) if data else None)


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


@pytest.mark.parametrize(
    "member, message",
    [
        (_member("/etc/evil"), "'/etc/evil' has an absolute path"),
        (_member("model/../../evil"), "'model/../../evil' climbs out with '..'"),
        (_member("model/link", tarfile.SYMTYPE, "/etc/passwd"), "'model/link' is a symbolic link"),
        (_member("model/hard", tarfile.LNKTYPE, "model/ok.txt"), "'model/hard' is a hard link"),
        (_member("model/dev", tarfile.CHRTYPE), "'model/dev' is a device, FIFO or other special file"),
        (_member("model/fifo", tarfile.FIFOTYPE), "'model/fifo' is a device, FIFO or other special file"),
    ],
    ids=["absolute", "dotdot", "symlink", "hardlink", "device", "fifo"],
)
def test_tar_members_that_are_refused(tmp_path, member, message):
    archive = tmp_path / "bad.tar.gz"
    data = b"x" if member.isfile() else b""
    _tar_with(archive, member, data)
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(UnsafeArchiveError, match=message):
        extract_archive(archive, target)
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize(
    "name, message",
    [("/abs/file", "absolute path"), ("a/../../up", "climbs out"), ("C:/windows/file", "absolute path")],
)
def test_zip_member_paths_that_are_refused(tmp_path, name, message):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(name, "x")
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(UnsafeArchiveError, match=message):
        extract_archive(archive, target)


def test_zip_symlink_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("model/link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="'model/link' is a symbolic link"):
        extract_archive(archive, tmp_path)


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_size_limit(tmp_path, suffix):
    source = tmp_path / "src"
    source.mkdir()
    (source / "big.bin").write_bytes(b"\0" * 5000)
    archive = tmp_path / f"big{suffix}"
    write_archive(source, archive)
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(UnsafeArchiveError, match="unpacks to more than 4096 bytes \\(refused at 'big.bin'\\)"):
        extract_archive(archive, target, limits=ArchiveLimits(max_total_bytes=4096))


def test_member_limit(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for i in range(5):
        (source / f"f{i}.txt").write_text(str(i))
    archive = tmp_path / "many.tar"
    write_archive(source, archive)
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(UnsafeArchiveError, match="more than 3 members"):
        extract_archive(archive, target, limits=ArchiveLimits(max_members=3))


@pytest.mark.parametrize("suffix", [".zip", ".tar", ".tar.gz", ".tgz"])
def test_write_then_extract_round_trip(samples, tmp_path, suffix):
    model = samples / "vocab_lookup"
    archive = tmp_path / f"model{suffix}"
    write_archive(model, archive)
    target = tmp_path / "out"
    target.mkdir()
    extract_archive(archive, target)
    assert tree_digest(target) == tree_digest(model)


def test_limits_from_the_environment():
    from core.errors import ModelSourceError
    from core.sources.archive import DEFAULT_LIMITS, MAX_BYTES_VARIABLE, MAX_MEMBERS_VARIABLE

    assert ArchiveLimits.from_environment({}) == DEFAULT_LIMITS
    assert ArchiveLimits.from_environment({MAX_BYTES_VARIABLE: "1000", MAX_MEMBERS_VARIABLE: "7"}) == ArchiveLimits(1000, 7)
    with pytest.raises(ModelSourceError, match="STUDIO_MAX_ARCHIVE_MEMBERS must be a positive whole number; received 'lots'"):
        ArchiveLimits.from_environment({MAX_MEMBERS_VARIABLE: "lots"})


def test_cli_applies_the_environment_limits(samples, tmp_path, capsys, monkeypatch):
    from core.cli.main import main
    from core.sources.archive import MAX_MEMBERS_VARIABLE

    archive = tmp_path / "model.zip"
    write_archive(samples / "house_price", archive)
    monkeypatch.setenv(MAX_MEMBERS_VARIABLE, "2")
    assert main(["inspect", str(archive)]) == 2
    assert "more than 2 members" in capsys.readouterr().err
