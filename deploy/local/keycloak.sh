#!/usr/bin/env bash
# Local Keycloak (the identity provider of the officials and the partner systems) from Maven Central's
# keycloak-quarkus-dist zip, on 127.0.0.1:8080 only, its data in the project's PostgreSQL (database and role
# keycloak, made by postgres.sh), the rehab realm imported from deploy/keycloak/rehab-realm.json.
# Ready when the realm's OpenID discovery document answers. Usage: keycloak.sh start|stop|status
# Nothing here puts a password on a command line: Keycloak reads them from its KC_* environment variables.
set -euo pipefail
. "$(dirname "$0")/env.sh"
CONF_DIR=$REHAB_ROOT/deploy/keycloak
KC=$KEYCLOAK_HOME/keycloak-$KEYCLOAK_VERSION
PIDF=$RUN_DIR/keycloak.pid
DISCOVERY=$REHAB_KEYCLOAK_URL/realms/rehab/.well-known/openid-configuration
# build-time options (kc.sh build bakes them into the distribution; a change rebuilds it)
BUILD_OPTS="--db=postgres --health-enabled=true --metrics-enabled=true"

fetch() {
  [ -x "$KC/bin/kc.sh" ] && return 0
  command -v java >/dev/null || die "java not found: install a Java 17 runtime (apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven) to fetch Keycloak from Maven Central"
  command -v unzip >/dev/null || die "unzip not found: install it (apt-get install unzip)"
  say "fetching Keycloak $KEYCLOAK_VERSION (keycloak-quarkus-dist) from Maven Central into $KEYCLOAK_HOME"
  mkdir -p "$KEYCLOAK_HOME"
  mvn -q -B dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" \
    -DoutputDirectory="$KEYCLOAK_HOME" -Dmaven.repo.local="$REHAB_LOCAL/m2" > "$LOG_DIR/keycloak-fetch.log" 2>&1 \
    || die "could not download Keycloak from Maven Central: see $LOG_DIR/keycloak-fetch.log"
  rm -rf "$KC.tmp" && mkdir -p "$KC.tmp"
  unzip -q "$KEYCLOAK_HOME/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip" -d "$KC.tmp" \
    || die "could not unpack $KEYCLOAK_HOME/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
  rm -f "$KEYCLOAK_HOME/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"  # the copy in .local/m2 stays
  mv "$KC.tmp/keycloak-$KEYCLOAK_VERSION" "$KC" && rmdir "$KC.tmp"
}

configure() {
  # the theme (Vietnamese login pages) and the realm file are the project's: copied in on every start
  rm -rf "$KC/themes/rehab" && cp -r "$CONF_DIR/themes/rehab" "$KC/themes/rehab"
  mkdir -p "$KC/data/import" && cp "$CONF_DIR/rehab-realm.json" "$KC/data/import/rehab-realm.json"
  if [ "$(cat "$KEYCLOAK_HOME/build-options" 2>/dev/null)" != "$BUILD_OPTS" ]; then
    say "building Keycloak for PostgreSQL (once; $BUILD_OPTS)"
    "$KC/bin/kc.sh" build $BUILD_OPTS > "$LOG_DIR/keycloak-build.log" 2>&1 \
      || die "kc.sh build failed: see $LOG_DIR/keycloak-build.log"
    echo "$BUILD_OPTS" > "$KEYCLOAK_HOME/build-options"
  fi
}

# kc_env: the database, the administrator and the heap of this machine, as the KC_* variables kc.sh reads
kc_env() {
  export KC_DB_URL="jdbc:postgresql://$PG_HOST:$PG_PORT/keycloak" KC_DB_USERNAME=keycloak \
    KC_DB_PASSWORD="$REHAB_KEYCLOAK_DB_PASSWORD" \
    KC_BOOTSTRAP_ADMIN_USERNAME="$REHAB_KEYCLOAK_ADMIN" KC_BOOTSTRAP_ADMIN_PASSWORD="$REHAB_KEYCLOAK_ADMIN_PASSWORD" \
    JAVA_OPTS_KC_HEAP="-Xms64m -Xmx$KEYCLOAK_HEAP"
}

# The realm is imported when it does not exist yet; a realm file changed since its import is imported again
# over it (the demo accounts are then created again by `python -m services.platform keycloak accounts`).
reimport_if_changed() {
  local now before; now=$(sha256sum "$CONF_DIR/rehab-realm.json" | cut -d' ' -f1)
  before=$(cat "$KEYCLOAK_HOME/realm.sha256" 2>/dev/null || true)
  if [ -n "$before" ] && [ "$before" != "$now" ]; then
    say "deploy/keycloak/rehab-realm.json changed: importing the rehab realm again (its users are replaced)"
    (kc_env; "$KC/bin/kc.sh" import --optimized --file "$KC/data/import/rehab-realm.json" --override true) > "$LOG_DIR/keycloak-import.log" 2>&1 \
      || die "the realm import failed: see $LOG_DIR/keycloak-import.log"
  fi
  echo "$now" > "$KEYCLOAK_HOME/realm.sha256"
}

start() {
  if pid_alive "$PIDF"; then say "Keycloak already running (pid $(cat "$PIDF"))"; return 0; fi
  if port_busy "$KEYCLOAK_PORT"; then
    if curl -fs "$DISCOVERY" > /dev/null; then say "a Keycloak with the rehab realm already answers on $REHAB_KEYCLOAK_URL; using it"; return 0; fi
    die "port $KEYCLOAK_PORT is in use by something that is not Keycloak's rehab realm: free it or set REHAB_KEYCLOAK_PORT"
  fi
  fetch; configure; reimport_if_changed
  say "starting Keycloak $KEYCLOAK_VERSION on $REHAB_KEYCLOAK_URL (heap $KEYCLOAK_HEAP, data in PostgreSQL database keycloak)"
  local started=$SECONDS
  # the subshell becomes kc.sh (exec), which passes TERM on to Java: the pid file names it
  (kc_env; exec setsid nohup "$KC/bin/kc.sh" start --optimized \
    --http-enabled=true --http-host="$KEYCLOAK_HOST" --http-port="$KEYCLOAK_PORT" \
    --http-management-port="$KEYCLOAK_MANAGEMENT_PORT" --hostname="$REHAB_KEYCLOAK_URL" \
    --import-realm --log-level=info) > "$LOG_DIR/keycloak.log" 2>&1 < /dev/null &
  echo $! > "$PIDF"
  for _ in $(seq 1 360); do
    if curl -fs "$DISCOVERY" > /dev/null; then break; fi
    pid_alive "$PIDF" || { tail -n 20 "$LOG_DIR/keycloak.log" >&2; die "Keycloak exited: see $LOG_DIR/keycloak.log"; }
    sleep 0.5
  done
  curl -fs "$DISCOVERY" > /dev/null || { tail -n 20 "$LOG_DIR/keycloak.log" >&2; die "Keycloak did not answer in 180 s: see $LOG_DIR/keycloak.log"; }
  say "Keycloak ready in $((SECONDS - started)) s: $REHAB_KEYCLOAK_URL/realms/rehab (admin console $REHAB_KEYCLOAK_URL/admin)"
}

case "${1:-start}" in
  start) start ;;
  stop) stop_pid keycloak TERM ;;
  status) if pid_alive "$PIDF"; then echo "keycloak: running (pid $(cat "$PIDF"))"; else echo "keycloak: stopped"; fi ;;
  *) die "usage: $0 start|stop|status" ;;
esac
