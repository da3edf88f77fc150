"""The app on the tiny boundary file and a real SQLite file, through the real ASGI stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.auth import Role, create_key
from api.main import create_app
from api.settings import Settings


def make_client(settings: Settings) -> tuple[TestClient, dict[str, str]]:
    """Start the app (lifespan included) and create one key per role (grid worker: G1)."""
    client = TestClient(create_app(settings))
    client.__enter__()
    keys = {}
    with client.app.state.reports.factory() as session:  # type: ignore[attr-defined]
        for role in Role:
            unit = "G1" if role == Role.GRID_WORKER else None
            _, keys[role.value] = create_key(session, role, unit_code=unit, name=role.value)
    return client, keys


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def app_settings(tiny_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("data")
    return Settings(
        boundaries=str(tiny_gpkg),
        data_dir=data,
        batch_max_points=50,
        max_body_bytes=20_000,
        max_photo_bytes=200_000,
        bench_noop=True,
    )


@pytest.fixture(scope="module")
def served(app_settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    client, keys = make_client(app_settings)
    try:
        yield client, keys
    finally:
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def keys(served: tuple[TestClient, dict[str, str]]) -> dict[str, str]:
    return served[1]


@pytest.fixture(scope="module")
def client(served: tuple[TestClient, dict[str, str]]) -> TestClient:
    """A client that sends a dispatcher's key unless a test sets another header."""
    test_client, keys = served
    test_client.headers.update(auth(keys["dispatcher"]))
    return test_client
