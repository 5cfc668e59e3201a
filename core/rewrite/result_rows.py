"""The rows a rewritten signature takes, made of rows of its base: what verification feeds the
result beside the original, and what a warmup request for the result carries.

Example:
    >>> key_values("int64", 3).tolist(), key_values("string", 2).tolist()
    ([1000, 1001, 1002], [b'key-0', b'key-1'])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core._tf import tf
from core.rewrite.plan import RewritePlan
from core.savedmodel.example_parse import examples_of_rows

ROWS_WITHOUT_A_BATCH = 3  # keys for a request none of whose inputs has a batch dimension


def key_values(dtype: str, count: int) -> np.ndarray:
    """Distinct instance keys for ``count`` rows: ``key-0``, ... or 1000, 1001, ..."""
    if dtype == "string":
        return np.array([f"key-{i}".encode() for i in range(count)], dtype=object)
    return np.arange(1000, 1000 + count, dtype=tf.as_dtype(dtype).as_numpy_dtype)


def result_feeds(
    plan: RewritePlan, base_feeds: dict[str, Any], *, spread_constant_casts: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same rows for the original and for the result: the result's inputs under their new
    names, cast inputs in the clients' dtype, and the key. A cast input's rows go through the
    clients' dtype first, so the original is fed exactly what the result's cast gives the model.
    For a raw-feature result, the original gets each row as the serialized tf.Example carrying it.
    ``spread_constant_casts``: rows a cast makes all equal are counted instead, so a comparison
    can tell them apart (verification's synthetic rows); off, real rows stay as they are.

    Example:
        >>> from pathlib import Path
        >>> from core.rewrite.plan import plan_rewrite
        >>> from core.rewrite.request import RewriteRequest
        >>> from core.savedmodel.handle import read_model_info
        >>> request = RewriteRequest(key="k", rename_inputs=(("rooms", "n_rooms"),), cast_inputs=(("rooms", "int64"),))
        >>> plan = plan_rewrite(read_model_info(Path("sample_models/house_price")), request)
        >>> rows = {"rooms": np.array([[2.5]], np.float32), "tax_rate": np.array([[0.1]], np.float32)}
        >>> original, result = result_feeds(plan, rows)
        >>> original["rooms"].tolist(), result["n_rooms"].tolist(), result["n_rooms"].dtype, sorted(result)
        ([[2.0]], [[2]], dtype('int64'), ['k', 'n_rooms', 'tax_rate'])
    """
    original = dict(base_feeds)
    client = {}
    for name, dtype in plan.casts.items():
        values = np.asarray(original[name])
        sent = values.astype(np.dtype(dtype))
        if spread_constant_casts and sent.size > 1 and np.all(sent == sent.flat[0]):  # floats in [0, 1) would all be 0
            sent = (np.arange(sent.size) % 100).reshape(sent.shape).astype(np.dtype(dtype))
        client[name] = sent
        original[name] = sent.astype(values.dtype)
    batched = [np.shape(value)[0] for value in base_feeds.values() if np.ndim(value)]
    rows = batched[0] if batched else ROWS_WITHOUT_A_BATCH
    feeds = {}
    for name, base in plan.input_sources.items():
        if base is None:
            feeds[name] = key_values(plan.request.key_dtype.value, rows)
        elif base in base_feeds:
            feeds[name] = client.get(base, original[base])
    if plan.example_parse:  # the original takes the same rows as serialized tf.Examples
        parse = plan.example_parse
        features = {feature.name for feature in parse.features}
        examples = examples_of_rows(parse.features, {name: original[name] for name in features})
        original = {name: value for name, value in original.items() if name not in features}
        original[parse.example_input] = examples
    return original, feeds
