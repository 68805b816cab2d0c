"""The desktop app's entry point: `run(project)` builds the QApplication and the main window.

Called by `nhiplan gui [PROJECT]` and `nhiplan demo --gui` (core/cli.py). Sets the
application's name and organisation (where QSettings keep the settings), the
icon, high-DPI rounding, and leaves the palette to the platform so the app
follows the system's light or dark scheme.
"""

from __future__ import annotations

import gc
import sys
from importlib.resources import files

from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

APP_NAME = "nhiplan"
ORG_NAME = "nhiplan"
ORG_DOMAIN = "nhiplan.example"
# Fewer, later cyclic collections: with a 100k-identity project in memory a full collection
# scans millions of objects while holding the GIL, which freezes the UI thread for a second
# or more whenever a worker allocates; long-lived data is also frozen out of the scans
# (MainWindow.freeze_long_lived). Measured in benchmarks/gui_bench.py.
GC_THRESHOLDS = (10000, 50, 50)
# The UI thread takes the GIL for every call from Qt into Python (each cell a view paints);
# while a worker computes, each such take may wait a whole switch interval (5 ms by default).
SWITCH_INTERVAL = 0.001


def icon_path() -> str:
    return str(files("nhiplan.resources").joinpath("icons", "nhiplan.svg"))


def app_icon() -> QIcon:
    return QIcon(icon_path())


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication, configured once (tests reuse pytest-qt's instance)."""
    app = QApplication.instance()
    if app is None:
        # Fractional scale factors (125 %, 150 %) render crisply instead of rounding to 1x or 2x.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setOrganizationDomain(ORG_DOMAIN)
    QGuiApplication.setApplicationDisplayName("nhiplan")
    QGuiApplication.setDesktopFileName("nhiplan")
    QGuiApplication.setWindowIcon(app_icon())
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL)
    return app  # type: ignore[return-value]


def _settings_for_run() -> QSettings:
    """The user's settings (organisation and application name decide where they live)."""
    return QSettings()


def run(project: str | None = None) -> int:
    """Open the main window (on `project` when given) and run until it closes; the exit status."""
    app = make_application()
    from .error_dialog import install_excepthook
    from .main_window import MainWindow
    from .settings import Settings

    install_excepthook()
    window = MainWindow(Settings(_settings_for_run()))
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.show()
    if project:
        window.open_project_path(project)
    return app.exec()
