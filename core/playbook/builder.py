"""The playbook builder: (Snapshot, options) -> Plan, a pure function.

Ordering rules (CONTRACT.md):

- within an identity, its steps form a chain in KIND_ORDER (per agent for a split);
- when identity A depends on identity B (A delegates to B, reads B's credential,
  the architect says so ...), A's cutover steps come after B's ready steps
  (a split's grants, a keep's rotation); when B is retired instead, B's disable
  waits for A's cutover;
- when B is retired and A is a member of B (or provisioned from it), B's
  disable waits for A's cutover: a group's members move before the group goes;
- waves are the topological generations of the step graph; identities that
  depend on each other in a cycle move together: the dependencies inside the
  cycle are dropped, their steps of the same kind share a wave, and a finding
  names the cycle.

Every dependency carries its reason in `because`.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

import networkx as nx

from .model import TARGETS, Plan, PlanFinding, Step, Wave
from .snapshot import Snapshot
from .steps import DEFAULT_WATCH, KIND_ORDER, plan_findings, step_id, steps_for

MAX_ALIGN_ROUNDS = 10000


def build_plan(snapshot: Snapshot, target: str = "generic", watch: str = DEFAULT_WATCH) -> Plan:
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}")
    decided = {k: f for k, f in snapshot.identities.items() if f.decision and f.decision.decision != "undecided"}
    steps: dict[str, Step] = {}
    by_identity: dict[str, list[Step]] = {}
    for key in sorted(decided):
        chain = steps_for(decided[key], target, watch)
        by_identity[key] = chain
        for s in chain:
            steps[s.id] = s
        _chain(chain)

    findings: list[PlanFinding] = []
    # Identity-level dependency graph among decided identities.
    dep_graph = nx.DiGraph()
    dep_graph.add_nodes_from(decided)
    for dep in snapshot.dependencies:
        a, b = dep.dependent, dep.prerequisite
        if a not in decided or b not in decided:
            if a in decided and b in snapshot.identities and b not in decided and not dep.only_if_prerequisite_retired:
                findings.append(PlanFinding(
                    id=f"undecided-dependency:{a}->{b}", subject=a, code="undecided-dependency", tag="NHI1",
                    severity="medium",
                    message=f"{decided[a].name} depends on {snapshot.identities[b].name}, which has no decision yet "
                            f"({dep.reason}); decide it so its move is ordered."))
            continue
        if dep.only_if_prerequisite_retired and decided[b].decision.decision != "retire":
            continue
        dep_graph.add_edge(a, b, reason=dep.reason, kind=dep.edge_kind)

    scc_of: dict[str, int] = {}
    cycles: list[list[str]] = []
    for comp in nx.strongly_connected_components(dep_graph):
        members = sorted(comp)
        idx = len(cycles)
        cycles.append(members)
        for m in members:
            scc_of[m] = idx
    for members in cycles:
        if len(members) > 1:
            names = [decided[m].name for m in members]
            findings.append(PlanFinding(
                id="dependency-cycle:" + ",".join(members), subject=members[0], code="dependency-cycle", tag="NHI9",
                severity="high",
                message=f"{', '.join(names)} depend on each other in a cycle; they are moved in the same waves "
                        "together, and their cutovers must happen in one change window."))

    for a, b, data in sorted(dep_graph.edges(data=True)):
        if scc_of[a] == scc_of[b]:
            continue  # inside a cycle: aligned instead of ordered
        _link(by_identity[a], by_identity[b], decided[b].decision.decision, data["reason"])

    # Review flags and risky choices become findings the board sees.
    for key, f in sorted(decided.items()):
        if f.needs_review:
            findings.append(PlanFinding(id=f"needs-review:{key}", subject=key, code="needs-review", tag="NHI1",
                                        severity="medium", message=f"{f.name}: {f.needs_review}"))
        for a in f.decision.agents:
            if a.credential == "client_secret":
                findings.append(PlanFinding(
                    id=f"client-secret:{key}:{a.name}", subject=key, code="agent-client-secret", tag="NHI7",
                    severity="medium",
                    message=f"agent {a.name} of {f.name} uses a client secret; prefer private_key_jwt, mTLS or "
                            "federation."))
        findings.extend(plan_findings(f, target))
    for fd in snapshot.findings:
        findings.append(PlanFinding(id=f"{fd.code}:{fd.subject}", subject=fd.subject, code=fd.code, tag=fd.tag,
                                    severity=fd.severity, message=fd.message))
    findings = _dedup_findings(findings)

    _assign_waves(steps, scc_of)
    ordered = sorted(steps.values(), key=lambda s: (s.wave, s.identity, KIND_ORDER.index(s.kind), s.agent or "",
                                                    s.id))
    for s in ordered:
        pairs = sorted(zip(s.depends_on, s.because, strict=True), key=lambda p: (steps[p[0]].wave, p[0]))
        s.depends_on = [p[0] for p in pairs]
        s.because = [p[1] for p in pairs]

    waves = _waves(ordered, cycles)
    identities_doc = [_identity_doc(decided[k]) for k in sorted(decided)]
    counts = defaultdict(int)
    for f in snapshot.identities.values():
        counts[f.decision.decision if f.decision else "undecided"] += 1
    summary = {
        "identities": len(snapshot.identities),
        "decisions": {d: counts.get(d, 0) for d in ("split", "keep", "retire", "undecided")},
        "agents": sum(1 for s in ordered if s.kind == "provision"),
        "waves": len(waves),
        "steps": len(ordered),
        "risk": {r: sum(1 for s in ordered if s.risk == r) for r in ("high", "medium", "low")},
        "findings": len(findings),
    }
    return Plan(
        project={"name": snapshot.project.get("name", ""), "client": snapshot.project.get("client", "")},
        generated_from={"inventory": "sha256:" + snapshot.inventory_hash(),
                        "decisions": "sha256:" + snapshot.decisions_hash()},
        options={"target": target, "watch_period": watch},
        identities=identities_doc, waves=waves, steps=ordered, findings=findings, summary=summary,
    )


def _depend(step: Step, on: Step, because: str) -> None:
    if on.id not in step.depends_on:
        step.depends_on.append(on.id)
        step.because.append(because)


def _chain(chain: list[Step]) -> None:
    """Order one identity's steps: shared steps in sequence, each agent's own steps in sequence."""
    shared_before = [s for s in chain if s.agent is None and KIND_ORDER.index(s.kind) < KIND_ORDER.index("cutover")]
    agent_steps = [s for s in chain if s.agent is not None]
    shared_after = [s for s in chain if s.agent is None and s not in shared_before]
    for prev, nxt in pairwise(shared_before):
        _depend(nxt, prev, f"{prev.kind} of the same account comes first")
    last_shared = shared_before[-1] if shared_before else None
    agents: dict[str, list[Step]] = defaultdict(list)
    for s in agent_steps:
        agents[s.agent].append(s)
    tails = []
    for name, seq in agents.items():
        if last_shared is not None:
            _depend(seq[0], last_shared, f"{last_shared.kind} of the account comes before agent {name}")
        for prev, nxt in pairwise(seq):
            _depend(nxt, prev, f"{prev.kind} of agent {name} comes first")
        tails.append(seq[-1])
    prev_steps = tails or ([last_shared] if last_shared else [])
    for s in shared_after:
        for p in prev_steps:
            why = (f"every consumer is moved ({p.kind} of agent {p.agent}) first" if p.agent
                   else f"{p.kind} of the same account comes first")
            _depend(s, p, why)
        prev_steps = [s]


def _ready_steps(chain: list[Step]) -> list[Step]:
    """The steps after which an identity is ready to be depended on: each agent's last step
    before its cutover (a split), else the rotation (a keep)."""
    cut = KIND_ORDER.index("cutover")
    last: dict[str, Step] = {}
    for s in chain:
        if s.agent is not None and KIND_ORDER.index(s.kind) < cut:
            last[s.agent] = s
    if last:
        return [last[a] for a in sorted(last)]
    return [s for s in chain if s.kind == "rotation"]


def _cutover_steps(chain: list[Step]) -> list[Step]:
    return [s for s in chain if s.phase == "cutover"]


def _link(a_chain: list[Step], b_chain: list[Step], b_decision: str, reason: str) -> None:
    """Identity A depends on identity B."""
    if b_decision == "retire":
        # B goes away: A must stop needing it first.
        b_disable = [s for s in b_chain if s.kind == "disable"]
        for cut in _cutover_steps(a_chain):
            for d in b_disable:
                _depend(d, cut, f"{reason}; it must move before {d.identity} is disabled")
        return
    for cut in _cutover_steps(a_chain):
        for ready in _ready_steps(b_chain):
            _depend(cut, ready, reason)


def _assign_waves(steps: dict[str, Step], scc_of: dict[str, int]) -> None:
    graph = nx.DiGraph()
    graph.add_nodes_from(steps)
    for s in steps.values():
        for d in s.depends_on:
            graph.add_edge(d, s.id)
    order = list(nx.lexicographical_topological_sort(graph))
    scc_size: dict[int, int] = defaultdict(int)
    for comp in scc_of.values():
        scc_size[comp] += 1
    groups: dict[tuple[int, str], list[Step]] = defaultdict(list)
    for s in steps.values():
        if scc_size[scc_of[s.identity]] > 1:
            # Members of a cycle cut over together: every cutover-phase step (a split's per-agent
            # cutovers, a keep's reconfigure) shares one wave; other steps align kind by kind.
            slot = "phase:cutover" if s.phase == "cutover" else s.kind
            groups[(scc_of[s.identity], slot)].append(s)
    wave = dict.fromkeys(steps, 1)
    for _ in range(MAX_ALIGN_ROUNDS):
        for sid in order:
            s = steps[sid]
            if s.depends_on:
                wave[sid] = max(wave[sid], max(wave[d] for d in s.depends_on) + 1)
        changed = False
        for members in groups.values():
            top = max(wave[m.id] for m in members)
            for m in members:
                if wave[m.id] != top:
                    wave[m.id] = top
                    changed = True
        if not changed:
            break
    else:  # pragma: no cover - the kind order makes alignment converge
        raise RuntimeError("wave alignment did not converge")
    for sid, w in wave.items():
        steps[sid].wave = w


def _waves(ordered: list[Step], cycles: list[list[str]]) -> list[Wave]:
    by_wave: dict[int, list[Step]] = defaultdict(list)
    for s in ordered:
        by_wave[s.wave].append(s)
    cycle_of = {m: c for c in cycles if len(c) > 1 for m in c}
    waves = []
    for n in sorted(by_wave):
        idents = sorted({s.identity for s in by_wave[n]})
        together = sorted({", ".join(cycle_of[s.identity]) for s in by_wave[n]
                           if s.identity in cycle_of and s.phase == "cutover"})
        note = ("cut over together (dependency cycle): " + "; ".join(together)) if together else ""
        waves.append(Wave(number=n, steps=[s.id for s in by_wave[n]], identities=idents, note=note))
    return waves


def _identity_doc(f) -> dict:
    d = f.decision
    doc = {"key": f.key, "name": f.name, "kind": f.kind, "authority": f.authority, "decision": d.decision,
           "reason": d.reason, "consumers": list(f.consumer_names), "owner": f.owner}
    if d.agents:
        doc["agents"] = [a.as_dict() for a in d.agents]
    if d.rotation:
        doc["rotation"] = dict(d.rotation)
    return doc


def _dedup_findings(findings: list[PlanFinding]) -> list[PlanFinding]:
    seen: dict[str, PlanFinding] = {}
    for f in findings:
        fid, n = f.id, 2
        while fid in seen and seen[fid].message != f.message:
            fid, n = f"{f.id}#{n}", n + 1
        seen.setdefault(fid, PlanFinding(fid, f.subject, f.code, f.tag, f.severity, f.message))
    sev = {"high": 0, "medium": 1, "low": 2}
    return sorted(seen.values(), key=lambda f: (sev.get(f.severity, 3), f.subject, f.id))


__all__ = ["build_plan", "step_id"]
