"""Fixtures: the committed sample models, and extra real models of every family, each built
the first time a test asks for it (``models[name]``) and kept for the session. The builders
live by family in ``tests/fixtures/``: Keras files and exports, TF1 graphs, TF2 modules,
models that parse tf.Example, hostile models, and the ways models arrive (version folders, archives)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from core._tf import tf
from tests.fixtures import example_parsers, hostile_models, keras_models, model_sources, tf1_graphs, tf2_modules
from tests.fixtures.paths import ROOT, SAMPLES

SAMPLE_NAMES = ["image_classifier", "house_price", "tf1_half_plus_two", "vocab_lookup", "keras2_churn"]
# An entry script for AppTest, not a module to collect (it runs the app when imported).
collect_ignore = ["studio_app.py"]
_BUILDERS = {
    **keras_models.BUILDERS,
    **tf1_graphs.BUILDERS,
    **tf2_modules.BUILDERS,
    **hostile_models.BUILDERS,
    **model_sources.BUILDERS,
    **example_parsers.BUILDERS,
}
__all__ = ["ROOT", "SAMPLES", "SAMPLE_NAMES"]


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
