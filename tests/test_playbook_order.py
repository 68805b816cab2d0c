"""Ordering invariants of the step graph, on generated estates with chains and cycles (hypothesis).

For any estate and decisions:
- every depends_on id is a step in an earlier wave and earlier in `steps`;
- for every dependency A -> B between identities that are not in one cycle: A's cutover
  steps come after B's provisioning (or rotation) steps, or, when B is retired, before B's disable;
- identities in a dependency cycle share waves kind by kind, and one finding names them all;
- the same snapshot gives a byte-identical YAML plan.
"""

from __future__ import annotations

import copy
from itertools import pairwise

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhiplan.core.decisions import AgentSpecData, DecisionData
from nhiplan.core.graph import Dependency
from nhiplan.core.playbook.builder import build_plan
from nhiplan.core.playbook.snapshot import IdentityFacts, ScimAccountFacts, ScimGroupFacts, Snapshot
from nhiplan.core.render.canonical import plan_document, to_yaml

DOMAIN = "gen.example.test"
EDGE_KINDS = ("AllowedToDelegate", "ManualDependency", "ReadGMSAPassword", "MemberOf", "ProvisionedAs")
CHOICES = ("split1", "split2", "keep", "keep-gmsa", "retire", "undecided")


def facts(i: int, choice: str, with_scim: bool) -> IdentityFacts:
    name = f"svc_{i}"
    key = f"{DOMAIN}/{name}"
    if choice.startswith("split"):
        n = int(choice[-1])
        decision = DecisionData("split", agents=[
            AgentSpecData(name=f"a{i}-{k}", scopes=[f"s{i}.{k}"], delegation="on-behalf-of" if k else "autonomous",
                          credential=("private_key_jwt", "client_secret")[k % 2]) for k in range(n)])
    elif choice.startswith("keep"):
        decision = DecisionData("keep", rotation={"every": "30d", "via": "gmsa" if choice == "keep-gmsa" else "vault"})
    elif choice == "retire":
        decision = DecisionData("retire")
    else:
        decision = None
    scim = [ScimAccountFacts(key=f"app/{name}", user_name=name, scim_id=f"id-{i}", application="app",
                             application_name="app", base_url="https://app.example.test/scim/v2",
                             agents_endpoint=i % 2 == 0, groups=[ScimGroupFacts("g", "staff", "gid")])] \
        if with_scim else []
    return IdentityFacts(key=key, name=name, kind="service_account", authority=DOMAIN, enabled=True, last_used=None,
                         password_last_set=None, flags=[], spns=[f"HTTP/h{i}"] if i % 3 == 0 else [],
                         sources=["ldif"], credentials=[], consumers=[f"host:h{i}"], consumer_names=[f"h{i}"],
                         groups=[], owner=None, dn=f"CN={name},DC=gen", upn=None, needs_review=None,
                         decision=decision, scim_accounts=scim)


@st.composite
def estates(draw) -> Snapshot:
    n = draw(st.integers(min_value=2, max_value=9))
    choices = draw(st.lists(st.sampled_from(CHOICES), min_size=n, max_size=n))
    scim = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.sampled_from(EDGE_KINDS)),
                          max_size=14))
    # Always a chain through some identities, and often a cycle.
    chain = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=n, unique=True))
    pairs += [(a, b, "AllowedToDelegate") for a, b in pairwise(chain)]
    if draw(st.booleans()):
        cycle = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=min(4, n), unique=True))
        pairs += [(a, b, "ManualDependency") for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True)]
    identities = {f"{DOMAIN}/svc_{i}": facts(i, choices[i], scim[i]) for i in range(n)}
    deps: dict[tuple[str, str, str], Dependency] = {}
    for a, b, kind in pairs:
        if a == b:
            continue
        ka, kb = f"{DOMAIN}/svc_{a}", f"{DOMAIN}/svc_{b}"
        deps[(ka, kb, kind)] = Dependency(ka, kb, kind, f"svc_{a} depends on svc_{b} ({kind})",
                                          kind in ("MemberOf", "ProvisionedAs"))
    return Snapshot(project={"name": "generated"}, identities=identities,
                    dependencies=[deps[k] for k in sorted(deps)])


def applicable(snapshot: Snapshot) -> list[Dependency]:
    """The dependencies the plan must honour: both ends decided; retire-only ones when the prerequisite retires."""
    decided = {k for k, f in snapshot.identities.items() if f.decision and f.decision.decision != "undecided"}
    out = []
    for d in snapshot.dependencies:
        if d.dependent not in decided or d.prerequisite not in decided:
            continue
        if d.only_if_prerequisite_retired and snapshot.identities[d.prerequisite].decision.decision != "retire":
            continue
        out.append(d)
    return out


@settings(max_examples=70, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(estates(), st.sampled_from(("generic", "entra", "okta", "keycloak")))
def test_ordering_invariants(snapshot, target):
    doc = plan_document(build_plan(copy.deepcopy(snapshot), target=target))
    steps = doc["steps"]
    position = {s["id"]: i for i, s in enumerate(steps)}
    wave = {s["id"]: s["wave"] for s in steps}
    for s in steps:
        assert len(s["depends_on"]) == len(s["because"])
        for d in s["depends_on"]:
            assert wave[d] < s["wave"] and position[d] < position[s["id"]], (d, s["id"])
    assert [w["wave"] for w in doc["waves"]] == list(range(1, len(doc["waves"]) + 1))

    by_identity: dict[str, list[dict]] = {}
    for s in steps:
        by_identity.setdefault(s["identity"], []).append(s)
    deps = applicable(snapshot)
    graph = nx.DiGraph()
    graph.add_nodes_from(by_identity)
    graph.add_edges_from((d.dependent, d.prerequisite) for d in deps)
    scc = {m: i for i, comp in enumerate(nx.strongly_connected_components(graph)) for m in comp}

    for d in deps:
        a, b = d.dependent, d.prerequisite
        if scc[a] == scc[b]:
            continue
        cutovers = [s["wave"] for s in by_identity[a] if s["phase"] == "cutover"]
        if not cutovers:
            continue
        if snapshot.identities[b].decision.decision == "retire":
            (disable,) = [s["wave"] for s in by_identity[b] if s["kind"] == "disable"]
            assert max(cutovers) < disable, (a, b)
        else:
            ready = [s["wave"] for s in by_identity[b] if s["phase"] == "provision" or s["kind"] == "rotation"]
            assert ready and min(cutovers) > max(ready), (a, b)

    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    findings = [f for f in doc["findings"] if f["code"] == "dependency-cycle"]
    assert len(findings) == len(cycles)
    for members in cycles:
        names = [snapshot.identities[m].name for m in members]
        assert any(all(n in f["message"] for n in names) for f in findings), names
        waves_of_kind: dict[str, set[int]] = {}
        for m in members:
            for s in by_identity[m]:
                waves_of_kind.setdefault(s["kind"], set()).add(s["wave"])
        for kind, ws in waves_of_kind.items():
            assert len(ws) == 1, (members, kind, ws)
        if any(s["phase"] == "cutover" for m in members for s in by_identity[m]):
            assert any("dependency cycle" in w.get("note", "") and all(m in w["note"] for m in members)
                       for w in doc["waves"])

    again = plan_document(build_plan(copy.deepcopy(snapshot), target=target))
    assert to_yaml(doc) == to_yaml(again)
