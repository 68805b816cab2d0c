"""What a front end may call: open a project, import, list, decide, plan, export, verify.

The CLI and the GUI both go through these functions and nothing else in core,
so that both behave the same. Each function opens its own session; none keeps
state between calls except the Store it is given.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from . import decisions as dec
from .errors import BadInput
from .graph import IdentityGraph
from .importers import detect_format, get_importer
from .importers.base import ImportContext, Importer
from .ingest import ImportSummary, ingest_into
from .model import AuditEvent, Edge, Finding, Identity, ImportRun, Node, Sighting
from .playbook.builder import build_plan
from .playbook.model import Plan
from .playbook.snapshot import take_snapshot
from .records import ImportWarning, Record
from .render.canonical import load_plan_file, plan_document, to_yaml, verify_document
from .store import Store, open_store

ProgressFn = Callable[[int, int | None, str], None]
CancelFn = Callable[[], bool]

PLAN_FORMATS = ("yaml",)  # renderers add theirs in core.render.writers


# -- projects --------------------------------------------------------------------------------

def init_project(target: str | Path, name: str | None = None, client: str | None = None) -> Store:
    text = str(target)
    if "://" not in text and Path(text).exists() and Path(text).stat().st_size > 0:
        raise BadInput(text, "already exists; open it, or choose another name")
    return open_store(target, create=True, name=name, client=client)


def open_project(target: str | Path) -> Store:
    return open_store(target)


# -- import ----------------------------------------------------------------------------------

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
    with store.session() as session, session.begin():
        for entry in entries:
            ctx = ImportContext(options=dict(options or {}), progress=progress, is_cancelled=is_cancelled)

            def batches(entry: ImportPlanEntry = entry, ctx: ImportContext = ctx) -> Iterator[list[Record]]:
                for f in entry.files:
                    yield from entry.importer.read(f, ctx)

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
            from .errors import Cancelled

            raise Cancelled("import")
    return summaries


def import_records(store: Store, records: Iterable[list[Record]], *, source_kind: str, family: str, source: str,
                   authority: str | None = None, warnings: list[ImportWarning] | None = None) -> ImportSummary:
    """Ingest records a live connector pulled (ldap, entra, scim) in one transaction."""
    batches = list(records)
    with store.session() as session, session.begin():
        return ingest_into(session, batches, source_kind=source_kind, family=family, source=source,
                           authority=authority, warnings=warnings)


# -- inventory -------------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def list_identities(store: Store, *, include_people: bool = False, kind: str | None = None,
                    decision: str | None = None) -> list[dict[str, Any]]:
    """The inventory as CONTRACT.md's `list --json` objects, ordered by key."""
    with store.session() as s:
        q = select(Identity).options(selectinload(Identity.credentials), selectinload(Identity.decision))
        if not include_people and kind != "person":
            q = q.where(Identity.kind != "person")
        if kind:
            q = q.where(Identity.kind == kind)
        idents = s.scalars(q.order_by(Identity.key)).all()
        group_counts = _edge_counts(s, "src", ("MemberOf",))
        consumer_counts = _edge_counts(s, "dst", ("UsesIdentity", "FederatedCredential"))
        tags: dict[str, set[str]] = defaultdict(set)
        for subject, tag in s.execute(select(Finding.subject, Finding.tag)):
            tags[subject].add(tag)
        recs = _recommendations(s)
        out = []
        for i in idents:
            d = i.decision.decision if i.decision else "undecided"
            if decision and d != decision:
                continue
            rec = recs.get(i.key)
            out.append({
                "key": i.key, "name": i.name, "kind": i.kind, "authority": i.authority,
                "sources": sorted(i.sources or []), "enabled": i.enabled, "last_used": _iso(i.last_used),
                "credentials": [{"kind": c.kind, "id": c.credential_id, "expires": _iso(c.expires)}
                                for c in i.credentials],
                "groups": group_counts.get(i.key, 0), "consumers": consumer_counts.get(i.key, 0),
                "recommendation": rec["recommendation"] if rec else None, "decision": d,
                "tags": sorted(tags.get(i.key, set()) | set(rec["tags"] if rec else ())),
                "display_name": i.display_name, "upn": i.upn, "vanished": i.vanished,
                "needs_review": i.needs_review,
            })
        return out


def _edge_counts(session, column: str, kinds: tuple[str, ...]) -> dict[str, int]:
    col = getattr(Edge, column)
    other = Edge.dst if column == "src" else Edge.src
    return dict(session.execute(
        select(col, func.count(func.distinct(other))).where(Edge.kind.in_(kinds)).group_by(col)).all())


def _recommendations(session) -> dict[str, dict[str, Any]]:
    """Recommendations by identity key, when the analysis module is present."""
    try:
        from .analysis.recommend import recommend_all
    except ImportError:
        return {}
    return {r["key"]: r for r in recommend_all(session)}


def identity_detail(store: Store, ref: str) -> dict[str, Any]:
    """Everything the detail panel shows about one identity, with the source of each fact."""
    with store.session() as s:
        ident = dec.resolve_identity(s, ref)
        graph_edges = s.execute(
            select(Edge.src, Edge.dst, Edge.kind, Edge.attributes, Edge.origin, Edge.source_record)
            .where((Edge.src == ident.key) | (Edge.dst == ident.key)).order_by(Edge.kind, Edge.src, Edge.dst)
        ).all()
        names = _names_of(s, {e.src for e in graph_edges} | {e.dst for e in graph_edges})
        sightings = s.scalars(select(Sighting).where(Sighting.identity_id == ident.id).order_by(Sighting.id)).all()
        runs = {r.id: r for r in s.scalars(select(ImportRun).where(
            ImportRun.id.in_([x.import_run_id for x in sightings])))}
        findings = s.scalars(select(Finding).where(Finding.subject == ident.key).order_by(Finding.id)).all()
        return {
            "key": ident.key, "name": ident.name, "kind": ident.kind, "authority": ident.authority,
            "display_name": ident.display_name, "dn": ident.dn, "upn": ident.upn, "sid": ident.sid,
            "guid": ident.guid, "enabled": ident.enabled, "created": _iso(ident.created),
            "last_used": _iso(ident.last_used), "password_last_set": _iso(ident.password_last_set),
            "expires": _iso(ident.expires), "description": ident.description, "flags": list(ident.flags or []),
            "spns": list(ident.spns or []), "emails": list(ident.emails or []),
            "sources": sorted(ident.sources or []), "classification": ident.classification,
            "vanished": ident.vanished, "needs_review": ident.needs_review,
            "credentials": [{"kind": c.kind, "id": c.credential_id, "created": _iso(c.created),
                             "expires": _iso(c.expires), "source": c.source_record}
                            for c in ident.credentials],
            "edges": [{"direction": "out" if e.src == ident.key else "in", "kind": e.kind,
                       "other": e.dst if e.src == ident.key else e.src,
                       "other_name": names.get(e.dst if e.src == ident.key else e.src),
                       "attributes": e.attributes or {}, "manual": e.origin is None, "source": e.source_record}
                      for e in graph_edges],
            "sightings": [{"source_kind": x.source_kind, "origin": x.origin, "record": x.source_record,
                           "run": x.import_run_id,
                           "imported_at": _iso(runs[x.import_run_id].started_at) if x.import_run_id in runs else None,
                           "payload": x.payload} for x in sightings],
            "findings": [{"code": f.code, "tag": f.tag, "severity": f.severity, "message": f.message}
                         for f in findings],
            "decision": dec.decision_state(ident),
            "decision_meta": ({"author": ident.decision.author, "at": _iso(ident.decision.decided_at),
                               "origin": ident.decision.origin} if ident.decision else None),
        }


def _names_of(session, keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    out = dict(session.execute(select(Identity.key, Identity.name).where(Identity.key.in_(keys))).all())
    out.update(session.execute(select(Node.key, Node.name).where(Node.key.in_(keys))).all())
    return out


def load_graph(store: Store) -> IdentityGraph:
    with store.session() as s:
        return IdentityGraph.from_session(s)


# -- decisions -------------------------------------------------------------------------------

@dataclass
class DecisionChange:
    """One applied decision: enough to show it and to undo it (restore `before`)."""

    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed: bool


def decide(store: Store, identity: str, decision: str, reason: str = "", *,
           agents: list[dict[str, Any]] | None = None, rotation: dict[str, str] | None = None,
           author: str | None = None, origin: str = "user") -> DecisionChange:
    data = dec.parse_decision({"decision": decision, "reason": reason, "agents": agents or [],
                               "rotation": rotation}, f"decision for {identity}")
    return decide_many(store, [(identity, data)], author=author, origin=origin)[0]


def decide_many(store: Store, items: list[tuple[str, dec.DecisionData | None]], *, author: str | None = None,
                origin: str = "user", action: str = "decide") -> list[DecisionChange]:
    """Apply several decisions in one transaction (all or none). None clears a decision."""
    author = author or dec.current_user()
    out = []
    with store.session() as s, s.begin():
        now = datetime.now(UTC)
        for ref, data in items:
            ident = dec.resolve_identity(s, ref)
            before = dec.decision_state(ident)
            changed = dec.apply_decision(s, ident, data, author=author, origin=origin, action=action, now=now)
            s.flush()
            out.append(DecisionChange(ident.key, before, dec.decision_state(ident), changed))
    return out


def restore_decision(store: Store, key: str, state: dict[str, Any] | None, author: str | None = None
                     ) -> DecisionChange:
    """Put a decision back as it was (used by undo); audited like any change."""
    data = dec.DecisionData.from_dict(state) if state else None
    return decide_many(store, [(key, data)], author=author, action="restore")[0]


def decide_file(store: Store, path: str | Path, author: str | None = None) -> list[DecisionChange]:
    items = dec.load_decisions_file(Path(path))
    with store.session() as s:  # resolve every reference before writing anything
        for ref, _data, where in items:
            try:
                dec.resolve_identity(s, ref)
            except Exception as exc:
                raise BadInput(where, str(exc)) from None
    return decide_many(store, [(ref, data) for ref, data, _ in items], author=author, origin="file")


def audit_log(store: Store, subject: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    with store.session() as s:
        q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if subject:
            q = q.where(AuditEvent.subject == subject)
        return [{"at": _iso(e.at), "actor": e.actor, "action": e.action, "subject": e.subject,
                 "before": e.before, "after": e.after, "reason": e.reason} for e in s.scalars(q)]


def add_manual_dependency(store: Store, dependent: str, prerequisite: str, reason: str,
                          author: str | None = None) -> None:
    """The architect says `dependent` must move after `prerequisite`: an edge like any other."""
    author = author or dec.current_user()
    with store.session() as s, s.begin():
        a = dec.resolve_identity(s, dependent)
        b = dec.resolve_identity(s, prerequisite)
        if a.key == b.key:
            raise BadInput(dependent, "an identity cannot depend on itself")
        s.execute(delete(Edge).where(Edge.src == a.key, Edge.dst == b.key, Edge.kind == "ManualDependency"))
        s.add(Edge(src=a.key, dst=b.key, kind="ManualDependency", attributes=None, origin=None, author=author,
                   reason=reason))
        s.add(AuditEvent(at=datetime.now(UTC), actor=author, action="add-dependency", subject=a.key, before=None,
                         after={"depends_on": b.key}, reason=reason))


# -- plan ------------------------------------------------------------------------------------

def make_plan(store: Store, target: str = "generic") -> Plan:
    with store.session() as s:
        snapshot = take_snapshot(s)
    return build_plan(snapshot, target=target)


def plan_formats() -> tuple[str, ...]:
    try:
        from .render.writers import FORMATS
    except ImportError:
        return PLAN_FORMATS
    return tuple(FORMATS)


def write_plan(plan: Plan, out: str | Path, fmt: str | None = None, options: dict[str, Any] | None = None
               ) -> Path:
    """Write the plan to `out` atomically (a temp file renamed), so no half-written file is left."""
    out = Path(out)
    fmt = fmt or _format_from_suffix(out)
    if not out.parent.exists():
        raise BadInput(str(out), f"folder {out.parent} does not exist")
    doc = plan_document(plan)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if fmt == "yaml":
            tmp.write_text(to_yaml(doc), encoding="utf-8")
        else:
            try:
                from .render.writers import write as render_write
            except ImportError:
                raise BadInput(str(out), f"format {fmt!r} is not available; use yaml") from None
            render_write(doc, tmp, fmt, options or {})
        tmp.replace(out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def _format_from_suffix(out: Path) -> str:
    suffix = out.suffix.lower().lstrip(".")
    mapping = {"yaml": "yaml", "yml": "yaml", "md": "md", "markdown": "md", "html": "html", "htm": "html",
               "pdf": "pdf", "csv": "csv"}
    if suffix not in mapping:
        raise BadInput(str(out), "cannot tell the format from the file name; use --format")
    return mapping[suffix]


def verify_plan(path: str | Path) -> tuple[bool, str]:
    return verify_document(load_plan_file(Path(path)))


# -- demo ------------------------------------------------------------------------------------

def demo_resources() -> Path:
    return Path(str(files("nhiplan.resources").joinpath("demo")))


def build_demo(out_dir: str | Path, progress: ProgressFn | None = None) -> tuple[Path, Path]:
    """Build DIR/demo.nhiplan from the bundled estate, decide it, write its plan; return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    project = out / "demo.nhiplan"
    if project.exists():
        project.unlink()  # the demo is rebuilt from scratch each time, so it is always the same
    src = demo_resources()
    store = init_project(project, name="Northwind Aerospace demo", client="Northwind Aerospace")
    try:
        import_paths(store, sorted(p for p in src.iterdir() if p.suffix in (".ldif",)), progress=progress)
        decide_file(store, src / "decisions.yaml", author="nhiplan demo")
        plan = make_plan(store)
        plan_path = write_plan(plan, out / "demo-plan.yaml")
    finally:
        store.close()
    return project, plan_path


def copy_demo_files(dest: str | Path) -> Path:
    """Copy the bundled demo export files somewhere a user can look at them."""
    dest = Path(dest)
    shutil.copytree(demo_resources(), dest, dirs_exist_ok=True)
    return dest


__all__ = [
    "DecisionChange", "ImportSummary", "add_manual_dependency", "audit_log",
    "build_demo", "decide", "decide_file", "decide_many", "identity_detail", "import_paths", "import_records",
    "init_project", "list_identities", "load_graph", "make_plan", "open_project", "plan_import",
    "restore_decision", "verify_plan", "write_plan",
]
