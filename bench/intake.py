"""POST /reports on the real server beside a bare FastAPI POST, same uvicorn, same run.

    apt-get install wrk        # the load generator (Debian's package)
    .venv/bin/python bench/intake.py [--workers 1] [--connections 16] [--seconds 10]

Two servers, one after the other, each with ``--workers`` processes and the same uvicorn
settings (``wangge serve``'s: no access log, no proxy headers, the same GIL switch interval):

- the bare app: one FastAPI POST route that validates the same body (``api.schemas.ReportIn``,
  pydantic) and answers 201 with a small JSON body; nothing else;
- Wangge (``wangge serve``, SQLite synchronous=FULL in a temporary folder, the Hexi demo
  boundaries), a reporter's key made with the CLI: every report is authenticated, rate
  limited, assigned, checked for duplicates and committed to disk before its 201.

Throughput: ``wrk`` with a Lua script (GCJ-02 phone locations inside Hexi, a category and an
Idempotency-Key per request) at ``--connections`` for ``--seconds``; the ratio of the two.
The two servers run one at a time, in turn, ``--rounds`` times (3): the machine's other load
drifts from minute to minute, so each round's ratio is printed and the median is the figure.

Latency at a fixed offered rate: half of Wangge's own saturation throughput, offered by an
open-loop driver here (asyncio streams, pre-built requests, up to 64 keep-alive connections):
a request is due at its scheduled time whether or not earlier ones have been answered, and its
latency counts from then (no coordinated omission). wrk2 (``wrk -R``) is not in Debian, and
wrk's Lua ``delay()`` paces a connection after each answer, which hides a server falling
behind. The bare app is driven at the same rate for comparison. Wangge's /health says, beside
it, how busy the report writer was meanwhile and how many reports went into each batch.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

WANGGE = [sys.executable, "-m", "api.cli"]
DEMO = Path("var/bench/hexi.gpkg")
HERE = Path(__file__).resolve().parent
CATEGORIES = ["parking", "noise", "property", "flying_wires", "rubbish", "corridor_light"]

#: The bare app, run by the same uvicorn as ``wangge serve`` (see ``serve_bare``).
BARE_APP = '''
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from api.schemas import ReportIn

app = FastAPI()


@app.post("/reports", status_code=201)
async def create_report(body: ReportIn) -> JSONResponse:
    return JSONResponse({"id": 1, "status": "submitted", "category": body.category},
                        status_code=201)
'''

LUA = """
local points = {%(points)s}
local categories = {%(categories)s}
local counter = 0
local thread_id = 0
local non201 = 0

function setup(thread)
  thread:set("thread_id", math.random(1, 1000000000))
end

function request()
  counter = counter + 1
  local p = points[(counter * 7919 + thread_id) %% #points + 1]
  local body = string.format(
    '{"lon":%%.7f,"lat":%%.7f,"crs":"gcj02","category":"%%s","description":"bench %%d-%%d",' ..
    '"phone":"100-0000-0000"}',
    p[1], p[2], categories[counter %% #categories + 1], thread_id, counter)
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer %(key)s"
  headers["Idempotency-Key"] = string.format("wrk-%%d-%%d", thread_id, counter)
  return wrk.format("POST", "/reports", headers, body)
end

function response(status, headers, body)
  if status ~= 201 then non201 = non201 + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%.3f %%.3f %%.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.duration / 1e6))
end
"""


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


def wait_healthy(base: str, path: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}{path}", timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) of a process and its descendants (the workers), from /proc:
    the server's cost per request, which a busy shared machine changes far less than
    throughput."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(times.get(pid, 0.0) for pid in tree)


def run_wrk(
    base: str, script: Path, connections: int, seconds: float, pid: int
) -> dict[str, float]:
    """wrk's throughput, p50 and p99 (ms) and errors (non-2xx/3xx, socket errors), and the
    server's CPU milliseconds per request."""
    cpu = cpu_seconds(pid)
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), base],
        check=True, capture_output=True, text=True,
    )
    match = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)", done.stdout)
    if match is None:
        raise RuntimeError(done.stdout + done.stderr)
    cpu = cpu_seconds(pid) - cpu
    requests, errors, p50, p99, duration = match.groups()
    return {"rps": int(requests) / float(duration), "p50": float(p50), "p99": float(p99),
            "errors": int(errors), "cpu_ms": cpu * 1000 / max(1, int(requests))}


def build_requests(key: str, points: list[tuple[float, float]], n: int, tag: str) -> list[bytes]:
    rnd = random.Random(tag)
    out = []
    for i in range(n):
        lon, lat = points[rnd.randrange(len(points))]
        body = json.dumps({
            "lon": lon, "lat": lat, "crs": "gcj02", "category": rnd.choice(CATEGORIES),
            "description": f"paced {tag} {i}", "phone": "100-0000-0000",
        }).encode()
        out.append(
            b"POST /reports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {key}\r\nIdempotency-Key: {tag}-{i}\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
    return out


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    await reader.readexactly(int(length.group(1)) if length else 0)
    return status


async def paced(port: int, requests: list[bytes], rate: float) -> dict[str, float]:
    """Offer ``rate`` requests a second, open loop; latency from each request's due time."""
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    opened = 0
    latencies: list[float] = []
    errors = 0
    late = 0

    async def one(request: bytes, due: float) -> None:
        nonlocal opened, errors
        reused = bool(idle)
        if reused:
            conn = idle.pop()
        else:
            opened += 1
            conn = await asyncio.open_connection("127.0.0.1", port)
        try:
            status = await _exchange(*conn, request)
        except (OSError, asyncio.IncompleteReadError):
            conn[1].close()
            if not reused:
                errors += 1
                return
            # the server closed a connection idle past its keep-alive: once more, on a new one
            opened += 1
            conn = await asyncio.open_connection("127.0.0.1", port)
            try:
                status = await _exchange(*conn, request)
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
                conn[1].close()
                return
        latencies.append(time.perf_counter() - due)
        if status != 201:
            errors += 1
        idle.append(conn)

    loop = asyncio.get_running_loop()
    start = time.perf_counter() + 0.05
    tasks = []
    for i, request in enumerate(requests):
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -0.005:
            late += 1  # the driver itself fell behind
        tasks.append(loop.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    latencies.sort()
    return {
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
        "errors": errors, "connections": opened, "late": late,
    }


def writer_load(port: int, label: str) -> dict[str, float] | None:
    """Wangge's /health writer figures (its batches, their reports, the share of the last
    10 s it was writing); None for the bare app."""
    if label.startswith("bare"):
        return None
    writer: dict[str, float] = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()[
        "writer"]
    return writer


def serve_bare(port: int, workers: int) -> None:
    """The bare app under the same uvicorn settings as ``wangge serve`` (api.cli.service)."""
    import uvicorn

    sys.setswitchinterval(0.001)
    uvicorn.run(
        "bare_intake_app:app", host="127.0.0.1", port=port,
        workers=workers if workers > 1 else None,
        log_level="info", access_log=False, proxy_headers=False,
        loop="uvloop", http="httptools",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="saturation runs of each server")
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)  # internal: a port
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.workers)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")

    if not DEMO.exists():
        subprocess.run([*WANGGE, "demo", "--out", str(DEMO)], check=True)
    points = points_in_hexi(5000, 1)
    with tempfile.TemporaryDirectory() as data:
        folder = Path(data)
        (folder / "bare_intake_app.py").write_text(BARE_APP)
        env = {**os.environ, "WANGGE_BOUNDARIES": str(DEMO), "WANGGE_DATA_DIR": data,
               "WANGGE_RATE_LIMIT_PER_MINUTE": "100000000",
               "PYTHONPATH": os.pathsep.join([data, str(HERE.parent)])}
        done = subprocess.run([*WANGGE, "keys", "create", "--role", "reporter"], env=env,
                              check=True, capture_output=True, text=True)
        key = done.stdout.strip().splitlines()[-1]
        script = folder / "intake.lua"
        script.write_text(LUA % {
            "points": ",".join(f"{{{lon:.7f},{lat:.7f}}}" for lon, lat in points),
            "categories": ",".join(f'"{c}"' for c in CATEGORIES),
            "key": key,
        })
        log = open(folder / "server.log", "wb")  # noqa: SIM115 (open while the servers run)
        commands = {
            "bare FastAPI POST": [sys.executable, str(Path(__file__).resolve()), "--serve-bare",
                                  "{port}", "--workers", str(args.workers)],
            "POST /reports": [*WANGGE, "serve", "--port", "{port}", "--workers",
                              str(args.workers)],
        }

        @contextlib.contextmanager
        def serving(label: str) -> Iterator[tuple[int, int]]:
            """One of the two servers, started and healthy: its port and process id."""
            port = free_port()
            server = subprocess.Popen([c.format(port=port) for c in commands[label]], env=env,
                                      stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_healthy(f"http://127.0.0.1:{port}",
                             "/docs" if label.startswith("bare") else "/health", server)
                yield port, server.pid
            finally:
                server.terminate()
                server.wait(timeout=30)

        # saturation: the two servers one at a time, alternating, ``--rounds`` times (the
        # machine's other load drifts: each round's ratio is taken, and their median)
        rounds: dict[str, list[dict[str, float]]] = {label: [] for label in commands}
        for _ in range(args.rounds):
            for label in commands:
                with serving(label) as (port, pid):
                    base = f"http://127.0.0.1:{port}"
                    run_wrk(base, script, args.connections, 2, pid)  # warm up
                    rounds[label].append(run_wrk(base, script, args.connections, args.seconds,
                                                 pid))
        # latency at a fixed rate: half of Wangge's (median) saturation, for both
        rate = statistics.median(r["rps"] for r in rounds["POST /reports"]) / 2
        paced_at: dict[str, dict[str, float]] = {}
        for label, tag in (("POST /reports", "p"), ("bare FastAPI POST", "b")):
            with serving(label) as (port, pid):
                run_wrk(f"http://127.0.0.1:{port}", script, args.connections, 2, pid)  # warm up
                before = writer_load(port, label)
                paced_at[label] = asyncio.run(paced(
                    port, build_requests(key, points, int(rate * args.paced_seconds), tag), rate))
                after = writer_load(port, label)
                # the writer's batches over the run and how busy it was (one worker: with
                # more, two /health requests may reach two workers' writers)
                if before and after and args.workers == 1:
                    batches = after["batches"] - before["batches"]
                    paced_at[label]["mean_batch"] = (after["reports"] - before["reports"]) / max(
                        1, batches)
                    paced_at[label]["writer_busy"] = after["busy"]

    print(f"wrk -t2 -c{args.connections} -d{args.seconds:g}s, {args.workers} worker(s), "
          f"SQLite synchronous=FULL, {args.rounds} round(s) of the two servers in turn")
    ratios = []
    for n in range(args.rounds):
        for label in commands:
            r = rounds[label][n]
            print(f"  {label:18} {r['rps']:8.0f} req/s   p50 {r['p50']:6.1f} ms   "
                  f"p99 {r['p99']:6.1f} ms   errors {r['errors']:.0f}   "
                  f"server CPU {r['cpu_ms']:.2f} ms/request")
        ours, bare = rounds["POST /reports"][n], rounds["bare FastAPI POST"][n]
        ratios.append((ours["rps"] / bare["rps"], bare["cpu_ms"] / ours["cpu_ms"]))
        print(f"  round {n + 1}: throughput ratio {ratios[-1][0]:.2f}, "
              f"CPU-per-request ratio {ratios[-1][1]:.2f}")
    print(f"throughput ratio (POST /reports / bare POST) "
          f"{statistics.median(r for r, _ in ratios):.2f}   (median of the rounds; target >= 0.5)")
    print(f"CPU-per-request ratio (bare / POST /reports) "
          f"{statistics.median(c for _, c in ratios):.2f}"
          "   (the same ratio, less swayed by other load on the machine)")
    print(f"open loop at {rate:.0f} req/s (half of Wangge's saturation), {args.paced_seconds:g} s:")
    for label in commands:
        r = paced_at[label]
        print(f"  {label:18} p50 {r['p50']:6.1f} ms   p99 {r['p99']:6.1f} ms   "
              f"errors {r['errors']:.0f}   connections {r['connections']:.0f}   "
              f"driver late {r['late']:.0f}")
    ours = paced_at["POST /reports"]
    if "writer_busy" in ours:
        print(f"  its writer at that rate (a worker's, from /health): busy "
              f"{ours['writer_busy']:.0%} of the last 10 s, {ours['mean_batch']:.1f} reports a "
              "batch (near 100%, reports queue behind the batch being committed)")
    print(f"p99 of POST /reports at half saturation "
          f"{paced_at['POST /reports']['p99']:.1f} ms   (target < 25 ms)")


if __name__ == "__main__":
    main()
