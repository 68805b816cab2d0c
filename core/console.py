"""What the command line shows while it works: a one-line progress display on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .ingest import ImportSummary

ProgressFn = Callable[[int, int | None, str], None]


def progress_printer(enabled: bool) -> ProgressFn | None:
    """A progress callback that redraws one stderr line, or None when not wanted or not a terminal."""
    if not enabled or not sys.stderr.isatty():
        return None

    def show(done: int, total: int | None, message: str) -> None:
        count = f"{100 * done // total:3d}%" if total else f"{done:>8}"
        print(f"\r{count} {message[:60]:<60}", end="", file=sys.stderr, flush=True)

    return show


def print_summary(summary: ImportSummary, headline: str, suffix: str = "") -> None:
    """The report of one import run: `headline` ("imported ldif (ad:x) from 2 file(s)") then the
    counts on stdout; decided identities to review, warnings and skipped files after it."""
    s = summary
    print(f"{headline}: {s.identities} identities ({len(s.new)} new, {len(s.changed)} changed, "
          f"{len(s.vanished)} vanished), {s.nodes} other nodes, {s.edges} edges, {s.credentials} credentials, "
          f"{s.findings} findings{suffix}")
    if s.needs_review:
        print(f"  decided identities to review: {', '.join(s.needs_review)}")
    for w in s.warnings:
        print(f"warning: {w.source_record}: {w.message}", file=sys.stderr)
    for path in s.skipped:
        print(f"warning: {path}: skipped, format not recognised", file=sys.stderr)
