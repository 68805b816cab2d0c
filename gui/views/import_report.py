"""What an import did, in words: per import run what came in, what was skipped and why."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

MAX_LISTED = 50


def import_report_html(summaries: list[Any]) -> str:
    e = html.escape
    parts = []
    for s in summaries:
        files = ", ".join(s.files) if getattr(s, "files", None) else ""
        parts.append(f"<h3>{e(s.source_kind)} — {e(s.origin)}</h3>")
        if files:
            parts.append(f"<p>From {e(files)}</p>")
        parts.append(
            "<table cellpadding='2'>"
            f"<tr><td>Identities</td><td align='right'><b>{s.identities}</b></td>"
            f"<td>({len(s.new)} new, {len(s.changed)} changed, {len(s.vanished)} vanished)</td></tr>"
            f"<tr><td>Other nodes</td><td align='right'>{s.nodes}</td><td>groups, hosts, applications</td></tr>"
            f"<tr><td>Edges</td><td align='right'>{s.edges}</td><td></td></tr>"
            f"<tr><td>Credentials</td><td align='right'>{s.credentials}</td><td>metadata only</td></tr>"
            f"<tr><td>Findings</td><td align='right'>{s.findings}</td><td></td></tr></table>")
        if s.needs_review:
            parts.append("<p><b>Decided identities to review</b> (they changed since the decision): "
                         + e(", ".join(s.needs_review[:MAX_LISTED]))
                         + (f" … and {len(s.needs_review) - MAX_LISTED} more" if len(s.needs_review) > MAX_LISTED
                            else "") + "</p>")
        if s.vanished:
            parts.append("<p><b>Vanished</b> (not in this import any more): " + e(", ".join(s.vanished[:MAX_LISTED]))
                         + "</p>")
        if s.warnings:
            items = "".join(f"<li>{e(w.source_record)}: {e(w.message)}</li>" for w in s.warnings[:MAX_LISTED])
            more = f"<li>… and {len(s.warnings) - MAX_LISTED} more</li>" if len(s.warnings) > MAX_LISTED else ""
            parts.append(f"<p><b>Skipped or warned ({len(s.warnings)})</b></p><ul>{items}{more}</ul>")
    skipped = [p for s in summaries for p in (getattr(s, "skipped", None) or [])]
    if skipped:
        items = "".join(f"<li>{e(p)}: format not recognised</li>" for p in skipped[:MAX_LISTED])
        parts.append(f"<p><b>Files skipped ({len(skipped)})</b></p><ul>{items}</ul>")
    return "".join(parts) or "<p>Nothing was imported.</p>"


class ImportReportDialog(QDialog):
    def __init__(self, summaries: list[Any], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("importReport")
        self.setWindowTitle("Import finished")
        self.resize(560, 420)
        self.browser = QTextBrowser()
        self.browser.setHtml(import_report_html(summaries))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.accept)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
