"""How long each plan export takes, as a ratio to writing the canonical YAML of the same plan.

    .venv/bin/python benchmarks/render_exports.py [N]     # N identities, default 1000

Builds a generated estate of N accounts (benchmarks/large_estate.py), decides
them (a third split, a third kept, a third retired), builds the plan once, then
renders it in every format. The baseline is the YAML dump measured in the same
run; the ratios say how much dearer the board formats are, on any machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.large_estate import estate_batches
from nhiplan.core import decisions as dec
from nhiplan.core import services
from nhiplan.core.render import writers
from nhiplan.core.render.canonical import plan_document

OPTIONS = {"author": "benchmark", "version": "1", "date": "2026-01-01"}


def timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = services.init_project(Path(folder) / "bench.nhiplan", name="bench", client="Bench Corp")
        try:
            services.import_records(store, estate_batches(n), source_kind="ldif", family="ad", source="bench")
            keys = [i["key"] for i in services.list_identities(store)]
            choice = ("split", "keep", "retire")
            items = [(k, dec.DecisionData(choice[i % 3], "benchmark")) for i, k in enumerate(keys)]
            services.decide_many(store, items, author="bench")
            plan = services.make_plan(store)
        finally:
            store.close()
    doc = plan_document(plan)
    print(f"{n} identities: {len(doc['steps'])} steps in {len(doc['waves'])} waves")
    base = timed(lambda: writers.render(doc, "yaml", OPTIONS), repeat=3)
    print(f"  yaml  {base:8.3f} s  (baseline)")
    for fmt in ("csv", "md", "html", "pdf"):
        t = timed(lambda fmt=fmt: writers.render(doc, fmt, OPTIONS))
        print(f"  {fmt:<5} {t:8.3f} s  {t / base:6.1f}x yaml")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
