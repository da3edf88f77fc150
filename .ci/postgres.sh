#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster with PostGIS on 127.0.0.1:$PGPORT (default: a free port)
# and print the URL the tests read from WANGGE_TEST_POSTGRES_URL. Needs Debian's postgresql and
# postgresql-NN-postgis-3 packages.
set -euo pipefail
port=${PGPORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/wangge-pg.XXXXXX)
chown postgres "$dir"
runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
psql="psql -h 127.0.0.1 -p $port -U postgres -v ON_ERROR_STOP=1 -q"
$psql -c "CREATE DATABASE wangge_test" postgres
$psql -c "CREATE EXTENSION postgis" wangge_test
$psql -c "CREATE EXTENSION postgis" template1
echo "postgresql+psycopg://postgres@127.0.0.1:$port/wangge_test"
