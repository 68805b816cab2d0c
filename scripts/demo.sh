#!/usr/bin/env bash
# Sets up, builds the demo project from the bundled Northwind Aerospace estate,
# writes its plan, and opens the desktop app on it when a display is available.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/nhiplan demo --out "${1:-nhiplan-demo}" --gui
