"""Assign points to the chain of units containing them and to the responsible leader.

Rules
-----
1. **Inside**: the union of the top level is the set's extent. A point inside it is tested
   against the units of the deepest level first. A point on the boundary counts as inside
   (``covers`` semantics, as in MapIt), so a point on an edge or vertex shared by several
   units touches all of them; it goes to exactly one: **the unit whose code sorts first**
   (plain string order). The chain above it follows parent codes.
2. **Gap**: a point in no unit of the deepest level is tested against the level above, and so
   on. If it is found in a unit that has children it lies in a gap between them: it gets that
   unit and the chain above it, with status ``gap``. (A unit without children is simply the
   deepest unit there: status ``assigned``.)
3. **Snap**: a point in no unit at all, but within ``snap_tolerance_m`` metres (default 50) of a
   unit, gets the nearest unit of the deepest level that has one in reach, status ``snapped``,
   with the distance in metres. Distances are computed in the set's local projected CRS.
   Ties go to the smaller code.
4. **Unassigned**: anything further is ``unassigned``; :meth:`BoundaryIndex.describe` gives the
   reason and the distance to the nearest unit if one is within 100 km.
5. NaN, infinite or out-of-range coordinates raise :class:`geo.errors.InvalidCoordinates`.

The responsible leader is the deepest unit on the chain that has a leader.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from geo.crs import CoordSystem, one_point_to_wgs84, points_to_wgs84
from geo.kernel import AMBIGUOUS, FOUND, SNAP, PointKernel, take_rows
from geo.units import LEADER_COLUMNS, BoundarySet

ASSIGNED = "assigned"
GAP = "gap"
SNAPPED = "snapped"
UNASSIGNED = "unassigned"
STATUSES = (ASSIGNED, GAP, SNAPPED, UNASSIGNED)
_ASSIGNED, _GAP, _SNAPPED, _UNASSIGNED = range(4)
_STATUS_TEXT = np.array(STATUSES)
_NUMBERS = (float, int, np.floating, np.integer)

#: How far to look for the nearest unit when explaining an unassigned point.
_EXPLAIN_RADIUS_M = 100_000.0
#: Units with more vertices than this are tested for reach (prepared) before being measured.
_LARGE_UNIT_VERTICES = 256
#: From this many points on, index the points rather than query the units' tree point by point.
_POINT_TREE_MIN = 5_000


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
        Distance to the unit in metres: 0 inside, the snap distance when snapped, NaN when
        unassigned (:meth:`BoundaryIndex.distance_to_set` measures those on demand).
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
    """Spatial index over a boundary set answering point assignments.

    Points are located by a compiled grid index (:class:`geo.kernel.PointKernel`, built and
    compiled here); the few too close to an edge to decide in double precision, and the
    nearest-unit searches of snapping, use shapely (one STRtree per level). Everything is
    immutable: to change the set, build a new index and swap it in.

    Parameters
    ----------
    bset : BoundarySet
    snap_tolerance_m : float, default 50
        Points outside every unit but this close to one are snapped to it.

    Example
    -------
    >>> import geopandas as gpd, shapely
    >>> from geo.units import LEADER_COLUMNS, BoundarySet
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
        self._extent = shapely.union_all(self._level_geoms[0])
        shapely.prepare(self._extent)
        # The extent grown by at least the snap tolerance (a degree of longitude is shortest at
        # the highest latitude): only points inside it can snap.
        max_lat = max(abs(bset.bounds[1]), abs(bset.bounds[3]))
        tol_deg = self.snap_tolerance_m / (110_574.0 * max(np.cos(np.radians(max_lat)), 1e-6))
        self._snap_zone = shapely.buffer(self._extent, tol_deg * 1.01 + 1e-9)
        shapely.prepare(self._snap_zone)
        # rank of each unit's code within the set, for the "smaller code wins" tie rule
        codes = bset.units["code"].to_numpy(dtype=str)
        self._code_rank = np.argsort(np.argsort(codes, kind="stable"), kind="stable")
        # the status of a point placed in each unit (gap when the unit has children), and
        # unassigned for no unit (-1)
        self._status_of = np.append(
            np.where(bset.children_count > 0, _GAP, _ASSIGNED), _UNASSIGNED
        ).astype(np.int8)
        self._kernel = PointKernel(
            self._extent,
            self._snap_zone,
            [
                (g, pos, self._code_rank[pos])
                for g, pos in zip(self._level_geoms, self._level_pos, strict=True)
            ],
        )
        # plain lists of the text columns: describe() runs once per request
        self._text = {
            column: bset.units[column].tolist()
            for column in ("code", "name", "level", "leader_name", "leader_phone", "leader_id")
        }
        # what :meth:`place` answers for a point inside each unit, kept as first asked
        self._placed: dict[int, dict[str, Any]] = {}
        # built on first use and shared with the copies of :meth:`with_leaders`
        self._metric_lock = threading.Lock()
        self._metric_cache: dict[str, Any] = {}
        self._to_metric = pyproj.Transformer.from_crs(4326, bset.metric_crs, always_xy=True)

    def with_leaders(self, leaders: pd.DataFrame) -> BoundaryIndex:
        """The same index answering with other leaders (a roster), sharing the trees.

        Building an index costs seconds at city scale; a leader change must not. The copy
        shares every tree and geometry with this index and differs only in who leads.

        Parameters
        ----------
        leaders : DataFrame
            See :meth:`geo.units.BoundarySet.with_leaders`.

        Returns
        -------
        BoundaryIndex

        Example
        -------
        >>> import geopandas as gpd, pandas as pd, shapely
        >>> from geo.units import LEADER_COLUMNS, BoundarySet
        >>> top = gpd.GeoDataFrame({"code": ["A"], "name": ["Area"], "parent": [""]},
        ...                        geometry=[shapely.box(117.2, 39.1, 117.21, 39.11)], crs=4326)
        >>> index = BoundaryIndex(BoundarySet.from_levels([("area", top)]))
        >>> roster = pd.DataFrame({"code": ["A"], "leader_name": ["Han Mei"],
        ...                        "leader_phone": [None], "leader_id": ["p-7"]})
        >>> led = index.with_leaders(roster)
        >>> led.describe(led.assign([117.205], [39.105]), 0)["leader"]["name"]
        'Han Mei'
        """
        other = copy.copy(self)
        other.bset = self.bset.with_leaders(leaders)
        other._text = dict(self._text)
        for column in LEADER_COLUMNS:
            other._text[column] = other.bset.units[column].tolist()
        other._placed = {}  # (answers name the leaders)
        return other

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
        # a request's point (in any named geographic system): no arrays until the answer
        point = _one_point(lon, lat) if crs == "wgs84" else one_point_to_wgs84(lon, lat, crs)
        if point is not None:
            return self._assign_point(*point)
        x, y, _ = points_to_wgs84(lon, lat, crs)
        return self._assign_wgs84(x, y)

    def place(
        self, lon: float, lat: float, crs: str | CoordSystem = "wgs84"
    ) -> tuple[dict[str, Any], float, float] | None:
        """One point's answer without arrays: what ``describe(assign([lon], [lat], crs), 0)``
        gives, and the point's WGS84 lon and lat, for a valid point plainly inside a unit (the
        answer of each unit is built once and kept). None for every other point (near the
        set's edge, on a shared edge or vertex, outside, or invalid): :meth:`assign` decides
        those. The answer's lists and dicts are shared: not to be modified.

        Example
        -------
        >>> import geopandas as gpd, shapely
        >>> from geo.units import BoundarySet
        >>> top = gpd.GeoDataFrame({"code": ["A"], "name": ["Area"], "parent": [""]},
        ...                        geometry=[shapely.box(117.2, 39.1, 117.21, 39.11)], crs=4326)
        >>> index = BoundaryIndex(BoundarySet.from_levels([("area", top)]))
        >>> placed, lon, lat = index.place(117.205, 39.105)
        >>> placed["status"], [u["code"] for u in placed["units"]], lon
        ('assigned', ['A'], 117.205)
        >>> index.place(117.3, 39.105) is None  # outside: left to assign()
        True
        """
        point = one_point_to_wgs84(lon, lat, crs)
        if point is None:
            return None
        x, y = point
        unit, kind = self._kernel.locate_point(x, y)
        if kind != FOUND or unit < 0:
            return None
        placed = self._placed.get(unit)
        if placed is None:
            placed = self._placed[unit] = self._describe_unit(unit)
        return {**placed}, x, y

    def _describe_unit(self, unit: int) -> dict[str, Any]:
        """:meth:`describe` of a point found inside ``unit``."""
        row = slice(unit, unit + 1)
        found = Assignment(
            status=_STATUS_TEXT[self._status_of[row]],
            unit=np.array([unit], dtype=np.intp),
            chain=self.bset.chains[row],
            leader=self.bset.responsible[row],
            distance_m=np.zeros(1),
            lon=np.zeros(1),
            lat=np.zeros(1),
        )
        return self.describe(found, 0)

    def describe(self, result: Assignment, i: int, *, with_phone: bool = True) -> dict[str, Any]:
        """One point's result as plain values: status, units top first, leader, distance."""
        text = self._text
        chain = [int(p) for p in result.chain[i] if p >= 0]
        leader_pos = int(result.leader[i])
        leader = None
        if leader_pos >= 0:
            leader = {
                "name": text["leader_name"][leader_pos],
                "phone": text["leader_phone"][leader_pos] if with_phone else None,
                "id": text["leader_id"][leader_pos],
                "unit_code": text["code"][leader_pos],
                "level": text["level"][leader_pos],
            }
        status = str(result.status[i])
        distance = float(result.distance_m[i])
        if status == UNASSIGNED:
            distance = float(self.distance_to_set(result.lon[i : i + 1], result.lat[i : i + 1])[0])
        return {
            "status": status,
            "units": [
                {"level": text["level"][p], "code": text["code"][p], "name": text["name"][p]}
                for p in chain
            ],
            "leader": leader,
            "distance_m": None if np.isnan(distance) else round(distance, 2),
            "reason": self.explain(status, int(result.unit[i]), distance),
        }

    def prepare_snapping(self) -> BoundaryIndex:
        """Build now what snapping and distances need (the units in metres and their trees),
        which is otherwise built on the first point outside every unit: seconds at city
        scale, better spent before an index is swapped in than during a request.

        Example
        -------
        >>> import geopandas as gpd, shapely
        >>> from geo.units import BoundarySet
        >>> top = gpd.GeoDataFrame({"code": ["A"], "name": ["Area"], "parent": [""]},
        ...                        geometry=[shapely.box(117.2, 39.1, 117.21, 39.11)], crs=4326)
        >>> index = BoundaryIndex(BoundarySet.from_levels([("area", top)])).prepare_snapping()
        >>> index.assign([117.2103], [39.105]).status.tolist()
        ['snapped']
        """
        self._metric()
        return self

    @property
    def prepared(self) -> dict[str, bool]:
        """What answers need, and whether it is built: the compiled kernel (always, at
        construction) and the metric trees (:meth:`prepare_snapping`)."""
        return {"kernel": self._kernel is not None, "metric_trees": bool(self._metric_cache)}

    def distance_to_set(self, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.float64]:
        """Metres from WGS84 points to the nearest unit (0 inside; NaN beyond 100 km).

        Kept out of :meth:`assign`, which needs it only to explain unassigned points: measuring
        every far point of a big batch would cost more than assigning the batch.

        Example
        -------
        See :class:`BoundaryIndex`.
        """
        _, edges = self._metric()
        x = np.atleast_1d(np.asarray(lon, dtype=float))
        y = np.atleast_1d(np.asarray(lat, dtype=float))
        out = np.full(x.size, np.nan)
        if x.size == 0:
            return out
        found_i, _ = self._covering(0, shapely.points(x, y), x, y)
        mx, my = self._to_metric.transform(x, y)
        # (an unbounded search is ten times faster here than one with a large max_distance)
        (i, _), dist = edges.query_nearest(
            shapely.points(mx, my), return_distance=True, all_matches=False
        )
        near = dist <= _EXPLAIN_RADIUS_M
        out[i[near]] = dist[near]
        out[found_i] = 0.0
        return out

    # -- internals --------------------------------------------------------------------------

    def _assign_point(self, x: float, y: float) -> Assignment:
        """:meth:`_assign_wgs84` for one valid point, the same answer without its array work
        when the point is in a unit or beyond the snap zone."""
        unit, kind = self._kernel.locate_point(x, y)
        if kind == SNAP or kind == AMBIGUOUS:
            return self._assign_wgs84(np.array([x]), np.array([y]))
        if unit < 0:
            return Assignment(
                status=_STATUS_TEXT[[_UNASSIGNED]],
                unit=np.full(1, -1, dtype=np.intp),
                chain=np.full((1, len(self.bset.levels)), -1, dtype=np.intp),
                leader=np.full(1, -1, dtype=np.intp),
                distance_m=np.full(1, np.nan),
                lon=np.array([x]),
                lat=np.array([y]),
            )
        row = slice(unit, unit + 1)
        return Assignment(
            status=_STATUS_TEXT[self._status_of[row]],
            unit=np.array([unit], dtype=np.intp),
            chain=self.bset.chains[row].copy(),
            leader=self.bset.responsible[row].copy(),
            distance_m=np.zeros(1),
            lon=np.array([x]),
            lat=np.array([y]),
        )

    def _assign_wgs84(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> Assignment:
        unit, kind = self._kernel.locate(x, y)
        # statuses as numbers (positions in STATUSES) until the end; a point the kernel did not
        # place has unit -1, whose status in the table is unassigned
        status = self._status_of[unit]
        distance = np.where(kind == FOUND, 0.0, np.nan)
        near = np.flatnonzero(kind == SNAP)
        if near.size:
            self._snap(near, x, y, unit, status, distance, screened=True)
        undecided = np.flatnonzero(kind == AMBIGUOUS)
        if undecided.size:
            self._place_exactly(undecided, x, y, unit, status, distance)
        return Assignment(
            status=_STATUS_TEXT[status],
            unit=unit,
            chain=take_rows(self.bset.chains, unit),
            leader=take_rows(self.bset.responsible, unit),
            distance_m=distance,
            lon=x,
            lat=y,
        )

    def _place_exactly(
        self,
        todo: NDArray[np.intp],
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        unit: NDArray[np.intp],
        status: NDArray[np.int8],
        distance: NDArray[np.float64],
    ) -> None:
        """The same rules with shapely's robust predicates, for the points ``todo`` that lie
        too close to an edge for the kernel to decide."""
        # The set's extent screens out points outside everything; inside it, the deepest
        # level is tried first, then each level above for the points still unplaced (gaps).
        remaining = todo[shapely.intersects_xy(self._extent, x[todo], y[todo])]
        points = shapely.points(x[remaining], y[remaining])
        for depth in range(len(self.bset.levels) - 1, -1, -1):
            if remaining.size == 0:
                break
            found_i, found_pos = self._covering(depth, points, x[remaining], y[remaining])
            unit[remaining[found_i]] = found_pos
            keep = np.ones(remaining.size, dtype=bool)
            keep[found_i] = False
            remaining, points = remaining[keep], points[keep]
        placed = todo[unit[todo] >= 0]
        distance[placed] = 0.0
        status[placed] = self._status_of[unit[placed]]
        rest = todo[unit[todo] < 0]
        if rest.size:
            self._snap(rest, x, y, unit, status, distance)

    def _covering(
        self, depth: int, points: NDArray[np.object_], x: NDArray, y: NDArray
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Points covered by a unit of a level: (point index, unit position), one per point."""
        # A point intersects a polygon exactly when the polygon covers it (boundary included).
        # Few points: query the level's tree with them. Many: index the points instead and
        # query with the (prepared) polygons, which is much faster for large batches.
        if points.size < _POINT_TREE_MIN:
            i, j = self._trees[depth].query(points, predicate="intersects")
        else:
            j, i = shapely.STRtree(points).query(self._level_geoms[depth], predicate="intersects")
        return self._first_by_code(i, self._level_pos[depth][j])

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

    def _metric(self) -> tuple[list[shapely.STRtree], shapely.STRtree]:
        """Per-level trees of the metric geometries, and a tree of the top level's edges."""
        with self._metric_lock:
            cache = self._metric_cache
            if not cache:
                metric = self.bset.metric_geometries
                shapely.prepare(metric)
                cache["trees"] = [shapely.STRtree(metric[pos]) for pos in self._level_pos]
                many = shapely.get_num_coordinates(metric) > _LARGE_UNIT_VERTICES
                cache["large"] = [many[pos] for pos in self._level_pos]
                cache["edges"] = shapely.STRtree(_segments(metric[self._level_pos[0]]))
            return cache["trees"], cache["edges"]

    def _snap(
        self,
        remaining: NDArray[np.intp],
        x: NDArray,
        y: NDArray,
        unit: NDArray[np.intp],
        status: NDArray[np.int8],
        distance: NDArray[np.float64],
        *,
        screened: bool = False,
    ) -> None:
        """Snap points outside every unit to the nearest unit within the tolerance
        (``screened``: the points are known to lie in the snap zone)."""
        if not screened:
            zone = self._snap_zone
            remaining = remaining[shapely.intersects_xy(zone, x[remaining], y[remaining])]
        if remaining.size == 0:
            return
        trees, _ = self._metric()
        large = self._metric_cache["large"]
        mx, my = self._to_metric.transform(x[remaining], y[remaining])
        points = shapely.points(mx, my)
        todo = np.arange(remaining.size)
        reach = self.snap_tolerance_m * (1 + 1e-9) + 1e-6
        for depth in range(len(trees) - 1, -1, -1):
            if todo.size == 0:
                break
            # the units in reach (their boxes, then for units of many vertices, such as a
            # district, a prepared distance test with a hair of slack), measured exactly; per
            # point the nearest, and the smaller code at equal distances
            tree = trees[depth]
            box = shapely.box(
                mx[todo] - reach, my[todo] - reach, mx[todo] + reach, my[todo] + reach
            )
            i, j = tree.query(box)
            big = np.flatnonzero(large[depth][j])
            if big.size:
                near = np.ones(i.size, dtype=bool)
                near[big] = shapely.dwithin(tree.geometries[j[big]], points[todo][i[big]], reach)
                i, j = i[near], j[near]
            dist = shapely.distance(points[todo][i], tree.geometries[j])
            near = dist <= self.snap_tolerance_m
            i, j, dist = i[near], j[near], dist[near]
            pos = self._level_pos[depth][j]
            order = np.lexsort((self._code_rank[pos], dist, i))
            i, pos, dist = i[order], pos[order], dist[order]
            first = np.ones(i.size, dtype=bool)
            first[1:] = i[1:] != i[:-1]
            i, pos, dist = i[first], pos[first], dist[first]
            target = remaining[todo[i]]
            unit[target] = pos
            status[target] = _SNAPPED
            distance[target] = dist
            todo = np.setdiff1d(todo, todo[i], assume_unique=True)

    def explain(self, status: str, unit: int, distance: float) -> str | None:
        """Why a point is not simply assigned, in one sentence (None when it is)."""
        units = self.bset.units
        if status == GAP:
            level = units["level"].iat[unit]
            below = self.bset.levels[self.bset.depth_of(level) + 1]
            return f"inside {level} {units['code'].iat[unit]} but in no {below}"
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


def _one_point(lon: ArrayLike, lat: ArrayLike) -> tuple[float, float] | None:
    """(lon, lat) when the input is one point of valid WGS84 degrees (a list or a 1-d array of
    one number each), else None: everything else takes the general path and its checks."""
    if isinstance(lon, np.ndarray | list | tuple) and isinstance(lat, np.ndarray | list | tuple):
        if len(lon) == 1 and len(lat) == 1 and np.ndim(lon) == 1 and np.ndim(lat) == 1:
            x, y = lon[0], lat[0]
            if isinstance(x, _NUMBERS) and isinstance(y, _NUMBERS):
                x, y = float(x), float(y)
                if -180.0 <= x <= 180.0 and -90.0 <= y <= 90.0:  # NaN fails both
                    return x, y
    return None


def _segments(polygons: NDArray[np.object_]) -> NDArray[np.object_]:
    """Every edge of the polygons' rings as its own two-point line."""
    rings = shapely.get_rings(shapely.get_parts(polygons))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    starts, ends = coords[:-1][same], coords[1:][same]
    return shapely.linestrings(np.stack([starts, ends], axis=1))
