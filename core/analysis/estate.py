"""What the rules and the split planner read about identities, behind one interface.

`EstateView` answers the questions rules ask (an identity's row, its edges, its
credentials, findings and a few source attributes) and derives the facts several
rules share: consumers, transitive groups, owners, permissions, delegation
targets. Two views implement it:

- `Estate` loads the whole project in a handful of bulk queries (every identity,
  node, edge, credential and finding at once) for `recommend_all`, bulk
  decisions and `recommend --apply`: no query per identity.
- `GraphEstate` sits on an `IdentityGraph` (the networkx graph a front end
  already holds) and fetches rows for the few identities one detail view needs.

Edge attribute conventions read here (what importers put on edges):
``AllowedToDelegate``/``AllowedToAct`` may carry ``spn`` (the delegation target
as written); ``AppRoleAssignment`` carries the role's value in ``value`` (or
``appRoleValue``, ``role``, ``permission``; ``appRoleId`` as a last resort);
``DelegatedGrant`` carries ``scope`` (space-separated, as Graph writes it) or
``scopes`` (a list); any grant may name the consumer it serves in ``client``,
``consumer`` or ``workload``; ``FederatedCredential`` may carry ``subject`` and
``issuer``, as may a ``federated`` credential's attributes.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import Any

import networkx as nx
from sqlalchemy import String, Text, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from ..edge_kinds import EDGE_KINDS
from ..graph import IdentityGraph
from ..model import Credential, Edge, Finding, Identity, Node, Sighting
from .policy import Policy

CONSUMER_EDGE_KINDS = ("UsesIdentity", "FederatedCredential")
DELEGATION_KINDS = ("AllowedToDelegate", "AllowedToAct")
CONTROL_KINDS = ("GenericAll", "GenericWrite", "WriteDacl", "WriteOwner", "Owns")
GRANT_KINDS = ("AppRoleAssignment", "DelegatedGrant")
MANAGED_KINDS = ("gmsa", "smsa", "dmsa", "managed_identity")
HOST_KINDS = ("host", "computer")
GROUP_KINDS = ("group",)
# Source attributes read besides the watched interactive-logon ones.
THIRD_PARTY_ATTRIBUTE = "appownerorganizationid"
_ZERO_GUID = "00000000-0000-0000-0000-000000000000"

EdgeRef = tuple[str, str, dict[str, Any] | None]  # (the other end, edge kind, attributes)


@dataclass(slots=True)
class IdentityRow:
    id: int
    key: str
    kind: str
    name: str
    authority: str
    enabled: bool | None
    created: datetime | None
    last_used: datetime | None
    password_last_set: datetime | None
    flags: frozenset[str]
    spns: tuple[str, ...]
    upn: str | None
    emails: tuple[str, ...]
    vanished: bool
    needs_review: str | None
    description: str | None = None


@dataclass(slots=True)
class NodeRow:
    key: str
    kind: str
    name: str
    authority: str
    sid: str | None


@dataclass(slots=True)
class CredentialRow:
    kind: str
    credential_id: str
    created: datetime | None
    expires: datetime | None
    attributes: dict[str, Any]


@dataclass(slots=True)
class FindingRow:
    tag: str
    code: str
    severity: str
    message: str


@dataclass(frozen=True, slots=True)
class Consumer:
    """A host or workload that uses an identity, and how we know (the edges or SPNs)."""

    key: str
    name: str
    kind: str  # host | workload
    domain: str
    via: tuple[str, ...]
    federated: bool
    runs_service: bool = False  # an SPN of the identity names this host
    reads_password: bool = False  # it may read the identity's managed password


@dataclass(frozen=True, slots=True)
class Workload:
    """Consumers that are one workload: hosts that differ only by a number (web01, web02) in one
    domain; for a managed account (gMSA ...), the hosts that read its password together with the
    hosts its SPNs name (the farm that runs its one service); every other consumer on its own."""

    id: str
    label: str
    consumers: tuple[Consumer, ...]


def group_workloads(kind: str, consumers: Iterable[Consumer], strip: re.Pattern[str]) -> list[Workload]:
    farm = kind in MANAGED_KINDS
    members: dict[str, list[Consumer]] = defaultdict(list)
    role_of: dict[str, tuple[str, str]] = {}
    for c in sorted(consumers, key=lambda c: c.key):
        if c.kind == "host":
            label = first_label(c.name)
            role = strip.sub("", label) or label
            wid = "farm" if farm and (c.runs_service or c.reads_password) else f"host:{role}@{c.domain}"
            if wid not in role_of or (wid == "farm" and c.runs_service and not role_of[wid][1]):
                role_of[wid] = (role, "spn" if c.runs_service else "")
        else:
            wid = f"workload:{c.key}"
            role_of[wid] = (c.name, "")
        members[wid].append(c)
    roles = [role_of[w][0] for w in members if w.startswith("host:")]
    out = []
    for wid, cs in members.items():
        label = role_of[wid][0]
        if wid.startswith("host:") and roles.count(label) > 1:  # the same role in two domains
            label = f"{label}-{first_label(cs[0].domain)}" if cs[0].domain else label
        out.append(Workload(wid, label, tuple(cs)))
    return sorted(out, key=lambda w: (w.label.lower(), w.id))


@dataclass(frozen=True, slots=True)
class Permission:
    """One application permission or delegated scope an identity holds on a resource."""

    resource: str  # node key
    resource_name: str
    value: str
    delegated: bool  # a delegated scope (on behalf of users) rather than an application role
    client: str | None  # the consumer the source says it serves, when it says


@dataclass(frozen=True, slots=True)
class DelegationTarget:
    target: str  # node key (the service's owner, or the host)
    target_name: str
    spn: str | None
    kind: str  # AllowedToDelegate | AllowedToAct


def spn_parts(spn: str) -> tuple[str, str]:
    """(service class, host) of an SPN, both lower-case: MSSQLSvc/db01.x:1433 -> (mssqlsvc, db01.x)."""
    service, _, rest = spn.partition("/")
    host = rest.split("/", 1)[0].split(":", 1)[0]
    return service.lower(), host.lower()


def first_label(name: str) -> str:
    return name.split(".", 1)[0].lower()


@lru_cache(maxsize=512)
def _pattern_set(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    # One regular expression for the whole list: the rules ask about every consumer of every identity.
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p.lower())})" for p in patterns))


def matches_any(value: str, patterns: Iterable[str]) -> str | None:
    """The first shell-style pattern `value` matches, case-insensitively."""
    pats = tuple(patterns)
    combined = _pattern_set(pats)
    low = value.lower()
    if combined is None or not combined.match(low):
        return None
    return next(p for p in pats if fnmatch.fnmatchcase(low, p.lower()))


class EstateView:
    """Primitives (implemented by a loader) and the facts derived from them."""

    policy: Policy

    # -- primitives ---------------------------------------------------------------------------
    def identity(self, key: str) -> IdentityRow | None:
        raise NotImplementedError

    def node(self, key: str) -> NodeRow | None:
        raise NotImplementedError

    def out_edges(self, key: str) -> Sequence[EdgeRef]:
        raise NotImplementedError

    def in_edges(self, key: str) -> Sequence[EdgeRef]:
        raise NotImplementedError

    def credentials(self, key: str) -> list[CredentialRow]:
        raise NotImplementedError

    def findings(self, key: str) -> list[FindingRow]:
        raise NotImplementedError

    def payload(self, key: str) -> dict[str, Any]:
        """Watched source attributes of an identity (lower-case names), from every source that showed it."""
        raise NotImplementedError

    def certificate_sharers(self, key: str) -> list[str]:
        """Other identities holding a certificate with the same thumbprint."""
        raise NotImplementedError

    def cycle_of(self, key: str) -> list[str] | None:
        """The identities of a dependency cycle `key` is part of, in cycle order from `key`."""
        raise NotImplementedError

    def reports_usage(self, authority: str) -> bool:
        """Whether the source of `authority` reports last use at all (so null means never used)."""
        raise NotImplementedError

    # -- derived ------------------------------------------------------------------------------
    def name_of(self, key: str) -> str:
        ident = self.identity(key)
        if ident is not None:
            return ident.name
        node = self.node(key)
        if node is not None:
            return node.name
        return key.split(":", 1)[1] if ":" in key else key

    def kind_of(self, key: str) -> str | None:
        ident = self.identity(key)
        if ident is not None:
            return ident.kind
        node = self.node(key)
        return node.kind if node is not None else None

    def is_group(self, key: str) -> bool:
        return self.identity(key) is None and (self.kind_of(key) in GROUP_KINDS or key.startswith("group:"))

    def members(self, group: str, limit: int = 100_000) -> list[str]:
        """Non-group members of `group`, through nested groups."""
        seen, stack, found = {group}, [group], []
        while stack and len(found) < limit:
            g = stack.pop()
            for src, kind, _ in self.in_edges(g):
                if kind != "MemberOf" or src in seen:
                    continue
                seen.add(src)
                (stack if self.is_group(src) else found).append(src)
        return sorted(found)

    def group_paths(self, key: str) -> dict[str, str | None]:
        """Every group `key` belongs to, directly or nested, with the direct group it comes through
        (None for a direct membership)."""
        out: dict[str, str | None] = {}
        for direct in sorted({dst for dst, kind, _ in self.out_edges(key) if kind == "MemberOf"}):
            if direct not in out or out[direct] is not None:
                out[direct] = None
            for g in self._ancestors(direct):
                out.setdefault(g, direct)
        return out

    def _ancestors(self, group: str) -> list[str]:
        cache = self.__dict__.setdefault("_ancestor_cache", {})
        if group in cache:
            return cache[group]
        seen, stack = {group}, [group]
        while stack:
            g = stack.pop()
            for dst, kind, _ in self.out_edges(g):
                if kind == "MemberOf" and dst not in seen:
                    seen.add(dst)
                    stack.append(dst)
        seen.discard(group)
        cache[group] = sorted(seen)
        return cache[group]

    def consumers(self, key: str) -> list[Consumer]:
        """Hosts and workloads using `key`: sign-ins and runs-as (UsesIdentity), federated workloads,
        whoever may read a managed password (members of a reader group count one by one), and the
        hosts its SPNs name (the services that run as it)."""
        ident = self.identity(key)
        via: dict[str, set[str]] = defaultdict(set)
        federated: set[str] = set()
        readers: set[str] = set()
        for src, kind, _ in self.in_edges(key):
            if kind in CONSUMER_EDGE_KINDS:
                via[src].add(kind)
                if kind == "FederatedCredential":
                    federated.add(src)
            elif kind == "ReadGMSAPassword":
                if self.is_group(src):
                    for m in self.members(src):
                        via[m].add(f"ReadGMSAPassword through {self.name_of(src)}")
                        readers.add(m)
                else:
                    via[src].add("ReadGMSAPassword")
                    readers.add(src)
        services = self._spn_hosts(ident, via) if ident is not None else set()
        out = []
        for ckey in sorted(via):
            name = self.name_of(ckey)
            kind = self.kind_of(ckey)
            is_host = kind in HOST_KINDS or (kind is None and ckey.startswith("host:"))
            domain = ""
            if is_host:
                domain = name.split(".", 1)[1].lower() if "." in name else (
                    (self.node(ckey).authority if self.node(ckey) else "") or (ident.authority if ident else ""))
            out.append(Consumer(ckey, name, "host" if is_host else "workload", domain, tuple(sorted(via[ckey])),
                                ckey in federated, ckey in services, ckey in readers))
        return out

    def _spn_hosts(self, ident: IdentityRow, via: dict[str, set[str]]) -> set[str]:
        """Add the hosts the SPNs name to `via`; return their keys."""
        found: set[str] = set()
        if not ident.spns:
            return found
        # Fully qualified SPN hosts first, so that a short name (HTTP/braavos) joins the host
        # it abbreviates (braavos.essos.local) instead of counting as a second consumer.
        hosts = sorted({(h, spn) for spn in ident.spns for _, h in [spn_parts(spn)] if h},
                       key=lambda p: ("." not in p[0], p[0], p[1]))
        by_label = {first_label(k[5:]): k for k in via if k.startswith("host:")}
        for host, spn in hosts:
            if "." in host:
                key = "host:" + host
                by_label.setdefault(first_label(host), key)
            elif host in by_label:
                key = by_label[host]
            else:
                qualified = f"host:{host}.{ident.authority.lower()}" if ident.authority else None
                key = qualified if qualified and self.node(qualified) is not None else "host:" + host
                by_label.setdefault(host, key)
            via[key].add(f"SPN {spn}")
            found.add(key)
        return found

    def control_edges(self, key: str) -> list[tuple[str, str]]:
        """(target, kind) of the control rights `key` holds (GenericAll, WriteDacl, Owns ...);
        remembered per key, since every member of a group asks about the group's."""
        memo = self.__dict__.setdefault("_control_memo", {})
        got = memo.get(key)
        if got is None:
            got = memo[key] = [(dst, kind) for dst, kind, _ in self.out_edges(key) if kind in CONTROL_KINDS]
        return got

    def owners(self, key: str) -> list[str]:
        """Who owns `key`: its managedBy, and whoever holds an Owns edge to it."""
        found = {dst for dst, kind, _ in self.out_edges(key) if kind == "ManagedBy"}
        found |= {src for src, kind, _ in self.in_edges(key) if kind == "Owns"}
        return sorted(found)

    def delegation_targets(self, key: str) -> list[DelegationTarget]:
        out = []
        for dst, kind, attrs in self.out_edges(key):
            if kind in DELEGATION_KINDS:
                out.append(DelegationTarget(dst, self.name_of(dst), (attrs or {}).get("spn"), kind))
        return sorted(out, key=lambda t: (t.kind, t.spn or "", t.target))

    def permissions(self, key: str) -> list[Permission]:
        out: set[Permission] = set()
        for dst, kind, attrs in self.out_edges(key):
            if kind not in GRANT_KINDS:
                continue
            attrs = attrs or {}
            client = next((str(attrs[k]) for k in ("client", "consumer", "workload") if attrs.get(k)), None)
            rname = self.name_of(dst)
            if kind == "AppRoleAssignment":
                for value in _app_role_values(attrs):
                    out.add(Permission(dst, rname, value, False, client))
            else:
                scopes = attrs.get("scopes")
                if not isinstance(scopes, list):
                    scopes = str(attrs.get("scope") or "").split()
                for scope in scopes or ["(unnamed scope)"]:
                    out.add(Permission(dst, rname, str(scope).strip(), True, client))
        return sorted(out, key=lambda p: (p.resource_name.lower(), p.value.lower(), p.delegated))

    def is_ai_workload(self, key: str) -> bool:
        memo = self.__dict__.setdefault("_ai_memo", {})
        if key not in memo:
            patterns = self.policy.data["ai_workload_patterns"]
            memo[key] = self.kind_of(key) == "agent" or matches_any(self.name_of(key), patterns) is not None \
                or matches_any(key.split(":", 1)[-1], patterns) is not None
        return memo[key]

    def is_privileged_group(self, key: str) -> bool:
        memo = self.__dict__.setdefault("_priv_memo", {})
        if key not in memo:
            pg = self.policy.data["privileged_groups"]
            names = self.__dict__.setdefault("_priv_names", {n.lower() for n in pg["names"]})
            node = self.node(key)
            memo[key] = self.name_of(key).lower() in names or bool(
                node and node.sid and matches_any(node.sid, pg["sids"]))
        return memo[key]


# -- the whole project, in bulk -----------------------------------------------------------------

def _app_role_values(attrs: dict[str, Any]) -> list[str]:
    """The roles of an AppRoleAssignment edge: Entra's `assignments` [{appRoleId, role}] (several
    roles on one resource are one edge), else `roles`, else a single value."""
    def named(role: Any, role_id: Any) -> str:
        if role:
            return str(role)
        rid = str(role_id or "").lower()
        return "default access" if rid in ("", _ZERO_GUID) else rid

    if isinstance(attrs.get("assignments"), list) and attrs["assignments"]:
        return [named(a.get("role"), a.get("appRoleId")) for a in attrs["assignments"] if isinstance(a, dict)]
    if isinstance(attrs.get("roles"), list) and attrs["roles"]:
        return [str(r) for r in attrs["roles"]]
    value = next((attrs[k] for k in ("value", "appRoleValue", "role", "permission") if attrs.get(k)), None)
    return [named(value, attrs.get("appRoleId"))]


def watched_attributes(policy: Policy) -> list[str]:
    return [a.lower() for a in policy.data["interactive_use"]["attributes"]] + [THIRD_PARTY_ATTRIBUTE]


def load_payloads(session: Session, policy: Policy, identity_ids: dict[int, str],
                  only_ids: Iterable[int] | None = None) -> dict[str, dict[str, Any]]:
    """Watched attributes from the sightings' raw payloads, keyed by identity key.

    The payload column is searched as text first (a cheap scan in the database), so that
    only the few sightings that mention a watched attribute are decoded here.
    """
    names = watched_attributes(policy)
    text = func.lower(cast(Sighting.payload, Text))
    q = select(Sighting.identity_id, Sighting.payload).where(or_(*[text.contains(f'"{n}"') for n in names]))
    if only_ids is not None:
        q = q.where(Sighting.identity_id.in_(list(only_ids)))
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    wanted = set(names)
    for ident_id, payload in session.execute(q):
        key = identity_ids.get(ident_id)
        if key is None or not isinstance(payload, dict):
            continue
        # Top-level attributes, and those one level down (Graph objects are kept whole under
        # `servicePrincipal` / `application`).
        layers = [payload, *(v for v in payload.values() if isinstance(v, dict))]
        for layer in layers:
            for k, v in layer.items():
                if k.lower() in wanted and v not in (None, "", [], {}):
                    out[key].setdefault(k.lower(), v)
    return out


def _identity_row(r: Any) -> IdentityRow:
    return IdentityRow(r.id, r.key, r.kind, r.name, r.authority, r.enabled, r.created, r.last_used,
                       r.password_last_set, frozenset(r.flags or ()), tuple(r.spns or ()), r.upn,
                       tuple(r.emails or ()), bool(r.vanished), r.needs_review, r.description)


IDENTITY_COLUMNS = (Identity.id, Identity.key, Identity.kind, Identity.name, Identity.authority, Identity.enabled,
                    Identity.created, Identity.last_used, Identity.password_last_set, Identity.flags,
                    Identity.spns, Identity.upn, Identity.emails, Identity.vanished, Identity.needs_review,
                    Identity.description)


def _thumbprint(c: CredentialRow) -> str | None:
    if c.kind != "certificate":
        return None
    for k in ("thumbprint", "customKeyIdentifier", "x5t"):
        v = c.attributes.get(k)
        if v:
            return str(v).lower()
    return None


class _Decoder:
    """Turns raw column values into Python ones, once per distinct value.

    The columns are read as text (type_coerce to String): the per-row processing SQLAlchemy
    would do for JSON and dates costs more than the query itself on a million rows, and most
    values repeat (empty lists, the same flags, the same day).
    """

    def __init__(self) -> None:
        self._json: dict[str, Any] = {}
        self._dates: dict[str, datetime] = {}

    def json(self, value: Any) -> Any:
        if value is None or not isinstance(value, str):
            return value  # null, or already decoded by a driver that decodes JSON itself
        got = self._json.get(value)
        if got is None:
            got = self._json[value] = json.loads(value)
        return got

    def date(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        got = self._dates.get(value)
        if got is None:
            moment = datetime.fromisoformat(value)
            got = self._dates[value] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return got


def _raw(col: Any) -> Any:
    return type_coerce(col, String)


class Estate(EstateView):
    """The whole project held in dictionaries, loaded with one query per table."""

    def __init__(self, session: Session, policy: Policy):
        self.policy = policy
        dec = _Decoder()
        self._identities: dict[str, IdentityRow] = {}
        for (ident_id, key, kind, name, authority, enabled, created, last_used, pw_set, flags, spns, upn, emails,
             vanished, review, description) in session.execute(select(
                Identity.id, Identity.key, Identity.kind, Identity.name, Identity.authority, Identity.enabled,
                _raw(Identity.created), _raw(Identity.last_used), _raw(Identity.password_last_set),
                _raw(Identity.flags), _raw(Identity.spns), Identity.upn, _raw(Identity.emails), Identity.vanished,
                Identity.needs_review, Identity.description)):
            self._identities[key] = IdentityRow(
                ident_id, key, kind, name, authority, enabled, dec.date(created), dec.date(last_used),
                dec.date(pw_set), frozenset(dec.json(flags) or ()), tuple(dec.json(spns) or ()), upn,
                tuple(dec.json(emails) or ()), bool(vanished), review, description)
        id_to_key = {row.id: key for key, row in self._identities.items()}
        self._nodes = {r.key: NodeRow(r.key, r.kind, r.name, r.authority, r.sid)
                       for r in session.execute(select(Node.key, Node.kind, Node.name, Node.authority, Node.sid))}
        # name and kind of every key in one place: the rules ask for them hundreds of thousands of times
        self._names = {k: n.name for k, n in self._nodes.items()} | {k: r.name for k, r in self._identities.items()}
        self._kinds = {k: n.kind for k, n in self._nodes.items()} | {k: r.kind for k, r in self._identities.items()}
        self._out: dict[str, list[EdgeRef]] = defaultdict(list)
        self._in: dict[str, list[EdgeRef]] = defaultdict(list)
        for src, dst, kind, attrs in session.execute(select(Edge.src, Edge.dst, Edge.kind, _raw(Edge.attributes))):
            ref = (dst, kind, dec.json(attrs) if attrs is not None else None)
            self._out[src].append(ref)
            self._in[dst].append((src, kind, ref[2]))
        self._creds: dict[str, list[CredentialRow]] = defaultdict(list)
        for ident_id, kind, cid, created, expires, attrs in session.execute(
                select(Credential.identity_id, Credential.kind, Credential.credential_id, _raw(Credential.created),
                       _raw(Credential.expires), _raw(Credential.attributes))):
            self._creds[id_to_key[ident_id]].append(
                CredentialRow(kind, cid, dec.date(created), dec.date(expires), dec.json(attrs) or {}))
        self._findings: dict[str, list[FindingRow]] = defaultdict(list)
        for subject, tag, code, severity, message in session.execute(
                select(Finding.subject, Finding.tag, Finding.code, Finding.severity, Finding.message)
                .order_by(Finding.id)):
            self._findings[subject].append(FindingRow(tag, code, severity, message))
        self._payloads = load_payloads(session, policy, id_to_key)
        self._usage_authorities = {r.authority for r in self._identities.values() if r.last_used is not None}

    def name_of(self, key: str) -> str:
        name = self._names.get(key)
        return name if name is not None else super().name_of(key)

    def kind_of(self, key: str) -> str | None:
        return self._kinds.get(key)

    # primitives
    def identity(self, key: str) -> IdentityRow | None:
        return self._identities.get(key)

    def node(self, key: str) -> NodeRow | None:
        return self._nodes.get(key)

    def out_edges(self, key: str) -> Sequence[EdgeRef]:
        return self._out.get(key, ())

    def in_edges(self, key: str) -> Sequence[EdgeRef]:
        return self._in.get(key, ())

    def credentials(self, key: str) -> list[CredentialRow]:
        return self._creds.get(key, [])

    def findings(self, key: str) -> list[FindingRow]:
        return self._findings.get(key, [])

    def payload(self, key: str) -> dict[str, Any]:
        return self._payloads.get(key, {})

    def reports_usage(self, authority: str) -> bool:
        return authority in self._usage_authorities

    @cached_property
    def _thumbprint_holders(self) -> dict[str, set[str]]:
        holders: dict[str, set[str]] = defaultdict(set)
        for key, creds in self._creds.items():
            for c in creds:
                if (t := _thumbprint(c)) is not None:
                    holders[t].add(key)
        return holders

    def certificate_sharers(self, key: str) -> list[str]:
        found: set[str] = set()
        for c in self.credentials(key):
            if (t := _thumbprint(c)) is not None:
                found |= self._thumbprint_holders.get(t, set())
        found.discard(key)
        return sorted(found)

    @cached_property
    def _cycles(self) -> dict[str, list[str]]:
        return cycles_by_identity(self.dependency_graph())

    def cycle_of(self, key: str) -> list[str] | None:
        return self._cycles.get(key)

    def identity_keys(self, include_people: bool = False) -> list[str]:
        return sorted(k for k, r in self._identities.items() if include_people or r.kind != "person")

    def dependency_graph(self) -> IdentityGraph:
        """An IdentityGraph of just the edges that order identities unconditionally (and the group
        memberships that expand them): enough for cycles (and only for them), far smaller than
        the whole graph."""
        ordering = {k for k, ek in EDGE_KINDS.items() if ek.orders == "src_after_dst"}
        g = nx.MultiDiGraph()
        groups: list[str] = []
        targets: set[str] = set()
        for src, edges in self._out.items():
            for dst, kind, attrs in edges:
                if kind in ordering:
                    g.add_edge(src, dst, kind, kind=kind, attributes=attrs or {}, manual=kind == "ManualDependency",
                               reason=None)
                    targets.add(dst)
                    if src not in self._identities:
                        groups.append(src)
        # Memberships that expand those groups; a member nothing depends on cannot be on a cycle.
        seen = set(groups)
        while groups:
            grp = groups.pop()
            for src, kind, attrs in self._in.get(grp, ()):
                if kind != "MemberOf" or (src in self._identities and src not in targets):
                    continue
                g.add_edge(src, grp, kind, kind=kind, attributes=attrs or {}, manual=False, reason=None)
                if src not in seen and src not in self._identities:
                    seen.add(src)
                    groups.append(src)
        for n in g.nodes:
            ident = self._identities.get(n)
            node = self._nodes.get(n)
            g.nodes[n].update(kind=ident.kind if ident else (node.kind if node else "resource"),
                              name=self.name_of(n), identity=ident is not None,
                              authority=ident.authority if ident else (node.authority if node else ""))
        return IdentityGraph(g)


# -- one identity at a time, over a graph a front end holds -------------------------------------

class GraphEstate(EstateView):
    """An `EstateView` over an IdentityGraph; rows are fetched per key and cached."""

    def __init__(self, session: Session, graph: IdentityGraph, policy: Policy):
        self.session = session
        self.graph = graph
        self.policy = policy
        self._ident_cache: dict[str, IdentityRow | None] = {}
        self._node_cache: dict[str, NodeRow | None] = {}
        self._creds_cache: dict[str, list[CredentialRow]] = {}

    def identity(self, key: str) -> IdentityRow | None:
        if key not in self._ident_cache:
            if key in self.graph.g and not self.graph.is_identity(key):
                self._ident_cache[key] = None
            else:
                r = self.session.execute(select(*IDENTITY_COLUMNS).where(Identity.key == key)).first()
                self._ident_cache[key] = _identity_row(r) if r is not None else None
        return self._ident_cache[key]

    def node(self, key: str) -> NodeRow | None:
        if key not in self._node_cache:
            data = self.graph.g.nodes.get(key)
            if data is None or data.get("identity"):
                self._node_cache[key] = None
            else:
                sid = self.session.scalar(select(Node.sid).where(Node.key == key))
                self._node_cache[key] = NodeRow(key, data.get("kind", ""), data.get("name", key),
                                                data.get("authority", ""), sid)
        return self._node_cache[key]

    def out_edges(self, key: str) -> Sequence[EdgeRef]:
        if key not in self.graph.g:
            return ()
        return [(dst, kind, d.get("attributes")) for _, dst, kind, d in self.graph.g.out_edges(key, keys=True,
                                                                                               data=True)]

    def in_edges(self, key: str) -> Sequence[EdgeRef]:
        if key not in self.graph.g:
            return ()
        return [(src, kind, d.get("attributes")) for src, _, kind, d in self.graph.g.in_edges(key, keys=True,
                                                                                              data=True)]

    def credentials(self, key: str) -> list[CredentialRow]:
        if key not in self._creds_cache:
            rows = self.session.execute(
                select(Credential.kind, Credential.credential_id, Credential.created, Credential.expires,
                       Credential.attributes).join(Identity, Identity.id == Credential.identity_id)
                .where(Identity.key == key).order_by(Credential.id))
            self._creds_cache[key] = [CredentialRow(k, c, cr, ex, a or {}) for k, c, cr, ex, a in rows]
        return self._creds_cache[key]

    def findings(self, key: str) -> list[FindingRow]:
        return [FindingRow(t, c, s, m) for t, c, s, m in self.session.execute(
            select(Finding.tag, Finding.code, Finding.severity, Finding.message)
            .where(Finding.subject == key).order_by(Finding.id))]

    def payload(self, key: str) -> dict[str, Any]:
        ident = self.identity(key)
        if ident is None:
            return {}
        return load_payloads(self.session, self.policy, {ident.id: key}, [ident.id]).get(key, {})

    def reports_usage(self, authority: str) -> bool:
        cache = self.__dict__.setdefault("_usage_cache", {})
        if authority not in cache:
            cache[authority] = self.session.scalar(
                select(Identity.id).where(Identity.authority == authority, Identity.last_used.is_not(None))
                .limit(1)) is not None
        return cache[authority]

    def certificate_sharers(self, key: str) -> list[str]:
        mine = {t for c in self.credentials(key) if (t := _thumbprint(c))}
        if not mine:
            return []
        found = set()
        for other, kind, cid, attrs in self.session.execute(
                select(Identity.key, Credential.kind, Credential.credential_id, Credential.attributes)
                .join(Identity, Identity.id == Credential.identity_id).where(Credential.kind == "certificate")):
            if other != key and _thumbprint(CredentialRow(kind, cid, None, None, attrs or {})) in mine:
                found.add(other)
        return sorted(found)

    @cached_property
    def _cycles(self) -> dict[str, list[str]]:
        return cycles_by_identity(self.graph)

    def cycle_of(self, key: str) -> list[str] | None:
        return self._cycles.get(key)


def cycles_by_identity(graph: IdentityGraph) -> dict[str, list[str]]:
    """For each identity in a cycle of mutual dependency, one such cycle starting at it."""
    from .analyses import dependency_cycles

    out: dict[str, list[str]] = {}
    for cycle in dependency_cycles(graph):
        order = cycle.path
        for i, key in enumerate(order):
            out.setdefault(key, order[i:] + order[:i])
    return out


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")
