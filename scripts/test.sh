#!/usr/bin/env bash
# The project's test command (README, .ci/run). On a fresh Debian machine it installs what the
# tests need, starts the real mail servers on 127.0.0.1, then runs fmt, clippy, rustdoc and the tests.
#
#   bash scripts/test.sh            # everything
#   SKIP_MAIL_SERVERS=1 bash ...    # without Dovecot/Postfix (their tests then say they skip)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log() { echo "[test.sh] $*" >&2; }
t0=$SECONDS

# ------------------------------------------------------------------ 1. packages
# xmllint validates every EWS request and response against Microsoft's schema in the tests.
need=()
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
# node runs the EWS Managed API's JavaScript port (ews-javascript-api) against the mock.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# DavMail, an EWS-to-IMAP/SMTP gateway (Java), is the fourth third-party client of ews-mock.
command -v davmail >/dev/null 2>&1 || need+=(davmail)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  else
    log "missing ${need[*]} and not root: the tests that need them will fail"
  fi
fi
export EWS_SCHEMA_REQUIRED=1

# A real third-party EWS client (Python's exchangelib) is run against ews-mock in the tests.
if ! python3 -c "import exchangelib" >/dev/null 2>&1; then
  log "installing exchangelib (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check 'exchangelib==5.6.0' >&2
fi
if [ ! -d ews-mock/tools/ews-js/node_modules ]; then
  log "installing ews-javascript-api (npm, from the committed lockfile)"
  npm ci --prefix ews-mock/tools/ews-js --no-audit --no-fund --loglevel=error >&2
fi
export EWS_CLIENTS_REQUIRED=1

# ------------------------------------------------------------------ 2. mail servers
# The same default folder as scripts/mail-servers/setup-mail-servers.sh and stop.sh.
export MAIL_TEST_DIR="${MAIL_TEST_DIR:-/tmp/mail-test-servers}"
started_mail=0
stop_mail() {
  if [ "$started_mail" = 1 ]; then
    MAIL_TEST_DIR="$MAIL_TEST_DIR" bash "$root/scripts/mail-servers/stop.sh" >/dev/null 2>&1 || true
  fi
}
# ------------------------------------------------------------------ 2b. PostgreSQL
# The PostgreSQL backend (feature `postgres`: sync state, leases, CRM store, mail queue) is
# tested against a real server on 127.0.0.1 (scripts/postgres/setup.sh).
export PG_TEST_DIR="${PG_TEST_DIR:-/tmp/pg-test-server}"
started_pg=0
stop_pg() {
  if [ "$started_pg" = 1 ]; then
    PG_TEST_DIR="$PG_TEST_DIR" bash "$root/scripts/postgres/stop.sh" >/dev/null 2>&1 || true
  fi
}
trap 'stop_mail; stop_pg' EXIT
if [ "${SKIP_MAIL_SERVERS:-0}" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then
    MAIL_TEST_RESET=1 bash "$root/scripts/mail-servers/setup-mail-servers.sh" >&2
    started_mail=1
    set -a; . "$MAIL_TEST_DIR/env"; set +a
    export MAIL_SERVERS_REQUIRED=1
  else
    log "not root: cannot install or start the mail servers; their tests will skip"
  fi
fi
if [ "${SKIP_POSTGRES:-0}" != 1 ]; then
  PG_TEST_RESET=1 bash "$root/scripts/postgres/setup.sh"
  started_pg=1
  set -a; . "$PG_TEST_DIR/env"; set +a
  export POSTGRES_REQUIRED=1
fi
log "setup took $((SECONDS - t0)) s"

# ------------------------------------------------------------------ 3. checks
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
# ... and without the PostgreSQL backend (the cargo feature `postgres`, on by default in
# conaktiv-exchange), so that the embedded-only build stays clean.
cargo clippy -p sync-core -p conaktiv-exchange --no-default-features --all-targets -- -D warnings
log "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
log "cargo test"
cargo test --workspace
# The end-to-end suite once more, with the connector speaking Microsoft Graph to the mock
# (an Exchange Online server record) instead of EWS: the same scenarios, the same
# assertions.
log "cargo test -p conaktiv-e2e over Microsoft Graph"
CONAKTIV_E2E_BACKEND=graph cargo test -p conaktiv-e2e
log "all checks passed in $((SECONDS - t0)) s"
