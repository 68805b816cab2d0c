#!/usr/bin/env bash
# Sets up (scripts/setup.sh), lints with ruff, and runs the whole test suite offscreen.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/pytest -q "$@"
