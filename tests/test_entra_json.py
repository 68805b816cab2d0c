"""The entra-json importer: Graph export shapes and quirks, the SP+app join, secrets, bad input."""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from nhiplan.core import services
from nhiplan.core.cli import main
from nhiplan.core.importers import detect_format
from nhiplan.core.importers.entra_common import guid_from_immutable_id, parse_context, parse_graph_datetime
from nhiplan.core.model import Credential, Edge, Finding, Identity, Node
from nhiplan.core.records import IdentityRecord

DATA = Path(__file__).parent / "data" / "entra"
EXPORT = DATA / "export"
TENANT = "3f2b6c1e-8a4d-4e5f-9b7a-1c2d3e4f5a6b"
PAYROLL = f"{TENANT}/a1000000-0000-4000-8000-000000000001"
SECRET_TEXT = "zQ98Q~NwSecretValueThatMustNeverBeStored0123"


def key(n: int) -> str:
    return f"{TENANT}/a1000000-0000-4000-8000-0000000000{n:02x}"


@pytest.fixture
def proj(tmp_path):
    path = tmp_path / "p.nhiplan"
    assert main(["init", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The folder export imported once; tests work on copies of this project."""
    folder = tmp_path_factory.mktemp("entra-baseline")
    path = folder / "p.nhiplan"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["init", str(path)]) == 0
        assert main(["import", str(path), str(EXPORT)]) == 0
    return path, out.getvalue(), err.getvalue()


@dataclass
class Output:
    out: str
    err: str


@pytest.fixture
def imported(baseline, tmp_path):
    path, out, err = baseline
    copy = tmp_path / "p.nhiplan"
    shutil.copyfile(path, copy)
    return copy, Output(out, err)


def listing(proj, capsys) -> dict[str, dict]:
    capsys.readouterr()
    assert main(["list", str(proj), "--json", "--all"]) == 0
    return {r["key"]: r for r in json.loads(capsys.readouterr().out)}


def edges(proj, kind: str | None = None) -> list[Edge]:
    store = services.open_project(proj)
    try:
        with store.session() as s:
            q = select(Edge)
            if kind:
                q = q.where(Edge.kind == kind)
            rows = s.scalars(q.order_by(Edge.src, Edge.dst)).all()
            s.expunge_all()
            return list(rows)
    finally:
        store.close()


def db_dump(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


# -- the folder export -----------------------------------------------------------------------

def test_folder_export_one_identity_per_app_and_kinds(imported, capsys):
    proj, out = imported
    assert "imported entra-json (entra:" + TENANT + ") from 10 file(s): 12 identities" in out.out
    rows = listing(proj, capsys)
    kinds = {k: r["kind"] for k, r in rows.items()}
    assert kinds == {
        key(1): "service_principal", key(2): "service_principal", key(3): "service_principal",
        key(4): "managed_identity", key(5): "managed_identity", key(6): "agent", key(7): "agent",
        key(10): "service_principal", f"{TENANT}/c0000000-0000-4000-8000-00000000000c": "service_principal",
        f"{TENANT}/0a000000-0000-4000-8000-0000000000a1": "person",
        f"{TENANT}/0a000000-0000-4000-8000-0000000000b2": "person",
        f"{TENANT}/0a000000-0000-4000-8000-0000000000c3": "person",
    }  # dave owns and sponsors nothing; Microsoft Graph is Microsoft's app, not an account here
    assert all(r["authority"] == TENANT and r["sources"] == ["entra-json"] for r in rows.values())
    # displayName is not unique: two apps called "Report Builder" stay two identities
    assert rows[key(2)]["name"] == rows[key(3)]["name"] == "Report Builder"
    assert rows[key(3)]["enabled"] is False
    assert rows[key(10)]["name"] == "Legacy Importer" and rows[key(10)]["enabled"] is None


def test_service_principal_and_app_registration_are_joined_on_app_id(imported):
    proj, _ = imported
    store = services.open_project(proj)
    try:
        with store.session() as s:
            ident = s.scalars(select(Identity).where(Identity.key == PAYROLL)).one()
            assert set(ident.external_ids) == {"ext:entra:a1000000-0000-4000-8000-000000000001",
                                               "ext:entra:51000000-0000-4000-8000-000000000001",
                                               "ext:entra:ab000000-0000-4000-8000-000000000001"}
            assert ident.created == datetime(2019, 4, 2, 8, tzinfo=UTC)  # from the app registration
            assert "AppRegistration" in ident.flags
            assert ident.description == "Rotated yearly. Old pw=[redacted] do not use"
            creds = {(c.kind, c.credential_id): c for c in ident.credentials}
            assert set(creds) == {
                ("client_secret", "0c0c0c0c-0000-4000-8000-000000000001"),
                ("client_secret", "0c0c0c0c-0000-4000-8000-000000000002"),
                ("client_secret", "0c0c0c0c-0000-4000-8000-000000000003"),
                ("certificate", "0d0d0d0d-0000-4000-8000-000000000001"),
                ("federated", "f1c00000-0000-4000-8000-000000000001"),
                ("federated", "f1c00000-0000-4000-8000-000000000002")}
            # seven fractional digits, expired secrets kept (the planner flags them)
            current = creds[("client_secret", "0c0c0c0c-0000-4000-8000-000000000002")]
            assert current.expires == datetime(2026, 3, 1, 10, 15, 30, 123456, tzinfo=UTC)
            assert creds[("client_secret", "0c0c0c0c-0000-4000-8000-000000000001")].expires.year == 2021
            cert = creds[("certificate", "0d0d0d0d-0000-4000-8000-000000000001")].attributes
            assert cert["usage"] == "Verify" and cert["type"] == "AsymmetricX509Cert"
            assert cert["thumbprint"] == "52E1A3F4B5C6D7E8F9A0B1C2D3E4F5A6B7C8D9E0" and "key" not in cert
            fic = creds[("federated", "f1c00000-0000-4000-8000-000000000001")].attributes
            assert fic["issuer"] == "https://token.actions.githubusercontent.com"
            assert fic["subject"] == "repo:northwind/payroll:ref:refs/heads/main"
            assert fic["audiences"] == ["api://AzureADTokenExchange"]
            # the app without a service principal in this tenant is an identity too
            legacy = s.scalars(select(Identity).where(Identity.key == key(10))).one()
            assert "NoServicePrincipal" in legacy.flags and [c.kind for c in legacy.credentials] == ["client_secret"]
    finally:
        store.close()


def test_federated_credentials_link_workloads(imported, capsys):
    proj, _ = imported
    fed = edges(proj, "FederatedCredential")
    assert {(e.src, e.dst) for e in fed} == {
        ("workload:https://token.actions.githubusercontent.com#repo:northwind/payroll:ref:refs/heads/main", PAYROLL),
        ("workload:https://westeurope.oic.prod-aks.azure.com/3f2b6c1e/abc/"
         "#system:serviceaccount:payroll:payroll-sync", PAYROLL)}
    assert listing(proj, capsys)[PAYROLL]["consumers"] == 2


def test_managed_identities_from_alternative_names(imported, capsys):
    proj, _ = imported
    store = services.open_project(proj)
    try:
        with store.session() as s:
            web01 = s.scalars(select(Identity).where(Identity.key == key(4))).one()
            uai = s.scalars(select(Identity).where(Identity.key == key(5))).one()
            assert web01.name == "web01" and "SystemAssigned" in web01.flags
            assert "virtualMachines/web01" in web01.classification
            assert "UserAssigned" in uai.flags and "userAssignedIdentities/uai-deploy" in uai.classification
            vm = s.scalars(select(Node).where(Node.kind == "resource")).one()
            assert vm.name == "web01" and vm.attributes["azureResourceId"].endswith("virtualMachines/web01")
    finally:
        store.close()
    uses = edges(proj, "UsesIdentity")
    assert [(e.src.split("/")[-1], e.dst) for e in uses] == [("web01", key(4))]
    rows = listing(proj, capsys)
    assert rows[key(4)]["consumers"] == 1 and rows[key(5)]["consumers"] == 0
    assert rows[key(4)]["credentials"] == [{"kind": "certificate", "id": "7c1e2d3f-0000-4000-8000-000000000004",
                                            "expires": "2024-11-18T07:49:00Z"}]


def test_agent_identities_blueprints_and_sponsors(imported):
    proj, _ = imported
    store = services.open_project(proj)
    try:
        with store.session() as s:
            blueprint = s.scalars(select(Identity).where(Identity.key == key(6))).one()
            agent = s.scalars(select(Identity).where(Identity.key == key(7))).one()
            assert blueprint.kind == agent.kind == "agent"
            assert "agentidentityblueprint" in blueprint.classification and "AppRegistration" in blueprint.flags
            assert [c.kind for c in blueprint.credentials] == ["certificate"]
            assert agent.name == "Support Agent (EMEA)" and agent.created == datetime(2025, 10, 30, 12, tzinfo=UTC)
            group = s.scalars(select(Node).where(Node.kind == "group")).one()
    finally:
        store.close()
    assert [(e.src, e.dst, e.attributes["via"]) for e in edges(proj, "SharesCredential")] == [
        (key(7), key(6), "agentIdentityBlueprint")]
    sponsors = {(e.src, e.dst) for e in edges(proj, "ManagedBy") if e.attributes["role"] == "sponsor"}
    assert sponsors == {(key(7), f"{TENANT}/0a000000-0000-4000-8000-0000000000c3"), (key(7), group.key)}
    assert group.name == "AI Platform Team"


def test_owners_are_people_and_hybrid_users_carry_their_ad_sid(imported):
    proj, _ = imported
    owners = {(e.src, e.dst) for e in edges(proj, "ManagedBy") if e.attributes["role"] == "owner"}
    alice, bob = f"{TENANT}/0a000000-0000-4000-8000-0000000000a1", f"{TENANT}/0a000000-0000-4000-8000-0000000000b2"
    # alice from the SP's $expand=owners, bob from owners/<app id>.json, Report Builder (an SP) owns too
    assert owners == {(PAYROLL, alice), (PAYROLL, bob), (PAYROLL, key(2))}
    store = services.open_project(proj)
    try:
        with store.session() as s:
            a = s.scalars(select(Identity).where(Identity.key == alice)).one()
            assert a.name == "Alice Admin" and a.upn == "alice@northwind.example"
            assert a.sid == "S-1-5-21-1004336348-1177238915-682003330-1105"
            assert a.guid == "6b1d7c4e-2f3a-4b5c-8d9e-0f1a2b3c4d5e" and a.emails == ["alice@northwind.example"]
    finally:
        store.close()


def test_hybrid_user_correlates_with_the_ad_account(proj, capsys):
    store = services.open_project(proj)
    services.import_records(store, [[IdentityRecord(
        ref="dn:cn=alice,ou=staff,dc=corp,dc=example", kind="person", name="alice", authority="corp.example",
        source_record="ad.ldif:10", sid="S-1-5-21-1004336348-1177238915-682003330-1105")]],
        source_kind="ldif", family="ad", source="ad.ldif")
    store.close()
    assert main(["import", str(proj), str(EXPORT)]) == 0
    rows = listing(proj, capsys)
    [alice] = [r for r in rows.values() if r.get("upn") == "alice@northwind.example"]
    assert alice["key"] == "corp.example/alice" and alice["sources"] == ["entra-json", "ldif"]
    assert sum(1 for r in rows.values() if r["kind"] == "person") == 3


def test_grants_resolve_roles_and_normalise_scopes(imported):
    proj, _ = imported
    graph = f"application:{TENANT}/00000003-0000-0000-c000-000000000000"
    ara = {(e.src, e.dst): e.attributes for e in edges(proj, "AppRoleAssignment")}
    # two roles on one resource are one edge; a user's assignment is not an NHI grant
    assert set(ara) == {(PAYROLL, graph), (key(2), PAYROLL)}
    assert ara[(PAYROLL, graph)]["roles"] == ["Application.Read.All", "User.Read.All"]
    assert ara[(PAYROLL, graph)]["appRoleIds"] == ["9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
                                                   "df021288-bdef-4463-88db-98f22de89214"]
    assert ara[(key(2), PAYROLL)]["appRoleIds"] == ["00000000-0000-0000-0000-000000000000"]
    assert ara[(key(2), PAYROLL)]["roles"] == []  # default access names no role
    grants = {(e.src, e.dst): e.attributes for e in edges(proj, "DelegatedGrant")}
    payroll = grants[(PAYROLL, graph)]
    assert payroll["scope"] == "openid User.Read Mail.Read" and payroll["consentType"] == "AllPrincipals"
    assert payroll["principalIds"] == ["0a000000-0000-4000-8000-0000000000b2"]
    assert [g["scope"] for g in payroll["grants"]] == ["openid User.Read", "Mail.Read User.Read"]
    assert grants[(f"{TENANT}/c0000000-0000-4000-8000-00000000000c", graph)]["scopes"] == [
        "offline_access", "Calendars.Read"]
    store = services.open_project(proj)
    try:
        with store.session() as s:
            node = s.scalars(select(Node).where(Node.key == graph)).one()
            assert node.kind == "application" and node.name == "Microsoft Graph"
            external = s.scalars(select(Identity).where(Identity.name == "Contoso CRM Connector")).one()
            assert "ExternalApp" in external.flags
    finally:
        store.close()


def test_sign_in_activity_by_app_id_with_base64_ids_and_odd_offsets(imported, capsys):
    proj, out = imported
    rows = listing(proj, capsys)
    # the latest of the activities, "2024-05-02T00:00:00-8:00" being 08:00 UTC
    assert rows[PAYROLL]["last_used"] == "2024-05-02T08:00:00Z"
    assert rows[key(4)]["last_used"] == "2024-06-10T11:00:00Z"  # a record with only its base64 id
    assert rows[key(2)]["last_used"] is None and rows[key(3)]["last_used"] is None
    assert "record 4: lastSignInActivity.lastSignInDateTime: not a timestamp: 'yesterday'; left empty" in out.err


def test_secret_values_are_never_stored(imported, capsys):
    proj, out = imported
    raw = proj.read_bytes()
    for secret in (SECRET_TEXT, "Winter2019", "MIIDCertificateBlobThatIsNotStored", '"Xk7"', '"Qm2"', '"zQ9"'):
        assert secret.encode() not in raw, secret
        assert secret not in out.out + out.err
    store = services.open_project(proj)
    try:
        with store.session() as s:
            found = {(f.subject, f.code, f.tag): f.message for f in s.scalars(select(Finding))}
    finally:
        store.close()
    msg = found[(PAYROLL, "secret-in-data", "NHI2")]
    assert "application.passwordCredentials[2].secretText" in msg and "Payroll Sync" in msg
    assert "application.notes" in found[(PAYROLL, "secret-in-description", "NHI2")]
    plan = proj.parent / "plan.yaml"
    assert main(["plan", str(proj), "-o", str(plan)]) == 0
    assert SECRET_TEXT not in plan.read_text() and "Winter2019" not in plan.read_text()


def test_reimport_updates_and_never_duplicates(imported, capsys):
    proj, _ = imported
    before = listing(proj, capsys)
    edge_count = len(edges(proj))
    assert main(["import", str(proj), str(EXPORT)]) == 0
    out = capsys.readouterr().out
    assert "12 identities (0 new, 0 changed, 0 vanished)" in out
    assert listing(proj, capsys).keys() == before.keys() and len(edges(proj)) == edge_count


def test_files_can_be_imported_one_at_a_time_with_authority(proj, capsys):
    # only the service principals, no organization.json: --authority names the tenant
    one = EXPORT / "servicePrincipals.json"
    assert main(["import", str(proj), str(one)]) == 2
    assert "cannot tell which tenant" in capsys.readouterr().err
    assert main(["import", str(proj), str(one), "--authority", TENANT]) == 0
    assert "9 identities" in capsys.readouterr().out  # 7 SPs of ours, Report Builder's owner Alice, + 1 ext
    assert main(["import", str(proj), str(EXPORT)]) == 0
    assert listing(proj, capsys)[PAYROLL]["sources"] == ["entra-json"]


# -- other shapes ----------------------------------------------------------------------------

def test_powershell_utf16_pascal_case_export(proj, capsys):
    assert main(["import", str(proj), str(DATA / "powershell")]) == 0
    rows = listing(proj, capsys)
    sp = rows[PAYROLL]
    assert sp["kind"] == "service_principal" and sp["name"] == "Payroll Sync"
    # Windows PowerShell's /Date(ms)/ timestamps
    assert sp["credentials"] == [{"kind": "client_secret", "id": "0c0c0c0c-0000-4000-8000-0000000000f1",
                                  "expires": "2027-01-01T00:00:00Z"}]
    assert rows[key(5)]["kind"] == "managed_identity" and rows[key(7)]["kind"] == "agent"
    assert rows[f"{TENANT}/0a000000-0000-4000-8000-0000000000a1"]["name"] == "Alice Admin"


def test_powershell_below_its_depth_warns_that_credentials_are_missing(proj, capsys):
    assert main(["import", str(proj), str(DATA / "powershell-shallow"), "--authority", TENANT]) == 0
    err = capsys.readouterr().err
    assert "ConvertTo-Json -Depth 10" in err and "credentials are missing" in err
    assert listing(proj, capsys)[PAYROLL]["credentials"] == []


def test_legacy_azure_ad_graph_export(proj, capsys):
    assert main(["import", str(proj), str(DATA / "aad-graph")]) == 0
    rows = listing(proj, capsys)
    old = rows[key(0xE1)]
    assert old["name"] == "Old Batch Job" and old["authority"] == TENANT  # tenant from odata.metadata
    assert {c["kind"] for c in old["credentials"]} == {"certificate", "client_secret"}
    assert "NHI2" in old["tags"]
    raw = proj.read_bytes()
    assert b"LegacyAadGraphSecretValue42" not in raw and b"MIICLegacyCertBlobNotStored" not in raw


def test_pages_in_many_shapes(proj, tmp_path, capsys):
    """One page, an array of pages, pages back to back, JSON Lines, and a bare object: all the same."""
    base = json.loads((EXPORT / "organization.json").read_text())
    sps = [{"id": f"51000000-0000-4000-8000-0000000001{i:02x}", "appId": f"a1000000-0000-4000-8000-0000000001{i:02x}",
            "displayName": f"app {i}", "servicePrincipalType": "Application", "appOwnerOrganizationId": TENANT}
           for i in range(6)]
    ctx = "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals"
    pages = [{"@odata.context": ctx, "value": sps[i:i + 2],
              "@odata.nextLink": f"https://graph.microsoft.com/v1.0/servicePrincipals?$skiptoken=X{i}"}
             for i in range(0, 6, 2)]
    del pages[-1]["@odata.nextLink"]
    folder = tmp_path / "shapes"
    folder.mkdir()
    (folder / "organization.json").write_text(json.dumps(base))
    (folder / "array-of-pages.json").write_text(json.dumps(pages[:2]))
    (folder / "last-page.jsonl").write_text(json.dumps(pages[2]) + "\n")
    (folder / "single.json").write_text(json.dumps({"@odata.context": ctx + "/$entity", **sps[0]}))
    assert main(["import", str(proj), str(folder)]) == 0
    captured = capsys.readouterr()
    assert "6 identities" in captured.out and "incomplete" not in captured.err
    # the last page is missing: say so
    (folder / "last-page.jsonl").unlink()
    assert main(["import", str(proj), str(folder)]) == 0
    assert "pages end with @odata.nextLink: the export is incomplete" in capsys.readouterr().err


def test_detects_graph_json_and_nothing_else(tmp_path):
    for path in [*EXPORT.rglob("*.json"), *(DATA / "powershell").iterdir(), DATA / "aad-graph/servicePrincipals.json"]:
        assert detect_format(path).name == "entra-json", path
    others = {
        "scim.json": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 1,
                      "Resources": [{"id": "1", "userName": "svc", "externalId": "x"}]},
        "ldd.json": [{"attributes": {"userPrincipalName": ["svc@corp"], "sAMAccountName": ["svc"]},
                      "dn": "CN=svc,DC=corp"}],
        "other.json": {"name": "package", "version": "1.0", "id": "abc"},
    }
    for name, obj in others.items():
        p = tmp_path / name
        p.write_text(json.dumps(obj))
        found = detect_format(p)
        assert found is None or found.name != "entra-json", name


@pytest.mark.parametrize("value, expected", [
    ("2021-01-01T00:00:00-8:00", datetime(2021, 1, 1, 8, tzinfo=UTC)),
    ("2024-03-01T10:15:30.1234567Z", datetime(2024, 3, 1, 10, 15, 30, 123456, tzinfo=UTC)),
    ("2024-03-01T10:15:30+0530", datetime(2024, 3, 1, 4, 45, 30, tzinfo=UTC)),
    ("2021-11-30T12:17:46", datetime(2021, 11, 30, 12, 17, 46, tzinfo=UTC)),  # innerError.date: no zone
    ("2024-01-01", datetime(2024, 1, 1, tzinfo=UTC)),
    ("/Date(1704067200000)/", datetime(2024, 1, 1, tzinfo=UTC)),
    ("0001-01-01T00:00:00Z", None),
    (None, None),
])
def test_graph_timestamps_parse_tolerantly(value, expected):
    assert parse_graph_datetime(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01T00:00:00Z", "2024-01-01T00:00:00+25:00", 17])
def test_graph_timestamps_refuse_nonsense(value):
    with pytest.raises(ValueError):
        parse_graph_datetime(value)


G = "https://graph.microsoft.com/v1.0/$metadata#"


@pytest.mark.parametrize("context, expected", [
    (G + "servicePrincipals", ("servicePrincipal", None, None)),
    (G + "servicePrincipals(owners())", ("servicePrincipal", None, None)),
    (G + "applications(id,appId,federatedIdentityCredentials())", ("application", None, None)),
    (G + "servicePrincipals/$entity", ("servicePrincipal", None, None)),
    (G + "servicePrincipals/microsoft.graph.agentIdentity", ("servicePrincipal", None, None)),
    (G + "servicePrincipals('51')/appRoleAssignments", ("appRoleAssignment", None, "51")),
    (G + "applications('ab')/federatedIdentityCredentials", ("federatedIdentityCredential",
                                                             "federatedIdentityCredentials", "ab")),
    (G + "servicePrincipals('51')/microsoft.graph.agentIdentity/sponsors", ("directoryObject", "sponsors", "51")),
    (G + "directoryObjects", ("directoryObject", None, None)),
    (G + "Collection(microsoft.graph.user)", ("user", None, None)),
    ("https://graph.microsoft.com/beta/$metadata#reports/servicePrincipalSignInActivities",
     ("servicePrincipalSignInActivity", None, None)),
    (G + "devices", (None, None, None)),
    (None, (None, None, None)),
])
def test_odata_context_names_what_a_page_holds(context, expected):
    assert parse_context(context) == expected


def test_immutable_id_decodes_to_the_ad_object_guid():
    assert guid_from_immutable_id("TnwdazovXEuNng8aKzxNXg==") == "6b1d7c4e-2f3a-4b5c-8d9e-0f1a2b3c4d5e"
    assert guid_from_immutable_id("alice@corp") is None and guid_from_immutable_id(None) is None


# -- bad input -------------------------------------------------------------------------------

ORG = json.dumps({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#organization",
                  "value": [{"id": TENANT}]})
SP_CTX = "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals"


def _sp(**extra) -> dict:
    return {"id": "51000000-0000-4000-8000-0000000000f0", "appId": "a1000000-0000-4000-8000-0000000000f0",
            "displayName": "x", "servicePrincipalType": "Application", **extra}


BAD = {
    "invalid-json": ("servicePrincipals.json", '{"@odata.context": "' + SP_CTX + '",\n "value": [\n  {"id": "1",,}\n]}',
                     "servicePrincipals.json:3: invalid JSON: Expecting property name"),
    "truncated": ("servicePrincipals.json", '{"@odata.context": "' + SP_CTX + '", "value": [\n{"id": "1"',
                  "servicePrincipals.json:2: invalid JSON"),
    "no-id": ("servicePrincipals.json", json.dumps({"@odata.context": SP_CTX, "value": [
        _sp(), {"appId": "a1", "displayName": "no id", "servicePrincipalType": "Application"}]}),
        "servicePrincipals.json: record 2: object has no id"),
    "value-not-list": ("servicePrincipals.json", json.dumps({"@odata.context": SP_CTX, "value": {"id": "1"}}),
                       "servicePrincipals.json: 'value' is an object, expected a list"),
    "creds-not-list": ("servicePrincipals.json", json.dumps({"@odata.context": SP_CTX, "value": [
        _sp(passwordCredentials="secret")]}), "record 1: passwordCredentials is a string, expected a list"),
    "cred-without-keyid": ("servicePrincipals.json", json.dumps({"@odata.context": SP_CTX, "value": [
        _sp(keyCredentials=[{"type": "AsymmetricX509Cert"}])]}), "record 1: keyCredentials[0] has no keyId"),
    "app-id-number": ("servicePrincipals.json", json.dumps([_sp(appId=42)]),
                      "record 1: appId is a number, expected a string"),
    "error-response": ("servicePrincipals.json", json.dumps({"error": {"code": "Authorization_RequestDenied",
                                                                       "message": "Insufficient privileges"}}),
                       "is a Graph error response (Authorization_RequestDenied: Insufficient privileges)"),
    "scalar": ("servicePrincipals.json", "42", "expected a Graph page, an object or a list of objects, found a number"),
    "unknown-object": ("servicePrincipals.json", json.dumps([_sp(), {"foo": "bar"}]),
                       "record 2: not a Microsoft Graph object nhiplan reads"),
    "empty-page": ("servicePrincipals.json", json.dumps({"@odata.context": SP_CTX, "value": []}),
                   "no Graph objects in this file"),
    "owners-of-whom": ("owners.json", json.dumps({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#"
                                                                    "directoryObjects",
                                                  "value": [{"@odata.type": "#microsoft.graph.user", "id": "u1"}]}),
                       "owners.json: record 1: cannot tell whose owners these are"),
    "fic-of-whom": ("fic.json", json.dumps([{"name": "gh", "issuer": "https://token.actions.githubusercontent.com",
                                             "subject": "repo:a/b:ref:refs/heads/main",
                                             "audiences": ["api://AzureADTokenExchange"]}]),
                    "fic.json: record 1: federated identity credential of an unknown application"),
    "grant-without-client": ("grants.json", json.dumps({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#oauth2PermissionGrants",
        "value": [{"consentType": "AllPrincipals", "resourceId": "r", "scope": "User.Read"}]}),
        "grants.json: record 1: clientId is missing"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_exit_2_naming_file_and_record_and_writes_nothing(case, imported, tmp_path, capsys):
    proj, _ = imported  # a project with something to keep
    before = db_dump(proj)
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "organization.json").write_text(ORG)
    name, content, message = BAD[case]
    (folder / name).write_text(content)
    capsys.readouterr()
    assert main(["import", str(proj), str(folder), "--format", "entra-json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nhiplan: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert str(folder / name) in err and message in err, err
    assert db_dump(proj) == before


def test_bad_encoding_and_empty_files(proj, tmp_path, capsys):
    before = db_dump(proj)
    latin = tmp_path / "sp-latin1.json"
    latin.write_bytes(json.dumps([_sp(displayName="Caf\u00e9")], ensure_ascii=False).encode("latin-1"))
    empty = tmp_path / "empty.json"
    empty.write_bytes(codecs.BOM_UTF8 + b"\n  \n")
    for path, message in ((latin, "sp-latin1.json:1: not UTF-8 text"), (empty, "empty.json: empty file")):
        capsys.readouterr()
        assert main(["import", str(proj), str(path), "--format", "entra-json", "--authority", TENANT]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert db_dump(proj) == before


def test_one_bad_file_in_a_folder_writes_nothing_at_all(proj, tmp_path, capsys):
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    (folder / "users.json").write_text('{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",\n'
                                       ' "value": [ {"id": "x"} \n')  # cut short
    assert main(["import", str(proj), str(folder)]) == 2
    assert "users.json:3: invalid JSON" in capsys.readouterr().err
    store = services.open_project(proj)
    try:
        with store.session() as s:
            assert s.scalars(select(Identity)).all() == [] and s.scalars(select(Credential)).all() == []
    finally:
        store.close()


def test_agent_users_are_imported_even_when_nobody_points_at_them(proj, tmp_path, capsys):
    folder = tmp_path / "agents"
    folder.mkdir()
    (folder / "organization.json").write_text(ORG)
    (folder / "users.json").write_text(json.dumps({
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#users", "value": [
            {"@odata.type": "#microsoft.graph.agentUser", "id": "0a000000-0000-4000-8000-0000000000e7",
             "displayName": "Support Agent mailbox", "userPrincipalName": "support-agent@northwind.example",
             "accountEnabled": True},
            {"id": "0a000000-0000-4000-8000-0000000000e8", "displayName": "Plain User",
             "userPrincipalName": "plain@northwind.example"}]}))
    assert main(["import", str(proj), str(folder)]) == 0
    rows = listing(proj, capsys)
    assert [(r["name"], r["kind"]) for r in rows.values()] == [("Support Agent mailbox", "agent")]
