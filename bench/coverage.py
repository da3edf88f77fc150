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
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--microgrids", type=int, default=150_000)
    parser.add_argument("--facilities", type=int, default=1000)
    parser.add_argument("--level", default="community")
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES)
    parser.add_argument("--speed", type=float, default=DEFAULT_SPEED_M_PER_MIN)
    parser.add_argument("--sites", type=int, default=10, help="new sites to suggest")
    parser.add_argument("--seed", type=int, default=20231)
    args = parser.parse_args()

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
