"""The split planner: one agent per workload with the four axes, every consumer served exactly once."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhiplan.core import services
from nhiplan.core.analysis.estate import Consumer
from nhiplan.core.analysis.policy import default_policy, policy_from_text
from nhiplan.core.analysis.split_planner import PlannedPermission, SplitInputs, plan_split
from nhiplan.core.decisions import parse_agent
from nhiplan.core.records import EdgeRecord, IdentityRecord, NodeRecord

DOM = "corp.acme.test"
TENANT = "tenant-a"


def ref(name: str) -> str:
    return f"dn:cn={name},dc=corp,dc=acme,dc=test"


def host(fqdn: str) -> NodeRecord:
    return NodeRecord(ref=f"host:{fqdn}", kind="host", name=fqdn, authority=DOM, source_record=f"s.ldif:{fqdn}")


def split_estate() -> list:
    """svc_app: runs HTTP on web01 and web02 and delegates to SQL; app01 signs in with it; a GitHub
    workflow signs in with a federated credential; it holds Mail.Send (tied to nothing) and User.Read
    (a grant naming app01)."""
    return [
        IdentityRecord(ref=ref("svc_app"), kind="service_account", name="svc_app", authority=DOM,
                       source_record="s.ldif:1", spns=["HTTP/web01.corp.acme.test", "HTTP/web02.corp.acme.test"],
                       flags=["TRUSTED_TO_AUTH_FOR_DELEGATION"]),
        IdentityRecord(ref=ref("svc_sql"), kind="service_account", name="svc_sql", authority=DOM,
                       source_record="s.ldif:2", spns=["MSSQLSvc/sql01.corp.acme.test:1433"]),
        IdentityRecord(ref=ref("carol"), kind="person", name="carol", authority=DOM, source_record="s.ldif:3"),
        IdentityRecord(ref=ref("svc_lonely"), kind="service_account", name="svc_lonely", authority=DOM,
                       source_record="s.ldif:4"),
        host("web01.corp.acme.test"), host("web02.corp.acme.test"), host("app01.corp.acme.test"),
        NodeRecord(ref="key:workload:github#repo:acme/app", kind="application", name="github acme/app",
                   authority=TENANT, source_record="g.json:1"),
        NodeRecord(ref="key:application:graph", kind="application", name="Microsoft Graph", authority=TENANT,
                   source_record="g.json:2"),
        EdgeRecord("host:app01.corp.acme.test", ref("svc_app"), "UsesIdentity", "s.ldif:5"),
        EdgeRecord("key:workload:github#repo:acme/app", ref("svc_app"), "FederatedCredential", "g.json:3",
                   {"subject": "repo:acme/app:ref:refs/heads/main"}),
        EdgeRecord(ref("svc_app"), "spn:mssqlsvc/sql01.corp.acme.test:1433", "AllowedToDelegate", "s.ldif:6",
                   {"spn": "MSSQLSvc/sql01.corp.acme.test:1433"}),
        EdgeRecord(ref("svc_app"), "key:application:graph", "AppRoleAssignment", "g.json:4", {"roles": ["Mail.Send"]}),
        EdgeRecord(ref("svc_app"), "key:application:graph", "DelegatedGrant", "g.json:5",
                   {"scope": "User.Read", "client": "app01.corp.acme.test"}),
        EdgeRecord(ref("svc_app"), ref("carol"), "ManagedBy", "s.ldif:7"),
    ]


@pytest.fixture
def estate(project):
    services.import_records(project, [split_estate()], source_kind="ldif", family="ad", source="s.ldif")
    return project


def by_name(proposal: dict) -> dict[str, dict]:
    return {a["name"]: a for a in proposal["agents"]}


def test_one_agent_per_workload_with_four_axes(estate):
    agents = by_name(services.split_proposal(estate, "svc_app"))
    assert set(agents) == {"svc-app-app", "svc-app-github-acme-app", "svc-app-web"}
    web = agents["svc-app-web"]
    assert web["consumer_keys"] == ["host:web01.corp.acme.test", "host:web02.corp.acme.test"]
    assert web["consumers"] == ["web01.corp.acme.test", "web02.corp.acme.test"]
    # the services it runs, and the delegation those services do on behalf of users
    assert web["scopes"] == ["HTTP/web01.corp.acme.test", "HTTP/web02.corp.acme.test",
                             "MSSQLSvc/sql01.corp.acme.test:1433"]
    assert web["action_classes"] == ["invoke", "read", "write"]
    assert web["delegation"] == "on-behalf-of" and web["lifetime"] == "5m"
    assert web["credential"] == "private_key_jwt" and web["owner"] == "carol"
    app = agents["svc-app-app"]
    assert app["scopes"] == ["Microsoft Graph/User.Read"] and app["action_classes"] == ["read"]
    assert app["delegation"] == "on-behalf-of"
    gh = agents["svc-app-github-acme-app"]
    # a federated workload keeps federating; the permission tied to no workload goes to the one without its own
    assert gh["credential"] == "federated"
    assert gh["scopes"] == ["Microsoft Graph/Mail.Send"] and gh["action_classes"] == ["send"]
    assert gh["delegation"] == "autonomous" and gh["lifetime"] == "15m"
    assert any("keep only what this workload uses" in n for n in gh["notes"])
    for a in agents.values():
        assert a["purpose"] and a["name"] and a["action_classes"]


def test_proposal_covers_every_consumer_of_the_analysis_exactly_once(estate):
    consumers = [c["key"] for c in services.analyse_identity(estate, "svc_app")["consumers"]]
    served = [k for a in services.split_proposal(estate, "svc_app")["agents"] for k in a["consumer_keys"]]
    assert sorted(served) == sorted(consumers) and len(served) == len(set(served)) == 4


def test_accepting_the_proposal_records_a_split_the_plan_can_use(estate):
    proposed = services.propose_agents(estate, "svc_app")
    assert all(set(a) == {"name", "purpose", "delegation", "action_classes", "scopes", "credential", "lifetime",
                          "owner", "consumers"} for a in proposed)
    proposed[0]["lifetime"] = "10m"  # the architect edits before accepting
    change = services.accept_agents(estate, "svc_app", proposed, "split per workload", author="ana")
    assert change.after["decision"] == "split" and change.after["agents"][0]["lifetime"] == "10m"
    plan = services.make_plan(estate)
    assert {s.agent for s in plan.steps if s.kind == "provision"} == {a["name"] for a in proposed}
    unedited = services.accept_agents(estate, "svc_sql", author="ana")
    assert [a["name"] for a in unedited.after["agents"]] == ["svc-sql-sql"]


def test_nothing_known_still_gives_one_agent_to_confirm(estate):
    proposal = services.split_proposal(estate, "svc_lonely")
    assert [a["name"] for a in proposal["agents"]] == ["svc-lonely-agent"]
    assert proposal["agents"][0]["consumers"] == [] and proposal["agents"][0]["action_classes"] == ["invoke"]
    assert proposal["notes"] == ["svc_lonely has no recorded consumer and no recorded permission"]


def consumer(key: str, kind: str = "host", federated: bool = False) -> Consumer:
    name = key.split(":", 1)[1]
    return Consumer(key, name, kind, "corp.acme.test" if kind == "host" else "", ("UsesIdentity",), federated)


def test_untied_permissions_become_agents_per_action_class_when_every_workload_has_its_own():
    inputs = SplitInputs("d/svc", "svc", "service_account", None, [consumer("host:web01.x")], [
        PlannedPermission("HTTP/web01.x", ("invoke",), False, "service", ("host:web01.x",), "runs HTTP"),
        PlannedPermission("Graph/Files.Read.All", ("read",), False, "app-role", (), "holds Files.Read.All"),
        PlannedPermission("Graph/Mail.Send", ("send",), False, "app-role", (), "holds Mail.Send"),
    ])
    agents = {a.spec.name: a for a in plan_split(inputs, default_policy()).agents}
    assert set(agents) == {"svc-web", "svc-read", "svc-send"}
    assert agents["svc-read"].spec.consumers == [] and agents["svc-read"].spec.scopes == ["Graph/Files.Read.All"]
    assert agents["svc-web"].spec.scopes == ["HTTP/web01.x"]


def test_mtls_by_policy():
    policy = policy_from_text("split_planner:\n  mtls_workloads: ['web']\n")
    inputs = SplitInputs("d/svc", "svc", "service_account", None, [consumer("host:web01.x")], [])
    assert plan_split(inputs, policy).agents[0].spec.credential == "mtls"


# -- property: every consumer exactly once ---------------------------------------------------------------

labels = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6)
host_names = st.builds(lambda role, n, dom: f"host:{role}{n:02d}.{dom}", labels, st.integers(0, 20),
                       st.sampled_from(["corp.acme.test", "emea.acme.test"]))
workload_names = st.builds(lambda name: f"workload:{name}", labels)


@st.composite
def split_inputs(draw):
    keys = draw(st.lists(st.one_of(host_names, workload_names), unique=True, max_size=12))
    consumers = [consumer(k, "host" if k.startswith("host:") else "workload",
                          federated=k.startswith("workload:") and draw(st.booleans())) for k in keys]
    perms = []
    for i in range(draw(st.integers(0, 8))):
        tied = tuple(draw(st.lists(st.sampled_from(keys), max_size=2, unique=True))) if keys else ()
        classes = tuple(draw(st.lists(st.sampled_from(["read", "write", "invoke", "send", "admin"]), min_size=1,
                                      max_size=2, unique=True)))
        perms.append(PlannedPermission(f"scope{i}", classes, draw(st.booleans()), "app-role", tied, f"perm {i}"))
    name = draw(st.text(alphabet=string.ascii_letters + "_$-.", min_size=1, max_size=70))
    return SplitInputs("d/x", name, "service_account", None, consumers, perms)


@settings(max_examples=300, deadline=None)
@given(split_inputs())
def test_property_every_consumer_is_served_exactly_once(inputs):
    proposal = plan_split(inputs, default_policy())
    served = [k for a in proposal.agents for k in a.consumer_keys]
    assert sorted(served) == sorted(c.key for c in inputs.consumers)
    assert len(served) == len(set(served))
    assert proposal.agents, "a split always proposes at least one agent"
    names = [a.spec.name.lower() for a in proposal.agents]
    assert len(names) == len(set(names))
    sp = default_policy().split_planner
    for a in proposal.agents:
        parse_agent(a.spec.as_dict(), "property")  # valid for a decisions file
        assert a.spec.action_classes and a.spec.purpose
        assert a.spec.lifetime == (sp["on_behalf_of_lifetime"] if a.spec.delegation == "on-behalf-of"
                                   else sp["lifetime"])
    # every permission reaches some agent
    assert {p.scope for p in inputs.permissions} <= {s for a in proposal.agents for s in a.spec.scopes}


@st.composite
def host_estates(draw):
    hosts = draw(st.lists(st.builds(lambda r, n: f"{r}{n:02d}", labels, st.integers(0, 9)), unique=True,
                          max_size=6))
    spn_hosts = draw(st.lists(st.sampled_from(hosts), unique=True)) if hosts else []
    short = draw(st.booleans())
    users = draw(st.lists(st.sampled_from(hosts), unique=True)) if hosts else []
    return hosts, spn_hosts, short, users


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(host_estates())
def test_property_through_the_store(tmp_path_factory, case):
    """Through ingest and the graph: SPN hosts (also by short name) and sign-in hosts, served once."""
    hosts, spn_hosts, short, users = case
    store = services.init_project(tmp_path_factory.mktemp("prop") / "p.nhiplan")
    try:
        spns = [f"HTTP/{h}" if short else f"HTTP/{h}.{DOM}" for h in spn_hosts]
        records = [IdentityRecord(ref=ref("svc_p"), kind="service_account", name="svc_p", authority=DOM,
                                  source_record="p:1", spns=spns)]
        records += [host(f"{h}.{DOM}") for h in hosts]
        records += [EdgeRecord(f"host:{h}.{DOM}", ref("svc_p"), "UsesIdentity", "p:2") for h in users]
        services.import_records(store, [records], source_kind="ldif", family="ad", source="p.ldif")
        consumers = [c["key"] for c in services.analyse_identity(store, "svc_p")["consumers"]]
        assert sorted(consumers) == sorted({f"host:{h}.{DOM}" for h in [*spn_hosts, *users]})
        served = [k for a in services.split_proposal(store, "svc_p")["agents"] for k in a["consumer_keys"]]
        assert sorted(served) == sorted(consumers)
    finally:
        store.close()
