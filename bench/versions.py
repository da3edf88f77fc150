"""Activating next year's city-scale grid map with 100,000 open cases, beside the time to assign
those cases' points alone in the same run.

    .venv/bin/python bench/versions.py [--microgrids 150000] [--cases 100000] [--database URL]

Builds (once, cached under var/bench/) two city-scale sets: all 16 Tianjin districts split into
about ``--microgrids`` micro-grids, this year's and next year's (another seed: every grid and
micro-grid redrawn, the codes kept). A fresh database (SQLite in a temporary folder, or
``--database``, e.g. a PostGIS URL) starts with this year's set as version 1 and ``--cases``
open cases posted through the case service. Then, as an administrator would:

* import next year's file (read, validate, store as a draft),
* diff it against the active version, in a service started afresh (so the draft is read back
  from the database and indexed: what another worker would do),
* activate it (re-routing every open case, one event per case that moves),

while a thread keeps looking points up (how many answers, the slowest one). The baseline is
``BoundaryIndex.assign`` of the same cases' points on next year's index; the ratio shows what
re-routing adds to assigning (reading, comparing and writing the cases and their events).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from assign import city_set  # bench/assign.py: the city-scale sets, cached under var/bench/

from api.access.keys import create_key
from api.access.policy import Principal, Role
from api.cases.intake import Submission
from api.services import open_services
from api.settings import Settings
from api.versions import CLI

#: Reports per submit_many transaction while the cases are set up.
BATCH = 5_000


def case_points(services, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Points inside this year's micro-grids (a case where people live), jittered."""
    bset = services.index.bset
    leaves = bset.level_positions(bset.levels[-1])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, leaves.size, n)
    centres = bset.units.geometry.to_numpy()[leaves[picks]]
    points = np.array([(p.x, p.y) for p in (g.representative_point() for g in centres)])
    jitter = rng.normal(0, 0.0002, points.shape)  # about 20 m
    return points[:, 0] + jitter[:, 0], points[:, 1] + jitter[:, 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--microgrids", type=int, default=150_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20231)
    parser.add_argument("--database", default="", help="default: SQLite in a temporary folder")
    args = parser.parse_args()

    this_year = city_set(args.microgrids, args.seed)
    next_year = city_set(args.microgrids, args.seed + 1)
    with tempfile.TemporaryDirectory(prefix="wangge-bench-") as folder:
        settings = Settings(
            boundaries=str(this_year),
            data_dir=Path(folder),
            database_url=args.database,
            rate_limit_per_minute=10**9,
        )
        started = time.perf_counter()
        services = open_services(settings, writer=False, watch=False)
        seed_s = time.perf_counter() - started
        units = len(services.index.bset)
        print(f"version 1: {units:,} units stored and activated in {seed_s:.1f} s")

        started = time.perf_counter()
        lon, lat = case_points(services, args.cases, args.seed)
        with services.db.session() as session:
            row, _ = create_key(session, Role.REPORTER, name="bench")
        reporter = Principal(row.id, Role.REPORTER, None, "bench")
        for start in range(0, args.cases, BATCH):
            stop = min(start + BATCH, args.cases)
            services.cases.submit_many(
                reporter,
                [
                    (Submission(lon=float(lon[i]), lat=float(lat[i]), category="noise"), None)
                    for i in range(start, stop)
                ],
            )
        print(f"{args.cases:,} open cases posted in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        with services.db.session() as session:
            draft = services.versions.import_file(
                session, next_year, crs=None, name="next year", actor=CLI
            )
        import_s = time.perf_counter() - started
        print(
            f"import: {import_s:.1f} s ({sum(draft['unit_counts'].values()):,} units, "
            f"{draft['errors']} errors, {draft['warnings']} warnings)"
        )
        services.close()

        # a service started afresh: the draft is read back and indexed by the diff
        services = open_services(settings, writer=False, watch=False)
        started = time.perf_counter()
        with services.db.session() as session:
            diff = services.versions.diff(session, draft["id"], limit=10)
        diff_s = time.perf_counter() - started
        print(
            f"diff: {diff_s:.1f} s ({diff['units']['geometry_changed']['count']:,} units "
            f"reshaped; {diff['cases']['moved']:,} of {diff['cases']['open']:,} open cases "
            f"would move, {diff['cases']['unassigned']:,} lose their unit)"
        )

        answered, slowest, stop = [0], [0.0], threading.Event()

        def look_up() -> None:
            rng = np.random.default_rng(1)
            while not stop.is_set():
                i = int(rng.integers(0, args.cases))
                began = time.perf_counter()
                index = services.boundaries.index
                index.describe(index.assign([lon[i]], [lat[i]]), 0)
                slowest[0] = max(slowest[0], time.perf_counter() - began)
                answered[0] += 1
                time.sleep(0.001)

        looker = threading.Thread(target=look_up, daemon=True)
        looker.start()
        started = time.perf_counter()
        with services.db.session() as session:
            activated = services.versions.activate(session, draft["id"], actor=CLI)
        activate_s = time.perf_counter() - started
        stop.set()
        looker.join()
        cases = activated["cases"]
        print(
            f"activate: {activate_s:.1f} s ({cases['moved']:,} moved, {cases['unchanged']:,} "
            f"kept, {cases['unassigned']:,} unassigned); {answered[0]:,} lookups answered "
            f"meanwhile, the slowest in {slowest[0] * 1000:.0f} ms"
        )

        index = services.boundaries.index
        best = float("inf")
        for _ in range(3):
            began = time.perf_counter()
            index.assign(lon, lat)
            best = min(best, time.perf_counter() - began)
        services.close()
    print(f"baseline: assigning the {args.cases:,} points alone: {best:.2f} s")
    print(
        f"activation / assignment alone: {activate_s / best:.1f}x; "
        f"import {import_s:.1f} s, diff {diff_s:.1f} s, activate {activate_s:.1f} s "
        f"(target: activation under 30 s)"
    )


if __name__ == "__main__":
    main()
