"""Live SCIM pulls: a real scim2-server on loopback, and a scripted SCIM server for what it cannot do.

scim2-server (started here with the draft Agent and AgenticApplication resource types
added to its schemas) is seeded over HTTP and pulled through the CLI. Throttling (429),
unavailability (503), refused credentials, a server that dies half-way and TLS with a
throwaway CA come from a small SCIM server of our own (http.server in a thread),
because scim2-server does not produce them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import keyring
import pytest
import requests
from sqlalchemy import func, select

from nhiplan.core import services
from nhiplan.core.cli import main
from nhiplan.core.errors import Cancelled, SourceUnavailable
from nhiplan.core.importers.base import ImportContext
from nhiplan.core.importers.scim_common import Agent, AgenticApplication
from nhiplan.core.importers.scim_live import ScimClient, pull, pull_into
from nhiplan.core.model import Credential, Edge, Finding, Identity, ImportRun, Node, Sighting
from tests.keyring_memory import MemoryKeyring

TOKEN = "live-test-token-7f3a9c"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def counts(path) -> dict[str, int]:
    store = services.open_project(path)
    try:
        with store.session() as s:
            return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                    for m in (Identity, Node, Edge, Credential, Finding, Sighting, ImportRun)}
    finally:
        store.close()


def listing(path) -> dict[str, dict[str, Any]]:
    store = services.open_project(path)
    try:
        return {r["key"]: r for r in services.list_identities(store, include_people=True)}
    finally:
        store.close()


def edge_set(path, kind) -> set[tuple[str, str]]:
    store = services.open_project(path)
    try:
        with store.session() as s:
            return {(e.src, e.dst) for e in s.scalars(select(Edge).where(Edge.kind == kind))}
    finally:
        store.close()


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


def run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# -- a real scim2-server ------------------------------------------------------------------------

def _start_scim2_server(folder: Path, spc: dict[str, Any] | None, token: str | None
                        ) -> tuple[str, subprocess.Popen]:
    from scim2_server.utils import load_default_resource_types, load_default_schemas

    schemas = [s.model_dump() for s in load_default_schemas().values()]
    types = [r.model_dump() for r in load_default_resource_types().values()]
    for model, name, endpoint in ((Agent, "Agent", "/Agents"),
                                  (AgenticApplication, "AgenticApplication", "/AgenticApplications")):
        schema = model.to_schema().model_dump()
        schema.update(id=str(model.__schema__), name=name)
        schemas.append(schema)
        types.append({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": name,
                      "name": name, "endpoint": endpoint, "schema": str(model.__schema__)})
    (folder / "schemas.json").write_text(json.dumps(schemas))
    (folder / "types.json").write_text(json.dumps(types))
    port = free_port()
    argv = [str(Path(sys.executable).parent / "scim2-server"), "--hostname", "127.0.0.1", "--port", str(port),
            "--schema", str(folder / "schemas.json"), "--resource-type", str(folder / "types.json")]
    if spc is not None:
        (folder / "spc.json").write_text(json.dumps(spc))
        argv += ["--service-provider-config", str(folder / "spc.json")]
    if token:
        argv += ["--bearer-token", token]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v2"
    deadline = time.monotonic() + 20
    while True:
        try:
            if requests.get(f"{base}/ServiceProviderConfig", timeout=1).status_code == 200:
                return base, proc
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("scim2-server did not start")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


SPC_INDEX = {  # every feature, pages of at most 3 so that a pull needs several
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "patch": {"supported": True}, "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
    "filter": {"supported": True, "maxResults": 3}, "changePassword": {"supported": False},
    "sort": {"supported": True}, "etag": {"supported": True},
}
SPC_CURSOR = {**SPC_INDEX, "filter": {"supported": True, "maxResults": 100},
              "pagination": {"cursor": True, "index": True, "defaultPaginationMethod": "cursor",
                             "maxPageSize": 2, "cursorTimeout": 600}}


class Seeder:
    def __init__(self, base: str, token: str | None):
        self.base = base
        self.s = requests.Session()
        self.s.headers["Content-Type"] = "application/scim+json"
        if token:
            self.s.headers["Authorization"] = f"Bearer {token}"

    def post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.s.post(f"{self.base}{endpoint}", json=body, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture(scope="module")
def scim2_server(tmp_path_factory):
    """scim2-server with Users, Groups, Agents and AgenticApplications, seeded over HTTP."""
    base, proc = _start_scim2_server(tmp_path_factory.mktemp("scim2"), SPC_INDEX, TOKEN)
    seed = Seeder(base, TOKEN)
    ids: dict[str, str] = {}
    users = [
        {"schemas": [USER, ENTERPRISE], "userName": "alice@acme.test", "userType": "Employee",
         "name": {"givenName": "Alice", "familyName": "Adams"},
         "emails": [{"value": "alice@acme.test", "primary": True, "type": "work"}],
         ENTERPRISE: {"employeeNumber": "1001"}},
        {"schemas": [USER], "userName": "bob@acme.test",
         "emails": [{"value": "bob@acme.test", "primary": True}]},
        {"schemas": [USER], "userName": "svc-backup", "userType": "Service", "active": True,
         "externalId": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e802"},
        {"schemas": [USER], "userName": "svc-report", "userType": "Service", "active": False},
        {"schemas": [USER], "userName": "ledger-assistant", "userType": "AI Agent"},
        {"schemas": [USER], "userName": "carol@acme.test", "userType": "Contractor"},
        {"schemas": [USER], "userName": "dave@acme.test"},
    ]
    for body in users:
        ids[body["userName"]] = seed.post("/Users", body)["id"]
    ids["Backup operators"] = seed.post("/Groups", {
        "schemas": [GROUP], "displayName": "Backup operators",
        "members": [{"value": ids["svc-backup"]}, {"value": ids["alice@acme.test"]}]})["id"]
    ids["Finance"] = seed.post("/Groups", {
        "schemas": [GROUP], "displayName": "Finance",
        "members": [{"value": ids["alice@acme.test"]}, {"value": ids["Backup operators"]}]})["id"]
    ids["reconciler"] = seed.post("/Agents", {
        "schemas": [str(Agent.__schema__)], "name": "reconciler", "displayName": "Reconciliation agent",
        "agentType": "Assistant", "active": True, "subject": "spiffe://acme.test/reconciler",
        "owners": [{"value": ids["alice@acme.test"]}]})["id"]
    ids["invoice-bot"] = seed.post("/Agents", {
        "schemas": [str(Agent.__schema__)], "name": "invoice-bot", "agentType": "Chat bot",
        "parent": {"value": ids["reconciler"]}})["id"]
    ids["finance-hub"] = seed.post("/AgenticApplications", {
        "schemas": [str(AgenticApplication.__schema__)], "name": "finance-hub",
        "lastAccessed": "2026-09-01T10:00:00Z",
        "agents": [{"value": ids["reconciler"], "type": "owned"}]})["id"]
    yield base, ids, seed
    _stop(proc)


def test_pull_from_scim2_server(scim2_server, proj, capsys, monkeypatch):
    base, _ids, _seed = scim2_server
    monkeypatch.setenv("SCIM_TOKEN", TOKEN)
    code, out, err = run(capsys, "scim", proj, "--url", base, "--token-env", "SCIM_TOKEN")
    assert code == 0, err
    auth = base.removeprefix("http://").lower()
    assert f"pulled scim (scim:{auth}) from {base}: 10 identities (10 new" in out
    assert TOKEN not in out + err
    rows = listing(proj)
    kinds = {r["name"]: r["kind"] for r in rows.values()}
    assert kinds == {"alice@acme.test": "person", "bob@acme.test": "scim_account",
                     "svc-backup": "scim_account", "svc-report": "scim_account", "ledger-assistant": "agent",
                     "carol@acme.test": "person", "dave@acme.test": "scim_account", "reconciler": "agent",
                     "invoice-bot": "agent", "finance-hub": "agent"}
    assert all(r["sources"] == ["scim"] and r["authority"] == auth for r in rows.values())
    assert rows[f"scim:{auth}/svc-report"]["enabled"] is False
    assert rows[f"scim:{auth}/agentic-applications/finance-hub"]["last_used"] == "2026-09-01T10:00:00Z"
    assert rows[f"scim:{auth}/agents/reconciler"]["credentials"] == [
        {"kind": "federated", "id": "subject:spiffe://acme.test/reconciler", "expires": None}]
    # Membership from Group.members (scim2-server also fills User.groups): nested groups too.
    member_of = edge_set(proj, "MemberOf")
    backup, finance = f"group:{auth}/backup operators", f"group:{auth}/finance"
    assert member_of == {(f"scim:{auth}/svc-backup", backup), (f"scim:{auth}/alice@acme.test", backup),
                         (f"scim:{auth}/alice@acme.test", finance), (backup, finance)}
    managed = edge_set(proj, "ManagedBy")
    assert (f"scim:{auth}/agents/reconciler", f"scim:{auth}/alice@acme.test") in managed
    assert (f"scim:{auth}/agents/invoice-bot", f"scim:{auth}/agents/reconciler") in managed
    assert (f"scim:{auth}/agentic-applications/finance-hub", f"scim:{auth}/agents/reconciler") in edge_set(
        proj, "Owns")
    assert {s for s, d in edge_set(proj, "ProvisionedIn")} == set(rows)
    assert b"live-test-token" not in proj.read_bytes()


def test_second_pull_updates_instead_of_duplicating(scim2_server, proj, capsys, monkeypatch):
    base, ids, seed = scim2_server
    monkeypatch.setenv("SCIM_TOKEN", TOKEN)
    assert run(capsys, "scim", proj, "--url", base, "--token-env", "SCIM_TOKEN")[0] == 0
    first = counts(proj)
    code, out, _ = run(capsys, "scim", proj, "--url", base + "/", "--token-env", "SCIM_TOKEN")
    assert code == 0 and "(0 new, 0 changed, 0 vanished)" in out
    again = counts(proj)
    assert {k: v for k, v in again.items() if k not in ("sighting", "import_run")} == {
        k: v for k, v in first.items() if k not in ("sighting", "import_run")}
    # A change at the source shows as a change, a deletion as vanished.
    temp = seed.post("/Users", {"schemas": [USER], "userName": "temp-worker"})["id"]
    assert run(capsys, "scim", proj, "--url", base, "--token-env", "SCIM_TOKEN")[0] == 0
    r = seed.s.patch(f"{base}/Users/{ids['dave@acme.test']}", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}]}, timeout=10)
    assert r.status_code in (200, 204), r.text
    assert seed.s.delete(f"{base}/Users/{temp}", timeout=10).status_code == 204
    code, out, _ = run(capsys, "scim", proj, "--url", base, "--token-env", "SCIM_TOKEN")
    assert code == 0 and "(0 new, 1 changed, 1 vanished)" in out
    auth = base.removeprefix("http://").lower()
    rows = listing(proj)
    assert rows[f"scim:{auth}/dave@acme.test"]["enabled"] is False
    assert rows[f"scim:{auth}/temp-worker"]["vanished"] is True


def test_export_file_and_live_pull_are_one_source(scim2_server, proj, tmp_path, capsys, monkeypatch):
    """An export saved from the service and a pull of it update each other (same authority)."""
    base, _ids, seed = scim2_server
    pages = []  # the service gives at most 3 a page: save every page, as an array of ListResponses
    while not pages or sum(len(p["Resources"]) for p in pages) < pages[0]["totalResults"]:
        start = 1 + sum(len(p["Resources"]) for p in pages)
        pages.append(seed.s.get(f"{base}/Users", params={"startIndex": start}, timeout=10).json())
    assert len(pages) >= 3
    export = tmp_path / "users-export.json"
    export.write_text(json.dumps(pages))
    code, out, err = run(capsys, "import", proj, export)
    assert code == 0, err
    auth = base.removeprefix("http://").lower()
    assert f"(scim:{auth})" in out
    monkeypatch.setenv("SCIM_TOKEN", TOKEN)
    code, out, _ = run(capsys, "scim", proj, "--url", base, "--token-env", "SCIM_TOKEN")
    assert code == 0
    users = pages[0]["totalResults"]
    assert f"identities ({10 - users} new, 0 changed, 0 vanished)" in out
    assert {tuple(r["sources"]) for r in listing(proj).values() if "/agents/" not in r["key"]
            and "agentic" not in r["key"]} == {("scim", "scim-json")}


def test_paging_by_cursor(tmp_path):
    base, proc = _start_scim2_server(tmp_path, SPC_CURSOR, None)
    try:
        seed = Seeder(base, None)
        for i in range(5):
            seed.post("/Users", {"schemas": [USER], "userName": f"user{i}"})
        seed.post("/Groups", {"schemas": [GROUP], "displayName": "All"})
        ctx = ImportContext()
        result = pull(base, ctx=ctx)
        assert result.counts == {"User": 5, "Agent": 0, "AgenticApplication": 0, "Group": 1}
        app = next(r for r in result.records if getattr(r, "kind", None) == "application")
        assert app.attributes["pagination"] == "cursor"
        # 2 discovery requests; Users in pages of 2 (3 pages); one page each for the other three endpoints
        assert result.requests == 2 + 3 + 3
    finally:
        _stop(proc)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


def test_token_from_the_keyring(scim2_server, proj, capsys, memory_keyring):
    base, _ids, _seed = scim2_server
    code, _out, err = run(capsys, "scim", proj, "--url", base)
    assert code == 2 and "credentials refused (HTTP 401)" in err and "--token-env" in err
    assert counts(proj)["identity"] == 0
    keyring.set_password("nhiplan", base, TOKEN)
    code, out, err = run(capsys, "scim", proj, "--url", base)
    assert code == 0, err
    assert "10 identities" in out and TOKEN not in out + err


def test_refused_and_missing_tokens(scim2_server, proj, capsys, monkeypatch):
    base, _ids, _seed = scim2_server
    monkeypatch.setenv("SCIM_TOKEN", "not-the-token")
    code, out, err = run(capsys, "scim", proj, "--url", base, "--token-env", "SCIM_TOKEN")
    assert code == 2 and out == ""
    assert err == f"nhiplan: error: {base}: credentials refused (HTTP 401) at /ResourceTypes\n"
    monkeypatch.delenv("SCIM_TOKEN")
    code, _out, err = run(capsys, "scim", proj, "--url", base, "--token-env", "SCIM_TOKEN")
    assert code == 2 and "environment variable SCIM_TOKEN is not set" in err
    assert counts(proj)["identity"] == 0


def test_a_new_token_is_fetched_after_a_401(scim2_server):
    base, _ids, _seed = scim2_server
    asked = []

    def provider() -> str:
        asked.append(1)
        return TOKEN

    with ScimClient(base, token="expired", token_provider=provider) as client:
        body = client.get_json("/Users", {"count": 1})
    assert body["totalResults"] >= 7 and asked == [1]


# -- a scripted SCIM server for failures scim2-server does not produce ----------------------------

class ScriptedScim:
    """A SCIM service of Users and Groups on loopback that misbehaves on request."""

    def __init__(self, users: int = 5, *, page_size: int = 2, token: str | None = None, throttle: int = 0,
                 retry_after: str | None = "1", unavailable: int = 0,
                 unavailable_retry_after: str | None = None,
                 cut_on_page: int | None = None, stop_after_page: int | None = None,
                 tls: ssl.SSLContext | None = None, extra: dict[int, dict[str, Any]] | None = None,
                 groups_status: int = 200):
        self.users = []
        for i in range(users):
            user = {"schemas": [USER], "id": f"id{i}", "userName": f"user{i}@scripted.test",
                    "meta": {"resourceType": "User"}}
            user.update((extra or {}).get(i, {}))
            self.users.append(user)
        self.page_size, self.token, self.groups_status = page_size, token, groups_status
        self.throttle, self.retry_after = throttle, retry_after
        self.unavailable, self.unavailable_retry_after = unavailable, unavailable_retry_after
        self.cut_on_page, self.stop_after_page = cut_on_page, stop_after_page
        self.log: list[tuple[str, str, int]] = []  # method, path?query, status
        self.user_pages = 0
        self.times: list[float] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, status: int, body: Any, headers: dict[str, str] | None = None,
                      last: bool = False) -> None:
                data = json.dumps(body).encode()
                server.log.append((self.command, self.path, status))
                self.send_response(status)
                self.send_header("Content-Type", "application/scim+json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if last:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                server.times.append(time.monotonic())
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
                    return self.reply(401, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                                            "status": "401", "detail": "bad token"})
                path = parts.path.removeprefix("/scim/v2")
                if path == "/ServiceProviderConfig":
                    spc = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
                    return self.reply(200, {"schemas": [spc],
                                            "filter": {"supported": True, "maxResults": server.page_size}})
                if path == "/ResourceTypes":
                    return self.reply(404, {"detail": "not here"})
                if path == "/Groups" and server.groups_status != 200:
                    return self.reply(server.groups_status, {"detail": "no permission to read groups"})
                if path == "/Groups":
                    return self.reply(200, {"schemas": [LIST], "totalResults": 0, "Resources": []})
                if path != "/Users":
                    return self.reply(404, {"detail": "no such endpoint"})
                if server.throttle > 0:
                    server.throttle -= 1
                    return self.reply(429, {"detail": "slow down"},
                                      {"Retry-After": server.retry_after} if server.retry_after else {})
                if server.unavailable > 0:
                    server.unavailable -= 1
                    wait = server.unavailable_retry_after
                    headers = {"Retry-After": wait} if wait else {}
                    return self.reply(503, {"detail": "maintenance"}, headers)
                server.user_pages += 1
                start = int(query.get("startIndex", "1"))
                count = int(query.get("count", str(server.page_size)))
                chunk = server.users[start - 1:start - 1 + min(count, server.page_size)]
                body = {"schemas": [LIST], "totalResults": len(server.users), "startIndex": start,
                        "itemsPerPage": len(chunk), "Resources": chunk}
                if server.cut_on_page == server.user_pages:
                    # The server dies while sending: half a body, then the connection is gone.
                    data = json.dumps(body).encode()
                    server.log.append((self.command, self.path, 200))
                    self.send_response(200)
                    self.send_header("Content-Type", "application/scim+json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    server.httpd.socket.close()  # and nobody answers any more
                    return None
                if server.stop_after_page == server.user_pages:
                    server.httpd.socket.close()  # the server is gone once this page is out
                    return self.reply(200, body, last=True)
                return self.reply(200, body)

            def do_POST(self) -> None:
                self.reply(405, {"detail": "read only test server"})

            do_PUT = do_PATCH = do_DELETE = do_POST

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.base = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}/scim/v2"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        self._stopped = False

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.httpd.shutdown()
            self.httpd.server_close()


@pytest.fixture
def scripted():
    servers: list[ScriptedScim] = []

    def make(**kw: Any) -> ScriptedScim:
        servers.append(ScriptedScim(**kw))
        return servers[-1]

    yield make
    for s in servers:
        s.stop()


def test_429_waits_for_retry_after(scripted, proj, capsys):
    srv = scripted(throttle=1, retry_after="1")
    start = time.monotonic()
    code, out, err = run(capsys, "scim", proj, "--url", srv.base)
    assert code == 0, err
    assert "5 identities" in out
    statuses = [s for _m, p, s in srv.log if p.startswith("/scim/v2/Users")]
    assert statuses[:2] == [429, 200]
    first, retry = [t for (_m, p, _s), t in zip(srv.log, srv.times, strict=True)
                    if p.startswith("/scim/v2/Users")][:2]
    assert retry - first >= 0.95 and time.monotonic() - start >= 0.95
    assert {m for m, _p, _s in srv.log} == {"GET"}  # a pull only reads


def test_503_backs_off_then_succeeds(scripted, proj, capsys):
    srv = scripted(unavailable=2)
    code, _out, err = run(capsys, "scim", proj, "--url", srv.base)
    assert code == 0, err
    user_times = [t for (_m, p, _s), t in zip(srv.log, srv.times, strict=True)
                  if p.startswith("/scim/v2/Users")]
    assert user_times[1] - user_times[0] >= 0.45 and user_times[2] - user_times[1] >= 0.95  # 0.5 s, then 1 s
    assert len(listing(proj)) == 5


def test_503_without_end_fails_after_bounded_retries(scripted, proj, capsys):
    srv = scripted(unavailable=100, unavailable_retry_after="0")
    code, out, err = run(capsys, "scim", proj, "--url", srv.base)
    assert code == 2 and out == ""
    assert err.startswith(f"nhiplan: error: {srv.base}: HTTP 503 from ")
    assert "after 5 retries: maintenance" in err
    assert sum(1 for _m, p, s in srv.log if s == 503) == 6
    assert counts(proj)["identity"] == 0


def test_429_asking_for_too_long_fails_at_once(scripted, proj, capsys):
    srv = scripted(throttle=1, retry_after="3600")
    start = time.monotonic()
    code, _out, err = run(capsys, "scim", proj, "--url", srv.base)
    assert code == 2 and "asks to wait 3600 s" in err and time.monotonic() - start < 5


def test_server_killed_mid_pull_writes_nothing(scripted, proj, capsys):
    good = scripted()
    assert run(capsys, "scim", proj, "--url", good.base)[0] == 0
    before = counts(proj)
    dying = scripted(users=7, cut_on_page=2)
    code, out, err = run(capsys, "scim", proj, "--url", dying.base)
    assert code == 2 and out == ""
    assert err.startswith(f"nhiplan: error: {dying.base}: ") and err.count("\n") == 1
    assert "startIndex=3" in err  # the page that was being read
    assert counts(proj) == before


def test_server_gone_after_first_page_writes_nothing(scripted, proj, capsys):
    srv = scripted(users=7, stop_after_page=1)
    code, _out, err = run(capsys, "scim", proj, "--url", srv.base)
    assert code == 2 and f"{srv.base}: cannot read {srv.base}/Users?startIndex=3" in err
    assert counts(proj)["identity"] == 0


def test_groups_refused_is_a_warning(scripted, proj, capsys):
    srv = scripted(groups_status=403)
    code, out, err = run(capsys, "scim", proj, "--url", srv.base)
    assert code == 0 and "5 identities" in out
    assert f"warning: {srv.base}/Groups: not read: HTTP 403 (the pull goes on without groups)" in err


def test_unreachable_service(proj, capsys):
    base = f"http://127.0.0.1:{free_port()}/scim/v2"
    code, _out, err = run(capsys, "scim", proj, "--url", base)
    assert code == 2 and err.startswith(f"nhiplan: error: {base}: cannot read") and "refused" in err


def test_password_from_the_service_is_never_stored(scripted, proj, capsys):
    srv = scripted(extra={1: {"password": "Pl@inText-99", "userType": "Service"}})
    code, out, err = run(capsys, "scim", proj, "--url", srv.base)
    assert code == 0, err
    store = services.open_project(proj)
    with store.session() as s:
        (finding,) = s.scalars(select(Finding)).all()
        assert finding.subject == f"scim:{srv.base.removeprefix('http://')}/user1@scripted.test".lower()
        assert "'password'" in finding.message and "startIndex=1" in finding.message
    store.close()
    assert b"Pl@inText-99" not in proj.read_bytes() and "Pl@inText-99" not in out + err


def test_malformed_resource_from_the_service_names_page_and_index(scripted, proj, capsys):
    srv = scripted(extra={3: {"active": "perhaps"}})
    code, _out, err = run(capsys, "scim", proj, "--url", srv.base)
    assert code == 2
    assert f"{srv.base}/Users?startIndex=3&count=2: Resources[1]: attribute 'active'" in err
    assert counts(proj)["identity"] == 0


def test_cancel_and_progress(scripted, proj):
    srv = scripted(users=9)
    seen: list[tuple[int, int | None, str]] = []
    ctx = ImportContext(progress=lambda d, t, m: seen.append((d, t, m)), is_cancelled=lambda: len(seen) >= 2)
    store = services.open_project(proj)
    try:
        with pytest.raises(Cancelled):
            pull_into(store, srv.base, ctx=ctx)
    finally:
        store.close()
    assert seen[:2] == [(2, None, "/Users: 2 of 9"), (4, None, "/Users: 4 of 9")]
    assert srv.user_pages == 2
    assert counts(proj)["identity"] == 0


# -- TLS with a throwaway CA ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def throwaway_ca(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("ca")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nhiplan test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    leaf = (x509.CertificateBuilder().subject_name(leaf_name)
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "leaf.pem", folder / "leaf.key")
    return folder / "ca.pem", context


def test_tls_is_verified_and_ca_file_adds_a_trust_anchor(scripted, throwaway_ca, proj, capsys, monkeypatch):
    ca_file, context = throwaway_ca
    srv = scripted(tls=context, token=TOKEN)
    monkeypatch.setenv("SCIM_TOKEN", TOKEN)
    code, _out, err = run(capsys, "scim", proj, "--url", srv.base, "--token-env", "SCIM_TOKEN")
    assert code == 2 and "certificate verify failed" in err and "--ca-file" in err
    assert counts(proj)["identity"] == 0
    # --ca-file wins over a REQUESTS_CA_BUNDLE that does not hold the CA.
    system_bundle = ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", system_bundle)
    monkeypatch.setenv("CURL_CA_BUNDLE", system_bundle)
    code, out, err = run(capsys, "scim", proj, "--url", srv.base, "--token-env", "SCIM_TOKEN",
                         "--ca-file", ca_file)
    assert code == 0, err
    assert "5 identities" in out and TOKEN not in out + err


def test_bad_ca_file(proj, tmp_path, capsys):
    code, _out, err = run(capsys, "scim", proj, "--url", "https://127.0.0.1:9/scim",
                          "--ca-file", tmp_path / "no.pem")
    assert code == 2 and "--ca-file: " in err and "no such file" in err
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    code, _out, err = run(capsys, "scim", proj, "--url", "https://127.0.0.1:9/scim", "--ca-file", junk)
    assert code == 2 and "not a PEM certificate file" in err


def test_bad_url(proj, capsys):
    code, _out, err = run(capsys, "scim", proj, "--url", "ftp://x/scim")
    assert code == 2 and "is not an http(s) URL" in err


def test_direct_pull_reports_source_unavailable(scripted):
    srv = scripted(token="right")
    with pytest.raises(SourceUnavailable) as info:
        pull(srv.base, token="wrong")
    assert info.value.source == srv.base and "HTTP 401" in info.value.reason

