"""Webhook latency: from POST /reports answered to the receiver's request, beside intake itself.

    .venv/bin/python bench/webhooks.py [--reports 1000] [--clients 8]

Starts the real server (`wangge serve`, SQLite in a temporary folder, the Hexi demo boundaries,
the dispatcher on), a local receiver on 127.0.0.1 (in this process, checking signatures) and
one subscription to report.created. ``--clients`` concurrent connections post ``--reports``
reports; for each, the time from its 201 to the receiver's request. Prints p50/p99 of that
delivery latency beside p50/p99 of the POST itself (the baseline measured in the same run),
and their ratio. Target: delivery p99 under 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from intake import CATEGORIES, DEMO, WANGGE, free_port, points_in_hexi  # noqa: E402


def pct(values: list[float], q: float) -> float:
    """The q-th percentile of ``values`` (seconds) in milliseconds."""
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


class Receiver:
    """Records when each report's event arrived; counts bad signatures."""

    def __init__(self) -> None:
        self.secret = b""
        self.arrived: dict[int, float] = {}
        self.bad = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                at = time.time()
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["Wangge-Timestamp"]
                mac = hmac.new(receiver.secret, stamp.encode() + b"." + body, hashlib.sha256)
                good = hmac.compare_digest(
                    "sha256=" + mac.hexdigest(), self.headers["Wangge-Signature"]
                )
                with receiver.lock:
                    if good:
                        receiver.arrived.setdefault(json.loads(body)["data"]["id"], at)
                    else:
                        receiver.bad += 1
                self.send_response(200 if good else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


async def post_reports(
    base: str, key: str, total: int, clients: int, points: list[tuple[float, float]]
) -> tuple[dict[int, float], list[float], int]:
    """Post ``total`` reports; when each was answered (by id), each POST's latency, errors."""
    answered: dict[int, float] = {}
    latencies: list[float] = []
    errors = 0
    queue = list(range(total))
    headers = {"Authorization": f"Bearer {key}"}

    async def one(worker: int) -> None:
        nonlocal errors
        rnd = random.Random(worker)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            while queue:
                n = queue.pop()
                lon, lat = points[rnd.randrange(len(points))]
                body = {"lon": lon, "lat": lat, "crs": "gcj02",
                        "category": rnd.choice(CATEGORIES), "description": f"bench {n}"}
                started = time.perf_counter()
                response = await http.post("/reports", json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code == 201:
                    answered[response.json()["id"]] = time.time()
                else:
                    errors += 1

    await asyncio.gather(*(one(w) for w in range(clients)))
    return answered, latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    if not DEMO.exists():
        subprocess.run([*WANGGE, "demo", "--out", str(DEMO)], check=True)
    points = points_in_hexi(5000, 1)
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "WANGGE_BOUNDARIES": str(DEMO), "WANGGE_DATA_DIR": data,
               "WANGGE_RATE_LIMIT_PER_MINUTE": "100000000",
               "WANGGE_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
        keys = {}
        for role in ("reporter", "admin"):
            done = subprocess.run([*WANGGE, "keys", "create", "--role", role], env=env,
                                  check=True, capture_output=True, text=True)
            keys[role] = done.stdout.strip().splitlines()[-1]
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
            sub = httpx.post(
                f"{base}/webhooks", json={"url": receiver.url, "events": ["report.created"]},
                headers={"Authorization": f"Bearer {keys['admin']}"},
            ).json()
            receiver.secret = sub["secret"].encode()
            answered, latencies, errors = asyncio.run(
                post_reports(base, keys["reporter"], args.reports, args.clients, points)
            )
            deadline = time.monotonic() + 60
            while len(receiver.arrived) < len(answered) and time.monotonic() < deadline:
                time.sleep(0.05)
            delays = [receiver.arrived[i] - t for i, t in answered.items() if i in receiver.arrived]
            missing = len(answered) - len(delays)
            print(f"POST /reports (baseline)   p50 {pct(latencies, 50):7.1f} ms   "
                  f"p99 {pct(latencies, 99):7.1f} ms   non-201: {errors}")
            print(f"answered -> receiver       p50 {pct(delays, 50):7.1f} ms   "
                  f"p99 {pct(delays, 99):7.1f} ms   missing: {missing}   bad signatures: "
                  f"{receiver.bad}")
            print(f"ratio (delivery p99 / intake p99) {pct(delays, 99) / pct(latencies, 99):.2f}  "
                  f"({len(answered)} reports, {args.clients} clients, target p99 < 2000 ms)")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
