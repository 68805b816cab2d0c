"""GUI benchmark: a 100,000-identity project — time to first rows, per-keystroke filter latency.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_bench.py [--identities N] [--project PATH]

Not a test: it prints figures and ratios against baselines measured in the same
run on the same machine, so the numbers travel between machines:

- time to first rows (open → the table shows rows) against reading the same
  inventory as full dicts with `services.list_identities` (what a naive model
  would do);
- per-keystroke filter latency (a real key press in the search box, the proxy
  refiltering 100k rows and the table repainting) against a plain Python
  substring filter over the same 100k lower-case strings (the floor for any
  Python filter);
- sort (first click on a column, then again) against `sorted()` of that column;
- the longest time the UI thread was blocked while the project loaded (a 10 ms
  timer measures its gaps): the "no UI-thread operation over ~100 ms" budget.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from benchmarks.large_estate import estate_batches
from nhiplan.core import services
from nhiplan.gui.app import make_application
from nhiplan.gui.main_window import MainWindow
from nhiplan.gui.models.inventory_table_model import COLUMN_IDS
from nhiplan.gui.settings import Settings


def build_project(path: Path, n: int) -> None:
    t = time.perf_counter()
    store = services.init_project(path, name=f"bench {n}")
    services.import_records(store, list(estate_batches(n)), source_kind="ldif", family="ad", source="bench.ldif")
    store.close()
    print(f"built {n:,} identities in {time.perf_counter() - t:.1f} s: {path}")


class StallMeter:
    """Measures the longest gap between ticks of a 10 ms timer: how long the UI thread was busy."""

    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.clock = QElapsedTimer()
        self.last = 0
        self.gaps: list[int] = []
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.clock.start()
        self.last = 0
        self.gaps = []
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.elapsed()
        self.gaps.append(now - self.last)
        self.last = now

    def stop(self) -> int:
        self.timer.stop()
        return max(self.gaps, default=0)


def wait_until(condition, timeout: float = 600.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("timed out")
        QApplication.processEvents()
        time.sleep(0.002)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--identities", type=int, default=100_000)
    parser.add_argument("--project", type=Path, help="reuse (or create) this project file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nhiplan-guibench-"))
    path = args.project or work / f"bench{args.identities}.nhiplan"
    if not path.exists():
        build_project(path, args.identities)

    make_application()
    settings = Settings(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings)
    window.resize(1400, 900)
    window.show()
    QApplication.processEvents()

    # -- baseline: the inventory as full dicts (list_identities) ------------------------------------
    store = services.open_project(path)
    t = time.perf_counter()
    rows = services.list_identities(store)
    t_dicts = time.perf_counter() - t
    t = time.perf_counter()
    columns = services.inventory_columns(store)
    t_columns = time.perf_counter() - t
    store.close()
    n = len(rows)
    del rows

    # -- time to first rows --------------------------------------------------------------------------
    stalls = StallMeter()
    stalls.start()
    loaded: list[float] = []
    window.project_loaded.connect(lambda _p: loaded.append(time.perf_counter()))
    t0 = time.perf_counter()
    window.open_project_path(str(path))
    wait_until(lambda: bool(loaded))
    QApplication.processEvents()  # the first paint of the table
    window.inventory.table.viewport().repaint()
    t_first_rows = time.perf_counter() - t0
    assert window.inventory.proxy.rowCount() == n
    stall_open = stalls.stop()
    stalls.start()
    t = time.perf_counter()
    # keystrokes while the graph and the recommendations are computed in the background
    busy_keys = []
    for ch in "svc_we":
        if not window.is_busy():
            break
        k = time.perf_counter()
        QTest.keyClick(window.inventory.search, ch)
        window.inventory.table.viewport().repaint()
        busy_keys.append(time.perf_counter() - k)
        QTest.qWait(300)
    window.inventory.search.clear()
    wait_until(lambda: not window.is_busy())  # graph and recommendations in the background
    t_background = time.perf_counter() - t
    stall_background = stalls.stop()
    assert window.last_error is None, window.last_error
    assert window.graph is not None and window.inventory.model.has_recommendations()

    # -- keystrokes ------------------------------------------------------------------------------
    model = window.inventory.model
    texts = model.search_texts()
    query = "svc_sql_0012"
    search = window.inventory.search
    search.setFocus()
    key_times, base_times, visible = [], [], []
    for i, ch in enumerate(query):
        t = time.perf_counter()
        QTest.keyClick(search, ch)
        window.inventory.table.viewport().repaint()
        key_times.append(time.perf_counter() - t)
        visible.append(window.inventory.proxy.rowCount())
        needle = query[: i + 1].lower()
        t = time.perf_counter()
        _ = [r for r in range(len(texts)) if needle in texts[r]]
        base_times.append(time.perf_counter() - t)
    back_times = []
    for _ in query:
        t = time.perf_counter()
        QTest.keyClick(search, Qt.Key.Key_Backspace)
        window.inventory.table.viewport().repaint()
        back_times.append(time.perf_counter() - t)
    assert window.inventory.proxy.rowCount() == n

    # -- sort ----------------------------------------------------------------------------------------
    sort_first, sort_again, sort_base = [], [], []
    for column in ("decision", "last_used", "consumers"):
        col = COLUMN_IDS.index(column)
        t = time.perf_counter()
        window.inventory.table.sortByColumn(col, Qt.SortOrder.AscendingOrder)
        window.inventory.table.viewport().repaint()
        sort_first.append(time.perf_counter() - t)
        t = time.perf_counter()
        window.inventory.table.sortByColumn(col, Qt.SortOrder.DescendingOrder)
        window.inventory.table.viewport().repaint()
        sort_again.append(time.perf_counter() - t)
        values = columns[column]
        t = time.perf_counter()
        sorted(range(len(values)), key=lambda r, v=values: (v[r] is None, v[r] or ""))
        sort_base.append(time.perf_counter() - t)

    # -- a facet, a decision, a detail -------------------------------------------------------------
    item = window.inventory.facets.item_for("status", "credential expired")
    t = time.perf_counter()
    item.setCheckState(0, Qt.CheckState.Checked)
    window.inventory.table.viewport().repaint()
    t_facet = time.perf_counter() - t
    item.setCheckState(0, Qt.CheckState.Unchecked)
    key = model.key_at(n // 2)
    got: list[str] = []
    window.detail_shown.connect(got.append)
    t = time.perf_counter()
    window.inventory.select_keys([key])
    wait_until(lambda: key in got)
    t_detail = time.perf_counter() - t

    def off_thread(start) -> tuple[float, int]:
        """(seconds until recorded, the longest UI-thread block meanwhile in ms) of a decision or undo."""
        stalls.start()
        t = time.perf_counter()
        start()
        wait_until(lambda: not window.is_busy())
        return time.perf_counter() - t, stalls.stop()

    wait_until(lambda: window.analyses.current is None or window.analyses.current.done_event.is_set())
    t_decide, s_decide = off_thread(lambda: window.apply_decision([key], "retire", "benchmark", [], None))
    t_undo, s_undo = off_thread(window.undo_stack.undo)
    visible_keys = [k for k in window.inventory.proxy.visible_keys()
                    if model.value("decision", model.row_of(k)) != "keep"][:1000]  # all of them change
    t_bulk, s_bulk = off_thread(lambda: window.apply_decision(visible_keys, "keep", "benchmark bulk", [], None))
    assert window.undo_stack.canUndo(), f"the bulk decision failed: {window.last_error}"
    t_bulk_undo, s_bulk_undo = off_thread(window.undo_stack.undo)

    print(f"\nnhiplan GUI benchmark: {n:,} identities, {os.cpu_count()} cores, Qt offscreen\n")
    print("time to first rows")
    print(f"  open → table shows rows         {ms(t_first_rows)}")
    print(f"  baseline: list_identities dicts {ms(t_dicts)}   ratio {t_first_rows / t_dicts:5.2f}x")
    print(f"  (inventory_columns alone         {ms(t_columns)})")
    print(f"  longest UI-thread block while opening      {stall_open:6d} ms")
    print(f"  background graph + recommendations {t_background:6.1f} s; longest UI block meanwhile "
          f"{stall_background} ms")
    if busy_keys:
        print(f"  keystrokes while that runs: median {ms(statistics.median(busy_keys))}  worst {ms(max(busy_keys))}")
    print("per-keystroke filter (key press → proxy refilter → table repaint)")
    for i in range(len(query)):
        print(f"  {query[: i + 1]!s:<14} {visible[i]:>7,} rows {ms(key_times[i])}   plain filter {ms(base_times[i])}")
    med, worst = statistics.median(key_times), max(key_times)
    base_med = statistics.median(base_times)
    print(f"  median {ms(med)}  worst {ms(worst)}  baseline median {ms(base_med)}  ratio {med / base_med:5.2f}x")
    print(f"  backspace (widening) median {ms(statistics.median(back_times))}  worst {ms(max(back_times))}")
    print("sort (header click → repaint)")
    print(f"  first click median {ms(statistics.median(sort_first))}  again {ms(statistics.median(sort_again))}  "
          f"baseline sorted() {ms(statistics.median(sort_base))}  ratio "
          f"{statistics.median(sort_first) / statistics.median(sort_base):5.2f}x")
    print("other UI-thread operations")
    print(f"  facet check                {ms(t_facet)}")
    print(f"  select → detail shown      {ms(t_detail)} (detail fetched in a worker)")
    print("decisions (written in a worker; time until the row shows it, longest UI-thread block meanwhile)")
    print(f"  decide one                 {ms(t_decide)}  UI block {s_decide:4d} ms;  undo {ms(t_undo)}  "
          f"UI block {s_undo:4d} ms")
    print(f"  decide 1,000 (one undo)    {ms(t_bulk)}  UI block {s_bulk:4d} ms;  undo {ms(t_bulk_undo)}  "
          f"UI block {s_bulk_undo:4d} ms")
    window.shutdown()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
