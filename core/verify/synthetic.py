"""Make a deterministic synthetic batch for a signature, to compare two models on.

Numbers are drawn from a seeded generator; unknown dimensions become the batch size (first
dimension) or 2 (others); an input of unknown rank gets one value per row, a guess the batch
records (a model that rejects it leaves its checks "not verified", saying so). String inputs of
a model that parses ``tf.Example`` get serialized Examples carrying every dense and sparse
feature the graph parses; other string inputs get plain words. Inputs that cannot be made
(composite tensors, resource or variant dtypes) give a reason instead, so callers can report
"not verified: <reason>".

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_saved_model
    >>> handle = read_saved_model(Path("sample_models/house_price"))
    >>> batch = synthesize_batch(handle.info.signatures["serving_default"], handle.example_spec)
    >>> batch.feeds["rooms"].shape
    (3, 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core._tf import tf
from core.savedmodel.examples import ExampleSpec, serialized_example
from core.savedmodel.functions import InputHints
from core.savedmodel.info import SignatureInfo

SYNTHETIC_ROWS = 3
FREE_INNER_DIM = 2
ID_HIGH = 3
SEED = 7


NO_HINTS = InputHints()


@dataclass(frozen=True)
class SyntheticBatch:
    """Feeds by input name, or the reason none could be made; ``guesses`` says which shapes the
    signature left open and how they were filled. ``origin`` names real rows the user gave
    (``3 rows of rows.csv``); None for a synthetic batch."""

    feeds: dict[str, np.ndarray] | None
    reason: str | None = None
    guesses: tuple[str, ...] = ()
    origin: str | None = None

    @property
    def described(self) -> str:
        """What was fed, for the report: ``the synthetic batch`` or ``3 rows of rows.csv``."""
        return self.origin or "the synthetic batch"

    @property
    def notes(self) -> tuple[str, ...]:
        """What the report says of the batch: where real rows came from, or the shape guesses."""
        if self.origin is None:
            return self.guesses
        return (f"fed {self.origin} (inputs {', '.join(sorted(self.feeds or ()))})",)


def provided_batch(feeds: dict[str, np.ndarray], origin: str) -> SyntheticBatch:
    """Real rows for a signature (a request file, Try's last request, warmup requests)."""
    return SyntheticBatch({name: np.asarray(value) for name, value in feeds.items()}, origin=origin)


def _numbers(
    rng: np.random.Generator, dtype: tf.DType, shape: tuple[int, ...], id_limit: int | None = None, *, ids: bool = False
) -> np.ndarray:
    """Values of ``dtype``; integers, and any input that ``ids`` says indexes a table, are ids."""
    numpy_dtype = dtype.as_numpy_dtype
    if dtype.is_bool:
        return (np.arange(math.prod(shape)) % 2 == 0).reshape(shape)
    if dtype.is_integer or (ids and dtype.is_floating):
        # Ids 1 and 2: valid rows of any table of 3 or more, whether ids count from 0 or from
        # 1 (a model that subtracts one); below a smaller embedding table's size.
        high = min(ID_HIGH, id_limit) if id_limit is not None else ID_HIGH
        return rng.integers(1 if high > 1 else 0, max(high, 1), size=shape).astype(numpy_dtype)
    if dtype.is_complex:
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(numpy_dtype)
    return rng.standard_normal(shape).astype(numpy_dtype)


def _serialized_examples(spec: ExampleSpec, count: int, rng: np.random.Generator) -> list[bytes]:
    def fill(row: int):
        def values(dtype: str, size: int) -> list:
            if dtype == "string":
                return [f"value-{row}-{i}".encode() for i in range(size)]
            numbers = _numbers(rng, tf.as_dtype(dtype), (size,))
            return numbers.astype(np.int64 if dtype == "int64" else np.float32).tolist()

        return values

    return [serialized_example(spec, fill(row)) for row in range(count)]


def synthesize_batch(
    signature: SignatureInfo,
    example_spec: ExampleSpec,
    *,
    batch_size: int = SYNTHETIC_ROWS,
    hints: InputHints = NO_HINTS,
) -> SyntheticBatch:
    """A deterministic batch for every input of ``signature``, or why one cannot be made.
    ``hints``: inner dimensions the signature leaves open take the model's traced shape, and
    integer inputs, and float inputs the model casts to row indices, are ids below its smallest
    embedding table."""
    rng = np.random.default_rng(SEED)
    feeds: dict[str, np.ndarray] = {}
    guesses, one_each = [], []
    for name, spec in signature.inputs.items():
        if spec.composite:
            return SyntheticBatch(None, f"input '{name}' is a composite (sparse or ragged) tensor")
        dims = spec.shape
        if dims is None:
            dims = (-1,)
            guesses.append(f"input '{name}' has unknown rank and was fed one value per row")
        try:
            dtype = tf.as_dtype(spec.dtype)
        except TypeError:
            return SyntheticBatch(None, f"input '{name}' has dtype {spec.dtype}, which cannot be synthesised")
        if dtype in (tf.resource, tf.variant):
            return SyntheticBatch(None, f"input '{name}' has dtype {spec.dtype}, which cannot be synthesised")
        traced = hints.traced_shapes.get(name)
        if traced is not None and len(traced) != len(dims):
            traced = None
        shape = tuple(
            dim if dim >= 0 else batch_size if index == 0 else traced[index] if traced and traced[index] >= 0 else FREE_INNER_DIM
            for index, dim in enumerate(dims)
        )
        if name in hints.var_len and len(dims) == 2 and dims[1] < 0:
            shape = (shape[0], 1)
            one_each.append(name)
        elif traced and any(dim < 0 and traced[i] >= 0 for i, dim in enumerate(dims) if i):
            guesses.append(f"input '{name}' is declared {list(dims)}; its width came from the model's traced {list(traced)}")
        elif len(dims) > 1 and dims[-1] < 0 and spec.tensor_name in hints.graph_widths:
            width = hints.graph_widths[spec.tensor_name]
            shape = (*shape[:-1], width)
            guesses.append(
                f"input '{name}' is declared {list(dims)}; "
                f"its width {width} came from the graph's first MatMul or convolution on it"
            )
        count = math.prod(shape)
        if dtype == tf.string:
            if example_spec.found:
                values = _serialized_examples(example_spec, count, rng)
            else:
                values = [f"word-{i}".encode() for i in range(count)]
            feeds[name] = np.array(values, dtype=object).reshape(shape)
        else:
            feeds[name] = _numbers(rng, dtype, shape, hints.id_limit, ids=spec.tensor_name in hints.index_inputs)
    if one_each:
        guesses.append(f"the var-len feature(s) {one_each} were fed one value per example")
    return SyntheticBatch(feeds, guesses=tuple(guesses))
