"""Batch assignment throughput over the city-scale set, beside geopandas.sjoin in the same run.

    .venv/bin/python bench/assign.py [--points 1000000] [--microgrids 150000]
    .venv/bin/python bench/assign.py --engine dask --points 10000000 [--scheduler ADDRESS]

Builds (once, cached under var/bench/) the city-scale set: all 16 Tianjin districts split into
about 150,000 micro-grids. Draws random points over the city's bounding box, then times
``BoundaryIndex.assign`` (full chain, leader, gap and snap handling) and
``geopandas.sjoin(points, microgrids, predicate="within")`` (the micro-grid only) on the same
points, checks that both put every point in the same micro-grid, and prints both throughputs and
their ratio. Then the index's build time and memory beside one STRtree per level (what the
index was before the compiled kernel), and single-point assignment (one ``assign`` call per
point, in process) at p50/p99.

``--engine dask`` times ``geo.dask.assign_points`` (dask-geopandas, a local cluster or the
scheduler given) beside the in-process path on the same points, and checks they agree.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from boundaries.demo import build_city, write_gpkg
from boundaries.loader import read_boundary_set
from geo.assign import ASSIGNED, BoundaryIndex

CACHE = Path("var/bench")


def city_set(microgrids: int, seed: int) -> Path:
    path = CACHE / f"tianjin-{microgrids}-{seed}.gpkg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_gpkg(build_city(seed=seed, microgrids_total=microgrids), path)
        print(f"built {path} in {time.perf_counter() - started:.1f} s")
    return path


def run_dask(index: BoundaryIndex, lon: np.ndarray, lat: np.ndarray, args) -> None:
    """The points assigned on Dask (geo.cluster) beside the in-process path."""
    from functools import partial

    from api.cli.boundaries import index_for_workers
    from geo.batch import assign_table
    from geo.cluster import DaskAssigner

    table = pd.DataFrame({"lon": lon, "lat": lat})
    path = str(city_set(args.microgrids, args.seed).resolve())
    loader = partial(index_for_workers, (path,), None, index.snap_tolerance_m)
    started = time.perf_counter()
    ours = assign_table(index, table)
    ours_s = time.perf_counter() - started
    rows = args.partitions or 500_000
    with DaskAssigner(loader, scheduler=args.scheduler, partition_rows=rows) as dask:
        started = time.perf_counter()
        dask.assign_table(table.iloc[:1000])  # every worker has built its index
        warm_s = time.perf_counter() - started
        started = time.perf_counter()
        theirs = dask.assign_table(table)
        dask_s = time.perf_counter() - started
    agree = ours.equals(theirs)
    print(f"assign_table in process  {ours_s:8.2f} s  {len(table) / ours_s:12,.0f} rows/s")
    print(
        f"assign_table on dask     {dask_s:8.2f} s  {len(table) / dask_s:12,.0f} rows/s"
        f"  (first partitions with the workers' index builds {warm_s:.1f} s)"
    )
    print(f"ratio (in process / dask) {ours_s / dask_s:.2f}x; answers agree: {agree}")
    if not agree:
        raise SystemExit("answers differ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--microgrids", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=20231)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    parser.add_argument("--single", type=int, default=20_000, help="single-point calls")
    parser.add_argument("--engine", choices=["process", "dask"], default="process")
    parser.add_argument("--scheduler", default=None, help="dask scheduler address")
    parser.add_argument("--partitions", type=int, default=None, help="dask partitions")
    args = parser.parse_args()

    bset = read_boundary_set(city_set(args.microgrids, args.seed))
    deepest = bset.levels[-1]
    leaves = bset.units.iloc[bset.level_positions(deepest)][["code", "geometry"]]
    print(f"{len(bset):,} units, {len(leaves):,} {deepest} units; {args.points:,} points")

    rng = np.random.default_rng(args.seed)
    minx, miny, maxx, maxy = bset.bounds
    lon = rng.uniform(minx, maxx, args.points)
    lat = rng.uniform(miny, maxy, args.points)

    BoundaryIndex(bset)  # compiled functions loaded once before timing the build
    tracemalloc.start()
    started = time.perf_counter()
    index = BoundaryIndex(bset)
    build_s = time.perf_counter() - started
    index_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    kernel_mb = index._kernel.nbytes / 2**20
    geoms = bset.units.geometry.to_numpy()
    tracemalloc.start()
    started = time.perf_counter()
    trees = [shapely.STRtree(geoms[bset.level_positions(d)]) for d in range(len(bset.levels))]
    trees_s = time.perf_counter() - started
    trees_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    del trees
    if args.engine == "dask":
        run_dask(index, lon, lat, args)
        return

    ours_s = float("inf")
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = index.assign(lon, lat)
        ours_s = min(ours_s, time.perf_counter() - started)

    # sjoin timed from the same lon/lat arrays (building the points is part of its work), and
    # its join alone for reference
    sjoin_s = join_s = float("inf")
    for _ in range(args.repeat):
        started = time.perf_counter()
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
        built = time.perf_counter()
        joined = gpd.sjoin(points, leaves, how="left", predicate="within")
        done = time.perf_counter()
        sjoin_s = min(sjoin_s, done - started)
        join_s = min(join_s, done - built)

    # agreement: same micro-grid for every point sjoin places; nothing else assigned by us
    joined = joined[~joined.index.duplicated(keep="first")].sort_index()
    theirs = joined["code"].to_numpy(dtype=object)
    codes = bset.units["code"].to_numpy(dtype=object)
    ours = np.where(result.status == ASSIGNED, codes[np.maximum(result.unit, 0)], None)
    placed = ~joined["code"].isna().to_numpy()
    agree = bool(np.array_equal(ours[placed], theirs[placed]) and pd.isna(ours[~placed]).all())

    # single points, one call each, as a request makes it
    k = min(args.single, args.points)
    times = np.empty(k)
    for i in range(k):
        started = time.perf_counter()
        index.assign(lon[i : i + 1], lat[i : i + 1])
        times[i] = time.perf_counter() - started
    p50, p99 = np.percentile(times, [50, 99]) * 1000

    print(
        f"index build           {build_s:8.2f} s  {index_mb:7.1f} MB allocated"
        f" (kernel arrays {kernel_mb:.1f} MB)"
    )
    print(
        f"STRtree per level     {trees_s:8.2f} s  {trees_mb:7.1f} MB allocated"
        f"  (build ratio {build_s / trees_s:.1f}x)"
    )
    print(f"single point, {k:,} calls: p50 {p50:.4f} ms, p99 {p99:.4f} ms")
    print(f"BoundaryIndex.assign  {ours_s:8.2f} s  {args.points / ours_s:12,.0f} points/s")
    print(
        f"geopandas.sjoin       {sjoin_s:8.2f} s  {args.points / sjoin_s:12,.0f} points/s"
        f"  (join alone {join_s:.2f} s)"
    )
    print(
        f"ratio (sjoin time / ours) {sjoin_s / ours_s:.2f}x"
        f"  (join alone / ours {join_s / ours_s:.2f}x)"
    )
    print(
        "ours also gives the full chain, the leader, gaps and 50 m snapping; sjoin the "
        f"{deepest} only"
    )
    print(f"points inside a {deepest}: {placed.sum():,}; answers agree: {agree}")
    statuses, counts = np.unique(result.status, return_counts=True)
    print("our statuses:", dict(zip(statuses.tolist(), counts.tolist(), strict=True)))
    if not agree:
        raise SystemExit("answers differ")


if __name__ == "__main__":
    main()
