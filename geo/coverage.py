"""Coverage of care facilities: who lives beyond the 15-minute service circle, and where to add.

Planners ask where residents aged 60+ live outside the service area of every elderly-care
facility, how many, in which units, and where new facilities would cover most of them.

Service areas
-------------
The national standard for residential planning, GB 50180-2018 (城市居住区规划设计标准), ties the
15-minute life circle (15分钟生活圈) to a walking distance of 800-1,000 m (the 10-minute circle
to about 500 m, the 5-minute circle to about 300 m). The service distance here is always
``speed_m_per_min x minutes``; the defaults take the upper end of the standard:
``minutes = 15`` (:data:`DEFAULT_MINUTES`) and ``speed_m_per_min = 1000 / 15``, about 66.7 m per
minute (:data:`DEFAULT_SPEED_M_PER_MIN`), i.e. 1,000 m. Change either. Two modes:

* ``"circle"``: a disc of that radius round each facility, drawn in a projected CRS in metres
  (the boundary set's :attr:`~geo.units.BoundarySet.metric_crs`, its UTM zone), never in degrees.
* ``"network"``: the places reachable along a street network within that distance, see
  :mod:`geo.network`. Each network area lies inside the circle of the same radius.

Population
----------
* **Per unit**: a DataFrame keyed by unit code (a ``code`` column, or the index) with columns
  ``residents`` and ``residents_60``, at any level, usually the deepest (micro-grids). A unit's
  population is spread uniformly over its area, so a unit half inside a service area has half
  of its residents covered. Population given above the analysis level is shared among the units
  below it by area. Units that carry population must not contain one another.
* **Per point**: a GeoDataFrame of points (households, buildings) with the same two columns,
  counted exactly: a point is covered when it lies in a service area or on its edge, and it
  belongs to the unit :meth:`geo.assign.BoundaryIndex.assign` gives it (its boundary and snap
  rules). Points in no unit of the analysis level are counted in the summary only.

Method
------
No union or overlay of everything: for each unit (or population cell), the service areas that
touch it come from an STRtree; a unit inside one of them is covered whole; for the rest, those
areas are clipped to the unit's bounding box, unioned and subtracted, vectorised over all units
at once. The covered 60+ total equals the plain geopandas approach (union every circle, overlay
with the units, weight by area) to far below 0.1% (see ``bench/coverage.py``).

New sites (:func:`suggest_sites`) solve the maximal covering location problem (Church and
ReVelle, 1974) greedily; see there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from geo.assign import UNASSIGNED, BoundaryIndex
from geo.crs import parse_crs, transform_geometries
from geo.errors import InvalidPopulation, InvalidServiceParameters, UnitNotFound
from geo.network import (
    DEFAULT_BUFFER_M,
    StreetNetwork,
    metric_crs_for,
    network_service_areas,
    points_in_crs,
)
from geo.units import BoundarySet

#: Minutes of the service circle (GB 50180-2018: the 15-minute life circle).
DEFAULT_MINUTES = 15.0
#: Walking speed in metres per minute: 1,000 m in 15 minutes, the standard's upper distance.
DEFAULT_SPEED_M_PER_MIN = 1000.0 / 15.0
CIRCLE = "circle"
NETWORK = "network"
MODES = (CIRCLE, NETWORK)
#: Population columns, per unit or per point.
POPULATION_COLUMNS = ("residents", "residents_60")

_EMPTY = shapely.from_wkt("POLYGON EMPTY")


def walking_distance_m(
    minutes: float = DEFAULT_MINUTES, speed_m_per_min: float = DEFAULT_SPEED_M_PER_MIN
) -> float:
    """The service distance in metres: walking speed x minutes.

    Parameters
    ----------
    minutes : float, default 15
    speed_m_per_min : float, default 1000 / 15

    Returns
    -------
    float

    Raises
    ------
    InvalidServiceParameters
        A value that is not a positive finite number.

    Example
    -------
    >>> walking_distance_m(), walking_distance_m(10, 50)
    (1000.0, 500.0)
    """
    for name, value in (("minutes", minutes), ("speed_m_per_min", speed_m_per_min)):
        if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
            raise InvalidServiceParameters(
                f"{name} must be a positive number, got {value!r}",
                allowed="finite numbers > 0",
            )
    # rounded to a micrometre, so that 15 min x 1000/15 m/min is 1000 m, not 1000.0000000000001
    return round(float(minutes) * float(speed_m_per_min), 6)


def service_areas(
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    minutes: float = DEFAULT_MINUTES,
    speed_m_per_min: float = DEFAULT_SPEED_M_PER_MIN,
    metric_crs: pyproj.CRS | str | int | None = None,
    mode: str = CIRCLE,
    network: StreetNetwork | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
    quad_segs: int = 16,
) -> gpd.GeoSeries:
    """The service area of each facility, in a projected CRS in metres.

    Parameters
    ----------
    facilities : GeoDataFrame or GeoSeries
        Points with a CRS (usually EPSG:4326).
    minutes, speed_m_per_min : float
        The service distance is their product (default 15 min x 66.7 m/min = 1,000 m).
    metric_crs : pyproj.CRS, str or int, optional
        The CRS to draw in; by default the network's (network mode), else the facilities' own
        CRS if it is projected in metres, else the UTM zone of the facilities.
    mode : {"circle", "network"}
    network : StreetNetwork, optional
        Required in network mode.
    buffer_m : float, default 50
        Network mode: band kept on each side of a reachable street.
    quad_segs : int, default 16
        Segments per quarter circle (a 64-gon holds 99.8% of the circle's area).

    Returns
    -------
    geopandas.GeoSeries
        One polygon per facility, index as the facilities, in ``metric_crs``
        (``.to_crs(4326)`` for maps).

    Example
    -------
    >>> import geopandas as gpd
    >>> fac = gpd.GeoSeries.from_xy([117.2], [39.1], crs=4326)
    >>> areas = service_areas(fac)
    >>> areas.crs.to_epsg(), round(float(areas.area.iloc[0]) / 1e6, 2)
    (32650, 3.14)
    """
    distance = walking_distance_m(minutes, speed_m_per_min)
    network = _check_mode(mode, network)
    if network is not None:
        crs = pyproj.CRS.from_user_input(metric_crs) if metric_crs is not None else network.crs
        areas = network_service_areas(
            network, facilities, distance, buffer_m=buffer_m, quad_segs=quad_segs
        )
        return areas if areas.crs == crs else areas.to_crs(crs)
    if metric_crs is None:
        if len(facilities) == 0:
            return gpd.GeoSeries([], index=facilities.index, crs=facilities.crs)
        # check the points (geometry, CRS, range) before choosing a CRS from them
        points_in_crs(facilities, pyproj.CRS.from_epsg(4326), what="facilities")
    crs = metric_crs_for(facilities, metric_crs)
    points = points_in_crs(facilities, crs, what="facilities")
    circles = shapely.buffer(points, distance, quad_segs=quad_segs)
    return gpd.GeoSeries(np.asarray(circles, dtype=object), index=facilities.index, crs=crs)


@dataclass(frozen=True, eq=False)
class CoverageResult:
    """The answer of :func:`coverage_by_unit`.

    Attributes
    ----------
    level : str
        The level the units and gaps are given at.
    units : pandas.DataFrame
        One row per unit of the level, in the set's order: ``code``, ``name``, ``area_m2``,
        ``covered_area_m2``, ``served`` (its representative point lies in a service area),
        ``population``, ``population_60``, ``covered``, ``covered_60``, ``uncovered``,
        ``uncovered_60``, ``share_covered_60`` (NaN without 60+ residents).
    gaps : geopandas.GeoDataFrame
        The parts of the level's units outside every service area, EPSG:4326, cut at the unit
        boundaries (each piece lies in one unit), largest uncovered 60+ population first:
        ``unit`` (code), ``residents``, ``residents_60`` (uncovered, in the piece),
        ``area_m2``.
    summary : dict
        Parameters and totals: ``residents``, ``residents_60``, ``covered_60``,
        ``uncovered_60``, ``share_covered_60`` and more; the 60+ residents of population
        cells or points in no unit of the level are ``residents_60_outside_level``.
    demand : geopandas.GeoDataFrame
        Where the uncovered residents are, EPSG:4326: one point per uncovered piece of a
        population cell (its representative point) or per uncovered population point, with
        ``unit``, ``residents`` and ``residents_60`` uncovered there. :func:`suggest_sites`
        places new sites against it.
    service_areas : geopandas.GeoSeries
        The facilities' service areas in ``metric_crs``.
    """

    level: str
    units: pd.DataFrame
    gaps: gpd.GeoDataFrame
    summary: dict[str, Any]
    demand: gpd.GeoDataFrame
    service_areas: gpd.GeoSeries
    bset: BoundarySet = field(repr=False)
    metric_crs: pyproj.CRS = field(repr=False)
    distance_m: float = 0.0
    mode: str = CIRCLE
    network: StreetNetwork | None = field(default=None, repr=False)
    buffer_m: float = DEFAULT_BUFFER_M
    quad_segs: int = 16
    _demand_metric: NDArray[np.object_] = field(
        default_factory=lambda: np.empty(0, dtype=object), repr=False
    )


def coverage_by_unit(
    bset: BoundarySet,
    level: str,
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    population: pd.DataFrame | gpd.GeoDataFrame | None = None,
    *,
    minutes: float = DEFAULT_MINUTES,
    speed_m_per_min: float = DEFAULT_SPEED_M_PER_MIN,
    mode: str = CIRCLE,
    network: StreetNetwork | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
    metric_crs: pyproj.CRS | str | int | None = None,
    quad_segs: int = 16,
) -> CoverageResult:
    """Residents (60+ and all) inside and outside the facilities' service areas, per unit.

    Parameters
    ----------
    bset : BoundarySet
    level : str
        The level to report units and gaps at.
    facilities : GeoDataFrame or GeoSeries
        Facility points with a CRS. Facilities outside the set count for whatever their
        service area reaches inside it.
    population : DataFrame or GeoDataFrame, optional
        Per unit (``code`` column or index, ``residents``, ``residents_60``) or per point
        (points with ``residents``, ``residents_60``); see the module notes. Without it only
        areas are measured and every count is 0.
    minutes, speed_m_per_min : float
        The service distance is their product (default 1,000 m).
    mode : {"circle", "network"}
    network : StreetNetwork, optional
        Required in network mode.
    buffer_m : float, default 50
        Network mode: band kept on each side of a reachable street.
    metric_crs : pyproj.CRS, str or int, optional
        The projected CRS to measure in; by default the set's ``metric_crs``.
    quad_segs : int, default 16
        Segments per quarter circle.

    Returns
    -------
    CoverageResult

    Raises
    ------
    UnknownLevel, UnitNotFound, InvalidPopulation, InvalidServiceParameters, InvalidGeometry

    Example
    -------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> top = gpd.GeoDataFrame({"code": ["A"], "name": ["Area"], "parent": [""]},
    ...                        geometry=[shapely.box(117.2, 39.1, 117.25, 39.15)], crs=4326)
    >>> bs = BoundarySet.from_levels([("area", top)])
    >>> fac = gpd.GeoSeries.from_xy([117.5], [39.5], crs=4326)   # far away
    >>> pop = pd.DataFrame({"code": ["A"], "residents": [900], "residents_60": [200]})
    >>> r = coverage_by_unit(bs, "area", fac, pop)
    >>> r.summary["uncovered_60"], round(float(r.gaps["residents_60"].sum()), 6)
    (200.0, 200.0)
    """
    depth = bset.depth_of(level)
    distance = walking_distance_m(minutes, speed_m_per_min)
    network = _check_mode(mode, network)
    crs = bset.metric_crs if metric_crs is None else pyproj.CRS.from_user_input(metric_crs)
    areas_series = service_areas(
        facilities,
        minutes=minutes,
        speed_m_per_min=speed_m_per_min,
        metric_crs=crs,
        mode=mode,
        network=network,
        buffer_m=buffer_m,
        quad_segs=quad_segs,
    )
    areas = areas_series.to_numpy()
    areas = areas[~(shapely.is_missing(areas) | shapely.is_empty(areas))]
    shapely.prepare(areas)
    tree = shapely.STRtree(areas)

    level_pos = bset.level_positions(depth)
    level_geoms = _metric_geometries(bset, level_pos, crs)
    level_area = shapely.area(level_geoms)
    level_gaps = _uncovered(level_geoms, areas, tree)
    level_gap_area = shapely.area(level_gaps)
    reps = shapely.point_on_surface(level_geoms)
    served = np.zeros(len(level_pos), dtype=bool)
    served[tree.query(reps, predicate="intersects")[0]] = True

    gaps = _Gaps(*_explode(level_gaps), level_gaps=level_gaps, level_gap_area=level_gap_area)
    if population is None:
        counted = _Counted.nobody(len(level_pos), gaps)
    elif isinstance(population, gpd.GeoDataFrame) and _is_points(population):
        counted = _count_points(bset, population, depth, level_pos, crs, tree, gaps)
    else:
        cells = _unit_population(bset, population, depth, level_pos, crs, level_area)
        counted = _count_cells(bset, cells, areas, tree, gaps)
    totals = counted.totals

    codes = bset.codes[level_pos]
    units = pd.DataFrame(
        {
            "code": codes,
            "name": bset.units["name"].to_numpy(dtype=object)[level_pos],
            "area_m2": level_area,
            "covered_area_m2": np.maximum(level_area - level_gap_area, 0.0),
            "served": served,
            "population": totals[0],
            "population_60": totals[1],
            "covered": totals[2],
            "covered_60": totals[3],
            "uncovered": totals[0] - totals[2],
            "uncovered_60": totals[1] - totals[3],
        }
    )
    units["share_covered_60"] = np.divide(
        totals[3], totals[1], out=np.full(len(units), np.nan), where=totals[1] > 0
    )

    pieces = counted.gaps.pieces
    gap_frame = gpd.GeoDataFrame(
        {
            "unit": codes[counted.gaps.unit],
            "residents": counted.piece_pop[:, 0],
            "residents_60": counted.piece_pop[:, 1],
            "area_m2": shapely.area(pieces),
        },
        geometry=_to_wgs84(pieces, crs),
        crs=4326,
    )
    gap_frame = gap_frame.sort_values(["residents_60", "area_m2"], ascending=False, kind="stable")
    gap_frame = gap_frame.reset_index(drop=True)
    demand = gpd.GeoDataFrame(
        {
            "unit": codes[counted.demand_unit],
            "cell": counted.demand_cell,
            "residents": counted.demand_pop[:, 0],
            "residents_60": counted.demand_pop[:, 1],
        },
        geometry=_to_wgs84(counted.demand, crs),
        crs=4326,
    )
    summary = _summary(units, gap_frame, counted.outside_level)
    summary.update(
        level=level,
        mode=mode,
        minutes=float(minutes),
        speed_m_per_min=float(speed_m_per_min),
        distance_m=distance,
        metric_crs=crs.to_string(),
        facilities=len(areas_series),
        population=counted.source,
    )
    if mode == NETWORK:
        summary["buffer_m"] = float(buffer_m)
    return CoverageResult(
        level=level,
        units=units,
        gaps=gap_frame,
        summary=summary,
        demand=demand,
        service_areas=areas_series,
        bset=bset,
        metric_crs=crs,
        distance_m=distance,
        mode=mode,
        network=network,
        buffer_m=buffer_m,
        quad_segs=quad_segs,
        _demand_metric=np.asarray(counted.demand, dtype=object),
    )


def suggest_sites(
    coverage: CoverageResult,
    k: int,
    *,
    candidates: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
) -> gpd.GeoDataFrame:
    """Up to ``k`` new facility sites that cover the most uncovered 60+ residents.

    This is the maximal covering location problem (MCLP; Church and ReVelle, 1974), solved
    greedily: each step takes the candidate whose service area holds the most 60+ residents
    not yet covered, then marks them covered, so no resident counts twice. Coverage is a
    monotone submodular function, so the greedy total is at least (1 - 1/e), about 63%, of
    the best possible total for ``k`` sites (Nemhauser, Wolsey and Fisher, 1978); in practice
    it is usually within a few percent. Gains never increase from one site to the next.

    The demand is :attr:`CoverageResult.demand`: each uncovered piece of a population cell
    counts at its representative point (or each uncovered population point at itself). A
    piece is as small as a micro-grid, far below the service radius, and exact area shares
    would need an intersection per candidate and cell (about 10^7 at city scale) for a
    difference of at most one piece at the rim of each new circle. Sites are scored with the
    service areas of the coverage's mode: circles of the coverage's distance, or, in network
    mode, each candidate's network area (slow for many candidates: give ``candidates``).

    Parameters
    ----------
    coverage : CoverageResult
        The current coverage (the existing facilities).
    k : int
        Number of sites wanted. Fewer are returned when nobody is left to cover.
    candidates : GeoDataFrame or GeoSeries, optional
        Candidate points with a CRS, labelled by a ``code`` column or else the index. By
        default the representative point of every unit of the deepest level (micro-grids).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per site in the order picked, EPSG:4326: ``rank`` (1, 2, ...), ``site`` (the
        candidate's label), ``unit`` (code of the unit of the coverage's level it lies in, or
        None), ``lon``, ``lat``, ``gain_60`` (60+ residents newly covered), ``gain``
        (residents of all ages covered by the same demand points), ``cumulative_60``,
        ``share_of_uncovered_60`` (cumulative share of the uncovered 60+ total).

    Raises
    ------
    InvalidServiceParameters
        ``k`` below 1.

    Example
    -------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> top = gpd.GeoDataFrame({"code": ["A"], "name": ["Area"], "parent": [""]},
    ...                        geometry=[shapely.box(117.2, 39.1, 117.25, 39.15)], crs=4326)
    >>> bs = BoundarySet.from_levels([("area", top)])
    >>> pop = pd.DataFrame({"code": ["A"], "residents": [900], "residents_60": [200]})
    >>> r = coverage_by_unit(bs, "area", gpd.GeoSeries([], crs=4326), pop)
    >>> sites = suggest_sites(r, 3)
    >>> sites["gain_60"].round(6).tolist()      # one site takes the only demand point
    [200.0]
    """
    if not isinstance(k, int | np.integer) or k < 1:
        raise InvalidServiceParameters(f"k must be a whole number >= 1, got {k!r}", allowed=">= 1")
    crs = coverage.metric_crs
    bset = coverage.bset
    if candidates is None:
        deepest = bset.level_positions(len(bset.levels) - 1)
        sites = shapely.point_on_surface(_metric_geometries(bset, deepest, crs))
        labels = bset.codes[deepest]
    else:
        sites = points_in_crs(candidates, crs, what="candidates")
        if isinstance(candidates, gpd.GeoDataFrame) and "code" in candidates.columns:
            labels = candidates["code"].to_numpy(dtype=object)
        else:
            labels = candidates.index.to_numpy(dtype=object)
    demand = coverage._demand_metric
    weight = coverage.demand["residents_60"].to_numpy(dtype=float).copy()
    weight_all = coverage.demand["residents"].to_numpy(dtype=float)
    tree = shapely.STRtree(demand)
    if coverage.mode == NETWORK and coverage.network is not None:
        frame = gpd.GeoSeries(sites, crs=crs)
        areas = network_service_areas(
            coverage.network,
            frame,
            coverage.distance_m,
            buffer_m=coverage.buffer_m,
            quad_segs=coverage.quad_segs,
        )
        site_i, dem_j = tree.query(areas.to_crs(crs).to_numpy(), predicate="intersects")
    else:
        site_i, dem_j = tree.query(sites, predicate="dwithin", distance=coverage.distance_m)

    picks, gains, gains_all = _greedy(site_i, dem_j, len(sites), weight, weight_all, k)
    picked = sites[picks] if len(picks) else np.empty(0, dtype=object)
    wgs84 = _to_wgs84(picked, crs)
    level_pos = bset.level_positions(coverage.level)
    unit = _first_unit(picked, _metric_geometries(bset, level_pos, crs), bset.codes[level_pos])
    total = float(coverage.summary["uncovered_60"])
    cumulative = np.cumsum(gains)
    return gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(picks) + 1),
            "site": labels[picks] if len(picks) else np.empty(0, dtype=object),
            "unit": unit,
            "lon": shapely.get_x(wgs84),
            "lat": shapely.get_y(wgs84),
            "gain_60": gains,
            "gain": gains_all,
            "cumulative_60": cumulative,
            "share_of_uncovered_60": cumulative / total if total > 0 else np.nan,
        },
        geometry=wgs84,
        crs=4326,
    )


# -- helpers ---------------------------------------------------------------------------------


def _check_mode(mode: str, network: StreetNetwork | None) -> StreetNetwork | None:
    """The network to use (None in circle mode); refuse unknown modes and a missing network."""
    if mode not in MODES:
        raise InvalidServiceParameters(f"unknown mode {mode!r}", allowed=", ".join(MODES))
    if mode == NETWORK:
        if network is None:
            raise InvalidServiceParameters(
                "network mode needs a street network", allowed="network=StreetNetwork"
            )
        return network
    return None


def _metric_geometries(
    bset: BoundarySet, positions: NDArray[np.intp], crs: pyproj.CRS
) -> NDArray[np.object_]:
    """Unit geometries in a metric CRS: the set's cached ones when it is the set's CRS."""
    if crs == bset.metric_crs:
        return bset.metric_geometries[positions]
    geoms = bset.units.geometry.to_numpy()[positions]
    if crs.to_epsg() is not None:
        return transform_geometries(geoms, "wgs84", parse_crs(crs))
    return gpd.GeoSeries(geoms, crs=4326).to_crs(crs).to_numpy()


def _to_wgs84(geoms: NDArray[np.object_], crs: pyproj.CRS) -> NDArray[np.object_]:
    if len(geoms) == 0:
        return np.empty(0, dtype=object)
    return gpd.GeoSeries(geoms, crs=crs).to_crs(4326).to_numpy()


def _uncovered(
    geoms: NDArray[np.object_], areas: NDArray[np.object_], tree: shapely.STRtree
) -> NDArray[np.object_]:
    """Each geometry minus the service areas, vectorised: the areas touching it, found in the
    tree, clipped to its bounding box and unioned locally (never all areas at once)."""
    gaps = np.array(geoms, dtype=object, copy=True)
    if len(geoms) == 0 or len(areas) == 0:
        return gaps
    gi, ai = tree.query(geoms, predicate="intersects")
    if gi.size == 0:
        return gaps
    whole = np.zeros(len(geoms), dtype=bool)
    whole[gi[shapely.covers(areas[ai], geoms[gi])]] = True  # inside one area: no gap
    gaps[whole] = _EMPTY
    keep = ~whole[gi]
    gi, ai = gi[keep], ai[keep]
    if gi.size == 0:
        return gaps
    order = np.argsort(gi, kind="stable")
    gi, ai = gi[order], ai[order]
    groups, start, count = np.unique(gi, return_index=True, return_counts=True)
    single = count == 1
    one = groups[single]
    gaps[one] = shapely.difference(geoms[one], areas[ai[start[single]]])
    if (~single).any():
        multi = ~single
        member = np.flatnonzero(np.repeat(multi, count))  # pairs of geometries with 2+ areas
        target = gi[member]
        # clip to a box a metre larger than the geometry: unions stay small and local
        minx, miny, maxx, maxy = shapely.bounds(geoms[target]).T
        clipped = shapely.intersection(
            areas[ai[member]], shapely.box(minx - 1.0, miny - 1.0, maxx + 1.0, maxy + 1.0)
        )
        unions = _grouped_union(clipped, count[multi])
        gaps[groups[multi]] = shapely.difference(geoms[groups[multi]], unions)
    return gaps


def _grouped_union(geoms: NDArray[np.object_], counts: NDArray[np.intp]) -> NDArray[np.object_]:
    """Union of consecutive runs of geometries (run i has counts[i] members), vectorised.

    Runs are padded into rectangles for ``union_all(axis=1)``; runs of similar length go
    together (by powers of two), so a few long runs do not pad all the others.
    """
    out = np.empty(len(counts), dtype=object)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    bucket = np.floor(np.log2(counts)).astype(int)
    for b in np.unique(bucket):
        runs = np.flatnonzero(bucket == b)
        width = int(counts[runs].max())
        table = np.full((len(runs), width), None, dtype=object)
        row = np.repeat(np.arange(len(runs)), counts[runs])
        column = np.arange(row.size) - np.repeat(
            np.cumsum(counts[runs]) - counts[runs], counts[runs]
        )
        table[row, column] = geoms[np.repeat(offsets[runs], counts[runs]) + column]
        out[runs] = shapely.union_all(table, axis=1)
    return out


def _explode(geoms: NDArray[np.object_]) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
    """Polygon parts of each geometry with positive area, and the geometry each came from."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    polygonal = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    keep = polygonal & (shapely.area(parts) > 0)
    return parts[keep], index[keep].astype(np.intp)


def _piece_of_parts(
    parts: NDArray[np.object_],
    part_unit: NDArray[np.intp],
    pieces: NDArray[np.object_],
    piece_unit: NDArray[np.intp],
) -> tuple[NDArray[np.intp], NDArray[np.object_], NDArray[np.intp]]:
    """The gap piece of its own unit holding each part's representative point.

    A part found in no piece of its unit (a child drawn outside its parent) becomes a piece of
    its own, so that the pieces still hold every uncovered resident.
    """
    found = _piece_of_points(
        shapely.point_on_surface(parts), part_unit, pieces, piece_unit, nearest=False
    )
    orphan = found < 0
    found[orphan] = len(pieces) + np.arange(int(orphan.sum()))
    pieces = np.concatenate([pieces, parts[orphan]])
    piece_unit = np.concatenate([piece_unit, part_unit[orphan]])
    return found, pieces, piece_unit


def _piece_of_points(
    points: NDArray[np.object_],
    unit: NDArray[np.intp],
    pieces: NDArray[np.object_],
    piece_unit: NDArray[np.intp],
    *,
    nearest: bool = True,
) -> NDArray[np.intp]:
    """For each point the gap piece of its unit that covers it; else the nearest piece (or -1)."""
    out = np.full(len(points), -1, dtype=np.intp)
    if len(points) == 0 or len(pieces) == 0:
        return out
    tree = shapely.STRtree(pieces)
    pi, qi = tree.query(points, predicate="intersects")
    same = piece_unit[qi] == unit[pi]
    pi, qi = pi[same][::-1], qi[same][::-1]
    out[pi] = qi  # reversed, so the first match in tree order wins
    missing = np.flatnonzero(out < 0)
    if nearest and missing.size:
        near = tree.query_nearest(points[missing], all_matches=False)
        out[missing[near[0]]] = near[1]
    return out


@dataclass(frozen=True)
class _Gaps:
    """The gap pieces of the level: each unit minus the service areas, split into parts."""

    pieces: NDArray[np.object_]
    unit: NDArray[np.intp]  # index among the level's units
    level_gaps: NDArray[np.object_]
    level_gap_area: NDArray[np.float64]


@dataclass(frozen=True)
class _Counted:
    """Population counted against the service areas, whatever form it came in."""

    totals: NDArray[np.float64]  # rows: residents, residents_60, covered, covered_60 per unit
    outside_level: NDArray[np.float64]  # residents, residents_60 in no unit of the level
    gaps: _Gaps  # may hold extra pieces (parts of cells outside their unit's gaps)
    piece_pop: NDArray[np.float64]  # residents, residents_60 uncovered in each piece
    demand: NDArray[np.object_]  # metric points where uncovered residents are
    demand_unit: NDArray[np.intp]
    demand_pop: NDArray[np.float64]
    demand_cell: NDArray[np.object_]  # code of the population cell, None for points
    source: str

    @classmethod
    def nobody(cls, n_level: int, gaps: _Gaps) -> _Counted:
        return cls(
            np.zeros((4, n_level)),
            np.zeros(2),
            gaps,
            np.zeros((len(gaps.pieces), 2)),
            np.empty(0, dtype=object),
            np.empty(0, dtype=np.intp),
            np.zeros((0, 2)),
            np.empty(0, dtype=object),
            "none",
        )


def _count_points(
    bset: BoundarySet,
    population: gpd.GeoDataFrame,
    depth: int,
    level_pos: NDArray[np.intp],
    crs: pyproj.CRS,
    tree: shapely.STRtree,
    gaps: _Gaps,
) -> _Counted:
    """Population points: each covered or not, exactly; uncovered ones go to their gap piece."""
    n_level = len(level_pos)
    pts, pop, unit = _point_population(bset, population, depth, level_pos, crs)
    outside_level = pop[unit < 0].sum(axis=0)
    pts, pop, unit = pts[unit >= 0], pop[unit >= 0], unit[unit >= 0]
    covered = np.zeros(len(pts), dtype=bool)
    covered[tree.query(pts, predicate="intersects")[0]] = True
    totals = np.zeros((4, n_level))
    for column in (0, 1):
        totals[column] = np.bincount(unit, pop[:, column], minlength=n_level)
        totals[column + 2] = np.bincount(unit[covered], pop[covered, column], minlength=n_level)
    open_ = ~covered & (pop.sum(axis=1) > 0)
    demand, demand_unit, demand_pop = pts[open_], unit[open_], pop[open_]
    piece_of = _piece_of_points(demand, demand_unit, gaps.pieces, gaps.unit)
    piece_pop = np.zeros((len(gaps.pieces), 2))
    # a point snapped into a unit from outside it, when no unit of the level has a gap left,
    # is in no piece: it stays in the units' totals only
    found = piece_of >= 0
    np.add.at(piece_pop, piece_of[found], demand_pop[found])
    cells = np.full(len(demand), None, dtype=object)
    return _Counted(
        totals, outside_level, gaps, piece_pop, demand, demand_unit, demand_pop, cells, "points"
    )


def _count_cells(
    bset: BoundarySet,
    cells: _Cells,
    areas: NDArray[np.object_],
    tree: shapely.STRtree,
    gaps: _Gaps,
) -> _Counted:
    """Population cells: spread uniformly over each cell, covered by the share of its area."""
    n_level = len(gaps.level_gaps)
    outside_level = cells.pop[cells.unit < 0].sum(axis=0)
    cells = cells.placed()
    if cells.same_as_level:
        # the cells are units of the level: their gaps are the level's pieces
        open_area = gaps.level_gap_area[cells.unit]
        cell_of_unit = np.full(n_level, -1, dtype=np.intp)
        cell_of_unit[cells.unit] = np.arange(len(cells.unit))
        in_cell = np.flatnonzero(cell_of_unit[gaps.unit] >= 0)
        parts, part_cell = gaps.pieces[in_cell], cell_of_unit[gaps.unit[in_cell]]
    else:
        cell_gaps = _uncovered(cells.geoms, areas, tree)
        open_area = shapely.area(cell_gaps)
        parts, part_cell = _explode(cell_gaps)
    share_open = np.divide(
        open_area, cells.area, out=np.ones(len(cells.area)), where=cells.area > 0
    )
    open_pop = cells.pop * share_open[:, None]
    totals = np.zeros((4, n_level))
    for column in (0, 1):
        totals[column] = np.bincount(cells.unit, cells.pop[:, column], minlength=n_level)
        totals[column + 2] = totals[column] - np.bincount(
            cells.unit, open_pop[:, column], minlength=n_level
        )
    density = np.divide(
        cells.pop, cells.area[:, None], out=np.zeros_like(cells.pop), where=cells.area[:, None] > 0
    )
    part_pop = density[part_cell] * shapely.area(parts)[:, None]
    part_unit = cells.unit[part_cell]
    if cells.same_as_level:
        piece_of = in_cell
    else:
        piece_of, pieces, piece_unit = _piece_of_parts(parts, part_unit, gaps.pieces, gaps.unit)
        gaps = _Gaps(pieces, piece_unit, gaps.level_gaps, gaps.level_gap_area)
    piece_pop = np.zeros((len(gaps.pieces), 2))
    np.add.at(piece_pop, piece_of, part_pop)
    keep = part_pop.sum(axis=1) > 0
    return _Counted(
        totals,
        outside_level,
        gaps,
        piece_pop,
        shapely.point_on_surface(parts[keep]),
        part_unit[keep],
        part_pop[keep],
        bset.codes[cells.positions[part_cell[keep]]],
        "units: " + ", ".join(cells.levels),
    )


def _is_points(frame: gpd.GeoDataFrame) -> bool:
    geoms = frame.geometry.to_numpy()
    return len(geoms) > 0 and bool((shapely.get_type_id(geoms) == shapely.GeometryType.POINT).all())


def _population_values(frame: pd.DataFrame) -> NDArray[np.float64]:
    """The residents and residents_60 columns as floats, checked."""
    missing = [c for c in POPULATION_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidPopulation(
            f"population lacks column(s) {missing}; it has {list(frame.columns)}",
            allowed="columns residents and residents_60 (numbers >= 0)",
        )
    try:
        values = frame[list(POPULATION_COLUMNS)].to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidPopulation(
            f"population counts are not numbers: {exc}", allowed="numbers >= 0"
        ) from None
    bad = ~np.isfinite(values).all(axis=1) | (values < 0).any(axis=1)
    bad |= values[:, 1] > values[:, 0]
    if bad.any():
        where = np.flatnonzero(bad)
        raise InvalidPopulation(
            f"{where.size} population row(s) are invalid; first at position {where[0]}: "
            f"residents={values[where[0], 0]}, residents_60={values[where[0], 1]}",
            allowed="finite numbers with 0 <= residents_60 <= residents",
            invalid_count=int(where.size),
        )
    return values


def _point_population(
    bset: BoundarySet,
    population: gpd.GeoDataFrame,
    depth: int,
    level_pos: NDArray[np.intp],
    crs: pyproj.CRS,
) -> tuple[NDArray[np.object_], NDArray[np.float64], NDArray[np.intp]]:
    """Population points in metres, their counts, and their unit of the level (-1 if none)."""
    values = _population_values(population)
    wgs84 = points_in_crs(population, pyproj.CRS.from_epsg(4326), what="population points")
    assigned = BoundaryIndex(bset).assign(shapely.get_x(wgs84), shapely.get_y(wgs84))
    chain = assigned.chain[:, depth].copy()
    chain[assigned.status == UNASSIGNED] = -1
    unit = _level_index(bset, level_pos)[np.maximum(chain, 0)]
    unit[chain < 0] = -1
    return points_in_crs(population, crs, what="population points"), values, unit


def _level_index(bset: BoundarySet, level_pos: NDArray[np.intp]) -> NDArray[np.intp]:
    """For every unit position, its index among the level's units (-1 if not of the level)."""
    index = np.full(len(bset), -1, dtype=np.intp)
    index[level_pos] = np.arange(len(level_pos))
    return index


@dataclass(frozen=True)
class _Cells:
    """Population cells: the unit carrying the count, or a unit of the level below it."""

    positions: NDArray[np.intp]
    unit: NDArray[np.intp]  # index among the level's units, -1 if none
    geoms: NDArray[np.object_]
    area: NDArray[np.float64]
    pop: NDArray[np.float64]  # residents, residents_60
    levels: tuple[str, ...]
    same_as_level: bool

    def placed(self) -> _Cells:
        keep = self.unit >= 0
        return _Cells(
            self.positions[keep],
            self.unit[keep],
            self.geoms[keep],
            self.area[keep],
            self.pop[keep],
            self.levels,
            self.same_as_level,
        )


def _unit_population(
    bset: BoundarySet,
    population: pd.DataFrame,
    depth: int,
    level_pos: NDArray[np.intp],
    crs: pyproj.CRS,
    level_area: NDArray[np.float64],
) -> _Cells:
    """Population per unit code turned into cells at or below the level."""
    values = _population_values(population)
    keys = population["code"] if "code" in population.columns else population.index.to_series()
    codes = keys.astype(str).to_numpy(dtype=object)
    repeated = pd.Index(codes).duplicated()
    if repeated.any():
        raise InvalidPopulation(
            f"unit code {codes[repeated][0]!r} has more than one population row",
            allowed="one row per unit code",
        )
    positions = bset.positions(codes)
    if (positions < 0).any():
        unknown = codes[positions < 0]
        raise UnitNotFound(
            f"{unknown.size} population code(s) are not in the boundary set, e.g. {unknown[0]!r}",
            allowed="codes of units of the set",
            unknown=[str(c) for c in unknown[:10]],
        )
    chains = bset.chains
    is_source = np.zeros(len(bset), dtype=bool)
    is_source[positions] = True
    unit_depth = bset.units["depth"].to_numpy()
    source_depth = unit_depth[positions]
    ancestors = chains[positions]
    nested = (ancestors >= 0) & (np.arange(len(bset.levels))[None, :] < source_depth[:, None])
    nested &= is_source[np.maximum(ancestors, 0)]
    if nested.any():
        row, col = np.argwhere(nested)[0]
        outer = bset.codes[ancestors[row, col]]
        raise InvalidPopulation(
            f"population is given for unit {codes[row]!r} and for {outer!r}, which contains it",
            allowed="population for units that do not contain one another",
        )
    level_index = _level_index(bset, level_pos)
    # cells at or below the level: the units given
    below = source_depth >= depth
    cell_pos = positions[below]
    anc = chains[cell_pos, depth]
    cell_unit = np.where(anc >= 0, level_index[np.maximum(anc, 0)], -1)
    cell_pop = values[below]
    # given above the level: each unit of the level below them gets its share by area
    above = ~below
    if above.any():
        row_of = np.full(len(bset), -1, dtype=np.intp)
        row_of[positions] = np.arange(len(positions))
        source_area = shapely.area(_metric_geometries(bset, positions[above], crs))
        area_of = np.zeros(len(bset))
        area_of[positions[above]] = source_area
        level_chains = chains[level_pos]
        spread = np.zeros(len(bset))  # share of each source's area its level units cover
        for d in np.unique(source_depth[above]):
            anc_d = level_chains[:, d]
            hit = np.flatnonzero((anc_d >= 0) & is_source[np.maximum(anc_d, 0)])
            if hit.size == 0:
                continue
            src = anc_d[hit]
            share = np.divide(
                level_area[hit], area_of[src], out=np.zeros(hit.size), where=area_of[src] > 0
            )
            np.add.at(spread, src, share)
            cell_pos = np.concatenate([cell_pos, level_pos[hit]])
            cell_unit = np.concatenate([cell_unit, hit])
            cell_pop = np.concatenate([cell_pop, values[row_of[src]] * share[:, None]])
        # The part of a source that no unit of the level covers (a gap between its children)
        # is counted as outside the level, so the totals still add up to the table's.
        rest = np.clip(1.0 - spread[positions[above]], 0.0, 1.0)
        rest[rest < 1e-9] = 0.0
        leftover = rest > 0
        if leftover.any():
            cell_pos = np.concatenate([cell_pos, positions[above][leftover]])
            cell_unit = np.concatenate([cell_unit, np.full(int(leftover.sum()), -1)])
            cell_pop = np.concatenate([cell_pop, values[above][leftover] * rest[leftover][:, None]])
    placed = cell_unit >= 0
    same = bool((unit_depth[cell_pos[placed]] == depth).all())
    geoms = (
        _metric_geometries(bset, cell_pos, crs)
        if not same
        else np.empty(len(cell_pos), dtype=object)
    )
    area = (
        np.where(placed, level_area[np.maximum(cell_unit, 0)], 0.0)
        if same
        else (shapely.area(geoms))
    )
    levels = tuple(bset.levels[d] for d in np.unique(source_depth))
    return _Cells(
        cell_pos.astype(np.intp), cell_unit.astype(np.intp), geoms, area, cell_pop, levels, same
    )


def _summary(
    units: pd.DataFrame, gaps: gpd.GeoDataFrame, outside_level: NDArray[np.float64]
) -> dict[str, Any]:
    residents = float(units["population"].sum())
    residents_60 = float(units["population_60"].sum())
    covered = float(units["covered"].sum())
    covered_60 = float(units["covered_60"].sum())
    return {
        "units": len(units),
        "residents": residents,
        "residents_60": residents_60,
        "covered": covered,
        "covered_60": covered_60,
        "uncovered": residents - covered,
        "uncovered_60": residents_60 - covered_60,
        "share_covered": covered / residents if residents > 0 else float("nan"),
        "share_covered_60": covered_60 / residents_60 if residents_60 > 0 else float("nan"),
        "area_m2": float(units["area_m2"].sum()),
        "covered_area_m2": float(units["covered_area_m2"].sum()),
        "gap_area_m2": float(gaps["area_m2"].sum()),
        "gaps": len(gaps),
        "units_served": int(units["served"].sum()),
        "units_fully_covered_60": int(
            ((units["population_60"] > 0) & (units["uncovered_60"] <= 1e-9)).sum()
        ),
        "residents_outside_level": float(outside_level[0]),
        "residents_60_outside_level": float(outside_level[1]),
    }


def _greedy(
    site: NDArray[np.intp],
    demand: NDArray[np.intp],
    n_sites: int,
    weight: NDArray[np.float64],
    weight_all: NDArray[np.float64],
    k: int,
) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]:
    """Greedy maximum coverage over (site, demand) pairs: picks, 60+ gains, all-age gains."""
    n_demand = len(weight)
    by_site = np.argsort(site, kind="stable")
    site_ptr = np.searchsorted(site[by_site], np.arange(n_sites + 1))
    by_demand = np.argsort(demand, kind="stable")
    demand_ptr = np.searchsorted(demand[by_demand], np.arange(n_demand + 1))
    gain = np.bincount(site, weights=weight[demand], minlength=n_sites)
    left = weight.copy()
    picks: list[int] = []
    gains: list[float] = []
    gains_all: list[float] = []
    for _ in range(k):
        if n_sites == 0:
            break
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        covered = demand[by_site[site_ptr[best] : site_ptr[best + 1]]]
        covered = covered[left[covered] > 0]
        picks.append(best)
        gains.append(float(left[covered].sum()))
        gains_all.append(float(weight_all[covered].sum()))
        # every site that also reaches these residents loses them
        spans = [by_demand[demand_ptr[d] : demand_ptr[d + 1]] for d in covered]
        if spans:
            pairs = np.concatenate(spans)
            np.subtract.at(gain, site[pairs], left[demand[pairs]])
        left[covered] = 0.0
        gain[best] = 0.0
    return np.array(picks, dtype=np.intp), np.array(gains), np.array(gains_all)


def _first_unit(
    points: NDArray[np.object_], geoms: NDArray[np.object_], codes: NDArray[np.object_]
) -> NDArray[np.object_]:
    """Code of the unit covering each point (the smallest code on a shared edge), or None."""
    out = np.full(len(points), None, dtype=object)
    if len(points) == 0:
        return out
    pi, ui = shapely.STRtree(geoms).query(points, predicate="intersects")
    order = np.lexsort((codes[ui].astype(str), pi))[::-1]
    out[pi[order]] = codes[ui[order]]
    return out
