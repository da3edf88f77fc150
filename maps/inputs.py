"""Checks of what the map builders are given: frames, columns, geometry types and CRS.

Every check raises :class:`MapInputError` with what was wrong and what is allowed, so that a
caller (the service answers 422 with it) can say it to the person who sent the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely


class MapInputError(ValueError):
    """The data given to a map lacks a column or has the wrong shape."""


def missing_columns(frame: Any, columns: Sequence[str]) -> list[str]:
    """The ``columns`` that ``frame`` lacks (all of them when it is no data frame).

    Example
    -------
    >>> missing_columns(pd.DataFrame({"code": []}), ["code", "name"])
    ['name']
    >>> missing_columns(None, ["code"])
    ['code']
    """
    if not isinstance(frame, pd.DataFrame):
        return list(columns)
    return [c for c in columns if c not in frame.columns]


def require_columns(
    frame: Any, columns: Sequence[str], what: str, *, points: bool = False
) -> gpd.GeoDataFrame:
    """``frame`` itself if it is a GeoDataFrame with ``columns``; else :class:`MapInputError`.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        What the caller gave.
    columns : sequence of str
        The columns it must have.
    what : str
        Its name in the message, e.g. ``"units"``.
    points : bool, default False
        Whether its geometries are points (else polygons), for the message only.

    Returns
    -------
    geopandas.GeoDataFrame
        ``frame``, unchanged.

    Example
    -------
    >>> require_columns(pd.DataFrame({"code": [1]}), ["code", "name"], "units")
    Traceback (most recent call last):
    ...
    maps.inputs.MapInputError: units lack column(s) ['name']; they have ['code']; allowed: \
a GeoDataFrame with code, name and polygons
    """
    missing = missing_columns(frame, columns)
    if missing or not isinstance(frame, gpd.GeoDataFrame):
        shape = (
            f"a GeoDataFrame of points with {', '.join(columns)}"
            if points
            else f"a GeoDataFrame with {', '.join(columns)} and polygons"
        )
        raise MapInputError(
            f"{what} lack column(s) {missing}; they have {list(getattr(frame, 'columns', []))}; "
            f"allowed: {shape}"
        )
    return frame


def in_wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` in EPSG:4326: converted from another CRS; without a CRS, taken as it is.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame

    Returns
    -------
    geopandas.GeoDataFrame
        ``frame`` itself when already in EPSG:4326 or without a CRS, else a converted copy.

    Example
    -------
    >>> metric = gpd.GeoDataFrame(geometry=[shapely.Point(500000, 4330000)], crs=32650)
    >>> point = in_wgs84(metric).geometry[0]
    >>> round(point.x, 3), round(point.y, 3)
    (117.0, 39.119)
    """
    if frame.crs is None or frame.crs.equals(pyproj.CRS.from_epsg(4326)):
        return frame
    return frame.to_crs(4326)


def checked_points(frame: Any, columns: Sequence[str], what: str) -> gpd.GeoDataFrame:
    """A GeoDataFrame of points with ``columns``, in EPSG:4326.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Points in any CRS (none is taken as EPSG:4326); missing and empty points are allowed
        (counted by the maps, not drawn).
    columns : sequence of str
        The columns it must have.
    what : str
        Its name in the messages, e.g. ``"facilities"``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``frame`` in EPSG:4326, with its index.

    Raises
    ------
    MapInputError
        A missing column, or a geometry that is not a point.

    Example
    -------
    >>> frame = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)])
    >>> checked_points(frame, ["name"], "facilities")
    Traceback (most recent call last):
    ...
    maps.inputs.MapInputError: facilities must be points; allowed: Point geometries, empty or \
missing
    """
    frame = in_wgs84(require_columns(frame, columns, what, points=True))
    kinds = shapely.get_type_id(frame.geometry.to_numpy())
    # -1 is a missing geometry, 0 a point (possibly empty); anything else is refused
    if np.any((kinds != -1) & (kinds != 0)):
        raise MapInputError(f"{what} must be points; allowed: Point geometries, empty or missing")
    return frame


def drawn_bounds(units: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` of the units that have a geometry.

    Raises
    ------
    MapInputError
        No unit has a geometry.

    Example
    -------
    >>> drawn_bounds(gpd.GeoDataFrame(geometry=[None, shapely.box(117.2, 39.1, 117.3, 39.2)]))
    (117.2, 39.1, 117.3, 39.2)
    """
    geoms = units.geometry.to_numpy()
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if geoms.size == 0:
        raise MapInputError("no unit has a geometry; allowed: at least one polygon")
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    return float(minx), float(miny), float(maxx), float(maxy)


def optional_text(values: pd.Series) -> list[str]:
    """A column as text for the page, ``""`` where missing (None or NaN).

    Example
    -------
    >>> optional_text(pd.Series(["王芳", None, float("nan"), 7]))
    ['王芳', '', '', '7']
    """
    return values.astype(object).where(values.notna(), "").astype(str).tolist()
