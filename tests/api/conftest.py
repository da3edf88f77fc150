"""An app on the tiny boundary file, through the real ASGI stack with its lifespan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings


@pytest.fixture(scope="module")
def client(tiny_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        boundaries=str(tiny_gpkg),
        data_dir=tmp_path_factory.mktemp("data"),
        batch_max_points=50,
        max_body_bytes=20_000,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client
