#!/usr/bin/env bash
# Set up on first use (with the test dependencies) and run the whole test suite.
# Extra arguments go to pytest, e.g. ./test.sh tests/geo -x
set -euo pipefail
cd "$(dirname "$0")"
. ./scripts/venv.sh "[test]"
# Two processes (pytest-xdist), a test module to each at a time: most of the suite waits on
# servers, browsers and databases, so two run side by side in not much more than one.
exec .venv/bin/python -m pytest -n "${WANGGE_TEST_PROCESSES:-2}" --dist loadscope "$@"
