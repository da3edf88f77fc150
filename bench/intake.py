"""Sustained POST /reports throughput and latency, beside a no-op POST on the same server.

    .venv/bin/python bench/intake.py [--clients 16] [--seconds 10]

Starts the real server (`wangge serve`, SQLite in a temporary folder, the Hexi demo boundaries,
WANGGE_BENCH_NOOP=1), makes a key with the CLI, then drives it from another process with
``--clients`` concurrent connections: first POST /bench/noop (authenticates, parses the JSON
body, answers 201), then POST /reports with real GCJ-02 phone locations inside Hexi. Prints
throughput and p50/p99 latency of both and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

WANGGE = [sys.executable, "-m", "api.cli"]
DEMO = Path("var/bench/hexi.gpkg")
CATEGORIES = ["parking", "noise", "property", "flying_wires", "rubbish", "corridor_light"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def points_in_hexi(n: int, seed: int) -> list[tuple[float, float]]:
    """Random GCJ-02 locations inside Hexi's micro-grids."""
    import geopandas as gpd
    import numpy as np

    from geo.crs import wgs84_to_gcj02

    micro = gpd.read_file(DEMO, layer="microgrid")
    rng = np.random.default_rng(seed)
    picks = micro.geometry.iloc[rng.integers(0, len(micro), n)].representative_point()
    lon, lat = wgs84_to_gcj02(picks.x.to_numpy(), picks.y.to_numpy())
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


async def drive(
    base: str, key: str, path: str, clients: int, seconds: float, points: list[tuple[float, float]]
) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {key}"}

    async def one(worker: int) -> None:
        nonlocal errors
        rnd = random.Random(worker)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as http:
            n = 0
            while time.perf_counter() < deadline:
                lon, lat = points[rnd.randrange(len(points))]
                body = {
                    "lon": lon, "lat": lat, "crs": "gcj02",
                    "category": rnd.choice(CATEGORIES),
                    "description": f"bench {worker}-{n}", "phone": "100-0000-0000",
                }
                started = time.perf_counter()
                response = await http.post(
                    path, json=body, headers={"Idempotency-Key": f"{path}-{worker}-{n}"}
                )
                latencies.append(time.perf_counter() - started)
                if response.status_code != 201:
                    errors += 1
                n += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(w) for w in range(clients)))
    elapsed = time.perf_counter() - started
    return len(latencies), latencies, errors if elapsed > 0 else 0


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    if not DEMO.exists():
        subprocess.run([*WANGGE, "demo", "--out", str(DEMO)], check=True)
    points = points_in_hexi(5000, 1)
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "WANGGE_BOUNDARIES": str(DEMO), "WANGGE_DATA_DIR": data,
               "WANGGE_BENCH_NOOP": "1", "WANGGE_RATE_LIMIT_PER_MINUTE": "100000000"}
        done = subprocess.run([*WANGGE, "keys", "create", "--role", "reporter"], env=env,
                              check=True, capture_output=True, text=True)
        key = done.stdout.strip().splitlines()[-1]
        port = free_port()
        server = subprocess.Popen(
            [*WANGGE, "serve", "--port", str(port)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            asyncio.run(drive(base, key, "/bench/noop", args.clients, 1.0, points))  # warm up
            results = {}
            for label, path in [("no-op POST", "/bench/noop"), ("POST /reports", "/reports")]:
                count, latencies, errors = asyncio.run(
                    drive(base, key, path, args.clients, args.seconds, points)
                )
                results[label] = count / args.seconds
                print(f"{label:14} {count / args.seconds:8.0f} req/s   p50 "
                      f"{pct(latencies, 50):6.1f} ms   p99 {pct(latencies, 99):6.1f} ms   "
                      f"non-201: {errors}")
            ratio = results["POST /reports"] / results["no-op POST"]
            print(f"ratio (reports / no-op throughput) {ratio:.2f}  "
                  f"({args.clients} clients, {args.seconds:g} s each, SQLite synchronous=FULL)")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
