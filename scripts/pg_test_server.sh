#!/usr/bin/env bash
# Start (or reuse) a throwaway PostgreSQL server on loopback for the tests, from Debian's
# packages. Prints the URL to export as TELCO360_TEST_PG_URL. Usage:
#   eval "$(bash scripts/pg_test_server.sh start)"   # exports TELCO360_TEST_PG_URL
#   bash scripts/pg_test_server.sh stop
set -euo pipefail
PGPORT=${TELCO360_TEST_PG_PORT:-55432}
PGDATA=${TELCO360_TEST_PG_DIR:-/tmp/telco360-pg}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-start}" in
start)
  if [ -z "$PGBIN" ]; then
    echo "installing PostgreSQL from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq postgresql >/dev/null
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  if ! as_pg "$PGBIN/pg_isready" -h 127.0.0.1 -p "$PGPORT" -q; then
    rm -rf "$PGDATA"; mkdir -p "$PGDATA"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U telco360 --auth=trust -E UTF8 >/dev/null
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
      -o "-h 127.0.0.1 -p $PGPORT -k /tmp -c max_connections=300 -c fsync=off -c shared_buffers=256MB" start >&2
  fi
  echo "export TELCO360_TEST_PG_URL=postgresql+psycopg://telco360@127.0.0.1:$PGPORT/postgres"
  ;;
stop)
  [ -n "$PGBIN" ] && [ -d "$PGDATA" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >&2 || true
  ;;
esac
