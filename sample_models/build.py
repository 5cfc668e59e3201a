"""Build the committed sample SavedModels (small, deterministic weights).

Run from the project root:  python sample_models/build.py

* ``image_classifier/``  Keras 3 ``model.export``: ``image`` [-1, 28, 28] float32 → 10 scores.
* ``house_price/``       Keras 3 ``model.export``: ``tax_rate`` and ``rooms`` [-1, 1] → price.
* ``tf1_half_plus_two/00000123/``  TF1 graph (``tf.compat.v1`` Builder, legacy ref variables
  like TF Serving's own test models and Estimator exports) in a TF Serving version folder:
  ``serving_default`` (x → y = 0.5·x + 2), ``regress_x_to_y`` and ``classify_x_to_y`` fed
  serialized ``tf.Example``, a vocabulary asset read by a lookup table, and an
  ``assets.extra/`` file.
* ``vocab_lookup/``      ``tf.Module`` saved with ``tf.saved_model.save``: a vocabulary-file
  lookup table (asset) behind two signatures, plus an ``assets.extra/`` file.
* ``keras2_churn/``      a Keras 2-era export, as most public SavedModels are: ``tf_keras``
  (Keras 2), compiled with the legacy Adam, fitted, ``model.save(dir)``. ``tenure`` float32 and
  ``plan`` int32 (into an ``Embedding`` of 5 plans) → ``churn``. Its object graph keeps the
  optimizer and its slot variables, which ``tf.saved_model.load`` cannot revive without
  ``tf_keras``. Rebuilding it needs ``pip install --no-deps tf-keras==2.21.0`` (``--no-deps``:
  tf-keras asks for the full ``tensorflow`` wheel, which ``tensorflow-cpu`` already provides);
  the other samples and the tests do not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 20261125
CLASS_NAMES = ["low", "high"]
VOCABULARY = ["apple", "banana", "cherry", "date", "elderberry"]


def _seeded_weights(model) -> None:
    """Give every weight a fixed value drawn from one seeded generator."""
    rng = np.random.default_rng(SEED)
    model.set_weights([rng.normal(0.0, 0.1, size=w.shape).astype(w.dtype) for w in model.get_weights()])


def build_image_classifier(target: Path, scratch: Path) -> None:
    import keras

    image = keras.Input(shape=(28, 28), name="image")
    hidden = keras.layers.Flatten()(image)
    scores = keras.layers.Dense(10, activation="softmax", name="scores")(hidden)
    model = keras.Model(image, scores, name="image_classifier")
    _seeded_weights(model)
    model.export(str(target), verbose=False)


def build_house_price_model():
    """The house-price Keras model (also used by tests to write ``.keras`` files)."""
    import keras

    tax_rate = keras.Input(shape=(1,), name="tax_rate")
    rooms = keras.Input(shape=(1,), name="rooms")
    features = keras.layers.Concatenate()([tax_rate, rooms])
    hidden = keras.layers.Dense(8, activation="relu")(features)
    price = keras.layers.Dense(1, name="price")(hidden)
    model = keras.Model({"tax_rate": tax_rate, "rooms": rooms}, price, name="house_price")
    _seeded_weights(model)
    return model


def build_house_price(target: Path, scratch: Path) -> None:
    build_house_price_model().export(str(target), verbose=False)


def build_tf1_half_plus_two(target: Path, scratch: Path) -> None:
    v1 = tf.compat.v1
    target = target.resolve()
    (scratch / "class_names.txt").write_text("\n".join(CLASS_NAMES) + "\n", encoding="utf-8")
    # The graph keeps the asset path it was built with; a relative one keeps this machine's
    # temporary folder out of the committed model.
    vocabulary_file = Path("class_names.txt")
    graph = tf.Graph()
    with contextlib.chdir(scratch), graph.as_default(), v1.Session(graph=graph) as session:
        a = v1.get_variable("a", initializer=tf.constant(0.5), use_resource=False)
        b = v1.get_variable("b", initializer=tf.constant(2.0), use_resource=False)
        x = v1.placeholder(tf.float32, shape=[None], name="x")
        y = tf.identity(a * x + b, name="y")

        serialized = v1.placeholder(tf.string, shape=[None], name="tf_example")
        features = v1.parse_example(serialized, {"x": v1.FixedLenFeature([1], tf.float32)})
        y_from_example = tf.identity(a * features["x"] + b, name="y_from_example")
        asset_path = tf.constant(str(vocabulary_file), name="class_names_path")
        v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, asset_path)
        initializer = v1.lookup.TextFileInitializer(
            asset_path,
            key_dtype=tf.int64,
            key_index=v1.lookup.TextFileIndex.LINE_NUMBER,
            value_dtype=tf.string,
            value_index=v1.lookup.TextFileIndex.WHOLE_LINE,
        )
        table = v1.lookup.StaticHashTable(initializer, default_value="unknown")
        high = tf.cast(y_from_example > 2.5, tf.int64)
        classes = tf.identity(table.lookup(high), name="classes")
        scores = tf.identity(tf.sigmoid(y_from_example - 2.5), name="scores")

        session.run(v1.global_variables_initializer())
        session.run(v1.tables_initializer())
        utils = v1.saved_model.utils
        builder = v1.saved_model.builder.SavedModelBuilder(str(target))
        signature_defs = {
            "serving_default": v1.saved_model.signature_def_utils.predict_signature_def({"x": x}, {"y": y}),
            "regress_x_to_y": v1.saved_model.signature_def_utils.regression_signature_def(serialized, y_from_example),
            "classify_x_to_y": v1.saved_model.signature_def_utils.classification_signature_def(serialized, classes, scores),
        }
        assert utils.build_tensor_info(x).name == "x:0"
        builder.add_meta_graph_and_variables(
            session,
            [v1.saved_model.tag_constants.SERVING],
            signature_def_map=signature_defs,
            assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
            main_op=v1.tables_initializer(),
            strip_default_attrs=True,
        )
        builder.save()
    extra = target / "assets.extra"
    extra.mkdir()
    (extra / "model_card.txt").write_text("half_plus_two: y = 0.5 * x + 2, trained nowhere.\n", encoding="utf-8")


class VocabularyLookup(tf.Module):
    """Words to vocabulary ids through a table initialised from an asset file."""

    def __init__(self, vocabulary_file: Path) -> None:
        super().__init__()
        self.vocabulary = tf.saved_model.Asset(str(vocabulary_file))
        initializer = tf.lookup.TextFileInitializer(
            self.vocabulary,
            key_dtype=tf.string,
            key_index=tf.lookup.TextFileIndex.WHOLE_LINE,
            value_dtype=tf.int64,
            value_index=tf.lookup.TextFileIndex.LINE_NUMBER,
        )
        self.table = tf.lookup.StaticHashTable(initializer, default_value=-1)
        self.id_offset = tf.Variable(tf.constant(100, tf.int64), name="id_offset")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
    def lookup(self, words):
        ids = self.table.lookup(words)
        return {"ids": tf.where(ids >= 0, ids + self.id_offset, ids)}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="sentences")])
    def count_known(self, sentences):
        known = tf.cast(self.table.lookup(sentences) >= 0, tf.int32)
        return {"known_words": tf.reduce_sum(known, axis=1), "is_known": known > 0}


def build_vocab_lookup(target: Path, scratch: Path) -> None:
    vocabulary_file = scratch / "vocabulary.txt"
    vocabulary_file.write_text("\n".join(VOCABULARY) + "\n", encoding="utf-8")
    module = VocabularyLookup(vocabulary_file)
    tf.saved_model.save(
        module,
        str(target),
        signatures={"serving_default": module.lookup, "count_known": module.count_known},
    )
    extra = target / "assets.extra"
    extra.mkdir()
    (extra / "labels.csv").write_text("id,word\n" + "".join(f"{i + 100},{w}\n" for i, w in enumerate(VOCABULARY)))


def build_keras2_churn(target: Path, scratch: Path) -> None:
    import tf_keras

    tf_keras.utils.set_random_seed(SEED)
    tenure = tf_keras.Input(shape=(1,), name="tenure")
    plan = tf_keras.Input(shape=(1,), dtype="int32", name="plan")
    embedded = tf_keras.layers.Flatten()(tf_keras.layers.Embedding(5, 3, name="plan_embedding")(plan))
    hidden = tf_keras.layers.Dense(4, activation="relu")(tf_keras.layers.Concatenate()([tenure, embedded]))
    churn = tf_keras.layers.Dense(1, activation="sigmoid", name="churn")(hidden)
    model = tf_keras.Model([tenure, plan], churn, name="churn")
    model.compile(optimizer=tf_keras.optimizers.legacy.Adam(0.01), loss="binary_crossentropy")
    rng = np.random.default_rng(SEED)
    features = [rng.uniform(0, 5, (64, 1)).astype("float32"), rng.integers(0, 5, (64, 1)).astype("int32")]
    model.fit(features, rng.integers(0, 2, (64, 1)).astype("float32"), epochs=2, batch_size=16, shuffle=False, verbose=0)
    model.save(str(target))


BUILDERS = {
    "image_classifier": (build_image_classifier, None),
    "house_price": (build_house_price, None),
    "tf1_half_plus_two": (build_tf1_half_plus_two, "00000123"),
    "vocab_lookup": (build_vocab_lookup, None),
    "keras2_churn": (build_keras2_churn, None),
}


# Samples built with a library that the project does not install: name → (module, how to get it).
NEEDS = {"keras2_churn": ("tf_keras", "pip install --no-deps tf-keras==2.21.0")}


def missing_library(name: str) -> str | None:
    """How to install what sample ``name`` needs to be rebuilt, or None when it is here."""
    import importlib.util

    module, install = NEEDS.get(name, (None, None))
    return install if module and importlib.util.find_spec(module) is None else None


def build_all(root: Path = HERE) -> list[Path]:
    """Build every sample model under ``root``, replacing older builds; returns their folders
    (a sample whose library is missing here is left as it is: ``missing_library`` says so).

    Files a model reads while it is built (vocabularies) are written to a scratch folder;
    the SavedModel writer copies them into the model's ``assets/``.
    """
    import keras

    keras.utils.set_random_seed(SEED)
    built = []
    for name, (builder, version) in BUILDERS.items():
        if missing_library(name):
            continue
        folder = root / name
        shutil.rmtree(folder, ignore_errors=True)
        with tempfile.TemporaryDirectory() as scratch:
            builder(folder / version if version else folder, Path(scratch))
        built.append(folder)
    return built


if __name__ == "__main__":
    for name in BUILDERS:
        if missing_library(name):
            print(f"{name}: kept as committed; rebuilding it needs {missing_library(name)}")
    for path in build_all(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        print(f"{path.name}: {size / 1024:.0f} KiB")
