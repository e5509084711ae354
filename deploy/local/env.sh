# Shared settings for the local platform scripts. Every value can be overridden from the environment.
# shellcheck shell=bash
REHAB_ROOT=${REHAB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
REHAB_LOCAL=${REHAB_LOCAL:-$REHAB_ROOT/.local}
RUN_DIR=$REHAB_LOCAL/run
LOG_DIR=$REHAB_LOCAL/log
mkdir -p "$RUN_DIR" "$LOG_DIR"

KAFKA_VERSION=4.1.1            # pinned; the pom.xml beside this file pins the same version
KAFKA_HOME=$REHAB_LOCAL/kafka
KAFKA_HOST=${REHAB_KAFKA_HOST:-127.0.0.1}
KAFKA_PORT=${REHAB_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${REHAB_KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP=${REHAB_KAFKA_HEAP:-512m}
export REHAB_KAFKA_BOOTSTRAP=${REHAB_KAFKA_BOOTSTRAP:-$KAFKA_HOST:$KAFKA_PORT}
# SASL/SCRAM-SHA-512 on loopback (no TLS: nothing leaves the machine). The platform's identity is the admin,
# a super user (tools, tests, the broker itself); each service logs in as itself (services.sh). The passwords
# are local defaults, <user>-local as in shared/base/settings.py: set these variables to use others.
export REHAB_KAFKA_SECURITY_PROTOCOL=${REHAB_KAFKA_SECURITY_PROTOCOL:-SASL_PLAINTEXT}
export REHAB_KAFKA_SASL_MECHANISM=${REHAB_KAFKA_SASL_MECHANISM:-SCRAM-SHA-512}
export REHAB_KAFKA_USERNAME=${REHAB_KAFKA_USERNAME:-admin}
export REHAB_KAFKA_PASSWORD=${REHAB_KAFKA_PASSWORD:-$REHAB_KAFKA_USERNAME-local}

PG_HOME=$REHAB_LOCAL/pg
PG_HOST=${REHAB_PG_HOST:-127.0.0.1}
PG_PORT=${REHAB_PG_PORT:-55432}
PG_SUPERPASS=${REHAB_PG_SUPERPASS:-postgres}
export REHAB_PG_HOST=$PG_HOST REHAB_PG_PORT=$PG_PORT

KEYCLOAK_VERSION=26.5.6         # pinned: org.keycloak:keycloak-quarkus-dist from Maven Central, runs on Java 17
KEYCLOAK_HOME=$REHAB_LOCAL/keycloak
KEYCLOAK_HOST=127.0.0.1          # loopback only (ARCHITECTURE.md): nothing outside this machine signs in locally
KEYCLOAK_PORT=${REHAB_KEYCLOAK_PORT:-8080}
KEYCLOAK_MANAGEMENT_PORT=${REHAB_KEYCLOAK_MANAGEMENT_PORT:-9000}  # health and metrics
KEYCLOAK_HEAP=${REHAB_KEYCLOAK_HEAP:-512m}
export REHAB_KEYCLOAK_URL=${REHAB_KEYCLOAK_URL:-http://$KEYCLOAK_HOST:$KEYCLOAK_PORT}
# Keycloak's administrator (master realm) and its database role; local defaults like Kafka's, set them to change
export REHAB_KEYCLOAK_ADMIN=${REHAB_KEYCLOAK_ADMIN:-admin}
export REHAB_KEYCLOAK_ADMIN_PASSWORD=${REHAB_KEYCLOAK_ADMIN_PASSWORD:-$REHAB_KEYCLOAK_ADMIN-local}
export REHAB_KEYCLOAK_DB_PASSWORD=${REHAB_KEYCLOAK_DB_PASSWORD:-keycloak-local}

export UV_PROJECT_ENVIRONMENT=${UV_PROJECT_ENVIRONMENT:-$REHAB_LOCAL/venv}
PY=$UV_PROJECT_ENVIRONMENT/bin/python

SERVICES="registry cases quotas reporting"

say() { printf '\033[1m[rehab]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[rehab] %s\033[0m\n' "$*" >&2; exit 1; }

# pid_alive FILE: true when FILE names a running process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid NAME [SIGNAL]: stop the process recorded in run/NAME.pid and wait for it to exit.
stop_pid() {
  local f=$RUN_DIR/$1.pid sig=${2:-TERM}
  if pid_alive "$f"; then
    local pid; pid=$(cat "$f")
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then say "$1 did not stop in 30 s, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    say "stopped $1 (pid $pid)"
  fi
  rm -f "$f"
}

# port_busy PORT: true when something listens on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
