"""Circle-mode coverage over the city-scale set, beside the plain geopandas approach in one run.

    .venv/bin/python bench/coverage.py [--microgrids 150000] [--facilities 1000] [--level community]

Reads (or builds once, cached under var/bench/, shared with bench/assign.py) the city-scale set:
all 16 Tianjin districts split into about 150,000 micro-grids. Gives every micro-grid a seeded
synthetic population (denser towards the centre, about 22% aged 60+) and places the facilities
at micro-grids drawn in proportion to their 60+ residents. Then times

* ``coverage_by_unit`` (units table at ``--level``, gap pieces with their population, demand
  points), cold (projecting the set to metres included) and warm (projection cached), and
* the plain geopandas approach: project the micro-grids, buffer every facility, union the
  circles, ``geopandas.overlay`` with the micro-grids, weight each piece's 60+ residents by
  its share of the micro-grid's area,

and prints both times, their ratio and both covered 60+ totals with their relative difference.
It exits non-zero if the totals differ by 0.1% or more. ``suggest_sites`` is timed last.

Network mode at city scale:

    .venv/bin/python bench/coverage.py --network [--edges 100000] [--facilities 1000] [--sample 40]

builds a seeded street network of at least ``--edges`` edges (a perturbed grid: blocks of 60 to
140 m, crossings moved by up to 15 m, one street in five bent at its middle, 2% of the streets
missing), places the facilities at random in it, and times the service areas of all of them
(``network_service_areas``: the distances in one compiled pass, then the pieces joined along
the network's strokes and buffered; the strokes are built once before, timed apart), the
distance pass on its own, and the nearest-facility pass (``network_distances``). Beside them, the
reference path (one networkx Dijkstra per facility, then every piece buffered on its own and
the bands joined) is timed on ``--sample`` facilities and extrapolated to all of them; on that
sample the distances and the areas are compared, and it exits non-zero if the distances
differ, or the areas by more than GEOS's drawing of arcs (boundaries over 0.12 m apart, or
1e-4 of the area).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from boundaries.demo import build_city, write_gpkg
from boundaries.loader import read_boundary_set
from geo.coverage import (
    DEFAULT_MINUTES,
    DEFAULT_SPEED_M_PER_MIN,
    coverage_by_unit,
    suggest_sites,
    walking_distance_m,
)
from geo.network import StreetNetwork, network_distances, network_service_areas, points_in_crs
from geo.reach import networkx_node_distances, reach_blocks, street_pieces
from geo.units import BoundarySet

CACHE = Path("var/bench")
#: The centre of Tianjin (Heping district), where the synthetic population is densest.
CENTRE = (117.20, 39.12)


def city_set(microgrids: int, seed: int) -> Path:
    path = CACHE / f"tianjin-{microgrids}-{seed}.gpkg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_gpkg(build_city(seed=seed, microgrids_total=microgrids), path)
        print(f"built {path} in {time.perf_counter() - started:.1f} s")
    return path


def synthetic_population(bset: BoundarySet, seed: int) -> pd.DataFrame:
    """Residents per micro-grid: about 30 to 430, densest at the centre; about 22% aged 60+."""
    deepest = bset.level_positions(len(bset.levels) - 1)
    reps = shapely.point_on_surface(bset.units.geometry.to_numpy()[deepest])
    km = np.hypot(
        (shapely.get_x(reps) - CENTRE[0]) * 86.0, (shapely.get_y(reps) - CENTRE[1]) * 111.0
    )
    rng = np.random.default_rng(seed)
    residents = rng.poisson(400.0 * np.exp(-km / 15.0) + 30.0)
    return pd.DataFrame(
        {
            "code": bset.codes[deepest],
            "residents": residents,
            "residents_60": rng.binomial(residents, 0.22),
        }
    )


def synthetic_facilities(
    bset: BoundarySet, population: pd.DataFrame, n: int, seed: int
) -> gpd.GeoDataFrame:
    """Facilities at the representative points of micro-grids drawn by their 60+ residents."""
    deepest = bset.level_positions(len(bset.levels) - 1)
    rng = np.random.default_rng(seed + 1)
    weight = population["residents_60"].to_numpy(dtype=float)
    chosen = rng.choice(len(deepest), size=n, replace=False, p=weight / weight.sum())
    points = shapely.point_on_surface(bset.units.geometry.to_numpy()[deepest[chosen]])
    return gpd.GeoDataFrame(
        {"name": [f"facility {i}" for i in range(n)]}, geometry=points, crs=4326
    )


def plain_geopandas(
    bset: BoundarySet,
    population: pd.DataFrame,
    facilities: gpd.GeoDataFrame,
    distance_m: float,
) -> float:
    """Covered 60+ total: buffer, union, overlay with the micro-grids, weight by area."""
    deepest = bset.level_positions(len(bset.levels) - 1)
    units = gpd.GeoDataFrame(
        {"residents_60": population["residents_60"].to_numpy()},
        geometry=bset.units.geometry.to_numpy()[deepest],
        crs=4326,
    ).to_crs(bset.metric_crs)
    units["unit_area"] = units.area
    circles = facilities.to_crs(bset.metric_crs).buffer(distance_m, quad_segs=16)
    cover = gpd.GeoDataFrame(geometry=[circles.union_all()], crs=bset.metric_crs)
    pieces = gpd.overlay(units, cover, how="intersection", keep_geom_type=True)
    return float((pieces["residents_60"] * pieces.area / pieces["unit_area"]).sum())


def grid_network(edges: int, seed: int) -> StreetNetwork:
    """A perturbed grid street network of at least ``edges`` edges, in UTM 50N (Tianjin)."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(edges / 2 / 0.98))) + 1
    xs = np.concatenate([[0.0], np.cumsum(rng.uniform(60, 140, side - 1))])
    ys = np.concatenate([[0.0], np.cumsum(rng.uniform(60, 140, side - 1))])
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    xy = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-15, 15, (side * side, 2))
    xy += (500_000.0, 4_330_000.0)
    ids = np.arange(side * side).reshape(side, side)
    u = np.concatenate([ids[:-1, :].ravel(), ids[:, :-1].ravel()])
    v = np.concatenate([ids[1:, :].ravel(), ids[:, 1:].ravel()])
    keep = rng.random(len(u)) >= 0.02
    u, v = u[keep], v[keep]
    mid = (xy[u] + xy[v]) / 2
    bent = rng.random(len(u)) < 0.2
    mid[bent] += rng.uniform(-12, 12, (int(bent.sum()), 2))
    coords = np.stack([xy[u], mid, xy[v]], axis=1)
    lines = shapely.linestrings(coords)
    lines[~bent] = shapely.linestrings(coords[~bent][:, [0, 2]])
    return StreetNetwork(pyproj.CRS.from_epsg(32650), ids.ravel().astype(object), xy, u, v, lines)


def reference_areas(
    net: StreetNetwork, points: np.ndarray, distance: float, buffer_m: float = 50.0
) -> tuple[list[np.ndarray], list[shapely.Geometry]]:
    """The reference path: networkx distances per facility, then buffer and join the pieces."""
    edge, along, gap = net.snap(points)
    dists, areas = [], []
    for i, point in enumerate(points):
        e, a, g = int(edge[i]), float(along[i]), float(gap[i])
        dist = networkx_node_distances(net, e, a, g, distance)
        dists.append(dist)
        if g > distance:
            areas.append(shapely.Polygon())
            continue
        pieces = street_pieces(net, point, e, a, g, dist, distance)
        band = shapely.union_all(shapely.buffer(pieces, buffer_m, quad_segs=16))
        areas.append(shapely.intersection(band, shapely.buffer(point, distance, quad_segs=16)))
    return dists, areas


#: How far two drawings of the same area may lie apart: the arcs of the 50 m bands are polygons
#: of 16 segments a quarter, drawn in other places where pieces are joined (two sagittas).
ARC_SLACK_M = 2 * 50.0 * (1 - np.cos(np.pi / 64)) + 1e-3


def farthest_apart(ours: shapely.Geometry, theirs: shapely.Geometry) -> float:
    """The farthest any corner of the difference of two areas lies from the reference's edge."""
    diff = shapely.symmetric_difference(ours, theirs)
    if diff.is_empty:
        return 0.0
    corners = shapely.points(shapely.get_coordinates(diff))
    return float(shapely.distance(corners, shapely.boundary(theirs)).max())


def network_bench(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    net = grid_network(args.edges, args.seed)
    distance = walking_distance_m(args.minutes, args.speed)
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    rng = np.random.default_rng(args.seed + 2)
    xy = rng.uniform(lo + distance / 2, hi - distance / 2, (args.facilities, 2))
    facilities = gpd.GeoSeries(gpd.points_from_xy(*xy.T), crs=net.crs)
    points = points_in_crs(facilities, net.crs)
    built_s = time.perf_counter() - started
    print(f"street network: {net.num_nodes:,} nodes, {net.num_edges:,} edges, "
          f"{net.edge_length.sum() / 1000:,.0f} km, built in {built_s:.1f} s; "
          f"{args.facilities:,} facilities; budget {distance:.0f} m")  # fmt: skip

    started = time.perf_counter()
    net.street_matrix, net.graph  # noqa: B018  (built once per network, like the STRtree)
    edge, along, gap = net.snap(points)
    prep_s = time.perf_counter() - started
    started = time.perf_counter()
    net.strokes  # noqa: B018  (once per network too; the service areas join pieces along them)
    strokes_s = time.perf_counter() - started
    started = time.perf_counter()
    reached = 0
    for _, block in reach_blocks(net, edge, along, gap, distance):
        reached += int(np.isfinite(block).sum())
    pass_s = time.perf_counter() - started
    started = time.perf_counter()
    nearest = network_distances(net, facilities, distance)
    nearest_s = time.perf_counter() - started
    started, cpu_started = time.perf_counter(), time.process_time()
    ours = network_service_areas(net, facilities, distance, workers=args.workers).to_numpy()
    areas_s, areas_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started

    sample = np.random.default_rng(args.seed + 3).choice(
        args.facilities, size=min(args.sample, args.facilities), replace=False
    )
    started = time.perf_counter()
    ref_dist, ref_areas = reference_areas(net, points[sample], distance)
    ref_s = (time.perf_counter() - started) * args.facilities / len(sample)
    started = time.perf_counter()
    for i in sample:
        networkx_node_distances(net, int(edge[i]), float(along[i]), float(gap[i]), distance)
    ref_pass_s = (time.perf_counter() - started) * args.facilities / len(sample)

    ours_dist = {}
    for start, block in reach_blocks(net, edge[sample], along[sample], gap[sample], distance):
        for row, dist in enumerate(block):
            ours_dist[start + row] = dist
    same_nodes = all(
        np.array_equal(np.isfinite(ours_dist[k]), np.isfinite(d)) for k, d in enumerate(ref_dist)
    )
    worst = max(
        float(np.max(np.abs(ours_dist[k][np.isfinite(d)] - d[np.isfinite(d)]), initial=0.0))
        for k, d in enumerate(ref_dist)
    )
    diff = max(
        float(shapely.area(shapely.symmetric_difference(a, b)) / max(shapely.area(b), 1.0))
        for a, b in zip(ours[sample], ref_areas, strict=True)
    )
    apart = max(farthest_apart(a, b) for a, b in zip(ours[sample], ref_areas, strict=True))
    print(f"reach per facility: {reached / args.facilities:,.0f} nodes; nearest-facility pass "
          f"reaches {np.isfinite(nearest).mean():.1%} of the nodes")  # fmt: skip
    print(f"graph and snapping (once)        {prep_s:8.2f} s")
    print(f"strokes (once)                   {strokes_s:8.2f} s   "
          f"{int(net.strokes.stroke.max()) + 1:,} strokes")  # fmt: skip
    print(f"distances, one compiled pass     {pass_s:8.2f} s   networkx {ref_pass_s:8.2f} s "
          f"(extrapolated from {len(sample)})   ratio {ref_pass_s / pass_s:6.1f}x")  # fmt: skip
    print(f"nearest facility, min_only pass  {nearest_s:8.2f} s")
    print(f"service areas, {args.facilities:,} facilities  {areas_s:8.2f} s   reference "
          f"{ref_s:8.2f} s (extrapolated)   ratio {ref_s / areas_s:6.1f}x   "
          f"{areas_s / args.facilities * 1000:.1f} ms per facility; "
          f"{areas_s + strokes_s:.2f} s with the strokes")  # fmt: skip
    print(f"  CPU time of the service areas {areas_cpu_s:.2f} s, all threads (the wall time "
          f"also counts waiting for the {os.cpu_count()} CPUs of a shared machine)")  # fmt: skip
    print(f"sample of {len(sample)}: same nodes reached {same_nodes}, largest distance "
          f"difference {worst:.1e} m, largest area difference {diff:.1e} (relative), "
          f"boundaries at most {apart:.3f} m apart (arcs: {ARC_SLACK_M:.3f} m)")  # fmt: skip
    if not same_nodes or worst > 1e-6 or diff > 1e-4 or apart > ARC_SLACK_M:
        raise SystemExit("the compiled pass and the networkx reference disagree")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", action="store_true", help="network mode at city scale")
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=40, help="facilities run by networkx")
    parser.add_argument("--workers", type=int, default=None, help="threads joining the bands")
    parser.add_argument("--microgrids", type=int, default=150_000)
    parser.add_argument("--facilities", type=int, default=1000)
    parser.add_argument("--level", default="community")
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES)
    parser.add_argument("--speed", type=float, default=DEFAULT_SPEED_M_PER_MIN)
    parser.add_argument("--sites", type=int, default=10, help="new sites to suggest")
    parser.add_argument("--seed", type=int, default=20231)
    args = parser.parse_args()
    if args.network:
        network_bench(args)
        return

    bset = read_boundary_set(city_set(args.microgrids, args.seed))
    population = synthetic_population(bset, args.seed)
    facilities = synthetic_facilities(bset, population, args.facilities, args.seed)
    distance = walking_distance_m(args.minutes, args.speed)
    print(
        f"{len(bset):,} units, {len(population):,} {bset.levels[-1]} units with "
        f"{population['residents'].sum():,} residents ({population['residents_60'].sum():,} "
        f"aged 60+); {len(facilities):,} facilities; radius {distance:.0f} m"
    )

    def ours() -> tuple[float, object]:
        started = time.perf_counter()
        result = coverage_by_unit(
            bset,
            args.level,
            facilities,
            population,
            minutes=args.minutes,
            speed_m_per_min=args.speed,
        )
        return time.perf_counter() - started, result

    cold_s, result = ours()  # includes projecting the set to metres (then cached on the set)
    warm_s, result = ours()
    started = time.perf_counter()
    theirs_total = plain_geopandas(bset, population, facilities, distance)
    theirs_s = time.perf_counter() - started

    summary = result.summary  # type: ignore[attr-defined]
    ours_total = summary["covered_60"]
    relative = abs(ours_total - theirs_total) / theirs_total
    print(f"coverage_by_unit (cold)   {cold_s:8.2f} s   (projection to metres included)")
    print(f"coverage_by_unit (warm)   {warm_s:8.2f} s")
    print(f"plain geopandas overlay   {theirs_s:8.2f} s")
    print(
        f"ratio (geopandas / ours)  {theirs_s / cold_s:8.1f}x cold, {theirs_s / warm_s:.1f}x warm"
    )
    print(f"covered 60+: ours {ours_total:,.1f}, geopandas {theirs_total:,.1f}, "
          f"relative difference {relative:.2e}")  # fmt: skip
    print(
        f"{summary['share_covered_60']:.1%} of {summary['residents_60']:,.0f} aged 60+ covered; "
        f"{summary['uncovered_60']:,.0f} outside in {summary['gaps']:,} gap pieces over "
        f"{summary['units']:,} {args.level} units"
    )
    gap_total = float(result.gaps["residents_60"].sum())  # type: ignore[attr-defined]
    uncovered = summary["uncovered_60"]
    print(f"gap pieces hold {gap_total:,.1f} aged 60+ (uncovered total {uncovered:,.1f})")

    started = time.perf_counter()
    sites = suggest_sites(result, args.sites)  # type: ignore[arg-type]
    print(f"suggest_sites(k={args.sites})         {time.perf_counter() - started:8.2f} s")
    print(sites[["rank", "site", "unit", "lon", "lat", "gain_60", "cumulative_60"]].round(4)
          .to_string(index=False))  # fmt: skip
    if relative >= 1e-3:
        raise SystemExit("covered totals differ by 0.1% or more")


if __name__ == "__main__":
    main()
