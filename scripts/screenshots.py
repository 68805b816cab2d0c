"""Render each main view of the desktop app, on the demo project, to PNG in docs/screenshots/.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [OUT_DIR]

Builds the demo project (core.services.build_demo) in a temporary folder, opens
it in the real main window, drives it the way a user would (select, decide,
generate, review, import) and grabs each view. Settings go to a temporary file,
so the user's own are untouched.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from nhiplan.core import services
from nhiplan.gui.app import make_application
from nhiplan.gui.main_window import MainWindow
from nhiplan.gui.settings import Settings
from nhiplan.gui.views.export_dialog import ExportDialog
from nhiplan.gui.views.import_wizard import ImportWizard

SIZE = (1440, 900)


def spin(seconds: float = 0.2) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def wait_until(condition, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        QApplication.processEvents()
        time.sleep(0.01)


def wait_signal(signal, start, timeout: float = 60.0):
    got: list = []
    signal.connect(lambda *args: got.append(args))
    start()
    wait_until(lambda: bool(got), timeout)
    return got[0]


def save(widget: QWidget, out: Path, name: str) -> Path:
    spin(0.3)
    path = out / f"{name}.png"
    widget.grab().save(str(path))
    print(path)
    return path


def dark_palette() -> QPalette:
    p = QPalette()
    roles = {QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6",
             QPalette.ColorRole.Base: "#1e1e1e", QPalette.ColorRole.AlternateBase: "#262626",
             QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#353535",
             QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#2f80c8",
             QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#353535",
             QPalette.ColorRole.ToolTipText: "#e6e6e6", QPalette.ColorRole.Link: "#6cb4ff",
             QPalette.ColorRole.PlaceholderText: "#8a8a8a"}
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return p


def select(window: MainWindow, name: str) -> str:
    model = window.inventory.model
    key = next(model.key_at(r) for r in range(model.rowCount()) if model.value("name", r) == name)
    wait_signal(window.detail_shown, lambda: window.inventory.select_keys([key]))
    return key


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    make_application()
    work = Path(tempfile.mkdtemp(prefix="nhiplan-shots-"))
    settings = Settings(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    project, plan_v1 = services.build_demo(work / "demo")
    settings.set("projects/recent", [str(project)])

    window = MainWindow(settings)
    window.resize(*SIZE)
    window.show()
    save(window, out, "01-welcome")

    wait_signal(window.project_loaded, lambda: window.open_project_path(str(project)))
    wait_until(lambda: not window.is_busy())
    select(window, "svc_chatbot")
    window.side_tabs.setCurrentWidget(window.detail)
    save(window, out, "02-inventory-detail")

    window.side_tabs.setCurrentWidget(window.graph_view)
    window.graph_view.set_hops(2)
    save(window, out, "03-graph")

    window.side_tabs.setCurrentWidget(window.detail)
    window.decision_panel.buttons["split"].click()
    window.side_splitter.setSizes([330, 520])
    save(window, out, "04-decision-agents")
    window.side_splitter.setSizes([520, 330])

    select(window, "svc_sharepoint")
    window.decision_panel.buttons["keep"].click()
    window.decision_panel.reason.setPlainText("single workload; rotate in the vault")
    window.decision_panel.apply()
    wait_until(lambda: not window.is_busy())
    window.inventory.search.setText("svc_")
    status = window.inventory.facets.item_for("decision", "undecided")
    if status is not None:
        status.setCheckState(0, Qt.CheckState.Checked)
    window.history_dock.raise_()
    save(window, out, "05-filter-history")
    window.inventory.clear_filters()

    wait_signal(window.plan_generated, window.generate_plan)
    window.playbook.preview_format.setCurrentIndex(0)
    doc = window.playbook.doc
    step = next((s for s in doc["steps"] if s["depends_on"] and s["artifacts"]), doc["steps"][0])
    window.playbook.browser.select_step(step["id"])
    save(window, out, "06-playbook")

    dialog = ExportDialog(settings, window.project_info.get("name", "demo"), str(work), window)
    dialog.resize(520, 560)
    dialog.show()
    save(dialog, out, "07-export-dialog")
    dialog.close()

    # the next version the board sees: two more accounts decided since the approved plan
    for name, decision, reason in (("svc_scanner", "retire", "the scanners were replaced in 2025"),
                                   ("svc_etl_loader", "keep", "one nightly job; rotate in the vault")):
        select(window, name)
        window.decision_panel.buttons[decision].click()
        window.decision_panel.reason.setPlainText(reason)
        window.decision_panel.apply()
        wait_until(lambda: not window.is_busy())
    plan_v2 = services.write_plan(services.make_plan(window.store), work / "demo-plan-v2.yaml")
    review = window.open_review(str(plan_v2))
    review.resize(*SIZE)
    review.compare_with(str(plan_v1))
    save(review, out, "08-review-diff")
    review.close()

    wizard = ImportWizard(window, settings, files=[str(services.demo_resources())])
    wizard.resize(760, 540)
    wizard.show()
    save(wizard, out, "09-import-wizard")
    wizard.close()

    # The same window under a dark system palette. The offscreen platform has no theme to switch,
    # so the palette a dark desktop hands Qt is set here; the app never sets one of its own.
    QApplication.setStyle("Fusion")
    QApplication.setPalette(dark_palette())
    spin(0.3)
    select(window, "svc_chatbot")
    window.tabs.setCurrentIndex(0)
    window.side_tabs.setCurrentWidget(window.detail)
    save(window, out, "10-dark-scheme")

    wait_until(lambda: not window.is_busy())
    window.shutdown()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs"
                  / "screenshots"))
