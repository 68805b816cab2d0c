"""Importing an LDIF export from the window: off the UI thread, with progress, cancellable, with a report."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from nhiplan.core import services
from nhiplan.core.errors import Cancelled
from nhiplan.gui.views.import_report import ImportReportDialog
from tests.gui.conftest import WAIT

DEMO_LDIF = services.demo_resources() / "northwind-ad.ldif"


def _new_project(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.project_loaded, timeout=WAIT):
        window.new_project_path(str(tmp_path / "imp.nhiplan"), "Import test")


def test_ldif_import_runs_in_a_worker_with_progress_and_a_report(qtbot, window, tmp_path, monkeypatch):
    _new_project(qtbot, window, tmp_path)
    threads: list[threading.Thread] = []
    real_import = services.import_paths

    def recording_import(*args, **kwargs):  # the real import, noting which thread ran it
        threads.append(threading.current_thread())
        return real_import(*args, **kwargs)

    monkeypatch.setattr(services, "import_paths", recording_import)
    progress: list[tuple] = []
    with qtbot.waitSignal(window.import_finished, timeout=WAIT) as finished:
        op = window.start_import([str(DEMO_LDIF)], fmt="ldif")
        op.progressed.connect(lambda done, total, msg: progress.append((done, total, msg)))
        assert not window.import_action.isEnabled(), "no second import while one runs"
    assert threads and threads[0] is not threading.main_thread()
    summaries = finished.args[0]
    assert summaries[0].identities > 20
    with qtbot.waitSignal(window.inventory.proxy.filter_changed, timeout=WAIT,
                          check_params_cb=lambda visible, total: total > 0):
        pass
    assert window.inventory.model.rowCount() > 10
    reports = [w for w in window.findChildren(ImportReportDialog) if w.isVisible()]
    assert reports and "Identities" in reports[0].browser.toPlainText()
    assert str(summaries[0].identities) in reports[0].browser.toPlainText()


def test_progress_reaches_the_window(qtbot, window, tmp_path):
    _new_project(qtbot, window, tmp_path)
    seen: list[tuple] = []

    def setup_spy(op):
        op.progressed.connect(lambda done, total, msg: seen.append((done, total, msg)))

    with qtbot.waitSignal(window.import_finished, timeout=WAIT):
        window.run_op("import", "Importing", lambda ctx: services.import_paths(
            window.store, [str(DEMO_LDIF)], fmt="ldif", progress=ctx.progress, is_cancelled=ctx.is_cancelled),
            window.import_finished.emit, progress=True, setup=setup_spy)
    assert seen, "the importer's progress arrives on the UI thread as signals"
    assert all(isinstance(m, str) for _, _, m in seen)


def test_cancelled_import_writes_nothing_and_shows_no_error(qtbot, window, tmp_path):
    _new_project(qtbot, window, tmp_path)
    failures: list[BaseException] = []

    def setup(op):
        op.failed.connect(failures.append)
        op.cancel()  # the user pressed Cancel before the import got going

    with qtbot.waitSignal(window.busy_changed, timeout=WAIT, check_params_cb=lambda busy: not busy):
        window.run_op("import", "Importing", lambda ctx: services.import_paths(
            window.store, [str(DEMO_LDIF)], fmt="ldif", progress=ctx.progress, is_cancelled=ctx.is_cancelled),
            lambda result: None, progress=True, setup=setup)
    assert failures and isinstance(failures[0], Cancelled)
    assert services.inventory_columns(window.store)["key"] == []
    QApplication.processEvents()
    assert not [w for w in window.findChildren(QMessageBox) if w.isVisible()]


def test_progress_dialog_cancel_button_cancels(qtbot, window, tmp_path):
    _new_project(qtbot, window, tmp_path)
    with qtbot.waitSignal(window.busy_changed, timeout=WAIT, check_params_cb=lambda busy: not busy):
        op = window.start_import([str(DEMO_LDIF)], fmt="ldif", show_report=False)
        cancel = window.import_progress.findChild(QPushButton)
        cancel.click()  # the dialog's Cancel button
        assert op.cancel_event.is_set()
    # core checks the flag before it commits: the transaction is rolled back
    assert isinstance(window.last_error, Cancelled)
    assert services.inventory_columns(window.store)["key"] == []
    assert not window.import_progress.isVisible()
