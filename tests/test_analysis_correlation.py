"""One graph across sources: the same identity seen in AD, Entra (hybrid) and SCIM is correlated,
every source's provenance stays visible, and two domains' same-named accounts are never merged.

The first test reads real export files (LDIF, Graph JSON, SCIM JSON written here) through the
real importers; the others build records the way importers do, to pin the edge cases down.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from nhiplan.core import services
from nhiplan.core.importers.ad_codec import guid_to_bytes, sid_to_bytes
from nhiplan.core.records import IdentityRecord

CORP_SID = "S-1-5-21-1111111111-2222222222-3333333333"
EMEA_SID = "S-1-5-21-1444444444-1555555555-1666666666"
TENANT = "8f3a1c2e-0000-4000-8000-00000000beef"
G_SYNC = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e811"
G_DANA = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e812"
G_SQL_CORP = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e813"
G_SQL_EMEA = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e814"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def user_entry(dn: str, sam: str, guid: str, sid: str, uac: int = 512, **extra: str) -> str:
    lines = [f"dn: {dn}", "objectClass: top", "objectClass: person", "objectClass: user", f"sAMAccountName: {sam}",
             f"objectGUID:: {b64(guid_to_bytes(guid))}", f"objectSid:: {b64(sid_to_bytes(sid))}",
             f"userAccountControl: {uac}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def write_estate(folder):
    (folder / "ad").mkdir()
    (folder / "ad" / "corp.ldif").write_text("version: 1\n\n" + "\n".join([
        user_entry("CN=svc_sync,OU=Service Accounts,DC=corp,DC=acme,DC=test", "svc_sync", G_SYNC,
                   f"{CORP_SID}-1105", 66048, servicePrincipalName="HTTP/sync01.corp.acme.test"),
        user_entry("CN=Dana Admin,OU=Staff,DC=corp,DC=acme,DC=test", "dana.admin", G_DANA, f"{CORP_SID}-1200",
                   userPrincipalName="dana.admin@acme.test"),
        user_entry("CN=svc_sql,OU=Service Accounts,DC=corp,DC=acme,DC=test", "svc_sql", G_SQL_CORP,
                   f"{CORP_SID}-1300", servicePrincipalName="MSSQLSvc/sql01.corp.acme.test:1433"),
    ]))
    (folder / "ad" / "emea.ldif").write_text("version: 1\n\n" + user_entry(
        "CN=svc_sql,OU=Service Accounts,DC=emea,DC=acme,DC=test", "svc_sql", G_SQL_EMEA, f"{EMEA_SID}-1300",
        servicePrincipalName="MSSQLSvc/sql01.emea.acme.test:1433"))
    entra = folder / "entra"
    entra.mkdir()
    (entra / "organization.json").write_text(json.dumps({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#organization",
        "value": [{"id": TENANT, "displayName": "Acme"}]}))
    (entra / "servicePrincipals.json").write_text(json.dumps({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals",
        "value": [{"id": "11111111-1111-4111-8111-111111111111", "appId": "22222222-2222-4222-8222-222222222222",
                   "displayName": "Sync Connector", "servicePrincipalType": "Application", "accountEnabled": True,
                   "appOwnerOrganizationId": TENANT,
                   "owners": [{"@odata.type": "#microsoft.graph.user",
                               "id": "33333333-3333-4333-8333-333333333333"}]}]}))
    (entra / "users.json").write_text(json.dumps({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
        "value": [{"id": "33333333-3333-4333-8333-333333333333", "displayName": "Dana Admin",
                   "userPrincipalName": "dana.admin@acme.test", "accountEnabled": True,
                   "onPremisesSecurityIdentifier": f"{CORP_SID}-1200",
                   "onPremisesImmutableId": b64(uuid.UUID(G_DANA).bytes_le)}]}))
    (folder / "scim").mkdir()
    (folder / "scim" / "sync-app.json").write_text(json.dumps({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 1,
        "Resources": [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u-17",
                       "externalId": G_SYNC, "userName": "svc_sync@acme.test", "active": True,
                       "userType": "Application",
                       "meta": {"resourceType": "User", "location": "https://sync.acme.test/scim/v2/Users/u-17"}}]}))


@pytest.fixture
def merged(project, tmp_path):
    write_estate(tmp_path)
    services.import_paths(project, [tmp_path / "ad" / "corp.ldif"], authority="corp.acme.test")
    services.import_paths(project, [tmp_path / "ad" / "emea.ldif"], authority="emea.acme.test")
    services.import_paths(project, [tmp_path / "entra"])
    services.import_paths(project, [tmp_path / "scim"])
    return project


def test_real_exports_correlate_across_ad_entra_and_scim(merged):
    rows = services.list_identities(merged, include_people=True)
    by = {}
    for r in rows:
        by.setdefault(r["name"], []).append(r)
    # the hybrid person is one identity, seen in AD and in Entra
    people = [r for r in rows if r["kind"] == "person"]
    assert len(people) == 1
    dana = people[0]
    assert dana["key"] == "corp.acme.test/dana.admin" and dana["sources"] == ["entra-json", "ldif"]
    detail = services.identity_detail(merged, dana["key"])
    assert sorted(x["source_kind"] for x in detail["sightings"]) == ["entra-json", "ldif"]
    assert {x["origin"].split(":", 1)[0] for x in detail["sightings"]} == {"ad", "entra"}
    # the Entra app is owned by that same person: the owner edge points at the merged identity
    sync_app = next(r for r in rows if r["name"] == "Sync Connector")
    owners = [e for e in services.identity_detail(merged, sync_app["key"])["edges"] if e["kind"] == "ManagedBy"]
    assert [e["other"] for e in owners] == [dana["key"]]
    # two domains' svc_sql stay two
    assert sorted(r["authority"] for r in by["svc_sql"]) == ["corp.acme.test", "emea.acme.test"]
    # the SCIM account provisioned from svc_sync is its own identity, linked to the directory one
    scim = next(r for r in rows if "scim-json" in r["sources"])
    assert scim["sources"] == ["scim-json"] and scim["kind"] == "scim_account"
    sync = by["svc_sync"][0]
    links = [e for e in services.identity_detail(merged, sync["key"])["edges"] if e["kind"] == "ProvisionedAs"]
    assert [(e["direction"], e["other"]) for e in links] == [("out", scim["key"])]


def test_provenance_of_each_fact_is_visible(merged):
    sync = next(r for r in services.list_identities(merged) if r["name"] == "svc_sync")
    detail = services.identity_detail(merged, sync["key"])
    assert [x["record"].split(":")[0].rsplit("/", 1)[-1] for x in detail["sightings"]] == ["corp.ldif"]
    assert all(e["source"] for e in detail["edges"])


def rec(name: str, authority: str, **kw) -> IdentityRecord:
    return IdentityRecord(ref=f"dn:cn={name},dc={authority}", kind="service_account", name=name, authority=authority,
                          source_record=f"{authority}.x:1", **kw)


def import_one(store, records, source_kind: str, family: str, authority: str):
    return services.import_records(store, [records], source_kind=source_kind, family=family,
                                   source=f"{authority}.x", authority=authority)


def test_twins_by_sid_merge_even_when_the_name_differs(project):
    import_one(project, [rec("svc_x", "corp.acme.test", sid=f"{CORP_SID}-1500")], "ldif", "ad", "corp")
    import_one(project, [rec("Sync X (cloud)", "tenant-a", sid=f"{CORP_SID}-1500")], "entra-json", "entra", "t")
    rows = services.list_identities(project)
    assert len(rows) == 1 and rows[0]["sources"] == ["entra-json", "ldif"]


def test_same_name_in_two_domains_never_merges_across_runs_and_sources(project):
    import_one(project, [rec("svc_sql", "corp.acme.test", sid=f"{CORP_SID}-1300")], "ldif", "ad", "corp")
    import_one(project, [rec("svc_sql", "emea.acme.test", sid=f"{EMEA_SID}-1300")], "ldif", "ad", "emea")
    # a CSV export of the emea domain without SIDs matches emea's account by authority + name, not corp's
    import_one(project, [rec("svc_sql", "emea.acme.test", description="from csv")], "ad-csv", "ad", "emea-csv")
    rows = sorted(services.list_identities(project), key=lambda r: r["authority"])
    assert [(r["authority"], r["sources"]) for r in rows] == [("corp.acme.test", ["ldif"]),
                                                            ("emea.acme.test", ["ad-csv", "ldif"])]


def test_twins_by_guid_merge_when_exports_name_the_domain_differently(project):
    import_one(project, [rec("svc_app", "corp.acme.test", guid=G_SYNC)], "ldif", "ad", "corp")
    import_one(project, [rec("svc_app", "CORP", guid=G_SYNC.upper())], "ad-csv", "ad", "corp-netbios")
    rows = services.list_identities(project)
    assert [(r["key"], r["sources"]) for r in rows] == [("corp.acme.test/svc_app", ["ad-csv", "ldif"])]
