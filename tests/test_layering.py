"""House rule: core/ never imports streamlit; app.py and pages/ never import tensorflow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


CORE_FILES = sorted((ROOT / "core").rglob("*.py"))
UI_FILES = [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))]


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_core_does_not_import_streamlit(path):
    assert "streamlit" not in _imported_roots(path)


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_ui_does_not_import_tensorflow(path):
    assert not {"tensorflow", "keras"} & _imported_roots(path)


def test_the_layering_scan_sees_real_imports():
    assert "tensorflow" in _imported_roots(ROOT / "core" / "_tf.py")
    assert len(CORE_FILES) > 5


def test_code_is_ruff_clean():
    """House style: ruff check and ruff format, as configured in pyproject.toml."""
    import subprocess
    import sys

    for command in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run([sys.executable, "-m", "ruff", *command], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
