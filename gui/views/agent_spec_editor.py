"""The agent-spec editor: the per-agent identities a split creates, on the four axes.

Who the agent is (name, purpose, owner), on whose behalf it acts (delegation),
which class of action it may take (action classes, scopes), and how long its
credentials live (credential type, lifetime) — plus the consumers it serves.
The list can be seeded by the split planner; core validates on apply.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nhiplan.core import services

LIFETIMES = ("5m", "15m", "1h", "8h", "1d")


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def new_agent(index: int, base: str = "agent") -> dict[str, Any]:
    return {"name": f"{base}-{index}", "purpose": "", "delegation": "autonomous", "action_classes": ["read"],
            "scopes": [], "credential": "private_key_jwt", "lifetime": "15m", "owner": None, "consumers": []}


class AgentSpecEditor(QWidget):
    """Edits a list of agent specs (plain dicts in CONTRACT's decisions-file shape)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("agentSpecEditor")
        vocab = services.decision_vocabulary()
        self._agents: list[dict[str, Any]] = []
        self._loading = False
        self.base_name = "agent"

        self.list = QListWidget()
        self.list.setObjectName("agentList")
        self.list.setMaximumHeight(90)
        self.list.currentRowChanged.connect(self._show_agent)
        self.add_button = QPushButton("Add agent")
        self.add_button.setObjectName("addAgent")
        self.add_button.clicked.connect(self.add_agent)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removeAgent")
        self.remove_button.clicked.connect(self.remove_agent)

        self.name = QLineEdit()
        self.name.setObjectName("agentName")
        self.purpose = QLineEdit()
        self.purpose.setPlaceholderText("what this agent does, e.g. nightly reporting")
        self.owner = QLineEdit()
        self.owner.setPlaceholderText("team or person answerable for it")
        self.delegation = QComboBox()
        self.delegation.addItems(list(vocab["delegation"]))
        self.actions = QLineEdit()
        self.actions.setPlaceholderText("read, write")
        self.scopes = QLineEdit()
        self.scopes.setPlaceholderText("db.reports.read")
        self.credential = QComboBox()
        self.credential.addItems(list(vocab["credentials"]))
        self.lifetime = QComboBox()
        self.lifetime.setEditable(True)
        self.lifetime.addItems(list(LIFETIMES))
        self.consumers = QLineEdit()
        self.consumers.setPlaceholderText("hosts or workloads it serves")

        form = QFormLayout()
        form.addRow("Who (name)", self.name)
        form.addRow("Purpose", self.purpose)
        form.addRow("Owner", self.owner)
        form.addRow("On whose behalf", self.delegation)
        form.addRow("Action classes", self.actions)
        form.addRow("Scopes", self.scopes)
        form.addRow("Credential", self.credential)
        form.addRow("Credential lifetime", self.lifetime)
        form.addRow("Consumers served", self.consumers)
        self.form_widget = QWidget()
        self.form_widget.setLayout(form)

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        self.propose_button = QPushButton("Propose from usage")
        self.propose_button.setObjectName("proposeAgents")
        self.propose_button.setToolTip("Seed the agents from the split planner's analysis of this account")
        buttons.addWidget(self.propose_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(self.form_widget)

        for w in (self.name, self.purpose, self.owner, self.actions, self.scopes, self.consumers):
            w.textEdited.connect(self._store_current)
        for c in (self.delegation, self.credential):
            c.currentIndexChanged.connect(self._store_current)
        self.lifetime.currentTextChanged.connect(self._store_current)
        self._refresh_list()

    # -- data ----------------------------------------------------------------------------
    def set_agents(self, agents: list[dict[str, Any]]) -> None:
        self._agents = [dict(new_agent(i + 1, self.base_name), **a) for i, a in enumerate(agents)]
        self._refresh_list()
        self.changed.emit()

    def agents(self) -> list[dict[str, Any]]:
        return [dict(a) for a in self._agents]

    def add_agent(self) -> None:
        taken = {a["name"] for a in self._agents}
        i = len(self._agents) + 1
        while f"{self.base_name}-{i}" in taken:
            i += 1
        self._agents.append(new_agent(i, self.base_name))
        self._refresh_list(select=len(self._agents) - 1)
        self.changed.emit()

    def remove_agent(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._agents):
            del self._agents[row]
            self._refresh_list(select=min(row, len(self._agents) - 1))
            self.changed.emit()

    # -- widgets -------------------------------------------------------------------------
    def _refresh_list(self, select: int = 0) -> None:
        self._loading = True
        self.list.clear()
        for a in self._agents:
            self.list.addItem(f"{a['name']} — {a['delegation']}, {', '.join(a['action_classes']) or 'no action'}, "
                              f"{a['lifetime']}")
        self._loading = False
        self.form_widget.setEnabled(bool(self._agents))
        self.remove_button.setEnabled(bool(self._agents))
        if self._agents:
            self.list.setCurrentRow(max(0, select))
            self._show_agent(max(0, select))
        else:
            self._show_agent(-1)

    def _show_agent(self, row: int) -> None:
        if self._loading:
            return
        self._loading = True
        a = self._agents[row] if 0 <= row < len(self._agents) else new_agent(1, self.base_name)
        self.name.setText(a["name"])
        self.purpose.setText(a.get("purpose") or "")
        self.owner.setText(a.get("owner") or "")
        self.delegation.setCurrentText(a["delegation"])
        self.actions.setText(", ".join(a["action_classes"]))
        self.scopes.setText(", ".join(a["scopes"]))
        self.credential.setCurrentText(a["credential"])
        self.lifetime.setCurrentText(a["lifetime"])
        self.consumers.setText(", ".join(a["consumers"]))
        self._loading = False

    def _store_current(self, *_args: Any) -> None:
        row = self.list.currentRow()
        if self._loading or not 0 <= row < len(self._agents):
            return
        a = self._agents[row]
        a.update(name=self.name.text().strip(), purpose=self.purpose.text().strip(),
                 owner=self.owner.text().strip() or None, delegation=self.delegation.currentText(),
                 action_classes=_split_list(self.actions.text()), scopes=_split_list(self.scopes.text()),
                 credential=self.credential.currentText(), lifetime=self.lifetime.currentText().strip(),
                 consumers=_split_list(self.consumers.text()))
        item = self.list.item(row)
        if item is not None:
            item.setText(f"{a['name']} — {a['delegation']}, {', '.join(a['action_classes']) or 'no action'}, "
                         f"{a['lifetime']}")
        self.changed.emit()
