"""The TF2 object-graph engine: signatures rewritten by editing ``saved_model.pb`` (function
library, object graph, graph and SignatureDefs), variables copied byte for byte, nothing of the
model run; and the load/save engine where a model is not laid out for it."""

from __future__ import annotations

import json

import pytest

import core.execution.pool
from core._tf import tf
from core.cli.main import main
from core.rewrite.apply import Engine
from core.rewrite.request import Forward, RewriteRequest
from core.verify.report import CheckStatus
from core.workflows import rewrite_model
from tests.conftest import SAMPLES, run_with_object_loader, run_with_session_loader, tree_digest

VARIABLES_CHECK = "variables/ byte-identical"


def _check(result, name):
    return next(check for check in result.report.checks if check.name == name)


@pytest.mark.parametrize(
    "source_name", ["house_price", "image_classifier", "vocab_lookup", "keras_file", "int_inputs", "keras_embedding"]
)
def test_tf2_models_are_rewritten_without_touching_their_variables(models, tmp_path, source_name):
    source = SAMPLES / source_name if (SAMPLES / source_name).exists() else models[source_name]
    result = rewrite_model(source, tmp_path / "out", RewriteRequest(key="instance_key", keep_original="unkeyed"))
    assert result.engine is Engine.TF2_OBJECT_GRAPH and result.engine_note is None
    assert result.report.ok, result.report.summary
    assert _check(result, VARIABLES_CHECK).status is CheckStatus.PASSED
    if source.is_dir():
        assert tree_digest(result.destination / "variables") == tree_digest(source / "variables")
    from tensorflow.core.protobuf.fingerprint_pb2 import FingerprintDef
    from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting

    written = FingerprintDef.FromString((result.destination / "fingerprint.pb").read_bytes())
    fresh = FingerprintDef.FromString(fingerprinting.CreateFingerprintDef(str(result.destination)))
    written.ClearField("uuid"), fresh.ClearField("uuid")  # a random id per fingerprint
    assert written == fresh, "the fingerprint describes the new saved_model.pb"


def test_forwards_renames_and_other_signatures_through_both_loaders(tmp_path):
    request = RewriteRequest(key="row", forwards=(Forward("words", "words_in"),), keep_original="plain", drop=("count_known",))
    result = rewrite_model(SAMPLES / "vocab_lookup", tmp_path / "out", request)
    assert result.engine is Engine.TF2_OBJECT_GRAPH and result.report.ok
    words = tf.constant([b"apple", b"kiwi"]).numpy()
    keys = tf.constant([b"k1", b"k2"]).numpy()
    for run in (run_with_object_loader, run_with_session_loader):
        keyed = run(result.destination, "serving_default", {"words": words, "row": keys})
        original = run(SAMPLES / "vocab_lookup", "serving_default", {"words": words})
        assert keyed["row"].tolist() == keys.tolist() and keyed["words_in"].tolist() == words.tolist()
        assert keyed["ids"].tolist() == original["ids"].tolist()
        assert run(result.destination, "plain", {"words": words})["ids"].tolist() == original["ids"].tolist()
    loaded = tf.saved_model.load(str(result.destination))
    assert sorted(loaded.signatures) == ["plain", "serving_default"]


def test_nothing_of_the_model_runs_while_it_is_rewritten(models, tmp_path, monkeypatch):
    """A model that writes a host file when it runs: the rewrite neither loads it here nor
    starts a worker; only verification would run it."""

    def refuse(*args, **kwargs):
        raise AssertionError("the object-graph engine must not run the model")

    monkeypatch.setattr(core.execution.pool.WorkerPool, "call", refuse)
    monkeypatch.setattr(tf.saved_model, "load", refuse)
    source = models["nested_write_file"]
    host_file = models.root / "host" / "written-by-the-model.txt"
    result = rewrite_model(source, tmp_path / "out", RewriteRequest(key="k"), verify=False, allow_unsafe_ops=True)
    assert result.engine is Engine.TF2_OBJECT_GRAPH
    assert not host_file.exists()


def test_a_model_not_laid_out_for_the_proto_route_falls_back_to_load_and_save(models, tmp_path, capsys):
    source = models["tf2_identity_outputs"]
    result = rewrite_model(source, tmp_path / "out", RewriteRequest(key="k"))
    assert result.engine is Engine.TF2_LOAD_SAVE
    assert "load/save engine ran" in result.engine_note and "not served by a function call" in result.engine_note
    assert result.engine_note in result.notes
    assert result.report.ok, result.report.summary
    assert _check(result, VARIABLES_CHECK).status is CheckStatus.NOT_VERIFIED

    code = main(["rewrite", str(source), str(tmp_path / "cli"), "--key", "k", "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0 and printed["engine"] == "TF2 load/save engine"
    assert any("not served by a function call" in note for note in printed["notes"])
