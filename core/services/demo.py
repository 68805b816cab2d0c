"""The demo project built from the bundled Northwind estate."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

from .analysis import set_policy
from .common import ProgressFn
from .decisions import decide_file
from .imports import import_paths
from .plans import make_plan, write_plan
from .projects import init_project


def demo_resources() -> Path:
    return Path(str(files("nhiplan.resources").joinpath("demo")))


DEMO_EXPORT_DATE = "2026-10-01T00:00:00Z"


def build_demo(out_dir: str | Path, progress: ProgressFn | None = None) -> tuple[Path, Path]:
    """Build DIR/demo.nhiplan from the bundled estate, decide it, write its plan; return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    project = out / "demo.nhiplan"
    if project.exists():
        project.unlink()  # the demo is rebuilt from scratch each time, so it is always the same
    src = demo_resources()
    store = init_project(project, name="Northwind Aerospace demo", client="Northwind Aerospace")
    try:
        # The estate was exported on 2026-10-01: judging its ages from that day keeps the demo's
        # recommendations the same whenever it is built.
        set_policy(store, f"now: {DEMO_EXPORT_DATE}\n", author="nhiplan demo", reason="the demo's export date")
        import_paths(store, sorted(p for p in src.iterdir() if p.suffix in (".ldif",)), progress=progress)
        decide_file(store, src / "decisions.yaml", author="nhiplan demo")
        plan = make_plan(store)
        plan_path = write_plan(plan, out / "demo-plan.yaml")
    finally:
        store.close()
    return project, plan_path


def copy_demo_files(dest: str | Path) -> Path:
    """Copy the bundled demo export files somewhere a user can look at them."""
    dest = Path(dest)
    shutil.copytree(demo_resources(), dest, dirs_exist_ok=True)
    return dest
