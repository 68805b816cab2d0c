"""What lights up with core's analysis (recommendations, split planner), settings, errors and secrets."""

from __future__ import annotations

import keyring
from PySide6.QtWidgets import QDialogButtonBox, QSpinBox

from nhiplan.core import services
from nhiplan.core.errors import BadInput
from nhiplan.gui import secret_store
from nhiplan.gui.error_dialog import describe
from nhiplan.gui.views.settings_dialog import SettingsDialog
from tests.gui.conftest import WAIT, open_in, row_value, select, settle
from tests.keyring_memory import MemoryKeyring


def _open_with_recommendations(qtbot, window, path):
    with qtbot.waitSignal(window.recommendations_loaded, timeout=WAIT):
        open_in(qtbot, window, path)


def test_recommendations_fill_the_column_facet_and_detail(qtbot, window, estate_path):
    _open_with_recommendations(qtbot, window, estate_path)
    expected = {r["key"]: r for r in services.recommendations(window.store)}
    key = "corp.acme.test/svc_old"
    assert row_value(window, key, "recommendation") == expected[key]["recommendation"]
    assert "recommendation" in window.inventory.facets.groups
    select(qtbot, window, "svc_old")
    text = window.detail.toPlainText()
    assert "Recommendation" in text and expected[key]["reasons"][0] in text
    panel = window.decision_panel
    assert panel.use_rec_button.isVisible()
    panel.use_rec_button.click()
    assert panel.decision() == expected[key]["recommendation"]
    assert expected[key]["reasons"][0] in panel.reason.toPlainText()


def test_split_planner_seeds_the_agent_editor(qtbot, window, estate_path):
    _open_with_recommendations(qtbot, window, estate_path)
    key = select(qtbot, window, "svc_web")
    panel = window.decision_panel
    panel.buttons["split"].click()
    assert panel.agent_editor.propose_button.isVisible()
    panel.agent_editor.propose_button.click()
    proposed = services.propose_agents(window.store, key)
    assert [a["name"] for a in panel.agent_editor.agents()] == [a["name"] for a in proposed]
    assert panel.agent_editor.agents(), "the planner proposes at least one agent for a used account"
    panel.apply()
    settle(qtbot, window)
    stored = services.identity_detail(window.store, key)["decision"]
    assert stored["decision"] == "split" and [a["name"] for a in stored["agents"]] == [a["name"] for a in proposed]


def test_settings_dialog_edits_the_registry(qtbot, window, gui_settings):
    dialog = SettingsDialog(gui_settings, window)
    qtbot.addWidget(dialog)
    spin = dialog.findChild(QSpinBox, "inventory/stale_after_days")
    assert spin.value() == 90
    spin.setValue(30)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    assert gui_settings.get("inventory/stale_after_days") == 30
    names = set(dialog.editors)
    assert "window/geometry" not in names and "projects/recent" not in names
    assert not any("secret" in n or "password" in n or "token" in n for n in names)


def test_stale_threshold_from_settings_changes_the_status_facet(qtbot, window, estate_path, gui_settings):
    open_in(qtbot, window, estate_path)
    counts = window.inventory.model.facet_counts("status")
    assert counts.get("stale") == 1  # svc_old, last used in 2019
    gui_settings.set("inventory/stale_after_days", 100000)
    with qtbot.waitSignal(window.inventory_reloaded, timeout=WAIT):
        window.apply_settings()
    assert window.inventory.model.facet_counts("status").get("stale", 0) == 0


def test_errors_are_sentences_not_tracebacks():
    message, bug = describe(BadInput("x.ldif:12", "no dn"))
    assert (message, bug) == ("x.ldif:12: no dn", False)
    message, bug = describe(ZeroDivisionError("division by zero"))
    assert bug and "went wrong inside nhiplan" in message and "Traceback" not in message


def test_secrets_go_to_the_keyring_under_the_cli_names():
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        assert secret_store.keyring_available()
        assert secret_store.store_secret("scim", {"url": "https://scim.acme.test/v2/"}, "tok")
        assert memory.items == {("nhiplan", "https://scim.acme.test/v2"): "tok"}
        assert secret_store.load_secret("scim", {"url": "https://scim.acme.test/v2"}) == "tok"
        secret_store.store_secret("entra", {"tenant": "t1", "client_id": "c1"}, "s")
        assert ("nhiplan", "t1/c1") in memory.items
    finally:
        keyring.set_keyring(previous)


def test_no_keyring_means_nothing_is_stored(monkeypatch):
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert not secret_store.keyring_available()
        assert not secret_store.store_secret("scim", {"url": "https://x"}, "tok")
        assert secret_store.load_secret("scim", {"url": "https://x"}) is None
    finally:
        keyring.set_keyring(previous)
