#!/usr/bin/env bash
# Builds nhiplan.app and a .dmg on macOS from the PyInstaller bundle (run on a Mac).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q 'pyinstaller>=6'
rm -rf build/stage
python3 -m pip install -q --no-deps --target build/stage .
NHIPLAN_STAGE="$PWD/build/stage" python3 -m PyInstaller --noconfirm --windowed --distpath dist --workpath build/pyinstaller installer/nhiplan.spec
version=$(python3 -c "from importlib.metadata import version; print(version('nhiplan'))")
hdiutil create -volname nhiplan -srcfolder dist/nhiplan -ov -format UDZO "dist/nhiplan-${version}-macos.dmg"
