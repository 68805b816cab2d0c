"""Questions asked of the identity graph (networkx): what an identity can reach, what breaks
if it is retired, its delegation chains, who shares its credentials, cycles of mutual
dependency.

Every answer carries its path in words, so a front end can show *why*. Manual
dependencies the architect adds are `ManualDependency` edges and count like any other.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx

from ..edge_kinds import EDGE_KINDS
from ..graph import Dependency, IdentityGraph

# What holding an edge src -> dst lets src do, for blast radius. "continue": src can act as
# (or with the rights of) dst, so whatever dst reaches, src reaches too. "stop": src reaches
# dst itself (a service, a resource) but not what dst can reach.
REACH_VERBS = {
    "MemberOf": ("is a member of", "continue"),
    "ReadGMSAPassword": ("can read the managed password of", "continue"),
    "GenericAll": ("has full control of", "continue"),
    "GenericWrite": ("may write attributes of", "continue"),
    "WriteDacl": ("may change the permissions of", "continue"),
    "WriteOwner": ("may take ownership of", "continue"),
    "Owns": ("owns", "continue"),
    "SharesCredential": ("shares a credential with", "continue"),
    "ProvisionedAs": ("is provisioned as", "continue"),
    "UsesIdentity": ("runs as", "continue"),
    "FederatedCredential": ("signs in as", "continue"),
    "AllowedToDelegate": ("can impersonate users to", "stop"),
    "AllowedToAct": ("can act on behalf of users to", "stop"),
    "AppRoleAssignment": ("holds an application role of", "stop"),
    "DelegatedGrant": ("holds delegated scopes on", "stop"),
}
# Control edges lead onward only when their target is something one can become or join.
_TAKEOVER_KINDS = {"GenericAll", "GenericWrite", "WriteDacl", "WriteOwner", "Owns"}
DELEGATION_KINDS = ("AllowedToDelegate", "AllowedToAct")


@dataclass
class Hop:
    src: str
    dst: str
    kind: str
    text: str  # "svc_web can impersonate users to svc_sql (MSSQLSvc/sql01:1433)"


@dataclass
class Reach:
    """One node an identity can reach, at `depth` hops, and the path that gets there."""

    key: str
    name: str
    kind: str
    depth: int
    path: list[Hop]

    def as_dict(self) -> dict:
        return {"key": self.key, "name": self.name, "kind": self.kind, "depth": self.depth,
                "path": [h.text for h in self.path]}


@dataclass
class Cycle:
    """Identities that depend on each other; `path` is one cycle through all of them
    where one exists (it starts again at path[0]), `reasons` its dependencies in words."""

    members: list[str]
    path: list[str]
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"members": self.members, "path": self.path, "reasons": self.reasons}


@dataclass
class Impact:
    """What stops working if an identity is retired."""

    key: str
    dependents: list[Reach]  # identities that depend on it, directly (depth 1) or through others

    def as_dict(self) -> dict:
        return {"key": self.key, "dependents": [d.as_dict() for d in self.dependents]}


def _edge_text(graph: IdentityGraph, src: str, dst: str, kind: str, attrs: dict | None) -> str:
    verb = REACH_VERBS.get(kind, (EDGE_KINDS[kind].meaning if kind in EDGE_KINDS else kind, "stop"))[0]
    spn = (attrs or {}).get("spn")
    return f"{graph.name(src)} {verb} {graph.name(dst)}" + (f" ({spn})" if spn else "")


def blast_radius(graph: IdentityGraph, key: str, max_depth: int = 6, limit: int = 2000) -> list[Reach]:
    """Everything `key` can reach by the edges of REACH_VERBS, breadth first, with one shortest path each."""
    if key not in graph.g:
        return []
    paths: dict[str, list[Hop]] = {key: []}
    queue = deque([key])
    out: list[Reach] = []
    while queue and len(out) < limit:
        node = queue.popleft()
        depth = len(paths[node])
        if depth >= max_depth:
            continue
        steps = [(dst, kind, d.get("attributes")) for _, dst, kind, d in graph.g.out_edges(node, keys=True, data=True)]
        # A shared credential works both ways.
        steps += [(src, kind, d.get("attributes")) for src, _, kind, d in graph.g.in_edges(node, keys=True, data=True)
                  if kind == "SharesCredential"]
        for nxt, kind, attrs in sorted(steps, key=lambda s: (s[1], s[0])):
            if kind not in REACH_VERBS or nxt in paths:
                continue
            hop = Hop(node, nxt, kind, _edge_text(graph, node, nxt, kind, attrs))
            paths[nxt] = [*paths[node], hop]
            data = graph.g.nodes[nxt]
            out.append(Reach(nxt, graph.name(nxt), data.get("kind", ""), depth + 1, paths[nxt]))
            onward = REACH_VERBS[kind][1] == "continue"
            if kind in _TAKEOVER_KINDS:
                onward = graph.is_identity(nxt) or data.get("kind") == "group"
            if onward:
                queue.append(nxt)
    return sorted(out, key=lambda r: (r.depth, r.name.lower(), r.key))


def _direct_dependents(graph: IdentityGraph, key: str) -> list[Dependency]:
    """Dependencies whose prerequisite is `key` (who needs it), from the edges that point at it,
    expanding groups to their member identities like IdentityGraph.dependencies does."""
    found: dict[tuple[str, str], Dependency] = {}
    for src, _, kind in graph.g.in_edges(key, keys=True):
        ek = EDGE_KINDS.get(kind)
        if ek is None or ek.orders != "src_after_dst":
            continue
        srcs = [src] if graph.is_identity(src) else graph._member_identities(src)
        for a in srcs:
            if a != key:
                found.setdefault((a, kind), Dependency(a, key, kind, graph._reason(a, key, kind, src, key)))
    # An account provisioned from `key` is deprovisioned with it.
    for _, dst, kind in graph.g.out_edges(key, keys=True):
        if kind == "ProvisionedAs" and graph.is_identity(dst):
            found.setdefault((dst, kind), Dependency(dst, key, kind, graph._reason(key, dst, kind, key, dst)))
    return [found[k] for k in sorted(found)]


def retire_impact(graph: IdentityGraph, key: str, max_depth: int = 6) -> Impact:
    """Identities that break if `key` is retired: those that depend on it, and (with their path)
    those that depend on them in turn. Consumers (hosts, workloads) are EstateView.consumers."""
    paths: dict[str, list[Hop]] = {key: []}
    queue = deque([key])
    out: list[Reach] = []
    while queue:
        node = queue.popleft()
        if len(paths[node]) >= max_depth:
            continue
        for dep in _direct_dependents(graph, node):
            if dep.dependent in paths:
                continue
            paths[dep.dependent] = [*paths[node], Hop(dep.dependent, node, dep.edge_kind, dep.reason)]
            out.append(Reach(dep.dependent, graph.name(dep.dependent), graph.g.nodes[dep.dependent].get("kind", ""),
                             len(paths[dep.dependent]), paths[dep.dependent]))
            queue.append(dep.dependent)
    return Impact(key, sorted(out, key=lambda r: (r.depth, r.name.lower(), r.key)))


def delegation_chains(graph: IdentityGraph, key: str, max_length: int = 8, limit: int = 200
                      ) -> dict[str, list[list[Hop]]]:
    """Kerberos delegation chains through `key`: `outward` (key delegates to B, which delegates to
    C ...) and `inward` (A delegates to key, Z delegates to A ...), each a list of hops, longest first."""

    def walk(start: str, forward: bool) -> list[list[Hop]]:
        chains: list[list[Hop]] = []
        stack: list[tuple[str, list[Hop], set[str]]] = [(start, [], {start})]
        while stack and len(chains) < limit:
            node, path, seen = stack.pop()
            edges = (graph.g.out_edges(node, keys=True, data=True) if forward
                     else graph.g.in_edges(node, keys=True, data=True))
            extended = False
            for a, b, kind, d in sorted(edges, key=lambda e: (e[2], e[0], e[1])):
                if kind not in DELEGATION_KINDS:
                    continue
                nxt = b if forward else a
                if nxt in seen or len(path) >= max_length:
                    continue
                hop = Hop(a, b, kind, _edge_text(graph, a, b, kind, d.get("attributes")))
                stack.append((nxt, [*path, hop] if forward else [hop, *path], seen | {nxt}))
                extended = True
            if not extended and path:
                chains.append(path)
        return sorted(chains, key=lambda c: (-len(c), [h.text for h in c]))

    if key not in graph.g:
        return {"outward": [], "inward": []}
    return {"outward": walk(key, True), "inward": walk(key, False)}


def dependency_cycles(graph: IdentityGraph) -> list[Cycle]:
    """Groups of identities that depend on each other (unconditional dependencies only: the ones
    that hold whatever is decided), each with one concrete cycle in words.

    The dependencies are IdentityGraph.dependencies' (edges whose kind orders src after dst; a
    group's edge stands for every member identity, nested ones too), but the groups stay nodes
    of the graph searched here instead of being multiplied out into member x target edges, so a
    big group that may read a gMSA's password costs its memberships, not their product. Only
    the dependencies on the cycle found are put in words.
    """
    ordering = {k for k, ek in EDGE_KINDS.items() if ek.orders == "src_after_dst"}
    eg = nx.DiGraph()
    kinds: dict[tuple[str, str], str] = {}  # ordering edge -> its kind (the smallest, if several)
    holders: list[str] = []
    for src, dst, kind in graph.g.edges(keys=True):
        if kind not in ordering or src == dst or not graph.is_identity(dst):
            continue
        eg.add_edge(src, dst)
        if (src, dst) not in kinds or kind < kinds[(src, dst)]:
            kinds[(src, dst)] = kind
        if not graph.is_identity(src):
            holders.append(src)
    # Members (nested too) of every non-identity that holds an ordering edge. An identity nothing
    # depends on cannot be on a cycle, so only the members something depends on are joined in.
    targets = {dst for _, dst in kinds}
    seen = set(holders)
    while holders:
        node = holders.pop()
        for member, _, kind in graph.g.in_edges(node, keys=True):
            if kind != "MemberOf":
                continue
            if graph.is_identity(member):
                if member in targets:
                    eg.add_edge(member, node)
            else:
                eg.add_edge(member, node)
                if member not in seen:
                    seen.add(member)
                    holders.append(member)
    out = []
    for comp in nx.strongly_connected_components(eg):
        members = sorted(k for k in comp if graph.is_identity(k))
        if len(members) < 2:
            continue
        walk = _cycle_through(eg.subgraph(comp), members[0])
        path, reasons = [], []
        closed = [*walk, walk[0]]
        for i, node in enumerate(closed[:-1]):
            if graph.is_identity(node) and node not in path:
                path.append(node)
            nxt = closed[i + 1]
            if graph.is_identity(nxt) and (node, nxt) in kinds:
                a = path[-1]
                reasons.append(graph._reason(a, nxt, kinds[(node, nxt)], node, nxt))
        out.append(Cycle(members, path, reasons))
    return sorted(out, key=lambda c: c.members)


def _cycle_through(sub: nx.DiGraph, start: str) -> list[str]:
    """A simple cycle through `start` in a strongly connected graph (a shortest one)."""
    best: list[str] | None = None
    for pred in sorted(sub.predecessors(start)):
        path = nx.shortest_path(sub, start, pred)
        if best is None or len(path) < len(best):
            best = path
    return best or [start]


@dataclass
class SharedCredential:
    members: list[str]
    reasons: list[str]

    def as_dict(self) -> dict:
        return {"members": self.members, "reasons": self.reasons}


def shared_credentials(graph: IdentityGraph, extra: Iterable[tuple[str, str, str]] = ()) -> list[SharedCredential]:
    """Identities that hold one credential between them: SharesCredential edges, plus `extra`
    links (a, b, reason) found elsewhere (one certificate registered on two applications)."""
    ug = nx.Graph()
    why: dict[frozenset[str], str] = {}
    for src, dst, kind in graph.g.edges(keys=True):
        if kind == "SharesCredential":
            ug.add_edge(src, dst)
            why.setdefault(frozenset((src, dst)), f"{graph.name(src)} uses the same credential as {graph.name(dst)}")
    for a, b, reason in extra:
        ug.add_edge(a, b)
        why.setdefault(frozenset((a, b)), reason)
    out = []
    for comp in nx.connected_components(ug):
        members = sorted(comp)
        reasons = sorted(r for pair, r in why.items() if pair <= comp)
        out.append(SharedCredential(members, reasons))
    return sorted(out, key=lambda s: s.members)
