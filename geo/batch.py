"""Batch assignment of a table: every row gets its units, its leader, a status and a reason.

This is the logic of ``wangge assign`` (a CSV in, a CSV out) and of any bulk import: a row
with bad coordinates is kept with status ``invalid`` and says why; one bad row never stops
the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.assign import BoundaryIndex
from geo.crs import points_to_wgs84

#: The status of a row whose coordinates cannot be used.
INVALID = "invalid"


def assign_table(
    index: BoundaryIndex,
    table: pd.DataFrame,
    *,
    lon_column: str = "lon",
    lat_column: str = "lat",
    crs: str = "wgs84",
    lines: Sequence[int] | None = None,
    refused: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Assign every row of a table to the boundary set.

    Parameters
    ----------
    index : BoundaryIndex
        The boundary set and its spatial index.
    table : pandas.DataFrame
        Rows with a longitude and a latitude column (numbers, or text that reads as numbers;
        anything else makes the row ``invalid``).
    lon_column, lat_column : str
        The names of the coordinate columns (KeyError naming them if absent).
    crs : str, default "wgs84"
        The coordinate system of the points: ``wgs84``, ``gcj02``, ``bd09`` or ``EPSG:n``.
    lines : sequence of int, optional
        The line of the file each row starts on: every reason then begins with "line N: ".
    refused : sequence of str, optional
        Why a row cannot be used as read ("" where it can), e.g. a field too many: such a row
        is ``invalid`` with that reason, whatever its coordinates.

    Returns
    -------
    pandas.DataFrame
        The table as it came, plus ``<level>_code`` and ``<level>_name`` for every level,
        ``leader_unit``, ``leader_name``, ``leader_phone`` (missing where there is none),
        ``status`` (assigned, gap, snapped, unassigned or invalid), ``distance_m`` and
        ``reason``.

    Example
    -------
    >>> import geopandas as gpd, shapely
    >>> from geo.units import BoundarySet
    >>> top = gpd.GeoDataFrame({"code": ["A"], "name": ["Area"], "parent": [""]},
    ...                        geometry=[shapely.box(117.2, 39.1, 117.21, 39.11)], crs=4326)
    >>> index = BoundaryIndex(BoundarySet.from_levels([("area", top)]))
    >>> rows = pd.DataFrame({"lon": ["117.205", "oops"], "lat": ["39.105", "39.1"]})
    >>> out = assign_table(index, rows)
    >>> out["area_code"].iloc[0], out["status"].tolist()
    ('A', ['assigned', 'invalid'])
    >>> out["reason"].iloc[1]
    'lon is not a finite number'
    >>> assign_table(index, rows, lines=[2, 7])["reason"].tolist()
    ['', 'line 7: lon is not a finite number']
    """
    missing = [c for c in (lon_column, lat_column) if c not in table.columns]
    if missing:
        raise KeyError(f"no column(s) {missing}; the table has {list(table.columns)}")
    bset = index.bset
    n = len(table)
    x = pd.to_numeric(table[lon_column], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(table[lat_column], errors="coerce").to_numpy(dtype=float)
    # every row checked and converted once; a refused row keeps its reason, in its own terms
    lon, lat, why = points_to_wgs84(x, y, crs, errors="flag")
    if refused is not None:
        given = np.asarray(refused, dtype=object)
        why = np.where(given != "", given, why.astype(object))
    good = np.flatnonzero(why == "")
    status = np.full(n, INVALID, dtype=object)
    reason = np.asarray(why, dtype=object)
    chain = np.full((n, len(bset.levels)), -1, dtype=np.intp)
    leader = np.full(n, -1, dtype=np.intp)
    distance = np.full(n, np.nan)
    if good.size:
        result = index.assign(lon[good], lat[good], crs="wgs84")
        status[good] = result.status
        chain[good] = result.chain
        leader[good] = result.leader
        distance[good] = result.distance_m
        reason[good] = ""
        far = np.flatnonzero(result.status == "unassigned")
        distance[good[far]] = index.distance_to_set(result.lon[far], result.lat[far])
        for k in np.flatnonzero(result.status != "assigned"):
            reason[good[k]] = index.explain(
                str(result.status[k]), int(result.unit[k]), float(distance[good[k]])
            )
    units = bset.units
    out = table.copy()
    codes = units["code"].to_numpy(dtype=object)
    names = units["name"].to_numpy(dtype=object)
    for d, level in enumerate(bset.levels):
        out[f"{level}_code"] = _take(codes, chain[:, d])
        out[f"{level}_name"] = _take(names, chain[:, d])
    out["leader_unit"] = _take(codes, leader)
    out["leader_name"] = _take(units["leader_name"].to_numpy(dtype=object), leader)
    out["leader_phone"] = _take(units["leader_phone"].to_numpy(dtype=object), leader)
    out["status"] = status
    out["distance_m"] = np.round(distance, 2)
    if lines is not None:
        said = np.flatnonzero(pd.notna(reason) & (reason != ""))
        numbers = np.asarray(lines)
        reason[said] = [f"line {numbers[k]}: {reason[k]}" for k in said]
    out["reason"] = reason
    return out


def _take(values: NDArray[np.object_], positions: NDArray[np.intp]) -> NDArray[np.object_]:
    """``values[positions]``, with None where a position is -1 (no unit)."""
    out = np.full(len(positions), None, dtype=object)
    ok = positions >= 0
    out[ok] = values[positions[ok]]
    return out
