"""Ingest: one import run in one transaction.

Takes the record batches an importer yields, correlates them with what the
project holds (objectGUID, then objectSid, then authority + name, then the
external ids a source declares), resolves the refs between records to node
keys, replaces the facts an earlier import of the same origin contributed, and
records provenance for every fact. Either all of it lands, or none does.

A re-import is a diff: the run records which identities are new, changed and
vanished since the last import of that origin, and a decided identity that
changed materially is flagged for review instead of silently kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from .edge_kinds import EDGE_KINDS
from .errors import BadInput
from .gc_pause import paused_gc
from .model import Credential, Edge, Finding, Identity, ImportRun, Node, Sighting
from .records import (
    CredentialRecord,
    EdgeRecord,
    FindingRecord,
    IdentityRecord,
    ImportWarning,
    NodeRecord,
    Record,
)
from .store import Store

# Fields whose change on a decided identity means the decision must be looked at again.
MATERIAL_FIELDS = ("enabled", "spns", "flags", "password_last_set", "kind")
# Sources that list the accounts an application holds. upn:/email: refs name the directory identity
# such an account was provisioned from, so an identity only these sources have shown is never the
# answer to one (else an app's account could resolve to itself or to another app's account).
ACCOUNT_SOURCES = frozenset({"scim", "scim-json"})
# Edges whose appearance on a decided identity means the decision must be looked at again:
# a new consumer (an edge into it) or a new privilege (an edge out of it).
NEW_CONSUMER_KINDS = frozenset({k for k, ek in EDGE_KINDS.items() if ek.category == "consumption"}
                               | {"FederatedCredential", "ReadGMSAPassword"})
NEW_PRIVILEGE_KINDS = frozenset({k for k, ek in EDGE_KINDS.items()
                                 if ek.category in ("membership", "delegation", "control", "grant")}
                                | {"ReadGMSAPassword", "Owns"})
# How many new / vanished edges a run keeps in its stored diff (the counts are always exact):
# a first import of a million edges should not put a million entries into one JSON value.
EDGE_DIFF_LIMIT = 5000
# Which family names an identity seen in several: the directory of record first.
FAMILY_RANK = {"ad": 0, "entra": 1, "scim": 2}
SOURCE_FAMILY = {"ldap": "ad", "ldif": "ad", "ad-csv": "ad", "ldapdomaindump": "ad", "entra": "entra",
                 "entra-json": "entra", "scim": "scim", "scim-json": "scim"}
NAMING_FIELDS = ("name", "authority", "kind", "dn")
IDENTITY_FIELDS = (
    "kind", "name", "authority", "display_name", "dn", "upn", "sid", "guid", "enabled", "created", "last_used",
    "password_last_set", "expires", "description", "flags", "spns", "emails", "external_ids", "classification",
)


@dataclass
class ImportSummary:
    """What one import run did, for the CLI, the GUI's report and tests."""

    run_id: int
    origin: str
    source_kind: str
    files: list[str]
    identities: int = 0
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    nodes: int = 0
    edges: int = 0
    credentials: int = 0
    findings: int = 0
    needs_review: list[str] = field(default_factory=list)
    edges_new: list[tuple[str, str, str]] = field(default_factory=list)  # (src, kind, dst) since the last run
    edges_vanished: list[tuple[str, str, str]] = field(default_factory=list)
    warnings: list[ImportWarning] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["warnings"] = [f"{w.source_record}: {w.message}" for w in self.warnings]
        return d


def identity_key(authority: str, name: str) -> str:
    return f"{authority.lower()}/{name.lower()}"


def node_key(kind: str, authority: str, name: str) -> str:
    if kind in ("host", "computer"):
        return f"host:{name.lower()}"
    return f"{kind}:{authority.lower()}/{name.lower()}"


_JSON_PLAIN = frozenset({str, int, float, bool, type(None)})


def _json_safe(value: Any) -> Any:
    kind = type(value)
    # Fast paths: raw payloads are mostly lists of strings already (the normalisers make them JSON-safe).
    if kind in _JSON_PLAIN:
        return value
    if kind is list:
        for item in value:
            if type(item) not in _JSON_PLAIN:
                return [_json_safe(v) for v in value]
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_safe(v) for v in value]
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    return value


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(microsecond=0)
    if isinstance(value, list):
        return sorted(json.dumps(_json_safe(v), sort_keys=True) for v in value)
    return value


def _cn_of(dn: str) -> str:
    first = dn.split(",", 1)[0]
    return first.split("=", 1)[1] if "=" in first else first


def _authority_of_dn(dn: str) -> str:
    parts = [p.split("=", 1)[1] for p in dn.split(",") if p.strip().lower().startswith("dc=") and "=" in p]
    return ".".join(p.strip() for p in parts).lower()


class _Index:
    """Lookup tables over the project's existing nodes and identities (one scan each)."""

    def __init__(self, session: Session):
        self.by_guid: dict[str, str] = {}
        self.by_sid: dict[str, str] = {}
        self.by_name: dict[str, str] = {}
        self.by_dn: dict[str, str] = {}
        self.by_ext: dict[str, str] = {}
        self.by_spn: dict[str, str] = {}
        self.by_upn: dict[str, str] = {}
        self.by_email: dict[str, str] = {}
        self.identity_rows: dict[str, dict[str, Any]] = {}
        cols = [getattr(Identity, f) for f in ("id", "key", *IDENTITY_FIELDS, "sources", "needs_review")]
        for row in session.execute(select(*cols)):
            r = row._asdict()
            key = r["key"]
            self.identity_rows[key] = r
            self._add(key, r["guid"], r["sid"], r["dn"], identity_key(r["authority"], r["name"]))
            for ext in r["external_ids"] or ():
                self.by_ext.setdefault(ext.lower(), key)
            if not set(r["sources"] or ()) <= ACCOUNT_SOURCES:
                self.add_contacts(key, r["upn"], r["emails"])
            for spn in r["spns"] or ():
                self.by_spn.setdefault(spn.lower(), key)
        self.spn_loose: dict[tuple[str, str], str] | None = None  # built on first use
        self.node_keys: set[str] = set()
        for key, guid, sid, dn in session.execute(select(Node.key, Node.guid, Node.sid, Node.dn)):
            self.node_keys.add(key)
            self._add(key, guid, sid, dn, None)

    def _add(self, key: str, guid: str | None, sid: str | None, dn: str | None, name_key: str | None) -> None:
        if guid:
            self.by_guid.setdefault(guid.lower(), key)
        if sid:
            self.by_sid.setdefault(sid.upper(), key)
        if dn:
            self.by_dn.setdefault(dn.lower(), key)
        if name_key:
            self.by_name.setdefault(name_key, key)

    def add_contacts(self, key: str, upn: str | None, emails: list[str] | None) -> None:
        if upn:
            self.by_upn.setdefault(upn.lower(), key)
        for mail in emails or ():
            self.by_email.setdefault(mail.lower(), key)

    def correlate(self, rec: IdentityRecord) -> str | None:
        if rec.guid and (k := self.by_guid.get(rec.guid.lower())):
            return k
        if rec.sid and (k := self.by_sid.get(rec.sid.upper())):
            return k
        if rec.key and rec.key in self.identity_rows:
            return rec.key
        name_key = identity_key(rec.authority, rec.name)
        # A source that keys its identities itself (Entra: tenant/appId) has names that need not be
        # unique (displayName), so the same name there is no evidence of the same account.
        if (not rec.key or rec.key == name_key) and (k := self.by_name.get(name_key)):
            return k
        for ext in rec.external_ids:
            if k := self.by_ext.get(ext.lower()):
                return k
        return None


def ingest(store: Store, batches: Iterable[list[Record]], **kwargs: Any) -> ImportSummary:
    """Write one import run in its own transaction."""
    with store.session() as session, session.begin(), paused_gc():
        return ingest_into(session, batches, **kwargs)


def ingest_into(
    session: Session,
    batches: Iterable[list[Record]],
    *,
    source_kind: str,
    family: str,
    source: str,
    authority: str | None = None,
    warnings: list[ImportWarning] | None = None,
    files: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportSummary:
    """Add one import run to `session`'s transaction; raise BadInput when records don't fit.

    The caller owns the transaction: on any exception it rolls back and nothing is written.
    """
    identities: list[IdentityRecord] = []
    nodes: list[NodeRecord] = []
    creds: list[CredentialRecord] = []
    edges: list[EdgeRecord] = []
    findings: list[FindingRecord] = []
    for batch in batches:
        for rec in batch:
            if isinstance(rec, EdgeRecord):
                edges.append(rec)
            elif isinstance(rec, IdentityRecord):
                identities.append(rec)
            elif isinstance(rec, NodeRecord):
                nodes.append(rec)
            elif isinstance(rec, CredentialRecord):
                creds.append(rec)
            elif isinstance(rec, FindingRecord):
                findings.append(rec)
    if not identities and not nodes:
        raise BadInput(source, "no identities, groups or hosts found")
    authorities = sorted({r.authority for r in identities} | {r.authority for r in nodes if r.kind != "host"})
    origin_authority = authority or (authorities[0] if len(authorities) == 1 else ",".join(authorities))
    origin = f"{family}:{origin_authority}"
    now = datetime.now(UTC)
    if progress:
        progress(f"writing {len(identities)} identities, {len(edges)} edges")

    index = _Index(session)
    run = ImportRun(source_kind=source_kind, family=family, origin=origin, source=source, started_at=now)
    session.add(run)
    session.flush()
    summary = ImportSummary(run_id=run.id, origin=origin, source_kind=source_kind, files=files or [source])
    summary.warnings = list(warnings or [])

    ref_to_key: dict[str, str] = {}

    # Identities: correlate, then insert the new and update the known.
    seen_keys: dict[str, IdentityRecord] = {}
    for rec in identities:
        key = index.correlate(rec) or rec.key or identity_key(rec.authority, rec.name)
        if key in seen_keys and seen_keys[key] is not rec:
            other = seen_keys[key]
            if other.guid and rec.guid and other.guid.lower() != rec.guid.lower():
                raise BadInput(rec.source_record,
                               f"identity {rec.name!r} appears twice in this import with different "
                               f"objectGUIDs (also at {other.source_record})")
        seen_keys[key] = rec
        ref_to_key[rec.ref.lower()] = key
        for alias in _aliases(rec.dn, rec.sid, rec.guid):
            ref_to_key.setdefault(alias, key)
        index._add(key, rec.guid, rec.sid, rec.dn, identity_key(rec.authority, rec.name))
        for spn in rec.spns:
            index.by_spn[spn.lower()] = key
    for rec in nodes:
        key = None
        if rec.guid:
            key = index.by_guid.get(rec.guid.lower())
        if key is None and rec.sid:
            key = index.by_sid.get(rec.sid.upper())
        if key is None:
            key = rec.ref[4:].lower() if rec.ref.startswith("key:") else node_key(rec.kind, rec.authority, rec.name)
        ref_to_key[rec.ref.lower()] = key
        for alias in _aliases(rec.dn, rec.sid, rec.guid):
            ref_to_key.setdefault(alias, key)
        index._add(key, rec.guid, rec.sid, rec.dn, None)

    new_rows: list[dict[str, Any]] = []
    upd_rows: list[dict[str, Any]] = []
    review: dict[int, list[str]] = {}
    decided_ids = _decided_identity_ids(session)
    for key, rec in seen_keys.items():
        values = {f: getattr(rec, f) for f in IDENTITY_FIELDS}
        old = index.identity_rows.get(key)
        if old is None:
            values.update(key=key, sources=[source_kind], first_seen_run=run.id, last_seen_run=run.id,
                          vanished=False)
            new_rows.append(values)
            summary.new.append(key)
            continue
        merged = dict(values)
        for f in IDENTITY_FIELDS:  # a source that does not know a field does not erase it
            if merged[f] is None or merged[f] == [] or merged[f] == "":
                merged[f] = old[f]
        if _outranked(family, old["sources"]):
            # The directory of record names the account (CONTRACT: AD's sAMAccountName, not the
            # Entra displayName a hybrid sync gives it); later families add facts, not names.
            for f in NAMING_FIELDS:
                if old[f] is not None:
                    merged[f] = old[f]
        changed = [f for f in IDENTITY_FIELDS if _comparable(merged[f]) != _comparable(old[f])]
        sources = sorted(set(old["sources"] or []) | {source_kind})
        merged.update(id=old["id"], sources=sources, last_seen_run=run.id, vanished=False)
        if changed:
            summary.changed.append(key)
            material = [f for f in changed if f in MATERIAL_FIELDS]
            if material and old["id"] in decided_ids:
                _add_review(review, old["id"], "changed since decided: " + ", ".join(material))
        upd_rows.append(merged)

    for i in range(0, len(new_rows), 10000):  # in slices: the bound parameters of 100k rows at once are big
        session.execute(insert(Identity.__table__), new_rows[i:i + 10000])
    if upd_rows:
        session.execute(update(Identity), upd_rows)
    del new_rows, upd_rows  # written: a big import's peak memory comes later
    id_of = dict(session.execute(select(Identity.key, Identity.id)).all())

    # Identities this origin showed last time that it no longer shows.
    prev = select(Sighting.identity_id).where(Sighting.origin == origin).distinct()
    seen_ids = {id_of[k] for k in seen_keys}
    for ident_id, key in session.execute(select(Identity.id, Identity.key).where(Identity.id.in_(prev))):
        if ident_id not in seen_ids:
            summary.vanished.append(key)
            session.execute(update(Identity).where(Identity.id == ident_id).values(vanished=True))
            if ident_id in decided_ids:
                _add_review(review, ident_id, f"no longer present in {origin}")

    # What this origin said last time, to diff this run's edges and credentials against.
    old_edges = {(a, b, k) for a, b, k in session.execute(
        select(Edge.src, Edge.dst, Edge.kind).where(Edge.origin == origin))}
    old_creds = _credential_facts(tuple(r) for r in session.execute(
        select(Credential.identity_id, Credential.kind, Credential.credential_id, Credential.created,
               Credential.expires).where(Credential.origin == origin)))

    # Provenance: the facts this origin gave before are replaced by this run's.
    # Sightings are provenance per source: a CSV of the domain replaces the last CSV's, not the LDIF's.
    session.execute(delete(Sighting).where(Sighting.origin == origin, Sighting.source_kind == source_kind))
    session.execute(delete(Edge).where(Edge.origin == origin))
    session.execute(delete(Credential).where(Credential.origin == origin))
    session.execute(delete(Finding).where(Finding.origin == origin))
    sighted = list(seen_keys.items())
    for i in range(0, len(sighted), 10000):  # in slices: an empty list would insert one row of defaults
        session.execute(insert(Sighting.__table__), [
            {"identity_id": id_of[k], "import_run_id": run.id, "origin": origin, "source_kind": source_kind,
             "source_record": r.source_record, "payload": _json_safe(r.attributes)}
            for k, r in sighted[i:i + 10000]
        ])
    del sighted

    # Nodes: upsert by key.
    node_rows: dict[str, dict[str, Any]] = {}
    for rec in nodes:
        key = ref_to_key[rec.ref.lower()]
        if key in id_of:
            continue  # the same object was also seen as an identity
        if rec.attributes.get("placeholder") and key in node_rows:
            continue  # a node known only by a reference never replaces the full record of this run
        if rec.kind == "host" and key in node_rows and node_rows[key]["kind"] != "host":
            continue  # a host known from an SPN never replaces its computer object, whichever came first
        node_rows[key] = {"key": key, "kind": rec.kind, "name": rec.name, "authority": rec.authority,
                          "dn": rec.dn, "sid": rec.sid, "guid": rec.guid, "description": rec.description,
                          "attributes": _json_safe(rec.attributes), "import_run_id": run.id,
                          "source_record": rec.source_record}

    # Edges: resolve refs; unknown ends become placeholder nodes so nothing is lost.
    # Rows are plain tuples: a million edges is a normal estate, and per-row dicts and bind processing
    # were most of an import's time.
    edge_rows: list[tuple[Any, ...]] = []
    seen_edges: set[tuple[str, str, str]] = set()
    known = ref_to_key.get
    run_id = run.id
    for e in edges:
        kind = e.kind
        if kind not in EDGE_KINDS:
            raise BadInput(e.source_record, f"unknown edge kind {kind!r}")
        src = known(e.src_ref.lower()) or _resolve(e.src_ref, ref_to_key, index, node_rows, run_id, kind, "src",
                                                   create=not e.optional)
        dst = known(e.dst_ref.lower()) or _resolve(e.dst_ref, ref_to_key, index, node_rows, run_id, kind, "dst",
                                                   create=not e.optional)
        if src is None or dst is None or src == dst:
            continue
        sig = (src, dst, kind)
        if sig in seen_edges:
            continue
        seen_edges.add(sig)
        attributes = e.attributes
        edge_rows.append((src, dst, kind, json.dumps(attributes) if attributes else None, run_id, origin,
                          e.source_record))

    fresh = [r for k, r in node_rows.items() if k not in index.node_keys]
    stale = [r for k, r in node_rows.items() if k in index.node_keys]
    if fresh:
        session.execute(insert(Node.__table__), fresh)
    if stale:
        node_ids = dict(session.execute(select(Node.key, Node.id).where(
            Node.key.in_([r["key"] for r in stale]))).all())
        for r in stale:
            r["id"] = node_ids[r["key"]]
            if r["attributes"].get("placeholder"):
                r.pop("attributes")  # a placeholder never overwrites what a real record said
                for f in ("name", "kind", "dn", "sid", "guid", "description", "source_record"):
                    r.pop(f)
        session.execute(update(Node), stale)
    with _indexes_rebuilt_after(session, Edge.__table__, len(edge_rows)):
        _insert_tuples(session, Edge.__table__,
                       ("src", "dst", "kind", "attributes", "import_run_id", "origin", "source_record"), edge_rows)
    edge_count = len(edge_rows)
    del edge_rows

    cred_rows = []
    for c in creds:
        owner = ref_to_key.get(c.owner_ref.lower())
        if owner is None or owner not in id_of:
            raise BadInput(c.source_record, f"credential of unknown identity {c.owner_ref}")
        cred_rows.append({"identity_id": id_of[owner], "kind": c.kind, "credential_id": c.credential_id,
                          "created": c.created, "expires": c.expires, "attributes": _json_safe(c.attributes),
                          "import_run_id": run.id, "origin": origin, "source_record": c.source_record})
    if cred_rows:
        session.execute(insert(Credential.__table__), cred_rows)
    finding_rows = []
    for f in findings:
        subject = ref_to_key.get(f.subject_ref.lower(), f.subject_ref)
        finding_rows.append({"subject": subject, "code": f.code, "tag": f.tag, "severity": f.severity,
                             "message": f.message, "import_run_id": run.id, "origin": origin,
                             "source_record": f.source_record})
    if finding_rows:
        session.execute(insert(Finding.__table__), finding_rows)

    # The re-import diff of edges, and what of it is a material change to a decided identity.
    summary.edges_new = sorted((a, k, b) for a, b, k in seen_edges - old_edges)
    summary.edges_vanished = sorted((a, k, b) for a, b, k in old_edges - seen_edges)
    decided_keys = {k: i for k, i in id_of.items() if i in decided_ids}

    def name_of(key: str) -> str:
        if key in node_rows:
            return node_rows[key]["name"]
        rec = seen_keys.get(key)
        return rec.name if rec is not None else _display(key)

    for src, kind, dst in summary.edges_new:
        if kind in NEW_CONSUMER_KINDS and dst in decided_keys:
            _add_review(review, decided_keys[dst], f"new consumer {name_of(src)} ({kind})")
        if kind in NEW_PRIVILEGE_KINDS and src in decided_keys:
            _add_review(review, decided_keys[src], f"new privilege {kind} {name_of(dst)}")
    new_creds = _credential_facts((r["identity_id"], r["kind"], r["credential_id"], r["created"], r["expires"])
                                  for r in cred_rows)
    for ident_id in decided_ids:
        before, after = old_creds.get(ident_id, {}), new_creds.get(ident_id, {})
        if before == after:
            continue
        changes = [f"{cid[0]} {cid[1]} {'rotated' if cid in before else 'added'}"
                   for cid in sorted(after) if before.get(cid) != after[cid]]
        changes += [f"{cid[0]} {cid[1]} removed" for cid in sorted(set(before) - set(after))]
        _add_review(review, ident_id, "credential changed: " + ", ".join(changes))
    for ident_id, why in review.items():
        session.execute(update(Identity).where(Identity.id == ident_id).values(needs_review="; ".join(why)))
    summary.needs_review = sorted(k for k, i in id_of.items() if i in review)

    summary.identities = len(seen_keys)
    summary.nodes = len(node_rows)
    summary.edges = edge_count
    summary.credentials = len(cred_rows)
    summary.findings = len(finding_rows)
    run.finished_at = datetime.now(UTC)
    run.counts = {"identities": summary.identities, "nodes": summary.nodes, "edges": summary.edges,
                  "credentials": summary.credentials, "findings": summary.findings}
    run.warnings = [f"{w.source_record}: {w.message}" for w in summary.warnings]
    run.diff = {"new": summary.new, "changed": summary.changed, "vanished": summary.vanished,
                "needs_review": summary.needs_review,
                "edges_new": [list(e) for e in summary.edges_new[:EDGE_DIFF_LIMIT]],
                "edges_vanished": [list(e) for e in summary.edges_vanished[:EDGE_DIFF_LIMIT]],
                "edges_new_count": len(summary.edges_new), "edges_vanished_count": len(summary.edges_vanished)}
    return summary


BULK_REINDEX_ROWS = 50_000


@contextmanager
def _indexes_rebuilt_after(session: Session, table: Any, adding: int) -> Iterator[None]:
    """On SQLite, drop `table`'s indexes for a bulk insert and build them again after it.

    Building an index once from sorted keys is several times faster than updating it row by row
    (a million edges: 12 s of inserts became 2.4 s + 3.2 s). Only when the insert is big and at
    least as big as what the table holds; DDL is transactional in SQLite, so a failed import
    rolls the dropped indexes back with everything else.
    """
    connection = session.connection()
    raw = connection.connection.dbapi_connection
    # pysqlite runs DDL outside a transaction unless one is open already (ingest's inserts opened it):
    # without one, a failed import could not bring the indexes back, so leave them alone.
    if connection.dialect.name != "sqlite" or adding < BULK_REINDEX_ROWS or not getattr(raw, "in_transaction",
                                                                                        False):
        yield
        return
    existing = connection.exec_driver_sql(f"SELECT count(*) FROM {table.name}").scalar() or 0
    if existing > adding:
        yield
        return
    indexes = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table.name,)).all()
    for name, _sql in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _name, sql in indexes:
        connection.exec_driver_sql(sql)


def _insert_tuples(session: Session, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """executemany of plain tuples on the session's connection (same transaction), values already
    in their stored form (JSON columns as text); falls back to Core inserts for named paramstyles."""
    if not rows:
        return
    connection = session.connection()
    style = connection.dialect.paramstyle
    if style in ("qmark", "format", "pyformat", "numeric"):
        marks = [f":{i}" for i in range(1, len(columns) + 1)] if style == "numeric" else \
            ["?" if style == "qmark" else "%s"] * len(columns)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(marks)})"
        for i in range(0, len(rows), 50000):
            connection.exec_driver_sql(sql, rows[i:i + 50000])
        return
    dicts = [dict(zip(columns, row, strict=True)) for row in rows]
    for d in dicts:
        if d.get("attributes") is not None:
            d["attributes"] = json.loads(d["attributes"])
    for i in range(0, len(dicts), 50000):
        session.execute(insert(table), dicts[i:i + 50000])


def _outranked(family: str, old_sources: list[str] | None) -> bool:
    """True when an earlier source of the identity has a family that names it before `family` does."""
    rank = FAMILY_RANK.get(family, len(FAMILY_RANK))
    return any(FAMILY_RANK.get(SOURCE_FAMILY.get(src, ""), len(FAMILY_RANK)) < rank for src in old_sources or ())


def _add_review(review: dict[int, list[str]], ident_id: int, why: str) -> None:
    review.setdefault(ident_id, []).append(why)


def _display(key: str) -> str:
    """A node key as a person reads it: host:web01.x -> web01.x (identity keys are already plain)."""
    prefix, sep, rest = key.partition(":")
    return rest if sep and prefix.isalpha() and "/" not in prefix else key


def _credential_facts(rows: Iterable[tuple[int, str, str, Any, Any]]) -> dict[int, dict[tuple[str, str], tuple]]:
    """{identity id: {(kind, credential id): (created, expires)}}, dates compared to the second."""
    out: dict[int, dict[tuple[str, str], tuple]] = {}
    for ident_id, kind, cid, created, expires in rows:
        out.setdefault(ident_id, {})[(kind, cid)] = (_comparable(created), _comparable(expires))
    return out


def _aliases(dn: str | None, sid: str | None, guid: str | None) -> list[str]:
    out = []
    if dn:
        out.append("dn:" + dn.lower())
    if sid:
        out.append("sid:" + sid.lower())
    if guid:
        out.append("guid:" + guid.lower())
    return out


def _decided_identity_ids(session: Session) -> set[int]:
    from .model import Decision

    return set(session.scalars(select(Decision.identity_id).where(Decision.decision != "undecided")).all())


def _resolve(ref: str, ref_to_key: dict[str, str], index: _Index, node_rows: dict[str, dict[str, Any]],
             run_id: int, edge_kind: str, end: str, create: bool = True) -> str | None:
    """The node key `ref` names; an unknown end becomes a placeholder node, or None when not `create`."""
    low = ref.lower()
    if (key := ref_to_key.get(low)) is not None:
        return key
    scheme, _, value = low.partition(":")
    key = None
    if scheme == "dn":
        key = index.by_dn.get(value)
    elif scheme == "sid":
        key = index.by_sid.get(value.upper())
    elif scheme == "guid":
        key = index.by_guid.get(value)
    elif scheme == "spn":
        key = index.by_spn.get(value) or _spn_owner_loose(value, index)
    elif scheme == "key":
        key = value
    elif scheme == "ext":
        key = index.by_ext.get(low)
    elif scheme == "upn":
        key = index.by_upn.get(value) or index.by_email.get(value)
    elif scheme == "email":
        key = index.by_email.get(value) or index.by_upn.get(value)
    elif scheme == "host":
        key = "host:" + value
    if key is None:
        if not create:
            return None
        key = _placeholder(scheme, value, ref, node_rows, run_id, edge_kind, end)
    ref_to_key[low] = key
    return key


def _spn_owner_loose(spn: str, index: _Index) -> str | None:
    """An SPN without its port, or with a short host name, still names the same service."""
    if index.spn_loose is None:
        index.spn_loose = {}
        for known, key in index.by_spn.items():
            service, _, rest = known.partition("/")
            host = rest.split("/", 1)[0].split(":", 1)[0]
            index.spn_loose.setdefault((service, host), key)
            index.spn_loose.setdefault((service, host.split(".", 1)[0]), key)
    service, _, rest = spn.partition("/")
    host = rest.split("/", 1)[0].split(":", 1)[0]
    return index.spn_loose.get((service, host)) or index.spn_loose.get((service, host.split(".", 1)[0]))


def _placeholder(scheme: str, value: str, ref: str, node_rows: dict[str, dict[str, Any]], run_id: int,
                 edge_kind: str, end: str) -> str:
    if scheme == "spn":
        host = value.partition("/")[2].split("/", 1)[0].split(":", 1)[0]
        key = "host:" + host
        name, kind = host, "host"
    elif scheme == "dn":
        name = _cn_of(value)
        kind = "group" if (edge_kind == "MemberOf" and end == "dst") else "resource"
        key = f"{kind}:{_authority_of_dn(value)}/{name.lower()}"
    elif scheme == "sid":
        key, name, kind = "sid:" + value.upper(), value.upper(), "principal"
    else:
        key, name, kind = f"{scheme}:{value}", value, "resource"
    if key not in node_rows:
        node_rows[key] = {"key": key, "kind": kind, "name": name, "authority": "",
                          "dn": value if scheme == "dn" else None, "sid": value.upper() if scheme == "sid" else None,
                          "guid": None, "description": None, "attributes": {"placeholder": True, "ref": ref},
                          "import_run_id": run_id, "source_record": None}
    return key
