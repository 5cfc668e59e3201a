"""``sample_models/build.py`` rebuilds the committed samples: same signatures, assets,
variables and outputs; every sample stays under 1 MB."""

from __future__ import annotations

import numpy as np
import pytest

from core.execution.loader_kind import Loader
from core.execution.loaders import ModelRuns, run_models
from core.savedmodel.handle import read_saved_model
from core.verify.synthetic import synthesize_batch
from core.workflows import inspect_model
from sample_models.build import build_all, missing_library
from tests.conftest import SAMPLE_NAMES, SAMPLES


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    root = tmp_path_factory.mktemp("rebuilt")
    build_all(root)
    return root


def _skip_without_library(name: str) -> None:
    if missing_library(name):
        pytest.skip(f"rebuilding {name} needs {missing_library(name)}")


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_rebuild_matches_the_committed_sample(rebuilt, name):
    _skip_without_library(name)
    committed, fresh = inspect_model(SAMPLES / name).to_json(), inspect_model(rebuilt / name).to_json()
    for key in ("format", "version", "tag_sets", "signatures", "assets", "assets_extra", "variables", "ops"):
        assert fresh[key] == committed[key], key


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_rebuild_gives_identical_outputs(rebuilt, name):
    _skip_without_library(name)
    committed_dir, fresh_dir = _model_dir(SAMPLES / name), _model_dir(rebuilt / name)
    handle = read_saved_model(committed_dir)
    info = handle.info
    runs = {sig: (sig, synthesize_batch(info.signatures[sig], handle.example_spec).feeds) for sig in info.public_signatures}
    committed, fresh = run_models(Loader.SESSION, [ModelRuns(committed_dir, runs), ModelRuns(fresh_dir, runs)])
    for label in runs:
        assert committed[label].error is None, committed[label].error
        for output, value in committed[label].outputs.items():
            np.testing.assert_array_equal(fresh[label].outputs[output], value)


def _model_dir(folder):
    versions = [p for p in folder.iterdir() if p.name.isdigit()]
    return versions[0] if versions else folder


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_samples_stay_small(name):
    size = sum(f.stat().st_size for f in (SAMPLES / name).rglob("*") if f.is_file())
    assert size < 1_000_000
