"""maps/ is a library: no application, settings or database; its examples run; it type-checks."""

from __future__ import annotations

import ast
import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted((ROOT / "maps").glob("*.py"))
FORBIDDEN = ("api", "fastapi", "starlette", "sqlalchemy", "pydantic_settings", "uvicorn")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_maps_is_a_library(path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & set(FORBIDDEN), f"{path.name} imports {imported & set(FORBIDDEN)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_examples_in_docstrings_run(path):
    module = importlib.import_module(f"maps.{path.stem}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_mypy_is_clean_on_maps():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "maps"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
