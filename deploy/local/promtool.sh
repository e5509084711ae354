#!/usr/bin/env bash
# Ensures promtool is available (Debian's prometheus package) and checks the alert rules with it.
set -euo pipefail
. "$(dirname "$0")/env.sh"
if ! command -v promtool >/dev/null 2>&1; then
  say "installing promtool (Debian package prometheus)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y --no-install-recommends prometheus >/dev/null; }
  # the package starts a server where an init system exists; this machine only needs the tool
  $SUDO pkill -x prometheus 2>/dev/null || true
fi
promtool check rules "$REHAB_ROOT"/deploy/prometheus/rules/*.yml
promtool check config --syntax-only "$REHAB_ROOT"/deploy/prometheus/prometheus.yml  # the token file lives in the cluster
promtool test rules "$REHAB_ROOT"/deploy/prometheus/tests/*.yml
