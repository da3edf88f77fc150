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
    """geo, api and maps in one run (one process reading the shared imports once)."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "geo", "api", "maps"],
        cwd=ROOT,
        capture_output=True,
        text=True,
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


# -- the architecture, as rules a newcomer can rely on ---------------------------------------

ROUTERS = sorted((ROOT / "api" / "routers").glob("*.py"))


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", ROUTERS, ids=lambda p: p.name)
def test_routers_speak_http_only(path):
    """Routers parse, call a service and shape the answer: no SQL, no sessions of their own."""
    imported = _imports(path)
    assert not {m for m in imported if m.split(".")[0] == "sqlalchemy"}, imported
    assert "api.db.models" not in imported
    assert ".session()" not in path.read_text("utf-8")


@pytest.mark.parametrize(
    "path",
    sorted([*(ROOT / "api").rglob("*.py"), *(ROOT / "maps").rglob("*.py")]),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_source_file_is_over_700_lines(path):
    lines = path.read_text("utf-8").count("\n")
    assert lines <= 700, f"{path.relative_to(ROOT)} has {lines} lines: split it by concern"


@pytest.mark.parametrize("path", sorted((ROOT / "maps").glob("*.py")), ids=lambda p: p.name)
def test_maps_modules_use_each_others_public_names(path):
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("maps"):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{path.name} imports {private} from {node.module}"


SERVICES = [
    p
    for p in sorted((ROOT / "api").rglob("*.py"))
    # auth.py and limits.py are access's HTTP edge (a dependency, a middleware)
    if p.parent.name in ("cases", "planning", "access", "demo")
    and p.name not in ("auth.py", "limits.py")
]


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: str(p.relative_to(ROOT)))
def test_services_raise_domain_errors_not_http(path):
    """Status codes are chosen once, in the error mapping; services take plain values."""
    imported = _imports(path)
    assert "api.schemas" not in imported, "services take plain values, not request schemas"
    assert not {m for m in imported if m.split(".")[0] in ("fastapi", "starlette")}, imported
    assert "ApiError" not in path.read_text("utf-8")
