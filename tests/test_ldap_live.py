"""`nhiplan ldap` against a real OpenLDAP slapd on loopback (tests/slapd_fixture.py, AD-like schema).

Covered against slapd: simple and anonymous binds, ldaps:// and StartTLS with
verification on by default (an untrusted certificate is refused, --ca-file is
accepted, --insecure warns), paging through 10,000+ entries, a server killed
mid-pull, refused credentials, an unreachable port, a server that never answers
(timeout), cancel, filters, --scope service with escaped filter values, and
re-pulls that update instead of duplicating.

Not against slapd, because slapd cannot do them: NTLM (slapd has no NTLM bind; the
test checks the ldap3 Connection built for it and that slapd's refusal is a clean
exit 2) and AD range retrieval (slapd never splits values into ranges; a stand-in
connection that answers as AD does drives ``_complete_ranges``).
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time

import pytest

from nhiplan.core import cli, services
from nhiplan.core.errors import BadInput, Cancelled
from nhiplan.core.importers import ldap_live
from nhiplan.core.importers.base import ImportContext
from nhiplan.core.importers.ldap_live import LdapReader, LdapSource
from tests.ad_estate import BASE, estate, to_ldif
from tests.keyring_memory import MemoryKeyring
from tests.slapd_fixture import SlapdServer

PW_ENV = "NHIPLAN_TEST_LDAP_PW"
BULK = 10_050


def extra_entries() -> str:
    """Accounts whose names need escaping in a filter, beside the estate."""
    lines = []
    for name in ("ops(eu)-batch", "ops-eu-batch"):
        lines.append(f"dn: CN={name},OU=Staff,{BASE}\nobjectClass: top\nobjectClass: person\n"
                     f"objectClass: organizationalPerson\nobjectClass: user\ncn: {name}\nsn: x\n"
                     f"sAMAccountName: {name}\nuserAccountControl: 512\n")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    server = SlapdServer(tmp_path_factory.mktemp("slapd"), BASE, to_ldif(estate()) + "\n" + extra_entries(),
                         tls=True).start()
    yield server
    server.cleanup()


def bulk_ldif(count: int, groups: int = 10) -> str:
    blocks = [f"dn: {BASE}\nobjectClass: top\nobjectClass: domain\ndc: corp",
              f"dn: OU=Bulk,{BASE}\nobjectClass: top\nobjectClass: organizationalUnit\nou: Bulk"]
    members: dict[int, list[str]] = {g: [] for g in range(groups)}
    for i in range(count):
        dn = f"CN=svc_bulk_{i:05d},OU=Bulk,{BASE}"
        members[i % groups].append(dn)
        blocks.append(f"dn: {dn}\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n"
                      f"objectClass: user\ncn: svc_bulk_{i:05d}\nsn: bulk\nsAMAccountName: svc_bulk_{i:05d}\n"
                      f"userAccountControl: 66048\nservicePrincipalName: HTTP/app{i % 300}.corp.example.test\n"
                      f"memberOf: CN=Bulk Group {i % groups},OU=Bulk,{BASE}")
    for g, dns in members.items():
        blocks.append(f"dn: CN=Bulk Group {g},OU=Bulk,{BASE}\nobjectClass: top\nobjectClass: group\n"
                      f"cn: Bulk Group {g}\nsAMAccountName: Bulk Group {g}\n" + "\n".join(f"member: {d}" for d in dns))
    return "\n\n".join(blocks) + "\n"


@pytest.fixture(scope="module")
def bulk_slapd(tmp_path_factory):
    server = SlapdServer(tmp_path_factory.mktemp("bulk"), BASE, bulk_ldif(BULK)).start()
    yield server
    server.cleanup()


@pytest.fixture
def password(slapd, monkeypatch):
    monkeypatch.setenv(PW_ENV, slapd.rootpw)
    return slapd.rootpw


def ldap(project, server, *extra, url=None):
    return cli.main(["ldap", str(project), "--url", url or server.url, "--base", BASE, *extra])


def bind(server):
    return ["--bind-dn", server.rootdn, "--password-env", PW_ENV]


@pytest.fixture
def project_path(tmp_path):
    path = tmp_path / "p.nhiplan"
    services.init_project(path).close()
    return path


def table_counts(path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return {t: db.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("identity", "node", "edge", "credential", "finding", "import_run", "sighting")}


def inventory(path) -> list[dict]:
    store = services.open_project(path)
    try:
        return services.list_identities(store, include_people=True)
    finally:
        store.close()


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


# --- a pull, and a second one -------------------------------------------------------------------------------

def test_pull_reads_the_estate_and_a_second_pull_updates(slapd, password, project_path, capsys):
    assert ldap(project_path, slapd, *bind(slapd)) == 0
    out = capsys.readouterr()
    assert "pulled ldap (ad:corp.example.test)" in out.out
    assert password not in out.out + out.err
    rows = {r["name"]: r for r in inventory(project_path)}
    assert {n: r["kind"] for n, r in rows.items() if not n.startswith("ops")} == {
        "ada.lovelace": "person", "svc_sql": "service_account", "svc_web": "service_account",
        "svc_backup": "service_account", "gmsa_app$": "gmsa"}
    assert rows["svc_sql"]["sources"] == ["ldap"]
    assert rows["svc_sql"]["groups"] == 1
    assert rows["svc_backup"]["enabled"] is False
    assert "NHI2" in rows["svc_sql"]["tags"]  # the password in its description is a finding, and redacted
    first = table_counts(project_path)
    raw = project_path.read_bytes()
    assert b"Summer2019!" not in raw and password.encode() not in raw

    assert ldap(project_path, slapd, *bind(slapd)) == 0
    assert "(0 new, 0 changed, 0 vanished)" in capsys.readouterr().out
    second = table_counts(project_path)
    assert {k: v for k, v in second.items() if k != "import_run"} == \
        {k: v for k, v in first.items() if k != "import_run"}
    assert second["import_run"] == first["import_run"] + 1


def test_anonymous_bind_reads_what_anonymous_may(slapd, project_path, capsys):
    assert ldap(project_path, slapd) == 0
    assert {r["name"] for r in inventory(project_path)} >= {"svc_sql", "gmsa_app$"}


def test_the_pull_edges_match_the_directory(slapd, password, project_path):
    assert ldap(project_path, slapd, *bind(slapd)) == 0
    with sqlite3.connect(project_path) as db:
        edges = set(db.execute("select src, kind, dst from edge"))
    svc_web, svc_sql = "corp.example.test/svc_web", "corp.example.test/svc_sql"
    gmsa = "corp.example.test/gmsa_app$"
    assert (svc_web, "AllowedToDelegate", svc_sql) in edges  # the SPN resolved to the account owning it
    assert ("host:web01.corp.example.test", "ReadGMSAPassword", gmsa) in edges  # a SID in a security descriptor
    assert ("group:corp.example.test/web apps", "ReadGMSAPassword", gmsa) in edges
    assert (svc_web, "AllowedToAct", "host:web01.corp.example.test") in edges  # RBCD on WEB01
    assert (svc_sql, "MemberOf", "group:corp.example.test/sql admins") in edges
    assert ("host:sql01.corp.example.test", "UsesIdentity", svc_sql) in edges


# --- paging, progress, a server that dies -------------------------------------------------------------------

def test_paged_pull_of_ten_thousand_entries(bulk_slapd, tmp_path):
    progress: list[int] = []
    ctx = ImportContext(progress=lambda done, total, message: progress.append(done))
    source = LdapSource(url=bulk_slapd.url, base=BASE, bind_dn=bulk_slapd.rootdn, password=bulk_slapd.rootpw,
                        page_size=500)
    store = services.init_project(tmp_path / "bulk.nhiplan")
    try:
        summary = ldap_live.pull_into(store, source, ctx)
    finally:
        store.close()
    assert summary.identities == BULK
    assert summary.edges >= BULK * 2  # memberships and SPN hosts
    pages = -(-(BULK + 10) // 500)
    assert len(progress) == pages  # one report per page: the pull streamed page by page
    assert progress == sorted(progress) and progress[-1] == BULK + 10
    assert progress[0] == 500


def test_server_killed_mid_pull_is_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    server = SlapdServer(tmp_path / "dying", BASE, bulk_ldif(2000, groups=4)).start()
    try:
        project = tmp_path / "p.nhiplan"
        services.init_project(project).close()
        before = table_counts(project)
        pages = []

        def killer(done, total, message):
            pages.append(done)
            if len(pages) == 1:
                server.kill()

        monkeypatch.setattr(ldap_live, "progress_printer", lambda enabled: killer)
        monkeypatch.setenv(PW_ENV, server.rootpw)
        code = cli.main(["ldap", str(project), "--url", server.url, "--base", BASE, "--bind-dn", server.rootdn,
                         "--password-env", PW_ENV, "--page-size", "100"])
        assert code == 2
        line = one_error_line(capsys)
        assert line.startswith(f"nhiplan: error: {server.url}: connection lost after 100 entries")
        assert "nothing was written" in line
        assert pages == [100]
        assert table_counts(project) == before
    finally:
        server.cleanup()


def test_cancel_between_pages_writes_nothing(bulk_slapd, tmp_path):
    store = services.init_project(tmp_path / "c.nhiplan")
    calls = []
    ctx = ImportContext(progress=lambda *a: calls.append(a), is_cancelled=lambda: len(calls) >= 2)
    source = LdapSource(url=bulk_slapd.url, base=BASE, page_size=1000)
    try:
        with pytest.raises(Cancelled):
            ldap_live.pull_into(store, source, ctx)
    finally:
        store.close()
    assert len(calls) == 2
    assert table_counts(tmp_path / "c.nhiplan")["identity"] == 0


# --- TLS ----------------------------------------------------------------------------------------------------

def test_ldaps_verifies_certificates_by_default(slapd, password, project_path, capsys):
    assert ldap(project_path, slapd, *bind(slapd), url=slapd.ldaps_url) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"nhiplan: error: {slapd.ldaps_url}: TLS certificate not trusted")
    assert "--ca-file" in line
    assert table_counts(project_path)["import_run"] == 0

    assert ldap(project_path, slapd, *bind(slapd), "--ca-file", str(slapd.ca_pem), url=slapd.ldaps_url) == 0
    assert "warning" not in capsys.readouterr().err


def test_insecure_skips_verification_and_warns(slapd, password, project_path, capsys):
    assert ldap(project_path, slapd, *bind(slapd), "--insecure", url=slapd.ldaps_url) == 0
    err = capsys.readouterr().err
    assert "TLS certificate verification is off (--insecure)" in err


def test_starttls(slapd, password, project_path, capsys):
    assert ldap(project_path, slapd, *bind(slapd), "--starttls") == 2
    assert "StartTLS failed: TLS certificate not trusted" in one_error_line(capsys)
    assert ldap(project_path, slapd, *bind(slapd), "--starttls", "--ca-file", str(slapd.ca_pem)) == 0


def test_starttls_on_ldaps_is_bad_usage(slapd, password, project_path, capsys):
    assert ldap(project_path, slapd, *bind(slapd), "--starttls", url=slapd.ldaps_url) == 2
    assert "--starttls" in one_error_line(capsys)


# --- sources that cannot be read ---------------------------------------------------------------------------

def test_refused_credentials(slapd, project_path, monkeypatch, capsys):
    monkeypatch.setenv(PW_ENV, "wrong-password")
    assert ldap(project_path, slapd, *bind(slapd)) == 2
    line = one_error_line(capsys)
    assert line == f"nhiplan: error: {slapd.url}: credentials refused for {slapd.rootdn}"
    assert table_counts(project_path)["import_run"] == 0


def test_unreachable_server(project_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    url = f"ldap://127.0.0.1:{port}"
    assert cli.main(["ldap", str(project_path), "--url", url, "--base", BASE]) == 2
    assert one_error_line(capsys).startswith(f"nhiplan: error: {url}: connection refused")


def test_server_that_never_answers_times_out(project_path, capsys):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    url = f"ldap://127.0.0.1:{listener.getsockname()[1]}"
    try:
        started = time.monotonic()
        assert cli.main(["ldap", str(project_path), "--url", url, "--base", BASE, "--timeout", "1"]) == 2
        assert time.monotonic() - started < 10
        assert one_error_line(capsys) == f"nhiplan: error: {url}: timed out"
    finally:
        for conn, _ in held:
            conn.close()
        listener.close()


def test_missing_base(slapd, password, project_path, capsys):
    code = cli.main(["ldap", str(project_path), "--url", slapd.url, "--base", "DC=nowhere,DC=test", *bind(slapd)])
    assert code == 2
    assert "does not exist" in one_error_line(capsys)


# --- filters and escaping -----------------------------------------------------------------------------------

def test_bad_filter_is_refused_before_connecting(project_path, capsys):
    assert cli.main(["ldap", str(project_path), "--url", "ldap://192.0.2.1", "--base", BASE,
                     "--filter", "(sAMAccountName=svc_*"]) == 2
    assert one_error_line(capsys).startswith("nhiplan: error: --filter: not an LDAP filter")


def test_filter_narrows_the_pull(slapd, password, project_path):
    assert ldap(project_path, slapd, *bind(slapd), "--filter", "(sAMAccountName=svc_*)") == 0
    assert sorted(r["name"] for r in inventory(project_path)) == ["svc_backup", "svc_sql", "svc_web"]


def test_escaping():
    assert ldap_live.escape_value("a*(b)\\c") == r"a\2a\28b\29\5cc"
    assert ldap_live.escape_value(b"\x01\x05") == r"\01\05"
    assert ldap_live.escape_pattern("ops(eu)*") == r"ops\28eu\29*"
    assert ldap_live.escape_pattern("*_svc") == "*_svc"


def test_service_scope_reads_service_accounts_and_what_they_touch(slapd, password, project_path):
    code = ldap(project_path, slapd, *bind(slapd), "--scope", "service", "--name-pattern", "ops(eu)*")
    assert code == 0
    rows = {r["name"]: r["kind"] for r in inventory(project_path)}
    # The name pattern matched literally: parentheses escaped, the * kept.
    assert rows["ops(eu)-batch"] == "service_account"
    assert "ops-eu-batch" not in rows
    assert {"svc_sql", "svc_web", "svc_backup", "gmsa_app$"} <= set(rows)
    assert rows["ada.lovelace"] == "person"  # the manager of svc_sql
    with sqlite3.connect(project_path) as db:
        nodes = dict(db.execute("select key, sid from node where kind in ('group', 'host', 'computer')"))
        edges = set(db.execute("select src, kind, dst from edge"))
    assert nodes["group:corp.example.test/sql admins"] and nodes["group:corp.example.test/web apps"]
    # Only people and WEB01 are in App Readers: it is known by reference, never read.
    assert nodes.get("group:corp.example.test/app readers") is None
    # WEB01 was found from the SID the gMSA's security descriptor grants, and the delegation target's owner
    # from the SPN: both with escaped values in the filter.
    assert ("host:web01.corp.example.test", "ReadGMSAPassword", "corp.example.test/gmsa_app$") in edges
    assert ("corp.example.test/svc_web", "AllowedToDelegate", "corp.example.test/svc_sql") in edges


def test_service_ou_option_extends_the_rule(slapd, password, project_path):
    assert ldap(project_path, slapd, *bind(slapd), "--service-ou", "Staff") == 0
    rows = {r["name"]: r["kind"] for r in inventory(project_path)}
    assert rows["ada.lovelace"] == "service_account"


# --- the bind password --------------------------------------------------------------------------------------

def test_password_env_must_be_set(slapd, project_path, monkeypatch, capsys):
    monkeypatch.delenv(PW_ENV, raising=False)
    assert ldap(project_path, slapd, *bind(slapd)) == 2
    assert one_error_line(capsys) == f"nhiplan: error: --password-env: environment variable {PW_ENV} is not set or empty"


def test_password_from_keyring_then_prompt_then_error(slapd, monkeypatch):
    import keyring

    store = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_password", store.get_password)
    store.items[("nhiplan", f"{slapd.url}|{slapd.rootdn}")] = "from-keyring"
    assert ldap_live.read_password(slapd.url, slapd.rootdn, prompt=False) == "from-keyring"
    store.items.clear()
    monkeypatch.setattr(ldap_live.getpass, "getpass", lambda prompt: "typed")
    assert ldap_live.read_password(slapd.url, slapd.rootdn, prompt=True) == "typed"
    with pytest.raises(BadInput) as caught:
        ldap_live.read_password(slapd.url, slapd.rootdn, prompt=False)
    assert f"user '{slapd.url}|{slapd.rootdn}'" in caught.value.reason
    assert ldap_live.read_password(slapd.url, None) is None


def test_keyring_password_pulls_and_is_not_stored(slapd, project_path, monkeypatch, capsys):
    import keyring

    store = MemoryKeyring()
    store.items[("nhiplan", f"{slapd.url}|{slapd.rootdn}")] = slapd.rootpw
    monkeypatch.setattr(keyring, "get_password", store.get_password)
    monkeypatch.delenv(PW_ENV, raising=False)
    assert ldap(project_path, slapd, "--bind-dn", slapd.rootdn) == 0
    out = capsys.readouterr()
    assert slapd.rootpw not in out.out + out.err
    assert slapd.rootpw.encode() not in project_path.read_bytes()
    with sqlite3.connect(project_path) as db:
        assert slapd.rootpw not in json.dumps(db.execute("select * from import_run").fetchall())


# --- NTLM ---------------------------------------------------------------------------------------------------

def test_ntlm_builds_an_ntlm_connection():
    from ldap3 import NTLM

    source = LdapSource(url="ldaps://dc01.corp.example.test", base=BASE, bind_dn="CORP\\svc_nhiplan",
                        password="x", auth="ntlm")
    server, connection = LdapReader(source).connection_arguments()
    assert connection["authentication"] == NTLM
    assert connection["user"] == "CORP\\svc_nhiplan"
    assert connection["read_only"] is True
    assert server["use_ssl"] is True and server["tls"].validate == 2  # ssl.CERT_REQUIRED
    assert ldap_live.ntlm_user("svc_nhiplan@corp.example.test") == "corp.example.test\\svc_nhiplan"
    with pytest.raises(BadInput):
        ldap_live.ntlm_user("CN=svc,DC=corp")
    # NTLMv2 needs MD4, which OpenSSL 3 took from hashlib: pycryptodome (a dependency) provides it to ldap3.
    from ldap3.utils.ntlm import NtlmClient

    client = NtlmClient("CORP", "svc_nhiplan", "x")
    assert len(client.ntowf_v2()) == 16


def test_ntlm_against_slapd_fails_cleanly(slapd, password, project_path, capsys):
    code = ldap(project_path, slapd, "--auth", "ntlm", "--bind-dn", "CORP\\svc", "--password-env", PW_ENV)
    assert code == 2
    assert one_error_line(capsys) == (f"nhiplan: error: {slapd.url}: the server does not support ntlm bind "
                                      "(unknown authentication method)")


# --- AD range retrieval ---------------------------------------------------------------------------------------

class RangingConnection:
    """Answers base searches for ``member;range=N-*`` as AD does with MaxValRange=3 (slapd never ranges)."""

    def __init__(self, values):
        self.values = values
        self.requests = []
        self.response = []

    def search(self, base, flt, scope, attributes, time_limit=0, **kw):
        (wanted,) = attributes
        start = int(wanted.split("=")[1].split("-")[0])
        chunk = self.values[start:start + 3]
        end = "*" if start + 3 >= len(self.values) else str(start + 2)
        self.requests.append(wanted)
        self.response = [{"type": "searchResEntry", "dn": base,
                          "raw_attributes": {f"member;range={start}-{end}": [v.encode() for v in chunk]}}]
        return True


def test_range_retrieval_reads_every_range():
    members = [f"CN=m{i},{BASE}" for i in range(10)]
    reader = LdapReader(LdapSource(url="ldap://dc01", base=BASE))
    reader.connection = RangingConnection(members)
    attributes = {"member;range=0-2": members[:3], "cn": ["Big"]}
    reader._complete_ranges(f"CN=Big,{BASE}", attributes)
    assert attributes["member"] == members
    assert "member;range=0-2" not in attributes
    assert reader.connection.requests == ["member;range=3-*", "member;range=6-*", "member;range=9-*"]


def test_source_validation():
    with pytest.raises(BadInput, match="not an ldap"):
        LdapSource(url="https://dc01", base=BASE)
    with pytest.raises(BadInput, match="--page-size"):
        LdapSource(url="ldap://dc01", base=BASE, page_size=0)
    with pytest.raises(BadInput, match="--bind-dn"):
        LdapSource(url="ldap://dc01", base=BASE, auth="simple")


def test_pull_without_write_rights_uses_a_read_only_connection(slapd):
    source = LdapSource(url=slapd.url, base=BASE, bind_dn=slapd.rootdn, password=slapd.rootpw)
    seen = []
    ldap_live.pull(source, on_open=lambda reader: seen.append(reader.connection.read_only))
    assert seen == [True]



def test_front_end_pull_through_services(slapd, tmp_path):
    store = services.init_project(tmp_path / "gui.nhiplan")
    reports = []
    try:
        source = LdapSource(url=slapd.ldaps_url, base=BASE, bind_dn=slapd.rootdn, password=slapd.rootpw,
                            ca_file=str(slapd.ca_pem))
        summary = services.pull_ldap(store, source, progress=lambda *a: reports.append(a))
    finally:
        store.close()
    assert summary.origin == "ad:corp.example.test" and summary.identities == 7
    assert reports[-1][0] == 11  # entries read: 7 accounts, 3 groups, 1 computer
