"""The audit log as a table model: who changed which decision, when, from what to what, and why.

A model (not a QTreeWidget) so that refreshing it after every decision is one
reset over a list of dicts; deleting hundreds of widget items each time cost
a third of a second on the UI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

HEADERS = ("When", "Who", "What", "Identity", "Change", "Why")


class AuditModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple[str, ...]] = []

    def set_events(self, events: list[dict[str, Any]], name_of) -> None:
        rows = []
        for a in events:
            if a["action"] == "add-dependency":
                change = f"after {(a.get('after') or {}).get('depends_on', '')}"
            else:
                change = (f"{(a.get('before') or {}).get('decision', 'undecided')} → "
                          f"{(a.get('after') or {}).get('decision', 'undecided')}")
            rows.append((a["at"][:19].replace("T", " "), a["actor"], a["action"], name_of(a["subject"]), change,
                         a.get("reason") or ""))
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.rows[index.row()][index.column()]
        return None
