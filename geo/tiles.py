"""Web Mercator tiles (EPSG:3857, the XYZ scheme): addresses, bounds, and polygons encoded as
Mapbox Vector Tiles (MVT) with ``mapbox-vector-tile``.

Polygons are projected once, then per tile moved into the tile's grid of ``extent`` units,
clipped to the tile plus a buffer, simplified by a fixed fraction of a pixel (so by more
metres at lower zooms) and snapped to the integer grid keeping them valid, all vectorised
with shapely; only the final encoding is done feature by feature.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from numpy.typing import NDArray

from geo.errors import InvalidTile

#: Half the width of the Web Mercator square, in metres.
ORIGIN = 20_037_508.342789244
#: Tile grid units per tile side (the MVT default), and per pixel of a 256-pixel tile.
EXTENT = 4096
UNITS_PER_PIXEL = EXTENT / 256
#: Grid units of overlap around each tile, so outlines join across tile edges.
BUFFER = 64
#: Simplification tolerance in grid units (half a pixel: invisible at the tile's zoom).
SIMPLIFY = UNITS_PER_PIXEL / 2
MAX_ZOOM = 22
#: Web Mercator stops short of the poles.
MAX_LAT = 85.0511287798066


def check_tile(z: int, x: int, y: int) -> None:
    """Raise :class:`InvalidTile` unless z, x, y address a tile.

    Example
    -------
    >>> check_tile(14, 13_525, 6_255)  # Hexi district, Tianjin
    >>> check_tile(1, 2, 0)
    Traceback (most recent call last):
    ...
    geo.errors.InvalidTile: tile 1/2/0 is outside the tile matrix
    """
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidTile(
            f"tile {z}/{x}/{y} is outside the tile matrix",
            allowed=f"0 <= z <= {MAX_ZOOM}, 0 <= x < 2^z, 0 <= y < 2^z",
        )


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's bounds in Web Mercator metres: (minx, miny, maxx, maxy), y up.

    Example
    -------
    >>> [round(v) for v in tile_bounds(1, 0, 0)]
    [-20037508, 0, 0, 20037508]
    """
    size = 2 * ORIGIN / 2**z
    minx = -ORIGIN + x * size
    maxy = ORIGIN - y * size
    return minx, maxy - size, minx + size, maxy


def tile_lonlat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's bounds in WGS84 degrees: (minlon, minlat, maxlon, maxlat).

    Example
    -------
    >>> [round(v, 4) for v in tile_lonlat_bounds(14, 13_525, 6_255)]
    [117.1802, 39.096, 117.2021, 39.113]
    """
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    lon, lat = mercator_to_lonlat(np.array([minx, maxx]), np.array([miny, maxy]))
    return float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])


def lonlat_to_mercator(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS84 degrees to Web Mercator metres (latitudes clamped to Web Mercator's range).

    Example
    -------
    >>> x, y = lonlat_to_mercator(np.array([117.2]), np.array([39.1]))
    >>> round(float(x[0])), round(float(y[0]))
    (13046644, 4736006)
    """
    lat = np.clip(lat, -MAX_LAT, MAX_LAT)
    x = np.radians(lon) * (ORIGIN / math.pi)
    y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * (ORIGIN / math.pi)
    return x, y


def mercator_to_lonlat(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Web Mercator metres to WGS84 degrees (the inverse of :func:`lonlat_to_mercator`).

    Example
    -------
    >>> lon, lat = mercator_to_lonlat(np.array([13046644.32]), np.array([4736005.85]))
    >>> round(float(lon[0]), 4), round(float(lat[0]), 4)
    (117.2, 39.1)
    """
    lon = np.degrees(x / (ORIGIN / math.pi))
    lat = np.degrees(2 * np.arctan(np.exp(y / (ORIGIN / math.pi))) - np.pi / 2)
    return lon, lat


def to_mercator(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    """WGS84 geometries projected to Web Mercator (vectorised).

    Example
    -------
    >>> [g] = to_mercator(np.array([shapely.Point(180, 0)]))
    >>> round(g.x), round(g.y)
    (20037508, 0)
    """

    def project(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = lonlat_to_mercator(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geometries, project), dtype=object)


def tiles_covering(bbox: tuple[float, float, float, float], z: int) -> Iterator[tuple[int, int]]:
    """(x, y) of every tile at zoom z that meets a WGS84 box, row by row from the north.

    Example
    -------
    >>> list(tiles_covering((117.20, 39.09, 117.23, 39.11), 14))
    [(13525, 6255), (13526, 6255), (13527, 6255), (13525, 6256), (13526, 6256), (13527, 6256)]
    """
    x, y = lonlat_to_mercator(np.array([bbox[0], bbox[2]]), np.array([bbox[3], bbox[1]]))
    size = 2 * ORIGIN / 2**z
    last = 2**z - 1
    x0, x1 = (min(max(int((v + ORIGIN) // size), 0), last) for v in x)
    y0, y1 = (min(max(int((ORIGIN - v) // size), 0), last) for v in y)
    for row in range(y0, y1 + 1):
        for col in range(x0, x1 + 1):
            yield col, row


def min_zoom_for(sizes_m: NDArray[np.float64], *, pixels: float = 4.0) -> int:
    """The lowest zoom at which a typical (median) unit of these sizes spans ``pixels``.

    Example
    -------
    >>> min_zoom_for(np.array([100.0, 120.0, 80.0]))  # micro-grids of about 100 m
    13
    """
    size = float(np.median(sizes_m)) if len(sizes_m) else 2 * ORIGIN
    if size <= 0:
        return MAX_ZOOM
    zoom = math.log2(pixels * 2 * ORIGIN / (256 * size))
    return int(min(max(math.ceil(zoom), 0), MAX_ZOOM))


def tile_geometries(
    mercator: NDArray[np.object_], z: int, x: int, y: int
) -> tuple[NDArray[np.intp], NDArray[np.object_]]:
    """The polygons as drawn in one tile: (which of them, their geometry in grid units).

    Each is moved into the tile's grid (y down), clipped to the tile and :data:`BUFFER`,
    simplified by :data:`SIMPLIFY` and snapped to whole units, valid; those left empty or
    smaller than a pixel are dropped.

    Example
    -------
    >>> square = shapely.box(*tile_bounds(14, 13_525, 6_255))
    >>> kept, drawn = tile_geometries(np.array([square]), 14, 13_525, 6_255)
    >>> kept.tolist(), drawn[0].bounds
    ([0], (0.0, 0.0, 4096.0, 4096.0))
    """
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    scale = EXTENT / (maxx - minx)

    def to_grid(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.column_stack([(coords[:, 0] - minx) * scale, (maxy - coords[:, 1]) * scale])

    grid = shapely.transform(np.asarray(mercator, dtype=object), to_grid)
    clipped = shapely.clip_by_rect(grid, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    simple = shapely.simplify(clipped, SIMPLIFY, preserve_topology=True)
    # whole units, point by point (a tenth of the time of GEOS's snap-rounding, to under a
    # unit of area apart); the few polygons that rounding makes invalid are repaired
    # (points repeated by rounding are left: the encoder skips them)
    snapped = shapely.set_precision(simple, 1.0, mode="pointwise")
    invalid = ~shapely.is_valid(snapped)
    if invalid.any():
        snapped[invalid] = shapely.make_valid(
            snapped[invalid], method="structure", keep_collapsed=False
        )
    keep = ~shapely.is_empty(snapped) & (shapely.area(snapped) >= UNITS_PER_PIXEL**2)
    return np.flatnonzero(keep), np.asarray(snapped[keep], dtype=object)


def encode_tile(
    layer: str,
    geometries: NDArray[np.object_],
    properties: Sequence[Mapping[str, Any]],
    ids: Sequence[int] | None = None,
) -> bytes:
    """One MVT layer of geometries already in grid units (:func:`tile_geometries`).

    Properties whose value is None are left out (MVT has no null).

    Example
    -------
    >>> square = shapely.box(0, 0, 4096, 4096)
    >>> data = encode_tile("units", np.array([square]), [{"code": "M1", "leader": None}])
    >>> tile = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    >>> tile["units"]["features"][0]["properties"]
    {'code': 'M1'}
    """
    # MVT's winding (exterior rings clockwise on the screen, i.e. y down) set here for all
    # polygons at once, as mapbox_vector_tile would one by one in Python (most of its time);
    # the geometries are valid and on whole units already (tile_geometries)
    oriented = shapely.orient_polygons(np.asarray(geometries, dtype=object), exterior_cw=False)
    features = [
        {
            "geometry": geometry,
            "properties": {k: v for k, v in props.items() if v is not None},
            **({"id": ids[i]} if ids is not None else {}),
        }
        for i, (geometry, props) in enumerate(zip(oriented, properties, strict=True))
    ]
    return bytes(
        mapbox_vector_tile.encode(
            [{"name": layer, "features": features}],
            default_options={
                "extents": EXTENT,
                "y_coord_down": True,
                "check_winding_order": False,
                "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid,
            },
        )
    )
