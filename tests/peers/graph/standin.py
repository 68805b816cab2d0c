"""Loopback peers for the `entra` live pull: the real OpenID provider and a Graph stand-in.

`EntraOidcPeer` runs tests/peers/entra-oidc/server.mjs (oidc-provider) over HTTPS:
msal signs in against it for real and gets signed JWT access tokens.

`GraphStandIn` is an HTTPS server in the test process that answers like
Microsoft Graph for one tenant's data: it accepts only bearer JWTs that verify
against the provider's JWKS (issuer, audience, expiry), pages collections with
opaque `$skiptoken` nextLinks (so a client must follow them verbatim), honours
`$expand=owners`, `$expand=federatedIdentityCredentials` and `$select`, and
serves the beta sign-in report and agent sponsors. Faults are injected per
request: 429 with Retry-After, 503, a 401 that revokes the token it was given,
403, and a connection dropped in the middle of an answer. Every request is
recorded (method, path, token id) so tests can check what the client did.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import shutil
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import requests

PEER_DIR = Path(__file__).resolve().parents[1] / "entra-oidc"


class EntraOidcPeer:
    """The oidc-provider peer, started with its config; stop() ends it by its pid."""

    def __init__(self, folder: Path, cert: Path, key: Path, tenant: str, resource: str, clients: list[dict],
                 device_account: str | None = None, access_token_ttl: int = 600, device_poll_interval: int = 1):
        node = shutil.which("node")
        if node is None or not (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError("the Entra OpenID peer is not set up: run scripts/setup.sh "
                               "(scripts/setup.d/entra-oidc.sh installs it)")
        config = folder / "entra-oidc.json"
        config.write_text(json.dumps({"cert": str(cert), "key": str(key), "tenant": tenant, "resource": resource,
                                      "clients": clients, "device_account": device_account,
                                      "access_token_ttl": access_token_ttl,
                                      "device_poll_interval": device_poll_interval}))
        self.log = folder / "entra-oidc.log"
        self._out = self.log.open("w")
        self.process = subprocess.Popen([node, str(PEER_DIR / "server.mjs"), str(config)], stdout=self._out,
                                        stderr=subprocess.STDOUT, cwd=PEER_DIR)
        deadline = time.monotonic() + 20
        port = None
        while port is None:
            text = self.log.read_text()
            for line in text.splitlines():
                if line.startswith("LISTENING "):
                    port = int(line.split()[1])
            if port is None:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the Entra OpenID peer did not start:\n{text}")
                time.sleep(0.05)
        self.port = port
        self.tenant = tenant
        self.authority = f"https://127.0.0.1:{port}/{tenant}"
        self.issuer = f"{self.authority}/v2.0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._out.close()


@dataclass
class Fault:
    match: str  # substring of "METHOD path?query"
    kind: str  # 429 | 503 | 503-plain | 401 | 403 | drop
    times: int | None = 1  # None: every matching request
    hits: int = 0


@dataclass
class Seen:
    method: str
    target: str  # path?query
    token_id: str | None  # jti of the bearer token (None when absent or invalid)
    status: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class Tenant:
    """The data one tenant's Graph serves. Relationship data is keyed by the owning object's id."""

    organization: list[dict] = field(default_factory=list)
    service_principals: list[dict] = field(default_factory=list)
    applications: list[dict] = field(default_factory=list)
    grants: list[dict] = field(default_factory=list)
    app_role_assignments: dict[str, list[dict]] = field(default_factory=dict)
    owners: dict[str, list[dict]] = field(default_factory=dict)
    federated: dict[str, list[dict]] = field(default_factory=dict)
    sponsors: dict[str, list[dict]] = field(default_factory=dict)
    sign_ins: list[dict] = field(default_factory=list)


class GraphStandIn:
    """An HTTPS Graph for one tenant on 127.0.0.1 (see the module docstring)."""

    def __init__(self, cert: Path, key: Path, tenant: Tenant, page_size: int = 2):
        self.tenant = tenant
        self.page_size = page_size
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.revoked: set[str] = set()
        self.issuer: str | None = None
        self.ca_file: str | None = None
        self._jwks: dict[str, Any] = {}
        self._cursors: dict[str, tuple[str, list[dict], int]] = {}
        self._lock = threading.Lock()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True, do_handshake_on_connect=False)
        self.port = self.server.server_address[1]
        self.origin = f"https://127.0.0.1:{self.port}"
        self.url = f"{self.origin}/v1.0"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self, issuer: str, ca_file: str) -> None:
        self.issuer = issuer
        self.ca_file = ca_file
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self, tenant: Tenant | None = None) -> None:
        with self._lock:
            if tenant is not None:
                self.tenant = tenant
            self.faults.clear()
            self.seen.clear()
            self.revoked.clear()
            self._cursors.clear()

    def inject(self, match: str, kind: str, times: int | None = 1) -> Fault:
        fault = Fault(match, kind, times)
        with self._lock:
            self.faults.append(fault)
        return fault

    # -- token check ---------------------------------------------------------------------

    def _signing_key(self, kid: str) -> Any:
        if kid not in self._jwks:
            session = requests.Session()
            session.trust_env = False
            session.verify = self.ca_file
            config = session.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()
            keys = session.get(config["jwks_uri"], timeout=10).json()
            self._jwks = {k["kid"]: jwt.PyJWK(k) for k in keys["keys"]}
        return self._jwks[kid].key

    def check_token(self, header: str | None) -> tuple[str | None, str | None]:
        """(token id, None) for a valid bearer JWT, else (None, why)."""
        if not header or not header.startswith("Bearer "):
            return None, "no bearer token"
        token = header[7:]
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            claims = jwt.decode(token, self._signing_key(kid), algorithms=["RS256", "PS256"], audience=self.origin,
                                issuer=self.issuer, options={"require": ["exp", "iat", "aud", "iss"]})
        except (jwt.PyJWTError, KeyError) as exc:
            return None, f"invalid token: {exc}"
        if claims.get("tid") != self.tenant_id:
            return None, "token of another tenant"
        jti = claims.get("jti") or token[-16:]
        if jti in self.revoked:
            return None, "token revoked"
        return jti, None

    @property
    def tenant_id(self) -> str:
        return self.issuer.rstrip("/").split("/")[-2] if self.issuer else ""

    # -- answers -------------------------------------------------------------------------

    def answer(self, method: str, target: str, token_id: str | None) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        path = unquote(parts.path).rstrip("/")
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if method != "GET":
            return 405, {}, _error("Request_BadRequest", "this stand-in only reads")
        if "$skiptoken" in query:
            with self._lock:
                cursor = self._cursors.pop(query["$skiptoken"], None)
            if cursor is None or not path.endswith(cursor[0]):
                return 400, {}, _error("Request_BadRequest", "unknown $skiptoken")
            return 200, {}, self._page(cursor[0], cursor[1], cursor[2])
        t = self.tenant
        version, _, rest = path.lstrip("/").partition("/")
        base = f"/{version}/{rest}"
        segs = rest.split("/")
        if version == "v1.0" and rest == "organization":
            return 200, {}, self._page(base, _select(t.organization, query), 0)
        if version == "v1.0" and rest == "servicePrincipals":
            return 200, {}, self._page(base, self._expand(t.service_principals, query), 0)
        if version == "v1.0" and rest == "applications":
            return 200, {}, self._page(base, self._expand(t.applications, query), 0)
        if version == "v1.0" and rest == "oauth2PermissionGrants":
            return 200, {}, self._page(base, copy.deepcopy(t.grants), 0)
        if version == "v1.0" and len(segs) == 3 and segs[0] == "servicePrincipals" and segs[2] == "appRoleAssignments":
            return 200, {}, self._page(base, copy.deepcopy(t.app_role_assignments.get(segs[1], [])), 0)
        if version == "v1.0" and len(segs) == 3 and segs[2] == "owners":
            return 200, {}, self._page(base, _select(t.owners.get(segs[1], []), query), 0)
        if version == "beta" and rest == "reports/servicePrincipalSignInActivities":
            return 200, {}, self._page(base, copy.deepcopy(t.sign_ins), 0)
        if version == "beta" and len(segs) == 4 and segs[3] == "sponsors" and segs[2].startswith("Microsoft.Graph."):
            return 200, {}, self._page(base, copy.deepcopy(t.sponsors.get(segs[1], [])), 0)
        return 404, {}, _error("Request_ResourceNotFound", f"no such resource {path}")

    def _expand(self, items: list[dict], query: dict[str, str]) -> list[dict]:
        out = []
        expand = query.get("$expand", "")
        for item in copy.deepcopy(items):
            if expand.startswith("owners"):
                item["owners"] = copy.deepcopy(self.tenant.owners.get(item["id"], []))[:20]
            if expand.startswith("federatedIdentityCredentials"):
                item["federatedIdentityCredentials"] = copy.deepcopy(self.tenant.federated.get(item["id"], []))
            out.append(item)
        return _select(out, query, keep=("owners", "federatedIdentityCredentials", "@odata.type"))

    def _page(self, base: str, items: list[dict], offset: int) -> dict[str, Any]:
        chunk = items[offset:offset + self.page_size]
        page: dict[str, Any] = {"@odata.context": f"{self.url}/$metadata#{base.split('/', 2)[2]}", "value": chunk}
        if offset + self.page_size < len(items):
            token = secrets.token_urlsafe(12)
            with self._lock:
                self._cursors[token] = (base, items, offset + self.page_size)
            page["@odata.nextLink"] = f"{self.origin}{base}?$skiptoken={token}"
        return page

    def fault_for(self, method: str, target: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.match in f"{method} {target}" and (f.times is None or f.hits < f.times):
                    f.hits += 1
                    return f
        return None


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # dropped connections and refused handshakes are what some tests are about


def _select(items: list[dict], query: dict[str, str], keep: tuple[str, ...] = ("@odata.type",)) -> list[dict]:
    fields = query.get("$select")
    if not fields:
        return copy.deepcopy(items)
    wanted = set(fields.split(",")) | set(keep)
    return [{k: v for k, v in item.items() if k in wanted} for item in items]


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message,
                      "innerError": {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "request-id": os.urandom(8).hex()}}}


def _make_handler(standin: GraphStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait 40 ms between

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            token_id, why = standin.check_token(self.headers.get("Authorization"))
            seen = Seen(self.command, self.path, token_id)
            standin.seen.append(seen)
            fault = standin.fault_for(self.command, self.path)
            if why is not None:
                seen.status = 401
                return self._send(401, _error("InvalidAuthenticationToken", why))
            if fault is not None:
                seen.status = {"drop": 0, "503-plain": 503}.get(fault.kind) or int(fault.kind)
                if fault.kind == "429":
                    return self._send(429, _error("TooManyRequests", "Too many requests"), {"Retry-After": "1"})
                if fault.kind == "503":
                    return self._send(503, _error("ServiceUnavailable", "busy"), {"Retry-After": "0"})
                if fault.kind == "503-plain":
                    return self._send(503, _error("UnknownError", "busy"))
                if fault.kind == "401":  # the token stops working: only a new one gets further
                    standin.revoked.add(token_id)
                    return self._send(401, _error("InvalidAuthenticationToken", "Lifetime validation failed"))
                if fault.kind == "403":
                    return self._send(403, _error("Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                                                  "Neither tenant is B2C or tenant doesn't have premium license"))
                if fault.kind == "drop":  # promise a body, send half of it, hang up
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "4096")
                    self.end_headers()
                    self.wfile.write(b'{"value": [{"id": "')
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
            status, headers, body = standin.answer(self.command, self.path, token_id)
            seen.status = status
            return self._send(status, body, headers)

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        do_PATCH = do_PUT = do_DELETE = do_POST

    return Handler
