"""The inventory: identities as the CLI lists them, as the GUI's columns, and one identity's detail."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import selectinload

from .. import decisions as dec
from ..graph import IdentityGraph
from ..model import Credential, Decision, Edge, Finding, Identity, ImportRun, Node, Sighting
from ..store import Store
from .common import KEYS_PER_QUERY, iso_text, iso_z, memo_map, sorted_json_list


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
                "sources": sorted(i.sources or []), "enabled": i.enabled, "last_used": iso_z(i.last_used),
                "credentials": [{"kind": c.kind, "id": c.credential_id, "expires": iso_z(c.expires)}
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
        from ..analysis.recommend import recommend_all
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
            "guid": ident.guid, "enabled": ident.enabled, "created": iso_z(ident.created),
            "last_used": iso_z(ident.last_used), "password_last_set": iso_z(ident.password_last_set),
            "expires": iso_z(ident.expires), "description": ident.description, "flags": list(ident.flags or []),
            "spns": list(ident.spns or []), "emails": list(ident.emails or []),
            "sources": sorted(ident.sources or []), "classification": ident.classification,
            "vanished": ident.vanished, "needs_review": ident.needs_review,
            "credentials": [{"kind": c.kind, "id": c.credential_id, "created": iso_z(c.created),
                             "expires": iso_z(c.expires), "source": c.source_record}
                            for c in ident.credentials],
            "edges": [{"direction": "out" if e.src == ident.key else "in", "kind": e.kind,
                       "other": e.dst if e.src == ident.key else e.src,
                       "other_name": names.get(e.dst if e.src == ident.key else e.src),
                       "attributes": e.attributes or {}, "manual": e.origin is None, "source": e.source_record}
                      for e in graph_edges],
            "sightings": [{"source_kind": x.source_kind, "origin": x.origin, "record": x.source_record,
                           "run": x.import_run_id,
                           "imported_at": iso_z(runs[x.import_run_id].started_at) if x.import_run_id in runs else None,
                           "payload": x.payload} for x in sightings],
            "findings": [{"code": f.code, "tag": f.tag, "severity": f.severity, "message": f.message}
                         for f in findings],
            "decision": dec.decision_state(ident),
            "decision_meta": ({"author": ident.decision.author, "at": iso_z(ident.decision.decided_at),
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


INVENTORY_COLUMNS = ("key", "name", "kind", "authority", "display_name", "upn", "description", "sources", "enabled",
                     "last_used", "vanished", "needs_review", "decision", "credentials", "soonest_expiry",
                     "groups", "consumers", "tags")


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
    out["sources"] = memo_map(out["sources"], sorted_json_list)
    out["last_used"] = memo_map(out["last_used"], iso_text)
    out["soonest_expiry"] = memo_map(out["soonest_expiry"], iso_text)
    out["vanished"] = [bool(v) for v in out["vanished"]]
    out["decision"] = [d or "undecided" for d in out["decision"]]
    for name in ("credentials", "groups", "consumers"):
        out[name] = [n or 0 for n in out[name]]
    out["tags"] = memo_map(out["tags"], lambda t: sorted(set(t.split(","))) if t else [])
    return out


def edge_kind_info() -> dict[str, dict[str, Any]]:
    """Every edge kind with its category, meaning, ordering effect and graph colour."""
    from ..edge_kinds import EDGE_KINDS

    return {name: {"category": k.category, "meaning": k.meaning, "orders": k.orders, "colour": k.colour}
            for name, k in EDGE_KINDS.items()}
