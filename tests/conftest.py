"""Fixtures: the committed sample models, and extra real models of every family (Keras files,
TF Serving version folders, archives, TF1 graphs with several MetaGraphs, models with unsafe
ops, fixed batch sizes or non-deterministic outputs), each built the first time a test asks
for it and kept for the session."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core._tf import tf

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_models"
SAMPLE_NAMES = ["image_classifier", "house_price", "tf1_half_plus_two", "vocab_lookup", "keras2_churn"]
# An entry script for AppTest, not a module to collect (it runs the app when imported).
collect_ignore = ["studio_app.py"]


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path → sha256 of every file under ``folder``."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def app(monkeypatch):
    """The Studio under AppTest after its first run (no model roots); after the test, its last
    run must have raised nothing."""
    from core.studio.workspace import ROOTS_VARIABLE
    from tests.apptest import open_app

    monkeypatch.delenv(ROOTS_VARIABLE, raising=False)
    at = open_app().run()
    assert not at.exception
    yield at
    assert not at.exception, "the last run of the app raised"


class LazyModels:
    """``models[name]`` builds the model ``name`` on first use, into one session folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._built: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self._built:
            self._built[name] = _BUILDERS[name](self)
        return self._built[name]


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> LazyModels:
    """Extra model sources, built when first asked for: name → path."""
    return LazyModels(tmp_path_factory.mktemp("models"))


def _keras_file(suffix: str):
    def build(models: LazyModels) -> Path:
        from sample_models.build import build_house_price_model

        target = models.root / f"house_price{suffix}"
        build_house_price_model().save(target)
        return target

    return build


def _keras_embedding(models: LazyModels) -> Path:
    """A Keras 3 export with two inputs, an Embedding and a Dense layer with ReLU: the kind of
    graph TensorFlow's optimiser fuses, so a rewrite that calls it differently rounds differently."""
    import keras

    def seeded(seed: int):  # seeded initialisers, never the global seed other fixtures' random ops depend on
        return keras.initializers.GlorotUniform(seed=seed)

    scores = keras.Input((3,), name="age_income_score")
    region = keras.Input((1,), name="region", dtype="int32")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(5, 2, embeddings_initializer=seeded(11))(region))
    dense = keras.layers.Dense(4, activation="relu", kernel_initializer=seeded(12))(scores)
    hidden = keras.layers.Concatenate()([dense, embedded])
    churn = keras.layers.Dense(1, activation="sigmoid", name="churn", kernel_initializer=seeded(13))(hidden)
    model = keras.Model([scores, region], {"churn": churn})
    target = models.root / "keras_embedding"
    model.export(str(target), verbose=False)
    return target


def _keras_float_ids(models: LazyModels) -> Path:
    """A Keras 3 export whose Embedding takes its ids as float32, the default input dtype (as
    most public Keras 2 text models do): the layer casts them, so -0.7 becomes the id -1."""
    import keras

    tokens = keras.Input((20,), name="tokens")
    embedded = keras.layers.Embedding(3, 2, embeddings_initializer=keras.initializers.GlorotUniform(seed=21))(tokens)
    score = keras.layers.Dense(1, name="score", kernel_initializer=keras.initializers.GlorotUniform(seed=22))(
        keras.layers.Flatten()(embedded)
    )
    target = models.root / "keras_float_ids"
    keras.Model(tokens, {"score": score}).export(str(target), verbose=False)
    return target


def _save_tf1(session, target: Path, signature, **meta_graph: object) -> Path:
    """Save the session's graph as a serving SavedModel whose ``serving_default`` is ``signature``
    (``meta_graph``: more arguments of ``add_meta_graph_and_variables``, a ``main_op`` say)."""
    builder = tf.compat.v1.saved_model.builder.SavedModelBuilder(str(target))
    builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature}, **meta_graph)
    builder.save()
    return target


def _save_tf1_predict(session, target: Path, inputs: dict, outputs: dict) -> Path:
    """Initialise the session's variables and save its graph with one predict signature."""
    v1 = tf.compat.v1
    session.run(v1.global_variables_initializer())
    return _save_tf1(session, target, v1.saved_model.signature_def_utils.predict_signature_def(inputs, outputs))


def _build_tf1_float_ids(target: Path) -> Path:
    """A TF1 graph that casts a float placeholder to the ids of an embedding_lookup."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        codes = v1.placeholder(tf.float32, [None, 10], name="codes")
        table = v1.get_variable("embedding/table", initializer=np.arange(6, dtype=np.float32).reshape(3, 2))
        looked_up = tf.nn.embedding_lookup(table, tf.cast(codes, tf.int32))
        total = tf.identity(tf.reduce_sum(looked_up, axis=[1, 2]), name="total")
        return _save_tf1_predict(session, target, {"codes": codes}, {"total": total})


def _build_tf1_open_width(target: Path) -> Path:
    """A TF1 graph whose input is declared [-1, -1], as old exports often are, though its first
    MatMul takes 5 features: only the graph says the width."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        features = v1.placeholder(tf.float32, [None, None], name="features")
        weights = v1.get_variable("dense/kernel", initializer=np.linspace(-1.0, 1.0, 5, dtype=np.float32).reshape(5, 1))
        score = tf.identity(tf.matmul(tf.cast(features, tf.float32) * 0.5, weights), name="score")
        return _save_tf1_predict(session, target, {"features": features}, {"score": score})


def _serving_base(models: LazyModels) -> Path:
    serving_base = models.root / "serving_base"
    for version in (1, 7):
        shutil.copytree(SAMPLES / "house_price", serving_base / str(version))
    (serving_base / "not_a_version").mkdir()
    return serving_base


def _module(module_class):
    def build(models: LazyModels) -> Path:
        return _save_module(models.root / module_class.__name__.strip("_").lower(), module_class())

    return build


def _archive(suffix: str):
    def build(models: LazyModels) -> Path:
        return _pack(SAMPLES / "house_price", models.root / f"house_price{suffix}", prefix="deep/er/house_price")

    return build


def _archive_versions(models: LazyModels) -> Path:
    return _pack(models["serving_base"], models.root / "versions.tar.gz", prefix="models/price")


def _archive_two_models(models: LazyModels) -> Path:
    two = models.root / "two_models"
    shutil.copytree(SAMPLES / "house_price", two / "a")
    shutil.copytree(SAMPLES / "vocab_lookup", two / "b")
    return _pack(two, models.root / "two_models.zip", prefix="bundle")


def _pack(folder: Path, archive: Path, *, prefix: str) -> Path:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive, "w") as zf:
            for path in files:
                zf.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    else:
        mode = "w" if archive.name.endswith(".tar") else "w:gz"
        with tarfile.open(archive, mode) as tar:
            for path in files:
                tar.add(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return archive


def _save_module(target: Path, module: tf.Module) -> Path:
    tf.saved_model.save(module, str(target), signatures={"serving_default": module.serve})
    return target


class _UnsafeOps(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="path")])
    def serve(self, path):
        tf.print("reading", path)
        return {"length": tf.strings.length(tf.io.read_file(path[0]))[tf.newaxis]}


class _ScalarOutput(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def serve(self, x):
        return {"total": tf.reduce_sum(x), "rows": x * 2.0}


class _FixedBatch(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([4, 3], tf.float32, name="x"), tf.TensorSpec([None], tf.float32, name="w")])
    def serve(self, x, w):
        return {"y": x * 2.0, "v": w + 1.0}


class _RandomOutput(tf.Module):
    """Adds noise on every call: no two runs agree. Traced with no global seed (a sample built
    earlier in the process sets one, which would fix the op's seeds and make runs agree)."""

    def __init__(self) -> None:
        super().__init__()
        tf.random.set_seed(None)

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def serve(self, x):
        return {"noisy": x + tf.random.uniform(tf.shape(x))}


class _IntInputs(tf.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3))

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.int64, name="item"),
            tf.TensorSpec([None, None], tf.int32, name="history"),
            tf.TensorSpec([None], tf.bool, name="flag"),
            tf.TensorSpec(None, tf.float32, name="anything"),
        ]
    )
    def serve(self, item, history, flag, anything):
        embedded = tf.gather(self.embedding, item % 4)
        return {"score": tf.reduce_sum(embedded, axis=1) + tf.cast(tf.reduce_sum(history, axis=1), tf.float32), "flag": flag}


class _UnknownRankMatrix(tf.Module):
    """An input of unknown rank the model needs as a matrix: the verifier's guess (one value
    per row) is rejected, so its checks are "not verified", saying why."""

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name="matrix")])
    def serve(self, matrix):
        return {"total": tf.reduce_sum(matrix, axis=1)}


class _NestedWriteFile(tf.Module):
    """Writes a host file from inside a nested tf.function (the sandbox issue's example)."""

    def __init__(self, host_file: Path) -> None:
        super().__init__()
        self.host_file = str(host_file)

    @tf.function
    def _leak(self, x):
        tf.io.write_file(self.host_file, tf.strings.as_string(tf.reduce_sum(x)))
        return x

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def serve(self, x):
        return {"y": self._leak(x) * 2.0}


class _SaveV2Writer(tf.Module):
    def __init__(self, host_prefix: Path) -> None:
        super().__init__()
        self.host_prefix = str(host_prefix)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def serve(self, x):
        tf.raw_ops.SaveV2(prefix=self.host_prefix, tensor_names=["x"], shape_and_slices=[""], tensors=[x])
        return {"y": x + 1.0}


class _TextLineReader(tf.Module):
    def __init__(self, host_file: Path) -> None:
        super().__init__()
        self.host_file = str(host_file)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def serve(self, x):
        first_line = tf.data.TextLineDataset(self.host_file).take(1).get_single_element()
        return {"line": tf.fill(tf.shape(x), first_line)}


class _FileCache(tf.Module):
    def __init__(self, cache_file: Path) -> None:
        super().__init__()
        self.cache_file = str(cache_file)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def serve(self, x):
        total = tf.data.Dataset.range(3).cache(self.cache_file).reduce(tf.constant(0, tf.int64), lambda a, b: a + b)
        return {"y": x + tf.cast(total, tf.float32)}


def _table_from_file(path: tf.Tensor, words: tf.Tensor) -> tf.Tensor:
    """Word → line number, from the file at ``path``, in raw ops (so a tf.function keeps the
    table and its initializer in its own body)."""
    table = tf.raw_ops.HashTableV2(key_dtype=tf.string, value_dtype=tf.int64)
    filled = tf.raw_ops.InitializeTableFromTextFileV2(table_handle=table, filename=path, key_index=-2, value_index=-1)
    with tf.control_dependencies([filled]):
        return tf.raw_ops.LookupTableFindV2(table_handle=table, keys=words, default_value=tf.constant(-1, tf.int64))


_NESTED_TABLE = tf.function(_table_from_file)


class _NestedHostTable(tf.Module):
    """Fills a table from a host file in a nested tf.function, whose path argument is a
    constant of its caller: the lookups tell which lines the file holds."""

    def __init__(self, host_file: Path) -> None:
        super().__init__()
        self.host_file = str(host_file)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
    def serve(self, words):
        return {"ids": _NESTED_TABLE(tf.constant(self.host_file), words)}


class _TableFromInputPath(tf.Module):
    """Fills a table from whatever file the caller names."""

    @tf.function(input_signature=[tf.TensorSpec([], tf.string, name="path"), tf.TensorSpec([None], tf.string, name="words")])
    def serve(self, path, words):
        return {"ids": _table_from_file(path, words)}


class _AssetThroughCall(tf.Module):
    """A vocabulary asset handed to a nested tf.function that fills the table: allowed."""

    def __init__(self, vocabulary: Path) -> None:
        super().__init__()
        self.vocabulary = tf.saved_model.Asset(str(vocabulary))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
    def serve(self, words):
        return {"ids": _NESTED_TABLE(self.vocabulary.asset_path, words)}


def _asset_through_call(models: LazyModels) -> Path:
    vocabulary = models.root / "asset_through_call_vocabulary.txt"
    vocabulary.write_text("apple\nbanana\n")
    return _save_module(models.root / "asset_through_call", _AssetThroughCall(vocabulary))


class _LoopForever(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def serve(self, x):
        count = tf.while_loop(lambda i: i >= 0, lambda i: i + 1, [tf.constant(0, tf.int64)])
        return {"y": x + tf.cast(count, tf.float32)}


class _AllocateTooMuch(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def serve(self, x):
        gigabytes = tf.cast(x[0], tf.int32)  # from the input, so nothing is folded into the graph
        huge = tf.ones(tf.stack([1024, 1024, 256 * gigabytes]), tf.float32)
        return {"y": x + tf.reduce_sum(huge)}


class _AllocateByBatch(tf.Module):
    """Allocates 4 GiB per row of any batch (a synthetic one too): past any sensible cap."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def serve(self, x):
        huge = tf.ones(tf.stack([1024, 1024, 1024 * tf.shape(x)[0]]), tf.float32)
        return {"y": x + tf.reduce_sum(huge)}


class _TrainedWithV1Optimizer(tf.Module):
    """A ``tf.Module`` trained one step with ``tf.compat.v1.train.AdamOptimizer``: its object
    graph keeps the optimizer and its slot variables as a plain object, which
    ``tf.saved_model.load`` cannot revive (with or without tf_keras)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = tf.Variable(np.linspace(-1.0, 1.0, 8, dtype=np.float32).reshape(4, 2), name="w")
        self.b = tf.Variable(np.zeros(2, np.float32), name="b")
        self.optimizer = tf.compat.v1.train.AdamOptimizer(0.1)
        rows = np.linspace(0.0, 1.0, 12, dtype=np.float32).reshape(3, 4)
        self.optimizer.minimize(lambda: tf.reduce_sum(self.serve(rows)["scores"] ** 2), var_list=[self.w, self.b])

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="features")])
    def serve(self, features):
        return {"scores": tf.nn.softmax(tf.matmul(features, self.w) + self.b)}


class _DeclaredWiderThanItIs(tf.Module):
    """Serves ``x`` declared ``[-1, -1]`` though it only works 20 wide; the model's own
    ``call`` was traced ``[None, 20]``, as Keras 2 exports trace their layers."""

    def __init__(self) -> None:
        super().__init__()
        self.w = tf.Variable(np.linspace(0.0, 1.0, 20, dtype=np.float32)[np.newaxis])
        self.call = tf.function(lambda x: x * self.w, input_signature=[tf.TensorSpec([None, 20], tf.float32, name="x")])

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="x")])
    def serve(self, x):
        return {"scaled": x * self.w}


class _OneBasedIds(tf.Module):
    """Takes ids counted from 1 into a 3-row table (id 0 fails, as id -1 does in public models)."""

    def __init__(self) -> None:
        super().__init__()
        self.table = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="embedding")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="user_id")])
    def serve(self, user_id):
        return {"vector": tf.gather(self.table, user_id - 1)}


def _module_without_signatures(models: LazyModels) -> Path:
    """A ``tf.Module`` saved without ``signatures=``: its traced function is on the object graph only."""
    module = _TrainedWithV1Optimizer.__mro__[1]()
    module.w = tf.Variable(np.ones((4, 2), np.float32))
    module.serve = tf.function(lambda features: {"scores": tf.matmul(features, module.w)},
                               input_signature=[tf.TensorSpec([None, 4], tf.float32, name="features")])  # fmt: skip
    module.serve.get_concrete_function()
    target = models.root / "module_without_signatures"
    tf.saved_model.save(module, str(target), signatures={})
    return target


def _tf1_without_signatures(models: LazyModels) -> Path:
    """A TF1 graph exported with a tag other than ``serve`` and no SignatureDef, as public
    MNIST exports are."""
    target = models.root / "tf1_without_signatures"
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        w = v1.get_variable("w", initializer=tf.constant([[1.0], [2.0]]), use_resource=False)
        tf.matmul(v1.placeholder(tf.float32, [None, 2], name="x"), w, name="y")
        session.run(v1.global_variables_initializer())
        builder = v1.saved_model.builder.SavedModelBuilder(str(target))
        builder.add_meta_graph_and_variables(session, ["mnist"])
        builder.save()
    return target


def _hostile(module_class, host_name: str):
    """A model whose serving function reaches ``HOST/host_name`` outside the model."""

    def build(models: LazyModels) -> Path:
        host = models.root / "host"
        host.mkdir(exist_ok=True)
        return _save_module(models.root / module_class.__name__.strip("_").lower(), module_class(host / host_name))

    return build


def _build_tf1_runtime_table(target: Path) -> Path:
    """A TF1 graph whose lookup table reads a file named in the graph, not an asset of the model."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        words = v1.placeholder(tf.string, [None], name="words")
        initializer = v1.lookup.TextFileInitializer(
            tf.strings.join(["/etc/", "hostname"]),  # built at run time: no asset of the model
            key_dtype=tf.string,
            key_index=v1.lookup.TextFileIndex.WHOLE_LINE,
            value_dtype=tf.int64,
            value_index=v1.lookup.TextFileIndex.LINE_NUMBER,
        )
        table = v1.lookup.StaticHashTable(initializer, default_value=-1)
        ids = tf.identity(table.lookup(words), name="ids")
        signature = v1.saved_model.signature_def_utils.predict_signature_def({"words": words}, {"ids": ids})
        return _save_tf1(session, target, signature, main_op=v1.tables_initializer())


def _build_tf1_unknown_rank(target: Path, *, per_row: bool) -> Path:
    """A TF1 graph whose output the SignatureDef declares of unknown rank (as TF Serving's own
    test models do): one row per input row, or (``per_row`` False) one row for the batch."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        y = tf.identity(x * 2.0 if per_row else tf.reduce_sum(x, axis=0, keepdims=True), name="y")
        outputs = {"y": v1.saved_model.utils.build_tensor_info(y)}
        outputs["y"].tensor_shape.Clear()
        outputs["y"].tensor_shape.unknown_rank = True
        signature = v1.saved_model.signature_def_utils.build_signature_def(
            {"x": v1.saved_model.utils.build_tensor_info(x)}, outputs, v1.saved_model.signature_constants.PREDICT_METHOD_NAME
        )
        return _save_tf1(session, target, signature)


def _build_tf1_two_meta_graphs(target: Path) -> Path:
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        w = v1.get_variable("w", initializer=tf.constant([[1.0, 2.0], [3.0, 4.0]]), use_resource=False)
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        y = tf.matmul(x, w, name="y")
        session.run(v1.global_variables_initializer())
        builder = v1.saved_model.builder.SavedModelBuilder(str(target))
        predict = v1.saved_model.signature_def_utils.predict_signature_def({"x": x}, {"y": y})
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": predict})
        builder.add_meta_graph(["train"], signature_def_map={"training_view": predict})
        builder.save()
    return target


def _build_tf2_identity_outputs(models: LazyModels) -> Path:
    """The house-price export with its serving outputs read through an extra ``Identity`` in the
    graph: still valid for both loaders, but not laid out the way ``tf.saved_model.save`` writes
    a signature, so the object-graph engine hands it to the load/save engine."""
    from core.savedmodel.proto import read_saved_model_proto

    target = models.root / "tf2_identity_outputs"
    shutil.copytree(SAMPLES / "house_price", target)
    saved_model = read_saved_model_proto(target)
    meta_graph = saved_model.meta_graphs[0]
    for name, info in meta_graph.signature_def["serving_default"].outputs.items():
        node = meta_graph.graph_def.node.add(name=f"read_{name}", op="Identity", input=[info.name.removesuffix(":0")])
        node.attr["T"].type = info.dtype
        info.name = f"{node.name}:0"
    (target / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    (target / "fingerprint.pb").unlink()
    return target


_BUILDERS = {
    "keras_file": _keras_file(".keras"),
    "h5_file": _keras_file(".h5"),
    "serving_base": _serving_base,
    "keras_embedding": _keras_embedding,
    "unsafe_ops": _module(_UnsafeOps),
    "scalar_output": _module(_ScalarOutput),
    "fixed_batch": _module(_FixedBatch),
    "random_output": _module(_RandomOutput),
    "int_inputs": _module(_IntInputs),
    "unknown_rank_matrix": _module(_UnknownRankMatrix),
    "tf1_two_meta_graphs": lambda models: _build_tf1_two_meta_graphs(models.root / "tf1_two_meta_graphs"),
    "tf1_unknown_rank_rows": lambda models: _build_tf1_unknown_rank(models.root / "unknown_rank_rows", per_row=True),
    "tf1_unknown_rank_total": lambda models: _build_tf1_unknown_rank(models.root / "unknown_rank_total", per_row=False),
    "nested_write_file": _hostile(_NestedWriteFile, "written-by-the-model.txt"),
    "save_v2": _hostile(_SaveV2Writer, "checkpoint-by-the-model"),
    "text_line_reader": _hostile(_TextLineReader, "secret.txt"),
    "file_cache": _hostile(_FileCache, "cache-by-the-model"),
    "nested_host_table": _hostile(_NestedHostTable, "secret.txt"),
    "table_from_input_path": _module(_TableFromInputPath),
    "asset_through_call": _asset_through_call,
    "tf2_identity_outputs": _build_tf2_identity_outputs,
    "tf1_runtime_table": lambda models: _build_tf1_runtime_table(models.root / "tf1_runtime_table"),
    "loop_forever": _module(_LoopForever),
    "allocate_too_much": _module(_AllocateTooMuch),
    "v1_optimizer_module": _module(_TrainedWithV1Optimizer),
    "allocate_by_batch": _module(_AllocateByBatch),
    "module_without_signatures": _module_without_signatures,
    "declared_wider": _module(_DeclaredWiderThanItIs),
    "one_based_ids": _module(_OneBasedIds),
    "keras_float_ids": _keras_float_ids,
    "tf1_float_ids": lambda models: _build_tf1_float_ids(models.root / "tf1_float_ids"),
    "tf1_open_width": lambda models: _build_tf1_open_width(models.root / "tf1_open_width"),
    "tf1_without_signatures": _tf1_without_signatures,
    **{f"archive{suffix}": _archive(suffix) for suffix in (".zip", ".tar", ".tar.gz", ".tgz")},
    "archive_versions": _archive_versions,
    "archive_two_models": _archive_two_models,
}


def run_with_object_loader(model_dir: Path, signature: str, feeds: dict) -> dict[str, np.ndarray]:
    """Call a signature through ``tf.saved_model.load``, independently of ``core.execution``."""
    loaded = tf.saved_model.load(str(model_dir), tags=["serve"])
    outputs = loaded.signatures[signature](**{k: tf.constant(v) for k, v in feeds.items()})
    return {k: v.numpy() for k, v in outputs.items()}


def run_with_session_loader(model_dir: Path, signature: str, feeds: dict) -> dict[str, np.ndarray]:
    """Call a signature as TF Serving does: TF1 loader, ``session.run`` on tensor names."""
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(model_dir))
        signature_def = meta_graph.signature_def[signature]
        fetches = {k: v.name for k, v in signature_def.outputs.items()}
        return session.run(fetches, {signature_def.inputs[k].name: v for k, v in feeds.items()})


HOUSE_FEEDS = {"rooms": np.array([[3.0], [4.0]], np.float32), "tax_rate": np.array([[0.1], [0.2]], np.float32)}


def assert_serves_keyed_house_price(model_dir: Path, *, key: str = "instance_key", forwarded: str = "tax_rate") -> None:
    """The rewritten house-price model echoes the key and the forwarded input through both loaders."""
    keys = np.array([b"row-1", b"row-2"], object)
    for run in (run_with_object_loader, run_with_session_loader):
        outputs = run(model_dir, "serving_default", {**HOUSE_FEEDS, key: keys})
        assert outputs[key].tolist() == keys.tolist()
        np.testing.assert_array_equal(outputs[forwarded], HOUSE_FEEDS[forwarded])
