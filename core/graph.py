"""The identity graph: a networkx MultiDiGraph built from the store, never stored twice.

Nodes are keys (identities' plain keys, other nodes' prefixed keys) with their
kind and name; edges carry their kind (a name from core.edge_kinds) as the
multigraph key, so two accounts can be related in several ways at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import networkx as nx
from sqlalchemy import select
from sqlalchemy.orm import Session

from .edge_kinds import EDGE_KINDS
from .model import Edge, Identity, Node


@dataclass(frozen=True, slots=True)
class Dependency:
    """`dependent` must move after `prerequisite` is ready (or, when the prerequisite is
    retired, the prerequisite's decommission waits for the dependent's cutover)."""

    dependent: str
    prerequisite: str
    edge_kind: str
    reason: str
    only_if_prerequisite_retired: bool = False


class IdentityGraph:
    """A read-only view over one snapshot of the store."""

    def __init__(self, graph: nx.MultiDiGraph):
        self.g = graph

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def from_session(cls, session: Session) -> IdentityGraph:
        g = nx.MultiDiGraph()
        g.add_nodes_from(
            (key, {"kind": kind, "name": name, "identity": True, "authority": authority})
            for key, kind, name, authority in session.execute(
                select(Identity.key, Identity.kind, Identity.name, Identity.authority))
        )
        g.add_nodes_from(
            (key, {"kind": kind, "name": name, "identity": False, "authority": authority})
            for key, kind, name, authority in session.execute(
                select(Node.key, Node.kind, Node.name, Node.authority))
        )
        g.add_edges_from(
            (src, dst, kind, {"kind": kind, "attributes": attrs or {}, "manual": origin is None,
                              "reason": reason})
            for src, dst, kind, attrs, origin, reason in session.execute(
                select(Edge.src, Edge.dst, Edge.kind, Edge.attributes, Edge.origin, Edge.reason))
        )
        return cls(g)

    # -- questions --------------------------------------------------------------------------
    def is_identity(self, key: str) -> bool:
        return bool(self.g.nodes.get(key, {}).get("identity"))

    def name(self, key: str) -> str:
        return self.g.nodes.get(key, {}).get("name", key)

    def edges_of(self, key: str, kinds: Iterable[str] | None = None, direction: str = "out") -> Iterator[tuple]:
        if key not in self.g:
            return
        wanted = set(kinds) if kinds is not None else None
        edges = self.g.out_edges(key, keys=True, data=True) if direction == "out" else \
            self.g.in_edges(key, keys=True, data=True)
        for src, dst, kind, data in edges:
            if wanted is None or kind in wanted:
                yield src, dst, kind, data

    def consumers(self, key: str) -> list[str]:
        """Workloads and hosts that run as, or sign in as, this identity."""
        return sorted({src for src, _, _, _ in self.edges_of(key, ("UsesIdentity", "FederatedCredential"), "in")})

    def groups(self, key: str) -> list[str]:
        return sorted({dst for _, dst, _, _ in self.edges_of(key, ("MemberOf",), "out")})

    def dependencies(self) -> list[Dependency]:
        """Every ordering constraint the graph implies between identities, with its reason.

        Edges whose far end is a group or host are followed one step (a member of a group
        that may read a gMSA's password depends on that gMSA), so dependencies are between
        identities, as the plan needs them.
        """
        out: dict[tuple[str, str, str], Dependency] = {}
        for src, dst, kind in self.g.edges(keys=True):
            ek = EDGE_KINDS.get(kind)
            if ek is None or ek.orders is None:
                continue
            srcs = [src] if self.is_identity(src) else self._member_identities(src)
            dsts = [dst] if self.is_identity(dst) else []
            for a in srcs:
                for b in dsts:
                    if a == b:
                        continue
                    reason = self._reason(a, b, kind, src, dst)
                    dep = Dependency(a, b, kind, reason, ek.orders == "dst_retire_after_src")
                    out.setdefault((a, b, kind), dep)
        return [out[k] for k in sorted(out)]

    def _member_identities(self, group: str) -> list[str]:
        """Identities that are members of `group`, directly or through nested groups."""
        seen, stack, found = {group}, [group], []
        while stack:
            node = stack.pop()
            for src, _, _, _ in self.edges_of(node, ("MemberOf",), "in"):
                if src in seen:
                    continue
                seen.add(src)
                if self.is_identity(src):
                    found.append(src)
                else:
                    stack.append(src)
        return sorted(found)

    def _reason(self, a: str, b: str, kind: str, src: str, dst: str) -> str:
        na, nb = self.name(a), self.name(b)
        via = f" (through group {self.name(src)})" if src != a else ""
        data = self.g.get_edge_data(src, dst, kind) or {}
        attrs = data.get("attributes") or {}
        if kind == "AllowedToDelegate":
            spn = attrs.get("spn")
            return f"{na} delegates to {nb}" + (f" ({spn})" if spn else "") + via
        if kind == "AllowedToAct":
            return f"{na} may act on behalf of users to {nb}{via}"
        if kind == "ReadGMSAPassword":
            return f"{na} reads the managed password of {nb}{via}"
        if kind in ("SharesCredential", "FederatedCredential"):
            return f"{na} uses a credential of {nb}{via}"
        if kind == "MemberOf":
            return f"{na} is a member of {nb}"
        if kind == "ProvisionedAs":
            return f"{na} is provisioned as {nb}"
        if kind == "ManualDependency":
            why = data.get("reason")
            return f"the architect says {na} depends on {nb}" + (f": {why}" if why else "")
        return f"{na} {EDGE_KINDS[kind].meaning.replace('src ', '').replace(' dst', ' ' + nb)}"

    def neighbourhood(self, key: str, hops: int = 1, limit: int = 200) -> nx.MultiDiGraph:
        """The subgraph within `hops` of `key` (both directions), at most `limit` nodes."""
        if key not in self.g:
            return nx.MultiDiGraph()
        seen = {key}
        frontier = [key]
        for _ in range(hops):
            nxt = []
            for node in frontier:
                for nb in sorted(set(self.g.successors(node)) | set(self.g.predecessors(node))):
                    if nb not in seen:
                        if len(seen) >= limit:
                            break
                        seen.add(nb)
                        nxt.append(nb)
            frontier = nxt
        return self.g.subgraph(seen).copy()
