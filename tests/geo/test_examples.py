"""The examples in geo's docstrings run, as the documentation shows them."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

MODULES = sorted((Path(__file__).resolve().parents[2] / "geo").glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_examples_in_docstrings_run(path):
    module = importlib.import_module(f"geo.{path.stem}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


def test_the_public_functions_have_examples():
    """Every module with public functions shows at least one of them at work."""
    without = []
    for path in MODULES:
        module = importlib.import_module(f"geo.{path.stem}")
        tests = doctest.DocTestFinder().find(module)
        if path.stem not in ("__init__", "errors") and not any(t.examples for t in tests):
            without.append(path.stem)
    assert not without, f"no runnable example in geo.{', geo.'.join(without)}"
