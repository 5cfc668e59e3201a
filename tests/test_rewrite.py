"""Round trips: rewrite real models of every family, then load the result fresh with both
loaders, run it, and compare with the source — independently of the verifier."""

from __future__ import annotations

import tarfile
import zipfile

import numpy as np
import pytest

from core.errors import OutputError, PlanError, VerificationError
from core.rewrite.request import Forward, KeyDtype, RewriteRequest
from core.savedmodel.handle import read_model_info
from core.savedmodel.proto import CLASSIFY_METHOD, PREDICT_METHOD, REGRESS_METHOD
from core.verify.report import CheckStatus
from core.workflows import inspect_model, rewrite_model
from tests.conftest import run_with_object_loader, run_with_session_loader, tree_digest

LOADERS = [run_with_object_loader, run_with_session_loader]
FEEDS = {
    "house_price": {
        "tax_rate": np.array([[0.1], [0.2], [0.3]], np.float32),
        "rooms": np.array([[3.0], [4.0], [5.0]], np.float32),
    },
    "image_classifier": {"image": np.linspace(0, 1, 3 * 28 * 28, dtype=np.float32).reshape(3, 28, 28)},
    "tf1_half_plus_two": {"x": np.array([1.0, 2.0, 5.0], np.float32)},
    "vocab_lookup": {"words": np.array([b"banana", b"kiwi", b"apple"], object)},
}
FIRST_INPUT = {"house_price": "rooms", "image_classifier": "image", "tf1_half_plus_two": "x", "vocab_lookup": "words"}


def _assert_identical(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tolist() == b.tolist() if a.dtype == object else a.tobytes() == b.tobytes()


@pytest.fixture(scope="module")
def keyed(samples, tmp_path_factory):
    """One verified rewrite per sample (key, a forwarded input, the original kept), made when first
    asked for and shared by the tests that read it: name → (result, source digest before)."""
    made = {}

    def rewrite(name: str):
        if name not in made:
            source = samples / name
            before = tree_digest(source)
            request = RewriteRequest(
                key="instance_key", forwards=(Forward(FIRST_INPUT[name], "echoed"),), keep_original="unkeyed"
            )
            made[name] = (rewrite_model(source, tmp_path_factory.mktemp(name) / "out", request), before)
        return made[name]

    return rewrite


@pytest.mark.parametrize("name", list(FEEDS))
def test_key_and_forward_round_trip(samples, keyed, name):
    result, before = keyed(name)
    assert result.report is not None and result.report.ok, result.report.summary
    assert tree_digest(samples / name) == before, "the source must never change"
    feeds = FEEDS[name]
    keys = np.array([b"row-a", b"row-b", b"row-c"], object)
    for run in LOADERS:
        original = run(_model_dir(samples / name), "serving_default", feeds)
        keyed_outputs = run(result.destination, "serving_default", {**feeds, "instance_key": keys})
        plain = run(result.destination, "unkeyed", feeds)
        _assert_identical(keyed_outputs["instance_key"], keys)
        _assert_identical(keyed_outputs["echoed"], feeds[FIRST_INPUT[name]])
        for output, value in original.items():
            _assert_identical(keyed_outputs[output], value)
            _assert_identical(plain[output], value)


def _model_dir(source):
    """The SavedModel folder of a sample (the TF1 sample sits in a version folder)."""
    versions = [p for p in source.iterdir() if p.name.isdigit()]
    return versions[0] if versions else source


@pytest.mark.parametrize("name", list(FEEDS))
def test_nothing_lost(samples, keyed, name):
    source = samples / name
    result, _ = keyed(name)
    source_info, output_info = read_model_info(_model_dir(source)), read_model_info(result.destination)
    assert output_info.tag_sets == source_info.tag_sets
    for signature in source_info.public_signatures:
        if signature == "serving_default":
            continue
        before, after = source_info.signatures[signature], output_info.signatures[signature]
        assert after.method_name == before.method_name
        assert {k: (v.dtype, v.shape) for k, v in after.inputs.items()} == {
            k: (v.dtype, v.shape) for k, v in before.inputs.items()
        }
        assert {k: (v.dtype, v.shape) for k, v in after.outputs.items()} == {
            k: (v.dtype, v.shape) for k, v in before.outputs.items()
        }
    for folder in ("assets", "assets.extra"):
        assert tree_digest(result.destination / folder) == tree_digest(_model_dir(source) / folder)
    assert output_info.variables == source_info.variables


def test_tf1_variables_are_copied_byte_for_byte(samples, keyed):
    source = samples / "tf1_half_plus_two" / "00000123"
    result, _ = keyed("tf1_half_plus_two")
    assert tree_digest(result.destination / "variables") == tree_digest(source / "variables")


# Each key dtype through one engine: the engines treat every dtype alike.
@pytest.mark.parametrize(
    "name, dtype, values",
    [
        ("house_price", KeyDtype.INT32, np.array([1, 2, 3], np.int32)),
        ("tf1_half_plus_two", KeyDtype.INT64, np.array([7, 8, 9], np.int64)),
    ],
)
def test_integer_keys(samples, tmp_path, name, dtype, values):
    result = rewrite_model(samples / name, tmp_path / "out", RewriteRequest(key="row_id", key_dtype=dtype))
    assert result.output_info.signatures["serving_default"].inputs["row_id"].dtype == dtype.value
    for run in LOADERS:
        _assert_identical(run(result.destination, "serving_default", {**FEEDS[name], "row_id": values})["row_id"], values)


@pytest.mark.parametrize("name", ["house_price", "tf1_half_plus_two"])
def test_rename_as_new_signature_drop_and_rename_others(samples, tmp_path, name):
    info = inspect_model(samples / name)
    output = next(iter(info.signatures["serving_default"].outputs))
    other = [s for s in info.public_signatures if s != "serving_default"]
    request = RewriteRequest(
        key="k",
        rename_outputs=((output, "prediction"),),
        forwards=(Forward(FIRST_INPUT[name], "feature_copy"),),
        result_name="keyed",
        drop=(other[0],),
        rename_signatures=tuple((s, f"{s}_v2") for s in other[1:]),
    )
    result = rewrite_model(samples / name, tmp_path / "out", request)
    assert result.report.ok
    out = read_model_info(result.destination)
    assert out.public_signatures == sorted(["keyed", "serving_default", *[f"{s}_v2" for s in other[1:]]])
    assert sorted(out.signatures["keyed"].outputs) == ["feature_copy", "k", "prediction"]
    assert sorted(out.signatures["serving_default"].outputs) == [output]
    for s in other[1:]:
        assert out.signatures[f"{s}_v2"].method_name == info.signatures[s].method_name


def test_tf1_classify_base_is_verified_with_synthesised_examples(samples, tmp_path):
    result = rewrite_model(
        samples / "tf1_half_plus_two",
        tmp_path / "out",
        RewriteRequest(
            signature="classify_x_to_y", key="k", rename_outputs=(("scores", "probability"),), result_name="classify_keyed"
        ),
    )
    assert result.report.count(CheckStatus.NOT_VERIFIED) == 0
    assert result.report.ok
    info = read_model_info(result.destination)
    assert info.signatures["classify_keyed"].method_name == PREDICT_METHOD
    assert info.signatures["classify_x_to_y"].method_name == CLASSIFY_METHOD
    assert info.signatures["regress_x_to_y"].method_name == REGRESS_METHOD
    import tensorflow as tf

    example = tf.train.Example(
        features=tf.train.Features(feature={"x": tf.train.Feature(float_list=tf.train.FloatList(value=[3.0]))})
    )
    serialized = np.array([example.SerializeToString()], object)
    for run in LOADERS:
        got = run(result.destination, "classify_keyed", {"inputs": serialized, "k": np.array([b"only"], object)})
        assert got["classes"].tolist() == [[b"high"]]
        assert got["k"].tolist() == [b"only"]
        assert got["probability"].shape == (1, 1)


def test_tf1_other_meta_graphs_are_kept(models, tmp_path):
    from core.savedmodel.proto import read_saved_model_proto

    result = rewrite_model(models["tf1_two_meta_graphs"], tmp_path / "out", RewriteRequest(key="k"))
    source, output = read_saved_model_proto(models["tf1_two_meta_graphs"]), read_saved_model_proto(result.destination)
    assert [list(m.meta_info_def.tags) for m in output.meta_graphs] == [["serve"], ["train"]]
    assert output.meta_graphs[1] == source.meta_graphs[1]
    x = np.array([[1.0, 1.0]], np.float32)
    for run in LOADERS:
        assert run(result.destination, "serving_default", {"x": x, "k": np.array([b"a"], object)})["y"].tolist() == [[4.0, 6.0]]


# Every source kind once, and every archive kind twice (not the whole cross product: sources and
# archives meet only through the staged folder).
@pytest.mark.parametrize(
    "source_name, suffix",
    [("keras_file", ".zip"), ("h5_file", ".tar.gz"), ("archive.tgz", ".zip"), ("serving_base", ".tar.gz")],
)
def test_other_sources_to_archive_with_version_layout(models, tmp_path, source_name, suffix):
    destination = tmp_path / f"keyed{suffix}"
    result = rewrite_model(models[source_name], destination, RewriteRequest(key="k"), version=5)
    assert result.destination == destination
    unpacked = tmp_path / "unpacked"
    if suffix == ".zip":
        with zipfile.ZipFile(destination) as zf:
            zf.extractall(unpacked)
    else:
        with tarfile.open(destination) as tar:
            tar.extractall(unpacked, filter="data")
    assert [p.name for p in unpacked.iterdir()] == ["5"]
    feeds = FEEDS["house_price"]
    got = run_with_session_loader(unpacked / "5", "serving_default", {**feeds, "k": np.array([b"a", b"b", b"c"], object)})
    assert got["k"].tolist() == [b"a", b"b", b"c"]


def test_version_layout_adds_a_version_to_an_existing_base(samples, tmp_path):
    base = tmp_path / "served"
    # What is tested is publishing into a base path, so verification (tested elsewhere) is off.
    first = rewrite_model(samples / "house_price", base, RewriteRequest(key="k"), version=1, verify=False)
    second = rewrite_model(samples / "house_price", base, RewriteRequest(key="id"), version=2, verify=False)
    assert (first.destination, second.destination) == (base / "1", base / "2")
    assert inspect_model(base).version == 2
    with pytest.raises(OutputError, match="exists and is not empty") as refused:
        rewrite_model(samples / "house_price", base, RewriteRequest(key="k"), version=2)
    assert refused.value.needs_overwrite


def test_an_input_of_unknown_rank_is_fed_one_value_per_row_and_the_report_says_so(models, tmp_path):
    result = rewrite_model(models["int_inputs"], tmp_path / "out", RewriteRequest(rename_outputs=(("score", "total"),)))
    assert result.report.count(CheckStatus.NOT_VERIFIED) == 0
    compared = [c for c in result.report.checks if c.name.startswith("'serving_default' outputs bit-identical")]
    assert len(compared) == 2 and all(c.status is CheckStatus.PASSED for c in compared)  # one per loader
    assert all("input 'anything' has unknown rank and was fed one value per row" in c.detail for c in compared)


def test_a_guess_the_model_rejects_is_reported_not_verified(models, tmp_path):
    result = rewrite_model(models["unknown_rank_matrix"], tmp_path / "out", RewriteRequest(key="k"))
    not_verified = [c for c in result.report.checks if c.status is CheckStatus.NOT_VERIFIED]
    assert {c.loader for c in not_verified} == {"tf.saved_model.load", "tf.compat.v1 session loader"}
    for check in not_verified:
        assert check.detail.startswith(
            "the original signature rejected the synthetic batch (input 'matrix' has unknown rank and was fed one value per row)"
        )


def test_failed_verification_writes_nothing(models, tmp_path):
    destination = tmp_path / "out"
    with pytest.raises(VerificationError, match="verification failed, nothing was written") as caught:
        rewrite_model(models["random_output"], destination, RewriteRequest(key="k"))
    assert not caught.value.report.ok
    assert not destination.exists()
    assert list(tmp_path.iterdir()) == [], "no staging folder may be left behind"


def test_verifier_catches_a_changed_asset(samples, tmp_path, monkeypatch):
    import core.workflows

    real_apply = core.workflows.apply_rewrite

    def apply_then_tamper(source_dir, plan, output_dir, **options):
        real_apply(source_dir, plan, output_dir, **options)
        (output_dir / "assets.extra" / "labels.csv").write_text("tampered")

    monkeypatch.setattr(core.workflows, "apply_rewrite", apply_then_tamper)
    with pytest.raises(VerificationError, match="assets.extra/ byte-identical"):
        rewrite_model(samples / "vocab_lookup", tmp_path / "out", RewriteRequest(key="k"))
    assert list(tmp_path.iterdir()) == []


def test_bad_plan_writes_nothing(samples, tmp_path):
    with pytest.raises(PlanError):
        rewrite_model(samples / "house_price", tmp_path / "out", RewriteRequest(key="rooms"))
    assert list(tmp_path.iterdir()) == []


def test_no_verify_skips_the_report(samples, tmp_path):
    result = rewrite_model(samples / "house_price", tmp_path / "out", RewriteRequest(key="k"), verify=False)
    assert result.report is None
    assert (result.destination / "saved_model.pb").is_file()


def test_naive_resave_breaks_a_tf1_model_that_our_engine_serves(samples, keyed, tmp_path):
    """Why TF1 graphs get their own engine: load → save leaves ref variables uninitialised."""
    import tensorflow as tf

    source = samples / "tf1_half_plus_two" / "00000123"
    loaded = tf.saved_model.load(str(source))
    naive = tmp_path / "naive"
    tf.saved_model.save(loaded, str(naive), signatures={"serving_default": loaded.signatures["serving_default"]})
    x = {"x": np.array([2.0], np.float32)}
    with pytest.raises(Exception, match="uninitialized value"):
        run_with_session_loader(naive, "serving_default", x)
    assert "assets.extra" not in {p.name for p in naive.iterdir()}

    ours = keyed("tf1_half_plus_two")[0].destination
    outputs = run_with_session_loader(ours, "serving_default", {**x, "instance_key": np.array([b"a"], object)})
    assert outputs["y"].tolist() == [3.0]


@pytest.mark.parametrize("engine", ["TF2 object-graph engine", "TF2 load/save engine"])
def test_tf2_classify_method_names_survive_either_engine(samples, tmp_path, monkeypatch, engine):
    """The object-graph engine leaves kept SignatureDefs untouched; tf.saved_model.save writes
    predict everywhere, so the load/save engine restores the kept method names."""
    import shutil

    import core.workflows
    from core.rewrite.apply import Engine, EngineChoice
    from core.savedmodel.proto import read_saved_model_proto

    if engine == Engine.TF2_LOAD_SAVE:
        monkeypatch.setattr(
            core.workflows, "choose_engine", lambda *_: EngineChoice(Engine.TF2_LOAD_SAVE, "the test asks for it")
        )

    model = tmp_path / "model"
    shutil.copytree(samples / "vocab_lookup", model)
    saved_model = read_saved_model_proto(model)
    saved_model.meta_graphs[0].signature_def["count_known"].method_name = CLASSIFY_METHOD
    (model / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    result = rewrite_model(model, tmp_path / "out", RewriteRequest(key="k", keep_original="unkeyed"))
    assert result.report.ok and result.engine == engine
    info = read_model_info(result.destination)
    assert info.signatures["count_known"].method_name == CLASSIFY_METHOD
    assert info.signatures["serving_default"].method_name == PREDICT_METHOD
    assert info.signatures["unkeyed"].method_name == PREDICT_METHOD


def test_assets_named_like_model_files_are_kept(samples, tmp_path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(samples / "tf1_half_plus_two" / "00000123", model)
    (model / "assets.extra" / "fingerprint.pb").write_bytes(b"not the model's fingerprint")
    (model / "assets.extra" / "saved_model.pb").write_bytes(b"an older export, kept for reference")
    # What is tested is the engine's copy, so verification (tested elsewhere) is off.
    result = rewrite_model(model, tmp_path / "out", RewriteRequest(key="k"), verify=False)
    assert tree_digest(result.destination / "assets.extra") == tree_digest(model / "assets.extra")


def test_outputs_of_unknown_rank_are_checked_row_by_row_when_run(models, tmp_path):
    result = rewrite_model(models["tf1_unknown_rank_rows"], tmp_path / "rows", RewriteRequest(key="k"))
    assert "output 'y' has unknown rank" in result.plan.notes[0]
    row_checks = [c for c in result.report.checks if "one row per row of the batch" in c.name]
    assert {c.status for c in row_checks} == {CheckStatus.PASSED} and len(row_checks) == 2
    with pytest.raises(VerificationError, match="every output has one row per row of the batch") as caught:
        rewrite_model(models["tf1_unknown_rank_total"], tmp_path / "total", RewriteRequest(key="k"))
    failed = [c for c in caught.value.report.failed if "one row per row" in c.name]
    assert failed and all("not 3 rows: ['y']" in c.detail for c in failed)
    assert not (tmp_path / "total").exists()
