"""Analyses on the networkx graph: consumers, blast radius, what breaks if retired, delegation
chains, shared credentials, cycles of mutual dependency (manual dependencies included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nhiplan.core import services
from nhiplan.core.analysis import analyses
from nhiplan.core.analysis.estate import Estate, GraphEstate
from nhiplan.core.analysis.policy import default_policy
from nhiplan.core.analysis.recommend import Subject, evaluate
from nhiplan.core.graph import IdentityGraph
from nhiplan.core.records import CredentialRecord, EdgeRecord, IdentityRecord, NodeRecord

DOM = "corp.acme.test"
BASE = "dc=corp,dc=acme,dc=test"
TENANT = "tenant-a"
NOW = datetime(2026, 10, 1, tzinfo=UTC)


def ref(name: str) -> str:
    return f"dn:cn={name},{BASE}"


def key(name: str) -> str:
    return f"{DOM}/{name.lower()}"


def ad(name: str, **kw) -> IdentityRecord:
    return IdentityRecord(ref=ref(name), kind=kw.pop("kind", "service_account"), name=name, authority=DOM,
                          source_record=f"g.ldif:{name}", dn=f"CN={name},{BASE}", enabled=True, **kw)


def group(name: str) -> NodeRecord:
    return NodeRecord(ref=ref(name), kind="group", name=name, authority=DOM, source_record=f"g.ldif:{name}",
                      dn=f"CN={name},{BASE}")


def host(fqdn: str) -> NodeRecord:
    return NodeRecord(ref=f"host:{fqdn}", kind="host", name=fqdn, authority=DOM, source_record=f"g.ldif:{fqdn}")


def edge(src: str, dst: str, kind: str, **attrs) -> EdgeRecord:
    return EdgeRecord(src, dst, kind, f"g.ldif:{kind}", attrs)


def estate_records() -> list:
    return [
        ad("svc_web", spns=["HTTP/web01.corp.acme.test", "HTTP/web01"], flags=["TRUSTED_TO_AUTH_FOR_DELEGATION"]),
        ad("svc_sql", spns=["MSSQLSvc/sql01.corp.acme.test:1433"]),
        ad("svc_files", spns=["CIFS/files01.corp.acme.test"]),
        ad("svc_front"), ad("svc_backup"), ad("svc_rpt"), ad("svc_twin_a"), ad("svc_twin_b"),
        ad("svc_a"), ad("svc_b"), ad("svc_c"), ad("svc_x"), ad("svc_y"), ad("svc_p"), ad("gmsa_q$", kind="gmsa"),
        group("Readers"), group("Outer Readers"),
        ad("gmsa_app$", kind="gmsa"),
        IdentityRecord(ref="ext:entra:app_sp", kind="service_principal", name="app_sp", authority=TENANT,
                       source_record="graph.json:1", key=f"{TENANT}/app_sp"),
        IdentityRecord(ref="ext:entra:app_c1", kind="service_principal", name="app_c1", authority=TENANT,
                       source_record="graph.json:2", key=f"{TENANT}/app_c1"),
        IdentityRecord(ref="ext:entra:app_c2", kind="service_principal", name="app_c2", authority=TENANT,
                       source_record="graph.json:3", key=f"{TENANT}/app_c2"),
        host("web01.corp.acme.test"), host("sql01.corp.acme.test"), host("app01.corp.acme.test"),
        host("app02.corp.acme.test"),
        group("WebAdmins"), group("Backup Operators"), group("AppServers"),
        NodeRecord(ref="key:workload:github#repo:acme/web:ref:refs/heads/main", kind="application",
                   name="github repo:acme/web", authority=TENANT, source_record="graph.json:4"),
        NodeRecord(ref="key:client:10.0.0.5", kind="resource", name="10.0.0.5", authority=TENANT,
                   source_record="signins.json:1"),
        NodeRecord(ref="key:application:graph", kind="application", name="Microsoft Graph", authority=TENANT,
                   source_record="graph.json:5"),
        edge(ref("svc_web"), "spn:mssqlsvc/sql01.corp.acme.test:1433", "AllowedToDelegate",
             spn="MSSQLSvc/sql01.corp.acme.test:1433"),
        edge(ref("svc_sql"), "spn:cifs/files01.corp.acme.test", "AllowedToDelegate", spn="CIFS/files01.corp.acme.test"),
        edge(ref("svc_front"), ref("svc_web"), "AllowedToAct"),
        edge(ref("svc_web"), ref("WebAdmins"), "MemberOf"),
        edge(ref("WebAdmins"), ref("svc_backup"), "GenericAll"),
        edge(ref("svc_backup"), ref("Backup Operators"), "MemberOf"),
        edge("host:app01.corp.acme.test", ref("AppServers"), "MemberOf"),
        edge("host:app02.corp.acme.test", ref("AppServers"), "MemberOf"),
        edge(ref("AppServers"), ref("gmsa_app$"), "ReadGMSAPassword"),
        edge("key:workload:github#repo:acme/web:ref:refs/heads/main", "ext:entra:app_sp", "FederatedCredential",
             subject="repo:acme/web:ref:refs/heads/main"),
        edge("key:client:10.0.0.5", "ext:entra:app_sp", "UsesIdentity"),
        edge("ext:entra:app_sp", "key:application:graph", "AppRoleAssignment", roles=["Mail.Send"]),
        edge(ref("svc_twin_a"), ref("svc_twin_b"), "SharesCredential"),
        edge(ref("svc_a"), ref("svc_b"), "AllowedToDelegate"),
        edge(ref("svc_b"), ref("svc_c"), "ReadGMSAPassword"),
        edge(ref("svc_x"), ref("svc_y"), "AllowedToDelegate"),
        # a cycle through (nested) group membership: svc_p reads gmsa_q$'s password, gmsa_q$ delegates to svc_p
        edge(ref("svc_p"), ref("Readers"), "MemberOf"),
        edge(ref("Readers"), ref("Outer Readers"), "MemberOf"),
        edge(ref("Outer Readers"), ref("gmsa_q$"), "ReadGMSAPassword"),
        edge(ref("gmsa_q$"), ref("svc_p"), "AllowedToDelegate"),
        edge(ref("svc_y"), ref("svc_x"), "AllowedToDelegate"),
        CredentialRecord("ext:entra:app_c1", "certificate", "k1", "graph.json:c", attributes={"thumbprint": "FF01"}),
        CredentialRecord("ext:entra:app_c2", "certificate", "k2", "graph.json:c", attributes={"thumbprint": "ff01"}),
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    st = services.init_project(tmp_path_factory.mktemp("graph") / "g.nhiplan")
    services.import_records(st, [estate_records()], source_kind="ldif", family="ad", source="g.ldif",
                            authority="graph-test")
    # Manual dependencies are edges like any other: one closes the a -> b -> c cycle, one adds a dependent.
    services.add_manual_dependency(st, "svc_c", "svc_a", "c's job feeds a", author="ana")
    services.add_manual_dependency(st, "svc_rpt", "svc_sql", "reports read the warehouse", author="ana")
    yield st
    st.close()


@pytest.fixture(scope="module")
def graph(store):
    return services.load_graph(store)


def test_consumers_hosts_from_spns_signins_federation_and_password_readers(store, graph):
    web = services.analyse_identity(store, "svc_web", graph)["consumers"]
    # HTTP/web01 (short) and HTTP/web01.corp.acme.test are one host
    assert [(c["key"], c["kind"]) for c in web] == [("host:web01.corp.acme.test", "host")]
    assert web[0]["via"] == ["SPN HTTP/web01", "SPN HTTP/web01.corp.acme.test"]
    sp = services.analyse_identity(store, "app_sp", graph)["consumers"]
    assert {c["name"]: c["federated"] for c in sp} == {"github repo:acme/web": True, "10.0.0.5": False}
    gmsa = services.analyse_identity(store, "gmsa_app$", graph)["consumers"]
    assert [c["key"] for c in gmsa] == ["host:app01.corp.acme.test", "host:app02.corp.acme.test"]
    assert gmsa[0]["via"] == ["ReadGMSAPassword through AppServers"]


def test_blast_radius_follows_takeover_but_stops_at_services(graph):
    reach = {r.name: r for r in analyses.blast_radius(graph, key("svc_web"))}
    assert set(reach) == {"WebAdmins", "svc_sql", "svc_backup", "Backup Operators"}
    assert reach["svc_sql"].depth == 1 and reach["Backup Operators"].depth == 3
    assert [h.text for h in reach["Backup Operators"].path] == [
        "svc_web is a member of WebAdmins", "WebAdmins has full control of svc_backup",
        "svc_backup is a member of Backup Operators"]
    assert [h.text for h in reach["svc_sql"].path] == [
        "svc_web can impersonate users to svc_sql (MSSQLSvc/sql01.corp.acme.test:1433)"]
    assert analyses.blast_radius(graph, key("svc_web"), max_depth=1) == sorted(
        [r for r in reach.values() if r.depth == 1], key=lambda r: (r.depth, r.name.lower(), r.key))
    # a shared credential works both ways
    assert [r.name for r in analyses.blast_radius(graph, key("svc_twin_b"))] == ["svc_twin_a"]


def test_what_breaks_if_retired_follows_dependents_transitively(graph):
    impact = {r.name: r for r in analyses.retire_impact(graph, key("svc_sql")).dependents}
    assert set(impact) == {"svc_web", "svc_rpt", "svc_front"}
    assert impact["svc_web"].depth == 1 and impact["svc_front"].depth == 2
    assert [h.text for h in impact["svc_front"].path] == [
        "svc_web delegates to svc_sql (MSSQLSvc/sql01.corp.acme.test:1433)",
        "svc_front may act on behalf of users to svc_web"]
    assert impact["svc_rpt"].path[0].text == "the architect says svc_rpt depends on svc_sql: reports read the warehouse"
    assert analyses.retire_impact(graph, key("svc_front")).dependents == []


def test_delegation_chains_outward_and_inward(graph):
    chains = analyses.delegation_chains(graph, key("svc_web"))
    assert [[h.text for h in c] for c in chains["outward"]] == [[
        "svc_web can impersonate users to svc_sql (MSSQLSvc/sql01.corp.acme.test:1433)",
        "svc_sql can impersonate users to svc_files (CIFS/files01.corp.acme.test)"]]
    assert [[h.text for h in c] for c in chains["inward"]] == [["svc_front can act on behalf of users to svc_web"]]
    assert analyses.delegation_chains(graph, key("svc_files"))["outward"] == []
    inward = analyses.delegation_chains(graph, key("svc_files"))["inward"]
    assert [len(c) for c in inward] == [3]  # svc_front -> svc_web -> svc_sql -> svc_files


def test_delegation_chains_terminate_on_a_cycle(graph):
    chains = analyses.delegation_chains(graph, key("svc_x"))
    assert [[h.dst for h in c] for c in chains["outward"]] == [[key("svc_y")]]
    assert [[h.src for h in c] for c in chains["inward"]] == [[key("svc_y")]]
    chains = analyses.delegation_chains(graph, key("svc_a"))
    assert [[h.dst for h in c] for c in chains["outward"]] == [[key("svc_b")]]  # ReadGMSAPassword is no delegation


def test_shared_credentials_by_edge_and_by_certificate(store, graph):
    groups = analyses.shared_credentials(graph)
    assert [g.members for g in groups] == [[key("svc_twin_a"), key("svc_twin_b")]]
    detail = services.analyse_identity(store, "app_c1", graph)
    assert detail["shared_credentials"] == [{"members": [f"{TENANT}/app_c1", f"{TENANT}/app_c2"],
                                             "reasons": ["app_c1 and app_c2 hold the same certificate"]}]


def test_cycles_include_manual_dependencies(store, graph):
    cycles = analyses.dependency_cycles(graph)
    assert [c.members for c in cycles] == [[key("gmsa_q$"), key("svc_p")],
                                           [key("svc_a"), key("svc_b"), key("svc_c")], [key("svc_x"), key("svc_y")]]
    assert cycles[1].path == [key("svc_a"), key("svc_b"), key("svc_c")]
    assert cycles[1].reasons == ["svc_a delegates to svc_b", "svc_b reads the managed password of svc_c",
                                 "the architect says svc_c depends on svc_a: c's job feeds a"]
    assert cycles[0].path == [key("gmsa_q$"), key("svc_p")]
    assert cycles[0].reasons == ["gmsa_q$ delegates to svc_p",
                                 "svc_p reads the managed password of gmsa_q$ (through group Outer Readers)"]
    # the same cycles as IdentityGraph.dependencies gives, multiplied out
    deps = {(d.dependent, d.prerequisite) for d in graph.dependencies() if not d.only_if_prerequisite_retired}
    assert (key("svc_p"), key("gmsa_q$")) in deps and (key("gmsa_q$"), key("svc_p")) in deps
    assert [c["members"] for c in services.dependency_cycles(store)] == [c.members for c in cycles]
    assert services.analyse_identity(store, "svc_b", graph)["cycle"] == ["svc_b", "svc_c", "svc_a"]


def test_bulk_and_graph_views_agree_on_every_recommendation(store, graph):
    policy = default_policy()
    with store.session() as s:
        bulk = Estate(s, policy)
        one = GraphEstate(s, graph, policy)
        for k in bulk.identity_keys():
            a, b = evaluate(Subject(bulk, k, NOW)), evaluate(Subject(one, k, NOW))
            assert (a.recommendation, a.score, a.reasons, a.tags) == (b.recommendation, b.score, b.reasons, b.tags)
            assert bulk.consumers(k) == one.consumers(k)


def test_analyse_identity_without_a_graph_builds_one(store):
    detail = services.analyse_identity(store, "svc_web")
    assert detail["key"] == key("svc_web")
    assert {r["name"] for r in detail["blast_radius"]} == {"WebAdmins", "svc_sql", "svc_backup", "Backup Operators"}
    assert detail["delegation_chains"]["inward"] == [["svc_front can act on behalf of users to svc_web"]]
    assert detail["recommendation"]["recommendation"] == "split"


def test_graph_from_session_is_what_services_load(store, graph):
    with store.session() as s:
        assert set(IdentityGraph.from_session(s).g.edges(keys=True)) == set(graph.g.edges(keys=True))
