#!/usr/bin/env bash
# Local PostgreSQL with its own data directory under .local/pg, listening on loopback only.
# One database (rehab) with one schema and one role per service.  Usage: postgres.sh start|stop|status
set -euo pipefail
. "$(dirname "$0")/env.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$PG_HOME/data
SOCK=$PG_HOME/run
PIDF=$RUN_DIR/postgres.pid

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

install_pg() {
  [ -n "$(pg_bin)" ] && return 0
  say "installing PostgreSQL from Debian's package"
  command -v apt-get >/dev/null || die "no PostgreSQL found and no apt-get: install PostgreSQL 15+ and re-run"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq postgresql; } > "$LOG_DIR/pg-install.log" 2>&1 \
    || die "apt-get install postgresql failed: see $LOG_DIR/pg-install.log"
  # The package may start its own cluster; ours runs beside it on its own port and data directory.
}

# as_pg CMD...: PostgreSQL refuses to run as root, so root runs it as the postgres user.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

init() {
  [ -f "$DATA/PG_VERSION" ] && return 0
  say "initialising a PostgreSQL cluster in $DATA"
  mkdir -p "$PG_HOME"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_HOME"
  as_pg mkdir -p "$DATA" "$SOCK"
  local pw; pw=$(mktemp); echo "$PG_SUPERPASS" > "$pw"; chmod 644 "$pw"
  as_pg "$BIN/initdb" -D "$DATA" -U postgres --pwfile="$pw" -E UTF8 --locale=C.UTF-8 \
    --auth-host=scram-sha-256 --auth-local=trust > "$LOG_DIR/pg-init.log" 2>&1 \
    || { rm -f "$pw"; die "initdb failed: see $LOG_DIR/pg-init.log"; }
  rm -f "$pw"
  cat >> "$DATA/postgresql.conf" <<CONF
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$SOCK'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
CONF
}

bootstrap_sql() {
  as_pg "$BIN/psql" -q -h "$SOCK" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -f "$HERE/postgres/bootstrap.sql" > "$LOG_DIR/pg-bootstrap.log" 2>&1 \
    || die "database bootstrap failed: see $LOG_DIR/pg-bootstrap.log"
  if ! as_pg "$BIN/psql" -h "$SOCK" -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='rehab'" | grep -q 1; then
    as_pg "$BIN/psql" -q -h "$SOCK" -p "$PG_PORT" -U postgres -c "CREATE DATABASE rehab OWNER rehab"
  fi
  as_pg "$BIN/psql" -q -h "$SOCK" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -f "$HERE/postgres/keycloak.sql" >> "$LOG_DIR/pg-bootstrap.log" 2>&1 \
    || die "Keycloak's database could not be created: see $LOG_DIR/pg-bootstrap.log"
  as_pg "$BIN/psql" -q -h "$SOCK" -p "$PG_PORT" -U postgres -d rehab -v ON_ERROR_STOP=1 \
    -f "$HERE/postgres/schemas.sql" >> "$LOG_DIR/pg-bootstrap.log" 2>&1 \
    || die "schema bootstrap failed: see $LOG_DIR/pg-bootstrap.log"
}

start() {
  install_pg; BIN=$(pg_bin)
  if pid_alive "$PIDF"; then say "PostgreSQL already running (pid $(cat "$PIDF"))"; bootstrap_sql; return 0; fi
  if port_busy "$PG_PORT"; then
    die "port $PG_PORT is in use by another program: stop it or set REHAB_PG_PORT to a free port"
  fi
  init
  say "starting PostgreSQL ($("$BIN/postgres" --version | awk '{print $3}')) on $PG_HOST:$PG_PORT"
  # The server log lives in the postgres-owned directory; .local/log/postgres.log links to it.
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$PG_HOME/postgres.log" -w -t 60 start > /dev/null \
    || die "PostgreSQL did not start: see $PG_HOME/postgres.log"
  ln -sf "$PG_HOME/postgres.log" "$LOG_DIR/postgres.log"
  head -1 "$DATA/postmaster.pid" > "$PIDF"
  bootstrap_sql
}

case "${1:-start}" in
  start) start ;;
  stop) stop_pid postgres INT ;;   # SIGINT = fast shutdown: clients disconnected, data flushed
  status) if pid_alive "$PIDF"; then echo "postgres: running (pid $(cat "$PIDF"))"; else echo "postgres: stopped"; fi ;;
  *) die "usage: $0 start|stop|status" ;;
esac
