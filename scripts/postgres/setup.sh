#!/usr/bin/env bash
# setup.sh — a throw-away PostgreSQL server for the tests, on 127.0.0.1 only.
#
# Installs Debian's postgresql package if no server binaries are found (needs root), creates a
# cluster in $PG_TEST_DIR (default /tmp/pg-test-server), starts it on 127.0.0.1:$PG_TEST_PORT
# (default 54329) with password (SCRAM) authentication, creates the role `conaktiv` with a
# random password and the database `conaktiv`, and writes $PG_TEST_DIR/env:
#
#   CONAKTIV_TEST_POSTGRES_URL=postgres://conaktiv:…@127.0.0.1:54329/conaktiv
#
# Tests create their own databases through that role (it has CREATEDB). PG_TEST_RESET=1
# deletes an existing cluster first. Stop with scripts/postgres/stop.sh.
set -euo pipefail
D="${PG_TEST_DIR:-/tmp/pg-test-server}"
PORT="${PG_TEST_PORT:-54329}"
log() { echo "[postgres] $*" >&2; }

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
BIN=$(find_bin)
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  if [ "$(id -u)" != 0 ]; then log "PostgreSQL is not installed and this is not root"; exit 1; fi
  log "installing postgresql (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # policy-rc.d keeps the package from starting its own cluster service.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -q --no-install-recommends postgresql >/dev/null
  rm -f /usr/sbin/policy-rc.d
  BIN=$(find_bin)
fi

# The server refuses to run as root: as root, the cluster belongs to the `postgres` user.
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ -f "$D/data/postmaster.pid" ]; then
  as_owner "$BIN/pg_ctl" -D "$D/data" -m fast stop >/dev/null 2>&1 || true
fi
if [ "${PG_TEST_RESET:-0}" = 1 ]; then rm -rf "$D"; fi
mkdir -p "$D"
if [ "$(id -u)" = 0 ]; then chown postgres: "$D"; fi

if [ ! -f "$D/data/PG_VERSION" ]; then
  pw=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  printf '%s\n' "$pw" > "$D/superuser.pw"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$D/superuser.pw"; fi
  chmod 600 "$D/superuser.pw"
  as_owner "$BIN/initdb" -D "$D/data" -U postgres --pwfile="$D/superuser.pw" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $PORT"
    echo "unix_socket_directories = '$D'"
    echo "max_connections = 300"
    echo "fsync = on"
    echo "shared_buffers = 128MB"
  } >> "$D/data/postgresql.conf"
fi
as_owner "$BIN/pg_ctl" -D "$D/data" -l "$D/server.log" -w -t 60 start >/dev/null

psql_su() { as_owner psql -h "$D" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
pw=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
psql_su -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'conaktiv') THEN
    CREATE ROLE conaktiv LOGIN CREATEDB;
  END IF; END \$\$;" >/dev/null
psql_su -c "ALTER ROLE conaktiv PASSWORD '$pw'" >/dev/null
if [ -z "$(psql_su -c "SELECT 1 FROM pg_database WHERE datname = 'conaktiv'")" ]; then
  psql_su -c "CREATE DATABASE conaktiv OWNER conaktiv" >/dev/null
fi
url="postgres://conaktiv:$pw@127.0.0.1:$PORT/conaktiv"
printf 'CONAKTIV_TEST_POSTGRES_URL=%s\n' "$url" > "$D/env"
chmod 644 "$D/env"
log "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT ($D)"
