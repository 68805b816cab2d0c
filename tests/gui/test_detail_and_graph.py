"""The detail panel and the graph view of the selected identity."""

from __future__ import annotations

from PySide6.QtCore import QUrl

from nhiplan.core import services
from nhiplan.core.records import EdgeRecord, IdentityRecord, NodeRecord
from nhiplan.gui.views.detail_panel import expiry_badge
from nhiplan.gui.views.graph_view import MAX_PER_PARENT, MAX_RING1, MAX_RING2, NodeItem
from tests.gui.conftest import WAIT, open_in, select


def test_detail_shows_attributes_sources_credentials_and_relations(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    select(qtbot, window, "svc_sql")
    text = window.detail.toPlainText()
    assert "svc_sql" in text and "corp.acme.test/svc_sql" in text
    assert "MSSQLSvc/sql01.corp.acme.test:1433" in text  # SPN attribute
    assert "small-estate.ldif:20" in text  # where the facts came from
    assert "Credentials" in text and "no expiry" in text
    assert "Consumers (1)" in text and "sql01.corp.acme.test" in text
    assert "Delegation (1)" in text and "svc_web" in text
    assert "No decision yet." in text


def test_following_a_link_selects_that_identity(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    select(qtbot, window, "svc_sql")
    with qtbot.waitSignal(window.detail_shown, timeout=WAIT, check_params_cb=lambda k: k.endswith("svc_web")):
        window.detail.anchorClicked.emit(QUrl("nhi:corp.acme.test/svc_web"))
    assert window.inventory.selected_keys() == ["corp.acme.test/svc_web"]


def test_findings_are_listed(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    select(qtbot, window, "svc_old")
    text = window.detail.toPlainText()
    assert "Findings" in text and "NHI2" in text and "password was written" in text


def test_expiry_badges():
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert "expired" in expiry_badge("2025-12-01T00:00:00Z", 30, now)
    assert "expires 2026-01-20" in expiry_badge("2026-01-20T00:00:00Z", 30, now)
    assert "valid to" in expiry_badge("2027-01-01T00:00:00Z", 30, now)
    assert "no expiry" in expiry_badge(None, 30, now)


def test_graph_shows_the_neighbourhood_coloured_by_edge_kind(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    select(qtbot, window, "svc_sql")
    view = window.graph_view
    assert view.centre == "corp.acme.test/svc_sql"
    assert set(view.node_items) == {"corp.acme.test/svc_sql", "corp.acme.test/svc_web", "host:sql01.corp.acme.test",
                                    "corp.acme.test/alice"}
    assert view.edge_count == 3
    colours = services.edge_kind_info()
    assert colours["AllowedToDelegate"]["colour"] in view.legend.text()
    assert "AllowedToDelegate (1)" in view.legend.text()


def test_clicking_a_graph_node_moves_there(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    select(qtbot, window, "svc_sql")
    item: NodeItem = window.graph_view.node_items["corp.acme.test/svc_web"]
    with qtbot.waitSignal(window.detail_shown, timeout=WAIT, check_params_cb=lambda k: k.endswith("svc_web")):
        window.graph_view.activate(item.key)
    assert window.graph_view.centre == "corp.acme.test/svc_web"
    assert window.inventory.selected_keys() == ["corp.acme.test/svc_web"]
    window.graph_view.activate("host:web01.corp.acme.test")  # not an identity: the graph moves, the table stays
    assert window.graph_view.centre == "host:web01.corp.acme.test"
    assert window.inventory.selected_keys() == ["corp.acme.test/svc_web"]


def test_a_huge_group_is_capped_not_drawn_whole(qtbot, window, tmp_path):
    path = tmp_path / "big.nhiplan"
    store = services.init_project(path)
    dom = "big.test"
    records: list = [NodeRecord(ref="dn:cn=everyone", kind="group", name="Everyone", authority=dom,
                                source_record="big:1")]
    for i in range(1500):
        ref = f"dn:cn=svc{i}"
        records.append(IdentityRecord(ref=ref, kind="service_account", name=f"svc{i:04d}", authority=dom,
                                      source_record=f"big:{i + 2}"))
        records.append(EdgeRecord(ref, "dn:cn=everyone", "MemberOf", f"big:{i + 2}"))
        if 0 < i <= 10:
            records.append(EdgeRecord("dn:cn=svc0", ref, "AllowedToDelegate", f"big:{i + 2}"))
    services.import_records(store, [records], source_kind="ldif", family="ad", source="big")
    store.close()
    open_in(qtbot, window, str(path))
    window.graph_view.set_hops(2)
    select(qtbot, window, "svc0000")
    view = window.graph_view
    assert len(view.node_items) <= 1 + MAX_RING1 + MAX_RING2
    assert "group:big.test/everyone" in view.node_items  # the group is a direct neighbour
    members_drawn = [k for k in view.node_items if k.startswith("big.test/svc") and k != "big.test/svc0000"]
    assert len(members_drawn) <= 10 + MAX_PER_PARENT  # ten delegates, a few of the group's 1,500 members
    assert view.hidden_count >= 1400
    assert "more neighbours not drawn" in view.status.text()
