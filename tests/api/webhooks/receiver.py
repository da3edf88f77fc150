"""A webhook receiver run as its own process: checks each request's signature and age, logs it.

python -m tests.api.webhooks.receiver PORT SECRET_FILE LOG [--fail N] [--hang N]
    [--redirect URL] [--flood]

Each request is one JSON line in LOG: the event id header, whether the signature was valid
and fresh, the body, the status answered and the time received. The secret is read from
SECRET_FILE at each request (503 while it does not exist). ``--fail N``: the first N requests
are answered 500; ``--hang N``: the first N are never answered; ``--redirect URL``: every
request is answered 307 to URL; ``--flood``: answered 200 with a body that never ends.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("secret_file", type=Path)
    parser.add_argument("log", type=Path)
    parser.add_argument("--fail", type=int, default=0)
    parser.add_argument("--hang", type=int, default=0)
    parser.add_argument("--redirect")
    parser.add_argument("--flood", action="store_true")
    args = parser.parse_args()
    lock = threading.Lock()
    seen = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                seen[0] += 1
                n = seen[0]
            if not args.secret_file.exists():
                self._answer(503, body, received, valid=False, fresh=False)
                return
            secret = args.secret_file.read_text().strip()
            stamp = self.headers.get("Wangge-Timestamp", "")
            mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
            valid = hmac.compare_digest(
                "sha256=" + mac.hexdigest(), self.headers.get("Wangge-Signature", "")
            )
            fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 300
            if n <= args.hang:
                self._log(0, body, received, valid, fresh)
                time.sleep(3600)  # never answers
                return
            if args.redirect:
                self._log(307, body, received, valid, fresh)
                self.send_response(307)
                self.send_header("Location", args.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if args.flood and valid:
                self._log(200, body, received, valid, fresh)
                self.send_response(200)
                self.end_headers()  # no length: the body runs until the connection closes
                try:
                    while True:
                        self.wfile.write(b"x" * 65536)
                except OSError:  # the sender stopped reading and closed
                    return
            status = 500 if n <= args.hang + args.fail else (200 if valid and fresh else 401)
            self._answer(status, body, received, valid=valid, fresh=fresh)

        def _answer(
            self, status: int, body: bytes, received: float, *, valid: bool, fresh: bool
        ) -> None:
            self._log(status, body, received, valid, fresh)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def _log(self, status: int, body: bytes, received: float, valid: bool, fresh: bool) -> None:
            line = {
                "event_id": self.headers.get("Wangge-Event-Id"),
                "valid": valid,
                "fresh": fresh,
                "status": status,
                "received_at": received,
                "body": json.loads(body) if body else None,
            }
            with lock, args.log.open("a") as f:
                f.write(json.dumps(line, ensure_ascii=False) + "\n")

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
