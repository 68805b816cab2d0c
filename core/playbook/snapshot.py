"""The plan's input as plain data: what the store holds, frozen at one moment.

The playbook builder is a pure function of (Snapshot, options). Reading the
store happens here, once, so that the builder can be tested on snapshots made
in code and the same snapshot always gives the same plan.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..decisions import DecisionData, decision_state
from ..graph import Dependency, IdentityGraph
from ..model import Finding, Identity, Node, ProjectInfo


@dataclass
class CredentialFacts:
    kind: str
    id: str
    created: str | None
    expires: str | None


@dataclass
class IdentityFacts:
    key: str
    name: str
    kind: str
    authority: str
    enabled: bool | None
    last_used: str | None
    password_last_set: str | None
    flags: list[str]
    spns: list[str]
    sources: list[str]
    credentials: list[CredentialFacts]
    consumers: list[str]  # consumer node keys
    consumer_names: list[str]
    groups: list[str]  # group names
    owner: str | None
    dn: str | None
    upn: str | None
    needs_review: str | None
    decision: DecisionData | None = None


@dataclass
class FindingFacts:
    subject: str
    code: str
    tag: str
    severity: str
    message: str


@dataclass
class Snapshot:
    project: dict[str, str]
    identities: dict[str, IdentityFacts]
    dependencies: list[Dependency]
    findings: list[FindingFacts] = field(default_factory=list)

    def inventory_hash(self) -> str:
        facts = [_facts_without_decision(self.identities[k]) for k in sorted(self.identities)]
        deps = [asdict(d) for d in self.dependencies]
        return sha256_json({"identities": facts, "dependencies": deps})

    def decisions_hash(self) -> str:
        return sha256_json({k: f.decision.as_dict() for k, f in sorted(self.identities.items()) if f.decision})


def sha256_json(doc: Any) -> str:
    data = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _facts_without_decision(f: IdentityFacts) -> dict[str, Any]:
    d = asdict(f)
    d.pop("decision")
    return d


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def take_snapshot(session: Session, graph: IdentityGraph | None = None) -> Snapshot:
    """Read everything the plan needs from the store in a handful of queries."""
    graph = graph or IdentityGraph.from_session(session)
    info = {row.key: row.value for row in session.scalars(select(ProjectInfo))}
    node_names = dict(session.execute(select(Node.key, Node.name)).all())
    identities: dict[str, IdentityFacts] = {}
    rows = session.scalars(
        select(Identity).options(selectinload(Identity.credentials), selectinload(Identity.decision))
        .where(Identity.kind != "person")
    ).all()
    person_names = dict(session.execute(select(Identity.key, Identity.name).where(Identity.kind == "person")).all())
    for ident in rows:
        consumers = graph.consumers(ident.key)
        owners = sorted(dst for _, dst, _, _ in graph.edges_of(ident.key, ("ManagedBy",), "out"))
        state = decision_state(ident)
        identities[ident.key] = IdentityFacts(
            key=ident.key, name=ident.name, kind=ident.kind, authority=ident.authority, enabled=ident.enabled,
            last_used=_iso(ident.last_used), password_last_set=_iso(ident.password_last_set),
            flags=sorted(ident.flags or []), spns=sorted(ident.spns or []), sources=sorted(ident.sources or []),
            credentials=[CredentialFacts(c.kind, c.credential_id, _iso(c.created), _iso(c.expires))
                         for c in sorted(ident.credentials, key=lambda c: (c.kind, c.credential_id))],
            consumers=consumers,
            consumer_names=[node_names.get(c) or graph.name(c) for c in consumers],
            groups=sorted(graph.name(g) for g in graph.groups(ident.key)),
            owner=(person_names.get(owners[0]) or graph.name(owners[0])) if owners else None,
            dn=ident.dn, upn=ident.upn, needs_review=ident.needs_review,
            decision=DecisionData.from_dict(state) if state else None,
        )
    findings = [FindingFacts(f.subject, f.code, f.tag, f.severity, f.message)
                for f in session.scalars(select(Finding).order_by(Finding.subject, Finding.code, Finding.id))]
    return Snapshot(project=info, identities=identities, dependencies=graph.dependencies(), findings=findings)
