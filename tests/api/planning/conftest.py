"""The planning tests run on the module's backend (tests/api/conftest.py: SQLite, then PostGIS)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def api(stored: tuple[TestClient, dict[str, str]]) -> TestClient:
    """The app on the module's backend."""
    return stored[0]


@pytest.fixture(scope="module")
def keys(stored: tuple[TestClient, dict[str, str]]) -> dict[str, str]:
    """One key per role on that app (it overrides tests/api/conftest.py's, on the tiny app)."""
    return stored[1]
