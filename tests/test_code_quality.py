"""Lint, types and the architecture rule (geo/ is a library) checked as part of the suite."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "geo", "api"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


FORBIDDEN_IN_GEO = ("fastapi", "starlette", "sqlalchemy", "pydantic_settings", "api", "uvicorn")


@pytest.mark.parametrize("path", sorted((ROOT / "geo").glob("*.py")), ids=lambda p: p.name)
def test_geo_is_a_library(path):
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & set(FORBIDDEN_IN_GEO), f"{path.name} imports {imported}"
