"""The import wizard: files (also dropped), a live SCIM service with a connection test, cancel, report.

The SCIM tests run a real scim2-server on loopback, seeded over HTTP.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from nhiplan.core import services
from nhiplan.gui.views.import_wizard import (
    LIVE_SOURCES,
    PAGE_CONNECTION,
    PAGE_FILES,
    PAGE_REPORT,
    PAGE_RUN,
    ImportWizard,
)
from tests.gui.conftest import WAIT

DEMO_LDIF = services.demo_resources() / "northwind-ad.ldif"
TOKEN = "wizard-test-token-5d1e"


def _project(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.project_loaded, timeout=WAIT):
        window.new_project_path(str(tmp_path / "w.nhiplan"), "Wizard")


def _drop(widget, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)


def test_files_dropped_then_imported_with_a_report(qtbot, window, tmp_path):
    _project(qtbot, window, tmp_path)
    wizard: ImportWizard = window.import_dialog()
    qtbot.addWidget(wizard)
    assert wizard.currentId() == 0 and wizard.source_page.buttons["files"].isChecked()
    wizard.next()
    assert wizard.currentId() == PAGE_FILES
    assert not wizard.files_page.isComplete()
    junk = tmp_path / "notes.txt"
    junk.write_text("not an export")
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "ad.ldif").write_bytes(DEMO_LDIF.read_bytes())
    (folder / "readme.txt").write_text("hello")
    _drop(wizard.files_page.list, [folder])
    assert wizard.files_page.paths() == [str(folder)]
    preview = wizard.files_page.preview.text()
    assert "reads 1 file" in preview and "1 file will be skipped" in preview
    with qtbot.waitSignal(wizard.run_finished, timeout=WAIT) as finished:
        wizard.next()
    assert finished.args == [True]
    assert wizard.currentId() == PAGE_REPORT
    report = wizard.report_page.browser.toPlainText()
    assert "Identities" in report and "readme.txt" in report and "format not recognised" in report
    with qtbot.waitSignal(window.inventory.proxy.filter_changed, timeout=WAIT,
                          check_params_cb=lambda visible, total: total > 0):
        pass


def test_a_bad_file_fails_on_the_run_page_and_writes_nothing(qtbot, window, tmp_path):
    _project(qtbot, window, tmp_path)
    bad = tmp_path / "broken.ldif"
    bad.write_text("dn: cn=a,dc=x\nobjectClass: user\n\n dangling continuation\n")
    wizard = window.import_dialog([str(bad)])
    qtbot.addWidget(wizard)
    assert wizard.currentId() == PAGE_FILES
    wizard.files_page.format.setCurrentIndex(wizard.files_page.format.findData("ldif"))
    with qtbot.waitSignal(wizard.run_finished, timeout=WAIT) as finished:
        wizard.next()
    assert finished.args == [False]
    assert wizard.currentId() == PAGE_RUN
    assert "wrote nothing" in wizard.run_page.label.text() and "broken.ldif" in wizard.run_page.label.text()
    assert not wizard.run_page.isComplete()
    assert services.inventory_columns(window.store)["key"] == []


# -- a real SCIM service ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scim_server():
    port = _free_port()
    argv = [str(Path(sys.executable).parent / "scim2-server"), "--hostname", "127.0.0.1", "--port", str(port),
            "--bearer-token", TOKEN]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v2"
    deadline = time.monotonic() + 20
    while True:
        try:
            if requests.get(f"{base}/ServiceProviderConfig", timeout=1).status_code in (200, 401):
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("scim2-server did not start")
        time.sleep(0.05)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
    for name, kind in (("svc-payroll", "Service"), ("svc-ledger", "Service"), ("erin@acme.test", "Employee")):
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "userType": kind}
        assert requests.post(f"{base}/Users", json=body, headers=headers, timeout=10).status_code == 201
    yield base
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def _to_connection_page(qtbot, window, tmp_path) -> ImportWizard:
    _project(qtbot, window, tmp_path)
    wizard = window.import_dialog()
    qtbot.addWidget(wizard)
    assert wizard.source_page.buttons["scim"].isEnabled()
    wizard.source_page.buttons["scim"].setChecked(True)
    wizard.next()
    assert wizard.currentId() == PAGE_CONNECTION
    return wizard


def test_scim_connection_test_then_pull(qtbot, window, tmp_path, scim_server, gui_settings):
    wizard = _to_connection_page(qtbot, window, tmp_path)
    page = wizard.connection_page
    page.inputs["url"].setText(scim_server)
    page.secret.setText(TOKEN)
    op = page.test_connection()
    qtbot.waitUntil(lambda: op.done_event.is_set() and page.test_button.isEnabled(), timeout=WAIT)
    assert "✔" in page.result.text() and "/Users" in page.result.text()
    with qtbot.waitSignal(wizard.run_finished, timeout=WAIT) as finished:
        wizard.next()
    assert finished.args == [True], wizard.run_page.label.text()
    assert wizard.currentId() == PAGE_REPORT
    assert "scim" in wizard.report_page.browser.toPlainText()
    names = set(services.inventory_columns(window.store, include_people=True)["name"])
    assert {"svc-payroll", "svc-ledger"} <= names
    saved = gui_settings.get("connections/scim")
    assert saved["url"] == scim_server
    assert TOKEN not in Path(gui_settings.q.fileName()).read_text(), "the token never lands in the settings"


def test_scim_wrong_token_is_said_plainly(qtbot, window, tmp_path, scim_server):
    wizard = _to_connection_page(qtbot, window, tmp_path)
    page = wizard.connection_page
    page.inputs["url"].setText(scim_server)
    page.secret.setText("wrong-token")
    op = page.test_connection()
    qtbot.waitUntil(lambda: op.done_event.is_set() and page.test_button.isEnabled(), timeout=WAIT)
    assert "✘" in page.result.text() and "401" in page.result.text()
    assert "Traceback" not in page.result.text()


def test_unavailable_live_sources_are_disabled_with_a_reason(qtbot, window, tmp_path):
    _project(qtbot, window, tmp_path)
    wizard = window.import_dialog()
    qtbot.addWidget(wizard)
    for source, button in wizard.source_page.buttons.items():
        if source == "files":
            continue
        spec = LIVE_SOURCES[source]
        offered = all(hasattr(services, f) for f in (spec.pull, spec.check, spec.build) if f)
        assert button.isEnabled() == offered
        if not offered:
            assert "not available in this build" in button.text()


# -- a real directory (OpenLDAP slapd with a small AD schema) ---------------------------------------

@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    from tests.ad_estate import BASE, estate, to_ldif
    from tests.slapd_fixture import SlapdServer

    server = SlapdServer(tmp_path_factory.mktemp("gui-slapd"), BASE, to_ldif(estate())).start()
    server.base = BASE
    yield server
    server.cleanup()


def test_ldap_connection_test_then_pull(qtbot, window, tmp_path, slapd, gui_settings):
    _project(qtbot, window, tmp_path)
    wizard = window.import_dialog()
    qtbot.addWidget(wizard)
    assert wizard.source_page.buttons["ldap"].isEnabled()
    wizard.source_page.buttons["ldap"].setChecked(True)
    wizard.next()
    page = wizard.connection_page
    page.inputs["url"].setText(slapd.url)
    page.inputs["base"].setText(slapd.base)
    page.inputs["bind_dn"].setText(slapd.rootdn)
    page.secret.setText("not-the-password")
    op = page.test_connection()
    qtbot.waitUntil(lambda: op.done_event.is_set() and page.test_button.isEnabled(), timeout=WAIT)
    assert "✘" in page.result.text() and "credentials refused" in page.result.text()
    page.secret.setText(slapd.rootpw)
    op = page.test_connection()
    qtbot.waitUntil(lambda: op.done_event.is_set() and page.test_button.isEnabled(), timeout=WAIT)
    assert "✔" in page.result.text() and "readable" in page.result.text()
    with qtbot.waitSignal(wizard.run_finished, timeout=WAIT) as finished:
        wizard.next()
    assert finished.args == [True], wizard.run_page.label.text()
    assert "ldap" in wizard.report_page.browser.toPlainText()
    assert len(services.inventory_columns(window.store)["key"]) > 3
    saved = gui_settings.get("connections/ldap")
    assert saved["url"] == slapd.url and saved["bind_dn"] == slapd.rootdn
    assert slapd.rootpw not in Path(gui_settings.q.fileName()).read_text()
