"""Deciding from the decision panel: split / keep / retire with rationale, undo and redo, audit, bulk."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from nhiplan.core import services
from nhiplan.core.errors import BadInput
from tests.gui.conftest import WAIT, open_in, row_value, select, settle


def decide_in_panel(qtbot, window, decision: str, reason: str) -> None:
    panel = window.decision_panel
    panel.buttons[decision].click()
    panel.reason.setPlainText(reason)
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window)


def undo(qtbot, window) -> None:
    window.undo_action.trigger()
    settle(qtbot, window)


def redo(qtbot, window) -> None:
    window.redo_action.trigger()
    settle(qtbot, window)


def stored_decision(window, key: str) -> str:
    return services.identity_detail(window.store, key)["decision"]["decision"] \
        if services.identity_detail(window.store, key)["decision"] else "undecided"


def test_keep_with_rotation_then_undo_and_redo(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    key = select(qtbot, window, "svc_sql")
    panel = window.decision_panel
    panel.buttons["keep"].click()
    assert panel.rotation_box.isVisible() and not panel.agents_box.isVisible()
    panel.rotation_every.setCurrentText("90d")
    panel.rotation_via.setCurrentText("vault")
    decide_in_panel(qtbot, window, "keep", "single workload, rotate in vault")
    assert row_value(window, key, "decision") == "keep"
    detail = services.identity_detail(window.store, key)
    assert detail["decision"]["rotation"] == {"every": "90d", "via": "vault"}
    assert detail["decision"]["reason"] == "single workload, rotate in vault"
    assert window.undo_stack.count() == 1
    assert window.undo_stack.undoText() == "svc_sql → keep"
    assert window.history_view.model().rowCount() == 2  # "(project opened)" + the edit

    undo(qtbot, window)
    assert row_value(window, key, "decision") == "undecided"
    assert stored_decision(window, key) == "undecided"
    redo(qtbot, window)
    assert row_value(window, key, "decision") == "keep"
    assert services.identity_detail(window.store, key)["decision"]["rotation"] == {"every": "90d", "via": "vault"}

    actions = [(a["action"], a["subject"]) for a in services.audit_log(window.store, subject=key)]
    assert actions == [("restore", key), ("restore", key), ("decide", key)]  # newest first
    qtbot.waitUntil(lambda: window.audit_model.rowCount() == 3, timeout=WAIT)
    model = window.audit_tree.model()
    assert model.data(model.index(0, 4)) == "undecided → keep"
    assert model.data(model.index(2, 2)) == "decide" and model.data(model.index(2, 3)) == "svc_sql"


def test_split_with_agents_from_the_editor(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    key = select(qtbot, window, "svc_web")
    panel = window.decision_panel
    panel.buttons["split"].click()
    assert panel.agents_box.isVisible()
    editor = panel.agent_editor
    editor.add_button.click()
    editor.name.clear()
    qtbot.keyClicks(editor.name, "web-frontend-agent")
    qtbot.keyClicks(editor.purpose, "serve the portal")
    editor.delegation.setCurrentText("on-behalf-of")
    editor.actions.clear()
    qtbot.keyClicks(editor.actions, "read, write")
    qtbot.keyClicks(editor.scopes, "portal.read")
    editor.lifetime.setCurrentText("1h")
    editor.add_button.click()  # a second agent with defaults
    assert editor.list.count() == 2
    decide_in_panel(qtbot, window, "split", "two workloads share it")
    agents = services.identity_detail(window.store, key)["decision"]["agents"]
    assert [a["name"] for a in agents] == ["web-frontend-agent", "svc_web-2"]
    assert agents[0]["delegation"] == "on-behalf-of"
    assert agents[0]["action_classes"] == ["read", "write"] and agents[0]["lifetime"] == "1h"
    assert agents[0]["scopes"] == ["portal.read"] and agents[0]["purpose"] == "serve the portal"
    undo(qtbot, window)
    assert services.identity_detail(window.store, key)["decision"] is None


def test_refused_decision_shows_why_and_is_not_in_history(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    key = select(qtbot, window, "svc_web")
    panel = window.decision_panel
    panel.buttons["split"].click()
    panel.agent_editor.add_button.click()
    panel.agent_editor.lifetime.setCurrentText("forever")  # not a duration
    decide_in_panel(qtbot, window, "split", "")
    assert isinstance(window.last_error, BadInput)
    assert "lifetime" in str(window.last_error)
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and "lifetime" in boxes[-1].text()
    assert window.undo_stack.count() == 0
    assert row_value(window, key, "decision") == "undecided"


def test_bulk_decision_is_one_undo_step(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    keys = ["corp.acme.test/svc_a", "corp.acme.test/svc_b", "corp.acme.test/svc_old"]
    window.inventory.select_keys(keys)
    assert sorted(window.inventory.selected_keys()) == keys
    panel = window.decision_panel
    assert "3 selected identities" in panel.title.text()
    assert not panel.agents_box.isVisible()
    decide_in_panel(qtbot, window, "retire", "unused for years")
    assert [row_value(window, k, "decision") for k in keys] == ["retire"] * 3
    assert window.undo_stack.count() == 1
    assert window.undo_stack.undoText() == "3 identities → retire"
    undo(qtbot, window)
    assert [row_value(window, k, "decision") for k in keys] == ["undecided"] * 3
    assert [stored_decision(window, k) for k in keys] == ["undecided"] * 3
    redo(qtbot, window)
    assert [stored_decision(window, k) for k in keys] == ["retire"] * 3


def test_decision_facet_follows_edits(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    window.inventory.facets.item_for("decision", "undecided").setCheckState(0, Qt.CheckState.Checked)
    assert window.inventory.proxy.rowCount() == 6
    select(qtbot, window, "svc_rpt")
    decide_in_panel(qtbot, window, "retire", "gone")
    assert window.inventory.proxy.rowCount() == 5  # no longer undecided: filtered out
    undo(qtbot, window)
    assert window.inventory.proxy.rowCount() == 6


def test_a_bulk_decision_and_its_undo_run_in_a_worker(qtbot, window, tmp_path, monkeypatch):
    import threading

    from benchmarks.large_estate import estate_batches

    path = tmp_path / "many.nhiplan"
    store = services.init_project(path)
    services.import_records(store, list(estate_batches(150)), source_kind="ldif", family="ad",
                            source="many.ldif")
    store.close()
    open_in(qtbot, window, str(path))
    threads = []
    real = services.restore_decisions

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "restore_decisions", recording)
    keys = window.inventory.proxy.visible_keys()
    assert len(keys) == 150
    window.inventory.select_keys(keys)
    window.decision_panel.buttons["retire"].click()
    with qtbot.waitSignal(window.busy_changed, timeout=WAIT, check_params_cb=lambda busy: not busy):
        window.decision_panel.apply()
        assert not window.decision_panel.isEnabled(), "no second edit while this one is recorded"
    assert window.undo_stack.count() == 1
    assert window.inventory.model.facet_counts("decision") == {"retire": len(keys)}
    with qtbot.waitSignal(window.busy_changed, timeout=WAIT, check_params_cb=lambda busy: not busy):
        window.undo_action.trigger()
        assert not window.redo_action.isEnabled() and not window.undo_action.isEnabled()
    assert threads and threads[0] is not threading.main_thread()
    assert window.inventory.model.facet_counts("decision") == {"undecided": len(keys)}
    assert {d for d in services.inventory_columns(window.store)["decision"]} == {"undecided"}
    assert window.redo_action.isEnabled()
