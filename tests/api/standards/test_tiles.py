"""Vector tiles through the real app, on SQLite and PostGIS: TileJSON, tiles that decode to
the units (holes included), case counts by role, ETags, errors."""

from __future__ import annotations

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.db.models import Report
from api.schemas import ErrorBody
from geo.tiles import EXTENT, tile_geometries, tiles_covering, to_mercator
from tests.api.conftest import auth
from tests.conftest import tiny_layers

Z = 16
M1_POINT = (117.2025, 39.1025)
M1_TILE = next(tiles_covering((*M1_POINT, *M1_POINT), Z))


def decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def units_in(
    api: TestClient, z: int, x: int, y: int, key: str | None = None, **filters: object
) -> dict[str, dict]:
    answer = api.get(
        f"/tiles/microgrid/{z}/{x}/{y}.mvt",
        params=filters or None,
        headers=auth(key) if key else None,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = decode(answer.content).get("microgrid", {"features": []})
    return {f["properties"]["code"]: f for f in layer["features"]}


def test_tilejson_describes_the_level(api, keys):
    doc = api.get("/tiles/microgrid.json").json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/tiles/microgrid/{z}/{x}/{y}.mvt"]
    assert doc["bounds"] == [117.2, 39.1, 117.215, 39.11]
    assert 9 <= doc["minzoom"] <= 13 and doc["maxzoom"] == 22
    [layer] = doc["vector_layers"]
    assert layer["id"] == "microgrid" and {"code", "cases", "open_cases"} <= set(layer["fields"])
    reporter = api.get("/tiles/microgrid.json", headers=auth(keys["reporter"])).json()
    assert "cases" not in reporter["vector_layers"][0]["fields"]


def test_tile_carries_the_units_as_drawn(api):
    found = units_in(api, Z, *M1_TILE)
    assert "M1" in found
    m1 = found["M1"]
    assert m1["properties"]["name"] == "微网格1" and m1["properties"]["parent"] == "G1"
    assert m1["properties"]["leader_name"] == "王芳" and "leader_phone" not in m1["properties"]
    [level] = [g for name, g in tiny_layers() if name == "microgrid"]
    [m1_shape] = level[level["code"] == "M1"].geometry
    _, [expected] = tile_geometries(to_mercator(np.array([m1_shape])), Z, *M1_TILE)
    assert shapely.geometry.shape(m1["geometry"]).equals(expected)


def test_the_hole_of_m3_is_in_its_tile(api):
    hole = (117.206, 39.107, 117.207, 39.108)
    [(x, y)] = tiles_covering(hole, 17)  # the whole hole lies in one tile at zoom 17
    found = units_in(api, 17, x, y)
    shape = shapely.geometry.shape(found["M3"]["geometry"])
    assert isinstance(shape, shapely.Polygon) and len(shape.interiors) == 1
    hole_drawn = shapely.Polygon(shape.interiors[0])
    assert shape.is_valid and 0 < hole_drawn.bounds[0] < hole_drawn.bounds[2] < EXTENT


def test_case_counts_for_the_roles_that_see_them(api, keys):
    before = units_in(api, Z, *M1_TILE)["M1"]["properties"]
    lon, lat = M1_POINT
    made = api.post(
        "/reports",
        json={"lon": lon, "lat": lat, "category": "parking"},
        headers=auth(keys["reporter"]),
    )
    assert made.status_code == 201
    after = units_in(api, Z, *M1_TILE)["M1"]["properties"]  # a dispatcher's key
    assert after["cases"] == before.get("cases", 0) + 1
    assert after["open_cases"] == before.get("open_cases", 0) + 1
    planner = units_in(api, Z, *M1_TILE, key=keys["planner"])["M1"]["properties"]
    assert planner["cases"] == after["cases"]
    reporter = units_in(api, Z, *M1_TILE, key=keys["reporter"])["M1"]["properties"]
    assert "cases" not in reporter and "open_cases" not in reporter


def test_counts_follow_the_density_pages_filters(api, keys):
    lon, lat = M1_POINT
    for category in ("parking", "parking", "noise"):
        made = api.post("/reports", json={"lon": lon, "lat": lat, "category": category})
        assert made.status_code == 201, made.text
    every = units_in(api, Z, *M1_TILE)["M1"]["properties"]
    parking = units_in(api, Z, *M1_TILE, category="parking")["M1"]["properties"]
    both = units_in(api, Z, *M1_TILE, category=["parking", "noise"])["M1"]["properties"]
    with api.app.state.db.session() as session:
        rows = session.execute(
            sa.select(Report.category, sa.func.count())
            .where(Report.unit_code == "M1")
            .group_by(Report.category)
        ).all()
    stored = dict(rows)
    assert parking["cases"] == stored["parking"] < every["cases"] == sum(stored.values())
    assert both["cases"] == stored["parking"] + stored["noise"]
    later = units_in(api, Z, *M1_TILE, since="2999-01-01T00:00:00Z")["M1"]["properties"]
    assert "cases" not in later or later["cases"] == 0
    closed = units_in(api, Z, *M1_TILE, status="closed")["M1"]["properties"]
    assert closed.get("cases", 0) == 0 < every["open_cases"]


@pytest.mark.parametrize(
    ("params", "says"),
    [({"category": "nope"}, "nope"), ({"status": "asleep"}, "asleep"), ({"since": "x"}, "since")],
)
def test_bad_tile_filters_are_4xx_naming_them(api, params, says):
    answer = api.get(f"/tiles/microgrid/{Z}/{M1_TILE[0]}/{M1_TILE[1]}.mvt", params=params)
    assert 400 <= answer.status_code < 500 and says in answer.text, answer.text


def test_etag_answers_304_until_the_tile_changes(api, keys):
    url = f"/tiles/microgrid/{Z}/{M1_TILE[0]}/{M1_TILE[1]}.mvt"
    plain = auth(keys["reporter"])
    first = api.get(url, headers=plain)
    etag = first.headers["ETag"]
    again = api.get(url, headers={**plain, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    counted = api.get(url)
    same = api.get(url, headers={"If-None-Match": counted.headers["ETag"]})
    assert same.status_code == 304
    lon, lat = M1_POINT
    api.post("/reports", json={"lon": lon, "lat": lat, "category": "noise"})
    changed = api.get(url, headers={"If-None-Match": counted.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != counted.headers["ETag"]
    # the reporter's tile has no counts: still the same
    assert api.get(url, headers={**plain, "If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        # below the level's minzoom
        ("/tiles/microgrid/3/6/3.mvt", 404, "zoom"),
        # outside the tile matrix
        ("/tiles/microgrid/16/70000/1.mvt", 404, "2^z"),
        ("/tiles/microgrid/23/0/0.mvt", 404, "z <= 22"),
        # not a level
        ("/tiles/street/16/1/1.mvt", 400, "microgrid"),
        ("/tiles/street.json", 400, "microgrid"),
        # not numbers
        ("/tiles/microgrid/a/1/1.mvt", 400, "z"),
    ],
)
def test_bad_tiles_say_what_is_allowed(api, path, status, says):
    answer = api.get(path)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert ErrorBody.model_validate(body) and says in body["description"], body


def test_a_tile_outside_the_set_is_empty(api):
    answer = api.get("/tiles/microgrid/16/0/0.mvt")
    assert answer.status_code == 200
    assert decode(answer.content)["microgrid"]["features"] == []
