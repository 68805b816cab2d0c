"""Every recommendation rule fires exactly on the identities built to trigger it, and on no other.

One estate holds an identity (or two) per rule plus a quiet control account; each
rule's firing set over the whole estate is compared with the expected set, so a
rule that fires too widely fails as surely as one that does not fire.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nhiplan.core import services
from nhiplan.core.analysis.policy import default_policy
from nhiplan.core.analysis.recommend import RULES
from nhiplan.core.records import CredentialRecord, EdgeRecord, FindingRecord, IdentityRecord, NodeRecord

NOW = datetime(2026, 10, 1, tzinfo=UTC)
DOM = "corp.acme.test"
EMEA = "emea.acme.test"
TENANT = "tenant-a"
BASE = "dc=corp,dc=acme,dc=test"
OWNED_BY_ALICE_EXCEPT = {"svc_noowner", "svc_orphan", "app_cert_a"}


def ref(name: str) -> str:
    return f"dn:cn={name},{BASE}"


def ad(name: str, **kw) -> IdentityRecord:
    return IdentityRecord(ref=ref(name), kind=kw.pop("kind", "service_account"), name=name, authority=DOM,
                          source_record=f"rules.ldif:{name}", dn=f"CN={name},{BASE}",
                          enabled=kw.pop("enabled", True), **kw)


def sp(name: str, **kw) -> IdentityRecord:
    return IdentityRecord(ref=f"ext:entra:{name}", kind=kw.pop("kind", "service_principal"), name=name,
                          authority=TENANT, source_record=f"graph.json:{name}", key=f"{TENANT}/{name}",
                          enabled=True, **kw)


def host(fqdn: str) -> NodeRecord:
    return NodeRecord(ref=f"host:{fqdn}", kind="host", name=fqdn, authority=fqdn.split(".", 1)[1],
                      source_record=f"rules.ldif:{fqdn}")


def group(name: str, sid: str | None = None) -> NodeRecord:
    return NodeRecord(ref=f"dn:cn={name},ou=groups,{BASE}", kind="group", name=name, authority=DOM,
                      source_record=f"rules.ldif:{name}", dn=f"CN={name},OU=groups,{BASE}", sid=sid)


def gref(name: str) -> str:
    return f"dn:cn={name},ou=groups,{BASE}"


def uses(src_ref: str, dst_ref: str) -> EdgeRecord:
    return EdgeRecord(src_ref, dst_ref, "UsesIdentity", "rules.ldif:uses")


def d(y: int, m: int, day: int) -> datetime:
    return datetime(y, m, day, tzinfo=UTC)


def rule_estate() -> list:
    accounts = [
        ad("svc_quiet"),
        ad("svc_disabled", enabled=False),
        ad("svc_stale", last_used=d(2025, 1, 1)),
        ad("svc_never", created=d(2024, 1, 1)),
        ad("svc_orphan"), ad("svc_noowner"),
        ad("svc_shared"), ad("svc_ai"),
        ad("svc_aidesc", description="Shared AI integration account: helpdesk assistant, sales copilot, HR FAQ bot"),
        ad("svc_sqlagent", description="Runs SQL Agent jobs and the UiPath robot; bottling line"), ad("svc_twin_a"), ad("svc_twin_b"), ad("svc_envmix"),
        ad("svc_unconstrained", flags=["NORMAL_ACCOUNT", "TRUSTED_FOR_DELEGATION"]),
        ad("svc_mixed", flags=["TRUSTED_FOR_DELEGATION"]),
        ad("svc_pt", flags=["TRUSTED_TO_AUTH_FOR_DELEGATION"]),
        ad("svc_db", spns=["MSSQLSvc/db01.corp.acme.test:1433"]),
        ad("svc_kcd"), ad("svc_admin"), ad("svc_sidadmin"), ad("svc_acl"), ad("svc_helpdesk"),
        ad("svc_human", upn="john.doe@acme.test"),
        ad("svc_profile", attributes={"profilePath": r"\\fs01\profiles\svc_profile"}),
        ad("svc_named", upn="svc.backup@acme.test"),  # a service-style UPN is not a person's name
        ad("gmsa_one$", kind="gmsa"),
        ad("svc_inuse", last_used=d(2026, 9, 21)),
        ad("svc_rc4", flags=["RC4_ONLY"]), ad("svc_des", flags=["USE_DES_KEY_ONLY"]),
        ad("svc_nopw", flags=["PASSWD_NOTREQD"]), ad("svc_asrep", flags=["DONT_REQ_PREAUTH"]),
        ad("svc_noexpire", flags=["DONT_EXPIRE_PASSWD"]),
        ad("svc_oldpw", password_last_set=d(2020, 1, 1)),
        ad("svc_oldcred"), ad("svc_freshpw", password_last_set=d(2026, 6, 1)),
        ad("svc_leak"), ad("svc_loop1"), ad("svc_loop2"),
        ad("alice", kind="person", enabled=True), ad("bob", kind="person", enabled=False),
        sp("app_cert_a"), sp("app_cert_b"), sp("app_graph"), sp("app_many"),
        sp("app_secret"), sp("app_expired"), sp("app_noexpiry"),
        sp("app_vendor", flags=["ExternalApp"], attributes={"servicePrincipal": {"appOwnerOrganizationId": "tenant-b"}}),
        sp("app_msft", attributes={"servicePrincipal": {
            "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a"}}),
        sp("app_vendor_idle", flags=["ExternalApp"]),
        sp("app_fic"), sp("app_fic_ok"),
        sp("agent_x", kind="agent"),
        # created long ago, no last use: but nothing in this tenant reports use, so it is not "never used"
        sp("app_unreported", created=d(2020, 1, 1)),
    ]
    nodes = [
        host("web01.corp.acme.test"), host("web02.corp.acme.test"), host("app01.emea.acme.test"),
        host("app02.emea.acme.test"), host("webprod01.corp.acme.test"), host("webdev01.corp.acme.test"),
        host("srv01.corp.acme.test"), host("old01.corp.acme.test"), host("db01.corp.acme.test"),
        NodeRecord(ref="key:application:hr-copilot", kind="application", name="hr-copilot", authority=TENANT,
                   source_record="graph.json:hr-copilot"),
        NodeRecord(ref="key:application:mcp-gateway", kind="application", name="mcp-gateway", authority=TENANT,
                   source_record="graph.json:mcp-gateway"),
        NodeRecord(ref="key:application:graph", kind="application", name="Microsoft Graph", authority=TENANT,
                   source_record="graph.json:graph"),
        NodeRecord(ref="key:application:sharepoint", kind="application", name="SharePoint", authority=TENANT,
                   source_record="graph.json:sp"),
        group("Tier0"), group("Domain Admins"), group("Domänen-Admins", sid="S-1-5-21-1-2-3-512"),
        group("Helpdesk"), group("Printers"),
    ]
    edges = [
        uses("host:old01.corp.acme.test", ref("svc_stale")),
        uses("host:web01.corp.acme.test", ref("svc_mixed")),
        *[uses(f"host:{h}", ref("svc_shared")) for h in ("web01.corp.acme.test", "web02.corp.acme.test",
                                                         "app01.emea.acme.test", "app02.emea.acme.test")],
        uses("key:application:hr-copilot", ref("svc_ai")), uses("key:application:mcp-gateway", ref("svc_ai")),
        EdgeRecord(ref("svc_twin_a"), ref("svc_twin_b"), "SharesCredential", "rules.ldif:twin"),
        uses("host:webprod01.corp.acme.test", ref("svc_envmix")),
        uses("host:webdev01.corp.acme.test", ref("svc_envmix")),
        EdgeRecord(ref("svc_pt"), "spn:mssqlsvc/db01.corp.acme.test:1433", "AllowedToDelegate", "rules.ldif:pt",
                   {"spn": "MSSQLSvc/db01.corp.acme.test:1433"}),
        EdgeRecord(ref("svc_kcd"), "spn:mssqlsvc/db01.corp.acme.test:1433", "AllowedToDelegate", "rules.ldif:kcd",
                   {"spn": "MSSQLSvc/db01.corp.acme.test:1433"}),
        EdgeRecord(ref("svc_admin"), gref("Tier0"), "MemberOf", "rules.ldif:m1"),
        EdgeRecord(gref("Tier0"), gref("Domain Admins"), "MemberOf", "rules.ldif:m2"),
        EdgeRecord(ref("svc_sidadmin"), gref("Domänen-Admins"), "MemberOf", "rules.ldif:m3"),
        EdgeRecord(ref("svc_acl"), ref("svc_quiet"), "GenericAll", "rules.ldif:acl"),
        EdgeRecord(ref("svc_helpdesk"), gref("Helpdesk"), "MemberOf", "rules.ldif:m4"),
        EdgeRecord(gref("Helpdesk"), gref("Printers"), "GenericWrite", "rules.ldif:acl2"),
        EdgeRecord("host:srv01.corp.acme.test", ref("gmsa_one$"), "ReadGMSAPassword", "rules.ldif:gmsa"),
        EdgeRecord(ref("svc_loop1"), ref("svc_loop2"), "AllowedToDelegate", "rules.ldif:loop"),
        EdgeRecord(ref("svc_orphan"), ref("bob"), "ManagedBy", "rules.ldif:owner"),
        EdgeRecord(ref("alice"), "ext:entra:app_cert_a", "Owns", "graph.json:owner"),
        EdgeRecord("ext:entra:app_graph", "key:application:graph", "AppRoleAssignment", "graph.json:ara",
                   {"assignments": [{"appRoleId": "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
                                     "role": "Directory.ReadWrite.All"}]}),
        EdgeRecord("ext:entra:app_many", "key:application:graph", "DelegatedGrant", "graph.json:grant",
                   {"scope": " ".join(f"Custom{i}.Read" for i in range(20))}),
        EdgeRecord("ext:entra:app_vendor", "key:application:sharepoint", "AppRoleAssignment", "graph.json:v",
                   {"roles": ["Sites.Read.All"]}),
        EdgeRecord("ext:entra:app_msft", "key:application:graph", "DelegatedGrant", "graph.json:m",
                   {"scope": "User.Read"}),
    ]
    for a in accounts:
        if a.kind != "person" and a.name not in OWNED_BY_ALICE_EXCEPT:
            edges.append(EdgeRecord(a.ref, ref("alice"), "ManagedBy", "rules.ldif:owner"))
    creds = [
        CredentialRecord("ext:entra:app_cert_a", "certificate", "k1", "graph.json:c", created=d(2026, 1, 1),
                         expires=d(2027, 1, 1), attributes={"thumbprint": "AB12CD"}),
        CredentialRecord("ext:entra:app_cert_b", "certificate", "k2", "graph.json:c", created=d(2026, 1, 1),
                         expires=d(2027, 1, 1), attributes={"thumbprint": "ab12cd"}),
        CredentialRecord(ref("svc_oldcred"), "password", "password", "rules.ldif:pw", created=d(2019, 1, 1)),
        CredentialRecord("ext:entra:app_secret", "client_secret", "s1", "graph.json:s", created=d(2025, 1, 1),
                         expires=d(2027, 1, 1)),
        CredentialRecord("ext:entra:app_expired", "client_secret", "s2", "graph.json:s", created=d(2020, 1, 1),
                         expires=d(2022, 1, 1)),
        CredentialRecord("ext:entra:app_noexpiry", "client_secret", "s3", "graph.json:s", created=d(2025, 1, 1)),
        CredentialRecord("ext:entra:app_fic", "federated", "f1", "graph.json:f",
                         attributes={"issuer": "https://token.actions.githubusercontent.com",
                                     "subject": "repo:acme/web:pull_request"}),
        CredentialRecord("ext:entra:app_fic_ok", "federated", "f2", "graph.json:f",
                         attributes={"issuer": "https://token.actions.githubusercontent.com",
                                     "subject": "repo:acme/web:ref:refs/heads/main"}),
    ]
    findings = [FindingRecord(ref("svc_leak"), "secret-in-description", "NHI2", "high",
                              "a password is written in the description; it was not stored", "rules.ldif:leak")]
    return [*accounts, *nodes, *edges, *creds, *findings]


EXPECTED = {
    "disabled": {"svc_disabled"},
    "stale": {"svc_stale", "svc_never"},
    "unused_no_consumers": {"svc_never"},
    "vanished": {"svc_vanished"},
    "owner_gone": {"svc_orphan"},
    "owner_missing": {"svc_noowner", "svc_vanished"},
    "shared_by_many": {"svc_shared", "svc_ai", "svc_envmix"},
    "ai_workloads": {"svc_ai", "svc_aidesc"},
    "shared_credential": {"svc_twin_a", "svc_twin_b", "app_cert_a", "app_cert_b"},
    "environment_mix": {"svc_envmix"},
    "unconstrained_delegation": {"svc_unconstrained", "svc_mixed"},
    "protocol_transition": {"svc_pt"},
    "constrained_delegation": {"svc_kcd", "svc_loop1"},
    "privileged_group": {"svc_admin", "svc_sidadmin"},
    "control_rights": {"svc_acl", "svc_helpdesk"},
    "privileged_permissions": {"app_graph"},
    "many_permissions": {"app_many"},
    "interactive_use": {"svc_profile"},
    "person_name": {"svc_human"},
    "managed_one_workload": {"gmsa_one$"},
    "single_workload": {"gmsa_one$", "svc_db", "svc_mixed"},
    "in_use": {"svc_inuse"},
    "already_agent": {"agent_x"},
    "rc4_only": {"svc_rc4"},
    "des_only": {"svc_des"},
    "password_not_required": {"svc_nopw"},
    "no_preauth": {"svc_asrep"},
    "password_age": {"svc_oldpw", "svc_oldcred"},
    "password_never_expires": {"svc_noexpire"},
    "long_lived_secret": {"app_secret", "app_noexpiry"},
    "secret_in_data": {"svc_leak"},
    "third_party": {"app_vendor"},
    "broad_federation": {"app_fic"},
    "dependency_cycle": {"svc_loop1", "svc_loop2"},
}


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    """The rule estate, imported twice (the second time without svc_vanished) plus one manual
    dependency that closes the svc_loop cycle."""
    store = services.init_project(tmp_path_factory.mktemp("rules") / "rules.nhiplan")
    records = rule_estate()
    gone = ad("svc_vanished")
    services.import_records(store, [[*records, gone, EdgeRecord(gone.ref, ref("alice"), "ManagedBy", "x:1")]],
                            source_kind="ldif", family="ad", source="rules.ldif", authority="rules")
    services.import_records(store, [records], source_kind="ldif", family="ad", source="rules.ldif",
                            authority="rules")
    services.add_manual_dependency(store, "svc_loop2", "svc_loop1", "loop1 reads loop2's queue", author="ana")
    yield store
    store.close()


@pytest.fixture(scope="module")
def recs(estate):
    return {r["name"]: r for r in services.recommendations(estate, now=NOW)}


def test_every_policy_rule_has_an_implementation_and_an_expectation():
    assert set(default_policy().rules) == set(RULES) == set(EXPECTED)


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_rule_fires_exactly_where_expected(recs, rule):
    fired = {name for name, r in recs.items() if rule in r["rules"]}
    assert fired == EXPECTED[rule]


def test_quiet_account_gets_no_reason_and_no_recommendation(recs):
    assert recs["svc_quiet"]["rules"] == [] and recs["svc_quiet"]["recommendation"] is None
    assert recs["app_unreported"]["rules"] == []
    assert recs["svc_quiet"]["score"] == 0.0 and recs["svc_quiet"]["tags"] == []


def test_people_get_no_recommendation(recs):
    assert "alice" not in recs and "bob" not in recs


def test_reasons_are_sentences_with_the_real_numbers(recs):
    assert "used by 4 hosts in 2 domains (2 workloads: app and web)" in recs["svc_shared"]["reasons"]
    assert "password unchanged for 2,465 days (since 2020-01-01)" in recs["svc_oldpw"]["reasons"]
    assert ("can impersonate any user to MSSQLSvc/db01.corp.acme.test:1433 (protocol transition)"
            in recs["svc_pt"]["reasons"])
    assert "not used for 638 days (last used 2025-01-01)" in recs["svc_stale"]["reasons"]
    assert "never used, created 1,004 days ago" in recs["svc_never"]["reasons"]
    assert "member of Domain Admins (through Tier0)" in recs["svc_admin"]["reasons"]
    assert "shared by 2 AI workloads (hr-copilot and mcp-gateway)" in recs["svc_ai"]["reasons"]
    assert ("shared by 3 AI workloads its description names (helpdesk assistant, sales copilot and HR FAQ bot)"
            in recs["svc_aidesc"]["reasons"])
    assert "holds Directory.ReadWrite.All on Microsoft Graph" in recs["app_graph"]["reasons"]
    assert "holds 20 permissions on 1 resource" in recs["app_many"]["reasons"]
    assert "client secret s1 is valid for 730 days" in recs["app_secret"]["reasons"]
    assert "its owner bob is disabled" in recs["svc_orphan"]["reasons"]
    assert "it carries attributes of interactive logons (profilePath)" in recs["svc_profile"]["reasons"]
    assert "its sign-in name looks like a person's (john.doe@acme.test)" in recs["svc_human"]["reasons"]
    assert "has full control of svc_quiet" in recs["svc_acl"]["reasons"]
    assert "may write attributes of Printers (through Helpdesk)" in recs["svc_helpdesk"]["reasons"]
    assert any("svc_loop1 → svc_loop2 → svc_loop1" in r for r in recs["svc_loop1"]["reasons"])
    assert "an application of tenant tenant-b that holds 1 permission here" in recs["app_vendor"]["reasons"]


def test_recommendations_and_owasp_tags(recs):
    expect = {"svc_disabled": "retire", "svc_never": "retire", "svc_stale": "retire", "svc_vanished": "retire",
              "svc_shared": "split", "svc_ai": "split", "svc_unconstrained": "split", "svc_admin": "split",
              "gmsa_one$": "keep", "svc_db": "keep", "svc_inuse": "keep", "agent_x": "keep"}
    assert {k: recs[k]["recommendation"] for k in expect} == expect
    assert recs["svc_never"]["tags"] == ["NHI1"]
    assert recs["svc_leak"]["tags"] == ["NHI2"]
    assert recs["svc_unconstrained"]["tags"] == ["NHI4"]
    assert recs["svc_admin"]["tags"] == ["NHI5"]
    assert recs["svc_oldpw"]["tags"] == ["NHI7"]
    assert recs["svc_shared"]["tags"] == ["NHI9"]
    assert recs["svc_human"]["tags"] == ["NHI10"] and recs["svc_profile"]["tags"] == ["NHI10"]
    assert recs["svc_profile"]["recommendation"] == "split" and recs["svc_human"]["recommendation"] is None
    assert recs["app_vendor"]["tags"] == ["NHI3"]
    assert recs["app_fic"]["tags"] == ["NHI6"]
    assert recs["svc_envmix"]["tags"] == ["NHI8", "NHI9"]


def test_score_is_the_winning_share_of_the_votes(recs):
    # svc_never: stale (3.0) + unused_no_consumers (1.5) vote retire; prior 1.0 -> 4.5 / 5.5
    assert recs["svc_never"]["score"] == 0.82
    # gmsa_one$: managed_one_workload (2.0) + single_workload (1.5) vote keep -> 3.5 / 4.5
    assert recs["gmsa_one$"]["score"] == 0.78
    assert all(0.0 <= r["score"] <= 1.0 for r in recs.values())


def test_a_counter_argument_is_marked(recs):
    # svc_mixed: unconstrained delegation (split 2.5) outweighs its single consumer (keep 1.5).
    rec = recs["svc_mixed"]
    assert rec["recommendation"] == "split" and rec["score"] == 0.5
    assert rec["reasons"] == ["can impersonate any user to any service (unconstrained delegation)",
                              "used by one host only (web01.corp.acme.test) (speaks for keep)"]


def test_list_shows_recommendation_and_tags(estate):
    rows = {r["name"]: r for r in services.list_identities(estate)}
    assert rows["svc_disabled"]["recommendation"] == "retire"
    assert "NHI2" in rows["svc_leak"]["tags"]
