"""The Streamlit app under ``streamlit.testing.v1.AppTest``: every page, real models, real
rewrites. Only the browser is simulated; every test asserts ``not at.exception``."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from core.savedmodel.archive import write_archive
from core.studio.workspace import ROOTS_VARIABLE
from tests.conftest import HOUSE_FEEDS, ROOT, assert_serves_keyed_house_price, run_with_object_loader

TIMEOUT = 180


ENTRY = ROOT / "tests" / "studio_app.py"


def open_app() -> AppTest:
    """The Studio under AppTest, run through ``tests/studio_app.py`` (see there why)."""
    return AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT)


def switch_to(at: AppTest, page: str) -> AppTest:
    """Switch to ``pages/<page>.py`` and run it."""
    return at.switch_page(f"../pages/{page}.py").run()


@pytest.fixture
def app(monkeypatch):
    """The app after its first run; after the test, its last run must have raised nothing."""
    monkeypatch.delenv(ROOTS_VARIABLE, raising=False)
    at = open_app().run()
    assert not at.exception
    yield at
    assert not at.exception, "the last run of the app raised"


@pytest.fixture(scope="module")
def applied():
    """One app with the keyed house-price rewrite applied, shared by the tests that read it;
    each of them starts by switching to its own page."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(ROOTS_VARIABLE, raising=False)
        at = open_app().run()
        _apply_keyed_rewrite(at)
        yield at
    assert not at.exception, "the last run of the app raised"


@pytest.fixture
def deferred_downloads(monkeypatch) -> list:
    """Spy on the media manager: keep every deferred download callable the app registers."""
    registered = []
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, *args, **kwargs):
        registered.append(data_callable)
        return original(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return registered


def _archive_bytes(folder, suffix, tmp_path) -> bytes:
    archive = tmp_path / f"upload{suffix}"
    write_archive(folder, archive, root="my_model")
    return archive.read_bytes()


def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def _load_server_path(at, path: str) -> None:
    at.sidebar.radio(key="picker_source").set_value("Server path").run()
    at.sidebar.text_input(key="picker_path").input(path)
    at.sidebar.button(key="picker_load_path").click().run()
    assert not at.exception


def _tables(at, column: str) -> list:
    """The tables on the page that have ``column``, in page order."""
    return [frame.value for frame in at.dataframe if column in frame.value.columns]


def test_default_start_shows_the_sample_signatures(app):
    text = _markdown(app)
    assert "#### `serving_default`" in text and "#### `serve`" in text
    assert "house_price (sample)" in "\n".join(s.value for s in app.sidebar.success)
    summary = _tables(app, "value")[0]
    assert dict(zip(summary[""], summary["value"], strict=True))["TF Serving version"] == "—"
    table = _tables(app, "tensor name")[0]  # the inputs of 'serve'
    assert table["name"].tolist() == ["rooms", "tax_rate"]
    assert table["shape"].tolist() == ["[-1, 1]", "[-1, 1]"]
    assert [m.label for m in app.metric] == ["Format", "TensorFlow", "Signatures", "Variables"]
    assert "__saved_model_init_op" not in text
    app.toggle(key="inspect_show_internal").set_value(True).run()
    assert "#### `__saved_model_init_op`" in _markdown(app)
    assert app.download_button(key="inspect_download_json").label == "Download the inspection as JSON"


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_upload_an_archive(app, samples, tmp_path, suffix):
    app.sidebar.radio(key="picker_source").set_value("Upload").run()
    uploader = app.sidebar.get("file_uploader")[0]
    assert uploader.label == "Upload a SavedModel archive or Keras file"
    uploader.set_value((f"vocab{suffix}", _archive_bytes(samples / "vocab_lookup", suffix, tmp_path), "application/octet-stream"))
    app.run()
    assert not app.exception
    assert f"vocab{suffix}" in app.sidebar.success[0].value
    assert "#### `count_known`" in _markdown(app)


def test_bad_upload_is_an_error_and_keeps_the_model(app, tmp_path):
    app.sidebar.radio(key="picker_source").set_value("Upload").run()
    app.sidebar.get("file_uploader")[0].set_value(("broken.zip", b"not a zip", "application/zip"))
    app.run()
    assert not app.exception
    assert "broken.zip: cannot be read as a .zip archive" in app.sidebar.error[0].value
    assert "house_price (sample)" in app.sidebar.success[0].value


def test_unsafe_archive_upload_is_refused(app, tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("model/evil")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    app.sidebar.radio(key="picker_source").set_value("Upload").run()
    app.sidebar.get("file_uploader")[0].set_value(("evil.tar.gz", buffer.getvalue(), "application/gzip"))
    app.run()
    assert not app.exception
    assert "'model/evil' is a symbolic link" in app.sidebar.error[0].value


def test_server_path_outside_the_roots_is_refused(app):
    _load_server_path(app, "/etc")
    assert "is outside the allowed model folders" in app.sidebar.error[0].value


def test_server_path_inside_the_roots_loads(app):
    _load_server_path(app, "sample_models/tf1_half_plus_two")
    assert "TF Serving version 123" in app.sidebar.success[0].value
    summary = _tables(app, "value")[0]
    facts = dict(zip(summary[""], summary["value"], strict=True))
    assert facts["TF Serving version"] == "123" and facts["assets"] == "class_names.txt"
    assert facts["format"] == "TF1 graph"
    assert "#### `classify_x_to_y`" in _markdown(app)


def _apply_keyed_rewrite(app):
    switch_to(app, "edit")
    assert not app.exception
    tick = next(c for c in app.checkbox if c.label == "tax_rate")
    tick.check()
    app.text_input(key="edit_key").input("instance_key")
    app.run()
    assert not app.exception
    assert not app.error
    original_inputs, _, result_inputs, _ = _tables(app, "tensor name")
    assert original_inputs["name"].tolist() == ["rooms", "tax_rate"]
    assert result_inputs["name"].tolist() == ["instance_key", "rooms", "tax_rate"]
    app.button(key="edit_apply").click().run()
    assert not app.exception
    assert not app.error, [e.value for e in app.error]


@pytest.mark.parametrize("archive_format", ["zip", "tar.gz"])
def test_edit_apply_and_download(applied, tmp_path, deferred_downloads, archive_format):
    app = switch_to(applied, "edit")
    (report,) = _tables(app, "status")
    assert set(report["status"]) == {"passed"}
    assert {"tf.saved_model.load", "tf.compat.v1 session loader"} <= set(report["loader"])
    app.radio(key="edit_archive_format").set_value(archive_format)
    app.checkbox(key="edit_version_layout").check().run()
    app.number_input(key="edit_version").set_value(4).run()
    assert not app.exception
    button = app.download_button(key="edit_download")
    assert button.label.startswith("Download") and button.label.endswith(f".{archive_format}")
    data = deferred_downloads[-1]()
    unpacked = tmp_path / "unpacked"
    if archive_format == "zip":
        zipfile.ZipFile(io.BytesIO(data)).extractall(unpacked)
    else:
        tarfile.open(fileobj=io.BytesIO(data)).extractall(unpacked, filter="data")
    model = unpacked / "4"
    assert_serves_keyed_house_price(model)
    assert sorted(run_with_object_loader(model, "unkeyed", HOUSE_FEEDS)) == ["output_0"]


def test_edit_shows_plan_errors_inline(app):
    switch_to(app, "edit")
    app.text_input(key="edit_key").input("rooms").run()
    assert not app.exception
    assert "key name 'rooms' collides with an input" in app.error[0].value
    assert app.button(key="edit_apply").disabled


def test_edit_filter_and_select_all_shown(app):
    switch_to(app, "edit")
    app.text_input(key="edit_filter").input("tax").run()
    assert [c.label for c in app.checkbox if c.key.startswith("edit_forward_")] == ["tax_rate"]
    app.button(key="edit_select_all").click().run()
    assert app.checkbox(key="edit_forward_serving_default_tax_rate").value
    app.text_input(key="edit_key").input("k").run()
    assert not app.exception
    assert sorted(_tables(app, "tensor name")[3]["name"]) == ["k", "output_0", "tax_rate"]


def test_compare_shows_the_added_outputs(applied):
    app = switch_to(applied, "compare")
    app.radio(key="compare_mode").set_value("Original vs rewritten").run()
    assert not app.exception
    assert "1 inputs added, 0 removed, 0 changed; 2 outputs added, 0 removed, 0 changed" in _markdown(app)
    (table,) = _tables(app, "change")
    added = table[table["change"] == "+ added"]
    assert sorted(zip(added["side"], added["name"], strict=True)) == [
        ("input", "instance_key"),
        ("output", "instance_key"),
        ("output", "tax_rate"),
    ]


def test_compare_two_signatures_of_one_model(app):
    switch_to(app, "compare")
    assert not app.exception
    assert app.radio(key="compare_mode").value == "Two signatures of this model"
    assert "0 inputs added, 0 removed, 0 changed; 0 outputs added, 0 removed, 0 changed; 3 tensor name(s) differ" in _markdown(
        app
    )
    assert "identical" in app.success[0].value


def test_try_json_on_the_rewritten_model(applied):
    app = switch_to(applied, "try_model")
    app.radio(key="try_model").set_value("Rewritten").run()
    assert not app.exception
    assert app.radio(key="try_model").value == "Rewritten"
    body = {
        "instances": [
            {"rooms": [3.0], "tax_rate": [0.1], "instance_key": "a"},
            {"rooms": [4.0], "tax_rate": [0.2], "instance_key": "b"},
        ]
    }
    app.text_area(key="try_json_Rewritten_serving_default").input(json.dumps(body))
    app.button(key="try_run_json").click().run()
    assert not app.exception and not app.error
    predictions = app.json[0].value
    predictions = json.loads(predictions) if isinstance(predictions, str) else predictions
    assert [row["instance_key"] for row in predictions["predictions"]] == ["a", "b"]
    assert [row["tax_rate"] for row in predictions["predictions"]] == [[0.1], [0.2]]


def test_try_json_errors_are_messages(app):
    switch_to(app, "try_model")
    app.text_area(key="try_json_Original_serving_default").input('{"instances": [{"rooms": [1.0]}]}')
    app.button(key="try_run_json").click().run()
    assert not app.exception
    assert "missing input(s) ['tax_rate']" in app.error[0].value


def test_try_csv_batches_carry_the_key(applied):
    app = switch_to(applied, "try_model")
    app.radio(key="try_model").set_value("Rewritten").run()
    rows = "\n".join(f"{i * 0.1:.1f},{i},row-{i}" for i in range(1, 8))
    app.get("file_uploader")[-1].set_value(("rows.csv", f"tax_rate,rooms,instance_key\n{rows}\n".encode(), "text/csv"))
    app.number_input(key="try_batch").set_value(3)
    app.run()
    app.button(key="try_run_csv").click().run()
    assert not app.exception and not app.error
    (frame,) = _tables(app, "instance_key")
    assert frame["instance_key"].tolist() == [f"row-{i}" for i in range(1, 8)]
    assert app.download_button(key="try_download_csv").label == "Download results (CSV)"


def test_try_csv_with_a_missing_column(app):
    switch_to(app, "try_model")
    app.get("file_uploader")[-1].set_value(("rows.csv", b"rooms\n1\n", "text/csv"))
    app.run()
    app.button(key="try_run_csv").click().run()
    assert not app.exception
    assert "the CSV lacks column(s) ['tax_rate']" in app.error[0].value


def test_try_asks_before_running_unsafe_ops(monkeypatch, models):
    monkeypatch.setenv(ROOTS_VARIABLE, str(models["unsafe_ops"].parent))
    at = open_app().run()
    _load_server_path(at, str(models["unsafe_ops"]))
    assert "PrintV2, ReadFile" in at.warning[0].value
    switch_to(at, "try_model")
    assert "unsafe ops" in at.warning[0].value
    assert not at.get("tabs"), "nothing may run before the user confirms"
    next(c for c in at.checkbox if c.label.startswith("I trust this model")).check().run()
    assert not at.exception
    assert at.button(key="try_run_json")


def test_forwarded_inputs_survive_being_filtered_out(app):
    switch_to(app, "edit")
    app.checkbox(key="edit_forward_serving_default_tax_rate").check().run()
    app.text_input(key="edit_forward_as_serving_default_tax_rate").input("tax").run()
    app.text_input(key="edit_filter").input("rooms").run()
    app.text_input(key="edit_key").input("k").run()
    app.run()
    assert not app.exception
    assert "Also forwarded (hidden by the filter): tax_rate" in "\n".join(c.value for c in app.caption)
    assert sorted(_tables(app, "tensor name")[3]["name"]) == ["k", "output_0", "tax"]
    app.text_input(key="edit_filter").input("").run()
    assert not app.exception
    assert app.checkbox(key="edit_forward_serving_default_tax_rate").value
    assert app.text_input(key="edit_forward_as_serving_default_tax_rate").value == "tax"


def test_edit_renames_other_signatures(app):
    app.sidebar.selectbox(key="picker_sample").set_value("vocab_lookup").run()
    switch_to(app, "edit")
    app.text_input(key="edit_key").input("k").run()
    app.text_input(key="edit_rename_sig_count_known").input("count_known_v2").run()
    assert not app.exception and not app.error
    captions = "\n".join(c.value for c in app.caption)
    assert "Signatures after the rewrite: count_known_v2, serving_default, unkeyed" in captions
