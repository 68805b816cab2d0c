"""The one rule that shows the architecture: nothing under core/ imports Qt.

Walks every Python file of core/ with `ast` (so an import inside a function, a
`from PySide6 import ...`, or an `importlib.import_module("PyQt5")` with a
literal name is caught too) and fails on any Qt binding.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core"
QT_MODULES = ("PySide6", "PySide2", "PyQt6", "PyQt5", "PyQt4", "shiboken6", "shiboken2", "sip", "qtpy")


def _is_qt(name: str | None) -> bool:
    return bool(name) and name.split(".")[0] in QT_MODULES


def qt_imports(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [f"{filename}:{node.lineno}: import {a.name}" for a in node.names if _is_qt(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_qt(node.module):
            found.append(f"{filename}:{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and _is_qt(node.args[0].value):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__"):
                found.append(f"{filename}:{node.lineno}: {name}({node.args[0].value!r})")
    return found


def test_core_never_imports_qt():
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 10, "core/ was found"
    offenders = []
    for path in files:
        offenders += qt_imports(path.read_text(encoding="utf-8"), str(path.relative_to(CORE.parent)))
    assert offenders == [], "core/ must not import Qt:\n" + "\n".join(offenders)


def test_the_check_catches_every_form():
    sample = (
        "import PySide6\n"
        "from PySide6.QtCore import QObject\n"
        "import os, PyQt5.QtWidgets\n"
        "def later():\n    import shiboken6\n"
        "import importlib\nimportlib.import_module('PyQt6.QtGui')\n"
        "__import__('PySide2')\n"
        "from . import qt_helpers\n"  # a relative import of a module merely named like Qt is fine
        "import pyside_notes\n"
    )
    found = qt_imports(sample, "sample.py")
    assert [f.split(": ", 1)[1] for f in found] == [
        "import PySide6", "from PySide6.QtCore import ...", "import PyQt5.QtWidgets", "import shiboken6",
        "import_module('PyQt6.QtGui')", "__import__('PySide2')"]
