"""``rewrite --raw-features``: a signature that takes each parsed feature as a tensor, beside one
that takes serialized tf.Examples, on an estimator-style TF1 export, a TF2 module that parses
inside its function, and TF Serving's own test models. The Examples in these tests are built
by hand with ``tf.train.Example``, not by the code under test."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core._tf import tf
from core.cli.main import main
from core.errors import PlanError
from core.execution.pool import Scope
from core.rewrite.plan import plan_rewrite
from core.rewrite.request import RewriteRequest, build_request
from core.savedmodel.handle import read_model_info, read_saved_model
from core.serve.models import WorkerModel
from core.serve.rest import parse_rest_request
from core.workflows import rewrite_model
from tests.conftest import run_with_object_loader, run_with_session_loader, tree_digest

LOADERS = (run_with_object_loader, run_with_session_loader)
ROWS = {
    "age": np.array([[41.0], [23.5]], np.float32),
    "hours": np.array([38, 60], np.int64),
    "income": np.array([[1.5, 2.25], [0.5, 7.0]], np.float32),
    "occupation": np.array([b"nurse", b"astronaut"], object),
}


def _examples(rows: dict[str, np.ndarray], tags: np.ndarray | None = None) -> np.ndarray:
    """The rows as serialized tf.Examples, written out by hand (``tags``: each row's var-len
    values; else one tag in the first row, two in the second)."""
    serialized = []
    for row in range(len(rows["age"])):
        row_tags = tags[row].tolist() if tags is not None else [b"a", b"b"][: row + 1]
        feature = {
            "age": tf.train.Feature(float_list=tf.train.FloatList(value=rows["age"][row].tolist())),
            "hours": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(rows["hours"][row])])),
            "income": tf.train.Feature(float_list=tf.train.FloatList(value=rows["income"][row].tolist())),
            "occupation": tf.train.Feature(bytes_list=tf.train.BytesList(value=[rows["occupation"][row]])),
            "tags": tf.train.Feature(bytes_list=tf.train.BytesList(value=row_tags)),
        }
        serialized.append(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return np.array(serialized, object)


def _rewrite(source, tmp_path, request: RewriteRequest):
    result = rewrite_model(source, tmp_path / "out", request)
    assert result.report.ok and not result.report.not_verified, result.report.summary
    return result


def test_an_estimator_export_gets_a_raw_feature_signature_beside_its_classify_one(models, tmp_path):
    source = models["tf1_estimator_examples"]
    result = _rewrite(source, tmp_path, build_request(raw_features=True, key="id", forwards={"occupation": ""}))
    assert result.engine.value == "TF1 graph engine"
    assert result.plan.final_signatures == ["predict", "regression", "serving_default", "serving_default_raw"]
    raw = result.output_info.signatures["serving_default_raw"]
    assert raw.method_name == "tensorflow/serving/predict"
    shapes = {name: (spec.dtype, spec.shape) for name, spec in raw.inputs.items()}
    assert shapes == {
        "age": ("float32", (-1, 1)), "hours": ("int64", (-1,)), "income": ("float32", (-1, 2)),
        "occupation": ("string", (-1,)), "id": ("string", (-1,)),
    }  # fmt: skip
    assert sorted(raw.outputs) == ["classes", "id", "occupation", "scores"]
    defaults = next(note for note in result.notes if "defaults" in note)
    assert "'age' got 30.0" in defaults and "'hours' got 40" in defaults and "'occupation' got 'none'" in defaults
    out = tmp_path / "out"
    keys = np.array([b"r1", b"r2"], object)
    for run in LOADERS:
        want = run(source, "serving_default", {"inputs": _examples(ROWS)})
        got = run(out, "serving_default_raw", {**ROWS, "id": keys})
        np.testing.assert_array_equal(got["scores"], want["scores"])
        assert got["classes"].tolist() == want["classes"].tolist() and got["id"].tolist() == keys.tolist()
        assert got["occupation"].tolist() == ROWS["occupation"].tolist()
        kept = run(out, "serving_default", {"inputs": _examples(ROWS)})
        np.testing.assert_array_equal(kept["scores"], want["scores"])
    assert read_model_info(out).signatures["serving_default"].method_name == "tensorflow/serving/classify"
    assert tree_digest(source / "assets") == tree_digest(out / "assets"), "the vocabulary asset, byte for byte"
    assert tree_digest(source / "variables") == tree_digest(out / "variables")


def test_a_module_that_parses_inside_its_function_gets_one_too(models, tmp_path):
    source = models["tf2_module_examples"]
    request = build_request(raw_features=True, result_name="raw", key="id", cast_inputs={"age": "float64"})
    result = _rewrite(source, tmp_path, request)
    assert result.engine.value == "TF2 object-graph engine"
    assert result.output_info.signatures["raw"].inputs["age"].dtype == "float64"
    out = tmp_path / "out"
    for run in LOADERS:
        want = run(source, "serving_default", {"examples": _examples(ROWS)})
        got = run(out, "raw", {**ROWS, "age": ROWS["age"].astype(np.float64), "id": np.array([b"a", b"b"], object)})
        np.testing.assert_array_equal(got["score"], want["score"])
        assert got["occupation_id"].tolist() == want["occupation_id"].tolist() == [2, -1]
        for name in ("serving_default", "with_tags"):  # the originals parse as before
            kept = run(out, name, {"examples": _examples(ROWS)})
            np.testing.assert_array_equal(kept["score"], want["score"])
    assert tree_digest(source / "variables") == tree_digest(out / "variables")


@pytest.mark.parametrize(
    ("model", "signature", "op"),
    [
        ("tf_serving_half_plus_two_cpu", "classify_x_to_y", "ParseExample"),
        ("tf_serving_half_plus_two_cpu", "regress_x_to_y2", "ParseExample"),
        ("tf_serving_half_plus_two_tf2_cpu", "regress_x_to_y", "ParseExampleV2"),
    ],
)
def test_tf_servings_own_test_models(models, tmp_path, model, signature, op):
    source = models[model]
    handle = read_saved_model(source)
    assert handle.info.example_parses[signature].op == op
    result = _rewrite(source, tmp_path, build_request(signature=signature, raw_features=True, key="k"))
    x = np.array([[1.0], [4.0]], np.float32)
    features = [{"x": tf.train.Feature(float_list=tf.train.FloatList(value=value))} for value in x.tolist()]
    examples = [tf.train.Example(features=tf.train.Features(feature=f)).SerializeToString() for f in features]
    examples = np.array(examples, object)
    output = next(iter(result.plan.base.outputs))
    for run in LOADERS:
        want = run(source, signature, {"inputs": examples})[output]
        got = run(tmp_path / "out", f"{signature}_raw", {"x": x, "k": np.array([b"a", b"b"], object)})[output]
        np.testing.assert_array_equal(got, want)


def test_tf_serving_rest_answers_the_raw_signature_as_the_classify_one_answers_examples(models, tmp_path):
    result = _rewrite(models["tf1_estimator_examples"], tmp_path, build_request(raw_features=True))
    handle = read_saved_model(result.destination)
    instances = [
        {"age": [41.0], "hours": 38, "income": [1.5, 2.25], "occupation": "nurse"},
        {"age": [23.5], "hours": 60, "income": [0.5, 7.0], "occupation": "astronaut"},
    ]
    raw = parse_rest_request(
        json.dumps({"signature_name": "serving_default_raw", "instances": instances}), handle.info.signatures
    )
    served = WorkerModel(handle, Scope.of(handle.path, scratch_parent=tmp_path)).run("serving_default_raw", raw.feeds)
    want = run_with_session_loader(models["tf1_estimator_examples"], "serving_default", {"inputs": _examples(ROWS)})
    np.testing.assert_array_equal(served["scores"], want["scores"])


def test_the_raw_signature_can_replace_the_original_which_is_kept_under_a_name(models, tmp_path):
    request = build_request(raw_features=True, keep_original="examples")
    result = _rewrite(models["tf1_estimator_examples"], tmp_path, request)
    assert result.plan.final_signatures == ["examples", "predict", "regression", "serving_default"]
    assert sorted(result.output_info.signatures["serving_default"].inputs) == ["age", "hours", "income", "occupation"]
    assert result.output_info.signatures["examples"].method_name == "tensorflow/serving/classify"
    named = plan_rewrite(
        read_model_info(models["tf1_estimator_examples"]), build_request(raw_features=True, result_name="serving_default")
    )
    assert named.result_name == "serving_default" and "serving_default" not in named.kept_signatures


def test_warmup_requests_are_written_for_the_raw_signature(models, tmp_path):
    from tensorflow_serving.apis import prediction_log_pb2

    result = rewrite_model(models["tf2_module_examples"], tmp_path / "out", build_request(raw_features=True), warmup_count=2)
    assert result.report.ok, result.report.summary
    records = list(tf.compat.v1.io.tf_record_iterator(str(tmp_path / "out" / "assets.extra" / "tf_serving_warmup_requests")))
    logs = [prediction_log_pb2.PredictionLog.FromString(record) for record in records]
    assert [log.predict_log.request.model_spec.signature_name for log in logs] == ["serving_default_raw"] * 2
    assert sorted(logs[0].predict_log.request.inputs) == ["age", "hours", "income", "occupation"]


@pytest.mark.parametrize(
    ("model", "request_", "message"),
    [
        (
            "tf1_loop_after_parse",
            build_request(raw_features=True),
            "cannot make a raw-feature signature of 'serving_default': the signature runs a TF1 while loop (Enter, Exit, "
            "LoopCond, NextIteration) after the parse, and a var-len feature is taken by a copy of the graph after the "
            "parse, which cannot share the loop's frame; signatures one can be made of: none",
        ),
        (
            "tf2_module_examples",
            build_request(signature="with_ragged_tags", raw_features=True),
            "cannot make a raw-feature signature of 'with_ragged_tags': the signature reads the ragged feature(s) ['tags'], "
            "which the parse gives as ragged tensors; a TF Serving predict signature takes each input as one dense tensor, "
            "and a ragged feature's rows may differ; signatures one can be made of: [serving_default, with_tags]",
        ),
        (
            "tf_serving_half_plus_two_cpu",
            build_request(raw_features=True),
            "signature 'serving_default' parses no tf.Example (no ParseExample op reads its inputs), so it has no raw "
            "features; signatures that parse tf.Example: [classify_x_to_y, regress_x_to_y, regress_x_to_y2]",
        ),
        (
            "tf2_module_examples",
            build_request(raw_features=True, from_function="serve"),
            "--raw-features replaces a signature's serialized tf.Example input; a function served with --from-function",
        ),
        (
            "tf1_estimator_examples",
            build_request(raw_features=True, cast_inputs={"age": "float64"}),
            "cannot cast ['age']: in a TF1 graph a raw feature is fed straight into the parse's output",
        ),
        (
            "tf1_estimator_examples",
            build_request(raw_features=True, key="age"),
            "key name 'age' collides with an input",
        ),
    ],
)
def test_what_cannot_be_made_is_one_sentence_with_the_choices(models, tmp_path, model, request_, message):
    with pytest.raises(PlanError) as raised:
        rewrite_model(models[model], tmp_path / "out", request_)
    assert message in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_a_feature_without_a_valid_input_name_is_renamed_or_refused(tmp_path):
    class Trips(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def serve(self, examples):
            parsed = tf.io.parse_example(examples, {"trip-miles": tf.io.FixedLenFeature([], tf.float32)})
            return {"fare": parsed["trip-miles"] * 2.5}

    module = Trips()
    tf.saved_model.save(module, str(tmp_path / "trips"), signatures=module.serve)
    refusal = r"feature 'trip-miles' is not a valid input name .*give it one \(--rename-input trip-miles:NEW_NAME"
    with pytest.raises(PlanError, match=refusal):
        plan_rewrite(read_model_info(tmp_path / "trips"), build_request(raw_features=True))
    result = _rewrite(tmp_path / "trips", tmp_path, build_request(raw_features=True, rename_inputs={"trip-miles": "miles"}))
    got = run_with_object_loader(tmp_path / "out", "serving_default_raw", {"miles": np.array([2.0], np.float32)})
    assert got["fare"].tolist() == [5.0] and result.plan.final_signatures == ["serving_default", "serving_default_raw"]


def test_the_cli_makes_and_refuses_raw_feature_signatures(models, tmp_path, capsys):
    ragged = str(models["tf2_module_examples"])
    assert main(["rewrite", ragged, str(tmp_path / "bad"), "--signature", "with_ragged_tags", "--raw-features"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: cannot make a raw-feature signature of 'with_ragged_tags'") and not (tmp_path / "bad").exists()
    source = str(models["tf1_estimator_examples"])
    assert main(["rewrite", source, str(tmp_path / "out"), "--raw-features", "--as", "features", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert "features" in printed["signatures"] and printed["verification"]["ok"]
    assert main(["inspect", source]) == 0
    shown = capsys.readouterr().out
    assert "parses tf.Example in 'inputs': age float32 [1] (a default of 30.0)" in shown
    assert "parses tf.Example in 'examples': age float32 [1] (a default of 30.0), hours int64 [] (a default of 40), " in shown
    assert "tags string var-len" in shown
    assert main(["inspect", ragged]) == 0
    assert "no raw-feature signature: the signature reads the ragged feature(s) ['tags']" in capsys.readouterr().out


TAGS = {1: np.array([[b"red"], [b"blue"]], object), 2: np.array([[b"red", b"big"], [b"blue", b"old"]], object)}


@pytest.mark.parametrize(("model", "signature", "output"), [
    ("tf1_estimator_examples", "predict", "tag_count"),  # a copy of the graph after the parse reads the tags
    ("tf2_module_examples", "with_tags", "tags"),  # the function's copy makes the SparseTensor of them
])  # fmt: skip
def test_a_var_len_feature_is_a_row_of_values_per_example(models, tmp_path, model, signature, output):
    source = models[model]
    result = _rewrite(source, tmp_path, build_request(signature=signature, raw_features=True, key="id"))
    raw = result.output_info.signatures[f"{signature}_raw"]
    assert (raw.inputs["tags"].dtype, raw.inputs["tags"].shape) == ("string", (-1, -1))
    assert any("taken as a row of values per example (shape [-1, -1])" in note for note in result.notes)
    checks = [c for c in result.report.checks if c.name.startswith(f"'{signature}_raw' outputs bit-identical")]
    assert checks and all("the var-len feature(s) ['tags'] were fed one value per example" in c.detail for c in checks)
    features = {name: value for name, value in ROWS.items() if name in raw.inputs}
    keys = np.array([b"r1", b"r2"], object)
    for width, tags in TAGS.items():  # verification fed one tag each; two each run the same
        for run in LOADERS:
            want = run(source, signature, {"examples": _examples(ROWS, tags)})
            got = run(tmp_path / "out", f"{signature}_raw", {**features, "tags": tags, "id": keys})
            assert set(got) == {*want, "id"} and got["id"].tolist() == keys.tolist()
            for name in want:
                np.testing.assert_array_equal(got[name], want[name])
            if output == "tag_count":
                assert got["tag_count"].tolist() == [width, width]


def _taxi_examples(rows: list[dict]) -> np.ndarray:
    """Chicago taxi trips as the TFX pipeline's Examples carry them: one value per feature."""
    serialized = []
    for row in rows:
        example = tf.train.Example()
        for name, value in row.items():
            feature = example.features.feature[name]
            if isinstance(value, str):
                feature.bytes_list.value.append(value.encode())
            elif isinstance(value, int):
                feature.int64_list.value.append(value)
            else:
                feature.float_list.value.append(value)
        serialized.append(example.SerializeToString())
    return np.array(serialized, object)


TRIPS = [
    {"company": "Taxi Affiliation Services", "dropoff_census_tract": 17031081500, "dropoff_community_area": 8,
     "dropoff_latitude": 41.892, "dropoff_longitude": -87.626, "fare": 7.25, "payment_type": "Cash",
     "pickup_census_tract": 17031081800, "pickup_community_area": 8, "pickup_latitude": 41.899, "pickup_longitude": -87.633,
     "trip_miles": 0.9, "trip_seconds": 420, "trip_start_day": 3, "trip_start_hour": 18, "trip_start_month": 5,
     "trip_start_timestamp": 1400269500},
    {"company": "Flash Cab", "dropoff_census_tract": 17031320100, "dropoff_community_area": 32,
     "dropoff_latitude": 41.884, "dropoff_longitude": -87.620, "fare": 23.5, "payment_type": "Credit Card",
     "pickup_census_tract": 17031980000, "pickup_community_area": 76, "pickup_latitude": 41.979, "pickup_longitude": -87.903,
     "trip_miles": 17.4, "trip_seconds": 1860, "trip_start_day": 6, "trip_start_hour": 7, "trip_start_month": 11,
     "trip_start_timestamp": 1415261700},
]  # fmt: skip


@pytest.fixture(scope="module")
def keyed_taxi(models, tmp_path_factory):
    """TFX's Chicago taxi export with its raw-feature signature in place of the classify one
    (kept as 'examples'), keyed by trip and forwarding the fare; made once for the tests below."""
    request = build_request(raw_features=True, key="trip_id", forwards={"fare": ""}, keep_original="examples")
    return _rewrite(models["tfx_chicago_taxi_estimator"], tmp_path_factory.mktemp("taxi"), request)


def test_tfxs_chicago_taxi_estimator_export_gets_a_raw_feature_signature(models, keyed_taxi):
    """TFX's own estimator export, every feature var-len (tensorflow/tfx#1885): the raw-feature
    signature answers trips sent as plain values exactly as the classify signature answers
    them as Examples, through both loaders."""
    source, result = models["tfx_chicago_taxi_estimator"], keyed_taxi
    assert result.engine.value == "TF1 graph engine"
    assert result.output_info.signatures["examples"].method_name == "tensorflow/serving/classify"
    raw = result.output_info.signatures["serving_default"]
    assert len(raw.inputs) == 18 and raw.inputs["company"].shape == (-1, -1) and sorted(raw.outputs) == [
        "classes", "fare", "scores", "trip_id"
    ]  # fmt: skip
    values = {}
    for name, spec in raw.inputs.items():
        if name != "trip_id":
            dtype = object if spec.dtype == "string" else np.dtype(spec.dtype)
            column = [trip[name].encode() if isinstance(trip[name], str) else trip[name] for trip in TRIPS]
            values[name] = np.array(column, dtype=dtype).reshape(-1, 1)
    keys = np.array([b"t1", b"t2"], object)
    for run in LOADERS:
        want = run(source, "serving_default", {"inputs": _taxi_examples(TRIPS)})
        got = run(result.destination, "serving_default", {**values, "trip_id": keys})
        np.testing.assert_array_equal(got["scores"], want["scores"])
        assert got["classes"].tolist() == want["classes"].tolist() and got["trip_id"].tolist() == keys.tolist()
    assert tree_digest(source / "assets") == tree_digest(result.destination / "assets")
    assert tree_digest(source / "variables") == tree_digest(result.destination / "variables")


def test_tfxs_penguin_keras_export_gets_one_with_its_optimizer_dropped(models, tmp_path):
    """TFX's native Keras example, a Keras 2-era export whose function parses four dense features
    and runs TF Transform: raw features and the optimizer dropped in one rewrite."""
    source = models["tfx_penguin_keras"]
    result = _rewrite(source, tmp_path, build_request(raw_features=True, key="id", drop_optimizer=True))
    raw = result.output_info.signatures["serving_default_raw"]
    assert sorted(raw.inputs) == ["body_mass_g", "culmen_depth_mm", "culmen_length_mm", "flipper_length_mm", "id"]
    penguin = {"body_mass_g": 3750.0, "culmen_depth_mm": 18.7, "culmen_length_mm": 39.1, "flipper_length_mm": 181.0}
    features = {name: tf.train.Feature(float_list=tf.train.FloatList(value=[value])) for name, value in penguin.items()}
    examples = np.array([tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()], object)
    want = run_with_session_loader(source, "serving_default", {"examples": examples})["output_0"]
    for run in LOADERS:
        feeds = {name: np.array([[value]], np.float32) for name, value in penguin.items()}
        got = run(tmp_path / "out", "serving_default_raw", {**feeds, "id": np.array([b"p1"], object)})
        np.testing.assert_array_equal(got["output_0"], want)


def test_tfx_trips_from_a_csv_of_plain_values_are_batch_predicted_with_their_keys(models, keyed_taxi, tmp_path):
    """The use the raw-feature signature is for: a CSV of one value per cell (a quoted comma
    too) through the Beam pipeline, each trip's key back beside the scores the classify
    signature gives its Example."""
    from core.batch.pipeline import predict
    from core.serve.tabular import read_csv_batch

    source = models["tfx_chicago_taxi_estimator"]
    keyed = keyed_taxi.destination
    trips = [{**TRIPS[0], "company": "Sun Taxi, Inc."}, TRIPS[1]]
    header = ["trip_id", *TRIPS[0]]
    lines = [",".join(header)] + [
        ",".join([f"t{number}", *(f'"{value}"' if isinstance(value, str) else str(value) for value in trip.values())])
        for number, trip in enumerate(trips, start=1)
    ]
    (tmp_path / "trips.csv").write_text("\n".join(lines) + "\n")
    summary = predict(str(keyed), str(tmp_path / "trips.csv"), str(tmp_path / "predictions"), key_column="trip_id")
    assert (summary.predicted, summary.rejected) == (2, 0)
    written = sorted((tmp_path / "predictions").glob("results-*"))
    results = [json.loads(line) for path in written for line in path.read_text().splitlines()]
    want = run_with_session_loader(source, "serving_default", {"inputs": _taxi_examples(trips)})["scores"]
    by_key = {result["key"]: result["prediction"]["scores"] for result in results}
    np.testing.assert_array_equal(np.array([by_key["t1"], by_key["t2"]], np.float32), want)
    feeds = read_csv_batch("\n".join(lines).encode(), read_model_info(keyed).signatures["serving_default"])
    assert feeds["company"].tolist() == [[b"Sun Taxi, Inc."], [b"Flash Cab"]] and feeds["fare"].shape == (2, 1)
