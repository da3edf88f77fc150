"""Base tiles in another coordinate system: overlays held in WGS84 drawn where those tiles are.

Amap and Tencent tiles are drawn in GCJ-02, 300-700 m off WGS84 in Tianjin. With
``tiles_crs="gcj02"`` the pages move everything they draw from WGS84 to GCJ-02 (the formula of
:mod:`geo.crs`; ``wangge.wgs84ToGcj02`` in ``density.js`` is the same for points drawn later).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from geo.crs import wgs84_to_gcj02
from maps.inputs import MapInputError

#: Systems the base tiles may be in.
TILES_CRS = ("wgs84", "gcj02")


def check_tiles_crs(tiles_crs: str) -> bool:
    """True when the overlays must be shifted to GCJ-02; a system not in TILES_CRS is an error."""
    if tiles_crs not in TILES_CRS:
        raise MapInputError(f"tiles in {tiles_crs!r}; allowed: {', '.join(TILES_CRS)}")
    return tiles_crs == "gcj02"


def _coords_to_gcj02(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def shifted_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame with its geometries moved from WGS84 to GCJ-02 (still tagged EPSG:4326: the
    page draws them on GCJ-02 tiles as if they were).

    Example
    -------
    >>> frame = gpd.GeoDataFrame(geometry=[shapely.Point(116.404, 39.915)], crs=4326)
    >>> p = shifted_frame(frame).geometry.iloc[0]
    >>> round(p.x, 6), round(p.y, 6)
    (116.410244, 39.916404)
    """
    moved = shapely.transform(frame.geometry.to_numpy(), _coords_to_gcj02)
    return frame.set_geometry(gpd.GeoSeries(moved, index=frame.index, crs=4326))
