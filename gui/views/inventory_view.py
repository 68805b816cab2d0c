"""The inventory: facets on the left, instant search and the identity table on the right.

The table shows the filter proxy over the inventory model; the search box
filters on every keystroke (no delay is needed: a keystroke costs a few
milliseconds at 100k rows); facets (source, kind, authority, decision,
recommendation, OWASP NHI tags, stale / expiring credentials) are checkable with
counts; columns can be shown and hidden; filters can be saved by name; rows can
be multi-selected for a bulk decision.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QSplitter,
    QTableView,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..models.inventory_data import InventoryData
from ..models.inventory_filter_proxy import InventoryFilterProxy
from ..models.inventory_table_model import (
    COLUMNS,
    FACET_TITLES,
    FACETS,
    KEY_ROLE,
    KIND_LABELS,
    InventoryTableModel,
)
from ..settings import Settings

COLUMN_WIDTHS = {"name": 200, "kind": 120, "authority": 150, "decision": 90, "recommendation": 110, "enabled": 60,
                 "last_used": 90, "credentials": 80, "soonest_expiry": 90, "groups": 60, "consumers": 80,
                 "tags": 90, "sources": 90, "key": 260, "display_name": 180, "upn": 180}
FACET_VALUE_ROLE = Qt.ItemDataRole.UserRole + 2


class FacetPanel(QTreeWidget):
    """Checkable facet values with counts; `facet_changed(facet, values)` on every check."""

    facet_changed = Signal(str, set)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("facetPanel")
        self.setHeaderLabels(["Filter", "Count"])
        self.setRootIsDecorated(True)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setStretchLastSection(False)
        self.groups: dict[str, QTreeWidgetItem] = {}
        self._updating = False
        self.itemChanged.connect(self._item_changed)

    def rebuild(self, model: InventoryTableModel, checked: dict[str, frozenset[str]], facets=FACETS) -> None:
        self._updating = True
        for facet in facets:
            if facet == "recommendation" and not model.has_recommendations():
                group = self.groups.pop(facet, None)
                if group is not None:
                    self.takeTopLevelItem(self.indexOfTopLevelItem(group))
                continue
            group = self.groups.get(facet)
            if group is None:
                group = QTreeWidgetItem([FACET_TITLES[facet], ""])
                group.setFlags(Qt.ItemFlag.ItemIsEnabled)
                font = group.font(0)
                font.setBold(True)
                group.setFont(0, font)
                self.insertTopLevelItem(self._position(facet), group)
                group.setExpanded(facet in ("kind", "decision", "status", "tags"))
                self.groups[facet] = group
            counts = model.facet_counts(facet)
            wanted = checked.get(facet, frozenset())
            existing = {group.child(i).data(0, FACET_VALUE_ROLE): group.child(i) for i in range(group.childCount())}
            for value in sorted(set(counts) | set(wanted), key=lambda v: (-counts.get(v, 0), v)):
                item = existing.pop(value, None)
                if item is None:
                    label = KIND_LABELS.get(value, value) if facet == "kind" else (value or "(none)")
                    item = QTreeWidgetItem([label, ""])
                    item.setData(0, FACET_VALUE_ROLE, value)
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                    group.addChild(item)
                item.setText(1, str(counts.get(value, 0)))
                item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
                item.setCheckState(0, Qt.CheckState.Checked if value in wanted else Qt.CheckState.Unchecked)
            for item in existing.values():
                group.removeChild(item)
            group.setText(1, f"{len(wanted)} ✓" if wanted else "")
        self._updating = False

    def _position(self, facet: str) -> int:
        order = [f for f in FACETS if f in self.groups or f == facet]
        return order.index(facet)

    def checked(self, facet: str) -> set[str]:
        group = self.groups.get(facet)
        if group is None:
            return set()
        return {group.child(i).data(0, FACET_VALUE_ROLE) for i in range(group.childCount())
                if group.child(i).checkState(0) == Qt.CheckState.Checked}

    def item_for(self, facet: str, value: str) -> QTreeWidgetItem | None:
        group = self.groups.get(facet)
        if group is None:
            return None
        for i in range(group.childCount()):
            if group.child(i).data(0, FACET_VALUE_ROLE) == value:
                return group.child(i)
        return None

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._updating or column != 0 or item.parent() is None:
            return
        facet = next((f for f, g in self.groups.items() if g is item.parent()), None)
        if facet is not None:
            values = self.checked(facet)
            self._updating = True
            item.parent().setText(1, f"{len(values)} ✓" if values else "")
            self._updating = False
            self.facet_changed.emit(facet, values)


class InventoryView(QWidget):
    """`selection_changed(keys)` whenever the selected identities change (current first)."""

    selection_changed = Signal(list)

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("inventoryView")
        self.settings = settings
        self.model = InventoryTableModel(self)
        self.proxy = InventoryFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search name, key, UPN, description, tags…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_search)
        self.count_label = QLabel()
        self.count_label.setObjectName("countLabel")
        self.saved = QComboBox()
        self.saved.setObjectName("savedFilters")
        self.saved.setMinimumWidth(140)
        self.saved.setToolTip("Saved filters")
        self.saved.activated.connect(self._apply_saved)
        self.save_button = QToolButton()
        self.save_button.setText("Save filter…")
        self.save_button.setObjectName("saveFilter")
        self.save_button.clicked.connect(self.save_filter_dialog)
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear filters")
        self.clear_button.clicked.connect(self.clear_filters)
        self.columns_button = QToolButton()
        self.columns_button.setText("Columns")
        self.columns_button.setObjectName("columnsButton")
        self.columns_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.columns_menu = QMenu(self)
        self.columns_button.setMenu(self.columns_menu)

        self.search.setMinimumWidth(220)
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count_label)
        tools = QHBoxLayout()
        tools.addWidget(self.saved, 1)
        tools.addWidget(self.save_button)
        tools.addWidget(self.clear_button)
        tools.addWidget(self.columns_button)

        self.table = QTableView()
        self.table.setObjectName("inventoryTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        vh = self.table.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row measuring at 100k rows
        vh.setDefaultSectionSize(self.fontMetrics().height() + 8)
        hh = self.table.horizontalHeader()
        hh.setSectionsMovable(True)
        hh.setStretchLastSection(True)
        hh.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        hh.customContextMenuRequested.connect(lambda pos: self.columns_menu.exec(hh.mapToGlobal(pos)))
        for i, c in enumerate(COLUMNS):
            self.table.setColumnWidth(i, COLUMN_WIDTHS.get(c.id, 100))
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.selectionModel().currentRowChanged.connect(self._selection_changed)

        self.facets = FacetPanel()
        self.facets.facet_changed.connect(self.proxy.set_facet)
        self.proxy.filter_changed.connect(self._filter_changed)
        self.model.rows_changed.connect(lambda _rows: self._facet_timer.start())
        self._facet_timer = QTimer(self)
        self._facet_timer.setSingleShot(True)
        self._facet_timer.setInterval(150)
        self._facet_timer.timeout.connect(lambda: self.facets.rebuild(self.model, self.proxy.facets()))

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(bar)
        right_layout.addLayout(tools)
        right_layout.addWidget(self.table, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.facets)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.facets.setMinimumWidth(190)
        self.splitter.setSizes([230, 800])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.find_action = QAction("Find", self)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.triggered.connect(lambda: (self.search.setFocus(), self.search.selectAll()))
        self.addAction(self.find_action)
        self._build_columns_menu()
        self._reload_saved()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.model.palette_changed()

    # -- data ----------------------------------------------------------------------------
    def load(self, data: InventoryData) -> None:
        """Show prepared inventory data (built in a worker), keeping the selection where it can."""
        keep = self.selected_keys()
        self.model.load(data)
        self.facets.rebuild(self.model, self.proxy.facets())
        if keep:
            self.select_keys(keep)

    def adopt_recommendations(self, parts: dict[str, Any], changed_since: set[int]) -> None:
        self.model.adopt_recommendations(parts, changed_since)
        self.facets.rebuild(self.model, self.proxy.facets())

    def _filter_changed(self, visible: int, total: int) -> None:
        self.count_label.setText(f"{visible:,} of {total:,}" if visible != total else f"{total:,} identities")

    # -- selection -----------------------------------------------------------------------
    def selected_keys(self) -> list[str]:
        sm = self.table.selectionModel()
        rows = sorted({i.row() for i in sm.selectedRows()})
        current = sm.currentIndex()
        keys = [self.proxy.data(self.proxy.index(r, 0), KEY_ROLE) for r in rows]
        if current.isValid() and sm.isRowSelected(current.row(), QModelIndex()):
            ck = self.proxy.data(self.proxy.index(current.row(), 0), KEY_ROLE)
            if ck in keys:
                keys.remove(ck)
                keys.insert(0, ck)
        return [k for k in keys if k]

    def select_keys(self, keys: list[str]) -> bool:
        """Select these identities (the first becomes current); False when none is visible."""
        sm = self.table.selectionModel()
        rows = [r for r in (self.proxy.proxy_row_of_key(k) for k in keys) if r >= 0]
        if not rows:
            return False
        sm.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for r in rows[1:]:
            sm.select(self.proxy.index(r, 0), flags)
        sm.setCurrentIndex(self.proxy.index(rows[0], 0), flags)
        self.table.scrollTo(self.proxy.index(rows[0], 0))
        return True

    def reveal(self, key: str) -> bool:
        """Select `key`, clearing the filters first when they hide it."""
        if self.select_keys([key]):
            return True
        if self.model.row_of(key) is None:
            return False
        self.clear_filters()
        return self.select_keys([key])

    def _selection_changed(self, *_args: Any) -> None:
        self.selection_changed.emit(self.selected_keys())

    # -- columns -------------------------------------------------------------------------
    def _build_columns_menu(self) -> None:
        hidden = set(self.settings.get("inventory/hidden_columns"))
        self.columns_menu.clear()
        for i, c in enumerate(COLUMNS):
            action = self.columns_menu.addAction(c.title)
            action.setCheckable(True)
            action.setChecked(c.id not in hidden)
            action.setEnabled(c.id != "name")
            action.setData(c.id)
            action.toggled.connect(lambda on, col=i: self.set_column_visible(col, on))
            self.table.setColumnHidden(i, c.id in hidden and c.id != "name")

    def set_column_visible(self, column: int, visible: bool) -> None:
        self.table.setColumnHidden(column, not visible)
        hidden = [c.id for i, c in enumerate(COLUMNS) if self.table.isColumnHidden(i)]
        self.settings.set("inventory/hidden_columns", hidden)
        for action in self.columns_menu.actions():
            if action.data() == COLUMNS[column].id and action.isChecked() != visible:
                action.setChecked(visible)

    # -- filters -------------------------------------------------------------------------
    def current_filter(self) -> dict[str, Any]:
        column, order = self.proxy.sort_state()
        return {"search": self.search.text(), "facets": {f: sorted(v) for f, v in self.proxy.facets().items()},
                "sort": [COLUMNS[column].id, "desc" if order == Qt.SortOrder.DescendingOrder else "asc"]}

    def apply_filter(self, spec: dict[str, Any]) -> None:
        self.search.setText(spec.get("search", ""))
        for facet in FACETS:
            self.proxy.set_facet(facet, set(spec.get("facets", {}).get(facet, [])) or None)
        sort = spec.get("sort") or ["name", "asc"]
        ids = [c.id for c in COLUMNS]
        if sort[0] in ids:
            self.table.sortByColumn(ids.index(sort[0]), Qt.SortOrder.DescendingOrder if sort[1] == "desc"
                                    else Qt.SortOrder.AscendingOrder)
        self.facets.rebuild(self.model, self.proxy.facets())

    def clear_filters(self) -> None:
        self.search.clear()
        self.proxy.clear_filters()
        self.facets.rebuild(self.model, self.proxy.facets())
        self.saved.setCurrentIndex(0)

    def save_filter(self, name: str) -> None:
        saved = self.settings.get("inventory/saved_filters")
        saved[name] = self.current_filter()
        self.settings.set("inventory/saved_filters", saved)
        self._reload_saved(select=name)

    def delete_filter(self, name: str) -> None:
        saved = self.settings.get("inventory/saved_filters")
        saved.pop(name, None)
        self.settings.set("inventory/saved_filters", saved)
        self._reload_saved()

    def save_filter_dialog(self) -> None:
        name, ok = QInputDialog.getText(self, "Save filter", "Name of this filter:")
        if ok and name.strip():
            self.save_filter(name.strip())

    def _reload_saved(self, select: str | None = None) -> None:
        saved = self.settings.get("inventory/saved_filters")
        self.saved.blockSignals(True)
        self.saved.clear()
        self.saved.addItem("Saved filters…", None)
        for name in sorted(saved):
            self.saved.addItem(name, name)
        if select is not None:
            self.saved.setCurrentIndex(max(0, self.saved.findData(select)))
        self.saved.blockSignals(False)

    def _apply_saved(self, index: int) -> None:
        name = self.saved.itemData(index)
        if name is None:
            return
        spec = self.settings.get("inventory/saved_filters").get(name)
        if spec:
            self.apply_filter(spec)
