"""House rules on imports: core/ never imports streamlit; app.py and pages/ never import
tensorflow; and core's packages import only from the layers below them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

# core's packages (and top-level modules) from the bottom up. A package may import from its
# own layer's package and from any lower layer, never from a higher one or a sibling.
LAYERS = [
    {"errors"},
    {"_tf", "progress"},
    {"execution"},
    {"savedmodel"},
    {"rewrite"},
    {"verify", "serve"},
    {"pipeline"},
    {"present", "batch"},
    {"cli", "studio"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
ENTRY_POINTS = {"__init__", "__main__"}  # the public API and ``python -m core`` sit on top


def _imports(path: Path) -> list[str]:
    """Absolute module names imported by ``path`` (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
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


def test_code_is_ruff_clean():
    """House style: ruff check and ruff format, as configured in pyproject.toml."""
    import subprocess
    import sys

    for command in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run([sys.executable, "-m", "ruff", *command], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
