"""The playbook tab: waves → steps, a step's detail with its artifacts, findings, a rendered preview.

`PlanBrowser` shows any plan document (the canonical dict: freshly generated,
or an exported file opened for review) and can highlight steps by id, which
the review window uses for a diff. `PlaybookView` adds generation and export
around it, and says when the plan is older than the latest decision.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nhiplan.core import services

from ..workers import LatestOnly, Op

STEP_ID_ROLE = Qt.ItemDataRole.UserRole + 1
RISK_COLOURS = {"high": "#c62828", "medium": "#e65100", "low": "#2e7d32"}
HIGHLIGHTS = {"added": "#c8e6c9", "changed": "#fff3c4", "removed": "#ffcdd2", "moved": "#e1f5fe"}
PREVIEW_MAX_STEPS = 3000


class PlanBrowser(QWidget):
    """Waves and steps of one plan document, the selected step's detail, the findings."""

    step_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc: dict[str, Any] | None = None
        self.steps: dict[str, dict[str, Any]] = {}
        self.items: dict[str, QTreeWidgetItem] = {}
        self.marks: dict[str, str] = {}

        self.tree = QTreeWidget()
        self.tree.setObjectName("planTree")
        self.tree.setHeaderLabels(["Step", "Phase", "Protocol", "Risk", "Identity"])
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setStretchLastSection(False)
        for col, width in ((1, 90), (2, 80), (3, 60), (4, 150)):
            self.tree.setColumnWidth(col, width)
        self.tree.currentItemChanged.connect(self._current_changed)

        self.step_view = QTextBrowser()
        self.step_view.setObjectName("stepDetail")
        self.step_view.setOpenLinks(False)
        self.step_view.anchorClicked.connect(lambda url: self.select_step(url.toString().removeprefix("step:")))
        self.findings = QTreeWidget()
        self.findings.setObjectName("planFindings")
        self.findings.setHeaderLabels(["Severity", "Tag", "Subject", "Finding"])
        self.findings.setRootIsDecorated(False)
        self.findings.setWordWrap(True)
        self.findings.header().setStretchLastSection(True)
        self.detail_tabs = QTabWidget()
        self.detail_tabs.addTab(self.step_view, "Step")
        self.detail_tabs.addTab(self.findings, "Findings")

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.tree)
        self.splitter.addWidget(self.detail_tabs)
        self.splitter.setSizes([560, 520])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    # -- content -------------------------------------------------------------------------
    def show_document(self, doc: dict[str, Any] | None, marks: dict[str, str] | None = None,
                      extra_steps: list[dict[str, Any]] | None = None) -> None:
        """Show `doc`; `marks` step id -> added/changed/removed/moved; `extra_steps` removed steps to list."""
        self.doc = doc
        self.marks = dict(marks or {})
        self.tree.clear()
        self.items.clear()
        self.findings.clear()
        self.steps = {s["id"]: s for s in (doc or {}).get("steps", [])}
        if doc is None:
            self.step_view.setHtml("")
            return
        names = {i["key"]: i.get("name", i["key"]) for i in doc.get("identities", [])}
        waves: dict[int, QTreeWidgetItem] = {}
        for wave in doc.get("waves", []):
            note = f" — {wave['note']}" if wave.get("note") else ""
            item = QTreeWidgetItem([f"Wave {wave['wave']} ({len(wave['steps'])} steps, "
                                    f"{len(wave['identities'])} identities){note}", "", "", "", ""])
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
            item.setFirstColumnSpanned(False)
            self.tree.addTopLevelItem(item)
            waves[wave["wave"]] = item
        all_steps = list(doc.get("steps", [])) + list(extra_steps or [])
        for s in all_steps:
            parent = waves.get(s.get("wave"))
            if parent is None:
                parent = QTreeWidgetItem([f"Wave {s.get('wave')}", "", "", "", ""])
                self.tree.addTopLevelItem(parent)
                waves[s.get("wave")] = parent
            ident = names.get(s["identity"], s["identity"]) + (f" → {s['agent']}" if s.get("agent") else "")
            item = QTreeWidgetItem([s["title"], s["phase"], s["protocol"], s["risk"], ident])
            item.setData(0, STEP_ID_ROLE, s["id"])
            item.setForeground(3, QBrush(QColor(RISK_COLOURS.get(s["risk"], "#757575"))))
            item.setToolTip(0, s["id"])
            mark = self.marks.get(s["id"])
            if mark:
                for col in range(5):
                    item.setBackground(col, QBrush(QColor(HIGHLIGHTS[mark])))
                    item.setForeground(col, QBrush(QColor("#000000")))
                item.setToolTip(0, f"{s['id']} ({mark})")
            if s["id"] not in self.steps:
                self.steps[s["id"]] = s
            parent.addChild(item)
            self.items[s["id"]] = item
        for i in range(self.tree.topLevelItemCount()):
            self.tree.topLevelItem(i).setExpanded(i < 3 or any(
                self.tree.topLevelItem(i).child(j).data(0, STEP_ID_ROLE) in self.marks
                for j in range(self.tree.topLevelItem(i).childCount())))
        for f in doc.get("findings", []):
            item = QTreeWidgetItem([f["severity"], f["tag"], names.get(f["subject"], f["subject"]), f["message"]])
            item.setForeground(0, QBrush(QColor(RISK_COLOURS.get(f["severity"], "#757575"))))
            item.setToolTip(3, f["message"])
            self.findings.addTopLevelItem(item)
        self.detail_tabs.setTabText(1, f"Findings ({len(doc.get('findings', []))})")
        self.step_view.setHtml(self._summary_html(doc))

    def select_step(self, step_id: str) -> bool:
        item = self.items.get(step_id)
        if item is None:
            return False
        self.tree.setCurrentItem(item)
        self.tree.scrollToItem(item)
        return True

    def _current_changed(self, item: QTreeWidgetItem | None, _previous: Any) -> None:
        step_id = item.data(0, STEP_ID_ROLE) if item is not None else None
        if step_id and step_id in self.steps:
            self.step_view.setHtml(self.step_html(self.steps[step_id]))
            self.detail_tabs.setCurrentWidget(self.step_view)
            self.step_selected.emit(step_id)

    def _summary_html(self, doc: dict[str, Any]) -> str:
        e = html.escape
        project = doc.get("project", {})
        summary = doc.get("summary", {})
        rows = "".join(f"<tr><td style='padding-right:10px'>{e(str(k).replace('_', ' '))}</td>"
                       f"<td>{e(str(v))}</td></tr>" for k, v in summary.items() if not isinstance(v, dict))
        return (f"<h2>{e(str(project.get('name', 'Plan')))}</h2>"
                f"<p>{e(str(project.get('client', '')))}</p><table>{rows}</table>"
                "<p>Select a step to see what it does, why it comes where it does, how to verify and roll "
                "it back, and its artifacts.</p>")

    def step_html(self, s: dict[str, Any]) -> str:
        e = html.escape
        mark = self.marks.get(s["id"])
        head = f"<h3>{e(s['title'])}</h3><p><code>{e(s['id'])}</code>"
        if mark:
            head += (f" <span style='background-color:{HIGHLIGHTS[mark]}; color:#000'>&nbsp;{e(mark)}"
                     "&nbsp;</span>")
        head += "</p>"
        facts = (f"<p>Wave {s.get('wave')} · {e(s['phase'])} · {e(s['protocol'])} · risk "
                 f"<b style='color:{RISK_COLOURS.get(s['risk'], '#757575')}'>{e(s['risk'])}</b> · owner "
                 f"{e(s.get('owner', ''))}</p>")
        parts = [head, facts, f"<p>{e(s.get('description', ''))}</p>"]
        if s.get("depends_on"):
            items = []
            for dep, why in zip(s["depends_on"], s.get("because") or [""] * len(s["depends_on"]), strict=False):
                title = self.steps.get(dep, {}).get("title", dep)
                items.append(f"<li><a href='step:{e(dep)}'>{e(title)}</a> — {e(why)}</li>")
            parts.append(f"<h4>Comes after</h4><ul>{''.join(items)}</ul>")
        parts.append(f"<h4>Verification</h4><p>{e(s.get('verification', ''))}</p>")
        parts.append(f"<h4>Rollback</h4><p>{e(s.get('rollback', ''))}</p>")
        for a in s.get("artifacts", []):
            title = a.get("title") or a["kind"]
            parts.append(f"<h4>{e(title)} <small>({e(a['media_type'])})</small></h4>"
                         f"<pre style='white-space:pre-wrap'>{e(a['content'])}</pre>")
        return "".join(parts)


class PlaybookView(QWidget):
    """The Playbook tab of the main window."""

    generate_requested = Signal()
    export_requested = Signal()
    preview_rendered = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("playbookView")
        self.doc: dict[str, Any] | None = None
        self._previews = LatestOnly(self)
        self.generate_button = QPushButton("Generate plan")
        self.generate_button.setObjectName("generateButton")
        self.generate_button.clicked.connect(self.generate_requested)
        self.export_button = QPushButton("Export…")
        self.export_button.setObjectName("exportButton")
        self.export_button.clicked.connect(self.export_requested)
        self.status = QLabel("No plan generated yet: record some decisions, then Generate.")
        self.status.setObjectName("playbookStatus")
        self.preview_format = QComboBox()
        self.preview_format.setObjectName("previewFormat")
        self.preview_format.addItems(["Markdown", "HTML"])
        self.preview_format.currentIndexChanged.connect(lambda _i: self.render_preview())
        top = QHBoxLayout()
        top.addWidget(self.generate_button)
        top.addWidget(self.export_button)
        top.addWidget(self.status, 1)

        self.browser = PlanBrowser()
        self.preview = QTextBrowser()
        self.preview.setObjectName("planPreview")
        preview_box = QWidget()
        pl = QVBoxLayout(preview_box)
        pl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Rendered as"))
        row.addWidget(self.preview_format)
        row.addStretch(1)
        pl.addLayout(row)
        pl.addWidget(self.preview)
        self.browser.detail_tabs.addTab(preview_box, "Preview")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.browser, 1)
        self.export_button.setEnabled(False)

    def clear(self) -> None:
        self.doc = None
        self.browser.show_document(None)
        self.preview.clear()
        self.export_button.setEnabled(False)
        self.status.setText("No plan generated yet: record some decisions, then Generate.")

    def show_plan(self, doc: dict[str, Any], target: str) -> None:
        self.doc = doc
        self.browser.show_document(doc)
        summary = doc.get("summary", {})
        self.status.setText(f"{summary.get('steps', len(doc.get('steps', [])))} steps in "
                            f"{summary.get('waves', len(doc.get('waves', [])))} waves for "
                            f"{len(doc.get('identities', []))} identities · target {target} · "
                            f"{len(doc.get('findings', []))} findings")
        self.export_button.setEnabled(True)
        self.render_preview()

    def mark_stale(self) -> None:
        if self.doc is not None and "out of date" not in self.status.text():
            self.status.setText("Decisions changed since this plan was generated — Generate again. "
                                + self.status.text())

    def render_preview(self) -> Op | None:
        """Render the preview in a worker: a large plan's Markdown takes longer than a frame."""
        if self.doc is None:
            return None
        if len(self.doc.get("steps", [])) > PREVIEW_MAX_STEPS:
            self.preview.setPlainText(f"This plan has {len(self.doc['steps']):,} steps: too many to preview here. "
                                      "Export it and open the file instead.")
            return None
        fmt = "md" if self.preview_format.currentIndex() == 0 else "html"
        doc = self.doc
        self.preview.setPlainText("Rendering…")

        def done(data: bytes) -> None:
            if self.doc is not doc:
                return
            if fmt == "md":
                self.preview.setMarkdown(data.decode("utf-8"))
            else:
                self.preview.setHtml(data.decode("utf-8"))
            self.preview_rendered.emit(fmt)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ImportError):
                self.preview.setPlainText("Rendered previews need the plan renderers, which this build lacks.")
            else:  # a renderer's refusal is shown where the preview would be
                self.preview.setPlainText(f"The preview could not be rendered: {exc}")

        return self._previews.run("preview", lambda ctx: services.render_plan_document(doc, fmt), done, failed)
