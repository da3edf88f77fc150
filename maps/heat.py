"""Heat cells: case locations binned on a square grid, one weighted point per non-empty cell.

Binned on a metric grid in Python (:func:`heat_cells`) or in the database (the service's
``api/pages/density.py`` groups by cell in SQL and hands the cells over as :class:`HeatCells`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyproj
from numpy.typing import NDArray

from geo.crs import local_metric_crs  # noqa: F401  (used in the doctest)
from maps.inputs import MapInputError


@dataclass(frozen=True)
class HeatCells:
    """Binned case locations: one weighted point per non-empty cell (see :func:`heat_cells`).

    Attributes
    ----------
    lat, lon : ndarray of float
        Mean position of the points in each cell.
    weight : ndarray of int
        Number of points in each cell.
    """

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    weight: NDArray[np.int64]

    @property
    def size(self) -> int:
        """Number of cells."""
        return int(self.weight.size)

    def rows(self) -> list[list[float]]:
        """``[lat, lon, weight]`` rows for folium's HeatMap, coordinates to 5 decimals (~1 m).

        Example
        -------
        >>> HeatCells(np.array([39.1]), np.array([117.2000001]), np.array([3])).rows()
        [[39.1, 117.2, 3.0]]
        """
        stacked = np.column_stack([np.round(self.lat, 5), np.round(self.lon, 5), self.weight])
        return stacked.tolist()


@lru_cache(maxsize=16)
def _to_metric(crs: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(4326, crs, always_xy=True)


def heat_cells(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    *,
    cell_m: float,
    metric_crs: pyproj.CRS,
) -> HeatCells:
    """Bin points on a square grid of ``cell_m`` metres in ``metric_crs``.

    Each non-empty cell becomes one point at the mean position of its points (so a single
    case stays where it is), weighted by how many there are. NaN coordinates are skipped.

    Parameters
    ----------
    lon, lat : ndarray of float
        WGS84 coordinates.
    cell_m : float
        Cell side in metres.
    metric_crs : pyproj.CRS
        A projected CRS in metres for the area (e.g. ``geo.crs.local_metric_crs``).

    Returns
    -------
    HeatCells

    Example
    -------
    >>> crs = local_metric_crs((117.19, 39.05, 117.28, 39.12))
    >>> cells = heat_cells(np.array([117.2, 117.2001, 117.25]), np.array([39.1, 39.1, 39.1]),
    ...                    cell_m=75, metric_crs=crs)
    >>> sorted(cells.weight.tolist())
    [1, 2]
    """
    if cell_m <= 0:
        raise MapInputError(f"heat cell size {cell_m} m; allowed a positive number of metres")
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat = lon[ok], lat[ok]
    if lon.size == 0:
        empty = np.empty(0)
        return HeatCells(empty, empty, np.empty(0, dtype=np.int64))
    x, y = _to_metric(metric_crs).transform(lon, lat)
    ix = np.floor(np.asarray(x) / cell_m).astype(np.int64)
    iy = np.floor(np.asarray(y) / cell_m).astype(np.int64)
    ix -= ix.min()
    iy -= iy.min()
    key = ix * (int(iy.max()) + 1) + iy
    _, inverse, weight = np.unique(key, return_inverse=True, return_counts=True)
    mean_lon = np.bincount(inverse, weights=lon) / weight
    mean_lat = np.bincount(inverse, weights=lat) / weight
    return HeatCells(mean_lat, mean_lon, weight.astype(np.int64))


def degree_cell(cell_m: float, lat: float) -> tuple[float, float]:
    """Side of a cell of about ``cell_m`` metres near latitude ``lat``, in degrees (lon, lat).

    For binning where no projection is at hand (in SQL): a degree of latitude is taken as
    111,320 m and a degree of longitude as that times cos(lat), which is within 0.5% of the
    UTM metre over a city.

    Example
    -------
    >>> [round(float(d), 6) for d in degree_cell(75, 39.1)]
    [0.000868, 0.000674]
    """
    if cell_m <= 0:
        raise MapInputError(f"heat cell size {cell_m} m; allowed a positive number of metres")
    dlat = cell_m / 111_320.0
    return dlat / max(float(np.cos(np.radians(lat))), 1e-6), dlat
