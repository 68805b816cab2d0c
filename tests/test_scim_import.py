"""SCIM export files: ListResponse pages, arrays, NDJSON; kinds, agents, secrets, membership, correlation."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from nhiplan.core import services
from nhiplan.core.cli import main
from nhiplan.core.importers.scim_common import authority_from_location, authority_from_url
from nhiplan.core.importers.scim_json import ScimJsonImporter
from nhiplan.core.model import Credential, Edge, Finding, Identity, Node, Sighting
from nhiplan.core.records import IdentityRecord
from tests.estates import small_estate_records

DATA = Path(__file__).parent / "data" / "scim"


@pytest.fixture(scope="module")
def empty_project(tmp_path_factory):
    path = tmp_path_factory.mktemp("empty") / "p.nhiplan"
    assert main(["init", str(path)]) == 0
    return path


@pytest.fixture
def proj(empty_project, tmp_path):
    """A fresh empty project (a copy: creating one runs the migrations, which takes a while)."""
    path = tmp_path / "p.nhiplan"
    shutil.copy(empty_project, path)
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def rows(path, model, *where):
    store = services.open_project(path)
    try:
        with store.session() as s:
            q = select(model)
            for w in where:
                q = q.where(w)
            return [{c.name: getattr(r, c.name) for c in model.__table__.columns} for r in s.scalars(q)]
    finally:
        store.close()


def identities(path) -> dict[str, dict]:
    return {r["key"]: r for r in rows(path, Identity)}


def edges(path, kind=None) -> set[tuple[str, str, str]]:
    return {(e["src"], e["kind"], e["dst"]) for e in rows(path, Edge) if kind is None or e["kind"] == kind}


def test_rfc7643_full_user(proj, capsys):
    code, out, err = run(capsys, "import", proj, DATA / "rfc7643-full-user.json")
    assert code == 0, err
    assert "imported scim-json (scim:example.com/v2)" in out
    key = "scim:example.com/v2/bjensen@example.com"
    ident = identities(proj)[key]
    assert ident["kind"] == "person" and ident["name"] == "bjensen@example.com"
    assert ident["display_name"] == "Babs Jensen" and ident["enabled"] is True
    assert ident["emails"] == ["bjensen@example.com", "babs@jensen.org"]
    assert ident["created"].replace(tzinfo=UTC) == datetime(2010, 1, 23, 4, 56, 22, tzinfo=UTC)
    assert "ext:scim:example.com/v2:2819c223-7f76-453a-919d-413861904646" in ident["external_ids"]
    assert "ext:scim:example.com/v2:externalId:701984" in ident["external_ids"]
    assert ident["sources"] == ["scim-json"] and "Employee" in ident["classification"]

    creds = {(c["kind"], c["credential_id"]): c for c in rows(proj, Credential)}
    cert = creds[("certificate", "EE21CE87F0EC64106E32AF9172EA56F4C881FDDA")]
    assert cert["expires"].replace(tzinfo=UTC) == datetime(2027, 1, 1, tzinfo=UTC)
    assert cert["attributes"]["subject"] == "O=Example Test,CN=bjensen"
    assert ("password", "password") in creds

    # The password is dropped everywhere, and said to have been there.
    (finding,) = rows(proj, Finding)
    assert (finding["code"], finding["tag"], finding["severity"]) == ("secret-in-data", "NHI2", "high")
    assert "'password'" in finding["message"] and "rfc7643-full-user.json: resource 0" in finding["message"]
    assert "t1meMa$heen" not in out + err
    assert b"t1meMa$heen" not in proj.read_bytes()
    (sighting,) = rows(proj, Sighting)
    assert "password" not in sighting["payload"]
    assert sighting["payload"]["meta"]["version"] == 'W/"a330bc54f0671c9"'  # the RFC's escaped solidus
    enterprise = sighting["payload"]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    assert enterprise["costCenter"] == "4130"

    # Groups the user names but the file lacks are group nodes known by reference.
    groups = {n["name"]: n for n in rows(proj, Node, Node.kind == "group")}
    assert set(groups) == {"Tour Guides", "Employees", "US Employees"}
    assert all(g["attributes"]["placeholder"] for g in groups.values())
    assert {(key, "MemberOf", g["key"]) for g in groups.values()} <= edges(proj)
    assert (key, "ProvisionedIn", "application:example.com/v2") in edges(proj)
    (app,) = rows(proj, Node, Node.kind == "application")
    assert app["name"] == "example.com/v2"
    # The manager is not in the export: no edge, and no invented node.
    assert not edges(proj, "ManagedBy")
    assert not [n for n in rows(proj, Node) if n["kind"] == "resource"]


def test_mixed_search_response_joins_membership_from_both_sides(proj, capsys):
    code, _out, err = run(capsys, "import", proj, DATA / "search-mixed.json")
    assert code == 0, err
    ids = identities(proj)
    assert {i["name"]: i["kind"] for i in ids.values()} == {
        "bjensen@example.com": "scim_account", "jsmith": "scim_account", "svc-tour-sync": "scim_account"}
    (group,) = rows(proj, Node, Node.kind == "group")
    assert group["name"] == "Tour Guides" and group["attributes"]["memberCount"] == 2
    assert "members" not in group["attributes"]
    members = {src for src, kind, dst in edges(proj, "MemberOf") if dst == group["key"]}
    # bjensen is only in her own `groups`; jsmith and the sync account only in the group's `members`.
    assert members == {"scim:example.com/v2/bjensen@example.com", "scim:example.com/v2/jsmith",
                       "scim:example.com/v2/svc-tour-sync"}
    assert "userType 'Service'" in ids["scim:example.com/v2/svc-tour-sync"]["classification"]


def test_pages_in_two_files_overlapping(proj, capsys):
    code, out, err = run(capsys, "import", proj, DATA / "paged")
    assert code == 0, err
    assert "imported scim-json (scim:okta-users) from 2 file(s): 5 identities" in out
    assert "named it 'okta-users' after the file" in err
    ids = identities(proj)
    assert len(ids) == 5
    assert ids["scim:okta-users/user2@okta.example.org"]["enabled"] is False
    svc = ids["scim:okta-users/user3@okta.example.org"]
    assert svc["kind"] == "scim_account" and "isServiceAccount" in svc["classification"]
    payload = next(s["payload"] for s in rows(proj, Sighting) if s["identity_id"] == svc["id"])
    assert payload["urn:ietf:params:scim:schemas:extension:okta:2.0:User"]["costCode"] == "X9"  # vendor kept


def test_entra_quirks_ndjson(proj, capsys):
    code, _out, err = run(capsys, "import", proj, DATA / "entra-provisioned.ndjson", "--authority",
                          "entra-app")
    assert code == 0, err
    ids = identities(proj)
    alice = ids["scim:entra-app/alice@acme.test"]
    assert alice["enabled"] is True and alice["kind"] == "person"  # "True" string; employeeNumber
    assert alice["display_name"] == "Alice Adams" and alice["emails"] == ["alice@acme.test"]
    web = ids["scim:entra-app/svc_web@acme.test"]
    assert web["enabled"] is False and web["kind"] == "scim_account"  # Entra's "False" string
    (group,) = rows(proj, Node, Node.kind == "group")
    assert group["name"] == "Finance"
    assert {s for s, _k, d in edges(proj, "MemberOf") if d == group["key"]} == {
        "scim:entra-app/alice@acme.test", "scim:entra-app/svc_web@acme.test"}


EXPECTED_KINDS = {
    "dana@corp.example": "person",  # userType Employee
    "eve@corp.example": "person",  # employeeNumber
    "backup-runner": "scim_account",  # userType Service Account
    "report-feed": "scim_account",  # vendor isServiceAccount "true"
    "svc-payroll@corp.example": "scim_account",  # service-style name
    "helpdesk-assistant": "agent",  # vendor isAgent
    "triage-bot-2": "agent",  # userType AI Agent
    "frank@corp.example": "scim_account",  # only a name: not sure, so an account
    "grace@corp.example": "person",  # manager + given and family name
    "svc-hr-import": "scim_account",  # Employee on paper, but named like a service: the marker wins
}


def test_kind_rule(proj, capsys):
    code, _out, err = run(capsys, "import", proj, DATA / "kinds.json", "--authority", "corp-app")
    assert code == 0, err
    ids = identities(proj)
    assert {i["name"]: i["kind"] for i in ids.values()} == EXPECTED_KINDS
    assert all(i["classification"] for i in ids.values())
    # list hides people, shows the accounts and agents
    code, out, _ = run(capsys, "list", proj, "--json")
    assert {r["name"] for r in json.loads(out)} == {n for n, k in EXPECTED_KINDS.items() if k != "person"}


def test_agents_and_agentic_applications(proj, capsys):
    code, out, err = run(capsys, "import", proj, DATA / "agents.json")
    assert code == 0, err
    auth = "agents.example.com/scim/v2"
    ids = identities(proj)
    invoice = ids[f"scim:{auth}/agents/invoice-agent"]
    app = ids[f"scim:{auth}/agentic-applications/accounts-payable"]
    orchestrator = ids[f"scim:{auth}/agents/finance-orchestrator"]
    carol = ids[f"scim:{auth}/carol@agents.example.com"]
    assert (invoice["kind"], app["kind"], orchestrator["kind"], carol["kind"]) == ("agent", "agent", "agent",
                                                                                     "person")
    assert invoice["name"] == "invoice-agent" and invoice["display_name"] == "Invoice agent"
    assert "Researcher" in invoice["classification"]
    assert app["last_used"].replace(tzinfo=UTC) == datetime(2026, 10, 30, 12, tzinfo=UTC)
    # The password in the description is redacted, reported, and nowhere in the project.
    assert invoice["description"] == ("Reads invoices from the AP mailbox. Legacy basic auth pw=[redacted] "
                                      "until migrated")
    (finding,) = rows(proj, Finding)
    assert finding["subject"] == invoice["key"] and "'description'" in finding["message"]
    assert b"Winter2024" not in proj.read_bytes() and "Winter2024" not in out + err

    creds = {(c["kind"], c["credential_id"]): c for c in rows(proj, Credential)}
    cert = creds[("certificate", "2DB8BF3571B530DD225ADE3DBDCAC0ED83DF635E")]
    assert cert["expires"].replace(tzinfo=UTC) == datetime(2026, 6, 1, tzinfo=UTC)
    assert ("federated", "subject:spiffe://agents.example.com/ns/finance/sa/invoice-agent") in creds

    e = edges(proj)
    assert (invoice["key"], "ManagedBy", carol["key"]) in e
    assert (invoice["key"], "ManagedBy", orchestrator["key"]) in e
    assert (app["key"], "Owns", invoice["key"]) in e
    assert (app["key"], "Owns", orchestrator["key"]) not in e  # only "authorized", not owned
    assert (invoice["key"], "MemberOf", f"group:{auth}/finance bots") in e
    assert {s for s, k, d in e if k == "ProvisionedIn"} == set(ids)
    # Draft and unknown attributes are kept verbatim.
    payload = next(s["payload"] for s in rows(proj, Sighting) if s["identity_id"] == invoice["id"])
    assert payload["protocols"][0]["type"] == "MCP-Server" and payload["modelProvider"] == "internal-llm"
    app_payload = next(s["payload"] for s in rows(proj, Sighting) if s["identity_id"] == app["id"])
    assert app_payload["oAuthConfiguration"][0]["clientId"] == "ap-client-01"


def test_users_and_groups_files_of_one_service(proj, capsys):
    code, out, err = run(capsys, "import", proj, DATA / "hr-app")
    assert code == 0, err
    assert "scim:hr.example.com/scim/v2" in out
    groups = {n["name"]: n for n in rows(proj, Node, Node.kind == "group")}
    assert set(groups) == {"Payroll", "HR staff"}
    # users.json names Payroll by reference; the full Group record of groups.json wins.
    assert groups["Payroll"]["attributes"].get("placeholder") is None
    assert groups["Payroll"]["attributes"]["meta"]["created"] == "2020-02-02T00:00:00Z"
    auth = "hr.example.com/scim/v2"
    assert edges(proj, "MemberOf") == {
        (f"scim:{auth}/svc-payroll-export", "MemberOf", groups["Payroll"]["key"]),
        (f"scim:{auth}/ivan@hr.example.com", "MemberOf", groups["Payroll"]["key"]),
        (f"scim:{auth}/ivan@hr.example.com", "MemberOf", groups["HR staff"]["key"]),
    }


def test_second_import_updates_and_a_removed_account_vanishes(proj, tmp_path, capsys):
    assert run(capsys, "import", proj, DATA / "search-mixed.json")[0] == 0
    before = identities(proj)
    code, out, _ = run(capsys, "import", proj, DATA / "search-mixed.json")
    assert code == 0 and "3 identities (0 new, 0 changed, 0 vanished)" in out
    assert identities(proj).keys() == before.keys()
    assert len(rows(proj, Edge)) == len(edges(proj))  # no duplicated edges
    doc = json.loads((DATA / "search-mixed.json").read_text())
    doc["Resources"] = [r for r in doc["Resources"] if r.get("userName") != "jsmith"]
    doc["Resources"][0]["displayName"] = "Barbara Jensen"
    smaller = tmp_path / "search-mixed-later.json"
    smaller.write_text(json.dumps(doc))
    code, out, _ = run(capsys, "import", proj, smaller)
    assert code == 0 and "(0 new, 1 changed, 1 vanished)" in out
    ids = identities(proj)
    assert ids["scim:example.com/v2/jsmith"]["vanished"] is True
    assert ids["scim:example.com/v2/bjensen@example.com"]["display_name"] == "Barbara Jensen"


def test_utf16_and_bom_exports(proj, tmp_path, capsys):
    text = (DATA / "search-mixed.json").read_text(encoding="utf-8")
    f16 = tmp_path / "export-utf16.json"
    f16.write_bytes(text.encode("utf-16"))  # with BOM, as PowerShell writes it
    code, _out, err = run(capsys, "import", proj, f16)
    assert code == 0, err
    assert len(identities(proj)) == 3


def test_detection_by_content(tmp_path):
    imp = ScimJsonImporter()
    for path in [*DATA.glob("*.json"), *DATA.glob("*.ndjson"), *DATA.glob("*/*.json")]:
        if path.parent.name != "bad":
            assert imp.detect(path, path.read_bytes()[:65536]), path
    graph = b'{"@odata.context": "https://graph", "value": [{"userPrincipalName": "a"}]}'
    assert not imp.detect(Path("x.json"), graph)
    assert not imp.detect(Path("x.ldif"), b"dn: cn=svc,dc=acme,dc=test\nuserName: x\n")
    assert not imp.detect(Path("x.json"), b'{"a": 1}')
    renamed = tmp_path / "no-extension"
    shutil.copy(DATA / "kinds.json", renamed)
    assert imp.detect(renamed, renamed.read_bytes())


def test_service_names():
    assert authority_from_url("https://SCIM.Example.com:443/v2/") == "scim.example.com/v2"
    assert authority_from_url("http://127.0.0.1:8080/scim/v2") == "127.0.0.1:8080/scim/v2"
    assert authority_from_location("https://example.com/v2/Users/2819c223") == "example.com/v2"
    assert authority_from_location("../Users/x") is None


# -- correlation with directory identities -----------------------------------------------------

def _directory(proj):
    store = services.open_project(proj)
    bob = IdentityRecord(ref="dn:cn=bob,ou=people,dc=corp,dc=acme,dc=test", kind="person", name="bob",
                         authority="corp.acme.test", source_record="dir.ldif:90", emails=["Bob@Acme.test"])
    services.import_records(store, [[*small_estate_records(), bob]], source_kind="ldif", family="ad",
                            source="dir.ldif")
    store.close()


def test_provisioned_as_joins_directory_identities(proj, capsys):
    _directory(proj)
    code, _out, err = run(capsys, "import", proj, DATA / "entra-provisioned.ndjson", "--authority",
                          "entra-app")
    assert code == 0, err
    provisioned = edges(proj, "ProvisionedAs")
    assert provisioned == {
        ("corp.acme.test/alice", "ProvisionedAs", "scim:entra-app/alice@acme.test"),  # UPN and e-mail
        # externalId = objectGUID
        ("corp.acme.test/svc_web", "ProvisionedAs", "scim:entra-app/svc_web@acme.test"),
        ("corp.acme.test/bob", "ProvisionedAs", "scim:entra-app/bob@acme.test"),  # e-mail only
    }
    via = {(e["src"], e["attributes"]["via"]) for e in rows(proj, Edge, Edge.kind == "ProvisionedAs")}
    assert ("corp.acme.test/svc_web", "externalId") in via
    # Nothing invented for handles that match no directory identity.
    assert not [n for n in rows(proj, Node) if n["key"].split(":")[0] in ("upn", "email", "guid", "sid")]
    store = services.open_project(proj)
    detail = services.identity_detail(store, "corp.acme.test/alice")
    store.close()
    assert any(e["kind"] == "ProvisionedAs" and e["other"] == "scim:entra-app/alice@acme.test"
               for e in detail["edges"])


def test_provisioned_as_appears_when_the_scim_source_is_read_again(proj, capsys):
    assert run(capsys, "import", proj, DATA / "entra-provisioned.ndjson", "--authority", "entra-app")[0] == 0
    assert not edges(proj, "ProvisionedAs")  # no directory yet: nothing to join, nothing invented
    _directory(proj)
    assert not edges(proj, "ProvisionedAs")
    assert run(capsys, "import", proj, DATA / "entra-provisioned.ndjson", "--authority", "entra-app")[0] == 0
    assert len(edges(proj, "ProvisionedAs")) == 3


def test_accounts_of_other_applications_are_not_directory_identities(proj, tmp_path, capsys):
    # Two applications hold bjensen; neither is where the other was provisioned from.
    other = tmp_path / "other-app.json"
    doc = json.loads((DATA / "rfc7643-full-user.json").read_text())
    doc["meta"]["location"] = "https://other.example.net/scim/v2/Users/1"
    other.write_text(json.dumps(doc))
    assert run(capsys, "import", proj, DATA / "rfc7643-full-user.json")[0] == 0
    assert run(capsys, "import", proj, other)[0] == 0
    assert run(capsys, "import", proj, DATA / "rfc7643-full-user.json")[0] == 0
    assert not edges(proj, "ProvisionedAs")
    assert {k for k in identities(proj)} == {"scim:example.com/v2/bjensen@example.com",
                                             "scim:other.example.net/scim/v2/bjensen@example.com"}


# -- change operations: request logs and BulkRequests --------------------------------------------

def test_entra_request_log_with_capitalised_patch_ops(proj, capsys):
    log = DATA / "changes" / "entra-request-log.ndjson"
    code, out, err = run(capsys, "import", proj, log, "--authority", "entra-log")
    assert code == 0, err
    ids = identities(proj)
    # e3 was created, then deleted
    assert set(ids) == {"scim:entra-log/alice@acme.test", "scim:entra-log/svc_sql@acme.test"}
    alice = ids["scim:entra-log/alice@acme.test"]
    assert alice["enabled"] is False and alice["display_name"] == "Alice A."  # "Replace" with "False"; "Add"
    (group,) = rows(proj, Node, Node.kind == "group")
    # Entra removes a member with a value instead of a path filter.
    members = {s for s, _k, d in edges(proj, "MemberOf") if d == group["key"]}
    assert members == {"scim:entra-log/svc_sql@acme.test"}
    findings = sorted(f["message"] for f in rows(proj, Finding))
    assert len(findings) == 2 and all("svc_sql" not in m and "dropped" in m for m in findings)
    assert any(f"{log}:2: operation 1 carried a secret in attribute 'password'" in m for m in findings)
    assert any(f"{log}:6: operation 5 carried a secret in attribute 'Operations[0] password'" in m
               for m in findings)
    assert ("password", "password") in {(c["kind"], c["credential_id"]) for c in rows(proj, Credential)}
    data = proj.read_bytes()
    assert b"Spring2024" not in data and b"Summer2024" not in data
    assert "Spring2024" not in out + err and "Summer2024" not in out + err


def test_bulk_request(proj, capsys):
    code, _out, err = run(capsys, "import", proj, DATA / "changes" / "bulk-request.json", "--authority",
                          "bulk")
    assert code == 0, err
    assert "Operations[4]: DELETE of User 'e9025315-6bea-44e1-899c-1e07454e468b', which was not read" in err
    ids = identities(proj)
    assert set(ids) == {"scim:bulk/alice", "scim:bulk/dave"}  # Bob was PUT, then renamed by PATCH
    payload = {s["payload"]["userName"]: s["payload"] for s in rows(proj, Sighting)}
    assert "nickName" not in payload["Dave"]
    # A member named by the bulkId of the POST that creates it.
    assert edges(proj, "MemberOf") == {("scim:bulk/alice", "MemberOf", "group:bulk/tour guides")}
