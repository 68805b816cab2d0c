"""What the command line shows while it works: a one-line progress display on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable

ProgressFn = Callable[[int, int | None, str], None]


def progress_printer(enabled: bool) -> ProgressFn | None:
    """A progress callback that redraws one stderr line, or None when not wanted or not a terminal."""
    if not enabled or not sys.stderr.isatty():
        return None

    def show(done: int, total: int | None, message: str) -> None:
        count = f"{100 * done // total:3d}%" if total else f"{done:>8}"
        print(f"\r{count} {message[:60]:<60}", end="", file=sys.stderr, flush=True)

    return show
