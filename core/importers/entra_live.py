"""`nhiplan entra`: a read-only pull from Microsoft Graph, signed in with msal.

The pull collects the same Graph objects an `entra-json` export holds into one
`GraphExport` and normalises it with the same code (`entra_common`), so an
export and a live pull of one tenant give the same identity keys and one
origin (``entra:<tenant id>``): a pull after an import, or a second pull,
updates the project instead of duplicating it.

Sign-in (msal, tokens only in msal's in-memory cache, never on disk):

- ``--secret-env VAR``: a client secret from that environment variable, else from
  the OS keyring (service ``nhiplan``, user ``<tenant>/<client id>``), else a
  prompt when stdin is a terminal;
- ``--certificate PEM [--key PEM]``: a certificate credential (private_key_jwt);
  an encrypted key's passphrase comes from the keyring entry or a prompt;
- ``--device-code``: a person signs in on another device (public client).

The scope is ``<origin of --graph-url>/.default``; ``--authority`` is taken as
msal takes it, and a host msal does not know is used without instance
discovery (msal then reads ``<authority>/v2.0/.well-known/openid-configuration``).
``--ca-file`` is the trust anchor for every request, msal's included, whatever
``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` say.

What is read (GET only): /organization, /servicePrincipals and /applications
with their owners, the applications' federatedIdentityCredentials,
/oauth2PermissionGrants, each identity's appRoleAssignments, agent identities'
sponsors (beta) and /reports/servicePrincipalSignInActivities (beta; the beta
address is --graph-url with its version segment replaced by ``beta``).
`@odata.nextLink` is followed verbatim (and only to the Graph host). HTTP 429
waits its ``Retry-After``; 503/504 back off (``Retry-After`` when given); a 401
drops the cached token and signs in again once; all within `MAX_ATTEMPTS`.
A report that needs a licence or a beta permission (403) is a warning and its
fields stay empty. Anything else that stops the pull is `SourceUnavailable`
(exit 2, one line) and nothing is written.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from ..console import print_summary
from ..errors import BadInput, Cancelled, SourceUnavailable
from ..ingest import ImportSummary
from ..records import ImportWarning
from .entra_common import (
    APP_ROLE_ASSIGNMENT,
    APPLICATION,
    DELEGATED_GRANT,
    DIRECTORY_OBJECT,
    MICROSOFT_TENANTS,
    ORGANIZATION,
    SERVICE_PRINCIPAL,
    SIGN_IN_ACTIVITY,
    GraphExport,
    export_records,
)

DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/{tenant}"
KEYRING_SERVICE = "nhiplan"
MAX_ATTEMPTS = 6  # per request: throttling, unavailability, one token refresh, dropped connections
MAX_WAIT = 300.0  # seconds: the longest Retry-After honoured (Graph has been seen asking for 315)
BACKOFF = 1.0  # seconds before the first retry without Retry-After; doubles each time
TIMEOUT = (15, 120)  # connect, read
WORKERS = 4  # concurrent per-identity requests (appRoleAssignments, sponsors)
OWNERS_EXPANDED = 20  # Graph returns at most this many objects in an $expand; more are fetched in full
OWNER_FIELDS = ("id,displayName,userPrincipalName,mail,accountEnabled,onPremisesSecurityIdentifier,"
                "onPremisesImmutableId,appId,servicePrincipalType")


class OptionalDenied(Exception):
    """An optional Graph resource the app may not read (403) or the service does not offer here."""

    def __init__(self, status: int, detail: str):
        super().__init__(f"HTTP {status} {detail}")
        self.status = status


def _short(text: Any, limit: int = 240) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _reason(exc: BaseException) -> str:
    """The innermost readable reason of a requests/urllib3 error, on one line."""
    inner: BaseException | None = exc
    seen = set()
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        if isinstance(inner, OSError) and getattr(inner, "strerror", None):
            return _short(inner.strerror)
        nxt = inner.__cause__ or inner.__context__
        if nxt is None and inner.args and isinstance(inner.args[0], BaseException):
            nxt = inner.args[0]
        if nxt is None:
            break
        inner = nxt
    text = str(inner or exc)
    for marker in ("certificate verify failed: ", "Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return _short(text.strip("()'\" "))


class TrustSession(requests.Session):
    """A session whose own `verify` wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.

    requests lets those variables override a session's `verify` when a request
    does not pass one (msal never does); proxies from the environment still apply.
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[override]
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        settings["verify"] = self.verify
        return settings


def make_session(ca_file: str | None) -> requests.Session:
    if not ca_file:
        return requests.Session()
    if not Path(ca_file).is_file():
        raise BadInput(ca_file, "no such CA file (--ca-file)")
    session = TrustSession()
    session.verify = ca_file
    return session


def graph_base(url: str) -> tuple[str, str, str]:
    """(Graph base, beta base, scope) for a --graph-url such as https://graph.microsoft.com/v1.0."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    if parts.scheme != "https" or not parts.netloc:
        raise BadInput("--graph-url", f"{url!r} is not an https:// URL")
    if not path or path == "/":
        raise BadInput("--graph-url", f"{url!r} has no version segment (e.g. https://graph.microsoft.com/v1.0)")
    base = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    beta = urlunsplit((parts.scheme, parts.netloc, path.rsplit("/", 1)[0] + "/beta", "", ""))
    origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return base, beta, f"{origin}/.default"


# -- tokens ----------------------------------------------------------------------------------

class TokenSource:
    """An access token from msal's in-memory cache, fetched again after a 401."""

    def __init__(self, app: Any, scopes: list[str], source: str, interactive: bool):
        self.app = app
        self.scopes = scopes
        self.source = source
        self.interactive = interactive
        self.lock = threading.Lock()
        self.acquired = 0  # how many times a token came from the identity provider
        self.current: str | None = None

    def token(self) -> str:
        with self.lock:
            if self.interactive:
                accounts = self.app.get_accounts()
                result = self.app.acquire_token_silent(self.scopes, account=accounts[0]) if accounts else None
                if not result:
                    result = self._device_flow()
            else:
                result = self.app.acquire_token_for_client(self.scopes)
            if "access_token" not in result:
                raise SourceUnavailable(self.source, "sign-in refused: " + _msal_error(result))
            if result.get("token_source") == "identity_provider":
                self.acquired += 1
            self.current = result["access_token"]
            return self.current

    def invalidate(self, refused: str) -> None:
        """Forget the cached access token Graph refused (a refresh token, if any, stays to get a new one).

        Requests running side by side may all be refused the same token; only the first drops it,
        the others then use the token that replaced it.
        """
        with self.lock:
            if refused != self.current:
                return
            cache = self.app.token_cache
            for item in list(cache.search(cache.CredentialType.ACCESS_TOKEN)):
                cache.remove_at(item)
            self.current = None

    def _device_flow(self) -> dict[str, Any]:
        flow = self.app.initiate_device_flow(scopes=self.scopes)
        if "user_code" not in flow:
            raise SourceUnavailable(self.source, "device code sign-in refused: " + _msal_error(flow))
        print(flow.get("message") or f"To sign in, open {flow.get('verification_uri')} and enter the code "
              f"{flow['user_code']}", file=sys.stderr, flush=True)
        return self.app.acquire_token_by_device_flow(flow)


def _msal_error(result: dict[str, Any]) -> str:
    desc = str(result.get("error_description") or "").splitlines()
    return _short(f"{result.get('error', 'no token')}: {desc[0] if desc else ''}".rstrip(": "))


def _client_secret(args: Any) -> str:
    if getattr(args, "secret", None):  # given by a front end that asked for it (the GUI's field)
        return args.secret
    var = args.secret_env
    secret = os.environ.get(var) if var else None
    if secret:
        return secret
    secret = _keyring_secret(args.tenant, args.client_id)
    if secret:
        return secret
    if sys.stdin is not None and sys.stdin.isatty():
        secret = getpass.getpass(f"client secret of {args.client_id}: ")
        if secret:
            return secret
    raise BadInput("--secret-env", f"environment variable {var} is not set, the keyring has no secret for "
                                   f"{args.tenant}/{args.client_id} (service {KEYRING_SERVICE}), and there is no "
                                   "terminal to ask")


def _keyring_secret(tenant: str, client_id: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(KEYRING_SERVICE, f"{tenant}/{client_id}")
        except (KeyringError, RuntimeError, OSError):
            return None
    except ImportError:
        return None


def _certificate_credential(args: Any) -> dict[str, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert_path = Path(args.certificate)
    key_path = Path(args.key) if args.key else cert_path
    try:
        cert_pem = cert_path.read_bytes()
        key_pem = key_path.read_bytes()
    except OSError as exc:
        raise BadInput(str(exc.filename or cert_path), f"cannot read: {exc.strerror or exc}") from None
    try:
        x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise BadInput(str(cert_path), "no PEM certificate in this file (--certificate)") from None
    passphrase = None
    try:
        serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:  # encrypted
        passphrase = _keyring_secret(args.tenant, args.client_id)
        if not passphrase and sys.stdin is not None and sys.stdin.isatty():
            passphrase = getpass.getpass(f"passphrase of {key_path}: ")
        if not passphrase:
            raise BadInput(str(key_path), "the private key is encrypted and no passphrase is in the keyring "
                                          f"({KEYRING_SERVICE}, {args.tenant}/{args.client_id})") from None
        try:
            serialization.load_pem_private_key(key_pem, password=passphrase.encode())
        except ValueError:
            raise BadInput(str(key_path), "the passphrase does not open the private key") from None
    except ValueError:
        raise BadInput(str(key_path), "no PEM private key in this file (give it with --key)") from None
    credential: dict[str, Any] = {"private_key": key_pem.decode("ascii"),
                                  "public_certificate": cert_pem.decode("ascii")}
    if passphrase:
        credential["passphrase"] = passphrase
    return credential


def make_token_source(args: Any, session: requests.Session, scope: str, source: str) -> TokenSource:
    import msal

    authority = (args.authority or DEFAULT_AUTHORITY.format(tenant=args.tenant)).rstrip("/")
    parts = urlsplit(authority)
    if parts.scheme != "https" or not parts.netloc:
        raise BadInput("--authority", f"{authority!r} is not an https:// URL")
    known = (parts.hostname or "").lower() in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS
    common = {"authority": authority, "http_client": session, "token_cache": msal.TokenCache(),
              "instance_discovery": None if known else False}
    if args.device_code:
        app = msal.PublicClientApplication(args.client_id, **common)
        return TokenSource(app, [scope], source, interactive=True)
    credential: Any = _certificate_credential(args) if args.certificate else _client_secret(args)
    app = msal.ConfidentialClientApplication(args.client_id, client_credential=credential, **common)
    return TokenSource(app, [scope], source, interactive=False)


# -- Graph -----------------------------------------------------------------------------------

class GraphClient:
    """GET with Graph's retry rules; pages followed through @odata.nextLink, verbatim."""

    def __init__(self, session: requests.Session, tokens: TokenSource, source: str, graph_url: str,
                 sleep: Callable[[float], None] = time.sleep):
        self.session = session
        self.tokens = tokens
        self.source = source
        self.origin = urlsplit(graph_url)[:2]
        self.sleep = sleep
        self.answered = False  # a page arrived: a later failure is a connection lost mid-pull
        self.waits: list[tuple[int, float]] = []  # (status, seconds) of every wait, for the report
        self.requests = 0

    def get(self, url: str, *, optional: bool = False) -> dict[str, Any]:
        refreshed = False
        dropped = 0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            token = self.tokens.token()
            try:
                self.requests += 1
                resp = self.session.get(url, headers={"Authorization": f"Bearer {token}",
                                                      "Accept": "application/json"}, timeout=TIMEOUT)
            except requests.exceptions.SSLError as exc:
                raise SourceUnavailable(self.source, f"TLS certificate of {urlsplit(url).netloc} is not trusted "
                                                     f"({_reason(exc)}); give its CA with --ca-file") from None
            except requests.exceptions.RequestException as exc:
                dropped += 1
                if dropped < 3 and attempt < MAX_ATTEMPTS:  # a blip; a connection that keeps failing is lost
                    self._wait(0, BACKOFF * dropped)
                    continue
                what = "connection lost during the pull" if self.answered else \
                    f"cannot connect to {urlsplit(url).netloc}"
                raise SourceUnavailable(self.source, f"{what}: {_reason(exc)}") from None
            status = resp.status_code
            if status == 200:
                try:
                    data = resp.json()
                except ValueError:
                    raise SourceUnavailable(self.source, f"{_path(url)}: the answer is not JSON") from None
                if not isinstance(data, dict):
                    raise SourceUnavailable(self.source, f"{_path(url)}: the answer is not a JSON object")
                self.answered = True
                return data
            if status in (429, 503, 504):
                asked = _retry_after(resp)
                self._wait(status, asked if asked is not None else BACKOFF * 2 ** (attempt - 1))
                continue
            if status == 401 and not refreshed:
                refreshed = True
                self.tokens.invalidate(token)
                continue
            detail = _graph_error(resp)
            if status == 401:
                raise SourceUnavailable(self.source, f"credentials refused by Graph (HTTP 401 {detail})")
            if optional and status in (400, 403, 404):
                raise OptionalDenied(status, detail)
            if status == 403:
                raise SourceUnavailable(self.source, f"access to {_path(url)} denied (HTTP 403 {detail}); the app "
                                                     "needs Application.Read.All and Directory.Read.All")
            raise SourceUnavailable(self.source, f"{_path(url)}: HTTP {status} {detail}")
        raise SourceUnavailable(self.source, f"{_path(url)}: still throttled or unavailable after {MAX_ATTEMPTS} "
                                             "attempts")

    def pages(self, url: str, *, optional: bool = False) -> Iterator[dict[str, Any]]:
        while url:
            page = self.get(url, optional=optional)
            yield page
            nxt = page.get("@odata.nextLink")
            if nxt is not None and (not isinstance(nxt, str) or urlsplit(nxt)[:2] != self.origin):
                raise SourceUnavailable(self.source, f"{_path(url)}: @odata.nextLink leads away from Graph "
                                                     f"({_short(nxt, 80)}); not followed")
            url = nxt

    def _wait(self, status: int, seconds: float) -> None:
        seconds = min(max(seconds, 0.0), MAX_WAIT)
        self.waits.append((status, seconds))
        self.sleep(seconds)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _graph_error(resp: requests.Response) -> str:
    try:
        err = resp.json().get("error") or {}
        return _short(f"{err.get('code', '')}: {err.get('message', '')}".strip(": ")) or resp.reason
    except (ValueError, AttributeError):
        return _short(resp.reason or "")


# -- the pull --------------------------------------------------------------------------------

def pull(client: GraphClient, graph: str, beta: str, warn: Callable[[str, str], None]) -> GraphExport:
    """Read the tenant into a GraphExport (see the module docstring for what is read)."""
    export = GraphExport()

    def add_pages(url: str, collection: str, hint: str | None = None, **kw: Any) -> list[dict[str, Any]]:
        added = []
        for page in client.pages(url, **kw):
            items = page.get("value")
            if not isinstance(items, list):
                raise SourceUnavailable(client.source, f"{_path(url)}: a page without a value list")
            for item in items:
                oid = item.get("id") if isinstance(item, dict) else None
                export.add(item, f"{graph}/{collection}/{oid}", hint=hint)
                added.append(item)
        return added

    try:
        add_pages(f"{graph}/organization?$select=id,displayName,verifiedDomains", "organization",
                  hint=ORGANIZATION, optional=True)
    except OptionalDenied as exc:
        warn(f"{graph}/organization", f"not readable ({exc}); the tenant id comes from the access token")
    expand_owners = "$expand=" + quote(f"owners($select={OWNER_FIELDS})", safe="($=,)")
    sps = add_pages(f"{graph}/servicePrincipals?$top=999&{expand_owners}", "servicePrincipals",
                    hint=SERVICE_PRINCIPAL)
    apps = add_pages(f"{graph}/applications?$top=999&{expand_owners}", "applications", hint=APPLICATION)
    add_pages(f"{graph}/applications?$top=999&$select=id,appId&$expand=federatedIdentityCredentials",
              "applications", hint=APPLICATION)
    add_pages(f"{graph}/oauth2PermissionGrants", "oauth2PermissionGrants", hint=DELEGATED_GRANT)

    app_ids = {str(a.get("appId") or "").lower() for a in apps}
    jobs: list[tuple[str, str, str | None, str | None, bool]] = []  # url, where, relation, parent, optional
    for collection, items in (("servicePrincipals", sps), ("applications", apps)):
        for item in items:
            oid = item["id"]
            if len(item.get("owners") or ()) >= OWNERS_EXPANDED or item.get("owners@odata.nextLink"):
                jobs.append((f"{graph}/{collection}/{oid}/owners?$select={OWNER_FIELDS}",
                             f"{graph}/{collection}/{oid}/owners", "owners", oid, False))
    for sp in sps:
        oid = sp["id"]
        first_party = (str(sp.get("appOwnerOrganizationId") or "").lower() in MICROSOFT_TENANTS
                       and str(sp.get("appId") or "").lower() not in app_ids
                       and str(sp.get("servicePrincipalType") or "") == "Application"
                       and "agent" not in str(sp.get("@odata.type") or "").lower())
        if not first_party:  # Microsoft's own apps hold no roles worth planning for
            jobs.append((f"{graph}/servicePrincipals/{oid}/appRoleAssignments", "", None, None, False))
        odata_type = str(sp.get("@odata.type") or "").rsplit(".", 1)[-1]
        if odata_type.lower() in ("agentidentity", "agentidentityblueprintprincipal"):
            cast = "Microsoft.Graph.AgentIdentity" if odata_type.lower() == "agentidentity" \
                else "Microsoft.Graph.AgentIdentityBlueprintPrincipal"
            jobs.append((f"{beta}/servicePrincipals/{oid}/{cast}/sponsors", f"{beta}/servicePrincipals/{oid}/sponsors",
                         "sponsors", oid, True))
    for app in apps:
        if str(app.get("@odata.type") or "").lower().endswith("agentidentityblueprint"):
            jobs.append((f"{beta}/applications/{app['id']}/Microsoft.Graph.AgentIdentityBlueprint/sponsors",
                         f"{beta}/applications/{app['id']}/sponsors", "sponsors", app["id"], True))

    def run(job: tuple[str, str, str | None, str | None, bool]) -> tuple[Any, list[dict[str, Any]] | Exception]:
        url, _, _, _, optional = job
        try:
            return job, [item for page in client.pages(url, optional=optional) for item in page.get("value") or ()]
        except OptionalDenied as exc:
            return job, exc

    denied: list[tuple[str, OptionalDenied]] = []
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    try:
        for job, result in pool.map(run, jobs):
            url, where, relation, parent, _ = job
            if isinstance(result, OptionalDenied):
                denied.append((url, result))
                continue
            for i, item in enumerate(result, 1):
                if relation:
                    export.add(item, f"{where}[{i}]", hint=DIRECTORY_OBJECT, relation=relation, parent=parent)
                else:
                    export.add(item, f"{graph}/appRoleAssignments/{item.get('id')}", hint=APP_ROLE_ASSIGNMENT)
    finally:  # a failed pull stops at once instead of finishing the queued requests
        pool.shutdown(wait=True, cancel_futures=True)
    if denied:
        warn(denied[0][0], f"sponsors not readable for {len(denied)} agent object(s) ({denied[0][1]}); "
                           "they are imported without sponsors")
    try:
        add_pages(f"{beta}/reports/servicePrincipalSignInActivities", "reports/servicePrincipalSignInActivities",
                  hint=SIGN_IN_ACTIVITY, optional=True)
    except OptionalDenied as exc:
        warn(f"{beta}/reports/servicePrincipalSignInActivities",
             f"sign-in activity not readable ({exc}; it needs AuditLog.Read.All and an Entra ID P1/P2 licence); "
             "last use stays empty")
    return export


def _token_tenant(token: str) -> str | None:
    """The tid claim of our own access token (read, not verified: it only names the tenant)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    tid = claims.get("tid") if isinstance(claims, dict) else None
    return tid.lower() if isinstance(tid, str) and tid else None


@dataclass
class EntraConnection:
    """What a pull needs: the CLI's flags, or the GUI's fields (then `secret` is given directly)."""

    tenant: str
    client_id: str
    secret: str | None = None
    secret_env: str | None = None
    certificate: str | None = None
    key: str | None = None
    device_code: bool = False
    authority: str | None = None
    graph_url: str | None = None
    ca_file: str | None = None


def _signed_in(conn: Any, call: Callable[[GraphClient, str, str, TokenSource], Any]) -> Any:
    """Run `call` with a Graph client signed in for `conn`; sign-in failures are SourceUnavailable."""
    graph, beta, scope = graph_base(conn.graph_url or DEFAULT_GRAPH_URL)
    source = f"{graph} (tenant {conn.tenant})"
    session = make_session(conn.ca_file)
    try:
        tokens = make_token_source(conn, session, scope, source)
        client = GraphClient(session, tokens, source, graph)
        return call(client, graph, beta, tokens)
    except requests.exceptions.SSLError as exc:  # msal's own requests (authority discovery, token)
        raise SourceUnavailable(source, f"TLS certificate of the sign-in authority is not trusted "
                                        f"({_reason(exc)}); give its CA with --ca-file") from None
    except requests.exceptions.RequestException as exc:
        raise SourceUnavailable(source, f"cannot reach the sign-in authority: {_reason(exc)}") from None
    except ValueError as exc:  # msal: authority discovery failed, or a credential it cannot use
        raise SourceUnavailable(source, f"sign-in failed: {_short(str(exc).splitlines()[0])}") from None


def pull_into(store: Any, conn: Any, *, progress: Callable[[int, int | None, str], None] | None = None,
              is_cancelled: Callable[[], bool] | None = None) -> tuple[ImportSummary, int]:
    """Pull the tenant and import it in one transaction; returns the summary and the request count."""
    from .. import services

    warnings: list[ImportWarning] = []

    def warn(where: str, message: str) -> None:
        warnings.append(ImportWarning(where, message))

    def fetch(client: GraphClient, graph: str, beta: str, tokens: TokenSource) -> tuple[Any, str, int, str]:
        if progress:
            progress(0, None, f"reading {graph}")
        export = pull(client, graph, beta, warn)
        tenant = next((o.data["id"].lower() for o in export.organizations if o.data.get("id")), None)
        return export, tenant or _token_tenant(tokens.token()) or conn.tenant.lower(), client.requests, graph

    export, tenant, requests_made, graph = _signed_in(conn, fetch)
    if is_cancelled is not None and is_cancelled():
        raise Cancelled("Entra pull")
    records = export_records(export, tenant, warn)
    if progress:
        progress(requests_made, requests_made, f"importing {len(records)} records")
    summary = services.import_records(store, [records], source_kind="entra", family="entra",
                                      source=f"{graph} (tenant {conn.tenant})", authority=tenant,
                                      warnings=warnings)
    return summary, requests_made


def check(conn: Any) -> str:
    """Sign in and read the organisation: a sentence on what the pull would reach."""

    def probe(client: GraphClient, graph: str, _beta: str, _tokens: TokenSource) -> str:
        org = client.get(f"{graph}/organization?$select=id,displayName")
        names = [f"{o.get('displayName') or '?'} ({o.get('id')})" for o in org.get("value", [])]
        return f"signed in to {graph}: tenant " + (", ".join(names) if names else conn.tenant)

    return _signed_in(conn, probe)


def cli(args: Any) -> int:
    """`nhiplan entra PROJECT --tenant ID --client-id ID (...)`: pull, normalise, import in one transaction."""
    from .. import services

    store = services.open_project(args.project)
    try:
        summary, requests_made = pull_into(store, args)
    finally:
        store.close()
    graph = graph_base(args.graph_url or DEFAULT_GRAPH_URL)[0]
    print_summary(summary, f"pulled entra ({summary.origin}) from {graph}", f"; {requests_made} requests")
    return 0
