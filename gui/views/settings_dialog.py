"""Settings in one place: a form built from the settings registry (gui/settings.py).

Every user-facing setting appears here with its label, and nothing else does;
the app's own memory (window state, recent projects) is not shown. Secrets are
never settings: they live in the OS keyring.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nhiplan.core import services

from ..settings import Setting, Settings


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.settings = settings
        self.editors: dict[str, QWidget] = {}
        form = QFormLayout()
        for setting in settings.user_settings():
            editor = self._editor(setting, settings.get(setting.name))
            editor.setObjectName(setting.name)
            self.editors[setting.name] = editor
            form.addRow(setting.label, editor)
        note = QLabel("Passwords, client secrets and tokens are never stored here: they stay in the "
                      "system keyring or are asked for.")
        note.setWordWrap(True)
        note.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self.restore_defaults)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def _editor(self, setting: Setting, value: Any) -> QWidget:
        if setting.kind is bool:
            box = QCheckBox()
            box.setChecked(bool(value))
            return box
        if setting.kind is int:
            spin = QSpinBox()
            spin.setRange(setting.minimum, setting.maximum)
            spin.setValue(int(value))
            return spin
        choices = setting.choices or (services.plan_formats() if setting.name == "plan/format" else ())
        if choices:
            combo = QComboBox()
            combo.addItems(list(choices))
            combo.setCurrentText(str(value))
            return combo
        line = QLineEdit(str(value))
        return line

    def value_of(self, name: str) -> Any:
        editor = self.editors[name]
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox):
            return editor.value()
        if isinstance(editor, QComboBox):
            return editor.currentText()
        return editor.text().strip()  # type: ignore[union-attr]

    def restore_defaults(self) -> None:
        for setting in self.settings.user_settings():
            editor = self.editors[setting.name]
            if isinstance(editor, QCheckBox):
                editor.setChecked(bool(setting.default))
            elif isinstance(editor, QSpinBox):
                editor.setValue(int(setting.default))
            elif isinstance(editor, QComboBox):
                editor.setCurrentText(str(setting.default))
            elif isinstance(editor, QLineEdit):
                editor.setText(str(setting.default))

    def _accept(self) -> None:
        for name in self.editors:
            self.settings.set(name, self.value_of(name))
        self.accept()
