"""The main window: project, inventory, detail, graph, decisions, playbook, history.

Everything slow (opening a project, loading 100k rows, building the graph,
importing, generating and writing the plan) runs as an Op in a worker thread;
the window only wires results to views. Decision edits go through core and
then onto the undo stack; the history and audit docks show them.
"""

from __future__ import annotations

import gc
import html
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QByteArray, QStandardPaths, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QProgressDialog,
    QSplitter,
    QTabWidget,
    QTreeView,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from nhiplan.core import services

from .app import icon_path
from .child_process import recommendations_for, run_in_child
from .commands import DecisionCommand, describe_changes
from .error_dialog import show_error
from .models.audit_model import AuditModel
from .models.inventory_data import InventoryData
from .settings import Settings
from .views.decision_panel import DecisionPanel
from .views.detail_panel import DetailPanel
from .views.export_dialog import ExportDialog
from .views.graph_view import GraphView
from .views.import_report import ImportReportDialog
from .views.import_wizard import ImportWizard
from .views.inventory_view import InventoryView
from .views.playbook_view import PlaybookView
from .views.review_window import ReviewWindow
from .views.settings_dialog import SettingsDialog
from .workers import LatestOnly, Op, OpContext

PROJECT_FILTER = "nhiplan projects (*.nhiplan);;All files (*)"
AUDIT_LIMIT = 300
CHILD_PROCESS_ROWS = 5000  # from this many identities on, recommendations run in a child process


def recommendations_of(store: services.Store, ctx: OpContext, rows: int) -> dict[str, dict[str, Any]]:
    """Recommendations by key, when core's analysis offers them. On a large estate they are
    computed in a child process (gui/child_process.py: a thread would starve the UI thread);
    on a small one starting a process would cost more than the work."""
    if not hasattr(services, "recommendations"):
        return {}
    if rows >= CHILD_PROCESS_ROWS:
        items = run_in_child(recommendations_for, (store.url,), ctx.is_cancelled)
    else:
        items = services.recommendations(store)
    return {r["key"]: r for r in items if isinstance(r, dict) and r.get("key")}


class MainWindow(QMainWindow):
    project_loaded = Signal(str)  # path, after the inventory is shown
    graph_loaded = Signal()
    recommendations_loaded = Signal()
    inventory_reloaded = Signal()
    plan_generated = Signal(dict)
    audit_refreshed = Signal()
    decision_recorded = Signal(list)  # keys whose decision changed (empty: nothing changed)
    detail_shown = Signal(str)
    analysis_shown = Signal(str)
    import_finished = Signal(list)
    plan_written = Signal(list)
    busy_changed = Signal(bool)

    def __init__(self, settings: Settings | None = None):
        super().__init__()
        self.setObjectName("mainWindow")
        self.settings = settings or Settings()
        self.store: services.Store | None = None
        self.project_path: str | None = None
        self.project_info: dict[str, str] = {}
        self.graph = None
        self.ops: dict[str, Op] = {}
        self.last_error: BaseException | None = None
        self.light_pool = QThreadPool(self)  # quick reads never queue behind an import or a graph build
        self.light_pool.setMaxThreadCount(1)
        self.analysis_pool = QThreadPool(self)  # an identity's analysis never delays the next detail
        self.analysis_pool.setMaxThreadCount(1)
        self.details = LatestOnly(self)
        self.analyses = LatestOnly(self)
        self.audits = LatestOnly(self)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        self.setAcceptDrops(True)
        self.resize(1400, 860)
        self._build_views()
        self._build_actions()
        self._build_docks()
        self._restore_window_state()
        self._show_docks(False)
        self._update_title()
        self._update_actions()

    # -- building ------------------------------------------------------------------------
    def _build_views(self) -> None:
        self.inventory = InventoryView(self.settings)
        self.inventory.selection_changed.connect(self._selection_changed)
        self.detail = DetailPanel()
        self.detail.expiring_days = self.settings.get("inventory/expiring_within_days")
        self.detail.link_activated.connect(self.navigate_to)
        self.graph_view = GraphView()
        self.graph_view.set_hops(self.settings.get("graph/hops"))
        self.graph_view.node_activated.connect(self._graph_node_activated)
        self.decision_panel = DecisionPanel()
        self.decision_panel.apply_requested.connect(self.apply_decision)
        self.decision_panel.propose_requested.connect(self.propose_agents)

        self.side_tabs = QTabWidget()
        self.side_tabs.setObjectName("sideTabs")
        self.side_tabs.addTab(self.detail, "Details")
        self.side_tabs.addTab(self.graph_view, "Graph")
        self.side_splitter = QSplitter(Qt.Orientation.Vertical)
        self.side_splitter.addWidget(self.side_tabs)
        self.side_splitter.addWidget(self.decision_panel)
        self.side_splitter.setSizes([520, 300])
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.setObjectName("mainSplitter")
        self.main_splitter.addWidget(self.inventory)
        self.main_splitter.addWidget(self.side_splitter)
        self.main_splitter.setStretchFactor(0, 3)
        self.main_splitter.setStretchFactor(1, 2)
        self.main_splitter.setSizes([840, 560])

        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.main_splitter, "Inventory")
        self.playbook = self._make_playbook_view()
        self.tabs.addTab(self.playbook, "Playbook")
        self.welcome = self._make_welcome()
        self.tabs.hide()
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.welcome)
        layout.addWidget(self.tabs)
        self.setCentralWidget(holder)

        self.status_label = QLabel("No project open")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress_bar)

    def _make_playbook_view(self) -> PlaybookView:
        view = PlaybookView()
        view.generate_requested.connect(self.generate_plan)
        view.export_requested.connect(self.export_plan_dialog)
        return view

    def _make_welcome(self) -> QWidget:
        w = QLabel()
        w.setObjectName("welcome")
        w.setAlignment(Qt.AlignmentFlag.AlignCenter)
        w.setTextFormat(Qt.TextFormat.RichText)
        w.setOpenExternalLinks(False)
        w.linkActivated.connect(self._welcome_link)
        self._fill_welcome(w)
        return w

    def _fill_welcome(self, w: QLabel) -> None:
        recent = self.settings.get("projects/recent")
        e = html.escape
        rows = "".join(f"<tr><td><a href='open:{e(p)}'>{e(Path(p).name)}</a></td>"
                       f"<td style='padding-left:12px'><small>{e(str(Path(p).parent))}</small></td></tr>"
                       for p in recent[:8])
        w.setText(
            f"<img src='{e(icon_path())}' width='96' height='96'>"
            "<h1>nhiplan</h1><p>Move service accounts onto first-class agent identities:<br>"
            "import what exists, decide split / keep / retire, export a dependency-ordered playbook.</p>"
            "<p style='font-size:large'><a href='new'>Create a project…</a> &nbsp; · &nbsp; "
            "<a href='open'>Open a project…</a></p>"
            + (f"<p><b>Recent projects</b></p><table align='center'>{rows}</table>" if rows else "")
            + "<p><small>Or drop a project file on this window. Try the sample estate with "
              "<code>nhiplan demo --gui</code>.</small></p>")

    def _welcome_link(self, link: str) -> None:
        if link == "new":
            self.new_project_dialog()
        elif link == "open":
            self.open_project_dialog()
        elif link.startswith("open:"):
            self.open_project_path(link[5:])

    def _build_actions(self) -> None:
        def action(text: str, slot, shortcut=None, name: str = "", tip: str = "") -> QAction:
            a = QAction(text, self)
            if shortcut is not None:
                a.setShortcut(shortcut)
            a.triggered.connect(slot)
            a.setObjectName(name)
            if tip:
                a.setStatusTip(tip)
            return a

        S = QKeySequence.StandardKey
        self.new_action = action("&New project…", self.new_project_dialog, S.New, "newProject")
        self.open_action = action("&Open project…", self.open_project_dialog, S.Open, "openProject")
        self.close_action = action("&Close project", self.close_project, S.Close, "closeProject")
        self.import_action = action("&Import…", self.import_dialog, QKeySequence("Ctrl+I"), "importFiles",
                                    "Import export files or pull from a live directory")
        self.generate_action = action("&Generate plan", self.generate_plan, QKeySequence("Ctrl+G"), "generatePlan")
        self.export_action = action("&Export plan…", self.export_plan_dialog, QKeySequence("Ctrl+E"), "exportPlan")
        self.review_action = action("&Review a plan…", self.review_plan_dialog, QKeySequence("Ctrl+R"),
                                    "reviewPlan", "Open an exported plan read-only, verify and diff it")
        self.settings_action = action("Se&ttings…", self.settings_dialog, S.Preferences, "settings")
        self.quit_action = action("&Quit", self.close, S.Quit, "quit")
        # Fixed labels (the toolbar must not jump); what would be undone is in the tooltip and History.
        self.undo_action = action("&Undo", self.undo_stack.undo, S.Undo, "undo")
        self.redo_action = action("&Redo", self.undo_stack.redo, S.Redo, "redo")
        self.undo_stack.canUndoChanged.connect(self._update_undo_actions)
        self.undo_stack.canRedoChanged.connect(self._update_undo_actions)
        self.undo_stack.undoTextChanged.connect(lambda t: self.undo_action.setToolTip(f"Undo {t}" if t else "Undo"))
        self.undo_stack.redoTextChanged.connect(lambda t: self.redo_action.setToolTip(f"Redo {t}" if t else "Redo"))
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        self.find_action = action("&Find", self._focus_search, S.Find, "find")
        self.about_action = action("&About nhiplan", self.about, None, "about")

        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.new_action)
        menu.addAction(self.open_action)
        self.recent_menu = menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        menu.addAction(self.close_action)
        menu.addSeparator()
        menu.addAction(self.import_action)
        menu.addAction(self.generate_action)
        menu.addAction(self.export_action)
        menu.addAction(self.review_action)
        menu.addSeparator()
        menu.addAction(self.settings_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)
        edit = self.menuBar().addMenu("&Edit")
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)
        edit.addSeparator()
        edit.addAction(self.find_action)
        self.view_menu = self.menuBar().addMenu("&View")
        self.view_menu.addAction(self.inventory.columns_button.menu().menuAction())
        self.inventory.columns_button.menu().setTitle("&Columns")
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.about_action)

        bar = self.addToolBar("Main")
        bar.setObjectName("mainToolbar")
        for a in (self.open_action, self.import_action, self.undo_action, self.redo_action, self.generate_action,
                  self.export_action, self.review_action):
            bar.addAction(a)

    def _build_docks(self) -> None:
        self.history_view = QUndoView(self.undo_stack)
        self.history_view.setObjectName("historyView")
        self.history_view.setEmptyLabel("(project opened)")
        dock = QDockWidget("History", self)
        dock.setObjectName("historyDock")
        dock.setWidget(self.history_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.history_dock = dock

        self.audit_model = AuditModel(self)
        self.audit_tree = QTreeView()
        self.audit_tree.setObjectName("auditLog")
        self.audit_tree.setModel(self.audit_model)
        self.audit_tree.setRootIsDecorated(False)
        self.audit_tree.setUniformRowHeights(True)
        self.audit_tree.setAlternatingRowColors(True)
        dock = QDockWidget("Audit log", self)
        dock.setObjectName("auditDock")
        dock.setWidget(self.audit_tree)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.audit_dock = dock
        self.tabifyDockWidget(self.history_dock, self.audit_dock)
        self._show_docks(False)
        for d in (self.history_dock, self.audit_dock):
            self.view_menu.addAction(d.toggleViewAction())

    def _show_docks(self, visible: bool) -> None:
        """History and audit belong to a project: the welcome page has none."""
        for dock in (self.history_dock, self.audit_dock):
            dock.setVisible(visible)
        if visible:
            self.history_dock.raise_()

    # -- window state --------------------------------------------------------------------
    def _restore_window_state(self) -> None:
        geometry = self.settings.get("window/geometry")
        state = self.settings.get("window/state")
        if geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode()))
        if state:
            self.restoreState(QByteArray.fromBase64(state.encode()))
        splitter = self.settings.get("window/splitter")
        if splitter:
            self.main_splitter.restoreState(QByteArray.fromBase64(splitter.encode()))

    def save_window_state(self) -> None:
        self.settings.set("window/geometry", bytes(self.saveGeometry().toBase64()).decode())
        self.settings.set("window/state", bytes(self.saveState().toBase64()).decode())
        self.settings.set("window/splitter", bytes(self.main_splitter.saveState().toBase64()).decode())

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.is_busy("import"):
            answer = QMessageBox.question(self, "Import running",
                                          "An import is running. Cancel it and quit? Nothing of it is kept.")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.save_window_state()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Cancel and wait for background work, then close the project."""
        for op in list(self.ops.values()):
            op.cancel()
        for op in list(self.ops.values()):
            op.wait(30)
        for latest in (self.details, self.analyses, self.audits):
            if latest.current is not None:
                latest.current.wait(10)
        self.light_pool.waitForDone(10000)
        self.analysis_pool.waitForDone(10000)
        if self.store is not None:
            self.store.close()
            self.store = None

    # -- running ops ---------------------------------------------------------------------
    def run_op(self, name: str, label: str, fn, on_success, *, progress: bool = False, pool=None,
               setup=None, report_errors: bool = True) -> Op:
        """Run `fn(ctx)` in a worker; `setup(op)` connects more slots before it starts."""
        previous = self.ops.get(name)
        if previous is not None and not previous.done_event.is_set():
            previous.cancel()
        op = Op(name, fn, self)
        op.succeeded.connect(on_success)
        if report_errors:
            op.failed.connect(lambda exc: self._op_failed(label, exc))
        else:
            op.failed.connect(lambda exc: setattr(self, "last_error", exc))
        op.finished.connect(lambda: self._op_finished(name, op))
        if progress:
            op.progressed.connect(self._show_progress)
        if setup is not None:
            setup(op)
        self.ops[name] = op
        self.status_label.setText(label + "…")
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        self.busy_changed.emit(True)
        return op.start(pool)

    def _op_finished(self, name: str, op: Op) -> None:
        # An op counts as running until its `finished` signal is handled here, on the UI thread:
        # its worker may be done while its result signal still waits in the event queue.
        if self.ops.get(name) is op:
            del self.ops[name]
        if not self.ops:
            self.progress_bar.hide()
            self.busy_changed.emit(False)
        self._update_status()
        self._update_actions()

    def _op_failed(self, label: str, exc: BaseException) -> None:
        self.last_error = exc
        show_error(self, label, exc)

    def _show_progress(self, done: Any, total: Any, message: str) -> None:
        if total:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * min(done, total) / total))
        if message:
            self.status_label.setText(message)

    def is_busy(self, name: str | None = None) -> bool:
        return name in self.ops if name else bool(self.ops)

    # -- projects ------------------------------------------------------------------------
    def new_project_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Create project", self._last_folder("new.nhiplan"),
                                              PROJECT_FILTER)
        if not path:
            return
        if not path.endswith(".nhiplan"):
            path += ".nhiplan"
        name, ok = QInputDialog.getText(self, "Create project", "Project name:", text=Path(path).stem)
        if not ok:
            return
        client, ok = QInputDialog.getText(self, "Create project", "Client (optional, shown on the plan):")
        if not ok:
            return
        self.new_project_path(path, name.strip() or None, client.strip() or None)

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self._last_folder(), PROJECT_FILTER)
        if path:
            self.open_project_path(path)

    def new_project_path(self, path: str, name: str | None = None, client: str | None = None) -> Op:
        def work(ctx: OpContext):
            store = services.init_project(path, name=name, client=client)
            return self._inventory_loader(store)(ctx)
        return self.run_op("project", "Creating project", work, lambda r: self._project_ready(path, r))

    def open_project_path(self, path: str) -> Op:
        def work(ctx: OpContext):
            store = services.open_project(path)
            try:
                return self._inventory_loader(store)(ctx)
            except BaseException:
                store.close()
                raise
        return self.run_op("project", "Opening project", work, lambda r: self._project_ready(path, r))

    def _inventory_loader(self, store: services.Store, recs: dict[str, dict[str, Any]] | None = None):
        """A work function that reads the inventory and prepares it (all O(rows) work off the UI thread)."""
        include_people = self.settings.get("inventory/show_people")
        thresholds = {"stale_days": self.settings.get("inventory/stale_after_days"),
                      "expiring_days": self.settings.get("inventory/expiring_within_days")}

        def load(ctx: OpContext) -> dict[str, Any]:
            ctx.progress(0, None, "Loading the inventory")
            columns = services.inventory_columns(store, include_people=include_people)
            ctx.progress(1, 2, "Preparing the inventory")
            data = InventoryData(columns, recs, **thresholds).prepare()
            return {"store": store, "info": store.info(), "data": data}
        return load

    def _project_ready(self, path: str, result: dict[str, Any]) -> None:
        self._close_store()
        self.store = result["store"]
        self.project_path = str(Path(path).resolve()) if "://" not in path else path
        self.project_info = result["info"]
        self.undo_stack.clear()
        self.inventory.load(result["data"])
        self.detail.show_placeholder()
        self.decision_panel.set_selection([], None, {})
        self.welcome.hide()
        self.tabs.show()
        self._show_docks(True)
        self.playbook.clear()
        self.settings.add_recent_project(self.project_path)
        if "://" not in self.project_path:
            self.settings.set("paths/last_folder", str(Path(self.project_path).parent))
        self._update_title()
        self._update_actions()
        self.refresh_audit()
        self.freeze_long_lived()
        self.load_graph()
        self.load_recommendations()
        self.project_loaded.emit(self.project_path)

    def _close_store(self) -> None:
        if self.store is not None:
            self.store.close()
        self.store = None
        self.graph = None
        gc.unfreeze()  # what was frozen may now be garbage; let the collector see it again

    @staticmethod
    def freeze_long_lived() -> None:
        """Move everything alive now (the inventory, the graph) out of the cyclic collector's scans.

        They live as long as the project is open; scanning them on every full collection is what
        stalls the UI on a large estate.
        """
        gc.freeze()

    def close_project(self) -> None:
        if self.is_busy("import"):
            return
        self._close_store()
        self.project_path = None
        self.undo_stack.clear()
        self.inventory.load(InventoryData())
        self.tabs.hide()
        self._fill_welcome(self.welcome)
        self.welcome.show()
        self._show_docks(False)
        self._update_title()
        self._update_actions()

    def reload_inventory(self) -> Op | None:
        """Read the inventory again (after an import or a settings change), keeping the recommendations."""
        if self.store is None:
            return None
        store = self.store

        def done(result: dict[str, Any]) -> None:
            if self.store is store:
                self.inventory.load(result["data"])
                self.freeze_long_lived()
                self.graph_view.update_decisions(self.inventory.model.decisions())
                self._update_status()
                self.inventory_reloaded.emit()
        return self.run_op("inventory", "Loading the inventory",
                           self._inventory_loader(store, dict(self.inventory.model.inventory.recs)), done)

    def load_recommendations(self) -> Op | None:
        """Recommendations come after the rows (they take seconds on a large estate), when core has them."""
        if self.store is None or not hasattr(services, "recommendations"):
            return None
        store = self.store
        rows = self.inventory.model.rowCount()
        return self.run_op("recommendations", "Computing recommendations",
                           lambda ctx: recommendations_of(store, ctx, rows),
                           lambda recs: self._adopt_recommendations(store, recs))

    def _adopt_recommendations(self, store: services.Store, recs: dict[str, dict[str, Any]]) -> None:
        """Prepare the search texts, facet and sort keys that change with `recs` in a worker, then show them."""
        if self.store is not store:
            return
        model = self.inventory.model
        data = model.inventory
        changed = model.track_changes()  # rows decided while the worker runs are redone on adoption

        def done(parts: dict[str, Any]) -> None:
            model.stop_tracking(changed)
            if self.store is not store:
                return
            if model.inventory is not data:  # the inventory was reloaded meanwhile: prepare for it
                self._adopt_recommendations(store, recs)
                return
            self.inventory.adopt_recommendations(parts, changed)
            self.freeze_long_lived()
            self.recommendations_loaded.emit()
        self.run_op("recommendations", "Preparing the recommendations",
                    lambda ctx: data.recommendation_parts(recs), done)

    def load_graph(self) -> Op | None:
        if self.store is None:
            return None
        store = self.store
        self.graph = None
        self.graph_view.set_graph(None)

        def done(graph) -> None:
            if self.store is store:
                self.graph = graph
                self.graph_view.set_graph(graph, self.inventory.model.decisions())
                self.freeze_long_lived()
                self.graph_loaded.emit()
        return self.run_op("graph", "Building the identity graph", lambda ctx: services.load_graph(store), done)

    def _last_folder(self, name: str = "") -> str:
        folder = self.settings.get("paths/last_folder") or QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation)
        return str(Path(folder) / name) if name else folder

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.get("projects/recent")
        for path in recent:
            a = self.recent_menu.addAction(path)
            a.triggered.connect(lambda _=False, p=path: self.open_project_path(p))
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    # -- import --------------------------------------------------------------------------
    def import_dialog(self, files: list[str] | None = None) -> ImportWizard | None:
        if self.store is None or self.is_busy("import"):
            return None
        wizard = ImportWizard(self, self.settings, files=files)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.open()
        return wizard

    def start_import(self, paths: list[str], fmt: str = "auto", authority: str | None = None,
                     show_report: bool = True) -> Op | None:
        """Import files in a worker with a progress dialog that can cancel it."""
        if self.store is None:
            return None
        store = self.store
        dialog = QProgressDialog("Importing…", "Cancel", 0, 0, self)
        dialog.setObjectName("importProgress")
        dialog.setWindowTitle("Import")
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        self.import_progress = dialog

        def work(ctx: OpContext):
            return services.import_paths(store, paths, fmt=fmt, authority=authority, progress=ctx.progress,
                                         is_cancelled=ctx.is_cancelled)

        def progressed(done: Any, total: Any, message: str) -> None:
            if total:
                dialog.setMaximum(1000)
                dialog.setValue(int(1000 * min(done, total) / total))
            if message:
                dialog.setLabelText(message)

        def finished(summaries: list[Any]) -> None:
            self.import_finished.emit(summaries)
            self.reload_inventory()
            self.load_graph()
            self.load_recommendations()
            if show_report:
                ImportReportDialog(summaries, self).open()

        def setup(op: Op) -> None:
            op.progressed.connect(progressed)
            op.finished.connect(dialog.close)
            dialog.canceled.connect(op.cancel)

        op = self.run_op("import", "Importing", work, finished, progress=True, setup=setup)
        if Path(paths[0]).exists():
            self.settings.set("paths/last_folder", str(Path(paths[0]).resolve().parent))
        self._update_actions()
        return op

    def run_import(self, label: str, fn, on_success, setup=None, report_errors: bool = True) -> Op:
        """An import-like op (the import wizard's files or live pull): reloads the views on success.

        With report_errors=False the caller shows failures itself (the wizard does, on its page).
        """
        def finished(result: Any) -> None:
            self.reload_inventory()
            self.load_graph()
            self.load_recommendations()
            self.import_finished.emit(result if isinstance(result, list) else [result])
            on_success(result)
        op = self.run_op("import", label, fn, finished, progress=True, setup=setup, report_errors=report_errors)
        self._update_actions()
        return op

    # -- drag and drop -------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        projects = [p for p in paths if p.endswith(".nhiplan")]
        if projects:
            self.open_project_path(projects[0])
        elif self.store is not None:
            self.import_dialog(paths)

    # -- selection, detail, navigation ---------------------------------------------------
    def _selection_changed(self, keys: list[str]) -> None:
        model = self.inventory.model
        if len(keys) == 1:
            self.show_detail(keys[0])
            if self.graph is not None:
                self.graph_view.show_node(keys[0])
            else:
                self.graph_view.centre = keys[0]
        elif keys:
            self.detail.show_placeholder(f"{len(keys)} identities selected. The decision below applies to all "
                                         "of them as one undoable step.")
            self.decision_panel.set_selection(keys, None, {k: model.name_of(k) for k in keys[:1]})
        else:
            self.detail.show_placeholder()
            self.decision_panel.set_selection([], None, {})

    def show_detail(self, key: str) -> Op | None:
        """The identity's detail in a worker; then, when core has it, its analysis in a second one
        (seconds on a large estate), so the facts show at once and the analysis follows."""
        if self.store is None:
            return None
        store = self.store
        graph = self.graph

        def work(ctx: OpContext):
            return services.identity_detail(store, key), services.audit_log(store, subject=key, limit=20)

        def done(result) -> None:
            detail, audit = result
            rec = self.inventory.model.recommendation(detail["key"])
            self.detail.show_identity(detail, rec, audit)
            if self.inventory.selected_keys()[:1] == [detail["key"]] or not self.inventory.selected_keys():
                self.decision_panel.set_selection([detail["key"]], detail["decision"], {detail["key"]: detail["name"]},
                                                  rec)
            self.detail_shown.emit(detail["key"])
            if graph is not None and hasattr(services, "analyse_identity") and detail["kind"] != "person":
                self.analyses.run("analysis", lambda ctx: services.analyse_identity(store, key, graph),
                                  lambda analysis: self._show_analysis(detail, audit, analysis),
                                  lambda exc: self._op_failed("Analysis", exc), pool=self.analysis_pool)
            else:
                self.analyses.run("analysis", lambda ctx: None, lambda _none: None, lambda _exc: None,
                                  pool=self.analysis_pool)  # supersedes an analysis still running

        return self.details.run("detail", work, done, lambda exc: self._op_failed("Identity detail", exc),
                                pool=self.light_pool)

    def _show_analysis(self, detail: dict[str, Any], audit: list[dict[str, Any]], analysis: dict[str, Any]) -> None:
        if self.detail.current_key != detail["key"]:
            return
        rec = analysis.get("recommendation") or self.inventory.model.recommendation(detail["key"])
        self.detail.show_identity(detail, rec, audit, analysis)
        self.analysis_shown.emit(detail["key"])

    def navigate_to(self, key: str) -> None:
        """Follow a link: an identity is selected in the table; any node centres the graph."""
        if self.inventory.model.row_of(key) is not None:
            self.inventory.reveal(key)
        elif self.graph is not None:
            self.graph_view.show_node(key)
            self.side_tabs.setCurrentWidget(self.graph_view)

    def _graph_node_activated(self, key: str, is_identity: bool) -> None:
        if is_identity and self.inventory.model.row_of(key) is not None:
            self.inventory.reveal(key)

    def _focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.inventory.search.setFocus()
        self.inventory.search.selectAll()

    # -- decisions -----------------------------------------------------------------------
    def apply_decision(self, keys: list[str], decision: str, reason: str, agents: list[dict[str, Any]],
                       rotation: dict[str, str] | None) -> Op | None:
        """Record a decision through core, in a worker; on success it becomes one undo step.

        Even one decision is written off the UI thread: a write may wait for a long read of a
        background job (the graph, recommendations) to let go of the database.
        """
        if self.store is None or not keys:
            return None
        if self.is_busy("import") or self.is_busy("decisions"):
            QMessageBox.information(self, "Busy", "Decisions can be recorded when the running work finishes.")
            return None
        store = self.store
        include_people = self.settings.get("inventory/show_people")
        names = {k: self.inventory.model.name_of(k) for k in keys[:1]}

        def work(ctx: OpContext):
            if len(keys) == 1:
                changes = [services.decide(store, keys[0], decision, reason, agents=agents or None,
                                           rotation=rotation)]
            else:
                changes = services.decide_keys(store, keys, decision, reason)
            changed_keys = [c.key for c in changes if c.changed]
            return changes, services.inventory_columns(store, keys=changed_keys, include_people=include_people)

        def recorded(result) -> None:
            changes, columns = result
            changed = [c for c in changes if c.changed]
            if changed and self.store is store:
                command = DecisionCommand(lambda: self.store, changed, describe_changes(changed, names),
                                          self.decisions_changed, self._history_failed,
                                          run_async=self._restore_async)
                self.undo_stack.push(command)
                self.decisions_changed([c.key for c in changed], columns)
            self.decision_recorded.emit([c.key for c in changed])

        label = "Recording the decision" + (f" for {len(keys):,} identities" if len(keys) > 1 else "")
        op = self.run_op("decisions", label, work, recorded, report_errors=False,
                         setup=lambda op: op.failed.connect(lambda exc: show_error(self, "Decision not recorded",
                                                                                  exc)))
        self._update_actions()
        return op

    def _restore_async(self, states: list[tuple[str, dict[str, Any] | None]], on_done, on_error) -> None:
        """Undo or redo of a large edit: restore in a worker, then refresh (DecisionCommand calls this)."""
        store = self.store
        include_people = self.settings.get("inventory/show_people")

        def work(ctx: OpContext):
            services.restore_decisions(store, states)
            keys = [k for k, _state in states]
            return keys, services.inventory_columns(store, keys=keys, include_people=include_people)

        self.run_op("decisions", f"Restoring {len(states):,} decisions", work, lambda result: on_done(*result),
                    report_errors=False, setup=lambda op: op.failed.connect(on_error))
        self._update_actions()

    def _history_failed(self, exc: BaseException) -> None:
        """An undo or redo that core refused: the history no longer matches the project, so it is cleared."""
        self.last_error = exc
        self.undo_stack.clear()
        show_error(self, "Undo failed; the history was cleared", exc)
        if self.store is not None:
            self.reload_inventory()

    def decisions_changed(self, keys: list[str], columns: dict[str, list[Any]] | None = None) -> None:
        """Refresh what shows these identities' decisions: rows, detail, graph, audit."""
        if self.store is None:
            return
        if columns is None:
            columns = services.inventory_columns(self.store, keys=keys,
                                                 include_people=self.settings.get("inventory/show_people"))
        self.inventory.model.update_rows(columns)
        self.graph_view.update_decisions(dict(zip(columns["key"], columns["decision"], strict=True)))
        if self.detail.current_key in keys:
            self.show_detail(self.detail.current_key)
        self.playbook.mark_stale()
        self.refresh_audit()
        self._update_status()

    def propose_agents(self, key: str) -> None:
        fn = getattr(services, "propose_agents", None)
        if fn is None or self.store is None:
            return
        try:
            proposed = fn(self.store, key)
        except Exception as exc:
            show_error(self, "Split planner", exc)
            return
        agents = [p if isinstance(p, dict) else (p.as_dict() if hasattr(p, "as_dict") else vars(p))
                  for p in proposed or []]
        self.decision_panel.set_decision("split")
        self.decision_panel.agent_editor.set_agents(agents)

    def refresh_audit(self) -> Op | None:
        """Reload the audit dock in a worker (the UI thread never waits on the database)."""
        if self.store is None:
            self.audit_model.set_events([], str)
            return None
        store = self.store

        def done(events: list[dict[str, Any]]) -> None:
            if self.store is store:
                self.audit_model.set_events(events, self.inventory.model.name_of)
                self.audit_refreshed.emit()
        return self.audits.run("audit", lambda ctx: services.audit_log(store, limit=AUDIT_LIMIT), done,
                               lambda exc: self._op_failed("Audit log", exc), pool=self.light_pool)

    # -- plan ----------------------------------------------------------------------------
    def generate_plan(self) -> Op | None:
        if self.store is None:
            return None
        store = self.store
        target = self.settings.get("plan/target")

        def done(doc: dict[str, Any]) -> None:
            self.playbook.show_plan(doc, target)
            self.tabs.setCurrentWidget(self.playbook)
            self.plan_generated.emit(doc)
        return self.run_op("plan", "Generating the plan",
                           lambda ctx: services.plan_document_of(services.make_plan(store, target)), done)

    def export_plan_dialog(self) -> None:
        if self.store is None:
            return
        folder = str(Path(self.project_path).parent) if self.project_path and "://" not in self.project_path \
            else self._last_folder()
        dialog = ExportDialog(self.settings, self.project_info.get("name", "plan"), folder, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.export_plan(dialog.outputs(), dialog.target.currentText(), dialog.options())

    def export_plan(self, outputs: list[tuple[Path, str]], target: str = "generic",
                    options: dict[str, Any] | None = None) -> Op | None:
        """Make the plan and write it in each (path, format), in a worker."""
        if self.store is None:
            return None
        store = self.store

        def work(ctx: OpContext):
            plan = services.make_plan(store, target)
            written = []
            for i, (path, fmt) in enumerate(outputs):
                ctx.progress(i, len(outputs), f"Writing {Path(path).name}")
                written.append(services.write_plan(plan, path, fmt, options or {}))
            return written

        def done(paths: list[Path]) -> None:
            self.statusBar().showMessage("Plan written: " + ", ".join(str(p) for p in paths), 10000)
            self.plan_written.emit([str(p) for p in paths])
        return self.run_op("export", "Writing the plan", work, done, progress=True)

    def review_plan_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Review an exported plan", self._last_folder(),
                                              "Plan files (*.yaml *.yml);;All files (*)")
        if path:
            self.open_review(path)

    def open_review(self, path: str) -> ReviewWindow:
        window = ReviewWindow(self.settings)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.review_windows = [w for w in getattr(self, "review_windows", []) if w.isVisible()] + [window]
        window.open_plan(path)
        window.show()
        return window

    # -- settings and about --------------------------------------------------------------
    def settings_dialog(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_settings()

    def apply_settings(self) -> Op | None:
        self.detail.expiring_days = self.settings.get("inventory/expiring_within_days")
        self.graph_view.set_hops(self.settings.get("graph/hops"))
        return self.reload_inventory()  # thresholds and showing people change the prepared data

    def about(self) -> None:
        QMessageBox.about(self, "About nhiplan",
                          "<h3>nhiplan</h3><p>Plans the move of an organisation's service accounts onto "
                          "first-class AI-agent identities: split, keep or retire, then a dependency-ordered "
                          "migration playbook.</p>")

    # -- chrome --------------------------------------------------------------------------
    def _update_title(self) -> None:
        if self.project_path:
            name = self.project_info.get("name") or Path(self.project_path).stem
            client = self.project_info.get("client")
            self.setWindowTitle(f"{name}{' — ' + client if client else ''} — nhiplan")
            self.setWindowFilePath(self.project_path if "://" not in self.project_path else "")
        else:
            self.setWindowTitle("nhiplan")
        self._update_status()

    def _update_status(self) -> None:
        if self.is_busy():
            return
        if not self.project_path:
            self.status_label.setText("No project open")
            return
        model = self.inventory.model
        counts = model.facet_counts("decision") if model.rowCount() else {}
        undecided = counts.get("undecided", 0)
        self.status_label.setText(f"{model.rowCount():,} identities · {model.rowCount() - undecided:,} decided · "
                                  f"{undecided:,} to decide")

    def _update_actions(self) -> None:
        has_project = self.store is not None
        importing = self.is_busy("import")
        deciding = self.is_busy("decisions")
        for a in (self.close_action, self.generate_action, self.export_action):
            a.setEnabled(has_project and not importing)
        self.import_action.setEnabled(has_project and not importing and not deciding)
        self.decision_panel.setEnabled(has_project and not importing and not deciding)
        self._update_undo_actions()

    def _update_undo_actions(self, *_args: Any) -> None:
        if not shiboken6.isValid(self.undo_stack):  # the stack announces itself while being destroyed
            return
        deciding = self.is_busy("decisions")
        self.undo_action.setEnabled(self.undo_stack.canUndo() and not deciding)
        self.redo_action.setEnabled(self.undo_stack.canRedo() and not deciding)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.settings.get("window/state"):  # first start: a low history strip, not half the window
            self.resizeDocks([self.history_dock], [130], Qt.Orientation.Vertical)
        QTimer.singleShot(0, self._update_status)
