"""Importing export files: which importer reads which file, and one transaction per import."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..gc_pause import paused_gc
from ..importers import detect_format, get_importer
from ..importers.base import ImportContext, Importer
from ..ingest import ImportSummary, ingest_into
from ..records import ImportWarning, Record
from ..store import Store
from .common import CancelFn, ProgressFn


@dataclass
class ImportPlanEntry:
    importer: Importer
    files: list[Path] = field(default_factory=list)


def plan_import(paths: Iterable[str | Path], fmt: str = "auto") -> tuple[list[ImportPlanEntry], list[str]]:
    """Which importer reads which file; unrecognised files of a folder are skipped (returned)."""
    entries: dict[str, ImportPlanEntry] = {}
    skipped: list[str] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise BadInput(str(path), "no such file or folder")
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*") if p.is_file())
            explicit = False
        else:
            candidates = [path]
            explicit = True
        for p in candidates:
            importer = get_importer(fmt) if fmt != "auto" else detect_format(p)
            if importer is None:
                if explicit:
                    raise BadInput(str(p), "format not recognised; name it with --format")
                skipped.append(str(p))
                continue
            entries.setdefault(importer.name, ImportPlanEntry(importer)).files.append(p)
    if not entries:
        where = ", ".join(str(p) for p in paths)
        raise BadInput(where, "no importable file found")
    return list(entries.values()), skipped


def import_paths(store: Store, paths: Iterable[str | Path], fmt: str = "auto", authority: str | None = None,
                 progress: ProgressFn | None = None, is_cancelled: CancelFn | None = None,
                 options: dict[str, Any] | None = None) -> list[ImportSummary]:
    """Import files and folders in one transaction: all of it lands, or none does."""
    entries, skipped = plan_import(list(paths), fmt)
    summaries: list[ImportSummary] = []
    with store.session() as session, session.begin(), paused_gc():
        for entry in entries:
            ctx = ImportContext(options={"authority": authority, **(options or {})}, progress=progress,
                                is_cancelled=is_cancelled)

            def batches(entry: ImportPlanEntry = entry, ctx: ImportContext = ctx) -> Iterator[list[Record]]:
                for f in entry.files:
                    yield from entry.importer.read(f, ctx)
                # An importer whose records join facts from several files (Entra: an app registration
                # in one file, its service principal in another) yields them once it has read them all.
                finish = getattr(entry.importer, "finish", None)
                if finish is not None:
                    yield from finish(ctx)

            records = list(batches())  # read everything before writing: a bad record writes nothing
            ctx.check_cancelled()
            summary = ingest_into(
                session, records, source_kind=entry.importer.source_kind, family=entry.importer.family,
                source=", ".join(str(f) for f in entry.files), authority=authority, warnings=ctx.warnings,
                files=[str(f) for f in entry.files])
            summaries.append(summary)
        if summaries:
            summaries[0].skipped = skipped
        if is_cancelled is not None and is_cancelled():
            from ..errors import Cancelled

            raise Cancelled("import")
    return summaries


def import_records(store: Store, records: Iterable[list[Record]], *, source_kind: str, family: str, source: str,
                   authority: str | None = None, warnings: list[ImportWarning] | None = None) -> ImportSummary:
    """Ingest records a live connector pulled (ldap, entra, scim) in one transaction."""
    with paused_gc():
        batches = list(records)
    with store.session() as session, session.begin(), paused_gc():
        return ingest_into(session, batches, source_kind=source_kind, family=family, source=source,
                           authority=authority, warnings=warnings)


def import_formats() -> list[tuple[str, str]]:
    """(--format name, what it reads) for every registered importer that loads."""
    from ..importers import REGISTRY

    out = []
    for name in REGISTRY:
        try:
            out.append((name, get_importer(name).reads))
        except ImportError:  # an importer whose module has not landed in this build
            continue
    return out
