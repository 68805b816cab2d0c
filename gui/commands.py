"""Undoable edits: one QUndoCommand per decision edit, calling core to apply it.

A command is pushed after core accepted the edit (so a refused edit never
enters the history); its first redo is then a no-op, and later redos and undos
put the recorded `after` / `before` states back through
`services.restore_decisions`, in one transaction, audited like any change. A
bulk edit of many identities is one command, so one Ctrl+Z undoes all of it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from nhiplan.core import services


class DecisionCommand(QUndoCommand):
    """Decisions of one or more identities changed: undo restores `before`, redo `after`.

    With `run_async` (the window's), the restore runs in a worker and calls back; the window
    keeps undo and redo disabled until it is done. Without, it runs here and now.
    """

    def __init__(self, store_of: Callable[[], services.Store], changes: list[services.DecisionChange], text: str,
                 on_applied: Callable[..., None], on_error: Callable[[BaseException], None],
                 run_async: Callable[..., None] | None = None):
        super().__init__(text)
        self._store_of = store_of
        self.changes = [c for c in changes if c.changed]
        self._on_applied = on_applied
        self._on_error = on_error
        self._run_async = run_async
        self._applied = True  # pushed after core applied it

    def keys(self) -> list[str]:
        return [c.key for c in self.changes]

    def redo(self) -> None:
        if self._applied:
            return
        self._restore([(c.key, c.after) for c in self.changes])
        self._applied = True

    def undo(self) -> None:
        self._restore([(c.key, c.before) for c in self.changes])
        self._applied = False

    def _restore(self, states: list[tuple[str, dict | None]]) -> None:
        # Exceptions must not escape into Qt's C++ frame: they are reported instead.
        if self._run_async is not None:
            self._run_async(states, self._on_applied, self._on_error)
            return
        try:
            services.restore_decisions(self._store_of(), states)
        except Exception as exc:
            self._on_error(exc)
            return
        self._on_applied(self.keys())


def describe_changes(changes: list[services.DecisionChange], names: dict[str, str]) -> str:
    """The history line of an edit: 'svc_sql → split' or '12 identities → retire'."""
    changed = [c for c in changes if c.changed]
    if not changed:
        return ""
    decisions = {(c.after or {}).get("decision", "undecided") for c in changed}
    what = decisions.pop() if len(decisions) == 1 else "mixed"
    if len(changed) == 1:
        key = changed[0].key
        before = (changed[0].before or {}).get("decision", "undecided")
        after = (changed[0].after or {}).get("decision", "undecided")
        if before == after:
            return f"{names.get(key, key)}: {after} (edited)"
        return f"{names.get(key, key)} → {after}"
    return f"{len(changed)} identities → {what}"
