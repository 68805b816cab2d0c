"""Live pull from a SCIM 2.0 service: discovery, paging, retries, then the shared normaliser.

``nhiplan scim PROJECT --url BASE [--token-env VAR] [--ca-file PEM]`` calls ``cli``;
a front end calls ``pull_into`` (or ``pull`` for the records alone).

What a pull does, read-only (only GET requests):

1. ``GET /ServiceProviderConfig``: the pagination it offers (RFC 9865 cursors when
   announced, else ``startIndex``/``count``), its page-size limits, and the draft
   ``agentExtension``. A service without it is paged by index.
2. ``GET /ResourceTypes``: which of Users, Groups, Agents and AgenticApplications it
   serves (by schema URN). Without it: Users and Groups, plus the agent endpoints
   when ``agentExtension`` announces them.
3. Every page of every endpoint; each resource goes to ``ScimNormaliser``
   (``core.importers.scim_common``), whose errors name the page URL and index.
   ``/Users`` must answer; any other endpoint that refuses (400, 403, 404, 405,
   501) is a warning and the pull goes on without it.
4. Only when everything was read: one import run (``core.services.import_records``),
   so a pull that fails half-way writes nothing. The origin is ``scim:<authority>``
   with the authority named after the base URL, so a second pull (or an export of
   the same service) updates the project instead of duplicating it.

Transport: HTTP 429 waits for ``Retry-After`` (seconds or a date), 503 waits for it
or backs off exponentially, both within ``MAX_RETRIES`` tries and ``MAX_RETRY_WAIT``
seconds a wait; a 401 re-reads the token once (it may have been rotated) and then
fails. TLS certificates are verified; ``--ca-file`` adds a trust anchor to the
system's, whatever ``REQUESTS_CA_BUNDLE`` says. Any failure to read is
``SourceUnavailable`` (exit 2, one line naming the service and the reason).

The bearer token comes from the environment variable ``--token-env`` names, else
the OS keyring (service ``nhiplan``, user name = the base URL), else a prompt when
standard input is a terminal, else none (a service open to all). It is sent only in
the ``Authorization`` header: never printed, logged, or written to the project.
"""

from __future__ import annotations

import getpass
import os
import ssl
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..console import print_summary, progress_printer
from ..errors import BadInput, SourceUnavailable
from ..gc_pause import paused_gc
from ..records import Record
from .base import ImportContext
from .scim_common import (
    ENDPOINTS,
    TYPE_OF_SCHEMA,
    ScimNormaliser,
    _get,
    authority_from_url,
    is_list_response,
    read_list_response,
)

KEYRING_SERVICE = "nhiplan"
DEFAULT_PAGE_SIZE = 200
MAX_RETRIES = 5  # tries after the first, per request, for 429 and 503
MAX_RETRY_WAIT = 120.0  # seconds: a service asking for a longer wait fails the pull instead
BACKOFF = 0.5  # seconds, doubled per try, for a 503 without Retry-After
TIMEOUT = (10.0, 120.0)  # connect, read
ENDPOINTS_LABEL = {"User": "users", "Group": "groups", "Agent": "agents",
                   "AgenticApplication": "agentic applications"}
# Endpoints whose absence is not an error (only /Users is required).
OPTIONAL_STATUS = (400, 403, 404, 405, 501)

TokenProvider = Callable[[], str | None]


def normalise_base_url(url: str) -> str:
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BadInput("--url", f"{url!r} is not an http(s) URL of a SCIM service")
    if parts.query or parts.fragment:
        raise BadInput("--url", "give the SCIM base URL without query or fragment")
    return text.rstrip("/")


def read_token(url: str, token_env: str | None = None, *, prompt: bool | None = None) -> str | None:
    """The bearer token: from `token_env`, else the keyring, else a prompt on a terminal, else None."""
    if token_env:
        value = os.environ.get(token_env, "").strip()
        if not value:
            raise BadInput("--token-env", f"environment variable {token_env} is not set or empty")
        return value
    try:
        import keyring

        value = keyring.get_password(KEYRING_SERVICE, url)
    except Exception:  # no keyring backend on this machine, or a locked one: try the next source
        value = None
    if value:
        return value.strip()
    if prompt is None:
        prompt = sys.stdin is not None and sys.stdin.isatty()
    if prompt:
        entered = getpass.getpass(f"Bearer token for {url} (empty for none): ").strip()
        return entered or None
    return None


def _ssl_context(ca_file: str) -> ssl.SSLContext:
    """The system's trust anchors plus `ca_file`."""
    if not os.path.isfile(ca_file):
        raise BadInput("--ca-file", f"{ca_file}: no such file")
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=ca_file)
    except (ssl.SSLError, ValueError) as exc:
        raise BadInput("--ca-file", f"{ca_file}: not a PEM certificate file ({exc})") from None
    return context


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _short(exc: BaseException) -> str:
    """The innermost useful words of a transport error (urllib3 nests them deeply)."""
    text = str(exc)
    for marker in ("certificate verify failed", "Connection refused", "Connection reset", "timed out",
                   "Name or service not known", "Remote end closed connection", "IncompleteRead",
                   "Connection aborted", "Max retries exceeded"):
        if marker in text:
            at = text.find(marker)
            end = text.find(")", at)
            return text[at:end if end > at else at + 120].strip(" :'\"(")
    return text[:200]


class ScimClient:
    """GETs JSON from one SCIM service, with retries, TLS trust and cancellation."""

    def __init__(self, base_url: str, *, token: str | None = None,
                 token_provider: TokenProvider | None = None, ca_file: str | None = None,
                 timeout: tuple[float, float] = TIMEOUT,
                 max_retries: int = MAX_RETRIES, max_wait: float = MAX_RETRY_WAIT, backoff: float = BACKOFF,
                 sleep: Callable[[float], None] = time.sleep, is_cancelled: Callable[[], bool] | None = None):
        import requests
        from requests.adapters import HTTPAdapter

        self.base = normalise_base_url(base_url)
        self._token = token
        self._token_provider = token_provider
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.backoff = backoff
        self._sleep = sleep
        self._is_cancelled = is_cancelled
        self.requests = 0
        self.waited = 0.0
        self.refused: dict[str, int] = {}  # optional endpoint -> the HTTP status it answered with
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/scim+json, application/json",
                                     "User-Agent": "nhiplan-scim"})
        if ca_file:
            context = _ssl_context(ca_file)

            class TrustAdapter(HTTPAdapter):
                # urllib3 loads any bundle requests passes (REQUESTS_CA_BUNDLE too) *into* this
                # context, so the added anchor is honoured whatever the environment says.
                def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
                    kwargs["ssl_context"] = context
                    super().init_poolmanager(*args, **kwargs)

                def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
                    kwargs["ssl_context"] = context
                    return super().proxy_manager_for(proxy, **kwargs)

            self.session.mount("https://", TrustAdapter())

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ScimClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        url = path if "://" in path else f"{self.base}{path}"
        return f"{url}?{urlencode(params)}" if params else url

    def _check_cancelled(self) -> None:
        if self._is_cancelled is not None and self._is_cancelled():
            from ..errors import Cancelled

            raise Cancelled("SCIM pull")

    def get_json(self, path: str, params: dict[str, Any] | None = None, *, optional: bool = False) -> Any:
        """The JSON body of GET `path`; None for an optional endpoint the service does not serve."""
        import requests

        url = self.url(path, params)
        tries = 0
        refreshed = False
        while True:
            self._check_cancelled()
            headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
            self.requests += 1
            try:
                resp = self.session.get(url, headers=headers, timeout=self.timeout, verify=True)
            except requests.exceptions.SSLError as exc:
                raise SourceUnavailable(self.base, f"TLS failed, certificate not trusted? ({_short(exc)}); "
                                                   f"--ca-file adds a trust anchor") from None
            except requests.exceptions.Timeout:
                raise SourceUnavailable(self.base, f"no answer from {url} in time") from None
            except requests.exceptions.ConnectionError as exc:
                raise SourceUnavailable(self.base, f"cannot read {url}: {_short(exc)}") from None
            except requests.exceptions.RequestException as exc:  # ChunkedEncodingError: the body was cut
                raise SourceUnavailable(self.base,
                                        f"connection lost while reading {url}: {_short(exc)}") from None
            status = resp.status_code
            if status == 200:
                try:
                    return resp.json()
                except ValueError:
                    raise SourceUnavailable(self.base, f"{url} did not answer with JSON") from None
            if status in (429, 503) and tries < self.max_retries:
                wait = _retry_after(resp.headers.get("Retry-After"))
                if wait is None:
                    wait = self.backoff * (2 ** tries) if status == 503 else 1.0
                if wait > self.max_wait:
                    raise SourceUnavailable(self.base, f"HTTP {status} from {url}: the service asks to wait "
                                                       f"{wait:.0f} s, longer than {self.max_wait:.0f} s")
                tries += 1
                self.waited += wait
                self._sleep(wait)
                continue
            if status == 401:
                if not refreshed and self._token_provider is not None:
                    refreshed = True
                    fresh = self._token_provider()
                    if fresh and fresh != self._token:
                        self._token = fresh
                        continue
                hint = "" if self._token else "; give a token with --token-env VAR or in the keyring"
                raise SourceUnavailable(self.base, f"credentials refused (HTTP 401) at {path}{hint}")
            if optional and status in OPTIONAL_STATUS:
                self.refused[path] = status
                return None
            detail = _error_detail(resp)
            if status in (429, 503):
                raise SourceUnavailable(self.base, f"HTTP {status} from {url} after {tries} retries{detail}")
            if status == 403:
                raise SourceUnavailable(self.base, f"access refused (HTTP 403) to {path}{detail}")
            raise SourceUnavailable(self.base, f"HTTP {status} from {url}{detail}")


def _error_detail(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        detail = _get(body, "detail") or _get(body, "scimType")
        if isinstance(detail, str) and detail:
            return f": {detail[:200]}"
    return ""


@dataclass
class ServiceInfo:
    """What discovery found: how to page, how many per page, which endpoints."""

    cursor: bool = False
    page_size: int = DEFAULT_PAGE_SIZE
    endpoints: list[tuple[str, str]] = field(default_factory=list)  # (resource type, endpoint path)
    required: set[str] = field(default_factory=set)  # endpoints whose absence fails the pull


def discover(client: ScimClient, ctx: ImportContext, page_size: int | None = None) -> ServiceInfo:
    from pydantic import ValidationError
    from scim2_models import ServiceProviderConfig

    from .scim_common import READ_POLICY

    info = ServiceInfo()
    spc_raw = client.get_json("/ServiceProviderConfig", optional=True)
    agents_announced = False
    limits: list[int] = []
    if isinstance(spc_raw, dict):
        try:
            spc = ServiceProviderConfig.model_validate(spc_raw, scim_policy=READ_POLICY)
        except ValidationError as exc:
            ctx.warn(client.url("/ServiceProviderConfig"),
                     f"unreadable ServiceProviderConfig ignored ({exc.errors()[0]['msg']})")
            spc = None
        if spc is not None:
            if spc.pagination is not None:
                info.cursor = bool(spc.pagination.cursor)
                if spc.pagination.max_page_size:
                    limits.append(spc.pagination.max_page_size)
            if spc.filter is not None and spc.filter.max_results:
                limits.append(spc.filter.max_results)
        ext = _get(spc_raw, "agentExtension")
        if isinstance(ext, dict):
            agents_announced = bool(_get(ext, "agentsSupported") or _get(ext, "supported"))
    else:
        ctx.warn(client.url("/ServiceProviderConfig"), "no ServiceProviderConfig; paging by startIndex")
    info.page_size = max(1, min([page_size or DEFAULT_PAGE_SIZE, *limits]))

    rt_raw = client.get_json("/ResourceTypes", optional=True)
    items: list[Any] = []
    if is_list_response(rt_raw):
        _page, items = read_list_response(rt_raw, client.url("/ResourceTypes"))
    elif isinstance(rt_raw, list):
        items = rt_raw
    for item in items:
        if not isinstance(item, dict):
            continue
        schema, endpoint = _get(item, "schema"), _get(item, "endpoint")
        rtype = TYPE_OF_SCHEMA.get(schema.lower()) if isinstance(schema, str) else None
        if rtype and isinstance(endpoint, str) and endpoint:
            path = endpoint if endpoint.startswith("/") or "://" in endpoint else f"/{endpoint}"
            if (rtype, path) not in info.endpoints:
                info.endpoints.append((rtype, path))
    if not info.endpoints:
        info.endpoints = [("User", ENDPOINTS["User"]), ("Group", ENDPOINTS["Group"])]
        if agents_announced:
            info.endpoints += [("Agent", ENDPOINTS["Agent"]),
                               ("AgenticApplication", ENDPOINTS["AgenticApplication"])]
    order = {"User": 0, "Agent": 1, "AgenticApplication": 2, "Group": 3}
    info.endpoints.sort(key=lambda e: order[e[0]])
    info.required = {path for rtype, path in info.endpoints if rtype == "User"}
    if not info.required:
        info.required = {info.endpoints[0][1]}
    return info


def _pages(client: ScimClient, path: str, info: ServiceInfo, optional: bool
           ) -> Iterator[tuple[str, Any, list[Any]]]:
    """(page URL, envelope, resources) for every page of one endpoint."""
    count = info.page_size
    if info.cursor:
        cursor = ""
        for _ in range(1_000_000):
            params = {"cursor": cursor, "count": count}
            body = client.get_json(path, params, optional=optional)
            if body is None:
                return
            where = client.url(path, params)
            envelope, resources = _page_of(client, body, where)
            yield where, envelope, resources
            if not envelope.next_cursor or not resources:
                return
            cursor = envelope.next_cursor
        return
    start = 1
    for _ in range(1_000_000):
        params = {"startIndex": start, "count": count}
        body = client.get_json(path, params, optional=optional)
        if body is None:
            return
        where = client.url(path, params)
        envelope, resources = _page_of(client, body, where)
        yield where, envelope, resources
        if not resources:
            return
        start += len(resources)
        if envelope.total_results is not None and start > envelope.total_results:
            return


def _page_of(client: ScimClient, body: Any, where: str) -> tuple[Any, list[Any]]:
    if not is_list_response(body):
        raise SourceUnavailable(client.base, f"{where} did not answer with a SCIM ListResponse")
    return read_list_response(body, where)


@dataclass
class PullResult:
    authority: str
    records: list[Record]
    counts: dict[str, int]  # resources read per resource type
    requests: int
    waited: float  # seconds spent honouring Retry-After and backing off


def pull(url: str, *, token: str | None = None, token_provider: TokenProvider | None = None,
         ca_file: str | None = None, ctx: ImportContext | None = None, page_size: int | None = None,
         client_options: dict[str, Any] | None = None) -> PullResult:
    """Read everything the service offers and return its records; write nothing."""
    ctx = ctx or ImportContext()
    base = normalise_base_url(url)
    authority = authority_from_url(base)
    norm = ScimNormaliser(warn=ctx.warn)
    counts: dict[str, int] = {}
    with ScimClient(base, token=token, token_provider=token_provider, ca_file=ca_file,
                    is_cancelled=ctx.is_cancelled, **(client_options or {})) as client, paused_gc():
        info = discover(client, ctx, page_size)
        done = 0
        for rtype, path in info.endpoints:
            optional = path not in info.required
            total: int | None = None
            read_here = 0
            counts.setdefault(rtype, 0)
            for where, envelope, resources in _pages(client, path, info, optional):
                if envelope.total_results is not None:
                    total = envelope.total_results
                new = 0
                repeats = norm.duplicates
                for i, item in enumerate(resources):
                    if norm.add(item, f"{where}: Resources[{i}]", hint=rtype) is not None:
                        new += 1
                read_here += len(resources)
                done += len(resources)
                counts[rtype] = counts.get(rtype, 0) + new
                ctx.report(done, None, f"{path}: {read_here}" + (f" of {total}" if total is not None else ""))
                if resources and norm.duplicates - repeats == len(resources):
                    ctx.warn(where, "the page repeats resources already read (the service ignores "
                                    "startIndex?); stopped reading this endpoint")
                    break
                ctx.check_cancelled("SCIM pull")
            if path in client.refused:
                ctx.warn(client.url(path), f"not read: HTTP {client.refused[path]} (the pull goes on without "
                                           f"{ENDPOINTS_LABEL.get(rtype, rtype)})")
        service = {"scim_base": base, "pagination": "cursor" if info.cursor else "index",
                   "endpoints": [p for _t, p in info.endpoints]}
        records = norm.records(authority, source=base, service=service)
        return PullResult(authority, records, counts, client.requests, client.waited)


def pull_into(store: Any, url: str, *, token: str | None = None, token_provider: TokenProvider | None = None,
              ca_file: str | None = None, ctx: ImportContext | None = None, page_size: int | None = None,
              client_options: dict[str, Any] | None = None) -> Any:
    """Pull and import in one transaction; returns the ImportSummary. Nothing is written on failure."""
    from ..services import import_records

    ctx = ctx or ImportContext()
    result = pull(url, token=token, token_provider=token_provider, ca_file=ca_file, ctx=ctx,
                  page_size=page_size, client_options=client_options)
    ctx.check_cancelled("SCIM pull")
    return import_records(store, [result.records], source_kind="scim", family="scim",
                          source=normalise_base_url(url), authority=result.authority, warnings=ctx.warnings)


def cli(args: Any) -> int:
    """`nhiplan scim PROJECT --url BASE [--token-env VAR] [--ca-file PEM]`."""
    from ..services import open_project

    base = normalise_base_url(args.url)
    token = read_token(base, args.token_env)
    host = (urlsplit(base).hostname or "").lower()
    if token and base.lower().startswith("http://") and host not in ("localhost", "127.0.0.1", "::1"):
        print(f"warning: {base}: the token is sent over plain http", file=sys.stderr)
    store = open_project(args.project)  # a bad project path fails before any request
    interactive = sys.stderr.isatty()
    ctx = ImportContext(progress=progress_printer(interactive))
    try:
        summary = pull_into(store, base, token=token, token_provider=lambda: read_token(base, args.token_env),
                            ca_file=args.ca_file, ctx=ctx)
    finally:
        store.close()
        if interactive:
            print(file=sys.stderr)
    print_summary(summary, f"pulled scim ({summary.origin}) from {base}")
    return 0


__all__ = ["PullResult", "ScimClient", "ServiceInfo", "cli", "discover",
           "normalise_base_url", "pull", "pull_into", "read_token"]
