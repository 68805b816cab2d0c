"""The split planner: for an identity marked split, one proposed agent per workload.

Consumers are grouped into workloads (estate.group_workloads: hosts that differ
only by a number -- web01, web02 -- are one workload, as is the farm that runs a
gMSA's service; every other consumer is its own). Each
workload's agent gets the four axes a service account lacks:

- **who**: a name derived from the identity and the workload, a purpose in words;
- **on whose behalf**: on-behalf-of when it does Kerberos delegation or holds
  delegated scopes, else autonomous;
- **which actions**: the action classes and the subset of permissions the data
  ties to that workload -- the SPNs of services running on its hosts (by service
  class: MSSQLSvc -> read, write; HTTP -> invoke), Kerberos delegation (to the
  workloads that run the delegating service), application roles and delegated
  scopes (to the workload a grant names, when it names one);
- **how long**: a credential type (federated for a workload that already signs
  in with a federated credential, mTLS where the policy says, else
  private_key_jwt) and a token lifetime (shorter when acting for users).

Permissions the data ties to no workload go to the workloads that got none of
their own (their notes say so, for the architect to trim); if every workload
has its own, they become agents of their own per action class, serving no
consumer yet. Every consumer is served by exactly one proposed agent. The
architect accepts or edits the proposal (services.accept_agents).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..decisions import AgentSpecData
from .estate import Consumer, EstateView, group_workloads, matches_any, slug, spn_parts
from .policy import Policy

MAX_NAME = 64


@dataclass(frozen=True)
class PlannedPermission:
    """A permission to hand to an agent, with the evidence of who needs it."""

    scope: str
    action_classes: tuple[str, ...]
    delegated: bool  # exercised on behalf of users
    source: str  # service | kerberos-delegation | app-role | delegated-scope
    consumers: tuple[str, ...]  # consumer keys the data ties it to; empty = not tied to any
    evidence: str


@dataclass
class SplitInputs:
    key: str
    name: str
    kind: str
    owner: str | None
    consumers: list[Consumer]
    permissions: list[PlannedPermission]


@dataclass
class ProposedAgent:
    spec: AgentSpecData
    consumer_keys: list[str]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**self.spec.as_dict(), "consumer_keys": list(self.consumer_keys), "notes": list(self.notes)}


@dataclass
class SplitProposal:
    key: str
    name: str
    agents: list[ProposedAgent]
    notes: list[str] = field(default_factory=list)

    def specs(self) -> list[AgentSpecData]:
        return [a.spec for a in self.agents]

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "agents": [a.as_dict() for a in self.agents],
                "notes": list(self.notes)}


# -- gathering ------------------------------------------------------------------------------------

def permission_classes(value: str, table: list[list[str]]) -> tuple[str, ...]:
    for pattern, action in table:
        if matches_any(value, [pattern]):
            return (action,)
    return ("invoke",)


def service_classes(spn: str, table: dict[str, list[str]]) -> tuple[str, ...]:
    service, _ = spn_parts(spn)
    return tuple(table.get(service, ["invoke"]))


def gather_split_inputs(view: EstateView, key: str) -> SplitInputs:
    """What the planner needs about one identity, read through an EstateView."""
    ident = view.identity(key)
    if ident is None:
        raise KeyError(key)
    sp = view.policy.split_planner
    consumers = view.consumers(key)
    by_name = {c.name.lower(): c.key for c in consumers} | {c.key.lower(): c.key for c in consumers}
    perms: list[PlannedPermission] = []
    service_hosts: list[str] = []
    for spn in sorted(ident.spns):
        hosts = tuple(c.key for c in consumers if f"SPN {spn}" in c.via)
        service_hosts.extend(hosts)
        perms.append(PlannedPermission(spn, service_classes(spn, sp["service_classes"]), False, "service", hosts,
                                       f"runs the service {spn}"))
    service_hosts = sorted(set(service_hosts))
    for t in view.delegation_targets(key):
        scope = t.spn or t.target_name
        classes = service_classes(t.spn, sp["service_classes"]) if t.spn else ("invoke",)
        perms.append(PlannedPermission(scope, classes, True, "kerberos-delegation", tuple(service_hosts),
                                       f"acts on behalf of users to {scope}"))
    for p in view.permissions(key):
        client = by_name.get(p.client.lower()) if p.client else None
        scope = f"{p.resource_name}/{p.value}"
        perms.append(PlannedPermission(
            scope, permission_classes(p.value, sp["permission_classes"]), p.delegated,
            "delegated-scope" if p.delegated else "app-role", (client,) if client else (),
            f"holds {'delegated scope' if p.delegated else 'application permission'} {p.value} on {p.resource_name}"))
    owners = view.owners(key)
    owner = view.name_of(owners[0]) if owners else None
    return SplitInputs(key, ident.name, ident.kind, owner, consumers, perms)


# -- planning --------------------------------------------------------------------------------------

def plan_split(inputs: SplitInputs, policy: Policy) -> SplitProposal:
    sp = policy.split_planner
    base = slug(inputs.name.rstrip("$")) or "agent"
    groups = group_workloads(inputs.kind, inputs.consumers, re.compile(sp["host_role_strip"]))
    workloads = {w.id: list(w.consumers) for w in groups}
    labels = {w.id: w.label for w in groups}
    workload_by_consumer = {c.key: w.id for w in groups for c in w.consumers}

    tied: dict[str, list[PlannedPermission]] = defaultdict(list)
    loose: list[PlannedPermission] = []
    for p in inputs.permissions:
        wids = sorted({workload_by_consumer[k] for k in p.consumers if k in workload_by_consumer})
        if not wids:
            loose.append(p)
        for wid in wids:
            tied[wid].append(p)

    names: set[str] = set()
    agents: list[ProposedAgent] = []
    notes: list[str] = []
    untied_workloads = [w for w in sorted(workloads) if not tied.get(w)]
    for wid in sorted(workloads, key=lambda w: (labels[w].lower(), w)):
        members = workloads[wid]
        perms = tied.get(wid, [])
        agent_notes = [p.evidence for p in perms]
        if not perms and loose:
            perms = loose
            agent_notes.append("given every permission the data ties to no workload ("
                               + ", ".join(p.scope for p in loose) + "): keep only what this workload uses")
        agents.append(_agent(inputs, base, labels[wid], members, perms, agent_notes, policy, names))
    if loose and not untied_workloads:
        # Every workload has its own permissions: the untied ones wait for the architect.
        for classes, perms in _by_action_class(loose).items():
            label = "-".join(classes)
            agents.append(_agent(inputs, base, label, [], perms,
                                 [p.evidence for p in perms] + ["no recorded consumer is tied to these permissions: "
                                                                "assign the workloads that need them"],
                                 policy, names))
    if not agents:
        agents.append(_agent(inputs, base, "agent", [], [],
                             ["nothing is recorded about what it does: confirm its purpose and permissions"],
                             policy, names))
        notes.append(f"{inputs.name} has no recorded consumer and no recorded permission")
    return SplitProposal(inputs.key, inputs.name, agents, notes)


def _by_action_class(perms: list[PlannedPermission]) -> dict[tuple[str, ...], list[PlannedPermission]]:
    out: dict[tuple[str, ...], list[PlannedPermission]] = defaultdict(list)
    for p in perms:
        out[tuple(sorted(p.action_classes))].append(p)
    return dict(sorted(out.items()))


def _unique_name(base: str, label: str, taken: set[str]) -> str:
    suffix = slug(label) or "agent"
    name = f"{base}-{suffix}" if suffix != base else base
    name = name[:MAX_NAME].strip("-._") or "agent"
    candidate, n = name, 2
    while candidate.lower() in taken:
        tail = f"-{n}"
        candidate = name[:MAX_NAME - len(tail)] + tail
        n += 1
    taken.add(candidate.lower())
    return candidate


def _agent(inputs: SplitInputs, base: str, label: str, members: list[Consumer], perms: list[PlannedPermission],
           notes: list[str], policy: Policy, taken: set[str]) -> ProposedAgent:
    sp = policy.split_planner
    delegated = any(p.delegated for p in perms)
    classes = sorted({a for p in perms for a in p.action_classes}) or ["invoke"]
    if not perms:
        notes = [*notes, "no permission is recorded for this workload: action class 'invoke' is a placeholder"]
    scopes = sorted({p.scope for p in perms}, key=str.lower)
    consumer_names = sorted((c.name for c in members), key=str.lower)
    if any(c.federated for c in members):
        credential = "federated"
    elif sp["mtls_workloads"] and any(matches_any(n, sp["mtls_workloads"]) for n in [label, *consumer_names]):
        credential = "mtls"
    else:
        credential = sp["default_credential"]
    if members:
        served = f"{label} ({', '.join(consumer_names[:4])}{' …' if len(consumer_names) > 4 else ''})"
    else:
        served = f"{label} permissions of {inputs.name}"
    acts = "on behalf of users" if delegated else "on its own"
    purpose = f"{served}: {', '.join(classes)}, {acts}"
    spec = AgentSpecData(
        name=_unique_name(base, label, taken), purpose=purpose,
        delegation="on-behalf-of" if delegated else "autonomous", action_classes=classes, scopes=scopes,
        credential=credential, lifetime=sp["on_behalf_of_lifetime"] if delegated else sp["lifetime"],
        owner=inputs.owner, consumers=consumer_names,
    )
    return ProposedAgent(spec, sorted(c.key for c in members), notes)


def propose(view: EstateView, key: str) -> SplitProposal:
    return plan_split(gather_split_inputs(view, key), view.policy)
