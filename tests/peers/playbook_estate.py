"""The estate the playbook is checked with: AD service accounts with SCIM accounts in two
downstream applications, SAML trust, delegation, and one decision of every kind.

- svc_payroll: split into payroll-reader (autonomous, private_key_jwt) and payroll-approver
  (on-behalf-of, client_secret); holds an account in HR (SCIM, three groups) and trusts two
  SAML applications (Expenses by SSO, Reports API by the SAML bearer grant); delegates to svc_sql.
- svc_batch: split into batch-agent (mTLS); holds an account in Ops, a SCIM service with /Agents.
- svc_fed: split into fed-agent (workload identity federation).
- svc_sql (vault), svc_files (doppler), svc_share (1password), svc_gm (gmsa): kept.
- svc_old: retired; holds an account in HR.
"""

from __future__ import annotations

from typing import Any

from nhiplan.core import services
from nhiplan.core.records import EdgeRecord, IdentityRecord, NodeRecord

DOMAIN = "corp.acme.test"
BASE = "dc=corp,dc=acme,dc=test"
HR = "hr.acme.test"
OPS = "ops.acme.test"

# SCIM state before the migration: service -> users (userName -> groups)
HR_USERS = {"svc_payroll@corp.acme.test": ["Payroll Readers", "Payroll Approvers", "All Staff"],
            "svc_old@corp.acme.test": ["All Staff"]}
OPS_USERS = {"svc_batch@corp.acme.test": ["Operators"]}
SCIM_OWNERS = {"svc_payroll@corp.acme.test": "svc_payroll", "svc_old@corp.acme.test": "svc_old",
               "svc_batch@corp.acme.test": "svc_batch"}


def ref(name: str) -> str:
    return f"dn:cn={name},ou=svc,{BASE}"


def _account(name: str, line: int, **kw: Any) -> IdentityRecord:
    return IdentityRecord(ref=ref(name), kind=kw.pop("kind", "service_account"), name=name, authority=DOMAIN,
                          source_record=f"estate.ldif:{line}", dn=f"CN={name},OU=svc,DC=corp,DC=acme,DC=test",
                          upn=f"{name}@{DOMAIN}", enabled=True, **kw)


def _host(name: str, line: int) -> NodeRecord:
    return NodeRecord(ref=f"host:{name}", kind="host", name=name, authority=DOMAIN, source_record=f"estate.ldif:{line}")


def directory_records() -> list:
    recs: list = [
        _account("svc_payroll", 10, spns=["HTTP/payroll01.corp.acme.test"], flags=["TRUSTED_TO_AUTH_FOR_DELEGATION"]),
        _account("svc_batch", 20), _account("svc_fed", 30), _account("svc_sql", 40, spns=["MSSQLSvc/sql01.corp.acme.test:1433"]),
        _account("svc_files", 50), _account("svc_share", 60), _account("svc_gm", 70, spns=["HTTP/gm01.corp.acme.test"]),
        _account("svc_old", 80),
        _account("alice", 90, kind="person"),
    ]
    hosts = {"svc_payroll": ["payroll01.corp.acme.test", "approvals01.corp.acme.test"], "svc_batch": ["batch01.corp.acme.test"],
             "svc_fed": ["k8s01.corp.acme.test"], "svc_sql": ["sql01.corp.acme.test"], "svc_files": ["files01.corp.acme.test"],
             "svc_share": ["share01.corp.acme.test"], "svc_gm": ["gm01.corp.acme.test"]}
    line = 100
    for svc, names in hosts.items():
        for h in names:
            line += 1
            recs.append(_host(h, line))
            recs.append(EdgeRecord(f"host:{h}", ref(svc), "UsesIdentity", f"estate.ldif:{line}"))
    recs.append(EdgeRecord(ref("svc_payroll"), ref("svc_sql"), "AllowedToDelegate", "estate.ldif:10",
                           {"spn": "MSSQLSvc/sql01.corp.acme.test:1433"}))
    recs.append(EdgeRecord(ref("svc_sql"), ref("alice"), "ManagedBy", "estate.ldif:40"))
    # SAML: two applications trust svc_payroll.
    recs += [
        NodeRecord(ref="key:application:expenses", kind="application", name="Expenses", authority=DOMAIN,
                   source_record="saml.json:1",
                   attributes={"protocol": "saml", "entity_id": "https://expenses.acme.test/saml/metadata",
                               "acs_url": "https://expenses.acme.test/saml/acs",
                               "name_id_format": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"}),
        NodeRecord(ref="key:application:reports-api", kind="application", name="Reports API", authority=DOMAIN,
                   source_record="saml.json:2",
                   attributes={"protocol": "saml", "entity_id": "https://reports.acme.test",
                               "acs_url": "https://reports.acme.test/saml/acs",
                               "token_endpoint": "https://reports.acme.test/oauth2/token"}),
        EdgeRecord(ref("svc_payroll"), "key:application:expenses", "AuthenticatesWithSaml", "saml.json:1",
                   {"name_id": "svc_payroll", "attributes": {"role": ["approver"],
                                                            "urn:oid:1.3.6.1.4.1.5923.1.1.1.7": ["expenses:submit"]}}),
        EdgeRecord(ref("svc_payroll"), "key:application:reports-api", "AuthenticatesWithSaml", "saml.json:2",
                   {"name_id": "svc_payroll@corp.acme.test", "grant": "saml2-bearer"}),
    ]
    return recs


def scim_records(authority: str, base_url: str, users: dict[str, dict], groups: dict[str, dict],
                 endpoints: list[str]) -> list:
    """Records as the SCIM importer yields them, from the resources a SCIM service returned.

    users: userName -> resource (with its id); groups: displayName -> resource (with members).
    """
    app = f"key:application:{authority}"
    recs: list = [NodeRecord(ref=app, kind="application", name=authority, authority=authority,
                             source_record=base_url, attributes={"scim_service": authority, "scim_base": base_url,
                                                                 "endpoints": endpoints})]
    for user_name, res in users.items():
        uref = f"ext:scim:{authority}:{res['id']}"
        recs.append(IdentityRecord(ref=uref, kind="scim_account", name=user_name, authority=authority,
                                   source_record=f"{base_url}/Users/{res['id']}", external_ids=[uref],
                                   enabled=True, attributes=res))
        recs.append(EdgeRecord(uref, app, "ProvisionedIn", f"{base_url}/Users/{res['id']}"))
        recs.append(EdgeRecord(ref(SCIM_OWNERS[user_name]), uref, "ProvisionedAs", f"{base_url}/Users/{res['id']}",
                               {"via": "upn"}))
    for name, res in groups.items():
        gref = f"ext:scim:{authority}:{res['id']}"
        recs.append(NodeRecord(ref=gref, kind="group", name=name, authority=authority,
                               source_record=f"{base_url}/Groups/{res['id']}", attributes=res))
        for m in res.get("members") or []:
            recs.append(EdgeRecord(f"ext:scim:{authority}:{m['value']}", gref, "MemberOf",
                                   f"{base_url}/Groups/{res['id']}"))
    return recs


DECISIONS: list[dict[str, Any]] = [
    {"identity": "svc_payroll", "decision": "split", "reason": "two workloads, one acts for users", "agents": [
        {"name": "payroll-reader", "purpose": "nightly payroll export", "delegation": "autonomous",
         "action_classes": ["read"], "scopes": ["payroll.read", "payroll-readers"], "credential": "private_key_jwt",
         "lifetime": "15m", "consumers": ["payroll01.corp.acme.test"]},
        {"name": "payroll-approver", "purpose": "approves payroll runs for managers", "delegation": "on-behalf-of",
         "action_classes": ["approve"], "scopes": ["payroll.approve", "payroll-approvers"],
         "credential": "client_secret", "lifetime": "5m", "consumers": ["approvals01.corp.acme.test"]}]},
    {"identity": "svc_batch", "decision": "split", "reason": "one job", "agents": [
        {"name": "batch-agent", "purpose": "batch runs", "scopes": ["batch.run"], "credential": "mtls",
         "lifetime": "1h", "consumers": ["batch01.corp.acme.test"]}]},
    {"identity": "svc_fed", "decision": "split", "reason": "runs in Kubernetes", "agents": [
        {"name": "fed-agent", "purpose": "event pipeline", "scopes": ["events.write"], "credential": "federated",
         "lifetime": "10m", "consumers": ["k8s01.corp.acme.test"]}]},
    {"identity": "svc_sql", "decision": "keep", "reason": "database engine", "rotation": {"every": "30d", "via": "vault"}},
    {"identity": "svc_files", "decision": "keep", "reason": "file share", "rotation": {"every": "7d", "via": "doppler"}},
    {"identity": "svc_share", "decision": "keep", "reason": "share", "rotation": {"every": "14d", "via": "1password"}},
    {"identity": "svc_gm", "decision": "keep", "reason": "windows service", "rotation": {"every": "30d", "via": "gmsa"}},
    {"identity": "svc_old", "decision": "retire", "reason": "unused"},
]


def decide_all(store) -> None:
    for d in DECISIONS:
        services.decide(store, d["identity"], d["decision"], d["reason"], agents=d.get("agents"),
                        rotation=d.get("rotation"))


def build(store, scim: dict[str, tuple[str, dict, dict, list[str]]] | None = None) -> None:
    """Import the estate into `store` and decide it. `scim`: authority -> (base_url, users, groups, endpoints)."""
    services.import_records(store, [directory_records()], source_kind="ldif", family="ad", source="estate.ldif")
    for authority, (base_url, users, groups, endpoints) in (scim or {}).items():
        services.import_records(store, [scim_records(authority, base_url, users, groups, endpoints)],
                                source_kind="scim", family="scim", source=base_url, authority=authority)
    decide_all(store)


def offline_scim() -> dict[str, tuple[str, dict, dict, list[str]]]:
    """SCIM state with made-up ids, for tests that do not replay against a server."""
    def users(names: dict[str, list[str]], prefix: str) -> dict[str, dict]:
        return {u: {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": f"{prefix}-u{i}",
                    "userName": u, "active": True} for i, u in enumerate(sorted(names))}

    def groups(names: dict[str, list[str]], us: dict[str, dict], prefix: str) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for gname in sorted({g for gs in names.values() for g in gs}):
            out[gname] = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": f"{prefix}-g-{len(out)}",
                          "displayName": gname,
                          "members": [{"value": us[u]["id"]} for u in sorted(names) if gname in names[u]]}
        return out

    hr_u, ops_u = users(HR_USERS, "hr"), users(OPS_USERS, "ops")
    return {HR: ("https://hr.acme.test/scim/v2", hr_u, groups(HR_USERS, hr_u, "hr"), ["/Users", "/Groups"]),
            OPS: ("https://ops.acme.test/scim/v2", ops_u, groups(OPS_USERS, ops_u, "ops"),
                  ["/Users", "/Groups", "/Agents"])}
