#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) assembled from Maven Central.
# Usage: kafka.sh start|stop|status
set -euo pipefail
. "$(dirname "$0")/env.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
LIBS=$KAFKA_HOME/libs-$KAFKA_VERSION
CONF=$KAFKA_HOME/server.properties
PIDF=$RUN_DIR/kafka.pid

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
  sed -e "s#@HOST@#$KAFKA_HOST#g" -e "s#@PORT@#$KAFKA_PORT#g" -e "s#@CPORT@#$KAFKA_CONTROLLER_PORT#g" \
      -e "s#@DATA@#$KAFKA_HOME/data#g" "$HERE/kafka/server.properties.in" > "$CONF"
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
    if "$PY" -m shared.platform kafka --timeout 5 >/dev/null 2>&1; then
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
  if ! "$PY" -m shared.platform kafka --timeout 90; then
    tail -20 "$LOG_DIR/kafka.log" >&2 || true
    die "Kafka did not become ready: see $LOG_DIR/kafka.log"
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop_pid kafka TERM ;;
  status) if pid_alive "$PIDF"; then echo "kafka: running (pid $(cat "$PIDF"))"; else echo "kafka: stopped"; fi ;;
  *) die "usage: $0 start|stop|status" ;;
esac
