"""The Streamlit app under ``streamlit.testing.v1.AppTest``: every page, real models, real
rewrites. Only the browser is simulated; every test ends with ``not at.exception``."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from core.rewrite.request import RewriteRequest
from core.savedmodel.handle import read_model_info
from core.studio.edit_form import ResultMode
from core.studio.workspace import ROOTS_VARIABLE
from core.workflows import rewrite_model
from tests.apptest import (
    CSV_UPLOADER,
    apply_now,
    archive_bytes,
    joined,
    key_rewrite,
    load_server_path,
    open_app,
    responses,
    session_of,
    switch_to,
    tables,
    texts,
    upload,
    uploader,
    widget,
)
from tests.conftest import HOUSE_FEEDS, assert_serves_keyed_house_price, run_with_object_loader


@pytest.fixture(scope="module")
def applied():
    """One app with the keyed house-price rewrite applied, shared by the tests that read it;
    each of them starts by switching to its own page."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(ROOTS_VARIABLE, raising=False)
        at = open_app().run()
        apply_now(key_rewrite(at))
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


def test_default_start_shows_the_sample_signatures(app):
    text = joined(app.markdown)
    assert "#### `serving_default`" in text and "#### `serve`" in text
    assert "Signature Studio rewrites the serving signatures" in text and "open **Edit**" in text
    assert "house_price (sample)" in joined(app.sidebar.success)
    summary = tables(app, "value")[0]
    assert dict(zip(summary["fact"], summary["value"], strict=True))["TF Serving version"] == "—"
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Format"] == "TF2 object graph" and metrics["Signatures"] == "2"
    assert "format" not in summary["fact"].tolist(), "the metrics are not repeated in the table"
    table = tables(app, "tensor name")[0]  # the inputs of 'serve'
    assert table["name"].tolist() == ["rooms", "tax_rate"]
    assert table["shape"].tolist() == ["[-1, 1]", "[-1, 1]"]
    assert "-1 is a dimension of any size" in joined(app.caption)
    assert len(app.get("graphviz_chart")) == 2, "one picture per public signature"
    assert [m.label for m in app.metric] == ["Format", "TensorFlow", "Signatures", "Variables"]
    assert "__saved_model_init_op" not in text
    widget(app, "toggle", "Show internal signatures").set_value(True).run()
    assert "#### `__saved_model_init_op`" in joined(app.markdown)
    assert app.download_button(key="inspect_download_json").label == "Download the inspection as JSON"


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_upload_an_archive(app, samples, tmp_path, suffix):
    assert widget(app, "radio", "Source", sidebar=True).set_value("Upload").run()
    assert app.sidebar.get("file_uploader")[0].label == "Upload a SavedModel archive or Keras file"
    upload(app, f"vocab{suffix}", archive_bytes(samples / "vocab_lookup", suffix, tmp_path))
    assert f"vocab{suffix}" in joined(app.sidebar.success)
    assert "#### `count_known`" in joined(app.markdown)


def test_bad_upload_is_an_error_and_keeps_the_model(app):
    upload(app, "broken.zip", b"not a zip")
    assert "broken.zip: cannot be read as a .zip archive" in joined(app.sidebar.error)
    assert "house_price (sample)" in joined(app.sidebar.success)


def test_unsafe_archive_upload_is_refused(app):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("model/evil")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    upload(app, "evil.tar.gz", buffer.getvalue())
    assert "'model/evil' is a symbolic link" in joined(app.sidebar.error)


def test_server_path_outside_the_roots_is_refused(app):
    load_server_path(app, "/etc")
    assert "is outside the allowed model folders" in joined(app.sidebar.error)


def test_server_path_inside_the_roots_loads(app):
    load_server_path(app, "sample_models/tf1_half_plus_two")
    assert "TF Serving version 123" in joined(app.sidebar.success)
    summary = tables(app, "value")[0]
    facts = dict(zip(summary["fact"], summary["value"], strict=True))
    assert facts["TF Serving version"] == "123" and facts["assets"] == "class_names.txt"
    assert {metric.label: metric.value for metric in app.metric}["Format"] == "TF1 graph"
    assert "#### `classify_x_to_y`" in joined(app.markdown)


@pytest.mark.parametrize("archive_format", ["zip", "tar.gz"])
def test_edit_apply_and_download(applied, tmp_path, deferred_downloads, archive_format):
    app = switch_to(applied, "edit")
    (report,) = tables(app, "status")
    assert set(report["status"]) == {"passed"}
    assert {"tf.saved_model.load", "tf.compat.v1 session loader"} <= set(report["loader"])
    assert "Rewritten by the TF2 object-graph engine." in joined(app.caption)
    widget(app, "radio", "Archive format").set_value(archive_format)
    widget(app, "checkbox", "TF Serving version layout").check().run()
    widget(app, "number_input", "Version").set_value(4).run()
    assert not app.exception
    (button,) = app.get("download_button")
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
    widget(app, "text_input", "Key name").input("rooms").run()
    assert not app.exception
    assert "key name 'rooms' collides with an input" in joined(app.error)
    assert widget(app, "button", "Apply").disabled


def test_edit_preview_draws_the_key_passing_by(app):
    key_rewrite(app)
    result, original = app.get("graphviz_chart")[:2]  # the result's tab comes first
    assert "instance_key" not in original.proto.spec
    assert "key, echoed" in result.proto.spec and "forwarded" in result.proto.spec
    assert "takes one value per row of the batch" in joined(app.caption)


def test_edit_filter_and_select_all_shown(app):
    switch_to(app, "edit")
    widget(app, "text_input", "Filter inputs").input("tax").run()
    assert [c.label for c in app.checkbox if c.label in ("rooms", "tax_rate")] == ["tax_rate"]
    widget(app, "button", "Select all shown (1)").click().run()
    assert widget(app, "checkbox", "tax_rate").value
    widget(app, "text_input", "Key name").input("k").run()
    assert not app.exception
    assert sorted(tables(app, "tensor name")[1]["name"]) == ["k", "output_0", "tax_rate"]  # the result's outputs


def test_forwarded_inputs_survive_being_filtered_out(app):
    switch_to(app, "edit")
    widget(app, "checkbox", "tax_rate").check().run()
    widget(app, "text_input", "Output name for tax_rate").input("tax").run()
    widget(app, "text_input", "Filter inputs").input("rooms").run()
    widget(app, "text_input", "Key name").input("k").run()
    assert not app.exception
    assert "Also forwarded (hidden by the filter): tax_rate" in joined(app.caption)
    assert sorted(tables(app, "tensor name")[1]["name"]) == ["k", "output_0", "tax"]
    widget(app, "text_input", "Filter inputs").input("").run()
    assert not app.exception
    assert widget(app, "checkbox", "tax_rate").value
    assert widget(app, "text_input", "Output name for tax_rate").value == "tax"


def test_edit_renames_other_signatures(app):
    widget(app, "selectbox", "Sample model", sidebar=True).set_value("vocab_lookup").run()
    switch_to(app, "edit")
    widget(app, "text_input", "Key name").input("k").run()
    widget(app, "text_input", "New name for signature count_known").input("count_known_v2").run()
    assert not app.exception and not app.error
    assert "Signatures after the rewrite: count_known_v2, serving_default, unkeyed" in joined(app.caption)


def test_compare_shows_the_added_outputs(applied):
    app = switch_to(applied, "compare")
    widget(app, "radio", "Compare").set_value("Original vs rewritten").run()
    assert not app.exception
    assert "1 input added, 0 removed, 0 changed; 2 outputs added, 0 removed, 0 changed" in joined(app.markdown)
    (table,) = tables(app, "change")
    added = table[table["change"] == "+ added"]
    assert sorted(zip(added["side"], added["name"], strict=True)) == [
        ("input", "instance_key"),
        ("output", "instance_key"),
        ("output", "tax_rate"),
    ]


def test_compare_two_signatures_of_one_model(app):
    switch_to(app, "compare")
    assert widget(app, "radio", "Compare").value == "Two signatures of this model"
    summary = "0 inputs added, 0 removed, 0 changed; 0 outputs added, 0 removed, 0 changed; 3 tensor name(s) differ"
    assert summary in joined(app.markdown)
    assert "identical" in joined(app.success)


def test_try_json_on_the_rewritten_model(applied):
    app = switch_to(applied, "try_model")
    widget(app, "radio", "Model").set_value("Rewritten").run()
    body = {
        "instances": [
            {"rooms": [3.0], "tax_rate": [0.1], "instance_key": "a"},
            {"rooms": [4.0], "tax_rate": [0.2], "instance_key": "b"},
        ]
    }
    app.text_area[0].input(json.dumps(body))
    widget(app, "button", "Run request").click().run()
    assert not app.exception and not app.error
    predictions = json.loads(app.code[0].value)["predictions"]
    assert [row["instance_key"] for row in predictions] == ["a", "b"]
    assert [row["tax_rate"] for row in predictions] == [[0.1], [0.2]]


def test_try_json_errors_are_messages(app):
    switch_to(app, "try_model")
    app.text_area[0].input('{"instances": [{"rooms": [1.0]}]}')
    widget(app, "button", "Run request").click().run()
    assert not app.exception
    assert "missing input(s) ['tax_rate']" in joined(app.error)


def test_try_csv_batches_carry_the_key(applied):
    app = switch_to(applied, "try_model")
    widget(app, "radio", "Model").set_value("Rewritten").run()
    rows = "\n".join(f"{i * 0.1:.1f},{i},row-{i}" for i in range(1, 8))
    uploader(app, CSV_UPLOADER).set_value(("rows.csv", f"tax_rate,rooms,instance_key\n{rows}\n".encode(), "text/csv"))
    widget(app, "number_input", "Batch size").set_value(3)
    app.run()
    widget(app, "button", "Run CSV").click().run()
    assert not app.exception and not app.error
    (frame,) = tables(app, "instance_key")
    assert frame["instance_key"].tolist() == [f"row-{i}" for i in range(1, 8)]
    assert "Download results (CSV)" in [button.label for button in app.get("download_button")]


def test_try_csv_with_a_missing_column(app):
    switch_to(app, "try_model")
    uploader(app, CSV_UPLOADER).set_value(("rows.csv", b"rooms\n1\n", "text/csv"))
    app.run()
    widget(app, "button", "Run CSV").click().run()
    assert not app.exception
    assert "the CSV lacks column(s) ['tax_rate']" in joined(app.error)


def test_try_asks_before_running_unsafe_ops(monkeypatch, models):
    monkeypatch.setenv(ROOTS_VARIABLE, str(models["unsafe_ops"].parent))
    at = open_app().run()
    load_server_path(at, str(models["unsafe_ops"]))
    assert "PrintV2 writes into the server's logs; ReadFile reads files of the server" in joined(at.warning)
    switch_to(at, "try_model")
    assert "unsafe ops" in joined(at.warning)
    assert not at.get("tabs"), "nothing may run before the user confirms"
    widget(at, "checkbox", "I trust this model: run it anyway").check().run()
    assert not at.exception
    assert widget(at, "button", "Run request")


def test_a_keras2_export_is_explained_repaired_and_tried(app):
    """The Keras 2-era sample: Inspect says tf.saved_model.load cannot revive it, Edit repairs it
    on its own, and Try answers through the session as TF Serving would."""
    widget(app, "selectbox", "Sample model", sidebar=True).set_value("keras2_churn").run()
    assert not app.exception
    assert "tf.saved_model.load cannot revive this model" in joined(app.warning)
    switch_to(app, "edit")
    widget(app, "checkbox", "Drop the optimizer state").check().run()
    assert not app.exception and not app.error, texts(app.error)
    assert "drops optimizer 'optimizer'" in joined(app.info)
    apply_now(app)
    assert not app.error, texts(app.error)
    (report,) = tables(app, "status")
    assert set(report["status"]) == {"passed"}
    assert any("dropped 'optimizer'" in detail for detail in report["detail"])
    switch_to(app, "try_model")
    widget(app, "radio", "Model").set_value("Original").run()
    widget(app, "button", "Run request").click().run()
    assert not app.exception and not app.error, texts(app.error)
    assert '"predictions"' in responses(app)[0]


def test_a_copy_without_its_checkpoint_is_named_on_inspect_and_never_run(monkeypatch, samples, tmp_path):
    """saved_model.pb alone, as public repositories often hold it: Inspect says what is missing,
    Try refuses before any worker is asked to load it, and Apply says the same sentence."""
    import shutil

    copy = tmp_path / "pb_only"
    copy.mkdir()
    shutil.copy(samples / "house_price" / "saved_model.pb", copy)
    monkeypatch.setenv(ROOTS_VARIABLE, str(tmp_path))
    at = open_app().run()
    load_server_path(at, str(copy))
    assert not at.exception
    assert "variables/ is missing, though the graph holds" in joined(at.error)
    switch_to(at, "try_model")
    assert not at.exception
    assert "This model cannot run: variables/ is missing" in joined(at.error)
    assert not at.get("tabs")
    switch_to(at, "edit")
    widget(at, "text_input", "Key name").input("row_id").run()
    apply_now(at)
    assert not at.exception
    assert "is incomplete: variables/ is missing" in joined(at.error)


BATCH_UPLOADER = "Rows: a CSV with a header, JSON lines of TF Serving instances, or TFRecord of tf.Example"


def _run_batch(at, name: str, data: bytes):
    uploader(at, BATCH_UPLOADER).set_value((name, data, "text/csv"))
    at.run()
    widget(at, "button", "Run batch").click().run()
    session_of(at).batch.wait(300)
    return at.run()


def test_a_batch_run_is_gone_when_its_model_comes_back(app):
    """Batch on A, load B, then A again: no crash on files that went with A, no old summary."""
    switch_to(app, "try_model")
    _run_batch(app, "rows.csv", b"rooms,tax_rate\n3,0.1\n4,0.2\n")
    assert "rows.csv: 2 rows: 2 predicted, 0 rejected" in joined(app.success)
    widget(app, "selectbox", "Sample model", sidebar=True).set_value("vocab_lookup").run()
    widget(app, "selectbox", "Sample model", sidebar=True).set_value("house_price").run()
    switch_to(app, "try_model")
    assert not app.exception
    assert "rows.csv" not in joined(app.success)
    assert not [button for button in app.get("download_button") if "results" in button.label]
    assert not uploader(app, BATCH_UPLOADER).value, "the upload belonged to the model before"


def test_a_batch_that_predicted_nothing_is_an_error_with_its_one_reason(app):
    switch_to(app, "try_model")
    _run_batch(app, "bad.csv", b"rooms,tax_rate\nthree,0.1\nthree,0.2\n")
    assert not app.exception and "bad.csv" not in joined(app.success)
    (error,) = [text for text in texts(app.error) if "bad.csv" in text]
    assert error.startswith("bad.csv: 2 rows: 0 predicted, 2 rejected") and "nothing was predicted. Every row:" in error
    assert "Error:" not in error and "core.errors" not in error
    (rejected,) = tables(app, "row_number")
    assert "error" not in rejected.columns, "the shared reason is said once, above the table"


def test_a_csv_upload_does_not_follow_to_the_next_model(app):
    switch_to(app, "try_model")
    uploader(app, CSV_UPLOADER).set_value(("rows.csv", b"rooms,tax_rate\n1,0.1\n", "text/csv"))
    app.run()
    widget(app, "selectbox", "Sample model", sidebar=True).set_value("vocab_lookup").run()
    switch_to(app, "try_model")
    assert not app.exception
    assert not uploader(app, CSV_UPLOADER).value


def test_a_report_with_a_loader_left_out_says_so_once_and_not_in_green(app):
    widget(app, "selectbox", "Sample model", sidebar=True).set_value("keras2_churn").run()
    switch_to(app, "edit")
    widget(app, "text_input", "Key name").input("row_id").run()
    apply_now(app)
    assert not app.exception and not app.error
    (verdict,) = [text for text in texts(app.warning) if text.startswith("Signature 'serving_default' written")]
    assert "verified through tf.compat.v1 session loader; not verified through tf.saved_model.load:" in verdict
    assert verdict.count("cannot revive this model") == 1, "a reason shared by several checks is said once"
    assert not [text for text in texts(app.success) if "written" in text]
    assert "partly verified" in joined(app.sidebar.info)
    (report,) = tables(app, "status")
    assert len(report) == len(session_of(app).rewrite.result.report.checks), "every check is in the table"


def test_a_file_keyed_otherwise_feeds_the_models_key_input_from_the_column_picked(app):
    apply_now(key_rewrite(app, "instance_key"))
    switch_to(app, "try_model")
    uploader(app, BATCH_UPLOADER).set_value(("loan20.csv", b"id,rooms,tax_rate\nr1,3,0.1\nr2,4,0.2\n", "text/csv"))
    app.run()
    assert "The file has no column named 'instance_key'" in joined(app.info)
    widget(app, "selectbox", "Column for input 'instance_key'").set_value("id").run()
    widget(app, "button", "Run batch").click().run()
    session_of(app).batch.wait(300)
    app.run()
    assert not app.exception and not app.error, texts(app.error)
    assert "loan20.csv: 2 rows: 2 predicted, 0 rejected" in joined(app.success)
    (results,) = tables(app, "instance_key")
    assert results["key"].tolist() == ['"r1"', '"r2"'] and results["instance_key"].tolist() == ['"r1"', '"r2"']


RAW_FEATURES = "Take the tf.Example features as tensors (raw features)"


def test_edit_takes_the_example_features_of_tf_servings_own_model_as_tensors(monkeypatch, models):
    """TF Serving's TF2 half_plus_two parses tf.Examples in 'regress_x_to_y': Edit offers its
    raw features, adds 'regress_x_to_y_raw' beside it by default, verification passes, the
    Original tab still shows the Example input, and Try answers the result with values."""
    model = models["tf_serving_half_plus_two_tf2_cpu"]
    monkeypatch.setenv(ROOTS_VARIABLE, str(model.parent.parent))
    app = load_server_path(open_app().run(), str(model.parent))
    switch_to(app, "try_model")
    widget(app, "selectbox", "Signature").set_value("regress_x_to_y").run()
    assert "give the model a raw-feature signature on the Edit page" in joined(app.info)
    switch_to(app, "edit")
    widget(app, "selectbox", "Base signature").set_value("regress_x_to_y").run()
    assert [box.label for box in app.checkbox if box.label in ("inputs", "x")] == ["inputs"]
    widget(app, "checkbox", RAW_FEATURES).check().run()
    assert not app.exception and not app.error, texts(app.error)
    assert [box.label for box in app.checkbox if box.label in ("inputs", "x")] == ["x"]
    assert widget(app, "radio", "Result signature").value == ResultMode.ADD
    assert widget(app, "text_input", "New signature name").value == "regress_x_to_y_raw"
    assert "takes the features 'x' (float32 [-1, 1]) where 'regress_x_to_y' takes serialized tf.Examples" in joined(app.info)
    widget(app, "text_input", "Key name").input("id").run()
    apply_now(app)
    assert not app.error, texts(app.error)
    (report,) = tables(app, "status")
    assert set(report["status"]) == {"passed"}
    assert {"regress_x_to_y", "regress_x_to_y_raw"} <= set(session_of(app).rewrite.result.plan.final_signatures)
    _, original = app.get("graphviz_chart")[:2]
    assert 'label="inputs\nstring [-1]"' in original.proto.spec and 'label="x\n' not in original.proto.spec
    switch_to(app, "try_model")
    assert widget(app, "selectbox", "Signature").value == "regress_x_to_y_raw"
    widget(app, "button", "Run request").click().run()
    assert not app.exception and not app.error, texts(app.error)
    assert json.loads(responses(app)[0])["predictions"] == [{"id": "row-0", "outputs": [2.5]}, {"id": "row-1", "outputs": [3.0]}]
    switch_to(app, "edit")
    widget(app, "checkbox", RAW_FEATURES).uncheck().run()
    assert [box.label for box in app.checkbox if box.label in ("inputs", "x")] == ["inputs"]
    assert widget(app, "radio", "Result signature").value == ResultMode.REPLACE


def test_edit_replaces_a_classify_signature_with_its_raw_features_or_says_why_it_cannot(monkeypatch, models):
    """A signature reading a ragged feature offers raw features disabled, with the reason; an
    estimator-style export's 'serving_default' (classify) is replaced, its Example form kept."""
    model, ragged = models["tf1_estimator_examples"], models["tf2_module_examples"]
    monkeypatch.setenv(ROOTS_VARIABLE, str(model.parent))
    app = load_server_path(open_app().run(), str(ragged))
    switch_to(app, "edit")
    widget(app, "selectbox", "Base signature").set_value("with_ragged_tags").run()
    assert widget(app, "checkbox", RAW_FEATURES).disabled
    assert "No raw-feature signature: the signature reads the ragged feature(s) ['tags']" in joined(app.caption)
    load_server_path(app, str(model))
    switch_to(app, "edit")
    widget(app, "selectbox", "Base signature").set_value("predict").run()
    widget(app, "checkbox", RAW_FEATURES).check().run()
    assert [box.label for box in app.checkbox if box.label in ("tags", "age")] == ["age", "tags"], "a var-len one too"
    widget(app, "selectbox", "Base signature").set_value("serving_default").run()
    widget(app, "checkbox", RAW_FEATURES).check().run()
    widget(app, "radio", "Result signature").set_value(ResultMode.REPLACE).run()
    assert widget(app, "checkbox", "Keep the original").value
    assert widget(app, "text_input", "Name for the original").value == "serving_default_examples"
    assert not app.exception and not app.error, texts(app.error)
    captions = joined(app.caption)
    assert "Signatures after the rewrite: predict, regression, serving_default, serving_default_examples" in captions
    assert "'occupation' got 'none'" in joined(app.info), "the defaults clients now fill in are said"
    widget(app, "checkbox", "Keep the original").uncheck().run()
    assert "Signatures after the rewrite: predict, regression, serving_default\n" in joined(app.caption) + "\n"
    assert not app.error, texts(app.error)


def test_edit_says_what_becomes_of_the_models_warmup_requests_and_writes_warmup_alone(monkeypatch, samples, tmp_path):
    """A model with its own warmup file: the preview says its requests will get the key; then,
    with no other edit, Try's last request written as warmup is a rewrite of its own."""
    model = tmp_path / "price"
    result = rewrite_model(samples / "house_price", model, RewriteRequest(drop=("serve",)), warmup_count=2)
    assert result.report.ok
    monkeypatch.setenv(ROOTS_VARIABLE, str(tmp_path))
    app = load_server_path(open_app().run(), str(model))
    key_rewrite(app, "id", forward=None)
    assert "2 predict warmup request(s) of 'serving_default' now fit the rewritten 'serving_default'" in joined(app.info)
    widget(app, "text_input", "Key name").input("").run()
    assert "Nothing to rewrite yet" in joined(app.info)
    switch_to(app, "try_model")
    widget(app, "button", "Run request").click().run()
    switch_to(app, "edit")
    widget(app, "checkbox", "Add warmup requests from Try's requests").check().run()
    assert "Nothing to rewrite yet" not in joined(app.info)
    assert "2 predict warmup request(s) of 'serving_default' replaced by the 1 new one(s)" in joined(app.info)
    apply_now(app)
    assert not app.error, texts(app.error)
    (report,) = tables(app, "status")
    assert set(report["status"]) == {"passed"}
    assert read_model_info(session_of(app).rewrite.model_dir).warmup == {"serving_default": 1}
