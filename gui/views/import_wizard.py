"""The import wizard: export files (drag and drop too) or a live connection, with progress and a report.

Pages: what to import from → the files, or the connection (with a "Test
connection" step) → the import running (progress, cancel) → a report of what
was imported, skipped and why. Live sources light up when core offers them
(`services.pull_scim` / `pull_ldap` / `pull_entra` with `check_…` for the test):
a source core lacks in this build is shown, disabled, with the reason.
Secrets come from the OS keyring or the password field, and are never written
to settings, the project or a log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from nhiplan.core import services
from nhiplan.core.errors import Cancelled

from ..error_dialog import describe
from ..secret_store import keyring_available, load_secret, store_secret
from ..settings import Settings
from ..workers import Op, OpContext
from .import_report import import_report_html

if TYPE_CHECKING:
    from ..main_window import MainWindow

PAGE_SOURCE, PAGE_FILES, PAGE_CONNECTION, PAGE_RUN, PAGE_REPORT = range(5)


@dataclass(frozen=True)
class LiveSource:
    title: str
    fields: tuple[tuple[str, str, str], ...]  # (parameter, label, placeholder)
    secret_param: str
    secret_label: str
    pull: str  # the services function that imports
    check: str  # the services function that tests the connection (takes the fields as keywords)
    flags: tuple[tuple[str, str], ...] = ()  # boolean parameters (name, label)
    build: str | None = None  # a services function turning the fields into what `pull` takes


LIVE_SOURCES: dict[str, LiveSource] = {
    "ldap": LiveSource("Active Directory / LDAP directory",
                       (("url", "Server URL", "ldaps://dc01.corp.example.com"),
                        ("base", "Base DN", "DC=corp,DC=example,DC=com"),
                        ("bind_dn", "Bind DN", "CN=reader,OU=svc,DC=corp,DC=example,DC=com"),
                        ("filter", "Filter (optional)", "(objectClass=user)")),
                       "password", "Bind password", "pull_ldap", "check_ldap",
                       (("starttls", "Use StartTLS"), ("insecure", "Do not verify the certificate (unsafe)")),
                       build="ldap_source"),
    "entra": LiveSource("Microsoft Entra ID (Graph)",
                        (("tenant", "Tenant ID", "contoso.onmicrosoft.com"),
                         ("client_id", "Client ID", "00000000-0000-0000-0000-000000000000"),
                         ("authority", "Authority (optional)", "https://login.microsoftonline.com/<tenant>"),
                         ("graph_url", "Graph URL (optional)", "https://graph.microsoft.com/v1.0")),
                        "secret", "Client secret", "pull_entra", "check_entra"),
    "scim": LiveSource("SCIM 2.0 service",
                       (("url", "Base URL", "https://scim.example.com/v2"),),
                       "token", "Bearer token", "pull_scim", "check_scim"),
}


def live_available(source: str) -> bool:
    spec = LIVE_SOURCES[source]
    return all(hasattr(services, name) for name in (spec.pull, spec.check, spec.build) if name)


def pull_call(source: str, store: Any, args: dict[str, Any], ctx: OpContext) -> Any:
    """Call core's pull for `source` with the connection's fields (built into a source object where
    core takes one)."""
    spec = LIVE_SOURCES[source]
    pull = getattr(services, spec.pull)
    if spec.build:
        return pull(store, getattr(services, spec.build)(**args), progress=ctx.progress,
                    is_cancelled=ctx.is_cancelled)
    return pull(store, **args, progress=ctx.progress, is_cancelled=ctx.is_cancelled)


class FileDropList(QListWidget):
    """A list of files and folders that accepts drops from the file manager."""

    files_dropped = Signal(list)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)


class SourcePage(QWizardPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__()
        self.w = wizard
        self.setTitle("What do you want to import?")
        self.setSubTitle("Offline exports need no credentials; a live connection only reads, never writes.")
        self.group = QButtonGroup(self)
        layout = QVBoxLayout(self)
        self.buttons: dict[str, QRadioButton] = {}
        options = [("files", "Export files — LDIF, AD CSV, ldapdomaindump, Graph JSON, SCIM JSON (or a folder)")]
        options += [(k, f"Live: {s.title}") for k, s in LIVE_SOURCES.items()]
        for key, label in options:
            button = QRadioButton(label)
            button.setObjectName(f"source_{key}")
            if key != "files" and not live_available(key):
                button.setEnabled(False)
                button.setToolTip("Not available in this build of nhiplan yet")
                button.setText(label + "  (not available in this build)")
            self.group.addButton(button)
            self.buttons[key] = button
            layout.addWidget(button)
        self.buttons["files"].setChecked(True)
        layout.addStretch(1)

    def source(self) -> str:
        return next(k for k, b in self.buttons.items() if b.isChecked())

    def nextId(self) -> int:
        return PAGE_FILES if self.source() == "files" else PAGE_CONNECTION


class FilesPage(QWizardPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__()
        self.w = wizard
        self.setTitle("Export files")
        self.setSubTitle("Add files or a folder, or drop them here. Everything is imported in one transaction: "
                         "all of it lands, or none does.")
        self.list = FileDropList()
        self.list.setObjectName("importFiles")
        self.list.files_dropped.connect(self.add_paths)
        add_files = QPushButton("Add files…")
        add_files.clicked.connect(self._add_files)
        add_folder = QPushButton("Add folder…")
        add_folder.clicked.connect(self._add_folder)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove)
        buttons = QHBoxLayout()
        for b in (add_files, add_folder, remove):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.format = QComboBox()
        self.format.setObjectName("importFormat")
        self.format.addItem("Recognise automatically", "auto")
        for name, reads in services.import_formats():
            self.format.addItem(f"{name} — {reads}", name)
        self.format.currentIndexChanged.connect(lambda _i: self._preview())
        self.authority = QLineEdit()
        self.authority.setObjectName("importAuthority")
        self.authority.setPlaceholderText("from the data")
        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Domain or tenant", self.authority)
        self.preview = QLabel()
        self.preview.setObjectName("importPreview")
        self.preview.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addLayout(form)
        layout.addWidget(self.preview)
        self.setAcceptDrops(True)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.list.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.list.dropEvent(event)

    def paths(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def add_paths(self, paths: list[str]) -> None:
        have = set(self.paths())
        for p in paths:
            if p not in have:
                self.list.addItem(p)
                have.add(p)
        if paths:
            self.w.settings.set("paths/last_folder", str(Path(paths[0]).parent))
        self._preview()
        self.completeChanged.emit()

    def _add_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add export files", self.w.settings.get("paths/last_folder"))
        self.add_paths(paths)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder", self.w.settings.get("paths/last_folder"))
        if folder:
            self.add_paths([folder])

    def _remove(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self._preview()
        self.completeChanged.emit()

    def _preview(self) -> None:
        """Which importer reads which file, before anything is imported."""
        paths = self.paths()
        if not paths:
            self.preview.setText("")
            return
        try:
            entries, skipped = services.plan_import(paths, self.format.currentData())
        except Exception as exc:
            self.preview.setText(f"<span style='color:#c62828'>{describe(exc)[0]}</span>")
            return
        lines = [f"<b>{e.importer.name}</b> reads {len(e.files)} file{'s' if len(e.files) != 1 else ''}"
                 for e in entries]
        if skipped:
            lines.append(f"{len(skipped)} file{'s' if len(skipped) != 1 else ''} will be skipped "
                         "(format not recognised)")
        self.preview.setText("; ".join(lines))

    def isComplete(self) -> bool:
        return bool(self.paths())

    def nextId(self) -> int:
        return PAGE_RUN


class ConnectionPage(QWizardPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__()
        self.w = wizard
        self.source = ""
        self.inputs: dict[str, QLineEdit] = {}
        self.flags: dict[str, QCheckBox] = {}
        self.tested = False
        self.form_holder = QWidget()
        self.form = QFormLayout(self.form_holder)
        self.secret = QLineEdit()
        self.secret.setObjectName("connectionSecret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_file = QLineEdit()
        self.ca_file.setObjectName("connectionCaFile")
        self.ca_file.setPlaceholderText("PEM file of an extra trusted CA (optional)")
        self.remember = QCheckBox("Remember the secret in the system keyring")
        self.remember.setObjectName("rememberSecret")
        if not keyring_available():
            self.remember.setEnabled(False)
            self.remember.setToolTip("This system has no keyring: the secret is asked for each time")
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("testConnection")
        self.test_button.clicked.connect(self.test_connection)
        self.result = QLabel()
        self.result.setObjectName("connectionResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.result, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form_holder)
        layout.addLayout(row)
        layout.addStretch(1)
        self.check_op: Op | None = None

    def initializePage(self) -> None:
        self.source = self.w.source_page.source()
        spec = LIVE_SOURCES[self.source]
        self.setTitle(spec.title)
        self.setSubTitle("Test the connection before importing. Only reads: nothing is written to the source.")
        while self.form.rowCount():
            self.form.removeRow(0)
        self.inputs, self.flags = {}, {}
        self.secret = QLineEdit()
        self.secret.setObjectName("connectionSecret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_file = QLineEdit()
        self.ca_file.setObjectName("connectionCaFile")
        self.ca_file.setPlaceholderText("PEM file of an extra trusted CA (optional)")
        saved = self.w.settings.get(f"connections/{self.source}")
        for name, label, placeholder in spec.fields:
            line = QLineEdit(str(saved.get(name, "")))
            line.setObjectName(f"connection_{name}")
            line.setPlaceholderText(placeholder)
            line.textChanged.connect(self._changed)
            line.editingFinished.connect(self._fill_secret_from_keyring)
            self.inputs[name] = line
            self.form.addRow(label, line)
        self.form.addRow(spec.secret_label, self.secret)
        self.form.addRow("", self.remember)
        for name, label in spec.flags:
            box = QCheckBox(label)
            box.setChecked(bool(saved.get(name)))
            self.flags[name] = box
            self.form.addRow("", box)
        self.ca_file.setText(str(saved.get("ca_file", "")))
        self.form.addRow("CA file", self.ca_file)
        self.result.setText("")
        self._fill_secret_from_keyring()

    def params(self) -> dict[str, Any]:
        """The connection's parameters without the secret (these may be remembered)."""
        out: dict[str, Any] = {name: line.text().strip() for name, line in self.inputs.items() if line.text().strip()}
        out.update({name: box.isChecked() for name, box in self.flags.items()})
        if self.ca_file.text().strip():
            out["ca_file"] = self.ca_file.text().strip()
        return out

    def call_args(self) -> dict[str, Any]:
        args = self.params()
        secret = self.secret.text()
        if secret:
            args[LIVE_SOURCES[self.source].secret_param] = secret
        return args

    def _changed(self) -> None:
        self.tested = False
        self.completeChanged.emit()

    def _fill_secret_from_keyring(self) -> None:
        if self.secret.text():
            return
        secret = load_secret(self.source, {k: v for k, v in self.params().items() if isinstance(v, str)})
        if secret:
            self.secret.setText(secret)
            self.result.setText("The secret was taken from the system keyring.")

    def isComplete(self) -> bool:
        first = LIVE_SOURCES[self.source].fields[0][0] if self.source else ""
        return bool(self.source) and bool(self.inputs.get(first) and self.inputs[first].text().strip())

    def test_connection(self) -> Op:
        spec = LIVE_SOURCES[self.source]
        check = getattr(services, spec.check)
        args = self.call_args()
        self.result.setText("Testing…")
        self.test_button.setEnabled(False)

        def ok(message: str) -> None:
            self.tested = True
            self.result.setText(f"<span style='color:#2e7d32'>✔ {message}</span>")

        def bad(exc: BaseException) -> None:
            self.tested = False
            self.result.setText(f"<span style='color:#c62828'>✘ {describe(exc)[0]}</span>")

        op = Op("check", lambda ctx: check(**args), self)
        op.succeeded.connect(ok)
        op.failed.connect(bad)
        op.finished.connect(lambda: self.test_button.setEnabled(True))
        self.check_op = op
        return op.start()

    def validatePage(self) -> bool:
        params = self.params()
        self.w.settings.set(f"connections/{self.source}", params)  # never the secret
        if self.remember.isChecked() and self.secret.text():
            store_secret(self.source, {k: v for k, v in params.items() if isinstance(v, str)}, self.secret.text())
        return True

    def nextId(self) -> int:
        return PAGE_RUN


class RunPage(QWizardPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__()
        self.w = wizard
        self.setTitle("Importing")
        self.setSubTitle("You can cancel at any time: nothing is written until everything was read.")
        self.label = QLabel("Starting…")
        self.label.setObjectName("runMessage")
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setObjectName("runProgress")
        self.cancel_button = QPushButton("Cancel import")
        self.cancel_button.setObjectName("cancelImport")
        self.cancel_button.clicked.connect(self.cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.op: Op | None = None
        self.done = False
        self.error: BaseException | None = None

    def initializePage(self) -> None:
        self.done, self.error = False, None
        self.bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        store = self.w.window.store
        source = self.w.source_page.source()
        if source == "files":
            paths = self.w.files_page.paths()
            fmt = self.w.files_page.format.currentData()
            authority = self.w.files_page.authority.text().strip() or None

            def work(ctx: OpContext):
                return services.import_paths(store, paths, fmt=fmt, authority=authority, progress=ctx.progress,
                                             is_cancelled=ctx.is_cancelled)
            label = "Importing files"
        else:
            args = self.w.connection_page.call_args()

            def work(ctx: OpContext):
                return [pull_call(source, store, args, ctx)]
            label = f"Pulling from {LIVE_SOURCES[source].title}"
        self.label.setText(label + "…")

        def setup(op: Op) -> None:
            op.progressed.connect(self._progress)
            op.failed.connect(self._failed)
            op.finished.connect(self._finished)

        self.op = self.w.window.run_import(label, work, self._succeeded, setup=setup, report_errors=False)

    def _progress(self, done: Any, total: Any, message: str) -> None:
        if total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(done, total) / total))
        if message:
            self.label.setText(message)

    def _succeeded(self, summaries: list[Any]) -> None:
        self.w.summaries = summaries

    def _failed(self, exc: BaseException) -> None:
        self.error = exc
        if isinstance(exc, Cancelled):
            self.label.setText("Cancelled: nothing was written.")
        else:
            self.label.setText(f"<span style='color:#c62828'>The import failed and wrote nothing: "
                               f"{describe(exc)[0]}</span>")

    def _finished(self) -> None:
        self.done = True
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.cancel_button.setEnabled(False)
        self.completeChanged.emit()
        self.w.run_finished.emit(self.error is None)
        if self.error is None:
            self.w.next()

    def cancel(self) -> None:
        if self.op is not None:
            self.op.cancel()
            self.label.setText("Cancelling…")

    def isComplete(self) -> bool:
        return self.done and self.error is None

    def nextId(self) -> int:
        return PAGE_REPORT


class ReportPage(QWizardPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__()
        self.w = wizard
        self.setTitle("Import finished")
        self.browser = QTextBrowser()
        self.browser.setObjectName("importReportText")
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)

    def initializePage(self) -> None:
        self.browser.setHtml(import_report_html(self.w.summaries))

    def nextId(self) -> int:
        return -1


class ImportWizard(QWizard):
    run_finished = Signal(bool)

    def __init__(self, window: MainWindow, settings: Settings, files: list[str] | None = None):
        super().__init__(window)
        self.setObjectName("importWizard")
        self.setWindowTitle("Import")
        self.window = window
        self.settings = settings
        self.summaries: list[Any] = []
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.source_page = SourcePage(self)
        self.files_page = FilesPage(self)
        self.connection_page = ConnectionPage(self)
        self.run_page = RunPage(self)
        self.report_page = ReportPage(self)
        self.setPage(PAGE_SOURCE, self.source_page)
        self.setPage(PAGE_FILES, self.files_page)
        self.setPage(PAGE_CONNECTION, self.connection_page)
        self.setPage(PAGE_RUN, self.run_page)
        self.setPage(PAGE_REPORT, self.report_page)
        self.resize(720, 520)
        if files:
            self.files_page.add_paths(files)
            self.setStartId(PAGE_FILES)

    def reject(self) -> None:
        # Closing the wizard while importing cancels the import rather than leaving it running unseen.
        if self.run_page.op is not None and not self.run_page.done:
            self.run_page.cancel()
        super().reject()
