"""Tiles in GCJ-02 (``?crs=gcj02``) for base maps in GCJ-02, and the density page drawing its
units from tiles (``?units=tiles``): through the real app, on SQLite and PostGIS."""

from __future__ import annotations

import numpy as np
import shapely
from fastapi.testclient import TestClient

from geo.crs import wgs84_to_gcj02
from geo.tiles import tile_geometries, tiles_covering, to_mercator
from tests.api.conftest import auth
from tests.api.standards.test_tiles import decode
from tests.conftest import tiny_layers

Z = 16


def m1(api: TestClient, z: int, x: int, y: int, query: str = "") -> shapely.Geometry:
    answer = api.get(f"/tiles/microgrid/{z}/{x}/{y}.mvt{query}")
    assert answer.status_code == 200, answer.text
    found = {f["properties"]["code"]: f for f in decode(answer.content)["microgrid"]["features"]}
    return shapely.geometry.shape(found["M1"]["geometry"])


def test_a_gcj02_tile_draws_the_unit_where_its_gcj02_position_is(api):
    [level] = [g for name, g in tiny_layers() if name == "microgrid"]
    [shape] = level[level["code"] == "M1"].geometry
    shifted = shapely.transform(shape, lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1])))
    centre = shapely.centroid(shifted)
    x, y = next(tiles_covering((centre.x, centre.y, centre.x, centre.y), Z))
    _, [expected] = tile_geometries(to_mercator(np.array([shifted])), Z, x, y)
    drawn = m1(api, Z, x, y, "?crs=gcj02")
    assert drawn.equals(expected)
    _, unshifted = tile_geometries(to_mercator(np.array([shape])), Z, x, y)
    assert not any(g.equals(drawn) for g in unshifted)  # the shift (about 500 m) is drawn


def test_an_unknown_crs_says_what_is_allowed(api):
    answer = api.get("/tiles/microgrid/16/0/0.mvt?crs=bd09")
    assert answer.status_code == 400  # the standards' routes answer 400, as OGC asks
    assert "gcj02" in answer.text


def test_the_density_page_draws_units_from_tiles_when_asked(api, keys):
    head = auth(keys["dispatcher"])
    tiles = api.get("/maps/density?units=tiles", headers=head)
    assert tiles.status_code == 200, tiles.text
    assert "wangge.tileUnits" in tiles.text and "wangge.decodeUnits" not in tiles.text
    assert "/tiles/microgrid/{z}/{x}/{y}.mvt" in tiles.text
    assert "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js" in tiles.text
    inline = api.get("/maps/density", headers=head)  # the tiny set is small: units inline
    assert "wangge.decodeUnits" in inline.text and "wangge.tileUnits" not in inline.text
    bad = api.get("/maps/density?units=some", headers=head)
    assert bad.status_code == 422
