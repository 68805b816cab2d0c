"""Recommendations, analyses, the split planner, bulk decisions and the policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import decisions as dec
from ..graph import IdentityGraph
from ..store import Store
from .decisions import DecisionChange, decide
from .inventory import load_graph


def recommendations(store: Store, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """CONTRACT's `recommend --json` objects for every non-person identity, ordered by key."""
    from ..analysis.recommend import recommend_all

    with store.session() as s:
        return recommend_all(s, now=now)


def analyse_identity(store: Store, ref: str, graph: IdentityGraph | None = None, *,
                     now: datetime | None = None) -> dict[str, Any]:
    """One identity's recommendation, consumers, blast radius, what breaks if it is retired,
    delegation chains, credential sharers and dependency cycle. Pass the graph a front end
    already holds; without one the whole graph is built first."""
    from ..analysis import analyses
    from ..analysis.estate import GraphEstate
    from ..analysis.policy import load_policy, resolve_now
    from ..analysis.recommend import Subject, evaluate

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
    from ..analysis.estate import GraphEstate
    from ..analysis.policy import load_policy
    from ..analysis.split_planner import propose

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
    from ..analysis.bulk import decide_by_filter as bulk_decide

    return bulk_decide(store, filter, decision, reason, author=author)


def undo_changes(store: Store, changes: list[DecisionChange], author: str | None = None) -> list[DecisionChange]:
    """Put back what one bulk step changed, in one transaction."""
    from ..analysis.bulk import undo

    return undo(store, changes, author=author)


def apply_recommendations(store: Store, author: str | None = None) -> dict[str, Any]:
    """`recommend --apply`: recommendations become decisions where none exists (one transaction)."""
    from ..analysis.bulk import apply_recommendations as apply

    result = apply(store, author=author)
    return {"applied": result.applied, "already_decided": result.already_decided,
            "without_recommendation": result.without_recommendation}


def dependency_cycles(store: Store, graph: IdentityGraph | None = None) -> list[dict[str, Any]]:
    """Every cycle of mutual dependency among identities, with its dependencies in words."""
    from ..analysis.analyses import dependency_cycles as cycles

    if graph is None:
        graph = load_graph(store)
    return [c.as_dict() for c in cycles(graph)]


def get_policy(store: Store) -> dict[str, Any]:
    """The recommendation policy: the shipped default (with its comments), the project's
    override (None when it keeps none) and the effective policy, all as YAML text."""
    from ..analysis.policy import default_policy_text, load_policy, project_override_text

    with store.session() as s:
        return {"default": default_policy_text(), "override": project_override_text(s),
                "effective": load_policy(s).to_yaml()}


def set_policy(store: Store, text: str | None, author: str | None = None, reason: str = "",
               where: str = "policy") -> None:
    """Store the project's policy override (None or empty: back to the default); checked whole
    first (BadInput names the line and key), audited."""
    from ..analysis.policy import set_project_policy

    with store.session() as s, s.begin():
        set_project_policy(s, text, author=author, reason=reason, where=where)
