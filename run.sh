#!/usr/bin/env bash
# Set up on first use, build the demo boundaries if missing, and serve http://127.0.0.1:8000
# (SQLite and the bundled demo data; no other set-up). Extra arguments go to `wangge serve`.
set -euo pipefail
cd "$(dirname "$0")"
. ./scripts/venv.sh ""
.venv/bin/wangge demo --if-missing
exec .venv/bin/wangge serve "$@"
