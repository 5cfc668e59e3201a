"""Input renames and casts: planned, written by every engine, verified through both loaders,
served under the new names and dtypes, and refused with one sentence where they cannot be."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.cli.main import main
from core.errors import PlanError
from core.execution.pool import Scope
from core.rewrite.plan import plan_rewrite
from core.rewrite.request import Forward, KeyDtype, RewriteRequest
from core.savedmodel.handle import read_model_info, read_saved_model
from core.serve.models import WorkerModel
from core.serve.rest import parse_rest_request
from core.studio.compare import CompareSide, Comparison
from core.workflows import rewrite_model
from tests.conftest import HOUSE_FEEDS, run_with_object_loader, run_with_session_loader, tree_digest

LOADERS = (run_with_object_loader, run_with_session_loader)


def _rewrite(source, tmp_path, request: RewriteRequest):
    result = rewrite_model(source, tmp_path / "out", request)
    # Only the load/save engine leaves one check unproven: it writes the variable files anew.
    unproven = [check.name for check in result.report.not_verified]
    assert result.report.ok and unproven in ([], ["variables/ byte-identical"]), result.report.summary
    assert not unproven or result.engine.value == "TF2 load/save engine"
    return result


def test_a_keras_3_export_takes_the_names_its_clients_were_written_against(models, tmp_path):
    source = models["keras_unnamed"]
    assert list(read_model_info(source).signatures["serving_default"].inputs) == ["keras_tensor"]
    request = RewriteRequest(
        key="id", rename_inputs=(("keras_tensor", "features"),), rename_outputs=(("output_0", "scores"),),
        cast_inputs=(("keras_tensor", "float64"),), keep_original="exported",
    )  # fmt: skip
    result = _rewrite(source, tmp_path, request)
    assert result.engine.value == "TF2 object-graph engine"
    spec = result.output_info.signatures["serving_default"].inputs
    assert sorted(spec) == ["features", "id"] and spec["features"].dtype == "float64"
    rows = np.array([[1.0, 2.0, 3.0], [-0.5, 0.25, 4.0]])
    for run in LOADERS:
        want = run(source, "serving_default", {"keras_tensor": rows.astype(np.float32)})["output_0"]
        got = run(tmp_path / "out", "serving_default", {"features": rows, "id": np.array([b"a", b"b"], object)})
        np.testing.assert_array_equal(got["scores"], want)
        assert got["id"].tolist() == [b"a", b"b"]
        kept = run(tmp_path / "out", "exported", {"keras_tensor": rows.astype(np.float32)})["output_0"]
        np.testing.assert_array_equal(kept, want)
    assert tree_digest(source / "variables") == tree_digest(tmp_path / "out" / "variables")


def test_int32_ids_reach_a_module_that_takes_int64_and_a_forward_echoes_what_was_sent(models, tmp_path):
    source = models["int_inputs"]
    request = RewriteRequest(
        rename_inputs=(("item", "item_id"),), cast_inputs=(("item", "int32"), ("history", "int64")),
        forwards=(Forward("item", "item_seen"),), key="k", key_dtype=KeyDtype.INT64,
    )  # fmt: skip
    result = _rewrite(source, tmp_path, request)
    spec = result.output_info.signatures["serving_default"]
    assert spec.inputs["item_id"].dtype == "int32" and spec.inputs["history"].dtype == "int64"
    assert spec.outputs["item_seen"].dtype == "int32"
    feeds = {"history": np.array([[1, 2], [3, 4]]), "flag": np.array([True, False]), "anything": np.float32(1.5)}
    original = {**feeds, "item": np.array([2, 7], np.int64), "history": feeds["history"].astype(np.int32)}
    rewritten = {**feeds, "item_id": np.array([2, 7], np.int32), "k": np.array([10, 11], np.int64)}
    for run in LOADERS:
        want = run(source, "serving_default", original)
        got = run(tmp_path / "out", "serving_default", rewritten)
        np.testing.assert_array_equal(got["score"], want["score"])
        assert got["item_seen"].dtype == np.int32 and got["item_seen"].tolist() == [2, 7]


def test_a_tf1_graph_is_cast_in_front_of_its_placeholder_and_its_original_runs_as_before(samples, tmp_path):
    source = samples / "tf1_half_plus_two"
    request = RewriteRequest(key="id", rename_inputs=(("x", "value"),), cast_inputs=(("x", "float64"),), keep_original="plain")
    result = _rewrite(source, tmp_path, request)
    assert result.engine.value == "TF1 graph engine"
    out = tmp_path / "out"
    for run in LOADERS:
        got = run(out, "serving_default", {"value": np.array([1.0, 4.0]), "id": np.array([b"a", b"b"], object)})
        assert got["y"].tolist() == [2.5, 4.0] and got["id"].tolist() == [b"a", b"b"]
        assert run(out, "plain", {"x": np.array([1.0, 4.0], np.float32)})["y"].tolist() == [2.5, 4.0]
    classify = read_model_info(out).signatures["classify_x_to_y"]
    assert classify.method_name.endswith("classify"), "other signatures keep their method names"


def test_the_load_save_engine_renames_and_casts_too_and_says_why_it_ran(models, tmp_path):
    source = models["tf2_identity_outputs"]
    request = RewriteRequest(rename_inputs=(("rooms", "n_rooms"),), cast_inputs=(("tax_rate", "float64"),))
    result = _rewrite(source, tmp_path, request)
    assert result.engine.value == "TF2 load/save engine" and any("load/save engine ran" in n for n in result.notes)
    got = run_with_object_loader(
        tmp_path / "out",
        "serving_default",
        {"n_rooms": HOUSE_FEEDS["rooms"], "tax_rate": HOUSE_FEEDS["tax_rate"].astype(np.float64)},
    )
    want = run_with_object_loader(source, "serving_default", HOUSE_FEEDS)
    np.testing.assert_array_equal(got["output_0"], want["output_0"])


def test_tf_serving_rest_takes_the_new_names_and_dtypes(samples, tmp_path):
    request = RewriteRequest(rename_inputs=(("rooms", "n_rooms"),), cast_inputs=(("rooms", "int64"),))
    result = _rewrite(samples / "house_price", tmp_path, request)
    handle = read_saved_model(result.destination)
    body = json.dumps({"instances": [{"n_rooms": [3], "tax_rate": [0.1]}, {"n_rooms": [4], "tax_rate": [0.2]}]})
    parsed = parse_rest_request(body, handle.info.signatures)
    assert parsed.feeds["n_rooms"].dtype == np.int64
    served = WorkerModel(handle, Scope.of(handle.path, scratch_parent=tmp_path)).run("serving_default", parsed.feeds)
    want = run_with_session_loader(samples / "house_price", "serving_default", HOUSE_FEEDS)
    np.testing.assert_array_equal(served["output_0"], want["output_0"])


def test_compare_shows_a_renamed_input_as_renamed_not_removed_and_added(samples, tmp_path):
    request = RewriteRequest(key="k", rename_inputs=(("rooms", "n_rooms"),), cast_inputs=(("tax_rate", "float64"),))
    result = _rewrite(samples / "house_price", tmp_path, request)
    before, after = result.source_info, result.output_info
    comparison = Comparison(
        CompareSide("original", "a", before, None), "serving_default",
        CompareSide("rewritten", "b", after, None), "serving_default",
        model_digest="a", plan=result.plan, rewrite_digest="b",
    )  # fmt: skip
    changes = {(row.side.value, row.label): row.change.value for row in comparison.diff().rows}
    assert changes[("input", "rooms → n_rooms")] == "renamed"
    assert changes[("input", "tax_rate")] == "changed" and changes[("input", "k")] == "added"
    assert ("input", "rooms") not in changes and ("input", "n_rooms") not in changes


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            RewriteRequest(rename_inputs=(("rooms", "tax_rate"),)),
            "input name 'tax_rate' would be used by inputs ['rooms', 'tax_rate']",
        ),
        (
            RewriteRequest(rename_inputs=(("nope", "x"),)),
            r"cannot rename unknown input 'nope'; inputs of 'serving_default': [rooms, tax_rate]",
        ),
        (RewriteRequest(rename_inputs=(("rooms", "2bad"),)), "input name '2bad' is not a valid name"),
        (
            RewriteRequest(cast_inputs=(("nope", "int64"),)),
            "cannot cast unknown input 'nope'; inputs of 'serving_default': [rooms, tax_rate]",
        ),
        (
            RewriteRequest(cast_inputs=(("rooms", "string"),)),
            "cannot cast input 'rooms' (float32) from 'string': only numbers are cast, between int8,",
        ),
        (RewriteRequest(cast_inputs=(("rooms", "int64"), ("rooms", "int32"))), "input 'rooms' is cast twice"),
        (
            RewriteRequest(key="n_rooms", rename_inputs=(("rooms", "n_rooms"),)),
            "key name 'n_rooms' collides with an input; inputs of 'serving_default' after renaming: [n_rooms, tax_rate]",
        ),
    ],
)
def test_bad_input_edits_are_one_sentence_with_the_choices(samples, request_, message):
    with pytest.raises(PlanError) as raised:
        plan_rewrite(read_model_info(samples / "house_price"), request_)
    assert message in str(raised.value)


def test_a_string_input_is_never_cast(samples):
    with pytest.raises(
        PlanError, match=r"cannot cast input 'words' \(string\) from 'int64'.*a string or bool input keeps its dtype"
    ):
        plan_rewrite(read_model_info(samples / "vocab_lookup"), RewriteRequest(cast_inputs=(("words", "int64"),)))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rename-input", "rooms:tax_rate"], "error: input name 'tax_rate' would be used by inputs"),
        (
            ["--rename-input", "room:n"],
            "error: cannot rename unknown input 'room'; inputs of 'serving_default': [rooms, tax_rate]",
        ),
        (["--rename-input", "rooms"], "error: --rename-input takes OLD:NEW; received 'rooms'"),
        (["--cast-input", "rooms"], "error: --cast-input takes NAME:DTYPE; received 'rooms'"),
        (["--cast-input", "rooms:text"], "error: cannot cast input 'rooms' (float32) from 'text': only numbers are cast"),
    ],
)
def test_the_cli_refuses_bad_input_edits_with_one_line_and_writes_nothing(samples, tmp_path, capsys, flags, message):
    assert main(["rewrite", str(samples / "house_price"), str(tmp_path / "out"), *flags]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(message)
    assert not (tmp_path / "out").exists()


def test_the_cli_renames_and_casts(samples, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "rewrite",
            str(samples / "house_price"),
            str(out),
            "--rename-input",
            "rooms:n_rooms",
            "--cast-input",
            "rooms:int32",
            "--json",
        ]
    )
    assert code == 0
    written = json.loads(capsys.readouterr().out)
    assert written["signature"]["serving_default"]["inputs"]["n_rooms"]["dtype"] == "int32"
    assert any("casts it to the model's float32" in note for note in written["notes"])
