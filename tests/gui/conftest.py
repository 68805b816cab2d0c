"""GUI test setup: Qt offscreen, an isolated settings file, projects to open, a main window.

Every test drives real widgets (pytest-qt); background work really runs in
worker threads and the tests wait on the signals that say it finished.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings

from nhiplan.core import services
from nhiplan.gui.app import make_application
from nhiplan.gui.main_window import MainWindow
from nhiplan.gui.settings import Settings
from tests.estates import small_estate_records

WAIT = 20000  # ms: generous for a loaded 2-core CI machine; tests finish as soon as the signal comes


@pytest.fixture(autouse=True)
def _app(qapp):
    make_application()
    yield


@pytest.fixture
def gui_settings(tmp_path):
    """Settings in a file of this test only: nothing leaks between tests or into the user's settings."""
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def estate_path(tmp_path) -> str:
    """A project file holding tests/estates.py's small estate (known names: svc_sql, svc_web ...)."""
    path = tmp_path / "estate.nhiplan"
    store = services.init_project(path, name="Acme estate", client="Acme")
    services.import_records(store, [small_estate_records()], source_kind="ldif", family="ad",
                            source="small-estate.ldif")
    store.close()
    return str(path)


@pytest.fixture
def window(qtbot, gui_settings):
    """The main window; closed only after its background work finished (a running import would
    make closing ask the user whether to cancel it, which no one answers in a test)."""
    w = MainWindow(gui_settings)
    w.show()
    yield w
    qtbot.waitUntil(lambda: not w.is_busy(), timeout=WAIT)
    w.close()
    w.shutdown()
    w.deleteLater()


def open_in(qtbot, window: MainWindow, path: str, wait_graph: bool = True) -> None:
    """Open a project and wait until its inventory (and graph) are shown."""
    if wait_graph:
        with qtbot.waitSignals([window.project_loaded, window.graph_loaded], timeout=WAIT):
            window.open_project_path(path)
    else:
        with qtbot.waitSignal(window.project_loaded, timeout=WAIT):
            window.open_project_path(path)


def select(qtbot, window: MainWindow, name: str) -> str:
    """Select the identity called `name` in the table; wait for its detail; return its key."""
    model = window.inventory.model
    key = next(model.key_at(r) for r in range(model.rowCount()) if model.value("name", r) == name)
    with qtbot.waitSignal(window.detail_shown, timeout=WAIT, check_params_cb=lambda k: k == key):
        assert window.inventory.select_keys([key])
    return key


def settle(qtbot, window: MainWindow) -> None:
    """Wait until the window's background work (a decision being recorded, an undo) is done."""
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=WAIT)


def row_value(window: MainWindow, key: str, column: str):
    model = window.inventory.model
    return model.value(column, model.row_of(key))
