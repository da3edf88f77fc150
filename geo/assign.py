"""Assign points to the chain of units containing them and to the responsible leader.

Rules
-----
1. **Inside**: a point is tested against the units of the deepest level first. A point on the
   boundary counts as inside (``covers`` semantics, as in MapIt), so a point on an edge or vertex
   shared by several units touches all of them; it goes to exactly one: **the unit whose code
   sorts first** (plain string order). The chain above it follows parent codes.
2. **Gap**: a point in no unit of the deepest level is tested against the level above, and so
   on. If it is found in a unit that has children it lies in a gap between them: it gets that
   unit and the chain above it, with status ``gap``. (A unit without children is simply the
   deepest unit there: status ``assigned``.)
3. **Snap**: a point in no unit at all, but within ``snap_tolerance_m`` metres (default 50) of a
   unit, gets the nearest unit of the deepest level that has one in reach, status ``snapped``,
   with the distance in metres. Distances are computed in the set's local projected CRS.
   Ties go to the smaller code.
4. **Unassigned**: anything further is ``unassigned`` with the reason and the distance to the
   nearest unit if one is within 100 km.
5. NaN, infinite or out-of-range coordinates raise :class:`geo.errors.InvalidCoordinates`.

The responsible leader is the deepest unit on the chain that has a leader.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from geo.crs import CoordSystem, check_lonlat, parse_crs, transform_coords
from geo.units import BoundarySet

ASSIGNED = "assigned"
GAP = "gap"
SNAPPED = "snapped"
UNASSIGNED = "unassigned"
STATUSES = (ASSIGNED, GAP, SNAPPED, UNASSIGNED)

#: How far to look for the nearest unit when explaining an unassigned point.
_EXPLAIN_RADIUS_M = 100_000.0


@dataclass(frozen=True)
class Assignment:
    """Result of assigning n points: parallel arrays, one row per point.

    Attributes
    ----------
    status : ndarray of str
        ``assigned``, ``gap``, ``snapped`` or ``unassigned``.
    unit : ndarray of int
        Position (row of ``BoundarySet.units``) of the deepest unit assigned, -1 if none.
    chain : ndarray of int, shape (n, levels)
        Positions of the units on the chain, top first, -1 below the assigned unit.
    leader : ndarray of int
        Position of the unit whose leader is responsible, -1 if none.
    distance_m : ndarray of float
        Distance to the unit in metres: 0 inside, the snap distance when snapped, the distance
        to the nearest unit (or NaN if none within 100 km) when unassigned.
    lon, lat : ndarray of float
        The points in WGS84, after conversion from the input system.
    """

    status: NDArray[np.str_]
    unit: NDArray[np.intp]
    chain: NDArray[np.intp]
    leader: NDArray[np.intp]
    distance_m: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.status)


class BoundaryIndex:
    """Spatial index over a boundary set, one STRtree per level, answering point assignments.

    The trees are immutable: to change the set, build a new index and swap it in.

    Parameters
    ----------
    bset : BoundarySet
    snap_tolerance_m : float, default 50
        Points outside every unit but this close to one are snapped to it.

    Example
    -------
    >>> import geopandas as gpd, shapely
    >>> from geo.units import BoundarySet
    >>> top = gpd.GeoDataFrame({"code": ["A"], "name": ["Area"], "parent": [""],
    ...                         "leader_name": ["Li Lei"]},
    ...                        geometry=[shapely.box(117.2, 39.1, 117.21, 39.11)], crs=4326)
    >>> index = BoundaryIndex(BoundarySet.from_levels([("area", top)]))
    >>> index.assign([117.205, 117.3], [39.105, 39.105]).status.tolist()
    ['assigned', 'unassigned']
    """

    def __init__(self, bset: BoundarySet, *, snap_tolerance_m: float = 50.0) -> None:
        self.bset = bset
        self.snap_tolerance_m = float(snap_tolerance_m)
        geoms = bset.units.geometry.to_numpy()
        self._level_pos = [bset.level_positions(d) for d in range(len(bset.levels))]
        self._level_geoms = [geoms[pos] for pos in self._level_pos]
        for g in self._level_geoms:
            shapely.prepare(g)
        self._trees = [shapely.STRtree(g) for g in self._level_geoms]
        # rank of each unit's code within the set, for the "smaller code wins" tie rule
        codes = bset.units["code"].to_numpy(dtype=str)
        self._code_rank = np.argsort(np.argsort(codes, kind="stable"), kind="stable")
        self._has_children = bset.children_count > 0
        self._metric_lock = threading.Lock()
        self._metric_trees: list[shapely.STRtree] | None = None
        self._to_metric = pyproj.Transformer.from_crs(4326, bset.metric_crs, always_xy=True)

    # -- public -----------------------------------------------------------------------------

    def assign(
        self, lon: ArrayLike, lat: ArrayLike, crs: str | CoordSystem = "wgs84"
    ) -> Assignment:
        """Assign points to units, vectorised.

        Parameters
        ----------
        lon, lat : array_like
            Coordinates in ``crs`` (longitude/latitude, or easting/northing for projected EPSG
            systems).
        crs : str or CoordSystem, default "wgs84"
            ``wgs84``, ``gcj02``, ``bd09`` or ``EPSG:<code>``.

        Returns
        -------
        Assignment

        Raises
        ------
        InvalidCoordinates
            Any NaN, infinite or out-of-range coordinate.
        UnknownCRS
            An unknown coordinate system.

        Example
        -------
        See :class:`BoundaryIndex`.
        """
        system = parse_crs(crs)
        x = np.atleast_1d(np.asarray(lon, dtype=float))
        y = np.atleast_1d(np.asarray(lat, dtype=float))
        if system.name in ("wgs84", "gcj02", "bd09"):
            check_lonlat(x, y)
        else:
            check_lonlat(*_finite_or_nan(x, y))
        if system.name != "wgs84":
            x, y = transform_coords(x, y, system, "wgs84")
            check_lonlat(x, y)
        return self._assign_wgs84(x, y)

    def describe(self, result: Assignment, i: int, *, with_phone: bool = True) -> dict[str, Any]:
        """One point's result as plain values: status, units top first, leader, distance."""
        units = self.bset.units
        chain = [int(p) for p in result.chain[i] if p >= 0]
        leader_pos = int(result.leader[i])
        leader = None
        if leader_pos >= 0:
            row = units.iloc[leader_pos]
            leader = {
                "name": row["leader_name"],
                "phone": row["leader_phone"] if with_phone else None,
                "id": row["leader_id"],
                "unit_code": row["code"],
                "level": row["level"],
            }
        status = str(result.status[i])
        distance = float(result.distance_m[i])
        return {
            "status": status,
            "units": [
                {
                    "level": units["level"].iat[p],
                    "code": units["code"].iat[p],
                    "name": units["name"].iat[p],
                }
                for p in chain
            ],
            "leader": leader,
            "distance_m": None if np.isnan(distance) else round(distance, 2),
            "reason": self._reason(status, chain, distance),
        }

    # -- internals --------------------------------------------------------------------------

    def _assign_wgs84(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> Assignment:
        n = x.size
        depths = len(self.bset.levels)
        unit = np.full(n, -1, dtype=np.intp)
        status = np.full(n, UNASSIGNED, dtype=object)
        distance = np.full(n, np.nan)
        remaining = np.arange(n)
        points = shapely.points(x, y)
        for depth in range(depths - 1, -1, -1):
            if remaining.size == 0:
                break
            found_i, found_pos = self._covering(
                depth, points[remaining], x[remaining], y[remaining]
            )
            hit = remaining[found_i]
            unit[hit] = found_pos
            distance[hit] = 0.0
            status[hit] = np.where(self._has_children[found_pos], GAP, ASSIGNED)
            remaining = np.setdiff1d(remaining, hit, assume_unique=True)
        if remaining.size:
            self._snap(remaining, x, y, unit, status, distance)
        chain = np.full((n, depths), -1, dtype=np.intp)
        ok = unit >= 0
        chain[ok] = self.bset.chains[unit[ok]]
        leader = np.full(n, -1, dtype=np.intp)
        leader[ok] = self.bset.responsible[unit[ok]]
        return Assignment(
            status=status.astype(str),
            unit=unit,
            chain=chain,
            leader=leader,
            distance_m=distance,
            lon=x,
            lat=y,
        )

    def _covering(
        self, depth: int, points: NDArray[np.object_], x: NDArray, y: NDArray
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Points covered by a unit of a level: (point index, unit position), one per point."""
        # Candidates by bounding box from the tree, then an exact test against the prepared
        # polygons; intersects_xy includes the boundary (covers semantics).
        i, j = self._trees[depth].query(points)
        if i.size == 0:
            return i, j
        inside = shapely.intersects_xy(self._level_geoms[depth][j], x[i], y[i])
        i, pos = i[inside], self._level_pos[depth][j[inside]]
        return self._first_by_code(i, pos)

    def _first_by_code(
        self, i: NDArray[np.intp], pos: NDArray[np.intp]
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Keep one unit per point: the one whose code sorts first."""
        if i.size == 0 or np.all(np.diff(i) > 0):
            return i, pos
        order = np.lexsort((self._code_rank[pos], i))
        i, pos = i[order], pos[order]
        first = np.ones(i.size, dtype=bool)
        first[1:] = i[1:] != i[:-1]
        return i[first], pos[first]

    def _metric(self) -> list[shapely.STRtree]:
        with self._metric_lock:
            if self._metric_trees is None:
                metric = self.bset.metric_geometries
                self._metric_trees = [shapely.STRtree(metric[pos]) for pos in self._level_pos]
            return self._metric_trees

    def _snap(
        self,
        remaining: NDArray[np.intp],
        x: NDArray,
        y: NDArray,
        unit: NDArray[np.intp],
        status: NDArray[np.object_],
        distance: NDArray[np.float64],
    ) -> None:
        trees = self._metric()
        mx, my = self._to_metric.transform(x[remaining], y[remaining])
        points = shapely.points(mx, my)
        todo = np.arange(remaining.size)
        for depth in range(len(trees) - 1, -1, -1):
            if todo.size == 0:
                break
            (i, j), dist = trees[depth].query_nearest(
                points[todo],
                max_distance=self.snap_tolerance_m,
                return_distance=True,
                all_matches=True,
            )
            pos = self._level_pos[depth][j]
            order = np.lexsort((self._code_rank[pos], i))
            i, pos, dist = i[order], pos[order], dist[order]
            first = np.ones(i.size, dtype=bool)
            first[1:] = i[1:] != i[:-1]
            i, pos, dist = i[first], pos[first], dist[first]
            target = remaining[todo[i]]
            unit[target] = pos
            status[target] = SNAPPED
            distance[target] = dist
            todo = np.setdiff1d(todo, todo[i], assume_unique=True)
        if todo.size:
            # explain: how far is the nearest unit (any level; the top level is enough)
            (i, _j), dist = trees[0].query_nearest(
                points[todo], max_distance=_EXPLAIN_RADIUS_M, return_distance=True
            )
            distance[remaining[todo[i]]] = dist

    def _reason(self, status: str, chain: list[int], distance: float) -> str | None:
        levels = self.bset.levels
        if status == GAP:
            deepest = self.bset.units["level"].iat[chain[-1]]
            below = levels[levels.index(deepest) + 1]
            return f"inside {deepest} {self.bset.units['code'].iat[chain[-1]]} but in no {below}"
        if status == SNAPPED:
            return f"outside every unit; snapped to the nearest {distance:.1f} m away"
        if status == UNASSIGNED:
            if np.isnan(distance):
                return "outside the boundary set, no unit within 100 km"
            return (
                f"outside the boundary set: nearest unit {distance:.0f} m away, beyond the snap "
                f"tolerance of {self.snap_tolerance_m:g} m"
            )
        return None


def _finite_or_nan(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    """For projected input: check finiteness only (ranges are checked after conversion)."""
    return np.where(np.isfinite(x), 0.0, x), np.where(np.isfinite(y), 0.0, y)
