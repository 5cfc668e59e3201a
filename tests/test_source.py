"""Model sources: folders, TF Serving base paths, archives at any depth, Keras files, and the
clear errors for everything else. Temporary folders never outlive ``open_model``."""

from __future__ import annotations

import io
import zipfile

import pytest

from core.errors import ModelSourceError
from core.sources.stage import TEMP_PREFIX, open_model
from core.workflows import inspect_model


def test_saved_model_folder(samples):
    with open_model(samples / "house_price") as source:
        assert source.path == samples / "house_price"
        assert source.version is None
        assert source.kind == "directory"


def test_serving_base_path_reads_the_highest_version(models):
    info = inspect_model(models["serving_base"])
    assert info.version == 7
    assert info.path == str(models["serving_base"])
    with open_model(models["serving_base"]) as source:
        assert source.path.name == "7"


def test_version_folder_itself_reports_its_version(samples):
    assert inspect_model(samples / "tf1_half_plus_two" / "00000123").version == 123


@pytest.mark.parametrize("suffix", [".zip", ".tar", ".tar.gz", ".tgz"])
def test_archive_with_the_model_at_depth(models, suffix, tmp_path):
    with open_model(models[f"archive{suffix}"], work_dir=tmp_path) as source:
        assert source.path.as_posix().endswith("deep/er/house_price")
        assert source.kind == "archive"
        scratch = next(tmp_path.iterdir())
        assert scratch.name.startswith(TEMP_PREFIX)
        info = inspect_model(source.path)
        assert sorted(info.signatures["serving_default"].inputs) == ["rooms", "tax_rate"]
    assert list(tmp_path.iterdir()) == [], "the extraction folder must be removed"


def test_archive_of_a_serving_base_picks_the_highest_version(models):
    info = inspect_model(models["archive_versions"])
    assert info.version == 7


def test_archive_with_two_models_lists_them(models):
    with pytest.raises(ModelSourceError, match=r"holds 2 SavedModels \(bundle/a, bundle/b\)"):
        inspect_model(models["archive_two_models"])


def test_temporary_folder_is_removed_when_the_block_raises(models, tmp_path):
    with pytest.raises(RuntimeError), open_model(models["archive.zip"], work_dir=tmp_path):
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["keras_file", "h5_file"])
def test_keras_files_are_exported_first(models, name):
    info = inspect_model(models[name])
    assert info.format == "tf2"
    signature = info.signatures["serving_default"]
    assert sorted(signature.inputs) == ["rooms", "tax_rate"]
    assert signature.inputs["rooms"].shape == (-1, 1)


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("broken.keras", b"not a zip at all", r"broken.keras is not a Keras file: a .keras file is the zip archive"),
        ("broken.h5", b"not hdf5 either", r"broken.h5 is not a Keras file: an .h5 file is the HDF5 file"),
        ("empty.keras", _zip_bytes({"notes.txt": b"hello"}), r"empty.keras: its Keras configuration cannot be read \(.+\)"),
    ],
)
def test_a_file_that_is_no_keras_model_is_named_so(tmp_path, name, data, message):
    bad = tmp_path / name
    bad.write_bytes(data)
    with pytest.raises(ModelSourceError, match=message) as refused:
        with open_model(bad, work_dir=tmp_path) as _:
            pass
    assert "File not found" not in str(refused.value)
    assert str(refused.value).count(str(tmp_path)) <= 1, "the private work folder is not named"


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing", "does not exist; give a SavedModel directory"),
        ("notes.txt", "unsupported kind; give a SavedModel directory"),
        ("broken.tar.gz", "cannot be read as a .tar.gz archive"),
        ("broken.zip", "cannot be read as a .zip archive"),
        ("empty_folder", "is not a SavedModel"),
    ],
)
def test_bad_sources_are_clear_errors(tmp_path, name, message):
    path = tmp_path / name
    if name == "empty_folder":
        path.mkdir()
    elif name != "missing":
        path.write_bytes(b"just some bytes")
    with pytest.raises(ModelSourceError, match=message):
        inspect_model(path)


def test_archive_without_a_model(tmp_path):
    import zipfile

    archive = tmp_path / "nothing.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "no model here")
    with pytest.raises(ModelSourceError, match="holds no SavedModel"):
        inspect_model(archive)
