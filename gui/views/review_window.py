"""Review mode for a change board: an exported plan, read-only, its integrity, and a diff.

Opens a plan file (the canonical YAML), says plainly whether its integrity hash
holds (a plan edited after export fails), shows its waves and steps, and
compares it with another version: steps added, changed, moved to another wave
and removed are highlighted in the tree, and the diff report (core's words)
sits beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from nhiplan.core import services

from ..error_dialog import show_error
from ..settings import Settings
from .playbook_view import HIGHLIGHTS, PlanBrowser

OK_STYLE = "background-color:#2e7d32; color:#ffffff; padding:6px; font-weight:bold"
FAIL_STYLE = "background-color:#c62828; color:#ffffff; padding:6px; font-weight:bold"


class ReviewWindow(QMainWindow):
    compared = Signal(str)  # the diff's headline

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("reviewWindow")
        self.settings = settings
        self.path: str | None = None
        self.doc: dict[str, Any] | None = None
        self.integrity: tuple[bool, str] | None = None
        self.other_path: str | None = None
        self.diff: Any = None
        self.last_error: BaseException | None = None
        self.resize(1200, 800)

        self.banner = QLabel("No plan open")
        self.banner.setObjectName("integrityBanner")
        self.banner.setWordWrap(True)
        self.compare_button = QPushButton("Compare with an earlier version…")
        self.compare_button.setObjectName("compareButton")
        self.compare_button.clicked.connect(self.compare_dialog)
        self.compare_button.setShortcut(QKeySequence("Ctrl+D"))
        self.headline = QLabel()
        self.headline.setObjectName("diffHeadline")
        self.headline.setWordWrap(True)
        legend = QLabel("  ".join(f"<span style='background-color:{c}; color:#000'>&nbsp;{m}&nbsp;</span>"
                                  for m, c in HIGHLIGHTS.items()))
        legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend = legend
        legend.hide()
        self.browser = PlanBrowser()
        self.report = QTextBrowser()
        self.report.setObjectName("diffReport")
        self.browser.detail_tabs.addTab(self.report, "Changes")
        top = QHBoxLayout()
        top.addWidget(self.banner, 1)
        top.addWidget(self.compare_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addLayout(top)
        layout.addWidget(self.headline)
        layout.addWidget(legend)
        layout.addWidget(self.browser, 1)
        self.setCentralWidget(body)
        self.compare_button.setEnabled(False)

    def open_plan(self, path: str) -> bool:
        try:
            doc = services.read_plan(path)
            integrity = services.verify_plan(path)
        except Exception as exc:
            self.last_error = exc
            show_error(self, "Cannot review this plan", exc)
            return False
        self.path, self.doc, self.integrity = path, doc, integrity
        ok, message = integrity
        self.banner.setText(("✔ " if ok else "✘ ") + message)
        self.banner.setStyleSheet(OK_STYLE if ok else FAIL_STYLE)
        self.setWindowTitle(f"Review: {Path(path).name} (read-only) — nhiplan")
        self.browser.show_document(doc)
        self.compare_button.setEnabled(True)
        self.headline.setText("")
        self.legend.hide()
        return True

    def compare_dialog(self) -> None:
        folder = str(Path(self.path).parent) if self.path else ""
        other, _ = QFileDialog.getOpenFileName(self, "Compare with an earlier version", folder,
                                               "Plan files (*.yaml *.yml);;All files (*)")
        if other:
            self.compare_with(other)

    def compare_with(self, older_path: str) -> bool:
        """Diff the open plan (the new version) against `older_path` (the one approved before)."""
        if self.doc is None or self.path is None:
            return False
        try:
            older = services.read_plan(older_path)
            diff, report = services.diff_plans(older, self.doc, Path(older_path).name, Path(self.path).name)
        except ImportError:
            self.headline.setText("Comparing plans needs the diff module, which this build lacks.")
            return False
        except Exception as exc:
            self.last_error = exc
            show_error(self, "Cannot compare", exc)
            return False
        self.other_path, self.diff = older_path, diff
        marks: dict[str, str] = {}
        for m in diff.waves_moved:
            marks[m.id] = "moved"
        for c in diff.steps_changed:
            marks[c.id] = "changed"
        for a in diff.steps_added:
            marks[a.id] = "added"
        removed_ids = {r.id for r in diff.steps_removed}
        removed = [dict(s, title=f"(removed) {s['title']}") for s in older.get("steps", []) if s["id"] in removed_ids]
        for sid in removed_ids:
            marks[sid] = "removed"
        self.browser.show_document(self.doc, marks, removed)
        # Qt's Markdown reader drops a table row's cells after an inline <br>: keep them on one line.
        self.report.setMarkdown(report.replace("<br>", " · "))
        self.headline.setText(f"<b>Compared with {Path(older_path).name}:</b> {diff.headline()}")
        self.legend.setVisible(bool(marks))
        self.browser.detail_tabs.setCurrentWidget(self.report)
        self.compared.emit(diff.headline())
        return True
