"""Signature diffs: added, removed and changed rows and method-name changes, as data."""

from __future__ import annotations

from core.savedmodel.diff import Change, diff_signatures
from core.savedmodel.info import SignatureInfo, TensorSpecInfo


def _sig(name, method, inputs, outputs):
    return SignatureInfo(name, method, False, inputs, outputs)


def test_added_removed_changed_and_method():
    f = TensorSpecInfo("float32", (-1, 1), "a:0")
    a = _sig("a", "tensorflow/serving/classify", {"x": f, "gone": f}, {"scores": f})
    b = _sig(
        "b",
        "tensorflow/serving/predict",
        {"x": TensorSpecInfo("float64", (-1, 1), "a:0"), "key": TensorSpecInfo("string", (-1,), "k:0")},
        {"scores": f, "key": TensorSpecInfo("string", (-1,), "k:0")},
    )
    diff = diff_signatures(a, b)
    changes = {(row.side, row.name): row.change for row in diff.rows}
    assert changes == {
        ("input", "gone"): Change.REMOVED,
        ("input", "key"): Change.ADDED,
        ("input", "x"): Change.CHANGED,
        ("output", "key"): Change.ADDED,
        ("output", "scores"): Change.UNCHANGED,
    }
    assert next(r for r in diff.rows if r.name == "x").changed_fields == ("dtype",)
    assert diff.summary == (
        "1 input added, 1 removed, 1 changed; 1 output added, 0 removed, 0 changed; "
        "method name tensorflow/serving/classify → tensorflow/serving/predict"
    )
    assert not diff.identical
    assert diff.to_json()["rows"][0]["change"] == "removed"


def test_tensor_name_only_differences_are_not_interface_changes():
    a = _sig("a", "m", {"x": TensorSpecInfo("int64", (-1,), "a:0")}, {})
    b = _sig("b", "m", {"x": TensorSpecInfo("int64", (-1,), "b:0")}, {})
    diff = diff_signatures(a, b)
    assert diff.rows[0].change is Change.TENSOR_RENAMED
    assert diff.identical
    assert diff.summary.endswith("; 1 tensor name(s) differ")


def test_identical_signatures():
    f = TensorSpecInfo("int64", None, "t:0")
    diff = diff_signatures(_sig("a", "m", {"x": f}, {"y": f}), _sig("a", "m", {"x": f}, {"y": f}))
    assert diff.identical
    assert diff.summary == "0 inputs added, 0 removed, 0 changed; 0 outputs added, 0 removed, 0 changed"
