"""Web Mercator tiles and MVT encoding (geo.tiles), checked against pyproj and a decoder."""

from __future__ import annotations

import mapbox_vector_tile
import numpy as np
import pyproj
import pytest
import shapely

from geo.errors import InvalidTile
from geo.tiles import (
    BUFFER,
    EXTENT,
    check_tile,
    encode_tile,
    lonlat_to_mercator,
    mercator_to_lonlat,
    min_zoom_for,
    tile_bounds,
    tile_geometries,
    tile_lonlat_bounds,
    tiles_covering,
    to_mercator,
)
from tests.conftest import read_layers

TO_3857 = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
Z, X, Y = 15, 27_051, 12_511  # a tile in Hexi


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (117.2, 39.1),  # Tianjin
        (0.0, 0.0),  # the origin
        (-179.9, -60.0),  # far south-west
        (179.9, 85.0),  # near the top of the square
    ],
)
def test_mercator_matches_pyproj(lon, lat):
    x, y = lonlat_to_mercator(np.array([lon]), np.array([lat]))
    ex, ey = TO_3857.transform(lon, lat)
    assert x[0] == pytest.approx(ex, abs=1e-6) and y[0] == pytest.approx(ey, abs=1e-6)
    back = mercator_to_lonlat(x, y)
    assert back[0][0] == pytest.approx(lon, abs=1e-9) and back[1][0] == pytest.approx(lat, abs=1e-9)


@pytest.mark.parametrize(
    "address",
    [
        (-1, 0, 0),  # negative zoom
        (23, 0, 0),  # beyond the deepest zoom
        (2, 4, 0),  # x past the last column
        (2, 0, -1),  # negative row
    ],
)
def test_addresses_outside_the_matrix_are_refused(address):
    with pytest.raises(InvalidTile):
        check_tile(*address)


def test_tiles_covering_a_box_are_the_tiles_that_meet_it():
    box = (117.19, 39.09, 117.23, 39.12)
    found = set(tiles_covering(box, 15))
    for x in range(X - 8, X + 8):
        for y in range(Y - 8, Y + 8):
            meets = shapely.box(*tile_lonlat_bounds(15, x, y)).intersects(shapely.box(*box))
            assert ((x, y) in found) == meets, (x, y)


def _in_tile(geometry: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    return tile_geometries(to_mercator(np.array([geometry])), Z, X, Y)


def test_a_polygon_across_the_edge_is_clipped_to_the_buffer():
    minlon, minlat, maxlon, maxlat = tile_lonlat_bounds(Z, X, Y)
    wide = shapely.box(minlon - 1, minlat + 0.001, maxlon + 1, maxlat - 0.001)
    kept, [drawn] = _in_tile(wide)
    assert kept.tolist() == [0] and drawn.is_valid
    minx, _, maxx, _ = drawn.bounds
    assert (minx, maxx) == (-BUFFER, EXTENT + BUFFER)


def test_holes_stay_and_specks_go():
    minlon, minlat, maxlon, maxlat = tile_lonlat_bounds(Z, X, Y)
    dx, dy = (maxlon - minlon) / 4, (maxlat - minlat) / 4
    ring = shapely.box(minlon + dx, minlat + dy, maxlon - dx, maxlat - dy)
    holed = ring.difference(ring.centroid.buffer(dx / 2))
    speck = shapely.box(minlon + dx, minlat + dy, minlon + dx * 1.0001, minlat + dy * 1.0001)
    kept, drawn = tile_geometries(to_mercator(np.array([holed, speck])), Z, X, Y)
    assert kept.tolist() == [0]
    assert len(drawn[0].interiors) == 1 and drawn[0].is_valid


def _grid(geometry: shapely.Geometry) -> shapely.Geometry:
    """The geometry in the tile's grid units, exactly (no clip, simplification or snap)."""
    minx, _, maxx, maxy = tile_bounds(Z, X, Y)
    scale = EXTENT / (maxx - minx)
    [projected] = to_mercator(np.array([geometry]))
    return shapely.transform(
        projected, lambda c: np.column_stack([(c[:, 0] - minx) * scale, (maxy - c[:, 1]) * scale])
    )


def test_simplification_is_below_a_pixel():
    minlon, minlat, maxlon, maxlat = tile_lonlat_bounds(Z, X, Y)
    centre = shapely.Point((minlon + maxlon) / 2, (minlat + maxlat) / 2)
    circle = centre.buffer((maxlon - minlon) / 4, quad_segs=512)  # 2,049 vertices
    _, [drawn] = _in_tile(circle)
    assert shapely.get_num_coordinates(drawn) < 300
    # within a pixel (16 grid units) of the exact outline everywhere
    assert shapely.hausdorff_distance(drawn, _grid(circle)) < 16


def test_encoded_tile_decodes_to_the_drawn_geometry():
    minlon, minlat, maxlon, maxlat = tile_lonlat_bounds(Z, X, Y)
    unit = shapely.box(minlon, minlat, (minlon + maxlon) / 2, (minlat + maxlat) / 2)
    _, drawn = _in_tile(unit)
    data = encode_tile("microgrid", drawn, [{"code": "M1", "parent": None, "households": 40}])
    layer = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})["microgrid"]
    assert layer["extent"] == EXTENT
    [feature] = layer["features"]
    assert feature["properties"] == {"code": "M1", "households": 40}
    decoded = shapely.geometry.shape(feature["geometry"])
    assert decoded.equals(drawn[0])
    assert decoded.bounds == (0.0, 2048.0, 2048.0, 4096.0)  # the south-west quarter, y down


def test_min_zoom_grows_as_units_shrink():
    assert min_zoom_for(np.array([20_000.0])) < min_zoom_for(np.array([500.0]))
    assert min_zoom_for(np.array([500.0])) < min_zoom_for(np.array([50.0])) <= 22


def test_tiles_encode_as_the_library_orients_them_itself(hexi_gpkg):
    """encode_tile sets the winding of every polygon at once and turns the library's own
    check (one polygon at a time, in Python) off: the bytes are the same as with it on."""
    [(_, microgrids)] = [(n, f) for n, f in read_layers(hexi_gpkg) if n == "microgrid"]
    mercator = to_mercator(microgrids.geometry.to_numpy())
    bbox = tuple(microgrids.total_bounds)
    compared = 0
    for z in (13, 15):
        for x, y in list(tiles_covering(bbox, z))[:6]:
            kept, drawn = tile_geometries(mercator, z, x, y)
            props = [{"code": c} for c in microgrids["code"].to_numpy()[kept]]
            library = mapbox_vector_tile.encode(
                [
                    {
                        "name": "microgrid",
                        "features": [
                            {"geometry": g, "properties": p}
                            for g, p in zip(drawn, props, strict=True)
                        ],
                    }
                ],
                default_options={"extents": EXTENT, "y_coord_down": True},
            )
            assert encode_tile("microgrid", drawn, props) == library
            compared += len(kept)
    assert compared > 1000
