"""Hot spots over the city-scale set: queen weights, counting in the database and Gi* with 999
permutations, beside a plain pandas groupby count of the same cases in the same run.

    .venv/bin/python bench/analytics.py [--microgrids 150000] [--cases 1000000]
                                        [--permutations 999]

Builds (once, cached under var/bench/) the city-scale set of bench/assign.py: all 16 Tianjin
districts split into about ``--microgrids`` micro-grids. A SQLite database gets ``--cases``
reports (90% spread over the micro-grids, 10% around 40 hot areas), each with its
``report_units`` row at micro-grid level, written in bulk (not timed; kept under var/bench/
too, and reused by the next run with the same arguments). Then, as
``GET /analytics/hotspots?level=microgrid`` does:

* cold: build the queen weights of the micro-grids (libpysal), count the cases per unit in the
  database (GROUP BY), run Gi* with the permutations and the FDR classes;
* cached: the same with the weights already built (a second request on the same version).

The baseline is ``pandas.Series.value_counts`` of the same cases' unit codes, held in memory:
the ratio shows what the statistics (and reading the counts from the database) add to a count.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from assign import CACHE, city_set  # bench/assign.py: the city-scale sets, under var/bench/
from sqlalchemy import insert

from api.analytics.counts import unit_counts
from api.analytics.hotspots import gi_star
from api.analytics.weights import WeightsCache
from api.db import Database
from api.db.models import Category, Report, ReportUnit
from boundaries.loader import read_boundary_set

BATCH = 50_000


def write_cases(db: Database, codes: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
    now = datetime.now(UTC)
    ages = np.random.default_rng(1).uniform(0, 27 * 24, len(codes))
    with db.session() as session:
        if session.get(Category, "parking") is None:
            session.add(
                Category(
                    code="parking",
                    name_zh="车辆乱停",
                    name_en="Parking",
                    sla_hours=24,
                    department="城管",
                )
            )
            session.commit()
    with db.engine.begin() as conn:
        for start in range(0, len(codes), BATCH):
            stop = min(start + BATCH, len(codes))
            reports = [
                {
                    "id": i + 1,
                    "category": "parking",
                    "description": "",
                    "lon": float(lon[i]),
                    "lat": float(lat[i]),
                    "input_crs": "wgs84",
                    "input_lon": float(lon[i]),
                    "input_lat": float(lat[i]),
                    "status": "assigned",
                    "assignment": "inside",
                    "unit_code": str(codes[i]),
                    "boundary_set": "bench",
                    "created_at": now - timedelta(hours=float(ages[i])),
                    "updated_at": now,
                    "due_at": now,
                }
                for i in range(start, stop)
            ]
            conn.execute(insert(Report), reports)
            conn.execute(
                insert(ReportUnit),
                [
                    {
                        "report_id": i + 1,
                        "depth": 4,
                        "level": "microgrid",
                        "code": str(codes[i]),
                        "name": "",
                    }
                    for i in range(start, stop)
                ],
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--microgrids", type=int, default=150_000)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--seed", type=int, default=20231)
    args = parser.parse_args()

    bset = read_boundary_set(city_set(args.microgrids, args.seed))
    level = bset.levels[-1]
    leaves = bset.level_positions(level)
    codes_all = bset.units["code"].to_numpy(dtype=object)[leaves]
    rng = np.random.default_rng(args.seed)
    hot = rng.choice(len(leaves), 40, replace=False)
    picks = np.where(
        rng.random(args.cases) < 0.9,
        rng.integers(0, len(leaves), args.cases),
        hot[rng.integers(0, len(hot), args.cases)],
    )
    points = bset.units.geometry.iloc[leaves].representative_point()
    lon, lat = points.x.to_numpy()[picks], points.y.to_numpy()[picks]
    codes = codes_all[picks]
    print(f"{len(leaves):,} {level} units, {args.cases:,} cases, {args.permutations} permutations")

    stored = CACHE / f"analytics-{args.microgrids}-{args.cases}-{args.seed}.db"
    if not stored.exists():
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
            started = time.perf_counter()
            write_cases(db, codes, lon, lat)
            db.dispose()
            (Path(tmp) / "bench.db").rename(stored)
            print(f"cases written in {time.perf_counter() - started:.1f} s (not timed below)")
    db = Database(f"sqlite:///{stored}")
    # every stored case (they were reported within 27 days of when they were written)
    since = datetime(2000, 1, 1, tzinfo=UTC)
    until = datetime.now(UTC) + timedelta(hours=1)

    started = time.perf_counter()
    baseline = pd.Series(codes).value_counts()
    base_s = time.perf_counter() - started

    cache = WeightsCache()
    runs = {}
    for run in ("cold", "cached"):
        t0 = time.perf_counter()
        weights = cache.get(1, bset, level)
        t1 = time.perf_counter()
        with db.session() as session:
            by_code = unit_counts(session, level, since, until)
        counts = np.array([by_code.get(str(c), 0) for c in weights.codes], dtype=np.float64)
        t2 = time.perf_counter()
        result = gi_star(counts, weights, permutations=args.permutations)
        t3 = time.perf_counter()
        runs[run] = (t1 - t0, t2 - t1, t3 - t2, t3 - t0)
        assert int(counts.sum()) == args.cases == int(baseline.sum())
    hot_units = int(sum(1 for c in result.classes if str(c).startswith("hot")))
    print(f"hot units: {hot_units:,} (40 planted areas)")
    print(f"baseline: pandas value_counts of the cases' codes  {base_s:8.3f} s")
    for run, (w_s, c_s, g_s, total) in runs.items():
        print(
            f"{run:>6}: weights {w_s:7.2f} s  count (GROUP BY) {c_s:6.2f} s  "
            f"Gi* {g_s:6.2f} s  total {total:7.2f} s  ratio {total / base_s:8.0f}x baseline"
        )


if __name__ == "__main__":
    main()
