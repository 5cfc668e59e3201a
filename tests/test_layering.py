"""House rules on imports: core/ never imports streamlit; app.py and pages/ never import
tensorflow; and core's packages import only from the layers below them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

# core's packages (and top-level modules) from the bottom up. A package may import from its
# own layer's package and from any lower layer, never from a higher one or a sibling. The
# README's "Project layout" and DEVELOPERS.md state this order; a test holds them to it.
LAYERS = [
    {"errors"},
    {"_tf", "progress"},
    {"savedmodel"},  # reads a SavedModel; never runs anything
    {"execution"},  # runs model code in sandboxed workers
    {"sources"},  # stages what a user points at (archives, Keras files exported in a worker)
    {"rewrite"},
    {"verify", "serve"},
    {"workflows"},
    {"present", "batch"},
    {"cli", "studio"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
# The public API, ``python -m core`` and the worker process (whose call table reaches into
# every layer that runs model code) sit on top.
ENTRY_POINTS = {"__init__", "__main__", "worker"}


def _call_table(tree: ast.Module) -> list[str]:
    """The modules a ``FUNCTIONS = {"name": "module:function"}`` table names (the worker's):
    imported by name at run time, so they count as imports."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "FUNCTIONS" for target in node.targets):
            return [value.value.partition(":")[0] for value in node.value.values]
    return []


def _imports(path: Path) -> list[str]:
    """Absolute module names imported by ``path`` (relative imports resolved, a call table's
    modules included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = _call_table(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = path.relative_to(ROOT).with_suffix("").parts[: -node.level]
                names.append(".".join([*package, node.module or ""]).rstrip("."))
            else:
                names.append(node.module)
    return names


def _imported_roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imports(path)}


def _core_unit(module: str) -> str:
    """``core.rewrite.plan`` → ``rewrite``; ``core.errors`` → ``errors``."""
    return module.split(".")[1]


CORE_FILES = sorted((ROOT / "core").rglob("*.py"))
UI_FILES = [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))]


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_core_does_not_import_streamlit(path):
    assert "streamlit" not in _imported_roots(path)


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_ui_does_not_import_tensorflow(path):
    assert not {"tensorflow", "keras"} & _imported_roots(path)


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_core_imports_point_down_the_layers(path):
    unit = path.relative_to(ROOT / "core").parts[0].removesuffix(".py")
    if unit in ENTRY_POINTS:
        return
    assert unit in RANK, f"core/{unit} is in no layer of LAYERS: place it"
    for module in _imports(path):
        if not module.startswith("core.") or _core_unit(module) in ENTRY_POINTS:
            assert module != "core", f"{path.name} imports the package 'core' itself"
            continue
        target = _core_unit(module)
        assert target in RANK, f"{module} is in no layer"
        assert target == unit or RANK[target] < RANK[unit], f"core/{unit} may not import {module} (layer of {target})"


def test_the_layering_scan_sees_real_imports():
    assert "tensorflow" in _imported_roots(ROOT / "core" / "_tf.py")
    assert "core.rewrite.plan" in _imports(ROOT / "core" / "verify" / "structure.py")
    assert len(CORE_FILES) > 5


def test_the_scan_sees_the_worker_call_table_and_every_entry_exists():
    import importlib

    from core.worker import FUNCTIONS

    called = _imports(ROOT / "core" / "worker.py")
    assert {"core.execution.loaders", "core.rewrite.tf2_load_save", "core.sources.keras_file"} <= set(called)
    for target in FUNCTIONS.values():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), target


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_nothing_in_core_imports_the_worker_process(path):
    assert "core.worker" not in _imports(path), "the worker is a process entry point; call it through a Scope"


def test_the_documents_state_the_layer_order():
    """README's layout and DEVELOPERS.md name the layers in this test's order."""
    order = " → ".join("/".join(sorted(names, key=lambda n: n.lstrip("_"))) for names in LAYERS)
    for document in ("README.md", "DEVELOPERS.md"):
        assert order in (ROOT / document).read_text(encoding="utf-8"), f"{document} does not state: {order}"


def test_code_is_ruff_clean():
    """House style: ruff check and ruff format, as configured in pyproject.toml."""
    import subprocess
    import sys

    for command in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run([sys.executable, "-m", "ruff", *command], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


MODULE_LINES = 350  # a module is read in one sitting
PAGE_LINES = 150  # a page fits one screen or two, as Streamlit's hello pages do


@pytest.mark.parametrize("path", CORE_FILES + UI_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_modules_and_pages_stay_short(path):
    limit = PAGE_LINES if path in UI_FILES else MODULE_LINES
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= limit, f"{path.relative_to(ROOT)} has {lines} lines; split it by concern (limit {limit})"
