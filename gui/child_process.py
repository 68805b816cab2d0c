"""Work that would starve the UI thread runs in a child process.

A worker *thread* shares the interpreter lock with the UI thread: pure-Python
work that allocates millions of objects (recommendations for 100k identities)
makes the UI thread wait for the lock and for the garbage collector, for half a
second at a time. A child process has its own lock and collector. It opens the
project by its URL itself and sends the result back in small chunks, so the
parent never unpickles one huge object in a single step either.

This module imports no Qt: the child (started with "spawn") imports only it
and core.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterator
from typing import Any

from nhiplan.core.errors import Cancelled, NhiplanError

CHUNK = 2000
POLL = 0.1  # seconds between looks at the cancel flag


class ChildFailed(NhiplanError):
    """The child process raised: its message, as one line."""


def _serve(conn: Any, target: Callable[..., Iterator[Any]], args: tuple) -> None:
    try:
        batch = []
        for item in target(*args):
            batch.append(item)
            if len(batch) >= CHUNK:
                conn.send(("items", batch))
                batch = []
        conn.send(("items", batch))
        conn.send(("done", None))
    except BaseException as exc:  # the parent shows it; a traceback would not cross anyway
        conn.send(("error", f"{type(exc).__name__}: {exc}" if not isinstance(exc, NhiplanError) else str(exc)))
    finally:
        conn.close()


def run_in_child(target: Callable[..., Iterator[Any]], args: tuple, is_cancelled: Callable[[], bool],
                 progress: Callable[[int, int | None, str], None] | None = None) -> list[Any]:
    """Run `target(*args)` (a generator, importable by name) in a child process; its items, in order."""
    if getattr(sys, "frozen", False):
        # A bundled app starts children by running its own executable, which works only when the
        # entry point calls multiprocessing.freeze_support(); until it does, work in this thread.
        items = []
        for item in target(*args):
            if is_cancelled():
                raise Cancelled("background computation")
            items.append(item)
        return items
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_serve, args=(child, target, args), daemon=True)
    process.start()
    child.close()
    items: list[Any] = []
    try:
        while True:
            if is_cancelled():
                raise Cancelled("background computation")
            if not parent.poll(POLL):
                if not process.is_alive() and not parent.poll(0):
                    raise ChildFailed("the background computation stopped unexpectedly")
                continue
            kind, payload = parent.recv()
            if kind == "items":
                items.extend(payload)
                if progress is not None:
                    progress(len(items), None, "")
            elif kind == "done":
                return items
            else:
                raise ChildFailed(payload)
    finally:
        if process.is_alive():
            process.terminate()
        process.join(5)
        parent.close()


def recommendations_for(url: str) -> Iterator[dict[str, Any]]:
    """Every recommendation of the project at `url` (runs in the child)."""
    from nhiplan.core import services

    store = services.open_project(url)
    try:
        yield from services.recommendations(store)
    finally:
        store.close()
