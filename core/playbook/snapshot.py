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
from ..model import Finding, Identity, Node, ProjectInfo, Sighting


@dataclass
class CredentialFacts:
    kind: str
    id: str
    created: str | None
    expires: str | None


@dataclass
class ScimGroupFacts:
    """A group of a downstream SCIM service that holds an account."""

    key: str
    name: str
    scim_id: str | None  # the group's id at the service, when the import recorded it


@dataclass
class ScimAccountFacts:
    """An account that a downstream application holds for an identity (ProvisionedAs -> ProvisionedIn)."""

    key: str  # the scim_account identity's key
    user_name: str
    scim_id: str | None
    application: str  # application node key
    application_name: str
    base_url: str | None  # the service's SCIM base URL, when known
    agents_endpoint: bool  # the service offers the draft /Agents resource
    groups: list[ScimGroupFacts] = field(default_factory=list)


@dataclass
class SamlAppFacts:
    """An application that trusts SAML assertions about an identity (AuthenticatesWithSaml)."""

    key: str
    name: str
    entity_id: str
    acs_url: str | None
    name_id_format: str | None
    name_id: str | None  # how the assertions name the identity today
    grant: str  # "sso" (the identity is the assertions' subject) or "saml2-bearer" (RFC 7522)
    token_endpoint: str | None  # for saml2-bearer: where the assertion is exchanged for a token
    attributes: dict[str, list[str]] = field(default_factory=dict)  # attribute statements about it


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
    scim_accounts: list[ScimAccountFacts] = field(default_factory=list)
    saml_apps: list[SamlAppFacts] = field(default_factory=list)


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
    _add_downstream_apps(session, graph, identities)
    findings = [FindingFacts(f.subject, f.code, f.tag, f.severity, f.message)
                for f in session.scalars(select(Finding).order_by(Finding.subject, Finding.code, Finding.id))]
    return Snapshot(project=info, identities=identities, dependencies=graph.dependencies(), findings=findings)


def _chunks(keys: list[str], size: int = 500) -> list[list[str]]:
    return [keys[i:i + size] for i in range(0, len(keys), size)]


def _add_downstream_apps(session: Session, graph: IdentityGraph, identities: dict[str, IdentityFacts]) -> None:
    """Fill scim_accounts and saml_apps: the applications that hold or trust each identity.

    SCIM: identity --ProvisionedAs--> scim_account --ProvisionedIn--> application, and the
    account's MemberOf groups there. SAML: identity --AuthenticatesWithSaml--> application
    whose attributes say {protocol: saml, entity_id, acs_url, ...}.
    """
    provisioned: dict[str, list[tuple[str, str, dict]]] = {}  # identity -> [(account, app, edge attrs)]
    saml: dict[str, list[tuple[str, dict]]] = {}
    node_keys: set[str] = set()
    for key in identities:
        for _, account, _, _ in graph.edges_of(key, ("ProvisionedAs",), "out"):
            for _, app, _, data in graph.edges_of(account, ("ProvisionedIn",), "out"):
                provisioned.setdefault(key, []).append((account, app, data.get("attributes") or {}))
                node_keys.add(app)
                node_keys.update(g for _, g, _, _ in graph.edges_of(account, ("MemberOf",), "out"))
        for _, app, _, data in graph.edges_of(key, ("AuthenticatesWithSaml",), "out"):
            saml.setdefault(key, []).append((app, data.get("attributes") or {}))
            node_keys.add(app)
    if not provisioned and not saml:
        return
    attrs: dict[str, dict] = {}
    for chunk in _chunks(sorted(node_keys)):
        attrs.update(session.execute(select(Node.key, Node.attributes).where(Node.key.in_(chunk))).all())
    accounts = sorted({acc for rows in provisioned.values() for acc, _, _ in rows})
    payload_id: dict[str, str] = {}
    for chunk in _chunks(accounts):
        rows = session.execute(
            select(Identity.key, Sighting.payload).join(Sighting, Sighting.identity_id == Identity.id)
            .where(Identity.key.in_(chunk)).order_by(Identity.key, Sighting.id)).all()
        for acc, payload in rows:  # the latest sighting wins
            if isinstance(payload, dict) and isinstance(payload.get("id"), str):
                payload_id[acc] = payload["id"]
    for key, rows in provisioned.items():
        facts = []
        for account, app, edge_attrs in sorted(rows, key=lambda r: (r[1], r[0])):
            app_attrs = attrs.get(app) or {}
            groups = sorted(
                (ScimGroupFacts(g, graph.name(g), _str((attrs.get(g) or {}).get("id")))
                 for _, g, _, _ in graph.edges_of(account, ("MemberOf",), "out")),
                key=lambda x: (x.name, x.key))
            endpoints = [str(e).rstrip("/").rsplit("/", 1)[-1].lower() for e in app_attrs.get("endpoints") or []]
            facts.append(ScimAccountFacts(
                key=account, user_name=graph.name(account),
                scim_id=_str(edge_attrs.get("id")) or payload_id.get(account),
                application=app, application_name=graph.name(app),
                base_url=_str(app_attrs.get("scim_base") or app_attrs.get("base_url")),
                agents_endpoint=bool(app_attrs.get("agents_supported")) or "agents" in endpoints,
                groups=groups))
        identities[key].scim_accounts = facts
    for key, rows in saml.items():
        apps = []
        for app, edge_attrs in sorted(rows, key=lambda r: r[0]):
            app_attrs = attrs.get(app) or {}
            values = edge_attrs.get("attributes") or {}
            apps.append(SamlAppFacts(
                key=app, name=graph.name(app), entity_id=_str(app_attrs.get("entity_id")) or app,
                acs_url=_str(app_attrs.get("acs_url")), name_id_format=_str(app_attrs.get("name_id_format")),
                name_id=_str(edge_attrs.get("name_id")),
                grant="saml2-bearer" if edge_attrs.get("grant") == "saml2-bearer" else "sso",
                token_endpoint=_str(app_attrs.get("token_endpoint")),
                attributes={str(k): [str(v) for v in (vs if isinstance(vs, list) else [vs])]
                            for k, vs in sorted(values.items())} if isinstance(values, dict) else {}))
        identities[key].saml_apps = apps


def _str(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and str(value) else None
