"""`nhiplan entra` end to end: msal gets real tokens from an OpenID provider on loopback (oidc-provider,
HTTPS with a throwaway CA) and a Graph stand-in that verifies them pages, throttles, fails and drops."""

from __future__ import annotations

import json
import re
import shutil
import socket
import sqlite3
import threading
import time
from pathlib import Path

import keyring
import pytest
import requests

from nhiplan.core.cli import main
from nhiplan.core.importers import entra_live
from tests.keyring_memory import MemoryKeyring
from tests.peers.graph.standin import EntraOidcPeer, GraphStandIn, Tenant
from tests.peers.graph.tls import CertificateAuthority, client_certificate

EXPORT = Path(__file__).parent / "data" / "entra" / "export"
TENANT = "3f2b6c1e-8a4d-4e5f-9b7a-1c2d3e4f5a6b"
SECRET = "reader-secret-0123456789abcdef"
SECRET_VAR = "NHIPLAN_TEST_ENTRA_SECRET"
CAROL = "0a000000-0000-4000-8000-0000000000c3"


def tenant_from_export() -> Tenant:
    """The tenant the export folder shows, served live (the same objects, so keys must match)."""
    def values(path: Path) -> list[dict]:
        text = path.read_text()
        decoder, pos, out = json.JSONDecoder(), 0, []
        while pos < len(text.rstrip()):
            value, end = decoder.raw_decode(text, pos)
            out.extend(value["value"] if isinstance(value, dict) else value)
            pos = end + len(text[end:]) - len(text[end:].lstrip())
        return out

    t = Tenant(organization=values(EXPORT / "organization.json"), grants=values(EXPORT / "oauth2PermissionGrants.json"),
               sign_ins=values(EXPORT / "servicePrincipalSignInActivities.json"))
    for sp in values(EXPORT / "servicePrincipals.json"):
        owners = sp.pop("owners", None)
        if owners:
            t.owners[sp["id"]] = owners
        t.service_principals.append(sp)
    for app in values(EXPORT / "applications.json"):
        for cred in app.get("passwordCredentials") or ():
            cred["secretText"] = None  # Graph returns a secret's text only once, when it is made
        t.applications.append(app)
    for f in (EXPORT / "owners").iterdir():
        t.owners.setdefault(f.stem, []).extend(values(f))
    for f in (EXPORT / "federatedIdentityCredentials").iterdir():
        t.federated[f.stem] = values(f)
    for f in (EXPORT / "sponsors").iterdir():
        t.sponsors[f.stem] = values(f)
    for line in (EXPORT / "appRoleAssignments.json").read_text().splitlines():
        page = json.loads(line)
        if page["@odata.context"].endswith("/appRoleAssignments"):
            for a in page["value"]:
                t.app_role_assignments.setdefault(a["principalId"], []).append(a)
    return t


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("entra-pki")
    ca = CertificateAuthority.create(folder, "entra test CA")
    stranger = CertificateAuthority.create(folder, "stranger CA")
    cert, key, jwk = client_certificate(folder, "reader-cert")
    enc_cert, enc_key, enc_jwk = client_certificate(folder, "reader-cert-enc", password=b"key passphrase")
    return {"folder": folder, "ca": ca, "stranger": stranger, "oidc": ca.server_cert(folder, "oidc"),
            "graph": ca.server_cert(folder, "graph"), "cert": (cert, key, jwk), "enc": (enc_cert, enc_key, enc_jwk)}


@pytest.fixture(scope="module")
def peers(pki):
    standin = GraphStandIn(*pki["graph"], tenant_from_export())
    clients = [{"client_id": "nhiplan-reader", "client_secret": SECRET},
               {"client_id": "nhiplan-reader-cert", "jwks": {"keys": [pki["cert"][2]]}},
               {"client_id": "nhiplan-reader-enc", "jwks": {"keys": [pki["enc"][2]]}},
               {"client_id": "nhiplan-device", "public": True}]
    oidc = EntraOidcPeer(pki["folder"], *pki["oidc"], tenant=TENANT, resource=standin.origin, clients=clients,
                         device_account=CAROL)
    standin.start(oidc.issuer, str(pki["ca"].pem))
    yield oidc, standin
    standin.stop()
    oidc.stop()


@pytest.fixture
def live(peers, pki, tmp_path, monkeypatch):
    """A fresh project, the peers reset, the secret in its variable, and CA variables pointing elsewhere."""
    oidc, standin = peers
    standin.reset(tenant_from_export())
    monkeypatch.setenv(SECRET_VAR, SECRET)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["stranger"].pem))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(pki["stranger"].pem))
    monkeypatch.setattr(entra_live, "BACKOFF", 0.05)
    previous = keyring.get_keyring()
    store = MemoryKeyring()
    keyring.set_keyring(store)
    proj = tmp_path / "p.nhiplan"
    assert main(["init", str(proj)]) == 0
    yield proj, oidc, standin, store
    keyring.set_keyring(previous)


def entra(proj, oidc, standin, pki, *extra: str, ca: bool = True) -> int:
    argv = ["entra", str(proj), "--tenant", TENANT, "--authority", oidc.authority, "--graph-url", standin.url]
    if ca:
        argv += ["--ca-file", str(pki["ca"].pem)]
    return main([*argv, *extra])


def listing(proj, capsys) -> dict[str, dict]:
    capsys.readouterr()
    assert main(["list", str(proj), "--json", "--all"]) == 0
    return {r["key"]: r for r in json.loads(capsys.readouterr().out)}


def db_dump(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_pull_pages_throttles_refreshes_and_warns_on_the_licensed_report(live, pki, capsys):
    proj, oidc, standin, _ = live
    standin.inject("GET /v1.0/servicePrincipals?$skiptoken", "429")
    standin.inject("GET /v1.0/applications?$top=999&$expand=owners", "503")
    standin.inject("GET /v1.0/oauth2PermissionGrants", "503-plain")
    standin.inject("GET /v1.0/servicePrincipals/51000000-0000-4000-8000-000000000001/appRoleAssignments", "401")
    standin.inject("GET /beta/reports/servicePrincipalSignInActivities", "403", times=None)
    capsys.readouterr()
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR) == 0
    out = capsys.readouterr()
    assert f"pulled entra (entra:{TENANT})" in out.out and "12 identities (12 new" in out.out
    assert "sign-in activity not readable (HTTP 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant" \
        in out.err and out.err.count("\n") == 1

    seen = standin.seen
    assert {s.method for s in seen} == {"GET"}  # a live pull only reads
    assert not standin._cursors  # every @odata.nextLink handed out was followed
    pages = [s.target for s in seen if s.target.startswith("/v1.0/servicePrincipals?")]
    assert len(pages) == 6 and sum("$skiptoken=" in p for p in pages) == 5  # 9 SPs in pages of 2, one retried
    throttled = next(i for i, s in enumerate(seen) if s.status == 429)
    assert seen[throttled + 1].target == seen[throttled].target
    assert seen[throttled + 1].at - seen[throttled].at >= 0.95  # Retry-After: 1 was honoured
    for kind in (503,):
        retried = [i for i, s in enumerate(seen) if s.status == kind]
        assert len(retried) == 2 and all(seen[i + 1].target == seen[i].target for i in retried)
    refused = next(i for i, s in enumerate(seen) if s.status == 401)
    again = next(s for s in seen[refused + 1:] if s.target == seen[refused].target)
    assert again.status == 200 and again.token_id != seen[refused].token_id  # a new token after the 401
    assert len({s.token_id for s in seen if s.token_id}) == 2  # one refresh, however many were refused

    rows = listing(proj, capsys)
    payroll = rows[f"{TENANT}/a1000000-0000-4000-8000-000000000001"]
    assert payroll["sources"] == ["entra"] and payroll["authority"] == TENANT
    assert payroll["last_used"] is None  # the report was denied: no value, no guess
    assert {c["kind"] for c in payroll["credentials"]} == {"client_secret", "certificate", "federated"}
    assert rows[f"{TENANT}/a1000000-0000-4000-8000-000000000007"]["kind"] == "agent"
    assert rows[f"{TENANT}/a1000000-0000-4000-8000-000000000004"]["consumers"] == 1


def test_live_pull_maps_onto_an_export_and_a_second_pull_updates(live, pki, capsys):
    proj, oidc, standin, _ = live
    assert main(["import", str(proj), str(EXPORT)]) == 0
    exported = listing(proj, capsys)
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR) == 0
    assert "12 identities (0 new" in capsys.readouterr().out
    pulled = listing(proj, capsys)
    assert pulled.keys() == exported.keys()
    payroll = pulled[f"{TENANT}/a1000000-0000-4000-8000-000000000001"]
    assert payroll["sources"] == ["entra", "entra-json"] and payroll["last_used"] == "2024-05-02T08:00:00Z"

    # the tenant changes: one app disabled, the user-assigned identity deleted
    changed = tenant_from_export()
    changed.service_principals = [sp for sp in changed.service_principals if sp["displayName"] != "uai-deploy"]
    next(sp for sp in changed.service_principals if sp["displayName"] == "Contoso CRM Connector")[
        "accountEnabled"] = False
    standin.reset(changed)
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR) == 0
    out = capsys.readouterr().out
    assert "11 identities (0 new, 1 changed, 1 vanished)" in out
    again = listing(proj, capsys)
    assert again.keys() == exported.keys()  # updated, not duplicated
    assert again[f"{TENANT}/c0000000-0000-4000-8000-00000000000c"]["enabled"] is False
    assert again[f"{TENANT}/a1000000-0000-4000-8000-000000000005"]["vanished"] is True


def test_sign_in_with_a_certificate(live, pki, capsys):
    proj, oidc, standin, store = live
    cert, key, _ = pki["cert"]
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader-cert", "--certificate", str(cert),
                 "--key", str(key)) == 0
    assert "12 identities" in capsys.readouterr().out
    # an encrypted key opens with the passphrase kept in the keyring
    enc_cert, enc_key, _ = pki["enc"]
    store.set_password("nhiplan", f"{TENANT}/nhiplan-reader-enc", "key passphrase")
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader-enc", "--certificate", str(enc_cert),
                 "--key", str(enc_key)) == 0
    assert "12 identities (0 new" in capsys.readouterr().out


def test_client_secret_from_the_keyring(live, pki, capsys, monkeypatch):
    proj, oidc, standin, store = live
    monkeypatch.delenv(SECRET_VAR)
    capsys.readouterr()
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR) == 2
    err = capsys.readouterr().err
    assert f"environment variable {SECRET_VAR} is not set" in err and err.count("\n") == 1
    store.set_password("nhiplan", f"{TENANT}/nhiplan-reader", SECRET)
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR) == 0


def test_device_code_sign_in(live, pki, capsys):
    proj, oidc, standin, _ = live
    result: dict[str, int] = {}
    worker = threading.Thread(target=lambda: result.setdefault("rc", entra(
        proj, oidc, standin, pki, "--client-id", "nhiplan-device", "--device-code")))
    worker.start()
    err = ""
    deadline = time.monotonic() + 20
    while "enter the code" not in err and time.monotonic() < deadline:
        time.sleep(0.05)
        err += capsys.readouterr().err
    m = re.search(r"open (\S+) and enter the code (\S+)", err)
    assert m, err
    # the person's browser: confirm the code; the peer signs carol in and she consents
    browser = requests.Session()
    browser.trust_env = False
    browser.verify = str(pki["ca"].pem)
    page = browser.get(f"{m.group(1)}?user_code={m.group(2)}", timeout=10)
    for _ in range(3):
        form = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        if not form or "Sign-in Success" in page.text:
            break
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        if 'name="confirm"' in page.text:
            fields["confirm"] = "yes"
        page = browser.post(form.group(1), data=fields, timeout=10)
    assert "Sign-in Success" in page.text
    worker.join(30)
    assert result.get("rc") == 0
    assert "12 identities" in capsys.readouterr().out


@pytest.mark.parametrize("ca", ["none", "stranger"])
def test_an_untrusted_certificate_is_exit_2_and_writes_nothing(live, pki, capsys, ca):
    proj, oidc, standin, _ = live
    before = db_dump(proj)
    extra = ["--ca-file", str(pki["stranger"].pem)] if ca == "stranger" else []
    capsys.readouterr()
    rc = entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR, *extra,
               ca=False)
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"nhiplan: error: {standin.url} (tenant {TENANT}): TLS certificate")
    assert "not trusted" in err
    assert db_dump(proj) == before and standin.seen == []


def test_a_connection_lost_mid_pull_is_exit_2_and_writes_nothing(live, pki, capsys):
    proj, oidc, standin, _ = live
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR) == 0
    before = db_dump(proj)
    standin.reset(tenant_from_export())
    standin.inject("GET /v1.0/applications?$top=999&$expand=owners", "drop", times=None)
    capsys.readouterr()
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nhiplan: error: {standin.url} (tenant {TENANT}): connection lost during the pull")
    assert err.count("\n") == 1
    assert db_dump(proj) == before


@pytest.mark.parametrize("fault, message", [
    ("401", "credentials refused by Graph (HTTP 401 InvalidAuthenticationToken"),
    ("503", "still throttled or unavailable after 6 attempts"),
])
def test_refusals_that_do_not_pass_are_exit_2(live, pki, capsys, fault, message):
    proj, oidc, standin, _ = live
    before = db_dump(proj)
    standin.inject("GET /v1.0/applications?$top=999&$expand=owners", fault, times=None)
    capsys.readouterr()
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert db_dump(proj) == before
    tries = [s for s in standin.seen if s.target.startswith("/v1.0/applications?$top=999&$expand=owners")]
    assert len(tries) == (2 if fault == "401" else entra_live.MAX_ATTEMPTS)  # bounded


def test_a_wrong_secret_is_refused_at_sign_in(live, pki, capsys, monkeypatch):
    proj, oidc, standin, _ = live
    monkeypatch.setenv(SECRET_VAR, "not the secret")
    capsys.readouterr()
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR) == 2
    err = capsys.readouterr().err
    assert "sign-in refused: invalid_client" in err and err.count("\n") == 1 and "not the secret" not in err


def test_graph_url_gives_scope_and_beta_address():
    assert entra_live.graph_base("https://graph.microsoft.us/v1.0/") == (
        "https://graph.microsoft.us/v1.0", "https://graph.microsoft.us/beta", "https://graph.microsoft.us/.default")
    assert entra_live.graph_base("https://127.0.0.1:8443/v1.0")[1:] == ("https://127.0.0.1:8443/beta",
                                                                        "https://127.0.0.1:8443/.default")


def test_tokens_never_reach_the_disk(live, pki, capsys):
    proj, oidc, standin, _ = live
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR) == 0
    raw = proj.read_bytes()
    assert SECRET.encode() not in raw and b"eyJ" not in raw  # no secret, no JWT
    leftovers = [p for p in proj.parent.iterdir() if p != proj]
    assert leftovers == [], leftovers  # no token cache file beside the project
    shutil.rmtree(proj.parent, ignore_errors=True)


def test_an_unreachable_authority_is_exit_2(live, pki, capsys):
    proj, _oidc, standin, _ = live
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    before = db_dump(proj)
    capsys.readouterr()
    assert main(["entra", str(proj), "--tenant", TENANT, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR,
                 "--authority", f"https://127.0.0.1:{closed}/{TENANT}", "--graph-url", standin.url,
                 "--ca-file", str(pki["ca"].pem)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nhiplan: error: {standin.url} (tenant {TENANT}): cannot reach the sign-in authority")
    assert err.count("\n") == 1 and db_dump(proj) == before


def test_owners_beyond_an_expansion_are_fetched_and_unreadable_sponsors_warn(live, pki, capsys):
    proj, oidc, standin, _ = live
    tenant = tenant_from_export()
    crowd = [{"@odata.type": "#microsoft.graph.user", "id": f"0a000000-0000-4000-8000-0000000001{i:02x}",
              "displayName": f"Owner {i}", "userPrincipalName": f"owner{i}@northwind.example"} for i in range(23)]
    tenant.owners["51000000-0000-4000-8000-000000000003"] = crowd  # Graph expands 20 of them at most
    standin.reset(tenant)
    standin.inject("/Microsoft.Graph.AgentIdentity/sponsors", "403", times=None)
    capsys.readouterr()
    assert entra(proj, oidc, standin, pki, "--client-id", "nhiplan-reader", "--secret-env", SECRET_VAR) == 0
    err = capsys.readouterr().err
    assert "sponsors not readable for 1 agent object(s) (HTTP 403" in err  # the agent identity's
    assert any(s.target.startswith("/v1.0/servicePrincipals/51000000-0000-4000-8000-000000000003/owners?")
               for s in standin.seen)
    owners = [r for r in listing(proj, capsys).values() if r["name"].startswith("Owner ")]
    assert len(owners) == 23


def test_services_check_and_pull_for_the_desktop_app(live, pki):
    """The GUI's import wizard calls check_entra / pull_entra with the secret it asked for."""
    from nhiplan.core import services
    from nhiplan.core.errors import SourceUnavailable

    proj, oidc, standin, _ = live
    conn = {"tenant": TENANT, "client_id": "nhiplan-reader", "authority": oidc.authority,
            "graph_url": standin.url, "ca_file": str(pki["ca"].pem)}
    message = services.check_entra(**conn, secret=SECRET)
    assert message.startswith(f"signed in to {standin.url}: tenant ")
    with pytest.raises(SourceUnavailable, match="sign-in failed|invalid_client|refused"):
        services.check_entra(**conn, secret="not-the-secret")
    store = services.open_project(proj)
    seen: list[str] = []
    try:
        summary = services.pull_entra(store, **conn, secret=SECRET, progress=lambda d, t, m: seen.append(m))
    finally:
        store.close()
    assert summary.identities == 12 and summary.source_kind == "entra"
    assert seen and seen[0].startswith("reading ")
