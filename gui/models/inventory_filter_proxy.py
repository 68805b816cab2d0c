"""The filter/sort proxy of the inventory: instant search and facets over 100k rows.

QSortFilterProxyModel calls a Python `filterAcceptsRow` per row, which is too
slow for a keystroke on 100k identities. This proxy keeps the visible rows as
one list of source rows instead: a keystroke is one list comprehension over
precomputed lower-case search texts, a facet one over precomputed values, and a
sort one pass over a per-column order that is computed once (and only redone
for a column after its rows change). Selections survive filtering, because the
layout change remaps persistent indexes rather than resetting the model.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractProxyModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal

from .inventory_table_model import COLUMNS, MULTI_VALUED_FACETS, InventoryTableModel


class InventoryFilterProxy(QAbstractProxyModel):
    """Search text (every word must appear), facets (any checked value of each facet), sort."""

    filter_changed = Signal(int, int)  # visible rows, all rows

    def __init__(self, parent=None):
        super().__init__(parent)
        self._visible: list[int] = []
        self._pos: list[int] | None = None  # source row -> proxy row (-1 hidden), built on demand
        self._search = ""
        self._words: list[str] = []
        self._facets: dict[str, frozenset[str]] = {}
        self._sort_column = 0
        self._sort_order = Qt.SortOrder.AscendingOrder

    # -- source --------------------------------------------------------------------------
    def setSourceModel(self, model: InventoryTableModel) -> None:
        old = self.sourceModel()
        if old is not None:
            old.modelReset.disconnect(self._source_reset)
            old.dataChanged.disconnect(self._source_data_changed)
            old.rows_changed.disconnect(self._source_rows_changed)
        self.beginResetModel()
        super().setSourceModel(model)
        self._cell = model.cell  # the per-cell path never goes through Qt (see InventoryTableModel.cell)
        model.modelReset.connect(self._source_reset)
        model.dataChanged.connect(self._source_data_changed)
        model.rows_changed.connect(self._source_rows_changed)
        self._visible = self._compute()
        self._pos = None
        self.endResetModel()
        self._announce()

    def source(self) -> InventoryTableModel:
        return self.sourceModel()  # type: ignore[return-value]

    def _source_reset(self) -> None:
        self.beginResetModel()
        self._visible = self._compute()
        self._pos = None
        self.endResetModel()
        self._announce()

    def _source_data_changed(self, top: QModelIndex, bottom: QModelIndex, roles=()) -> None:
        if bottom.row() - top.row() > 1000:  # a whole column changed: no need to map every row
            if self._visible:
                self.dataChanged.emit(self.index(0, top.column()),
                                      self.index(len(self._visible) - 1, bottom.column()))
            return
        rows = [p for p in (self._proxy_row(r) for r in range(top.row(), bottom.row() + 1)) if p >= 0]
        if rows:
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), self.columnCount() - 1))

    def _source_rows_changed(self, rows: list[int]) -> None:
        # Their sort keys may have moved and they may now pass or fail a facet (a decision changed);
        # the data has already re-placed them in its cached sort orders.
        self._refilter()

    # -- the filter ----------------------------------------------------------------------
    def set_search(self, text: str) -> None:
        text = text.strip().lower()
        if text == self._search:
            return
        # Every word of a longer text contains a word of the old one, so it only hides rows.
        narrowing = bool(self._search) and (text.startswith(self._search)
                                            or set(self._words) <= set(text.split()))
        self._search = text
        self._words = text.split()
        self._refilter(from_visible=narrowing)

    def search(self) -> str:
        return self._search

    def set_facet(self, facet: str, values: set[str] | frozenset[str] | None) -> None:
        if values:
            self._facets[facet] = frozenset(values)
        else:
            self._facets.pop(facet, None)
        self._refilter()

    def facets(self) -> dict[str, frozenset[str]]:
        return dict(self._facets)

    def clear_filters(self) -> None:
        self._search, self._words = "", []
        self._facets.clear()
        self._refilter()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        self._sort_column, self._sort_order = column, order
        self._refilter()

    def sort_state(self) -> tuple[int, Qt.SortOrder]:
        return self._sort_column, self._sort_order

    def _order(self) -> list[int]:
        order = self.source().inventory.order(COLUMNS[self._sort_column].id)
        if self._sort_order == Qt.SortOrder.DescendingOrder:
            return order[::-1]
        return order

    def _compute(self, rows: list[int] | None = None) -> list[int]:
        model = self.source()
        if model is None or model.rowCount() == 0:
            return []
        rows = self._order() if rows is None else rows
        if self._words:
            texts = model.search_texts()
            for word in self._words:
                rows = [r for r in rows if word in texts[r]]
        for facet, allowed in self._facets.items():
            values = model.facet_values(facet)
            if facet in MULTI_VALUED_FACETS:
                rows = [r for r in rows if not allowed.isdisjoint(values[r])]
            else:
                rows = [r for r in rows if values[r] in allowed]
        return rows

    def _refilter(self, from_visible: bool = False) -> None:
        if self.source() is None:
            return
        self.layoutAboutToBeChanged.emit()
        old_persistent = self.persistentIndexList()
        old_sources = [self._visible[i.row()] if 0 <= i.row() < len(self._visible) else -1 for i in old_persistent]
        self._visible = self._compute(list(self._visible) if from_visible else None)
        self._pos = None
        new_persistent = []
        for idx, src in zip(old_persistent, old_sources, strict=True):
            row = self._proxy_row(src) if src >= 0 else -1
            new_persistent.append(self.index(row, idx.column()) if row >= 0 else QModelIndex())
        self.changePersistentIndexList(old_persistent, new_persistent)
        self.layoutChanged.emit()
        self._announce()

    def _announce(self) -> None:
        model = self.source()
        self.filter_changed.emit(len(self._visible), model.rowCount() if model is not None else 0)

    # -- mapping -------------------------------------------------------------------------
    def _proxy_row(self, source_row: int) -> int:
        if self._pos is None:
            pos = [-1] * (self.source().rowCount() if self.source() is not None else 0)
            for i, r in enumerate(self._visible):
                pos[r] = i
            self._pos = pos
        return self._pos[source_row] if 0 <= source_row < len(self._pos) else -1

    def mapToSource(self, proxy_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not proxy_index.isValid() or not 0 <= proxy_index.row() < len(self._visible):
            return QModelIndex()
        return self.source().index(self._visible[proxy_index.row()], proxy_index.column())

    def mapFromSource(self, source_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not source_index.isValid():
            return QModelIndex()
        row = self._proxy_row(source_index.row())
        return self.index(row, source_index.column()) if row >= 0 else QModelIndex()

    def source_row(self, proxy_row: int) -> int:
        return self._visible[proxy_row]

    def visible_keys(self) -> list[str]:
        model = self.source()
        return [model.key_at(r) for r in self._visible]

    def proxy_row_of_key(self, key: str) -> int:
        src = self.source().row_of(key)
        return self._proxy_row(src) if src is not None else -1

    def index(self, row: int, column: int, parent: QModelIndex | QPersistentModelIndex = QModelIndex()  # noqa: B008
              ) -> QModelIndex:
        if parent.isValid() or not 0 <= row < len(self._visible) or not 0 <= column < len(COLUMNS):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, index: Any = None) -> Any:  # type: ignore[override]
        if index is None:  # QObject.parent()
            return QObject.parent(self)
        return QModelIndex()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        if not 0 <= row < len(self._visible):
            return None
        return self._cell(self._visible[row], index.column(), int(role))

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            return self.source().headerData(section, orientation, role) if self.source() is not None else None
        return None

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and bool(self._visible)
