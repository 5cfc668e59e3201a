"""A browser path users can trust: every defect a new user met on the Studio (state carried
from one model to the next, stale downloads and responses, rounded keys, compare showing
another signature than its selector, Apply cancelled by a click, failed uploads unpacked again,
unreadable messages, Try's example failing on TF1 Example signatures, a late sidebar, a lost
session on reload) as an AppTest that a user's clicks drive."""

from __future__ import annotations

import json
import re

import pytest

import core.sources.stage
import pages.common
from core.present.words import escape_markdown
from core.studio.jobs import JobState
from tests.apptest import (
    CSV_UPLOADER,
    apply_now,
    archive_bytes,
    joined,
    key_rewrite,
    load_server_path,
    open_app,
    plain,
    responses,
    session_of,
    switch_to,
    tables,
    texts,
    upload,
    uploader,
    widget,
)


# 1. Ticks belong to the model they were made on.
def test_ticks_do_not_follow_to_the_next_model(app, samples, tmp_path):
    key_rewrite(app, "k", forward="tax_rate")
    upload(app, "other_price.zip", archive_bytes(samples / "image_classifier", ".zip", tmp_path))
    switch_to(app, "edit")
    assert not app.error, texts(app.error)
    assert [c.label for c in app.checkbox if c.label == "image"] == ["image"]
    assert not widget(app, "checkbox", "image").value
    widget(app, "text_input", "Key name").input("k").run()
    assert not app.error and not widget(app, "button", "Apply").disabled


# 2. A download is offered only for the choices it was made from, and its name says what it is.
def test_changed_choices_withdraw_the_download(app):
    apply_now(key_rewrite(app, "instance_key"))
    (button,) = app.get("download_button")
    assert re.fullmatch(r"Download house_price_serving_default_key-instance_key_[0-9a-f]{6}\.zip", button.label)
    widget(app, "selectbox", "Key dtype").set_value("int64").run()
    assert not app.get("download_button"), "the old model must not be offered for the new choices"
    assert "The choices changed since the last Apply" in joined(app.info)
    assert "Verification report" not in joined(app.markdown)
    widget(app, "selectbox", "Key dtype").set_value("string").run()
    assert app.get("download_button"), "back to the applied choices, the download is back"


# 3. A response belongs to the model and signature it came from.
def test_try_response_does_not_follow_to_another_model_or_signature(app):
    apply_now(key_rewrite(app, "instance_key"))
    switch_to(app, "try_model")
    assert widget(app, "radio", "Model").value == "Rewritten"
    widget(app, "button", "Run request").click().run()
    assert "instance_key" in app.code[0].value
    widget(app, "radio", "Model").set_value("Original").run()
    assert not responses(app), "no response shown before the original model ran"
    widget(app, "radio", "Model").set_value("Rewritten").run()
    widget(app, "selectbox", "Signature").set_value("unkeyed").run()
    assert not responses(app)
    widget(app, "selectbox", "Signature").set_value("serving_default").run()
    assert "instance_key" in app.code[0].value, "its own response comes back with it"


def test_try_answers_come_back_after_a_reload(app, monkeypatch):
    """The request as sent, its response and a CSV's results are the session's, not the tab's."""
    apply_now(key_rewrite(app, "instance_key"))
    switch_to(app, "try_model")
    body = {"instances": [{"rooms": [3.0], "tax_rate": [0.1], "instance_key": "only-row"}]}
    app.text_area[0].input(json.dumps(body))
    widget(app, "button", "Run request").click().run()
    (response,) = responses(app)
    uploader(app, CSV_UPLOADER).set_value(("rows.csv", b"tax_rate,rooms,instance_key\n0.1,3,csv-row\n", "text/csv"))
    app.run()
    widget(app, "button", "Run CSV").click().run()
    token = app.query_params["session"]
    monkeypatch.setattr(pages.common, "_is_connected", lambda connection: False)  # the old tab is gone
    reloaded = open_app()
    reloaded.query_params["session"] = token[0] if isinstance(token, list) else token
    reloaded.run()
    switch_to(reloaded, "try_model")
    assert not reloaded.exception
    assert responses(reloaded) == [response] and '"instance_key": "only-row"' in response
    assert json.loads(reloaded.text_area[0].value) == body, "the request that was sent, not the example"
    (frame,) = tables(reloaded, "instance_key")
    assert frame["instance_key"].tolist() == ["csv-row"] and "Results of rows.csv" in joined(reloaded.caption)
    widget(reloaded, "selectbox", "Signature").set_value("unkeyed").run()
    assert not responses(reloaded) and not tables(reloaded, "instance_key"), "answers stay with their signature"


# 4. int64 keys beyond 2**53 come back exactly, as text and in tables.
def test_int64_keys_beyond_2_53_come_back_exactly(app):
    switch_to(app, "edit")
    widget(app, "text_input", "Key name").input("row_id").run()
    widget(app, "selectbox", "Key dtype").set_value("int64").run()
    apply_now(app)
    switch_to(app, "try_model")
    key = 2**53 + 1
    body = {"instances": [{"rooms": [3.0], "tax_rate": [0.1], "row_id": key}]}
    app.text_area[0].input(json.dumps(body))
    widget(app, "button", "Run request").click().run()
    text = app.code[0].value
    assert f'"row_id": {key}' in text and json.loads(text)["predictions"][0]["row_id"] == key
    uploader(app, CSV_UPLOADER).set_value(("rows.csv", f"rooms,tax_rate,row_id\n3,0.1,{key}\n".encode(), "text/csv"))
    app.run()
    widget(app, "button", "Run CSV").click().run()
    (frame,) = tables(app, "row_id")
    assert frame["row_id"].tolist() == [str(key)]


# 5. Compare shows what its selectors say; renames are renames; inside the rewritten model too.
def test_compare_recognises_renames_and_compares_inside_the_rewrite(app):
    switch_to(app, "edit")
    widget(app, "text_input", "Key name").input("k").run()
    widget(app, "text_input", "New name for output_0").input("price").run()
    apply_now(app)
    switch_to(app, "compare")
    (table,) = tables(app, "change")
    renamed = table[table["change"] == "> renamed"]
    assert renamed["name"].tolist() == ["output_0 → price"]
    assert "1 renamed" in joined(app.markdown)
    widget(app, "radio", "Compare").set_value("Two signatures of this model").run()
    widget(app, "radio", "Model").set_value("Rewritten").run()
    selected = [widget.value for widget in app.main.selectbox]
    assert selected == ["unkeyed", "serving_default"]
    (table,) = tables(app, "change")
    assert ("output", "output_0 → price") in list(zip(table["side"], table["name"], strict=True))


def test_two_signatures_start_different_and_the_diff_follows_the_selectors(app, samples, tmp_path):
    switch_to(app, "compare")
    first, second = (widget.value for widget in app.main.selectbox)
    assert first != second
    widget(app, "radio", "Compare").set_value("This model vs another upload").run()
    app.get("file_uploader")[-1].set_value(("vocab.zip", archive_bytes(samples / "vocab_lookup", ".zip", tmp_path), "x"))
    app.run()
    widget(app, "selectbox", "Signature B (vocab.zip)").set_value("count_known").run()
    widget(app, "radio", "Compare").set_value("Two signatures of this model").run()
    widget(app, "radio", "Compare").set_value("This model vs another upload").run()
    assert widget(app, "selectbox", "Signature B (vocab.zip)").value == "count_known"
    (table,) = tables(app, "change")
    added = set(table[table["change"] == "+ added"]["name"])
    assert added == {"sentences", "known_words", "is_known"}, "the diff is of the signature the selector shows"


# 6. Apply runs to its end whatever the user touches (the browser test clicks while it runs),
#    shows its steps, and can be cancelled.
def test_apply_runs_in_its_own_thread_and_the_page_shows_its_steps(app):
    key_rewrite(app, "instance_key")
    job = session_of(app).start_apply(session_of(app).drafts[session_of(app).model.digest])
    assert job.running, "Apply runs outside the script run"
    widget(app, "text_input", "Filter inputs").input("tax").run()  # a run while it works; it follows the job
    assert session_of(app).job.state is JobState.DONE
    assert app.get("download_button"), "the rewrite finished and is offered"
    steps = [step.text for step in session_of(app).job.steps]
    assert steps[0].startswith("rewriting") and steps[-1] == "writing the output"


def test_cancel_stops_apply_and_keeps_nothing(app):
    load_server_path(app, "sample_models/tf1_half_plus_two")
    switch_to(app, "edit")
    widget(app, "text_input", "Key name").input("k").run()
    session = session_of(app)
    session.start_apply(session.drafts[session.model.digest]).cancel()  # as the Cancel button does
    session.job.wait(120)
    app.run()
    assert session.job.state is JobState.CANCELLED
    assert session.rewrite is None
    assert "Apply was cancelled: nothing was written." in joined(app.info)
    assert not list(session.workspace.path.glob("rewrite-*/model")), "no rewrite is left in the session's folder"


# 7. A refused upload is not unpacked again on every rerun.
def test_a_refused_upload_is_unpacked_once(app, monkeypatch):
    calls = []
    real = core.sources.stage.extract_archive
    monkeypatch.setattr(core.sources.stage, "extract_archive", lambda *a, **k: calls.append(1) or real(*a, **k))
    upload(app, "broken.zip", b"PK\x03\x04 not really a zip")
    for page in ("edit", "compare", "inspect"):
        switch_to(app, page)
    assert len(calls) == 1
    assert "broken.zip: cannot be read as a .zip archive" in joined(app.sidebar.error)


# 8. Messages are plain sentences: escaped, no server paths, the real cause, neutral as info.
def test_messages_keep_their_underscores_and_name_the_upload(app, tmp_path):
    switch_to(app, "edit")
    assert not app.error, "nothing is wrong before the user did anything"
    assert "Nothing to rewrite yet" in joined(app.info)
    widget(app, "text_input", "Key name").input("bad name").run()
    (error,) = app.error
    assert error.value == escape_markdown(plain(error.value)), "the message is escaped Markdown"
    assert "a letter or underscore, then up to 127 letters, digits or underscores" in plain(error.value)
    upload(app, "model.tar.gz", b"\x1f\x8b not gzip")
    message = joined(app.sidebar.error)
    assert message.startswith("model.tar.gz: cannot be read as a .tar.gz archive")
    assert "signature-studio-session" not in message and str(tmp_path) not in message


def test_a_garbage_keras_upload_is_not_a_keras_file(app):
    upload(app, "model.keras", b"garbage")
    assert "model.keras is not a Keras file" in joined(app.sidebar.error)
    assert "File not found" not in joined(app.sidebar.error)


def test_renaming_an_output_to_the_key_blames_the_rename_and_empty_is_no_rename(app):
    switch_to(app, "edit")
    widget(app, "text_input", "Key name").input("k").run()
    widget(app, "text_input", "New name for output_0").input("k").run()
    assert joined(app.error) == "cannot rename output 'output_0' to 'k': that is the key's name; choose another output name"
    widget(app, "text_input", "New name for output_0").input("").run()
    assert not app.error, "an empty rename field means no rename"
    assert "output_0" in tables(app, "tensor name")[3]["name"].tolist()


# 9. Try's prefilled example runs on TF1 classify and regress signatures (serialized tf.Example).
@pytest.mark.parametrize("signature, output", [("classify_x_to_y", "classes"), ("regress_x_to_y", "predictions")])
def test_try_example_runs_on_tf1_example_signatures(app, signature, output):
    load_server_path(app, "sample_models/tf1_half_plus_two")
    switch_to(app, "try_model")
    widget(app, "selectbox", "Signature").set_value(signature).run()
    assert "takes serialized tf.Example protos carrying the features x (float32 [1])" in joined(app.info)
    widget(app, "button", "Run request").click().run()
    assert not app.error, texts(app.error)
    assert output in app.code[0].value


# 10. The sidebar shows the rewrite at once; reloading the page keeps the model and the rewrite.
def test_sidebar_shows_the_rewrite_as_soon_as_it_is_verified(app):
    key_rewrite(app, "instance_key")
    widget(app, "button", "Apply").click().run()
    assert "Rewritten: signature **serving_default** (verified)" in joined(app.sidebar.info)


def test_reloading_keeps_the_model_and_the_rewrite(app, monkeypatch):
    load_server_path(app, "sample_models/tf1_half_plus_two")
    switch_to(app, "edit")
    widget(app, "text_input", "Key name").input("k").run()
    apply_now(app)
    token = app.query_params["session"]
    token = token[0] if isinstance(token, list) else token
    monkeypatch.setattr(pages.common, "_is_connected", lambda connection: False)  # the old tab is gone
    reloaded = open_app()
    reloaded.query_params["session"] = token
    reloaded.run()
    assert not reloaded.exception
    assert "tf1_half_plus_two" in joined(reloaded.sidebar.success)
    assert "Rewritten: signature **serving_default** (verified)" in joined(reloaded.sidebar.info)
    switch_to(reloaded, "edit")
    assert widget(reloaded, "text_input", "Key name").value == "k", "the choices come back too"
    assert reloaded.get("download_button")
