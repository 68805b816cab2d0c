"""Creating and opening projects from the main window; bad paths give a dialog, not a traceback."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from nhiplan.core.errors import BadInput
from tests.gui.conftest import WAIT, open_in


def test_create_project_shows_an_empty_inventory(qtbot, window, tmp_path):
    path = str(tmp_path / "new.nhiplan")
    with qtbot.waitSignal(window.project_loaded, timeout=WAIT):
        window.new_project_path(path, "Fresh", "Client X")
    assert window.store is not None
    assert window.inventory.proxy.rowCount() == 0
    assert window.windowTitle().startswith("Fresh — Client X")
    assert window.tabs.isVisible() and not window.welcome.isVisible()
    assert window.import_action.isEnabled() and window.export_action.isEnabled()
    assert (tmp_path / "new.nhiplan").stat().st_size > 0


def test_open_project_lists_identities_and_remembers_it(qtbot, window, estate_path, gui_settings):
    open_in(qtbot, window, estate_path)
    names = sorted(window.inventory.model.value("name", r) for r in range(window.inventory.model.rowCount()))
    # people are not listed by default (CONTRACT: list shows them only with --all)
    assert names == ["svc_a", "svc_b", "svc_old", "svc_rpt", "svc_sql", "svc_web"]
    assert window.inventory.count_label.text() == "6 identities"
    assert gui_settings.get("projects/recent")[0].endswith("estate.nhiplan")
    assert "Acme estate" in window.windowTitle()
    assert window.graph is not None and window.graph.is_identity("corp.acme.test/svc_sql")


def test_opening_a_file_that_is_not_a_project_is_one_clear_dialog(qtbot, window, tmp_path):
    bogus = tmp_path / "notes.nhiplan"
    bogus.write_text("not a database")
    with qtbot.waitSignal(window.busy_changed, timeout=WAIT, check_params_cb=lambda busy: not busy):
        window.open_project_path(str(bogus))
    assert isinstance(window.last_error, BadInput)
    boxes = [w for w in window.findChildren(QMessageBox) if w.objectName() == "errorDialog" and w.isVisible()]
    assert boxes, "an error dialog is shown"
    assert "not an nhiplan project" in boxes[-1].text()
    assert "Traceback" not in boxes[-1].text() and not boxes[-1].informativeText()
    assert window.store is None and window.welcome.isVisible()


def test_close_project_returns_to_the_welcome_page_with_recent_projects(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    window.close_project()
    assert window.store is None
    assert window.welcome.isVisible()
    assert "estate.nhiplan" in window.welcome.text()
    assert not window.import_action.isEnabled()


def test_window_state_is_remembered(qtbot, window, gui_settings):
    window.resize(640, 480)  # the offscreen screen is small: restoreGeometry clamps to it
    window.save_window_state()
    assert gui_settings.get("window/geometry")
    from nhiplan.gui.main_window import MainWindow

    again = MainWindow(gui_settings)
    qtbot.addWidget(again)
    assert (again.size().width(), again.size().height()) == (640, 480)
    again.shutdown()
