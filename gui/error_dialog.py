"""Errors as people read them: one clear sentence in a dialog, never a traceback.

A user's error (core's NhiplanError: bad input, unreachable source, cancelled)
is shown as its one line. Anything else is a bug: the dialog says so in plain
words and the traceback goes to a log file whose path the dialog names.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QMessageBox, QWidget

from nhiplan.core.errors import Cancelled, NhiplanError

log = logging.getLogger("nhiplan.gui")


def log_path() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or "."
    path = Path(base) / "nhiplan.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def describe(exc: BaseException) -> tuple[str, bool]:
    """(message for the user, whether it is a bug)."""
    if isinstance(exc, NhiplanError):
        return str(exc), False
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}", False
    return f"Something went wrong inside nhiplan ({type(exc).__name__}: {exc}).", True


def record_bug(exc: BaseException) -> Path | None:
    try:
        path = log_path()
        with path.open("a", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
            fh.write("\n")
        return path
    except OSError:
        return None


def show_error(parent: QWidget | None, title: str, exc: BaseException) -> QMessageBox | None:
    """Show `exc` to the user; a cancellation is not an error and shows nothing."""
    if isinstance(exc, Cancelled):
        return None
    message, bug = describe(exc)
    box = QMessageBox(QMessageBox.Icon.Warning if not bug else QMessageBox.Icon.Critical, title, message,
                      QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorDialog")
    if bug:
        path = record_bug(exc)
        box.setInformativeText("Please report it with the details written to " + str(path) if path else
                               "Please report it.")
    box.setModal(True)
    box.open()
    return box


def install_excepthook() -> None:
    """Exceptions escaping a slot go to a dialog and the log, not to a terminal nobody reads."""
    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        exc.__traceback__ = tb
        show_error(None, "nhiplan", exc)

    sys.excepthook = hook
