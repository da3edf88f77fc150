"""maps/ is a library: no application, settings or database; its modules use one another by
public names only and stay small; its examples run; it type-checks."""

from __future__ import annotations

import ast
import doctest
import importlib
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


def _private_imports(path: Path) -> list[str]:
    """Names starting with ``_`` that ``path`` imports from the maps package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "maps":
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_use_one_another_by_public_names(path):
    assert not _private_imports(path)


def test_tests_use_maps_by_public_names():
    found = {str(p.relative_to(ROOT)): _private_imports(p) for p in (ROOT / "tests").rglob("*.py")}
    assert {path: names for path, names in found.items() if names} == {}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_stay_small_and_typed(path):
    text = path.read_text("utf-8")
    assert len(text.splitlines()) <= 700, f"{path.name}: split it"
    assert "type: ignore" not in text


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_examples_in_docstrings_run(path):
    module = importlib.import_module(f"maps.{path.stem}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# mypy on maps: tests/test_code_quality.py checks geo, api and maps in one run.
