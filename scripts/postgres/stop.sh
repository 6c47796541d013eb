#!/usr/bin/env bash
# stop.sh — stop the test PostgreSQL started by setup.sh. PG_TEST_PURGE=1 also deletes its folder.
set -uo pipefail
D="${PG_TEST_DIR:-/tmp/pg-test-server}"
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -n "$BIN" ] && [ -f "$D/data/postmaster.pid" ]; then
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$BIN/pg_ctl" -D "$D/data" -m fast stop >/dev/null 2>&1 || true
  else "$BIN/pg_ctl" -D "$D/data" -m fast stop >/dev/null 2>&1 || true; fi
fi
if [ "${PG_TEST_PURGE:-0}" = 1 ]; then rm -rf "$D"; fi
echo "postgres test server stopped ($D)"
