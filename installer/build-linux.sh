#!/usr/bin/env bash
# Builds the one-folder Linux bundle into dist/nhiplan/ and a tarball with the desktop entry.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip install -q 'pyinstaller>=6'
rm -rf build/stage
.venv/bin/python -m pip install -q --no-deps --target build/stage .
NHIPLAN_STAGE="$PWD/build/stage" .venv/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller installer/nhiplan.spec
cp installer/nhiplan.desktop dist/nhiplan/
version=$(.venv/bin/python -c "from importlib.metadata import version; print(version('nhiplan'))")
tar -C dist -czf "dist/nhiplan-${version}-linux-$(uname -m).tar.gz" nhiplan
echo "dist/nhiplan-${version}-linux-$(uname -m).tar.gz"
