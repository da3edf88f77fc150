"""End to end: `wangge demo` builds Hexi, `wangge serve` runs as its own process and answers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
import shapely

from api.schemas import Health, LookupResult, UnitFeature
from geo.crs import wgs84_to_gcj02
from tests.api.process import WANGGE, free_port, new_key, running_server, start_server


@pytest.fixture(scope="module")
def hexi_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "hexi.gpkg"
    subprocess.run(
        [*WANGGE, "demo", "--out", str(out), "--reports", "0"], check=True, capture_output=True
    )
    return out


@pytest.fixture(scope="module")
def env(hexi_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        **os.environ,
        "WANGGE_BOUNDARIES": str(hexi_gpkg),
        "WANGGE_DATA_DIR": str(tmp_path_factory.mktemp("data")),
    }


@pytest.fixture(scope="module")
def headers(env: dict[str, str]) -> dict[str, str]:
    """A dispatcher's key made with the real CLI."""
    return {"Authorization": f"Bearer {new_key(env, 'dispatcher')}"}


@pytest.fixture(scope="module")
def server(env: dict[str, str]) -> Iterator[str]:
    with running_server(env) as base:
        yield base


def test_demo_passes_its_own_validator(hexi_gpkg):
    result = subprocess.run([*WANGGE, "validate", str(hexi_gpkg)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s), 0 warning(s)" in result.stdout


def test_health_lists_the_five_levels(server):
    health = Health.model_validate(httpx.get(f"{server}/health").json())
    assert [(lv.name, lv.units) for lv in health.boundaries.levels] == [
        ("district", 1),
        ("street", 14),
        ("community", 149),
        ("grid", 1441),
        ("microgrid", 13989),
    ]
    # a served worker writes its reports in a child process of its own
    assert (health.writer.runs_in, health.writer.alive) == ("process", True)


def test_everything_an_answer_needs_is_built_before_health_answers(server, hexi_gpkg, headers):
    health = httpx.get(f"{server}/health").json()
    assert health["ready"] is True and health["building"] == []
    # a point 20 m north of the district's northernmost vertex snaps; one far away does not
    district = gpd.read_file(hexi_gpkg, layer="district").geometry.iloc[0]
    coords = shapely.get_coordinates(district)
    top = coords[coords[:, 1].argmax()]
    for (lon, lat), status in (
        ((top[0], top[1] + 20 / 110_990), "snapped"),
        ((top[0] + 0.5, top[1]), "unassigned"),
    ):
        got = httpx.get(f"{server}/lookup", params={"lon": lon, "lat": lat}, headers=headers)
        assert got.status_code == 200 and got.json()["status"] == status, got.text


def test_lookup_without_a_key_is_refused(server):
    assert httpx.get(f"{server}/lookup", params={"lon": 117.2, "lat": 39.1}).status_code == 401


def test_lookup_in_hexi_has_five_levels_and_a_leader(server, hexi_gpkg, headers):
    micro = gpd.read_file(hexi_gpkg, layer="microgrid", rows=slice(500, 501))
    point = micro.geometry.iloc[0].representative_point()
    got = LookupResult.model_validate(
        httpx.get(
            f"{server}/lookup", params={"lon": point.x, "lat": point.y}, headers=headers
        ).json()
    )
    assert got.status == "assigned"
    assert [u.level for u in got.units] == ["district", "street", "community", "grid", "microgrid"]
    assert got.units[0].code == "120103" and got.units[0].name == "河西区"
    assert got.units[-1].code == micro["code"].iloc[0]
    assert got.leader is not None and got.leader.unit_code == micro["code"].iloc[0]
    assert got.leader.name and got.leader.phone

    # the same place as a phone with Amap reports it (GCJ-02) lands in the same micro-grid
    lon, lat = wgs84_to_gcj02(point.x, point.y)
    gcj = httpx.get(
        f"{server}/lookup",
        params={"lon": float(lon), "lat": float(lat), "crs": "gcj02"},
        headers=headers,
    ).json()
    assert gcj["units"][-1]["code"] == micro["code"].iloc[0]


def test_unit_of_a_real_street(server, headers):
    unit = UnitFeature.model_validate(
        httpx.get(f"{server}/units/120103001", headers=headers).json()
    )
    assert unit.properties.level == "street"
    assert unit.properties.parent == "120103"
    assert unit.properties.children > 0


def _writer_child(server_pid: int) -> int | None:
    """The pid of the server's writer process (``python -m api.db.writer_child``), if any."""
    children = []
    for task in Path(f"/proc/{server_pid}/task").iterdir():  # a new writer starts in a thread
        try:
            children += (task / "children").read_text().split()
        except FileNotFoundError:  # a thread gone since
            continue
    for pid in children:
        try:
            if b"api.db.writer_child" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return int(pid)
        except FileNotFoundError:  # gone since
            continue
    return None


def test_a_writer_process_killed_under_a_server_is_replaced_and_nothing_answers_500(env, tmp_path):
    env = {**env, "WANGGE_DATA_DIR": str(tmp_path)}
    key = {"Authorization": f"Bearer {new_key(env, 'reporter')}"}
    report = {"lon": 117.2235, "lat": 39.0721, "category": "noise"}
    port = free_port()
    proc = start_server(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, headers=key, timeout=30) as client:
            before = client.post("/reports", json=report)
            assert before.status_code == 201
            first = _writer_child(proc.pid)
            assert first is not None
            os.kill(first, signal.SIGKILL)  # as the kernel's OOM killer would
            deadline = time.monotonic() + 90
            while _writer_child(proc.pid) in (None, first):  # replaced before any new report
                assert time.monotonic() < deadline, "no new writer process"
                time.sleep(0.1)
            statuses = []
            while time.monotonic() < deadline:  # until a new writer has written one
                answer = client.post("/reports", json=report)
                statuses.append(answer.status_code)
                if answer.status_code == 201:
                    break
                assert answer.status_code == 503, answer.text
                assert answer.json()["code"] == "writer_unavailable"
                assert answer.headers["retry-after"] == "1"
            assert statuses[-1] == 201, statuses
            assert statuses.count(503) <= 1  # at most the batch the dead process had
            second = _writer_child(proc.pid)
            assert second not in (None, first)
            health = client.get("/health").json()["writer"]
            assert (health["runs_in"], health["alive"]) == ("process", True)
            # the batches written are counted (not the one the killed process had)
            assert health["reports"] >= health["batches"] >= 1 and 0 < health["busy"] <= 1
            ids = {before.json()["id"], answer.json()["id"]}
            for report_id in ids:  # both stored, the one before the kill too
                assert client.get(f"/reports/{report_id}").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
