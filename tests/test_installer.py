"""The PyInstaller bundle builds and runs the main job on a machine without the venv.

Slow (about a minute): it builds the one-folder bundle exactly as installer/build-linux.sh
does for a release, then runs the frozen `nhiplan demo` and `nhiplan verify` with a clean
environment, so a module that is only found through the editable install fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle is built on Linux")
def test_bundle_builds_and_runs_the_demo(tmp_path):
    build = subprocess.run(["bash", "installer/build-linux.sh"], cwd=ROOT, capture_output=True, text=True,
                           timeout=900)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    exe = ROOT / "dist" / "nhiplan" / "nhiplan"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    demo = subprocess.run([str(exe), "demo", "--out", str(tmp_path / "d")], capture_output=True, text=True,
                          env=env, timeout=300, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.strip() == str(tmp_path / "d" / "demo.nhiplan")
    verify = subprocess.run([str(exe), "verify", str(tmp_path / "d" / "demo-plan.yaml")], capture_output=True,
                            text=True, env=env, timeout=120)
    assert verify.returncode == 0 and "integrity OK" in verify.stdout
    html = subprocess.run([str(exe), "plan", str(tmp_path / "d" / "demo.nhiplan"), "-o", str(tmp_path / "p.pdf")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert html.returncode == 0, html.stderr
    assert (tmp_path / "p.pdf").read_bytes().startswith(b"%PDF")
    assert os.access(exe, os.X_OK)
