#!/usr/bin/env bash
# Starts/stops the four service processes and the web app, tracked by pid files under .local/run.
set -euo pipefail
. "$(dirname "$0")/env.sh"
declare -A PORT=([registry]=8001 [cases]=8002 [quotas]=8003 [reporting]=8004 [web]=8000)
APPS="$SERVICES web"  # the web app is a client of the four: it starts with them and stops with them

start() {
  cd "$REHAB_ROOT"
  # each service logs in to Kafka as itself (its ACLs: shared/runtime/kafka_access.py); local default passwords
  for s in $SERVICES; do
    local user=REHAB_${s^^}_KAFKA_USERNAME password=REHAB_${s^^}_KAFKA_PASSWORD
    export "$user=${!user:-$s}" "$password=${!password:-$s-local}"
  done
  # tokens of the rehab realm are verified with its keys and asked about at Keycloak (introspection, as the
  # rehab-services client; the realm file's local default secret); development also takes `rehab token`'s
  export REHAB_OIDC_ISSUER=${REHAB_OIDC_ISSUER:-$REHAB_KEYCLOAK_URL/realms/rehab}
  export REHAB_OIDC_CLIENT_SECRET=${REHAB_OIDC_CLIENT_SECRET:-rehab-services-local}
  for s in $APPS; do
    if pid_alive "$RUN_DIR/$s.pid"; then say "$s already running (pid $(cat "$RUN_DIR/$s.pid"))"; continue; fi
    setsid nohup "$PY" -m "services.$s" > "$LOG_DIR/$s.log" 2>&1 < /dev/null &
    echo $! > "$RUN_DIR/$s.pid"
  done
  for s in $APPS; do
    local url=http://127.0.0.1:${PORT[$s]}/health/ready ok=
    for _ in $(seq 1 60); do
      if curl -fs "$url" > /dev/null; then ok=1; break; fi
      pid_alive "$RUN_DIR/$s.pid" || break
      sleep 0.5
    done
    [ -n "$ok" ] || { tail -5 "$LOG_DIR/$s.log" >&2; die "$s did not become ready: see $LOG_DIR/$s.log"; }
  done
  load_seeds
  say "loading the demo data set (Sơn Động, through the public APIs)"
  PYTHONPATH="$REHAB_ROOT" "$PY" "$REHAB_ROOT/deploy/local/demo.py"
  local token; token=$("$PY" -m services.cli token --role district_officer --unit 220 --sub demo.district)
  say "the system is up:"
  printf '  web app    http://127.0.0.1:%s  (officials sign in here with an account below)\n' "${PORT[web]}"
  for s in $SERVICES; do printf '  %-10s http://127.0.0.1:%s  (docs /docs, events /asyncapi, metrics /metrics)\n' "$s" "${PORT[$s]}"; done
  printf '  Kafka      %s\n  PostgreSQL %s:%s/rehab\n' "$REHAB_KAFKA_BOOTSTRAP" "$PG_HOST" "$PG_PORT"
  printf '\nSign in (Keycloak %s, realm rehab; the demo accounts of .local/demo-accounts.json):\n' "$REHAB_KEYCLOAK_URL"
  "$PY" -m services.platform accounts --accounts "$REHAB_LOCAL/demo-accounts.json" | sed 's/^/  /'
  printf '  .local/venv/bin/rehab login      # device flow: open the address it prints, sign in with an account above\n'
  printf '  .local/venv/bin/rehab whoami\n'
  printf '  .local/venv/bin/rehab report coverage --unit 07615 --as-of 2025-12-31\n'
  printf '\nDev token (district officer, Huyện Sơn Động 220, 12 h):\n  export TOKEN=%s\n' "$token"
  printf '\nTry (the reports catch up with the events within seconds):\n'
  printf '  export REHAB_TOKEN=$TOKEN\n'
  printf '  .local/venv/bin/rehab report quota-progress --year 2024 --unit 220        # Sơn Động quota table\n'
  printf '  .local/venv/bin/rehab report coverage --unit 220 --as-of 2024-12-31      # the 100%% post-rehab metric\n'
  printf '  curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:8004/api/v1/reports/periodic?unit_code=220&period=2024&format=xlsx" -o bao-cao-2024.xlsx\n'
  printf '\nAfter the 2025 reorganisation (Huyện Sơn Động 220 is abolished; its communes are Xã Sơn Động 07615 and neighbours, in Tỉnh Bắc Ninh 24):\n'
  printf '  export REHAB_TOKEN=$(.local/venv/bin/rehab token --role province_officer --unit 24 --sub demo.province)\n'
  printf '  .local/venv/bin/rehab report coverage --unit 07615 --as-of 2025-12-31     # Xã Sơn Động, records mapped forward\n'
  printf '  .local/venv/bin/rehab report quota-progress --year 2026 --unit 24         # Tỉnh Bắc Ninh, quotas set to its communes\n'
}

# The two seed plans (Sơn Động 2024 with its 7 communes, Thanh Xá 2023), through the public API; idempotent.
load_seeds() {
  local admin data="$REHAB_ROOT/shared/vn/data"
  admin=$("$PY" -m services.cli token --role admin --unit VN --sub seed.loader --hours 1)
  say "loading the seed plans"
  "$PY" -m services.cli import plans "$data/son-dong-2024-appendix.tsv" --year 2024 --unit 220 --token "$admin" \
    --document "Kế hoạch …/KH-UBND tháng 01/2024 của UBND huyện Sơn Động" | sed 's/^/  /'
  "$PY" -m services.cli import plans "$data/plan-targets-from-seeds.csv" --token "$admin" \
    --document "Kế hoạch cai nghiện và quản lý sau cai của UBND xã Thanh Xá năm 2023" | sed 's/^/  /'
  "$PY" -m services.cli import plans "$data/plan-indicators-from-seeds.csv" --token "$admin" \
    --document "Chỉ tiêu 2023-2024 của các kế hoạch gốc (seeds)" | sed 's/^/  /'
}

case "${1:-start}" in
  start) start ;;
  stop) for s in $APPS; do stop_pid "$s" TERM; done ;;
  status) for s in $APPS; do if pid_alive "$RUN_DIR/$s.pid"; then echo "$s: running"; else echo "$s: stopped"; fi; done ;;
  *) die "usage: $0 start|stop|status" ;;
esac
