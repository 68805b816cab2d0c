"""The export dialog: which format(s), which target platform, where, and the branding.

Formats are whatever core's renderers offer (`services.plan_formats()`), so a
new renderer shows up here without a GUI change. Branding (author, logo,
version, date) is passed to the renderer as options; formats that have no use
for it ignore it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nhiplan.core import services

from ..settings import Settings

FORMAT_LABELS = {"yaml": "YAML (canonical, with integrity hash)", "md": "Markdown", "html": "HTML",
                 "pdf": "PDF", "csv": "CSV (steps)"}
SUFFIX = {"yaml": ".yaml", "md": ".md", "html": ".html", "pdf": ".pdf", "csv": ".csv"}
TARGETS = ("generic", "entra", "okta", "keycloak")


class ExportDialog(QDialog):
    def __init__(self, settings: Settings, project_name: str, folder: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export plan")
        self.settings = settings
        self.formats = services.plan_formats()
        stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in project_name.lower()).strip("-") or "plan"

        self.format_boxes: dict[str, QCheckBox] = {}
        formats_box = QGroupBox("Formats")
        fl = QVBoxLayout(formats_box)
        default = settings.get("plan/format")
        for fmt in self.formats:
            box = QCheckBox(FORMAT_LABELS.get(fmt, fmt))
            box.setObjectName(f"format_{fmt}")
            box.setChecked(fmt == default or (default not in self.formats and fmt == "yaml"))
            fl.addWidget(box)
            self.format_boxes[fmt] = box
        missing = [f for f in FORMAT_LABELS if f not in self.formats]
        if missing:
            note = QLabel("Not available in this build: " + ", ".join(missing))
            note.setEnabled(False)
            fl.addWidget(note)

        self.target = QComboBox()
        self.target.setObjectName("target")
        self.target.addItems(list(TARGETS))
        self.target.setCurrentText(settings.get("plan/target"))
        self.folder = QLineEdit(folder)
        self.folder.setObjectName("folder")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.basename = QLineEdit(f"{stem}-plan")
        self.basename.setObjectName("basename")

        brand = QGroupBox("Branding")
        bl = QFormLayout(brand)
        self.author = QLineEdit(settings.get("plan/author"))
        self.author.setObjectName("author")
        self.logo = QLineEdit(settings.get("plan/logo"))
        self.logo.setPlaceholderText("PNG or SVG shown on the title page")
        self.version = QLineEdit()
        self.version.setPlaceholderText("e.g. v3 for CAB 2026-12")
        self.date = QDateEdit(QDate.currentDate())
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        bl.addRow("Author", self.author)
        bl.addRow("Logo", self.logo)
        bl.addRow("Version", self.version)
        bl.addRow("Date", self.date)

        form = QFormLayout()
        form.addRow("Target platform", self.target)
        form.addRow("Folder", folder_row)
        form.addRow("File name", self.basename)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        self.error = QLabel()
        self.error.setObjectName("exportError")
        self.error.setStyleSheet("color: #c62828")
        layout = QVBoxLayout(self)
        layout.addWidget(formats_box)
        layout.addLayout(form)
        layout.addWidget(brand)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def selected_formats(self) -> list[str]:
        return [f for f, box in self.format_boxes.items() if box.isChecked()]

    def outputs(self) -> list[tuple[Path, str]]:
        folder = Path(self.folder.text()).expanduser()
        return [(folder / f"{self.basename.text().strip()}{SUFFIX.get(fmt, '.' + fmt)}", fmt)
                for fmt in self.selected_formats()]

    def options(self) -> dict[str, Any]:
        out: dict[str, Any] = {"date": self.date.date().toString("yyyy-MM-dd")}
        for key, widget in (("author", self.author), ("logo", self.logo), ("version", self.version)):
            if widget.text().strip():
                out[key] = widget.text().strip()
        return out

    def _accept(self) -> None:
        if not self.selected_formats():
            self.error.setText("Choose at least one format.")
            return
        if not self.basename.text().strip():
            self.error.setText("Give the file a name.")
            return
        if not Path(self.folder.text()).expanduser().is_dir():
            self.error.setText("That folder does not exist.")
            return
        self.settings.set("plan/target", self.target.currentText())
        self.settings.set("plan/author", self.author.text().strip())
        self.settings.set("plan/logo", self.logo.text().strip())
        if len(self.selected_formats()) == 1:
            self.settings.set("plan/format", self.selected_formats()[0])
        self.accept()
