"""The decision panel: split / keep / retire (or undecided) with a rationale.

For one identity it also edits the split's agent specs (the four axes) and the
rotation policy of a keep; for several selected identities it records one
decision for all of them (one undo step). It only asks: the main window calls
core and pushes the undo command, so the panel never writes anything itself.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from nhiplan.core import services

from .agent_spec_editor import AgentSpecEditor

DECISION_LABELS = {"split": "&Split into agents", "keep": "&Keep as service account", "retire": "&Retire",
                   "undecided": "&Undecided"}
ROTATION_EVERY = ("7d", "30d", "90d", "180d")


class DecisionPanel(QScrollArea):
    """Emits `apply_requested(keys, decision, reason, agents, rotation)`."""

    apply_requested = Signal(list, str, str, list, object)
    propose_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("decisionPanel")
        self.setWidgetResizable(True)
        self.keys: list[str] = []
        self.recommendation: dict[str, Any] | None = None
        vocab = services.decision_vocabulary()

        body = QWidget()
        layout = QVBoxLayout(body)
        self.title = QLabel("Select identities to decide on.")
        self.title.setObjectName("decisionTitle")
        self.title.setWordWrap(True)
        layout.addWidget(self.title)

        self.group = QButtonGroup(self)
        grid = QGridLayout()
        self.buttons: dict[str, QRadioButton] = {}
        for i, decision in enumerate(vocab["decisions"]):
            button = QRadioButton(DECISION_LABELS.get(decision, decision))
            button.setObjectName(f"decision_{decision}")
            self.group.addButton(button)
            self.buttons[decision] = button
            grid.addWidget(button, i // 2, i % 2)
            button.toggled.connect(self._update_sections)
        layout.addLayout(grid)

        self.rec_label = QLabel()
        self.rec_label.setWordWrap(True)
        self.rec_label.setTextFormat(Qt.TextFormat.RichText)
        self.use_rec_button = QPushButton("Use recommendation")
        self.use_rec_button.setObjectName("useRecommendation")
        self.use_rec_button.clicked.connect(self.use_recommendation)
        rec_row = QHBoxLayout()
        rec_row.addWidget(self.rec_label, 1)
        rec_row.addWidget(self.use_rec_button)
        layout.addLayout(rec_row)

        layout.addWidget(QLabel("Rationale (why — shown to the change board):"))
        self.reason = QPlainTextEdit()
        self.reason.setObjectName("decisionReason")
        self.reason.setPlaceholderText("e.g. shared by four workloads; each gets its own agent identity")
        self.reason.setMaximumHeight(80)
        layout.addWidget(self.reason)

        self.agents_box = QGroupBox("Agents this split creates")
        agents_layout = QVBoxLayout(self.agents_box)
        self.agent_editor = AgentSpecEditor()
        self.agent_editor.propose_button.clicked.connect(lambda: self.keys and self.propose_requested.emit(
            self.keys[0]))
        agents_layout.addWidget(self.agent_editor)
        layout.addWidget(self.agents_box)

        self.rotation_box = QGroupBox("Credential rotation (keep)")
        rot = QFormLayout(self.rotation_box)
        self.rotation_every = QComboBox()
        self.rotation_every.setObjectName("rotationEvery")
        self.rotation_every.setEditable(True)
        self.rotation_every.addItems(list(ROTATION_EVERY))
        self.rotation_every.setCurrentText("30d")
        self.rotation_via = QComboBox()
        self.rotation_via.setObjectName("rotationVia")
        self.rotation_via.addItems(list(vocab["rotation_via"]))
        rot.addRow("Rotate every", self.rotation_every)
        rot.addRow("Via", self.rotation_via)
        layout.addWidget(self.rotation_box)

        self.apply_button = QPushButton("Apply decision")
        self.apply_button.setObjectName("applyDecision")
        self.apply_button.setDefault(True)
        self.apply_button.setToolTip("Record the decision (Ctrl+Return); undo with Ctrl+Z")
        self.apply_button.clicked.connect(self.apply)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.apply, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        apply_row = QHBoxLayout()
        apply_row.addStretch(1)
        apply_row.addWidget(self.apply_button)
        layout.addLayout(apply_row)
        layout.addStretch(1)
        self.setWidget(body)
        self.set_selection([], None, {})

    # -- what is shown -------------------------------------------------------------------
    def set_selection(self, keys: list[str], state: dict[str, Any] | None, names: dict[str, str],
                      recommendation: dict[str, Any] | None = None) -> None:
        """Show the decision of one identity (state from identity_detail), or a bulk form for several."""
        self.keys = list(keys)
        self.recommendation = recommendation
        enabled = bool(keys)
        for w in (self.reason, self.apply_button, *self.buttons.values()):
            w.setEnabled(enabled)
        if not keys:
            self.title.setText("Select identities to decide on.")
        elif len(keys) == 1:
            self.title.setText(f"<b>Decision for {names.get(keys[0], keys[0])}</b>")
        else:
            self.title.setText(f"<b>One decision for {len(keys)} selected identities</b> (one undo step)")
        state = state or {}
        decision = state.get("decision", "undecided") if len(keys) <= 1 else "undecided"
        self.buttons[decision].setChecked(True)
        self.reason.setPlainText(state.get("reason", "") if len(keys) <= 1 else "")
        base = names.get(keys[0], "agent") if keys else "agent"
        self.agent_editor.base_name = "".join(ch if ch.isalnum() or ch in "._-" else "-"
                                              for ch in base.lower().strip("$")).strip("-_.") or "agent"
        self.agent_editor.set_agents(state.get("agents") or [] if len(keys) == 1 else [])
        rotation = state.get("rotation") or {}
        self.rotation_every.setCurrentText(rotation.get("every", "30d"))
        self.rotation_via.setCurrentText(rotation.get("via", "vault"))
        if recommendation and recommendation.get("recommendation") and len(keys) == 1:
            reasons = recommendation.get("reasons") or []
            self.rec_label.setText(f"Recommended: <b>{recommendation['recommendation']}</b>"
                                   + (f" — {reasons[0]}" if reasons else ""))
            self.rec_label.show()
            self.use_rec_button.show()
        else:
            self.rec_label.hide()
            self.use_rec_button.hide()
        self.agent_editor.propose_button.setVisible(hasattr(services, "propose_agents"))
        self._update_sections()

    def decision(self) -> str:
        for decision, button in self.buttons.items():
            if button.isChecked():
                return decision
        return "undecided"

    def set_decision(self, decision: str) -> None:
        self.buttons[decision].setChecked(True)

    def _update_sections(self) -> None:
        single = len(self.keys) == 1
        self.agents_box.setVisible(single and self.decision() == "split")
        self.rotation_box.setVisible(single and self.decision() == "keep")

    def use_recommendation(self) -> None:
        rec = self.recommendation or {}
        if rec.get("recommendation") in self.buttons:
            self.buttons[rec["recommendation"]].setChecked(True)
            if not self.reason.toPlainText().strip():
                self.reason.setPlainText("; ".join(rec.get("reasons") or []))

    # -- asking to apply -----------------------------------------------------------------
    def apply(self) -> None:
        if not self.keys:
            return
        decision = self.decision()
        single = len(self.keys) == 1
        agents = self.agent_editor.agents() if single and decision == "split" else []
        rotation = ({"every": self.rotation_every.currentText().strip(), "via": self.rotation_via.currentText()}
                    if single and decision == "keep" else None)
        self.apply_requested.emit(list(self.keys), decision, self.reason.toPlainText().strip(), agents, rotation)
