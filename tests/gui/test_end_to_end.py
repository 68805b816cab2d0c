"""One architect's session from nothing to a reviewed plan, through the real window:
create → import (LDIF) → inspect → decide (undo, redo, bulk) → generate → export → review."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from nhiplan.core import services
from nhiplan.gui import app as gui_app
from tests.gui.conftest import WAIT, select, settle

DEMO_LDIF = services.demo_resources() / "northwind-ad.ldif"


def test_from_nothing_to_a_reviewed_plan(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.project_loaded, timeout=WAIT):
        window.new_project_path(str(tmp_path / "acme.nhiplan"), "Acme migration", "Acme")

    wizard = window.import_dialog([str(DEMO_LDIF)])  # a child of the window, deleted when it closes
    with qtbot.waitSignal(wizard.run_finished, timeout=WAIT):
        wizard.next()
    assert "Identities" in wizard.report_page.browser.toPlainText()
    wizard.accept()  # Finish
    qtbot.waitUntil(lambda: not window.is_busy() and window.inventory.model.rowCount() > 10, timeout=WAIT)

    # inspect: search, then the detail and the graph of one account
    qtbot.keyClicks(window.inventory.search, "svc_sql")
    assert window.inventory.proxy.rowCount() >= 1
    key = select(qtbot, window, "svc_sql")
    assert "Attributes" in window.detail.toPlainText()
    assert window.graph_view.centre == key
    window.inventory.search.clear()

    # decide, undo, redo; then a bulk decision, one undo step
    panel = window.decision_panel
    panel.buttons["keep"].click()
    panel.reason.setPlainText("one database engine; rotate in the vault")
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window)
    assert services.identity_detail(window.store, key)["decision"]["decision"] == "keep"
    window.undo_action.trigger()
    settle(qtbot, window)
    assert services.identity_detail(window.store, key)["decision"] is None
    window.redo_action.trigger()
    settle(qtbot, window)
    assert services.identity_detail(window.store, key)["decision"]["decision"] == "keep"
    stale = window.inventory.facets.item_for("status", "stale") or window.inventory.facets.item_for(
        "status", "never used")
    stale.setCheckState(0, Qt.CheckState.Checked)
    keys = window.inventory.proxy.visible_keys()
    keys = [k for k in keys if k != key][:3]
    window.inventory.select_keys(keys)
    panel.buttons["retire"].click()
    panel.reason.setPlainText("not used for months")
    panel.apply()
    settle(qtbot, window)
    assert window.undo_stack.count() == 2
    assert {services.identity_detail(window.store, k)["decision"]["decision"] for k in keys} == {"retire"}
    window.inventory.clear_filters()

    # generate, look at a step, export, review
    assert window.generate_action.isEnabled()
    with qtbot.waitSignal(window.busy_changed, timeout=WAIT, check_params_cb=lambda busy: not busy):
        window.generate_action.trigger()
    assert window.last_error is None, window.last_error
    doc = window.playbook.doc
    assert {i["key"] for i in doc["identities"]} >= {key, *keys}
    assert window.playbook.browser.select_step(doc["steps"][-1]["id"])
    out = tmp_path / "export"
    out.mkdir()
    with qtbot.waitSignal(window.plan_written, timeout=WAIT) as written:
        window.export_plan([(out / "acme-plan.yaml", "yaml")], "generic", {"author": "E2E"})
    plan = Path(written.args[0][0])
    review = window.open_review(str(plan))
    qtbot.addWidget(review)
    assert "integrity OK" in review.banner.text()
    assert review.browser.tree.topLevelItemCount() == len(doc["waves"])


def test_run_opens_the_window_on_a_project_and_returns_when_it_closes(qtbot, estate_path, monkeypatch, tmp_path):
    from PySide6.QtCore import QSettings

    monkeypatch.setattr(gui_app, "_settings_for_run", lambda: QSettings(str(tmp_path / "s.ini"),
                                                                        QSettings.Format.IniFormat), raising=False)
    seen: dict = {}

    def close_when_loaded():
        windows = [w for w in QApplication.topLevelWidgets() if w.objectName() == "mainWindow" and w.isVisible()]
        if windows and windows[0].store is not None and not windows[0].is_busy():
            seen["title"] = windows[0].windowTitle()
            windows[0].close()
        else:
            QTimer.singleShot(50, close_when_loaded)

    QTimer.singleShot(50, close_when_loaded)
    assert gui_app.run(estate_path) == 0
    assert "Acme estate" in seen["title"]
