"""Every vector tile of the city at one zoom, served by the real app, beside writing the whole
micro-grid level as one GeoJSON in the same run.

    .venv/bin/python bench/tiles.py [--microgrids 150000] [--zoom 14] [--counts]

Reads (or builds once, cached under var/bench/, shared with bench/assign.py) the city-scale
set: all 16 Tianjin districts split into about 150,000 micro-grids. Starts the application on
it (a SQLite file in a temporary folder) and requests, through the ASGI stack, every tile at
``--zoom`` that meets a micro-grid: once cold (each tile drawn and encoded) and once warm
(from the tile cache), with a reporter's key (tiles without case counts; ``--counts`` also
times a planner's, whose tiles carry counts and are encoded per request). The baseline is
``GeoDataFrame.to_json()`` of the micro-grid level: what a client would otherwise download.

Prints the number of tiles, the cold and warm totals with their ratio to the baseline, the
p50/p99/max time per tile, and the largest tile. Exits non-zero if a tile is over 500 KB or
the warm p99 is over 50 ms (the targets).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from fastapi.testclient import TestClient

# This file is in bench/, beside bench/maps.py: the project goes first, so that "maps" is the
# package; bench/ stays on the path for the city set shared with bench/assign.py.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assign import city_set  # noqa: E402

from api.access.keys import create_key  # noqa: E402
from api.main import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from boundaries.loader import read_boundary_set  # noqa: E402
from geo.tiles import tile_lonlat_bounds, tiles_covering  # noqa: E402

MAX_TILE_BYTES = 500 * 1024
MAX_P99_WARM_S = 0.050


def city_tiles(path: Path, zoom: int) -> tuple[str, list[tuple[int, int]], float, int]:
    """The deepest level, the tiles at ``zoom`` that meet one of its units, and the
    baseline: seconds and bytes of the level as one GeoJSON."""
    bset = read_boundary_set(path)
    level = bset.levels[-1]
    units = bset.units.iloc[bset.level_positions(level)]
    started = time.perf_counter()
    text = units[["code", "name", "parent", "leader_name", "geometry"]].to_json()
    geojson_s = time.perf_counter() - started
    tree = shapely.STRtree(units.geometry.to_numpy())
    candidates = list(tiles_covering(bset.bounds, zoom))
    boxes = [shapely.box(*tile_lonlat_bounds(zoom, x, y)) for x, y in candidates]
    hit = np.unique(tree.query(boxes, predicate="intersects")[0])
    print(f"{len(units):,} {level} units; {len(hit):,} of {len(candidates):,} tiles at z{zoom}")
    return level, [candidates[i] for i in hit], geojson_s, len(text.encode())


def serve(
    client: TestClient, key: str, level: str, zoom: int, tiles: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds and bytes per tile; checks each answer."""
    seconds = np.empty(len(tiles))
    sizes = np.empty(len(tiles), dtype=np.int64)
    headers = {"Authorization": f"Bearer {key}"}
    for n, (x, y) in enumerate(tiles):
        started = time.perf_counter()
        answer = client.get(f"/tiles/{level}/{zoom}/{x}/{y}.mvt", headers=headers)
        seconds[n] = time.perf_counter() - started
        assert answer.status_code == 200, answer.text
        sizes[n] = len(answer.content)
    return seconds, sizes


def report(name: str, seconds: np.ndarray, baseline_s: float) -> float:
    p50, p99 = np.percentile(seconds, [50, 99])
    total = float(seconds.sum())
    print(
        f"{name:<22} {total:8.2f} s  ({total / baseline_s:6.2f} x the GeoJSON)  per tile "
        f"p50 {p50 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  max {seconds.max() * 1000:7.1f} ms"
    )
    return float(p99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--microgrids", type=int, default=150_000)
    parser.add_argument("--zoom", type=int, default=14)
    parser.add_argument("--seed", type=int, default=20231)
    parser.add_argument("--counts", action="store_true", help="also a planner's (with counts)")
    args = parser.parse_args()

    path = city_set(args.microgrids, args.seed)
    level, tiles, geojson_s, geojson_bytes = city_tiles(path, args.zoom)
    print(f"baseline: {level} as one GeoJSON  {geojson_s:8.2f} s  {geojson_bytes / 1e6:8.1f} MB")
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            boundaries=str(path),
            data_dir=Path(data),
            rate_limit_per_minute=10_000_000,
            tile_cache_bytes=2_000_000_000,
        )
        with TestClient(create_app(settings)) as client:
            with client.app.state.db.session() as session:  # type: ignore[attr-defined]
                keys = {role: create_key(session, role)[1] for role in ("reporter", "planner")}
            cold, sizes = serve(client, keys["reporter"], level, args.zoom, tiles)
            warm, _ = serve(client, keys["reporter"], level, args.zoom, tiles)
            report("cold (draw + encode)", cold, geojson_s)
            p99_warm = report("warm (tile cache)", warm, geojson_s)
            if args.counts:
                counted, _ = serve(client, keys["planner"], level, args.zoom, tiles)
                report("with counts (planner)", counted, geojson_s)
    largest = int(sizes.max())
    print(
        f"tiles: {len(tiles):,}, {sizes.sum() / 1e6:.1f} MB in all; "
        f"largest {largest / 1024:.1f} KB, median {np.median(sizes) / 1024:.1f} KB"
    )
    missed = []
    if largest > MAX_TILE_BYTES:
        missed.append(f"largest tile {largest:,} bytes > {MAX_TILE_BYTES:,}")
    if p99_warm > MAX_P99_WARM_S:
        missed.append(f"warm p99 {p99_warm * 1000:.1f} ms > {MAX_P99_WARM_S * 1000:.0f} ms")
    print("targets: " + ("met" if not missed else "MISSED: " + "; ".join(missed)))
    raise SystemExit(1 if missed else 0)


if __name__ == "__main__":
    main()
