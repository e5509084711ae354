#!/usr/bin/env bash
# Installs uv when missing and syncs the project's locked Python environment into .local/venv.
set -euo pipefail
. "$(dirname "$0")/env.sh"
export PATH=$HOME/.local/bin:$PATH
if ! command -v uv >/dev/null 2>&1; then
  say "installing uv from PyPI"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
fi
cd "$REHAB_ROOT"
uv sync --frozen --quiet
