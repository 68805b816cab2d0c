"""What a front end may call: open a project, import, list, decide, plan, export, verify.

The CLI and the GUI both go through these functions and nothing else in core,
so that both behave the same. Each function opens its own session; none keeps
state between calls except the Store it is given.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy import String, delete, func, select, type_coerce
from sqlalchemy.orm import selectinload

from . import decisions as dec
from .errors import BadInput
from .gc_pause import paused_gc
from .graph import IdentityGraph
from .importers import detect_format, get_importer
from .importers.base import ImportContext, Importer
from .ingest import ImportSummary, ingest_into
from .model import AuditEvent, Credential, Decision, Edge, Finding, Identity, ImportRun, Node, Sighting
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
            from .errors import Cancelled

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


DEMO_EXPORT_DATE = "2026-10-01T00:00:00Z"


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
        # The estate was exported on 2026-10-01: judging its ages from that day keeps the demo's
        # recommendations the same whenever it is built.
        set_policy(store, f"now: {DEMO_EXPORT_DATE}\n", author="nhiplan demo", reason="the demo's export date")
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


# -- gui support -----------------------------------------------------------------------------

INVENTORY_COLUMNS = ("key", "name", "kind", "authority", "display_name", "upn", "description", "sources", "enabled",
                     "last_used", "vanished", "needs_review", "decision", "credentials", "soonest_expiry",
                     "groups", "consumers", "tags")
KEYS_PER_QUERY = 900


def inventory_columns(store: Store, *, include_people: bool = False, keys: Iterable[str] | None = None
                      ) -> dict[str, list[Any]]:
    """The inventory as column arrays (one list per INVENTORY_COLUMNS name, rows ordered by key).

    One SQL query and no ORM object per row, so a table of 100k identities loads in
    about a second; `list_identities` builds a full dict per row for the CLI. Dates are
    ISO 8601 strings (sortable as text); `sources` and `tags` are sorted lists;
    `credentials` a count and `soonest_expiry` the earliest credential expiry.
    """
    if keys is not None:
        wanted = list(dict.fromkeys(keys))
        if len(wanted) > KEYS_PER_QUERY:  # stay under the database's bound-parameter limit
            parts = [inventory_columns(store, include_people=include_people, keys=wanted[i:i + KEYS_PER_QUERY])
                     for i in range(0, len(wanted), KEYS_PER_QUERY)]
            return {name: [v for part in parts for v in part[name]] for name in INVENTORY_COLUMNS}
    else:
        wanted = None
    cred_q = select(Credential.identity_id.label("iid"), func.count().label("n"),
                    func.min(Credential.expires).label("soonest"))
    groups_q = (select(Edge.src.label("k"), func.count(func.distinct(Edge.dst)).label("n"))
                .where(Edge.kind == "MemberOf"))
    consumers_q = (select(Edge.dst.label("k"), func.count(func.distinct(Edge.src)).label("n"))
                   .where(Edge.kind.in_(("UsesIdentity", "FederatedCredential"))))
    tags_q = select(Finding.subject.label("k"), func.aggregate_strings(Finding.tag, ",").label("t"))
    if wanted is not None:  # a few rows (after a decision): aggregate only theirs, not the whole estate
        cred_q = cred_q.where(Credential.identity_id.in_(select(Identity.id).where(Identity.key.in_(wanted))))
        groups_q = groups_q.where(Edge.src.in_(wanted))
        consumers_q = consumers_q.where(Edge.dst.in_(wanted))
        tags_q = tags_q.where(Finding.subject.in_(wanted))
    cred = cred_q.group_by(Credential.identity_id).subquery()
    groups = groups_q.group_by(Edge.src).subquery()
    consumers = consumers_q.group_by(Edge.dst).subquery()
    tags = tags_q.group_by(Finding.subject).subquery()
    # Dates and JSON come back as raw text and are converted once per distinct value below:
    # the per-row type processing of 100k rows costs more than the query itself.
    raw_sources = type_coerce(Identity.sources, String)
    q = (select(Identity.key, Identity.name, Identity.kind, Identity.authority, Identity.display_name,
                Identity.upn, Identity.description, raw_sources, Identity.enabled,
                type_coerce(Identity.last_used, String), Identity.vanished, Identity.needs_review,
                Decision.decision, cred.c.n, type_coerce(cred.c.soonest, String),
                groups.c.n, consumers.c.n, tags.c.t)
         .outerjoin(Decision, Decision.identity_id == Identity.id)
         .outerjoin(cred, cred.c.iid == Identity.id)
         .outerjoin(groups, groups.c.k == Identity.key)
         .outerjoin(consumers, consumers.c.k == Identity.key)
         .outerjoin(tags, tags.c.k == Identity.key)
         .order_by(Identity.key))
    if not include_people:
        q = q.where(Identity.kind != "person")
    if wanted is not None:
        q = q.where(Identity.key.in_(wanted))
    with store.session() as s:
        rows = s.execute(q).all()
    if not rows:
        return {name: [] for name in INVENTORY_COLUMNS}
    columns = [list(c) for c in zip(*rows, strict=True)]
    out = dict(zip(INVENTORY_COLUMNS, columns, strict=True))
    out["sources"] = _memo_map(out["sources"], _sorted_json_list)
    out["last_used"] = _memo_map(out["last_used"], _iso_text)
    out["soonest_expiry"] = _memo_map(out["soonest_expiry"], _iso_text)
    out["vanished"] = [bool(v) for v in out["vanished"]]
    out["decision"] = [d or "undecided" for d in out["decision"]]
    for name in ("credentials", "groups", "consumers"):
        out[name] = [n or 0 for n in out[name]]
    out["tags"] = _memo_map(out["tags"], lambda t: sorted(set(t.split(","))) if t else [])
    return out


def _memo_map(values: list[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """convert() applied to each value, computed once per distinct value (inventories repeat a lot)."""
    cache: dict[Any, Any] = {}
    out = []
    for v in values:
        try:
            out.append(cache[v])
        except KeyError:
            out.append(cache.setdefault(v, convert(v)))
    return out


def _sorted_json_list(text: Any) -> list[str]:
    if text is None:
        return []
    value = json.loads(text) if isinstance(text, str) else text
    return sorted(value or ())


def _iso_text(value: Any) -> str | None:
    """A stored UTC timestamp (SQLite text, or a datetime from other databases) as ISO 8601 with Z."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _iso(value if value.tzinfo else value.replace(tzinfo=UTC))
    parsed = datetime.fromisoformat(str(value))
    return _iso(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def decide_keys(store: Store, keys: list[str], decision: str, reason: str = "", author: str | None = None
                ) -> list[DecisionChange]:
    """One decision (no agents, no rotation) for many identities by key, in one transaction."""
    data = dec.parse_decision({"decision": decision, "reason": reason}, "bulk decision")
    return _apply_by_key(store, [(key, data) for key in keys], author=author, action="decide")


def restore_decisions(store: Store, states: list[tuple[str, dict[str, Any] | None]], author: str | None = None
                      ) -> list[DecisionChange]:
    """Put several decisions back as they were, in one transaction (a bulk undo); audited."""
    items = [(key, dec.DecisionData.from_dict(state) if state else None) for key, state in states]
    return _apply_by_key(store, items, author=author, action="restore")


def _apply_by_key(store: Store, items: list[tuple[str, dec.DecisionData | None]], *, author: str | None,
                  action: str, origin: str = "user") -> list[DecisionChange]:
    """decide_many for exact keys, loading the identities and their decisions in a few queries
    (not one resolve and one flush per item), so a bulk edit of thousands stays well under a second."""
    from .errors import NotFound

    author = author or dec.current_user()
    keys = list(dict.fromkeys(key for key, _data in items))
    out = []
    with store.session() as s, s.begin():
        idents: dict[str, Identity] = {}
        for i in range(0, len(keys), KEYS_PER_QUERY):
            q = (select(Identity).where(Identity.key.in_(keys[i:i + KEYS_PER_QUERY]))
                 .options(selectinload(Identity.decision).selectinload(Decision.agents)))
            idents.update((ident.key, ident) for ident in s.scalars(q))
        now = datetime.now(UTC)
        for key, data in items:
            ident = idents.get(key)
            if ident is None:
                raise NotFound(f"no identity with key '{key}'")
            before = dec.decision_state(ident)
            changed = dec.apply_decision(s, ident, data, author=author, origin=origin, action=action, now=now)
            out.append(DecisionChange(ident.key, before, dec.decision_state(ident), changed))
    return out


def read_plan(path: str | Path) -> dict[str, Any]:
    """An exported plan file as its document, for review (BadInput when it is not a plan)."""
    return load_plan_file(Path(path))


def import_formats() -> list[tuple[str, str]]:
    """(--format name, what it reads) for every registered importer that loads."""
    from .importers import REGISTRY

    out = []
    for name in REGISTRY:
        try:
            out.append((name, get_importer(name).reads))
        except ImportError:  # an importer whose module has not landed in this build
            continue
    return out


def edge_kind_info() -> dict[str, dict[str, Any]]:
    """Every edge kind with its category, meaning, ordering effect and graph colour."""
    from .edge_kinds import EDGE_KINDS

    return {name: {"category": k.category, "meaning": k.meaning, "orders": k.orders, "colour": k.colour}
            for name, k in EDGE_KINDS.items()}


def decision_vocabulary() -> dict[str, tuple[str, ...]]:
    """The words a decision may use, for editors: decisions, delegation modes, agent credentials, rotation."""
    return {"decisions": dec.DECISIONS, "delegation": dec.DELEGATION_MODES, "credentials": dec.AGENT_CREDENTIALS,
            "rotation_via": dec.ROTATION_VIA}


def plan_document_of(plan: Plan) -> dict[str, Any]:
    """The canonical document of a plan as written (integrity included), for views and previews."""
    return plan_document(plan)


def render_plan_document(doc: dict[str, Any], fmt: str, options: dict[str, Any] | None = None) -> bytes:
    """One export of a plan document in memory (a preview); ImportError when renderers are absent."""
    if fmt == "yaml":
        return to_yaml(doc).encode("utf-8")
    from .render.writers import render

    return render(doc, fmt, options or {})


def diff_plans(old: dict[str, Any], new: dict[str, Any], old_label: str = "old", new_label: str = "new",
               fmt: str = "md") -> tuple[Any, str]:
    """(the structured diff of two plan documents, its report in `fmt`: md or text).

    ImportError when the diff module is absent from this build.
    """
    from .render import diff as plan_diff

    d = plan_diff.diff_documents(old, new, old_label, new_label)
    return d, (plan_diff.render_markdown(d) if fmt == "md" else plan_diff.render_text(d))


def ldap_source(*, url: str, base: str, bind_dn: str | None = None, password: str | None = None,
                starttls: bool = False, ca_file: str | None = None, insecure: bool = False,
                filter: str | None = None) -> Any:
    """An LDAP source (for `pull_ldap`) from a front end's fields; BadInput names the bad field."""
    from .importers import ldap_live

    return ldap_live.LdapSource(url=url, base=base, bind_dn=bind_dn or None, password=password or None,
                                starttls=starttls, ca_file=ca_file or None, insecure=insecure,
                                filter=filter or None)


def check_ldap(**params: Any) -> str:
    """Test an LDAP connection without importing: connect, (Start)TLS, bind, read the base entry."""
    from ldap3 import BASE
    from ldap3.core.exceptions import LDAPException

    from .errors import SourceUnavailable
    from .importers import ldap_live

    source = ldap_source(**params)
    with ldap_live.LdapReader(source) as reader:
        try:
            reader.connection.search(source.base, "(objectClass=*)", search_scope=BASE, attributes=["objectClass"])
        except LDAPException as exc:
            raise SourceUnavailable(source.url, f"cannot read the base {source.base}: {exc}") from None
    who = source.bind_dn or "anonymous"
    tls = "TLS" if source.ssl or source.starttls else "no TLS"
    return f"{source.url} answers ({tls}); bound as {who}; the base {source.base} is readable"


def pull_ldap(store: Store, source: Any, *, progress: ProgressFn | None = None,
              is_cancelled: CancelFn | None = None) -> ImportSummary:
    """Pull a live directory (an `importers.ldap_live.LdapSource`) in one transaction; nothing written on failure."""
    from .importers import ldap_live

    ctx = ImportContext(progress=progress, is_cancelled=is_cancelled)
    return ldap_live.pull_into(store, source, ctx)


def pull_scim(store: Store, url: str, *, token: str | None = None, ca_file: str | None = None,
              progress: ProgressFn | None = None, is_cancelled: CancelFn | None = None) -> ImportSummary:
    """Pull a live SCIM 2.0 service into the project in one transaction (nothing written on failure)."""
    from .importers import scim_live

    ctx = ImportContext(progress=progress, is_cancelled=is_cancelled)
    return scim_live.pull_into(store, url, token=token, ca_file=ca_file, ctx=ctx)


def check_scim(url: str, *, token: str | None = None, ca_file: str | None = None) -> str:
    """Test a SCIM connection without importing: discovery plus one page of the required endpoint.

    Returns a sentence on what the service offers; SourceUnavailable says why it cannot be read.
    """
    from .importers import scim_live

    ctx = ImportContext()
    with scim_live.ScimClient(url, token=token, ca_file=ca_file) as client:
        info = scim_live.discover(client, ctx)
        first = sorted(info.required)[0]
        body = client.get_json(first, {"count": 1, "startIndex": 1})
    total = body.get("totalResults") if isinstance(body, dict) else None
    endpoints = ", ".join(path for _rtype, path in info.endpoints)
    counted = f"; {first} holds {total} resources" if isinstance(total, int) else ""
    paging = "cursor" if info.cursor else "index"
    return f"{client.base} answers: {endpoints} ({paging} paging, {info.page_size} a page){counted}"

def pull_entra(store: Store, *, tenant: str, client_id: str, secret: str | None = None,
               authority: str | None = None, graph_url: str | None = None, ca_file: str | None = None,
               progress: ProgressFn | None = None, is_cancelled: CancelFn | None = None) -> ImportSummary:
    """Pull an Entra tenant through Microsoft Graph into the project in one transaction.

    Without `secret` the client secret comes from the keyring, as for the CLI.
    """
    from .importers import entra_live

    conn = entra_live.EntraConnection(tenant=tenant, client_id=client_id, secret=secret or None,
                                      authority=authority or None, graph_url=graph_url or None,
                                      ca_file=ca_file or None)
    return entra_live.pull_into(store, conn, progress=progress, is_cancelled=is_cancelled)[0]


def check_entra(*, tenant: str, client_id: str, secret: str | None = None, authority: str | None = None,
                graph_url: str | None = None, ca_file: str | None = None) -> str:
    """Test an Entra connection without importing: sign in and read the organisation."""
    from .importers import entra_live

    return entra_live.check(entra_live.EntraConnection(
        tenant=tenant, client_id=client_id, secret=secret or None, authority=authority or None,
        graph_url=graph_url or None, ca_file=ca_file or None))


# -- analysis (issue 5) ----------------------------------------------------------------------
# Recommendations, analyses, the split planner, bulk decisions and the policy. The analysis
# modules import this one (bulk decisions go through decide_many), so they are imported here
# inside the functions.

def recommendations(store: Store, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """CONTRACT's `recommend --json` objects for every non-person identity, ordered by key."""
    from .analysis.recommend import recommend_all

    with store.session() as s:
        return recommend_all(s, now=now)


def analyse_identity(store: Store, ref: str, graph: IdentityGraph | None = None, *,
                     now: datetime | None = None) -> dict[str, Any]:
    """One identity's recommendation, consumers, blast radius, what breaks if it is retired,
    delegation chains, credential sharers and dependency cycle. Pass the graph a front end
    already holds; without one the whole graph is built first."""
    from .analysis import analyses
    from .analysis.estate import GraphEstate
    from .analysis.policy import load_policy, resolve_now
    from .analysis.recommend import Subject, evaluate

    with store.session() as s:
        key = dec.resolve_identity(s, ref).key
        graph = graph or IdentityGraph.from_session(s)
        policy = load_policy(s)
        view = GraphEstate(s, graph, policy)
        subject = Subject(view, key, resolve_now(s, policy, now))
        rec = evaluate(subject)
        cycle = view.cycle_of(key)
        sharers = view.certificate_sharers(key)
        shared = analyses.shared_credentials(
            graph, [(key, o, f"{view.name_of(key)} and {view.name_of(o)} hold the same certificate") for o in sharers])
        chains = analyses.delegation_chains(graph, key)
        return {
            "key": key, "name": subject.row.name,
            "recommendation": rec.as_dict(),
            "consumers": [{"key": c.key, "name": c.name, "kind": c.kind, "domain": c.domain, "via": list(c.via),
                           "federated": c.federated} for c in subject.consumers],
            "blast_radius": [r.as_dict() for r in analyses.blast_radius(graph, key)],
            "retire_impact": analyses.retire_impact(graph, key).as_dict()["dependents"],
            "delegation_chains": {d: [[h.text for h in chain] for chain in chains[d]] for d in chains},
            "shared_credentials": [g.as_dict() for g in shared if key in g.members],
            "cycle": [view.name_of(k) for k in cycle] if cycle else None,
        }


def split_proposal(store: Store, ref: str, graph: IdentityGraph | None = None) -> dict[str, Any]:
    """The split planner's proposal for one identity: agents (with the consumer keys each serves
    and notes on the evidence) and notes about the identity."""
    from .analysis.estate import GraphEstate
    from .analysis.policy import load_policy
    from .analysis.split_planner import propose

    with store.session() as s:
        key = dec.resolve_identity(s, ref).key
        graph = graph or IdentityGraph.from_session(s)
        return propose(GraphEstate(s, graph, load_policy(s)), key).as_dict()


def propose_agents(store: Store, ref: str, graph: IdentityGraph | None = None) -> list[dict[str, Any]]:
    """The proposed agent specs for a split, as decision-file agent mappings (ready for `decide`)."""
    fields = set(dec.AgentSpecData.__dataclass_fields__)
    return [{k: v for k, v in a.items() if k in fields} for a in split_proposal(store, ref, graph)["agents"]]


def accept_agents(store: Store, ref: str, agents: list[dict[str, Any]] | None = None, reason: str = "",
                  author: str | None = None) -> DecisionChange:
    """Mark `ref` split with `agents` (the architect's edit), or with the proposal as it stands."""
    if agents is None:
        agents = propose_agents(store, ref)
    return decide(store, ref, "split", reason or "split as the split planner proposed", agents=agents,
                  author=author)


def decide_by_filter(store: Store, filter: dict[str, Any], decision: str, reason: str = "",
                     author: str | None = None) -> list[DecisionChange]:
    """One decision for every identity the filter selects (analysis.bulk.IdentityFilter's criteria),
    in one transaction; the returned changes undo as one step (undo_changes)."""
    from .analysis.bulk import decide_by_filter as bulk_decide

    return bulk_decide(store, filter, decision, reason, author=author)


def undo_changes(store: Store, changes: list[DecisionChange], author: str | None = None) -> list[DecisionChange]:
    """Put back what one bulk step changed, in one transaction."""
    from .analysis.bulk import undo

    return undo(store, changes, author=author)


def apply_recommendations(store: Store, author: str | None = None) -> dict[str, Any]:
    """`recommend --apply`: recommendations become decisions where none exists (one transaction)."""
    from .analysis.bulk import apply_recommendations as apply

    result = apply(store, author=author)
    return {"applied": result.applied, "already_decided": result.already_decided,
            "without_recommendation": result.without_recommendation}


def dependency_cycles(store: Store, graph: IdentityGraph | None = None) -> list[dict[str, Any]]:
    """Every cycle of mutual dependency among identities, with its dependencies in words."""
    from .analysis.analyses import dependency_cycles as cycles

    if graph is None:
        graph = load_graph(store)
    return [c.as_dict() for c in cycles(graph)]


def get_policy(store: Store) -> dict[str, Any]:
    """The recommendation policy: the shipped default (with its comments), the project's
    override (None when it keeps none) and the effective policy, all as YAML text."""
    from .analysis.policy import default_policy_text, load_policy, project_override_text

    with store.session() as s:
        return {"default": default_policy_text(), "override": project_override_text(s),
                "effective": load_policy(s).to_yaml()}


def set_policy(store: Store, text: str | None, author: str | None = None, reason: str = "",
               where: str = "policy") -> None:
    """Store the project's policy override (None or empty: back to the default); checked whole
    first (BadInput names the line and key), audited."""
    from .analysis.policy import set_project_policy

    with store.session() as s, s.begin():
        set_project_policy(s, text, author=author, reason=reason, where=where)


__all__ += [
    "accept_agents", "analyse_identity", "apply_recommendations", "decide_by_filter", "dependency_cycles",
    "get_policy", "propose_agents", "recommendations", "set_policy", "split_proposal", "undo_changes",
]

