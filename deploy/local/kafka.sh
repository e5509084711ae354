#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) assembled from Maven Central, with
# SASL/SCRAM-SHA-512 and ACLs (server.properties.in says why each listener is what it is).
# Usage: kafka.sh start|stop|status. The service users and their ACLs: python -m services.platform access.
# Nothing here puts a password on a command line: it is substituted and written by shell builtins only.
set -euo pipefail
. "$(dirname "$0")/env.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
LIBS=$KAFKA_HOME/libs-$KAFKA_VERSION
CONF=$KAFKA_HOME/server.properties
PIDF=$RUN_DIR/kafka.pid
KAFKA_ADMIN_PORT=${REHAB_KAFKA_ADMIN_PORT:-$((KAFKA_CONTROLLER_PORT + 1))}  # the ADMIN listener (server.properties.in)

fetch() {
  [ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] && return 0
  command -v java >/dev/null || die "java not found: install a Java 17 runtime (apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven) to assemble Kafka from Maven Central"
  say "assembling Kafka $KAFKA_VERSION from Maven Central into $LIBS"
  rm -rf "$LIBS.tmp"
  mvn -q -B -f "$HERE/kafka/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$LIBS.tmp" -Dmaven.repo.local="$REHAB_LOCAL/m2" \
    > "$LOG_DIR/kafka-fetch.log" 2>&1 || die "could not download Kafka from Maven Central: see $LOG_DIR/kafka-fetch.log"
  mv "$LIBS.tmp" "$LIBS"
}

configure() {
  mkdir -p "$KAFKA_HOME/data"
  # the admin's name and password go into JAAS lines of the broker's configuration: keep them to safe characters
  [[ $REHAB_KAFKA_USERNAME =~ ^[A-Za-z0-9._-]+$ ]] || die "REHAB_KAFKA_USERNAME may hold only letters, digits, . _ -"
  [[ $REHAB_KAFKA_PASSWORD =~ ^[A-Za-z0-9._~+=@%:,/-]{8,}$ ]] \
    || die "REHAB_KAFKA_PASSWORD needs 8 or more of: letters, digits, . _ ~ + = @ % : , / -"
  if [ -f "$CONF" ] && ! grep -q '^sasl.enabled.mechanisms=' "$CONF"; then
    say "switching Kafka from PLAINTEXT to SASL/SCRAM-SHA-512 with ACLs (existing data in $KAFKA_HOME/data kept)"
  fi
  local conf; conf=$(<"$HERE/kafka/server.properties.in")
  conf=${conf//@HOST@/"$KAFKA_HOST"}; conf=${conf//@PORT@/"$KAFKA_PORT"}; conf=${conf//@CPORT@/"$KAFKA_CONTROLLER_PORT"}
  conf=${conf//@APORT@/"$KAFKA_ADMIN_PORT"}
  conf=${conf//@DATA@/"$KAFKA_HOME/data"}; conf=${conf//@ADMIN@/"$REHAB_KAFKA_USERNAME"}
  conf=${conf//@ADMIN_PASSWORD@/"$REHAB_KAFKA_PASSWORD"}
  (umask 077; printf '%s\n' "$conf" > "$CONF.new")
  mv "$CONF.new" "$CONF"
  if [ ! -f "$KAFKA_HOME/data/meta.properties" ]; then
    local cid; cid=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    say "formatting Kafka storage (cluster id $cid)"
    java -cp "$LIBS/*" -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties" kafka.tools.StorageTool \
      format --standalone -t "$cid" -c "$CONF" --ignore-formatted > "$LOG_DIR/kafka-format.log" 2>&1 \
      || die "Kafka storage format failed: see $LOG_DIR/kafka-format.log"
  fi
}

start() {
  if pid_alive "$PIDF"; then say "Kafka already running (pid $(cat "$PIDF"))"; return 0; fi
  if port_busy "$KAFKA_PORT"; then
    if "$PY" -m services.platform kafka --timeout 5 >/dev/null 2>&1; then
      say "a Kafka broker already answers on $KAFKA_HOST:$KAFKA_PORT; using it"; return 0
    fi
    die "port $KAFKA_PORT is in use by something that is not Kafka: free it or set REHAB_KAFKA_PORT"
  fi
  fetch; configure
  say "starting Kafka $KAFKA_VERSION on $KAFKA_HOST:$KAFKA_PORT (heap $KAFKA_HEAP)"
  setsid nohup java -Xms128m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties" -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$LIBS/*" kafka.Kafka "$CONF" > "$LOG_DIR/kafka.log" 2>&1 < /dev/null &
  echo $! > "$PIDF"
  # The admin's SCRAM password, set on every start through the ADMIN listener (PLAIN, checked against the
  # configuration), the password on stdin: a new install, one formatted before SASL, a changed
  # REHAB_KAFKA_PASSWORD, and a broker back without its SCRAM users alike. Kafka 4.1.1 (4.1.2 and 4.2.0 too)
  # can lose them all on a restart once its metadata log holds a deleted one: replaying from an empty image,
  # ScramDelta.apply() drops the mechanism's user map when a removal leaves it empty, and the users the loop
  # puts after that land in the dropped map.
  if ! REHAB_KAFKA_BOOTSTRAP="$KAFKA_HOST:$KAFKA_ADMIN_PORT" REHAB_KAFKA_SASL_MECHANISM=PLAIN "$PY" -m services.platform \
      kafka password --user "$REHAB_KAFKA_USERNAME" --timeout 90 <<< "$REHAB_KAFKA_PASSWORD"; then
    tail -n 20 "$LOG_DIR/kafka.log" >&2 || true
    die "could not set the Kafka admin's password: see $LOG_DIR/kafka.log"
  fi
  if ! "$PY" -m services.platform kafka --timeout 90; then
    tail -n 20 "$LOG_DIR/kafka.log" >&2 || true
    die "Kafka did not become ready: see $LOG_DIR/kafka.log"
  fi
  # The services' users and ACLs (make platform runs this step too): on every start, for the same reason.
  "$PY" -m services.platform access || die "could not create the Kafka users and ACLs"
}

case "${1:-start}" in
  start) start ;;
  stop) stop_pid kafka TERM ;;
  status) if pid_alive "$PIDF"; then echo "kafka: running (pid $(cat "$PIDF"))"; else echo "kafka: stopped"; fi ;;
  *) die "usage: $0 start|stop|status" ;;
esac
