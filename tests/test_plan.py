"""Plan validation: every bad choice is refused before any work, naming the valid choices."""

from __future__ import annotations

import pytest

from core.cli.rewrite_command import parse_pair
from core.errors import PlanError
from core.rewrite.plan import OutputKind, plan_rewrite
from core.rewrite.request import Forward, KeyDtype, RewriteRequest
from core.savedmodel.proto import PREDICT_METHOD, REGRESS_METHOD
from core.workflows import inspect_model


@pytest.fixture(scope="module")
def house(samples):
    return inspect_model(samples / "house_price")


@pytest.fixture(scope="module")
def tf1(samples):
    return inspect_model(samples / "tf1_half_plus_two")


def test_plan_preview_of_key_forward_and_rename(house):
    plan = plan_rewrite(
        house,
        RewriteRequest(
            key="instance_key",
            key_dtype=KeyDtype.INT64,
            forwards=(Forward("rooms", "rooms_seen"),),
            rename_outputs=(("output_0", "price"),),
            keep_original="unkeyed",
        ),
    )
    assert plan.result_name == "serving_default"
    assert sorted(plan.result.inputs) == ["instance_key", "rooms", "tax_rate"]
    assert plan.result.inputs["instance_key"].dtype == "int64"
    assert plan.result.inputs["instance_key"].shape == (-1,)
    assert sorted(plan.result.outputs) == ["instance_key", "price", "rooms_seen"]
    assert plan.output_sources["price"].kind is OutputKind.OUTPUT
    assert plan.output_sources["rooms_seen"].kind is OutputKind.INPUT
    assert plan.kept_signatures == {"serve": "serve", "unkeyed": "serving_default"}
    assert plan.final_signatures == ["serve", "serving_default", "unkeyed"]


def test_classify_base_becomes_predict_when_it_gains_a_key(tf1):
    plan = plan_rewrite(tf1, RewriteRequest(signature="classify_x_to_y", key="id", result_name="classify_keyed"))
    assert plan.result.method_name == PREDICT_METHOD
    assert "has one input 'inputs'" in plan.notes[0] and plan.notes[0].startswith("the result is a tensorflow/serving/predict")
    assert plan.kept_signatures["classify_x_to_y"] == "classify_x_to_y"


def test_regress_base_keeps_its_method_for_a_plain_copy(tf1):
    plan = plan_rewrite(tf1, RewriteRequest(signature="regress_x_to_y", result_name="regress_copy"))
    assert plan.result.method_name == REGRESS_METHOD
    assert plan.notes == ()


@pytest.mark.parametrize(
    "request_, message",
    [
        (RewriteRequest(signature="nope", key="k"), r"unknown signature 'nope'; signatures: \[serve, serving_default\]"),
        (RewriteRequest(signature="__saved_model_init_op", key="k"), "unknown signature '__saved_model_init_op'"),
        (
            RewriteRequest(key="rooms"),
            r"key name 'rooms' collides with an input; inputs of 'serving_default': \[rooms, tax_rate\]",
        ),
        (RewriteRequest(key="output_0"), r"key name 'output_0' collides with an output"),
        (RewriteRequest(key="bad name"), "key name 'bad name' is not a valid name: use a letter or underscore, then"),
        (RewriteRequest(key="9lives"), "key name '9lives' is not a valid name"),
        (
            RewriteRequest(forwards=(Forward("size", "size"),)),
            r"cannot forward unknown input 'size'; inputs of 'serving_default': \[rooms",
        ),
        (
            RewriteRequest(forwards=(Forward("rooms", "output_0"),)),
            r"an output of that name exists; give the forwarded input another output name \(rooms:NEW_NAME\)",
        ),
        (
            RewriteRequest(rename_outputs=(("price", "p"),)),
            r"cannot rename unknown output 'price'; outputs of 'serving_default': \[output_0\]",
        ),
        (RewriteRequest(rename_outputs=(("output_0", "a-b"),)), "output name 'a-b' is not a valid name"),
        (
            RewriteRequest(key="k", keep_original="serve"),
            "signature name 'serve' would be used by signature 'serve' and the kept original",
        ),
        (
            RewriteRequest(key="k", result_name="serve"),
            "signature name 'serve' would be used by the rewritten signature and signature 'serve'",
        ),
        (
            RewriteRequest(key="k", result_name="keyed", keep_original="unkeyed"),
            "keeping the original applies only when the result replaces 'serving_default'; with the result added as 'keyed'",
        ),
        (RewriteRequest(key="k", drop=("serving_default",)), "cannot drop 'serving_default': the result replaces it"),
        (
            RewriteRequest(key="k", drop=("missing",)),
            r"cannot drop: unknown signature 'missing'; signatures: \[serve, serving_default\]",
        ),
        (RewriteRequest(key="k", rename_signatures=(("missing", "x"),)), "cannot rename unknown or dropped signature 'missing'"),
        (RewriteRequest(), "the plan changes nothing"),
    ],
)
def test_invalid_plans_are_refused_with_the_choices(house, request_, message):
    with pytest.raises(PlanError, match=message):
        plan_rewrite(house, request_)


def test_every_problem_is_reported_at_once(house):
    with pytest.raises(PlanError) as caught:
        plan_rewrite(house, RewriteRequest(key="rooms", forwards=(Forward("size", "size"),)))
    assert "key name 'rooms'" in str(caught.value) and "unknown input 'size'" in str(caught.value)


def test_scalar_output_cannot_line_up_with_a_key(models):
    info = inspect_model(models["scalar_output"])
    with pytest.raises(PlanError, match="output 'total' is a scalar with no batch dimension, so the key 'k' cannot be matched"):
        plan_rewrite(info, RewriteRequest(key="k"))
    # Renaming alone needs no row alignment.
    assert plan_rewrite(info, RewriteRequest(rename_outputs=(("total", "sum"),))).result.outputs["sum"].shape == ()


def test_fixed_and_free_batch_dimensions_cannot_line_up(models):
    info = inspect_model(models["fixed_batch"])
    with pytest.raises(PlanError, match=r"the first dimensions differ \(output 'v': -1, output 'y': 4\)"):
        plan_rewrite(info, RewriteRequest(key="k"))


def test_unknown_rank_is_accepted_with_a_note_for_verification(models):
    info = inspect_model(models["int_inputs"])
    plan = plan_rewrite(info, RewriteRequest(forwards=(Forward("anything", "anything_out"),)))
    assert "forwarded input 'anything' has unknown rank" in plan.notes[0]
    assert "verification checks that it has one row per row of the batch" in plan.notes[0]


@pytest.mark.parametrize(
    "text, optional, expected",
    [("rooms", True, ("rooms", "rooms")), ("rooms:r", True, ("rooms", "r")), ("a:b", False, ("a", "b"))],
)
def test_parse_pair(text, optional, expected):
    assert parse_pair(text, flag="--x", optional_second=optional) == expected


@pytest.mark.parametrize("text", ["a", ":b", "a:", ""])
def test_parse_pair_refuses(text):
    with pytest.raises(PlanError, match="--rename-output takes OLD:NEW"):
        parse_pair(text, flag="--rename-output")


def test_sparse_inputs_cannot_be_forwarded(tmp_path):
    from core._tf import tf
    from core.savedmodel.examples import ExampleSpec
    from core.verify.synthetic import synthesize_batch

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        ids = v1.sparse_placeholder(tf.int64, name="ids")
        dense = v1.placeholder(tf.float32, [None], name="dense")
        total = tf.reshape(tf.sparse.reduce_sum(ids, axis=1) + tf.cast(dense, tf.int64), [-1], name="total")
        builder = v1.saved_model.builder.SavedModelBuilder(str(tmp_path / "sparse"))
        signature = v1.saved_model.signature_def_utils.predict_signature_def({"ids": ids, "dense": dense}, {"total": total})
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature})
        builder.save()
    info = inspect_model(tmp_path / "sparse")
    ids_spec = info.signatures["serving_default"].inputs["ids"]
    assert ids_spec.composite and ids_spec.tensor_name == "ids/values:0"
    assert not info.signatures["serving_default"].inputs["dense"].composite
    with pytest.raises(
        PlanError, match="input 'ids' is a composite \\(sparse or ragged\\) tensor; only dense inputs can be forwarded"
    ):
        plan_rewrite(info, RewriteRequest(forwards=(Forward("ids", "ids_out"),)))
    assert plan_rewrite(info, RewriteRequest(key="k")).result.inputs["k"].dtype == "string"
    reason = synthesize_batch(info.signatures["serving_default"], ExampleSpec()).reason
    assert reason == "input 'ids' is a composite (sparse or ragged) tensor"
