"""Inspection: golden ``inspect --json`` for every sample model, and what it reports on
models with unknown shapes, unsafe ops, several MetaGraphs or no SavedModel at all."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from core._tf import tf
from core.cli.main import main
from core.errors import ModelSourceError
from core.rewrite.request import RewriteRequest
from core.savedmodel.handle import read_model_info
from core.workflows import inspect_model, rewrite_model
from tests.conftest import ROOT, SAMPLE_NAMES

GOLDEN = ROOT / "tests" / "golden"


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_inspect_json_matches_golden(name, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["inspect", f"sample_models/{name}", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    golden_file = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden_file.write_text(json.dumps(printed, indent=2) + "\n")
    assert printed == json.loads(golden_file.read_text())


def test_inspect_json_has_the_documented_keys(samples):
    data = inspect_model(samples / "tf1_half_plus_two").to_json()
    assert set(data) == {
        "path", "version", "format", "tensorflow_version", "tag_sets", "signatures",
        "assets", "assets_extra", "variables", "ops", "unsafe_ops", "unsafe_op_reasons", "object_loader",
        "functions", "function_signatures", "warmup", "missing_checkpoint", "example_parses",
    }  # fmt: skip
    assert data["version"] == 123
    assert data["format"] == "tf1"
    signature = data["signatures"]["classify_x_to_y"]
    assert signature["method_name"] == "tensorflow/serving/classify"
    assert signature["inputs"]["inputs"] == {"dtype": "string", "shape": [-1], "tensor_name": "tf_example:0"}
    assert data["assets"] == ["class_names.txt"]
    assert data["assets_extra"] == ["model_card.txt"]
    assert data["variables"] == {"count": 2, "bytes": 8}


def test_tf2_model_marks_init_op_internal(samples):
    info = inspect_model(samples / "vocab_lookup")
    assert info.format == "tf2"
    assert info.signatures["__saved_model_init_op"].internal
    assert info.public_signatures == ["count_known", "serving_default"]
    assert info.signatures["count_known"].inputs["sentences"].shape == (-1, -1)


def test_unknown_rank_is_none_and_json_null(models):
    info = inspect_model(models["int_inputs"])
    inputs = info.signatures["serving_default"].inputs
    assert inputs["anything"].shape is None
    assert info.to_json()["signatures"]["serving_default"]["inputs"]["anything"]["shape"] is None
    assert {name: spec.dtype for name, spec in inputs.items()} == {
        "anything": "float32",
        "flag": "bool",
        "history": "int32",
        "item": "int64",
    }


def test_unsafe_ops_are_reported(models, samples):
    info = inspect_model(models["unsafe_ops"])
    assert info.unsafe_ops == ["PrintV2", "ReadFile"]
    assert info.unsafe_op_reasons == {
        "PrintV2": "writes into the server's logs",
        "ReadFile": "reads files of the server (whole files)",
    }
    assert inspect_model(samples / "house_price").unsafe_ops == []


@pytest.mark.parametrize(
    "model, op, reason",
    [
        ("nested_write_file", "WriteFile", "writes files on the server (whole files)"),
        ("save_v2", "SaveV2", "writes files on the server (a checkpoint, outside the model's own saver)"),
        ("text_line_reader", "TextLineDataset", "reads files of the server (records)"),
        ("file_cache", "CacheDatasetV2", "writes files on the server (a dataset cache in a named file)"),
        ("tf1_runtime_table", "InitializeTableFromTextFileV2", "reads files of the server (a table from a file that is not"),
        ("nested_host_table", "InitializeTableFromTextFileV2", "reads files of the server (a table from a file that is not"),
        ("table_from_input_path", "InitializeTableFromTextFileV2", "reads files of the server (a table from a file that is not"),
    ],
)
def test_file_io_anywhere_in_the_graph_is_flagged_with_its_reason(models, op, reason, model):
    info = inspect_model(models[model])
    assert op in info.unsafe_ops
    assert info.unsafe_op_reasons[op].startswith(reason)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_the_samples_own_savers_and_asset_tables_are_not_flagged(name):
    """Every SavedModel holds SaveV2/RestoreV2 in its saver, and two samples fill tables from assets."""
    info = inspect_model(ROOT / "sample_models" / name)
    assert info.unsafe_ops == []
    assert {"SaveV2", "RestoreV2"} <= set(info.ops) or name == "tf1_half_plus_two"


def test_a_vocabulary_asset_handed_to_a_nested_function_is_not_flagged(models, tmp_path):
    """The path is traced through the call into the function that fills the table: an asset
    stays allowed there (and in the rewritten model, whose wrapper calls the signature)."""
    assert inspect_model(models["asset_through_call"]).unsafe_ops == []
    result = rewrite_model(models["asset_through_call"], tmp_path / "keyed", RewriteRequest(key="k"))
    assert result.report.ok and inspect_model(tmp_path / "keyed").unsafe_ops == []


def test_a_stateful_op_the_scan_does_not_know_is_flagged(tmp_path, samples):
    from core.savedmodel.op_lists import ALLOWED_STATEFUL, DENIED
    from core.savedmodel.ops import scan_ops
    from core.savedmodel.proto import read_saved_model_proto

    saved_model = read_saved_model_proto(samples / "tf1_half_plus_two" / "00000123")
    meta_graph = saved_model.meta_graphs[0]
    meta_graph.graph_def.node.add(name="heartbeat", op="WorkerHeartbeat")
    meta_graph.graph_def.node.add(name="queue", op="FIFOQueueV2")
    meta_graph.graph_def.node.add(name="unknown", op="OutfeedEnqueue")
    found = scan_ops(meta_graph)
    assert found["WorkerHeartbeat"] == DENIED["WorkerHeartbeat"]
    assert "FIFOQueueV2" not in found and "FIFOQueueV2" in ALLOWED_STATEFUL
    assert found["OutfeedEnqueue"] == "talks to other processes or devices (collective, TPU)"


def test_a_tf1_graph_is_scanned_for_the_functions_its_nodes_can_run(models, samples):
    """A TF1 graph runs only what its nodes call: a library function nothing calls is dead code
    (an estimator's embedded TF Transform graph brings its own save and restore functions, which
    made TFX's Chicago taxi export look unsafe); called once, it is scanned."""
    from core.savedmodel.ops import scan_ops
    from core.savedmodel.proto import read_saved_model_proto

    assert inspect_model(models["tfx_chicago_taxi_estimator"]).unsafe_ops == []
    meta_graph = read_saved_model_proto(samples / "tf1_half_plus_two" / "00000123").meta_graphs[0]
    function = meta_graph.graph_def.library.function.add()
    function.signature.name = "read_a_file"
    function.signature.input_arg.add(name="path", type=tf.string.as_datatype_enum)
    function.signature.output_arg.add(name="contents", type=tf.string.as_datatype_enum)
    function.node_def.add(name="read", op="ReadFile", input=["path"])
    function.ret["contents"] = "read:contents:0"
    assert scan_ops(meta_graph) == {}
    call = meta_graph.graph_def.node.add(name="call", op="PartitionedCall", input=["x"])
    call.attr["f"].func.name = "read_a_file"
    assert "ReadFile" in scan_ops(meta_graph)


def test_unknown_op_is_unsafe(tmp_path, samples):
    from core.savedmodel.proto import read_saved_model_proto

    model = tmp_path / "model"
    shutil.copytree(samples / "tf1_half_plus_two" / "00000123", model)
    saved_model = read_saved_model_proto(model)
    saved_model.meta_graphs[0].graph_def.node.add(name="mystery", op="NotARealTensorFlowOp")
    (model / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    assert "NotARealTensorFlowOp" in read_model_info(model).unsafe_ops


def test_several_meta_graphs_list_every_tag_set(models):
    info = inspect_model(models["tf1_two_meta_graphs"])
    assert info.tag_sets == [["serve"], ["train"]]
    assert list(info.signatures) == ["serving_default"]


def test_variables_are_counted_from_the_index_only(tmp_path, samples):
    model = tmp_path / "model"
    shutil.copytree(samples / "image_classifier", model)
    for data_file in (model / "variables").glob("variables.data-*"):
        data_file.write_bytes(b"")  # inspection must not need the variable values
    info = read_model_info(model)
    assert info.variables.count == 4
    assert info.variables.bytes == 2 * (28 * 28 * 10 + 10) * 4


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p, "is not a SavedModel"),
        (lambda p: (p / "saved_model.pb").write_bytes(b"\x00garbage\xff") and p, "not a valid SavedModel proto"),
    ],
    ids=["empty-folder", "garbage-proto"],
)
def test_not_a_saved_model(tmp_path, make, message):
    folder = make(tmp_path)
    with pytest.raises(ModelSourceError, match=message):
        inspect_model(folder)


def _table_chain_graph(length: int, *, identity_cycle: bool = False):
    """A crafted MetaGraph: the graph passes an asset's path into F0, each Fi hands it to the
    next, and the last fills a table from it (optionally through a cycle of Identity nodes)."""
    from tensorflow.core.protobuf import meta_graph_pb2

    meta_graph = meta_graph_pb2.MetaGraphDef()
    meta_graph.graph_def.node.add(name="vocabulary_path", op="Const")
    meta_graph.asset_file_def.add(filename="vocabulary.txt").tensor_info.name = "vocabulary_path:0"
    call = meta_graph.graph_def.node.add(name="call", op="StatefulPartitionedCall", input=["vocabulary_path"])
    call.attr["f"].func.name = "F0"
    for index in range(length):
        function = meta_graph.graph_def.library.function.add()
        function.signature.name = f"F{index}"
        function.signature.input_arg.add(name="path")
        if index < length - 1:
            step = function.node_def.add(name="next", op="PartitionedCall", input=["path"])
            step.attr["f"].func.name = f"F{index + 1}"
            continue
        function.node_def.add(name="table", op="HashTableV2")
        source = "path"
        if identity_cycle:
            function.node_def.add(name="a", op="Identity", input=["b"])
            function.node_def.add(name="b", op="Identity", input=["a"])
            source = "a"
        function.node_def.add(name="fill", op="InitializeTableFromTextFileV2", input=["table:table_handle:0", source])
    return meta_graph


def test_an_asset_path_is_traced_through_calls_and_crafted_graphs_end_the_scan():
    from core.savedmodel.ops import scan_ops

    assert scan_ops(_table_chain_graph(3)) == {}, "an asset handed down three calls is still an asset"
    for crafted in (_table_chain_graph(3, identity_cycle=True), _table_chain_graph(5000)):
        assert "InitializeTableFromTextFileV2" in scan_ops(crafted), "unproven: flagged, and the scan ends"
