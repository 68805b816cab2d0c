"""The inventory table: rows, instant search, facets, sort, columns, saved filters, selection."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import Qt

from nhiplan.gui.models.inventory_filter_proxy import InventoryFilterProxy
from nhiplan.gui.models.inventory_table_model import COLUMN_IDS, InventoryTableModel
from tests.gui.conftest import open_in


def visible_names(window) -> list[str]:
    proxy = window.inventory.proxy
    col = COLUMN_IDS.index("name")
    return [proxy.data(proxy.index(r, col)) for r in range(proxy.rowCount())]


def test_table_shows_every_identity_with_its_columns(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    table = window.inventory.table
    assert table.model().rowCount() == 6
    proxy = window.inventory.proxy
    row = visible_names(window).index("svc_sql")
    cell = {c: proxy.data(proxy.index(row, COLUMN_IDS.index(c))) for c in ("kind", "authority", "decision",
                                                                           "credentials", "consumers", "last_used")}
    assert cell == {"kind": "service account", "authority": "corp.acme.test", "decision": "undecided",
                    "credentials": "1", "consumers": "1", "last_used": "never"}
    old = visible_names(window).index("svc_old")
    assert proxy.data(proxy.index(old, COLUMN_IDS.index("tags"))) == "NHI2"
    assert proxy.data(proxy.index(old, COLUMN_IDS.index("enabled"))) == "no"


def test_search_filters_on_every_keystroke(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    search = window.inventory.search
    qtbot.keyClicks(search, "svc_s")
    assert visible_names(window) == ["svc_sql"]
    qtbot.keyClick(search, Qt.Key.Key_Backspace)
    qtbot.keyClick(search, Qt.Key.Key_Backspace)
    assert len(visible_names(window)) == 6
    search.setText("nhi2")  # tags are searchable too
    assert visible_names(window) == ["svc_old"]
    search.setText("svc web")  # every word must match, in any field
    assert visible_names(window) == ["svc_web"]
    assert window.inventory.count_label.text() == "1 of 6"


def test_facets_filter_and_combine_with_search(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    facets = window.inventory.facets
    item = facets.item_for("status", "disabled")
    item.setCheckState(0, Qt.CheckState.Checked)  # what a click on the box does
    assert visible_names(window) == ["svc_old"]
    item.setCheckState(0, Qt.CheckState.Unchecked)
    facets.item_for("tags", "NHI2").setCheckState(0, Qt.CheckState.Checked)
    window.inventory.search.setText("web")
    assert visible_names(window) == []
    window.inventory.clear_filters()
    assert len(visible_names(window)) == 6
    assert facets.item_for("tags", "NHI2").checkState(0) == Qt.CheckState.Unchecked


def test_header_click_sorts(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    assert visible_names(window) == sorted(visible_names(window))
    window.inventory.table.sortByColumn(COLUMN_IDS.index("name"), Qt.SortOrder.DescendingOrder)
    assert visible_names(window) == sorted(visible_names(window), reverse=True)
    window.inventory.table.sortByColumn(COLUMN_IDS.index("enabled"), Qt.SortOrder.AscendingOrder)
    assert visible_names(window)[0] == "svc_old"  # disabled before enabled


def test_selection_survives_filtering(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    key = "corp.acme.test/svc_sql"
    window.inventory.select_keys([key])
    window.inventory.search.setText("svc_s")
    assert window.inventory.selected_keys() == [key]
    window.inventory.search.setText("")
    assert window.inventory.selected_keys() == [key]
    window.inventory.search.setText("web")  # hides it: nothing is selected
    assert window.inventory.selected_keys() == []


def test_column_chooser_hides_columns_and_remembers(qtbot, window, estate_path, gui_settings):
    open_in(qtbot, window, estate_path)
    col = COLUMN_IDS.index("authority")
    window.inventory.set_column_visible(col, False)
    assert window.inventory.table.isColumnHidden(col)
    assert "authority" in gui_settings.get("inventory/hidden_columns")
    action = next(a for a in window.inventory.columns_menu.actions() if a.data() == "authority")
    assert not action.isChecked()
    action.setChecked(True)
    assert not window.inventory.table.isColumnHidden(col)


def test_saved_filters_round_trip(qtbot, window, estate_path, gui_settings):
    open_in(qtbot, window, estate_path)
    window.inventory.search.setText("svc")
    window.inventory.facets.item_for("status", "disabled").setCheckState(0, Qt.CheckState.Checked)
    window.inventory.save_filter("Disabled accounts")
    window.inventory.clear_filters()
    assert len(visible_names(window)) == 6
    combo = window.inventory.saved
    combo.setCurrentIndex(combo.findData("Disabled accounts"))
    combo.activated.emit(combo.currentIndex())
    assert visible_names(window) == ["svc_old"]
    assert window.inventory.search.text() == "svc"
    assert "Disabled accounts" in gui_settings.get("inventory/saved_filters")


def _columns(n: int, seed: int = 3) -> dict[str, list]:
    rng = random.Random(seed)
    words = ["sql", "web", "backup", "etl", "print", "mail"]
    kinds = ["service_account", "gmsa", "service_principal"]
    decisions = ["split", "keep", "retire", "undecided"]
    cols: dict[str, list] = {c: [] for c in ("key", "name", "kind", "authority", "display_name", "upn", "description",
                                             "sources", "enabled", "last_used", "vanished", "needs_review",
                                             "decision", "credentials", "soonest_expiry", "groups", "consumers",
                                             "tags")}
    for i in range(n):
        name = f"svc_{rng.choice(words)}_{i:05d}"
        for c, v in (("key", f"d{i % 3}/{name}"), ("name", name), ("kind", rng.choice(kinds)),
                     ("authority", f"d{i % 3}"), ("display_name", None), ("upn", None),
                     ("description", rng.choice(["runs jobs", "old", None])), ("sources", ["ldif"]),
                     ("enabled", rng.random() < 0.8), ("last_used", None), ("vanished", False),
                     ("needs_review", None), ("decision", rng.choice(decisions)), ("credentials", rng.randint(0, 3)),
                     ("soonest_expiry", None), ("groups", rng.randint(0, 9)), ("consumers", rng.randint(0, 4)),
                     ("tags", rng.choice([[], ["NHI7"], ["NHI2", "NHI7"]]))):
            cols[c].append(v)
    return cols


def test_proxy_agrees_with_a_plain_filter_on_many_rows(qapp):
    cols = _columns(3000)
    model = InventoryTableModel()
    model.load_columns(cols)
    proxy = InventoryFilterProxy()
    proxy.setSourceModel(model)

    def keys() -> list[str]:
        return proxy.visible_keys()

    proxy.set_search("sql")
    by_name = sorted(range(len(cols["key"])), key=lambda i: cols["name"][i])
    assert keys() == [cols["key"][i] for i in by_name if "sql" in cols["name"][i]]
    proxy.set_search("sql_0001")  # narrowing from the visible rows gives the same as from scratch
    narrowed = keys()
    proxy.set_search("")
    proxy.set_search("sql_0001")
    assert keys() == narrowed and narrowed
    proxy.set_search("")
    proxy.set_facet("decision", {"retire", "keep"})
    proxy.set_facet("tags", {"NHI2"})
    expected = {k for k, d, t in zip(cols["key"], cols["decision"], cols["tags"], strict=True)
                if d in ("retire", "keep") and "NHI2" in t}
    assert set(keys()) == expected
    proxy.sort(COLUMN_IDS.index("groups"), Qt.SortOrder.DescendingOrder)
    groups = [cols["groups"][model.row_of(k)] for k in keys()]
    assert groups == sorted(groups, reverse=True)


def test_changed_rows_move_between_facets(qapp):
    cols = _columns(200)
    model = InventoryTableModel()
    model.load_columns(cols)
    proxy = InventoryFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_facet("decision", {"split"})
    before = set(proxy.visible_keys())
    key = next(k for k, d in zip(cols["key"], cols["decision"], strict=True) if d != "split")
    row = model.row_of(key)
    update = {c: [cols[c][row]] for c in cols}
    update["decision"] = ["split"]
    model.update_rows(update)
    assert set(proxy.visible_keys()) == before | {key}


@pytest.mark.parametrize("changed", [30, 300])  # re-inserted one by one; sorted again
def test_orders_after_changes_equal_a_fresh_sort(changed):
    from nhiplan.gui.models.inventory_data import INCREMENTAL_LIMIT, InventoryData

    assert 30 <= INCREMENTAL_LIMIT < 300
    cols = _columns(5000, seed=11)
    data = InventoryData(cols).prepare()
    for column in ("decision", "groups", "tags"):
        data.order(column)
    rng = random.Random(5)
    rows = rng.sample(range(5000), changed)
    update = {c: [cols[c][r] for r in rows] for c in cols}
    update["decision"] = [rng.choice(["split", "keep", "retire", "undecided"]) for _ in rows]
    update["groups"] = [rng.randint(0, 50) for _ in rows]
    data.update_rows(update)
    fresh = InventoryData({c: list(v) for c, v in data.cols.items()}).prepare()
    for column in ("decision", "groups", "tags", "name"):
        assert data.order(column) == fresh.order(column), column
    assert data.counts == fresh.counts
    assert data.search == fresh.search
