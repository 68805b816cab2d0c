"""The inventory table model: a Qt face on an `InventoryData` (ids, column arrays, derived keys).

The model never holds an ORM object, and never computes over all rows on the
UI thread: the data arrives prepared from a worker. A cell's text is made only
when the view asks for it, and whole rows of text are cached (bounded), so
100k identities cost a few lists, not 100k objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from .inventory_data import FACETS, MULTI_VALUED_FACETS, InventoryData

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
# Roles as plain ints, compared without touching Qt in the per-cell path.
DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
DECORATION = int(Qt.ItemDataRole.DecorationRole.value)
ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole.value)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
USED_ROLES = frozenset({DISPLAY, DECORATION, ALIGNMENT, FOREGROUND, TOOLTIP, int(KEY_ROLE)})
RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)
EXPIRED_COLOUR = QColor("#d62728")
EXPIRING_COLOUR = QColor("#e08e0b")
ROW_CACHE_LIMIT = 4000

DECISION_COLOURS = {"split": "#1f77b4", "keep": "#2ca02c", "retire": "#d62728", "undecided": "#9e9e9e"}
KIND_LABELS = {"service_account": "service account", "gmsa": "gMSA", "smsa": "sMSA", "dmsa": "dMSA",
               "service_principal": "service principal", "managed_identity": "managed identity",
               "agent": "agent", "scim_account": "SCIM account", "person": "person"}
FACET_TITLES = {"source": "Source", "kind": "Kind", "authority": "Authority", "decision": "Decision",
                "recommendation": "Recommendation", "tags": "OWASP NHI tags", "status": "Status"}

__all__ = ["COLUMNS", "COLUMN_IDS", "FACETS", "FACET_TITLES", "KEY_ROLE", "MULTI_VALUED_FACETS",
           "InventoryTableModel"]


@dataclass(frozen=True, slots=True)
class Column:
    id: str
    title: str
    numeric: bool = False
    tip: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("name", "Name"),
    Column("kind", "Kind"),
    Column("authority", "Authority", tip="AD domain, tenant or SCIM service"),
    Column("decision", "Decision"),
    Column("recommendation", "Recommendation", tip="What the analysis suggests (when available)"),
    Column("enabled", "Enabled"),
    Column("last_used", "Last used"),
    Column("credentials", "Credentials", numeric=True),
    Column("soonest_expiry", "Expires", tip="The earliest credential expiry"),
    Column("groups", "Groups", numeric=True),
    Column("consumers", "Consumers", numeric=True, tip="Workloads and hosts that run as this identity"),
    Column("tags", "Tags", tip="OWASP Non-Human Identity Top 10 tags"),
    Column("sources", "Sources"),
    Column("key", "Key"),
    Column("display_name", "Display name"),
    Column("upn", "UPN"),
)
COLUMN_IDS = tuple(c.id for c in COLUMNS)


class InventoryTableModel(QAbstractTableModel):
    """Rows of the inventory; `rows_changed(rows)` tells the proxy which rows' keys moved."""

    rows_changed = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.inventory = InventoryData().prepare()
        self._row_cache: dict[int, tuple[str, ...]] = {}
        self._icons: dict[str, QIcon] = {}
        self._tracking: list[set[int]] = []
        self._muted: QColor | None = None  # disabled rows' text colour, from the palette

    def palette_changed(self) -> None:
        self._muted = None

    # -- filling -------------------------------------------------------------------------
    def load(self, data: InventoryData) -> None:
        """Show prepared data (see InventoryData.prepare, done in a worker)."""
        if not data.prepared:
            data.prepare()  # small data in tests and on first start; large data comes prepared
        self.beginResetModel()
        self.inventory = data
        self._row_cache.clear()
        for rows in self._tracking:
            rows.clear()
        self.endResetModel()

    def load_columns(self, columns: dict[str, list[Any]], recommendations: dict[str, dict[str, Any]] | None = None,
                     **thresholds: int) -> None:
        self.load(InventoryData(columns, recommendations, **thresholds))

    def track_changes(self) -> set[int]:
        """A set that collects the rows changed from now on (for a worker's result to catch up)."""
        rows: set[int] = set()
        self._tracking.append(rows)
        return rows

    def stop_tracking(self, rows: set[int]) -> None:
        if rows in self._tracking:
            self._tracking.remove(rows)

    def adopt_recommendations(self, parts: dict[str, Any], changed_since: set[int]) -> None:
        self.inventory.adopt(parts, changed_since)
        self._row_cache.clear()
        if self.rowCount():
            col = COLUMN_IDS.index("recommendation")
            self.dataChanged.emit(self.index(0, col), self.index(self.rowCount() - 1, col))
        self.rows_changed.emit([])

    def update_rows(self, columns: dict[str, list[Any]]) -> list[int]:
        """Replace the rows of the keys in `columns` (fresh from inventory_columns(keys=...))."""
        rows = self.inventory.update_rows(columns)
        if not rows:
            return rows
        for r in rows:
            self._row_cache.pop(r, None)
        for tracked in self._tracking:
            tracked.update(rows)
        self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), self.columnCount() - 1))
        self.rows_changed.emit(rows)
        return rows

    # -- questions -----------------------------------------------------------------------
    def key_at(self, row: int) -> str:
        return self.inventory.cols["key"][row]

    def row_of(self, key: str) -> int | None:
        return self.inventory.row_of.get(key)

    def value(self, column: str, row: int) -> Any:
        return self.inventory.value(column, row)

    def recommendation(self, key: str) -> dict[str, Any] | None:
        return self.inventory.recs.get(key)

    def has_recommendations(self) -> bool:
        return bool(self.inventory.recs)

    def name_of(self, key: str) -> str:
        row = self.inventory.row_of.get(key)
        return self.inventory.cols["name"][row] if row is not None else key

    def decisions(self) -> dict[str, str]:
        return dict(zip(self.inventory.cols["key"], self.inventory.cols["decision"], strict=True))

    def facet_counts(self, facet: str) -> dict[str, int]:
        return self.inventory.counts.get(facet, {})

    def facet_values(self, facet: str) -> list[Any]:
        return self.inventory.facets[facet]

    def search_texts(self) -> list[str]:
        return self.inventory.search

    # -- Qt model ------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.inventory)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section].tip or None
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        return self.cell(index.row(), index.column(), role)

    def cell(self, row: int, col: int, role: int) -> Any:
        """data() by row and column. The proxy calls this directly: every call into Qt (making a
        QModelIndex) lets a busy worker thread take the interpreter lock, which made a repaint
        ten times slower while the graph or an analysis was computed."""
        if role == DISPLAY:
            return self._row_text(row)[col]
        if role not in USED_ROLES:
            return None
        cols = self.inventory.cols
        if role == KEY_ROLE:
            return cols["key"][row]
        column = COLUMNS[col].id
        if role == DECORATION:
            return self._icon(cols["decision"][row]) if column == "decision" else None
        if role == ALIGNMENT:
            return RIGHT if COLUMNS[col].numeric else None
        if role == FOREGROUND:
            if cols["enabled"][row] is False or cols["vanished"][row]:
                if self._muted is None:
                    self._muted = QApplication.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
                return self._muted
            if column == "soonest_expiry" and cols["soonest_expiry"][row]:
                expiry = cols["soonest_expiry"][row]
                if expiry < self.inventory.now_text:
                    return EXPIRED_COLOUR
                if expiry < self.inventory.expiring_before:
                    return EXPIRING_COLOUR
            return None
        return self._tooltip(column, row)  # the tooltip role

    def _row_text(self, row: int) -> tuple[str, ...]:
        text = self._row_cache.get(row)
        if text is None:
            if len(self._row_cache) >= ROW_CACHE_LIMIT:
                self._row_cache.clear()
            text = tuple(self._cell_text(c.id, row) for c in COLUMNS)
            self._row_cache[row] = text
        return text

    def _cell_text(self, column: str, row: int) -> str:
        value = self.inventory.value(column, row)
        if value is None:
            return "never" if column == "last_used" else ""
        if column == "kind":
            return KIND_LABELS.get(value, value)
        if column == "enabled":
            return "yes" if value else "no"
        if column in ("last_used", "soonest_expiry"):
            return value[:10]
        if isinstance(value, list):
            return ", ".join(value)
        return str(value)

    def _tooltip(self, column: str, row: int) -> str | None:
        key = self.inventory.cols["key"][row]
        if column == "recommendation":
            rec = self.inventory.recs.get(key)
            if rec and rec.get("reasons"):
                return "\n".join(f"• {r}" for r in rec["reasons"])
            return None
        if column == "name":
            return key
        if column == "last_used":
            return ", ".join(self.inventory.status(row)) or None
        return None

    def _icon(self, decision: str) -> QIcon:
        icon = self._icons.get(decision)
        if icon is None:
            pix = QPixmap(10, 10)
            pix.fill(QColor(DECISION_COLOURS.get(decision, "#9e9e9e")))
            icon = self._icons[decision] = QIcon(pix)
        return icon
