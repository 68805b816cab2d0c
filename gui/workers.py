"""Long work off the UI thread: small op objects run in a thread pool.

After Anki's `QueryOp`/`CollectionOp`: an `Op` wraps a function of an
`OpContext` (progress, cancel); it runs in a QThreadPool and reports progress,
success and failure by Qt signals, which arrive on the UI thread because the
Op lives there. Progress is throttled so that a fast importer cannot flood the
event loop. Cancelling sets a flag the work checks (core's `is_cancelled`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

PROGRESS_INTERVAL = 0.05  # seconds between two progress signals


class OpContext:
    """What the work function may use: report progress, ask whether it was cancelled."""

    def __init__(self, op: Op):
        self._op = op
        self._last = 0.0

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL or (total is not None and done >= total):
            self._last = now
            self._op.progressed.emit(done, total, message)

    def is_cancelled(self) -> bool:
        return self._op.cancel_event.is_set()


class _Runnable(QRunnable):
    def __init__(self, op: Op):
        super().__init__()
        self.op = op
        self.setAutoDelete(True)

    def run(self) -> None:
        op = self.op
        try:
            result = op.fn(OpContext(op))
        except BaseException as exc:  # every failure goes back to the UI thread as a signal
            op.failed.emit(exc)
        else:
            op.succeeded.emit(result)
        finally:
            op.done_event.set()
            op.finished.emit()


class Op(QObject):
    """One piece of background work. Connect to the signals, then start()."""

    progressed = Signal(object, object, str)  # done, total (or None), message; object: counts may pass 2**31
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    finished = Signal()

    _running: ClassVar[set[Op]] = set()  # keeps running ops alive until they finish

    def __init__(self, label: str, fn: Callable[[OpContext], Any], parent: QObject | None = None):
        super().__init__(parent)
        self.label = label
        self.fn = fn
        self.cancel_event = threading.Event()
        self.done_event = threading.Event()
        self.finished.connect(self._forget)

    def on_success(self, slot: Callable[[Any], None]) -> Op:
        self.succeeded.connect(slot)
        return self

    def on_failure(self, slot: Callable[[BaseException], None]) -> Op:
        self.failed.connect(slot)
        return self

    def on_progress(self, slot: Callable[[Any, Any, str], None]) -> Op:
        self.progressed.connect(slot)
        return self

    def start(self, pool: QThreadPool | None = None) -> Op:
        Op._running.add(self)
        (pool or QThreadPool.globalInstance()).start(_Runnable(self))
        return self

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the work function returned (for shutdown and tests); signals may still be queued."""
        return self.done_event.wait(timeout)

    def _forget(self) -> None:
        Op._running.discard(self)


class LatestOnly(QObject):
    """Runs ops of one kind where only the newest result matters (the detail of the selected row).

    An older op that finishes after a newer one was started is ignored, so fast
    clicking through the table never shows a stale detail.
    """

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._generation = 0
        self.current: Op | None = None

    def run(self, label: str, fn: Callable[[OpContext], Any], on_success: Callable[[Any], None],
            on_failure: Callable[[BaseException], None], pool: QThreadPool | None = None) -> Op:
        self._generation += 1
        generation = self._generation
        if self.current is not None:
            self.current.cancel()
        op = Op(label, fn, self)
        op.succeeded.connect(lambda result: generation == self._generation and on_success(result))
        op.failed.connect(lambda exc: generation == self._generation and on_failure(exc))
        self.current = op
        return op.start(pool)
