"""First-request and steady GET /lookup latency of the real server, for four kinds of point.

    .venv/bin/python bench/lookup.py [--requests 500]

Starts the real server (`wangge serve`, SQLite in a temporary folder, the Hexi demo
boundaries), waits until /health says ready, then at one connection asks, for each kind of
point (inside a micro-grid, in a gap, snapped, outside everything), one first lookup (timed
alone: the one that would pay a one-time build) and then ``--requests`` more at p50/p99.
Beside them, GET /health on the same connection: the server's own floor.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import shapely

from boundaries.loader import read_boundary_set
from geo.assign import BoundaryIndex

WANGGE = [sys.executable, "-m", "api.cli"]
DEMO = Path("var/bench/hexi.gpkg")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kinds_of_point(seed: int) -> dict[str, tuple[float, float] | None]:
    """A point of each kind in Hexi, checked with the library (None: the set has none)."""
    index = BoundaryIndex(read_boundary_set(DEMO))
    micro = gpd.read_file(DEMO, layer="microgrid", rows=slice(500, 501)).geometry.iloc[0]
    inside = micro.representative_point()
    district = gpd.read_file(DEMO, layer="district").geometry.iloc[0]
    coords = shapely.get_coordinates(district)
    top = coords[coords[:, 1].argmax()]
    points: dict[str, tuple[float, float] | None] = {
        "inside": (inside.x, inside.y),
        "gap": None,
        "snapped": (float(top[0]), float(top[1] + 20 / 110_990)),
        "outside": (float(top[0] + 0.5), float(top[1])),
    }
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = index.bset.bounds
    lon, lat = rng.uniform(minx, maxx, 200_000), rng.uniform(miny, maxy, 200_000)
    gaps = np.flatnonzero(index.assign(lon, lat).status == "gap")
    if gaps.size:
        points["gap"] = (float(lon[gaps[0]]), float(lat[gaps[0]]))
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    if not DEMO.exists():
        DEMO.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([*WANGGE, "demo", "--out", str(DEMO)], check=True)
    points = kinds_of_point(1)
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "WANGGE_BOUNDARIES": str(DEMO), "WANGGE_DATA_DIR": data,
               "WANGGE_RATE_LIMIT_PER_MINUTE": "100000000"}
        done = subprocess.run([*WANGGE, "keys", "create", "--role", "dispatcher"], env=env,
                              check=True, capture_output=True, text=True)
        key = done.stdout.strip().splitlines()[-1]
        port = free_port()
        started = time.perf_counter()
        server = subprocess.Popen(
            [*WANGGE, "serve", "--port", str(port)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 300
            health = None
            while time.monotonic() < deadline and health is None:
                try:
                    answer = httpx.get(f"{base}/health", timeout=1)
                    if answer.status_code == 200 and answer.json().get("ready"):
                        health = answer.json()
                except httpx.TransportError:
                    time.sleep(0.2)
            if health is None:
                raise SystemExit("the server did not become ready")
            print(f"ready after {time.perf_counter() - started:.1f} s "
                  f"(building: {health['building']})")
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as c:
                floor = []
                for _ in range(args.requests):
                    t = time.perf_counter()
                    c.get("/health")
                    floor.append((time.perf_counter() - t) * 1000)
                print(f"{'GET /health':10} p50 {np.percentile(floor, 50):6.2f} ms  "
                      f"p99 {np.percentile(floor, 99):6.2f} ms")
                for kind, point in points.items():
                    if point is None:
                        print(f"{kind:10} (no such point in this set)")
                        continue
                    params = {"lon": point[0], "lat": point[1]}
                    t = time.perf_counter()
                    first = c.get("/lookup", params=params)
                    first_ms = (time.perf_counter() - t) * 1000
                    status = first.json().get("status")
                    times = []
                    for _ in range(args.requests):
                        t = time.perf_counter()
                        c.get("/lookup", params=params)
                        times.append((time.perf_counter() - t) * 1000)
                    print(f"{kind:10} status {status:10} first {first_ms:7.2f} ms  "
                          f"p50 {np.percentile(times, 50):6.2f} ms  "
                          f"p99 {np.percentile(times, 99):6.2f} ms  (targets: first < 20, "
                          f"p99 < 5)")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
