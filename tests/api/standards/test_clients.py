"""Real outside clients against a real server process: georeport (Open311), OWSLib and
GDAL's OGC API driver (OGC API - Features), on the tiny boundary set."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
import shapely
from georeport import GeoReport

from tests.api.process import new_key, running_server


@pytest.fixture(scope="module")
def env(tiny_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        **os.environ,
        "WANGGE_BOUNDARIES": str(tiny_gpkg),
        "WANGGE_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "WANGGE_OPEN311_PUBLIC_READ": "true",
    }


@pytest.fixture(scope="module")
def server(env: dict[str, str]) -> Iterator[str]:
    with running_server(env) as base:
        yield base


@pytest.fixture(scope="module")
def reporter_key(env: dict[str, str]) -> str:
    return new_key(env, "reporter")


@pytest.fixture(scope="module")
def dispatcher_key(env: dict[str, str]) -> str:
    return new_key(env, "dispatcher")


# -- Open311: georeport reads what was posted form-encoded as the spec shows -----------------


@pytest.fixture(scope="module")
def posted(server: str, reporter_key: str) -> str:
    """A service request posted as in the spec's example: a form body with api_key."""
    answer = httpx.post(
        f"{server}/open311/v2/requests.json",
        content=(
            f"api_key={reporter_key}&service_code=flying_wires&lat=39.102&long=117.202"
            "&description=%E6%A5%BC%E9%81%93%E9%A3%9E%E7%BA%BF%E5%85%85%E7%94%B5"
            "&first_name=%E8%8A%B3&last_name=%E7%8E%8B&phone=13800000000&device_id=app-1"
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 201, answer.text
    [created] = answer.json()
    return str(created["service_request_id"])


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_lists_the_services(server, fmt):
    client = GeoReport(f"{server}/open311/v2", output_format=fmt)
    services = client.get_service_list()
    codes = {s["service_code"]: s for s in services}
    assert codes["flying_wires"]["service_name"] == "飞线充电"
    assert codes["flying_wires"]["group"] == "消防 Fire and rescue"
    definition = client.get_service_definition("flying_wires")
    assert definition["service_code"] == "flying_wires"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_back_the_posted_request(server, posted, fmt):
    client = GeoReport(f"{server}/open311/v2", output_format=fmt)
    one = client.get_service_request(posted)
    assert one["service_request_id"] == posted
    assert one["service_code"] == "flying_wires" and one["description"] == "楼道飞线充电"
    assert one["status"] == "open" and one["status_notes"] == "assigned"
    assert one["agency_responsible"] == "微网格1 (M1); leader unit M1"
    assert float(one["lat"]) == 39.102 and float(one["long"]) == 117.202
    assert "reporter_phone" not in one  # public read: no personal data
    listed = client.get_service_requests(service_code="flying_wires", status="open")
    listed = listed if isinstance(listed, list) else [listed]  # xmltodict: one item is a dict
    assert [r["service_request_id"] for r in listed] == [posted]


# -- OGC API - Features: OWSLib and GDAL, each with a key in the Authorization header --------

MICROGRIDS = ["M1", "M2", "M3", "M5"]


def test_owslib_reads_conformance_collections_and_pages_the_microgrids(server, dispatcher_key):
    from owslib.ogcapi.features import Features

    api = Features(f"{server}/ogc", headers={"Authorization": f"Bearer {dispatcher_key}"})
    conformance = api.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance
    assert api.feature_collections() == ["district", "grid", "microgrid", "facilities", "reports"]
    boxed = api.collection_items("microgrid", bbox=[117.201, 39.101, 117.204, 39.104])
    assert [f["id"] for f in boxed["features"]] == ["M1"]
    seen, offset = [], 0
    while True:  # to the end of the collection, one page of 3 at a time
        page = api.collection_items("microgrid", limit=3, offset=offset)
        assert page["numberMatched"] == len(MICROGRIDS)
        seen += [f["id"] for f in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += page["numberReturned"]
    assert seen == MICROGRIDS
    assert api.collection_item("microgrid", "M2")["properties"]["leader_name"] == "刘洋"


def _gdal(*args: str, key: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which(args[0])
    if tool is None:
        reason = "GDAL's ogrinfo/ogr2ogr missing: apt-get install gdal-bin"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    done = subprocess.run(
        [tool, *args[1:], "--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {key}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_gdal_lists_the_layers_and_copies_every_microgrid(server, dispatcher_key, tmp_path):
    listed = _gdal("ogrinfo", "-ro", "-q", f"OAPIF:{server}/ogc", key=dispatcher_key)
    for layer in ("district", "grid", "microgrid", "facilities", "reports"):
        assert f": {layer} " in listed.stdout, listed.stdout
    out = tmp_path / "out.gpkg"
    # two features a page, so the copy follows the next links to the end
    _gdal(
        "ogr2ogr",
        "-oo",
        "PAGE_SIZE=2",
        "-f",
        "GPKG",
        str(out),
        f"OAPIF:{server}/ogc",
        "microgrid",
        key=dispatcher_key,
    )
    copied = gpd.read_file(out, layer="microgrid")
    units = httpx.get(
        f"{server}/units",
        params={"level": "microgrid", "limit": 1000},
        headers={"Authorization": f"Bearer {dispatcher_key}"},
    ).json()
    assert sorted(copied["code"]) == sorted(f["id"] for f in units["features"]) == MICROGRIDS
    assert copied.crs.to_epsg() == 4326
    m1 = copied.set_index("code").geometry["M1"]
    assert m1.equals(shapely.box(117.20, 39.10, 117.205, 39.105))
