"""Loading the city-scale set with the load checks, beside loading it without them, same run.

    .venv/bin/python bench/load.py [--microgrids 150000] [--repeat 3]

``load_index`` is what ``wangge serve`` (and lookup, assign) does at start: read the set, run
the quick checks that refuse a set which would answer wrongly (repeated codes, units that are
no polygon) and build the spatial index. The baseline reads the same file and builds the same
index without the checks (``read_boundary_set`` + ``BoundaryIndex``). Prints both times, the
checks alone, and the ratio. The set is the one bench/assign.py builds and caches.
"""

from __future__ import annotations

import argparse
import time

from assign import city_set  # bench/assign.py: builds and caches the city-scale set

from api.services import load_index
from api.settings import Settings
from boundaries.loader import read_boundary_set
from geo.assign import BoundaryIndex
from geo.validate import check_for_use


def best_of(repeat: int, work) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--microgrids", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=20231)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args()

    path = city_set(args.microgrids, args.seed)
    settings = Settings(boundaries=str(path))
    bset = read_boundary_set(path)
    print(f"{len(bset):,} units in {len(bset.levels)} levels ({path})")

    baseline_s = best_of(args.repeat, lambda: BoundaryIndex(read_boundary_set(path)))
    ours_s = best_of(args.repeat, lambda: load_index(settings))
    checks_s = best_of(args.repeat, lambda: check_for_use(bset))

    print(f"read + index, no checks   {baseline_s:6.2f} s")
    print(f"load_index (with checks)  {ours_s:6.2f} s")
    print(f"the load checks alone     {checks_s:6.2f} s")
    print(f"ratio (load_index / no checks) {ours_s / baseline_s:.2f}x")


if __name__ == "__main__":
    main()
