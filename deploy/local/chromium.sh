#!/usr/bin/env bash
# Ensures the browser the web app's tests drive is installed: Debian's chromium and chromium-driver packages.
# Nothing downloads a browser at run time: Selenium is pointed at /usr/bin/chromium and /usr/bin/chromedriver.
set -euo pipefail
. "$(dirname "$0")/env.sh"
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
command -v apt-get >/dev/null || die "Chromium is missing and there is no apt-get: install chromium and chromium-driver"
say "installing Chromium and ChromeDriver (Debian packages chromium, chromium-driver) for the browser tests"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
{ $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver \
  || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver; }; } \
  > "$LOG_DIR/chromium-install.log" 2>&1 || die "installing Chromium failed: see $LOG_DIR/chromium-install.log"
say "$(chromium --version 2>/dev/null | head -1); $(chromedriver --version 2>/dev/null | head -1)"
