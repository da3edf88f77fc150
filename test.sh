#!/usr/bin/env bash
# Set up on first use (with the test dependencies) and run the whole test suite.
# Extra arguments go to pytest, e.g. ./test.sh tests/geo -x
set -euo pipefail
cd "$(dirname "$0")"
. ./scripts/venv.sh "[test]"
exec .venv/bin/python -m pytest "$@"
