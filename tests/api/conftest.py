"""The app on the tiny boundary file and a real SQLite file, through the real ASGI stack."""

from __future__ import annotations

import os
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.access.keys import create_key
from api.access.policy import Role
from api.main import create_app
from api.settings import Settings


def make_client(settings: Settings, **options: Any) -> tuple[TestClient, dict[str, str]]:
    """Start the app (lifespan included) and create one key per role (grid worker: G1).

    ``options`` go to the TestClient (e.g. ``client=(host, port)``, the caller's address)."""
    client = TestClient(create_app(settings), **options)
    client.__enter__()
    keys = {}
    with client.app.state.db.session() as session:  # type: ignore[attr-defined]
        for role in Role:
            unit = "G1" if role == Role.GRID_WORKER else None
            _, keys[role.value] = create_key(session, role, unit_code=unit, name=role.value)
    return client, keys


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def png(width: int = 4, height: int = 4) -> bytes:
    """A real PNG of width x height black pixels (1 bit each), written row by row and never
    held decoded: a few kilobytes even when huge, as a decompression bomb is."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + the packed row
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


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


def postgres_database() -> Iterator[str]:
    """A fresh PostGIS database for one test module, dropped afterwards.

    Skips with the reason when no server is reachable; in CI (CI=true) that is a failure,
    since .ci/run starts one.
    """
    admin_url = os.environ.get("WANGGE_TEST_POSTGRES_URL")
    reason = "PostGIS not reachable: set WANGGE_TEST_POSTGRES_URL (bash .ci/postgres.sh)"
    if not admin_url:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"wangge_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: {exc}")
        pytest.skip(f"{reason}: {exc}")
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def backend(
    request: pytest.FixtureRequest, tiny_gpkg: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """Settings on a real SQLite file, then on a real PostGIS database."""
    data = tmp_path_factory.mktemp(f"data-{request.param}")
    common = dict(
        boundaries=str(tiny_gpkg),
        data_dir=data,
        max_photo_bytes=200_000,
        rate_limit_per_minute=100_000,
    )
    if request.param == "sqlite":
        yield Settings(**common)
    else:
        for url in postgres_database():
            yield Settings(database_url=url, **common)


@pytest.fixture(scope="module")
def stored(backend: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app on the module's backend, with one key per role; a dispatcher's by default."""
    client, keys = make_client(backend)
    client.headers.update(auth(keys["dispatcher"]))
    try:
        yield client, keys
    finally:
        client.__exit__(None, None, None)


@pytest.fixture
def wangge(backend: Settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run ``wangge ...`` in-process against the module's database and boundaries."""
    from typer.testing import CliRunner

    from api.cli import app as cli

    monkeypatch.setenv("WANGGE_DATABASE_URL", backend.database)
    monkeypatch.setenv("WANGGE_BOUNDARIES", backend.boundaries)
    monkeypatch.setenv("WANGGE_DATA_DIR", str(backend.data_dir))
    runner = CliRunner()

    def run(*args: object):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, [str(a) for a in args])

    return run
