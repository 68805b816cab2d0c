"""The shared SCIM normaliser: SCIM 2.0 resources in, records out.

Both SCIM sources — export files (``scim_json``) and a live pull (``scim_live``)
— hand each resource they read to ``ScimNormaliser.add`` (and each write
operation of a request log or BulkRequest to ``ScimNormaliser.apply``) with a
*where* (the file and resource index, or the page URL and index) and, after the
last one, take the records from ``ScimNormaliser.records``. Keeping this in one place
means a SCIM attribute means the same whichever way it arrived.

Parsing. Resources are validated with scim2-models (``User`` with the
enterprise extension, ``Group``, and models of the draft ``Agent`` and
``AgenticApplication`` resources defined here), under a policy that sets
unknown attributes aside instead of refusing them: vendor extensions and
attributes no model declares are kept verbatim in the raw payload. Attribute
names and schema URNs are matched case-insensitively, and the deviations real
services send are accepted (Entra's ``"active": "False"`` strings, a missing
``schemas`` array, the enterprise block without its URN in ``schemas``, e-mail
addresses under private domains such as ``corp.local``). What nhiplan builds on
must be well formed, or the import stops with ``BadInput`` naming the resource:
``id``, ``userName`` / ``name`` / ``displayName``, ``active``, ``meta``,
``emails``, ``groups``, ``members``, ``x509Certificates``, the enterprise
extension and the Agent links (``owners``, ``parent``, ``subject``, ``agents``,
``lastAccessed``). A malformed presentation attribute (a ``photos`` value that
is no URI, a ``name`` that is a string) is dropped with a warning.

Secrets. Any attribute whose name is a secret (``password`` and the others of
``core.secrets``), at any depth, is removed before anything else looks at the
resource; passwords written into free-text attributes (``description``,
``displayName``, ``notes``...) are redacted. Each gives a ``secret-in-data``
finding (OWASP NHI2, high) naming the resource and the attribute, never the
value; a ``password`` also gives the account a ``password`` credential record.

Authority, keys and refs. The authority of a SCIM identity is the service it
lives in, named by its base URL without scheme: host (with a non-default port)
and path, lower-case, e.g. ``scim.example.com/v2``. A live pull takes it from
``--url``; an export takes it from ``--authority`` when given, else from the
resources' ``meta.location`` (``https://scim.example.com/v2/Users/…`` gives the
same name as a pull of ``https://scim.example.com/v2``, so a file import and a
later pull update each other), else from the file name. Keys:
``scim:<authority>/<userName>`` for users, ``scim:<authority>/agents/<name>``
and ``scim:<authority>/agentic-applications/<name>`` for the draft resources
(lower-case). Every resource's ref is ``ext:scim:<authority>:<id>``; identities
list it in ``external_ids`` (so a renamed account keeps its key) together with
``ext:scim:<authority>:externalId:<externalId>`` — scoped to the service,
because two applications provisioned from one directory share externalIds and
their accounts must stay two identities.

Kinds (CONTRACT: SCIM accounts are identities an application holds; when
unsure they stay ``scim_account``). In order:

1. ``agent`` — an Agent or AgenticApplication resource; or a User with an agent
   marker: ``userType`` naming an agent ("Agent", "AI agent"), or a true
   vendor flag such as ``isAgent`` (agents disguised as Users, as the draft
   allows).
2. ``scim_account`` — a User with a service marker: ``userType`` naming a
   service, system, bot, application, integration, API, machine or technical
   account; a true vendor flag such as ``isServiceAccount``, ``nonHuman``,
   ``bot``; or a service-style userName (``svc-…``, ``noreply@…``, ``…-bot``).
3. ``person`` — a User with human evidence and no marker above: ``userType``
   Employee, Contractor, Intern, Consultant, Guest (and the like), an
   enterprise ``employeeNumber``, or an enterprise ``manager`` together with a
   given and a family name.
4. ``scim_account`` — everything else.

The reason is kept in ``classification``.

Graph. The service is a node of kind ``application`` (``key:application:
<authority>``); every account and agent has a ``ProvisionedIn`` edge to it.
Groups are ``group`` nodes; membership is the union of ``User.groups`` (direct
entries) and ``Group.members`` (a group a user names but the export lacks
becomes a group node known by reference). Enterprise ``manager`` and Agent
``owners`` / ``parent`` are ``ManagedBy`` edges, an AgenticApplication's
``owned`` agents ``Owns`` edges. Correlation with directory identities is one
optional ``ProvisionedAs`` edge (directory identity → account) per handle:
``externalId`` shaped like an objectGUID (``guid:``) or objectSid (``sid:``),
``userName`` and ``externalId`` shaped like a UPN (``upn:``), and the primary
e-mail (``email:``). Ingest drops an optional edge whose directory end is not
in the project, so nothing is invented; import the directory first (or pull the
SCIM source again after it) to see the links.

Credentials: ``x509Certificates`` are ``certificate`` credentials (SHA-1
thumbprint, validity, subject; never the certificate itself); an Agent's
``subject`` is a ``federated`` credential.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, ValidationError
from scim2_models import URN as _URN
from scim2_models import (
    ComplexAttribute,
    Email,
    EnterpriseUser,
    Entitlement,
    Group,
    GroupMembership,
    ListResponse,
    Mutability,
    Required,
    Resource,
    Role,
    ScimPolicy,
    User,
    X509Certificate,
)

from ..errors import BadInput
from ..records import CredentialRecord, EdgeRecord, FindingRecord, IdentityRecord, NodeRecord, Record
from ..secrets import is_secret_attribute, redact_text

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
AGENT_URN = "urn:ietf:params:scim:schemas:core:2.0:Agent"
AGENTIC_APPLICATION_URN = "urn:ietf:params:scim:schemas:core:2.0:AgenticApplication"
LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM1_CORE_URN = "urn:scim:schemas:core:1.0"

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

# Message and discovery schemas: a file or page holding one of these is not a resource.
_NOT_RESOURCES = {
    LIST_RESPONSE_URN.lower(): "a ListResponse",
    ERROR_URN.lower(): "a SCIM error response",
    PATCH_URN.lower(): "a PATCH request without the resource it changes (give it as {method, path, data} "
                       "or inside a BulkRequest)",
    "urn:ietf:params:scim:api:messages:2.0:bulkresponse": "a bulk response",
    "urn:ietf:params:scim:api:messages:2.0:searchrequest": "a search request",
    "urn:ietf:params:scim:schemas:core:2.0:serviceproviderconfig": "a ServiceProviderConfig",
    "urn:ietf:params:scim:schemas:core:2.0:resourcetype": "a ResourceType",
    "urn:ietf:params:scim:schemas:core:2.0:schema": "a Schema definition",
}


# -- models of the draft agent resources (draft-abbey-scim-agent-extension-00) -------------------

class AgentReference(ComplexAttribute):
    """A link from or to an agent: owners, parent, applications, an application's agents."""

    value: str | None = None
    ref: str | None = Field(None, serialization_alias="$ref", validation_alias="$ref")
    display: str | None = None
    type: str | None = None


class AgentProtocol(ComplexAttribute):
    type: str | None = None  # canonical A2A, OpenAPI, MCP-Server
    specification_url: str | None = None


class Agent(Resource[Any]):
    """The draft SCIM Agent resource (endpoint /Agents)."""

    __schema__ = _URN(AGENT_URN)

    name: Annotated[str | None, Required.true] = None
    display_name: str | None = None
    active: bool | None = None
    description: str | None = None
    agent_type: str | None = None
    entitlements: list[Entitlement] | None = None
    roles: list[Role] | None = None
    groups: Annotated[list[GroupMembership] | None, Mutability.read_only] = None
    applications: list[AgentReference] | None = None
    subject: str | None = None
    x509_certificates: list[X509Certificate] | None = None
    protocols: list[AgentProtocol] | None = None
    parent: AgentReference | None = None
    owners: list[AgentReference] | None = None


class ApplicationUrl(ComplexAttribute):
    type: str | None = None  # ssoEndpoint, loginPage, api, homepage
    primary: bool | None = None
    value: str | None = None
    description: str | None = None


class OAuthConfiguration(ComplexAttribute):
    client_id: str | None = None
    description: str | None = None
    audience_uri: str | None = None
    issuer_uri: str | None = None
    redirect_uri: list[str] | None = None


class ExternalIdentifier(ComplexAttribute):
    type: str | None = None
    value: str | None = None
    system: str | None = None


class AgenticApplication(Resource[Any]):
    """The draft SCIM AgenticApplication resource (endpoint /AgenticApplications)."""

    __schema__ = _URN(AGENTIC_APPLICATION_URN)

    name: Annotated[str | None, Required.true] = None
    display_name: str | None = None
    description: str | None = None
    active: bool | None = None
    application_urls: list[ApplicationUrl] | None = None
    last_accessed: datetime | None = None
    o_auth_configuration: list[OAuthConfiguration] | None = None
    agents: list[AgentReference] | None = None
    external_identifiers: list[ExternalIdentifier] | None = None


class LenientEmail(Email):
    """An e-mail whose value is any string: real directories use corp.local and other private domains,
    which pydantic's EmailStr refuses; nhiplan only needs the address to compare it."""

    value: str | None = None


class ScimUser(User[EnterpriseUser]):
    """RFC 7643 User with the enterprise extension, reading e-mail addresses leniently."""

    emails: list[LenientEmail] | None = None
    Emails: ClassVar[type[ComplexAttribute]] = LenientEmail


MODELS: dict[str, type[Resource[Any]]] = {
    "User": ScimUser,
    "Group": Group,
    "Agent": Agent,
    "AgenticApplication": AgenticApplication,
}
TYPE_OF_SCHEMA = {USER_URN.lower(): "User", GROUP_URN.lower(): "Group", AGENT_URN.lower(): "Agent",
                  AGENTIC_APPLICATION_URN.lower(): "AgenticApplication"}
BASE_SCHEMA = {v: k for k, v in {USER_URN: "User", GROUP_URN: "Group", AGENT_URN: "Agent",
                                 AGENTIC_APPLICATION_URN: "AgenticApplication"}.items()}
# The resource endpoints a live pull reads, by resource type.
ENDPOINTS = {"User": "/Users", "Group": "/Groups", "Agent": "/Agents",
             "AgenticApplication": "/AgenticApplications"}

# Attributes (lower-case SCIM names) nhiplan builds on: malformed values stop the import.
_STRICT_COMMON = {"schemas", "id", "externalid", "meta", "active", "groups", "x509certificates"}
STRICT: dict[str, frozenset[str]] = {
    "User": frozenset(_STRICT_COMMON | {"username", "emails", ENTERPRISE_URN.lower()}),
    "Group": frozenset(_STRICT_COMMON | {"displayname", "members"}),
    "Agent": frozenset(_STRICT_COMMON | {"name", "owners", "parent", "subject"}),
    "AgenticApplication": frozenset(_STRICT_COMMON | {"name", "agents", "lastaccessed"}),
}

# Unknown attributes are set aside (and kept in the raw payload), not refused.
READ_POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)
# PATCH as Microsoft Entra sends it: a remove whose value names the members, a filter that adds.
PATCH_POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore,
                          remove_value_as_filter=ScimPolicy.RemoveValue.apply,
                          unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create)
_TYPE_OF_ENDPOINT = {"users": "User", "groups": "Group", "agents": "Agent",
                     "agenticapplications": "AgenticApplication"}
_OPERATION_PATH = re.compile(r"/(users|groups|agents|agenticapplications)(?:/([^/?#]+))?/?(?:[?#].*)?$",
                             re.IGNORECASE)
_LIST_RESPONSE = ListResponse[ScimUser | Group | Agent | AgenticApplication]

# Attribute names whose string values are free text, where people write passwords.
FREE_TEXT = frozenset({"description", "displayname", "nickname", "title", "notes", "note", "comment",
                       "comments", "remarks", "info", "purpose"})

GUID_RE = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
SID_RE = re.compile(r"^S-1-\d+(-\d+)+$", re.IGNORECASE)
UPN_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# -- kind rules --------------------------------------------------------------------------------
AGENT_TYPE_RE = re.compile(r"\bagent(ic)?\b|\bai[-_ ]?agent", re.IGNORECASE)
SERVICE_TYPE_RE = re.compile(
    r"\b(service|system|bot|robot|machine|application|app|integration|api|technical|non[-_ ]?human|daemon|"
    r"workload|automation|functional|shared)\b", re.IGNORECASE)
HUMAN_TYPES = frozenset({"employee", "contractor", "intern", "consultant", "temporary", "temp", "person",
                         "human", "staff", "guest", "external", "partner", "vendor", "student", "faculty",
                         "worker", "customer", "freelancer"})
SERVICE_NAME_RE = re.compile(
    r"^(svc|srv|service|bot|api|sys|system|robot|noreply|no-reply|daemon|integration|automation)[-_.@]"
    r"|^(sa|app|job|batch|sync)[-_]"
    r"|[-_.](svc|bot|api|service|sync|integration|automation)(@|$|[-_.])", re.IGNORECASE)
SERVICE_FLAGS = frozenset({"serviceaccount", "service", "nonhuman", "machine", "machineaccount", "bot",
                           "technicaluser", "technicalaccount", "systemaccount", "system", "application",
                           "applicationaccount", "workload", "automation", "functionalaccount",
                           "sharedaccount", "daemon", "robot", "serviceprincipal"})
AGENT_FLAGS = frozenset({"agent", "aiagent", "agentic", "agentaccount", "agentidentity"})
TYPE_KEYS = frozenset({"accounttype", "identitytype", "principaltype", "objecttype", "kind", "category"})
LAST_USED_KEYS = frozenset({"lastaccessed", "lastlogin", "lastlogintime", "lastlogindate", "lastsignin",
                            "lastsignindatetime", "lastactivity"})


def authority_from_url(url: str) -> str:
    """The name of a SCIM service: host (with a non-default port) and path of its base URL, lower-case."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if not host:
        raise BadInput(url, "not an absolute http(s) URL")
    port = parts.port
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    netloc = f"[{host}]" if ":" in host else host
    if port and port != default:
        netloc += f":{port}"
    return netloc + parts.path.rstrip("/").lower()


def authority_from_location(location: str) -> str | None:
    """The service a resource's ``meta.location`` (``…/v2/Users/<id>``) lives in, or None."""
    parts = urlsplit(location)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    segments = parts.path.rstrip("/").split("/")
    if len(segments) < 3:
        return None
    base = parts._replace(path="/".join(segments[:-2]), query="", fragment="").geturl()
    return authority_from_url(base)


def is_operation(obj: Any) -> bool:
    """True for a write operation in RFC 7644 bulk form: ``method`` and ``path`` members (any case)."""
    return (isinstance(obj, dict) and _get(obj, "method") is not None and _get(obj, "path") is not None
            and _get(obj, "schemas") is None)


def bulk_operations(obj: Any) -> list[Any] | None:
    """The Operations of a BulkRequest, or None when `obj` is not one."""
    if not isinstance(obj, dict):
        return None
    schemas = _get(obj, "schemas")
    if not (isinstance(schemas, list) and any(isinstance(s, str) and s.lower() == BULK_REQUEST_URN.lower()
                                              for s in schemas)):
        return None
    ops = _get(obj, "Operations")
    return ops if isinstance(ops, list) else []


def is_list_response(obj: Any) -> bool:
    """True for a ListResponse: its schema URN, or a ``Resources`` member (any case)."""
    if not isinstance(obj, dict):
        return False
    schemas = _get(obj, "schemas")
    if isinstance(schemas, list) and any(isinstance(s, str) and s.lower() == LIST_RESPONSE_URN.lower()
                                         for s in schemas):
        return True
    return any(isinstance(k, str) and k.lower() == "resources" for k in obj)


def read_list_response(obj: dict[str, Any], where: str) -> tuple[ListResponse[Any], list[Any]]:
    """The envelope (totalResults, startIndex, itemsPerPage, cursors) and the resources of a page."""
    envelope = {k: v for k, v in obj.items()
                if not (isinstance(k, str) and k.lower() in ("resources", "schemas"))}
    envelope["schemas"] = [LIST_RESPONSE_URN]
    try:
        page = _LIST_RESPONSE.model_validate(envelope, scim_policy=READ_POLICY)
    except ValidationError as exc:
        raise BadInput(where, "ListResponse " + _describe_error(exc.errors(include_url=False)[0])) from None
    for attr, value in (("totalResults", page.total_results), ("startIndex", page.start_index),
                        ("itemsPerPage", page.items_per_page)):
        if value is not None and value < 0:
            raise BadInput(where, f"ListResponse attribute '{attr}' is negative ({value})")
    resources = _get(obj, "Resources")
    if resources is None:
        if page.total_results and page.items_per_page != 0:
            raise BadInput(where, f"the ListResponse says totalResults {page.total_results} "
                                  f"but has no Resources")
        return page, []
    if not isinstance(resources, list):
        raise BadInput(where, f"'Resources' must be an array, not {_json_type(resources)}")
    return page, resources


def _describe_error(err: dict[str, Any]) -> str:
    path = ""
    for part in err.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = err.get("msg", "invalid")
    value = err.get("input")
    shown = ""
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = repr(value)
        shown = f" (got {text[:60]}{'…' if len(text) > 60 else ''})"
    return f"attribute '{path}': {message}{shown}" if path else f"{message}"


def _get(raw: dict[str, Any], name: str) -> Any:
    """A top-level attribute, looked up case-insensitively."""
    if name in raw:
        return raw[name]
    low = name.lower()
    for key, value in raw.items():
        if isinstance(key, str) and key.lower() == low:
            return value
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return False


def enterprise_of(user: Any) -> EnterpriseUser | None:
    """The enterprise extension of a User (the model's own field; ``user[EnterpriseUser]`` is much slower)."""
    return getattr(user, "EnterpriseUser", None)


@lru_cache(maxsize=4096)  # attribute names repeat across resources; bounded against odd files
def _flag_name(key: str) -> str:
    name = re.sub(r"[^a-z0-9]", "", key.lower())
    for prefix in ("is", "has"):
        if name.startswith(prefix) and len(name) > len(prefix) + 2:
            return name[len(prefix):]
    return name


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(slots=True)
class _Scrubbed:
    secrets: list[str] = field(default_factory=list)  # attribute paths whose secret values were dropped
    redacted: list[str] = field(default_factory=list)  # free-text paths a password was redacted from


@lru_cache(maxsize=4096)  # attribute names repeat across resources; bounded against odd files
def _key_class(key: str) -> int:
    """0 an ordinary attribute, 1 a secret one, 2 free text."""
    if is_secret_attribute(key):
        return 1
    return 2 if key.lower() in FREE_TEXT else 0


def _scrub(value: Any, path: str, out: _Scrubbed, free_text: bool = False) -> Any:
    """A copy of `value` without secret attributes, with passwords in free text redacted."""
    if isinstance(value, dict):
        clean: dict[str, Any] = {}
        for k, v in value.items():
            kind = _key_class(k) if isinstance(k, str) else 0
            if kind == 1:
                if v not in (None, "", [], {}):
                    out.secrets.append(f"{path}.{k}" if path else str(k))
                continue
            if isinstance(v, (dict, list)) or (kind == 2 and isinstance(v, str)):
                clean[k] = _scrub(v, f"{path}.{k}" if path else str(k), out, kind == 2)
            else:
                clean[k] = v
        return clean
    if isinstance(value, list):
        return [_scrub(v, f"{path}[{i}]", out, free_text) if isinstance(v, (dict, list, str)) else v
                for i, v in enumerate(value)]
    if free_text and isinstance(value, str):
        text, found = redact_text(value)
        if found:
            out.redacted.append(path)
        return text
    return value


@dataclass(slots=True)
class ParsedResource:
    """One validated resource: its type, the scim2-models object, the raw payload minus secrets."""

    type: str  # User | Group | Agent | AgenticApplication
    model: Any
    raw: dict[str, Any]
    where: str
    secrets: list[tuple[str, str]]  # (attribute path, where it was seen) of each dropped secret
    redacted: list[tuple[str, str]]  # (attribute path, where) of each free-text password redacted

    @property
    def id(self) -> str:
        return self.model.id


Warn = Callable[[str, str], None]


class ScimNormaliser:
    """Collects the resources of one SCIM source, then turns them into records."""

    def __init__(self, warn: Warn | None = None):
        self._warn = warn or (lambda where, message: None)
        self._by_id: dict[str, ParsedResource] = {}  # in the order read
        self._by_name: dict[tuple[str, str], ParsedResource] = {}
        self.duplicates = 0
        self.skipped = 0
        self.operations = 0

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def resources(self) -> list[ParsedResource]:
        return list(self._by_id.values())

    # -- parsing ---------------------------------------------------------------------------------

    def add(self, data: Any, where: str, hint: str | None = None) -> ParsedResource | None:
        """Validate one resource; raise BadInput naming `where` when it cannot be used.

        `hint` is the resource type the source says it holds (the endpoint of a live pull).
        Returns None for a resource that is skipped (an unsupported type, a repeated page).
        """
        if not isinstance(data, dict):
            raise BadInput(where, f"a SCIM resource must be a JSON object, not {_json_type(data)}")
        scrub = _Scrubbed()
        raw = _scrub(data, "", scrub)
        rtype = self._resource_type(raw, where, hint)
        if rtype is None:
            self.skipped += 1
            return None
        payload = self._payload(raw, rtype, where)
        model = self._validate(rtype, payload, where)
        rid = model.id
        if not rid or not str(rid).strip():
            raise BadInput(where, f"the {rtype} has no 'id'")
        name = self._name_of(rtype, model)
        if not name or not name.strip():
            attr = {"User": "userName", "Group": "displayName"}.get(rtype, "name")
            raise BadInput(where, f"the {rtype} {rid!r} has no {attr}")
        res = ParsedResource(rtype, model, raw, where, [(p, where) for p in scrub.secrets],
                             [(p, where) for p in scrub.redacted])
        known = self._by_id.get(rid)
        if known is not None:
            if known.raw == raw:
                self.duplicates += 1  # overlapping pages: the same resource twice
                return None
            raise BadInput(where, f"id {rid!r} is also used by a different resource at {known.where}")
        self._index(res, name)
        return res

    def _index(self, res: ParsedResource, name: str) -> None:
        name_key = (res.type, name.casefold())
        other = self._by_name.get(name_key)
        if other is not None and other.id != res.id and res.type != "Group":
            attr = "userName" if res.type == "User" else "name"
            raise BadInput(res.where, f"{attr} {name!r} is also used by {other.where} (id {other.id!r}); "
                                      f"it must be unique in the service")
        if other is not None and other.id != res.id:
            self._warn(res.where, f"group name {name!r} is also used by {other.where}; "
                                  f"both are shown as one group")
        self._by_name.setdefault(name_key, res)
        self._by_id[res.id] = res

    def _forget(self, res: ParsedResource) -> None:
        self._by_id.pop(res.id, None)
        for key in [k for k, v in self._by_name.items() if v is res]:
            del self._by_name[key]

    # -- change operations (a request log or a BulkRequest) ---------------------------------------

    def apply(self, operation: Any, where: str) -> None:
        """Apply one write operation ``{method, path, data}`` (RFC 7644 §3.7 bulk form) to what was read.

        POST and PUT bring a resource; PATCH changes one read earlier (Entra's capitalised ops,
        ``"False"`` strings and member removal by value are accepted); DELETE removes one.
        """
        if not isinstance(operation, dict):
            raise BadInput(where, f"an operation must be a JSON object, not {_json_type(operation)}")
        method = str(_get(operation, "method") or "").upper()
        path = _get(operation, "path")
        data = _get(operation, "data")
        if data is None:
            data = _get(operation, "body")
        match = _OPERATION_PATH.search(path) if isinstance(path, str) else None
        if match is None:
            raise BadInput(where, f"operation path {path!r} names no Users, Groups, Agents or "
                                  f"AgenticApplications endpoint")
        rtype = _TYPE_OF_ENDPOINT[match.group(1).lower()]
        rid = match.group(2)
        self.operations += 1
        if method == "POST":
            if not isinstance(data, dict):
                raise BadInput(where, "a POST operation needs the resource in 'data'")
            given = _get(data, "id") or rid or _get(operation, "bulkId")
            if not given:
                raise BadInput(where, "a POST without the id the service gave the resource "
                                      "(no id, no bulkId)")
            self.add({**{k: v for k, v in data.items() if str(k).lower() != "id"}, "id": str(given)}, where,
                     hint=rtype)
        elif method == "PUT":
            if not rid or not isinstance(data, dict):
                raise BadInput(where, "a PUT operation needs a resource path (/Users/<id>) "
                                      "and the resource in 'data'")
            if (old := self._by_id.get(rid)) is not None:
                self._forget(old)
            self.add({**{k: v for k, v in data.items() if str(k).lower() != "id"}, "id": rid}, where,
                     hint=rtype)
        elif method == "PATCH":
            self._patch(rtype, rid, data, where)
        elif method == "DELETE":
            if not rid:
                raise BadInput(where, "a DELETE operation needs a resource path (/Users/<id>)")
            old = self._by_id.get(rid)
            if old is None:
                self._warn(where, f"DELETE of {rtype} {rid!r}, which was not read before it; ignored")
            else:
                self._forget(old)
        else:
            raise BadInput(where, f"unknown operation method {method or None!r}; "
                                  f"expected POST, PUT, PATCH or DELETE")

    def _patch(self, rtype: str, rid: str | None, data: Any, where: str) -> None:
        from scim2_models import PatchOp, SCIMException

        if not rid:
            raise BadInput(where, "a PATCH operation needs a resource path (/Users/<id>)")
        res = self._by_id.get(rid)
        if res is None:
            raise BadInput(where, f"PATCH of {rtype} {rid!r}, which was not read before it")
        if res.type != rtype:
            raise BadInput(where, f"PATCH names {rtype} {rid!r} but {rid!r} is a {res.type}")
        if not isinstance(data, dict):
            raise BadInput(where, "a PATCH operation needs the PatchOp in 'data'")
        scrub = _Scrubbed()
        body = _scrub(data, "", scrub)
        ops = _get(body, "Operations")
        if not isinstance(ops, list):
            raise BadInput(where, "the PatchOp has no 'Operations' array")
        kept = []
        for i, op in enumerate(ops):
            target = _get(op, "path") if isinstance(op, dict) else None
            last = re.split(r"[.:]", target.split("[", 1)[0])[-1] if isinstance(target, str) else ""
            if last and is_secret_attribute(last):
                if _get(op, "value") not in (None, "", [], {}):
                    scrub.secrets.append(f"Operations[{i}] {target}")
                continue  # a password set by PATCH: dropped with its value
            kept.append(op)
        if not kept:  # only a password was set: nothing left to apply, but it was seen
            res.secrets.extend((p, where) for p in scrub.secrets)
            res.redacted.extend((p, where) for p in scrub.redacted)
            return
        body = {**{k: v for k, v in body.items() if str(k).lower() not in ("operations", "schemas")},
                "schemas": [PATCH_URN], "Operations": kept}
        model_cls = MODELS[rtype]
        try:
            patch = PatchOp[model_cls].model_validate(body, scim_policy=PATCH_POLICY)  # type: ignore[index]
            with PATCH_POLICY:
                patch.patch(res.model)
        except ValidationError as exc:
            raise BadInput(where, "PatchOp " + _describe_error(exc.errors(include_url=False)[0])) from None
        except (SCIMException, ValueError, TypeError, KeyError) as exc:
            raise BadInput(where, f"the PATCH cannot be applied to {rtype} {rid!r}: {exc}") from None
        name = self._name_of(rtype, res.model)
        if not name or not str(name).strip():
            raise BadInput(where, f"the PATCH leaves {rtype} {rid!r} without a name")
        raw = {**res.model.model_dump(mode="json", by_alias=True, exclude_none=True),
               **res.model.unknown_attributes}
        self._forget(res)
        patched = ParsedResource(rtype, res.model, raw, res.where,
                                 res.secrets + [(p, where) for p in scrub.secrets],
                                 res.redacted + [(p, where) for p in scrub.redacted])
        self._index(patched, name)

    @staticmethod
    def _name_of(rtype: str, model: Any) -> str | None:
        if rtype == "User":
            return model.user_name
        if rtype == "Group":
            return model.display_name
        return model.name

    def _resource_type(self, raw: dict[str, Any], where: str, hint: str | None) -> str | None:
        schemas = _get(raw, "schemas")
        if isinstance(schemas, str):
            schemas = [schemas]
        if schemas is not None and not (isinstance(schemas, list)
                                        and all(isinstance(s, str) for s in schemas)):
            raise BadInput(where, "attribute 'schemas' must be an array of schema URNs")
        lowered = [s.strip().lower() for s in schemas or ()]
        for urn in lowered:
            if urn in TYPE_OF_SCHEMA:
                return TYPE_OF_SCHEMA[urn]
        for urn in lowered:
            if urn in _NOT_RESOURCES:
                what = _NOT_RESOURCES[urn]
                detail = ""
                if urn == ERROR_URN.lower():
                    detail = f" (status {_get(raw, 'status')}: {_get(raw, 'detail') or 'no detail'})"
                raise BadInput(where, f"holds {what}{detail}, not a User, Group or Agent resource")
        if SCIM1_CORE_URN in lowered:
            if _get(raw, "userName") is not None:
                return "User"
            if _get(raw, "members") is not None or _get(raw, "displayName") is not None:
                return "Group"
        meta = _get(raw, "meta")
        if isinstance(meta, dict):
            declared = _get(meta, "resourceType")
            if isinstance(declared, str):
                for known in MODELS:
                    if declared.lower() == known.lower():
                        return known
        if hint in MODELS:
            return hint
        if not lowered:  # a partial representation (attributes=...) carries no schemas: infer
            if _get(raw, "userName") is not None:
                return "User"
            if _get(raw, "agentType") is not None or _get(raw, "protocols") is not None:
                return "Agent"
            if _get(raw, "members") is not None or (_get(raw, "displayName") is not None
                                                    and _get(raw, "name") is None):
                return "Group"
            raise BadInput(where, "cannot tell the resource type: no 'schemas', no meta.resourceType, "
                                  "no userName or members")
        self._warn(where, f"resource of schema {', '.join(schemas or [])} is not a User, Group or Agent; "
                          f"skipped")
        return None

    @staticmethod
    def _payload(raw: dict[str, Any], rtype: str, where: str) -> dict[str, Any]:
        """What the model validates: the raw resource with canonical schema URNs."""
        payload: dict[str, Any] = {}
        for key, value in raw.items():
            if key.lower() == "schemas":
                continue
            if rtype == "User" and key.lower() == ENTERPRISE_URN.lower():
                payload[ENTERPRISE_URN] = value
            else:
                payload[key] = value
        # The base schema first; the enterprise URN when its block is there (some services omit it).
        schemas = [BASE_SCHEMA[rtype]]
        if ENTERPRISE_URN in payload:
            schemas.append(ENTERPRISE_URN)
        payload["schemas"] = schemas
        return payload

    def _validate(self, rtype: str, payload: dict[str, Any], where: str) -> Any:
        model_cls = MODELS[rtype]
        strict = STRICT[rtype]
        for _attempt in range(10):
            try:
                return model_cls.model_validate(payload, scim_policy=READ_POLICY)
            except ValidationError as exc:
                errors = exc.errors(include_url=False)
                bad: set[str] = set()
                for err in errors:
                    loc = err.get("loc") or ()
                    first = str(loc[0]) if loc else ""
                    if not first or first.lower() in strict:
                        raise BadInput(where, _describe_error(err)) from None
                    bad.add(first.lower())
                for key in [k for k in payload if k.lower() in bad]:
                    detail = next(_describe_error(e) for e in errors
                                  if str(e["loc"][0]).lower() == key.lower())
                    self._warn(where, f"{detail}; the attribute was ignored")
                    payload.pop(key)
        raise BadInput(where, "too many malformed attributes")  # pragma: no cover - 10 rounds of drops

    # -- records ---------------------------------------------------------------------------------

    def location_authority(self) -> str | None:
        """The service the resources name in meta.location, when they do."""
        for res in self.resources:
            meta = res.model.meta
            if meta is not None and meta.location:
                found = authority_from_location(meta.location)
                if found:
                    return found
        return None

    def records(self, authority: str, *, source: str, service: dict[str, Any] | None = None) -> list[Record]:
        """All records of the collected resources, for the service named `authority`."""
        return _Emitter(self, authority.lower(), source, service or {}).run()


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


class _Emitter:
    """Turns the parsed resources of one service into records (one pass, then membership)."""

    def __init__(self, norm: ScimNormaliser, authority: str, source: str, service: dict[str, Any]):
        self.norm = norm
        self.auth = authority
        self.source = source
        self.service = service
        self.out: list[Record] = []
        self.app_ref = f"key:application:{authority}"
        self.group_stubs: dict[str, str] = {}  # group id -> display, for groups known by reference only

    def ref(self, rid: str) -> str:
        return f"ext:scim:{self.auth}:{_resource_id(rid)}"

    def known(self, rid: str) -> bool:
        return _resource_id(rid) in self.norm._by_id

    def run(self) -> list[Record]:
        self.out.append(NodeRecord(ref=self.app_ref, kind="application", name=self.auth, authority=self.auth,
                                   source_record=self.source,
                                   attributes={"scim_service": self.auth, **self.service}))
        for res in self.norm.resources:
            if res.type == "Group":
                self.group(res)
            else:
                self.identity(res)
        for gid, display in self.group_stubs.items():
            if not self.known(gid):
                self.out.append(NodeRecord(ref=self.ref(gid), kind="group", name=display, authority=self.auth,
                                           source_record=self.source,
                                           attributes={"placeholder": True, "id": gid,
                                                       "known_from": "User.groups of the export"}))
        return self.out

    # -- identities --------------------------------------------------------------------------------

    def identity(self, res: ParsedResource) -> None:
        m = res.model
        ref = self.ref(m.id)
        if res.type == "User":
            name = m.user_name
            key = f"scim:{self.auth}/{name.lower()}"
            kind, reason = classify_user(m, res.raw)
            display = m.display_name or (m.name.formatted if m.name else None) or _joined_name(m)
            description = None
        else:
            name = m.name
            plural = "agents" if res.type == "Agent" else "agentic-applications"
            key = f"scim:{self.auth}/{plural}/{name.lower()}"
            kind = "agent"
            urn = AGENT_URN if res.type == "Agent" else AGENTIC_APPLICATION_URN
            reason = (f"a SCIM {res.type} resource ({urn})"
                      + (f", agentType {m.agent_type!r}" if res.type == "Agent" and m.agent_type else ""))
            display = m.display_name
            description = m.description
        external_ids = [ref]
        if m.external_id:
            external_ids.append(f"ext:scim:{self.auth}:externalId:{m.external_id}")
        emails = _emails(m) if res.type == "User" else []
        self.out.append(IdentityRecord(
            ref=ref, kind=kind, name=name, authority=self.auth, source_record=res.where, key=key,
            display_name=display, external_ids=external_ids, emails=emails,
            enabled=m.active if isinstance(m.active, bool) else None,
            created=m.meta.created if m.meta else None, last_used=_last_used(m, res.raw),
            description=description, classification=reason,
            attributes=res.raw,
        ))
        self.out.append(EdgeRecord(ref, self.app_ref, "ProvisionedIn", res.where))
        self._findings(res, ref)
        self._certificates(res, ref)
        for gm in getattr(m, "groups", None) or ():
            if (gm.type or "direct").lower() == "indirect":
                continue  # derived from nested groups, which the graph already follows
            if not gm.value:
                self.norm._warn(res.where, "a groups entry without 'value' cannot be linked; ignored")
                continue
            linked = self.known(gm.value)
            if not linked and gm.display:
                # A group this source names but does not hold (a users-only export) is still a group.
                self.group_stubs.setdefault(gm.value, gm.display)
                linked = True
            self.out.append(EdgeRecord(ref, self.ref(gm.value), "MemberOf", res.where, optional=not linked))
        if res.type == "User":
            self._correlate(res, ref, name)
            ent = enterprise_of(m)
            if ent is not None and ent.manager is not None and ent.manager.value:
                self.out.append(EdgeRecord(ref, self.ref(ent.manager.value), "ManagedBy", res.where,
                                           {"relation": "manager"}, optional=True))
        elif res.type == "Agent":
            self._correlate(res, ref, None)
            for owner in m.owners or ():
                if owner.value:
                    self.out.append(EdgeRecord(ref, self.ref(owner.value), "ManagedBy", res.where,
                                               {"relation": "owner"}, optional=True))
            if m.parent is not None and m.parent.value:
                self.out.append(EdgeRecord(ref, self.ref(m.parent.value), "ManagedBy", res.where,
                                           {"relation": "parent"}, optional=True))
            if m.subject:
                self.out.append(CredentialRecord(ref, "federated", f"subject:{m.subject}", res.where,
                                                 attributes={"subject": m.subject}))
        else:  # AgenticApplication
            self._correlate(res, ref, None)
            for agent in m.agents or ():
                if agent.value and (agent.type or "").lower() == "owned":
                    self.out.append(EdgeRecord(ref, self.ref(agent.value), "Owns", res.where,
                                               {"relation": "owned agent"}, optional=True))

    def _correlate(self, res: ParsedResource, ref: str, user_name: str | None) -> None:
        """Optional ProvisionedAs edges from the directory identity this account was provisioned from."""
        handles: list[tuple[str, str]] = []
        ext = (res.model.external_id or "").strip()
        if ext:
            if m := GUID_RE.match(ext):
                handles.append((f"guid:{m.group(1).lower()}", "externalId"))
            elif SID_RE.match(ext):
                handles.append((f"sid:{ext.upper()}", "externalId"))
            elif UPN_RE.match(ext):
                handles.append((f"upn:{ext.lower()}", "externalId"))
        if user_name and UPN_RE.match(user_name):
            handles.append((f"upn:{user_name.lower()}", "userName"))
        if res.type == "User":
            primary = _primary_email(res.model)
            if primary:
                handles.append((f"email:{primary.lower()}", "email"))
        seen: set[str] = set()
        for handle, via in handles:
            if handle in seen:
                continue
            seen.add(handle)
            self.out.append(EdgeRecord(handle, ref, "ProvisionedAs", res.where, {"via": via}, optional=True))

    def _findings(self, res: ParsedResource, ref: str) -> None:
        for path, where in res.secrets:
            self.out.append(FindingRecord(
                ref, "secret-in-data", "NHI2", "high",
                f"the SCIM {res.type} at {where} carried a secret in attribute '{path}'; "
                f"the value was dropped, not stored", where))
        for path, where in res.redacted:
            self.out.append(FindingRecord(
                ref, "secret-in-data", "NHI2", "high",
                f"a password was written into attribute '{path}' of the SCIM {res.type} at {where}; "
                f"it was redacted", where))
        if res.type != "Group" and any(re.split(r"[. ]", p)[-1].lower() == "password"
                                       for p, _w in res.secrets):
            self.out.append(CredentialRecord(
                ref, "password", "password", res.where,
                attributes={"seen": "the SCIM data carried a password (dropped)"}))

    def _certificates(self, res: ParsedResource, ref: str) -> None:
        seen: set[str] = set()
        for i, cert in enumerate(getattr(res.model, "x509_certificates", None) or ()):
            if not cert.value:
                continue
            info = certificate_metadata(cert.value)
            if info.get("parse_error"):
                self.norm._warn(res.where, f"x509Certificates[{i}] is not a readable X.509 certificate "
                                           f"({info['parse_error']}); kept by thumbprint only")
            thumb = info["thumbprint"]
            if thumb in seen:
                continue
            seen.add(thumb)
            attrs = {k: v for k, v in info.items() if k not in ("not_before", "not_after")}
            if cert.display:
                attrs["display"] = cert.display
            if cert.primary is not None:
                attrs["primary"] = cert.primary
            self.out.append(CredentialRecord(ref, "certificate", thumb, res.where,
                                             created=info.get("not_before"), expires=info.get("not_after"),
                                             attributes=attrs))

    # -- groups ------------------------------------------------------------------------------------

    def group(self, res: ParsedResource) -> None:
        m = res.model
        gref = self.ref(m.id)
        raw = {k: v for k, v in res.raw.items() if k.lower() != "members"}  # members can be 100k long
        raw["memberCount"] = len(m.members or ())
        self.out.append(NodeRecord(ref=gref, kind="group", name=m.display_name, authority=self.auth,
                                   source_record=res.where, attributes=raw))
        self._findings(res, gref)
        for member in m.members or ():
            if not member.value:
                self.norm._warn(res.where, "a members entry without 'value' cannot be linked; ignored")
                continue
            known = self.known(member.value)
            # A member the export does not hold may still be in the project (an earlier file of the run).
            self.out.append(EdgeRecord(self.ref(member.value), gref, "MemberOf", res.where,
                                       optional=not known))


def _resource_id(value: str) -> str:
    """A resource id, also when a BulkRequest names a resource it creates as ``bulkId:<id>``."""
    return value[7:] if value[:7].lower() == "bulkid:" else value


def _joined_name(user: Any) -> str | None:
    if user.name and (user.name.given_name or user.name.family_name):
        return " ".join(p for p in (user.name.given_name, user.name.family_name) if p)
    return None


def _emails(user: Any) -> list[str]:
    values = []
    primary = _primary_email(user)
    if primary:
        values.append(primary)
    for e in user.emails or ():
        if e.value and "@" in e.value and e.value not in values:
            values.append(e.value)
    return values


def _primary_email(user: Any) -> str | None:
    emails = [e for e in user.emails or () if e.value and "@" in e.value]
    for e in emails:
        if e.primary:
            return e.value
    return emails[0].value if emails else None


def _last_used(model: Any, raw: dict[str, Any]) -> datetime | None:
    """SCIM lastAccessed (the draft's AgenticApplication) or a vendor's last-login attribute."""
    found = getattr(model, "last_accessed", None)
    if found is not None:
        return found if found.tzinfo else found.replace(tzinfo=UTC)
    candidates: list[datetime] = []
    for key, value in _vendor_items(raw):
        if _flag_name(key) in LAST_USED_KEYS:
            parsed = _parse_time(value)
            if parsed is not None:
                candidates.append(parsed)
    return max(candidates) if candidates else None


def _vendor_items(raw: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    """Top-level attributes and the attributes of extension blocks (one level down)."""
    for key, value in raw.items():
        if not isinstance(key, str):
            continue
        if isinstance(value, dict) and ":" in key:
            for k, v in value.items():
                if isinstance(k, str):
                    yield k, v
        else:
            yield key, value


def classify_user(user: Any, raw: dict[str, Any]) -> tuple[str, str]:
    """(kind, reason) of a SCIM User, by the rule in this module's docstring."""
    user_type = (user.user_type or "").strip()
    if user_type and AGENT_TYPE_RE.search(user_type):
        return "agent", f"userType {user_type!r} names an agent"
    agent_flag = service_flag = None
    for key, value in _vendor_items(raw):
        name = _flag_name(key)
        if name in AGENT_FLAGS and _truthy(value):
            agent_flag = agent_flag or key
        elif name in SERVICE_FLAGS and _truthy(value):
            service_flag = service_flag or key
        elif name in TYPE_KEYS and isinstance(value, str):
            if AGENT_TYPE_RE.search(value):
                agent_flag = agent_flag or f"{key}={value}"
            elif SERVICE_TYPE_RE.search(value):
                service_flag = service_flag or f"{key}={value}"
    if agent_flag:
        return "agent", f"the vendor attribute {agent_flag!r} marks an agent"
    if user_type and SERVICE_TYPE_RE.search(user_type):
        return "scim_account", f"userType {user_type!r} names a service account"
    if service_flag:
        return "scim_account", f"the vendor attribute {service_flag!r} marks a service account"
    if SERVICE_NAME_RE.search(user.user_name or ""):
        return "scim_account", f"userName {user.user_name!r} is named like a service account"
    if user_type.lower() in HUMAN_TYPES:
        return "person", f"userType {user_type!r} is a kind of person"
    ent = enterprise_of(user)
    if ent is not None and ent.employee_number:
        return "person", "has an enterprise employeeNumber"
    if (ent is not None and ent.manager is not None and ent.manager.value and user.name
            and user.name.given_name and user.name.family_name):
        return "person", "has a manager and a given and family name"
    return "scim_account", "an account of the application with no clear sign of a person or a service"


def certificate_metadata(der: bytes) -> dict[str, Any]:
    """Thumbprint, validity, subject and issuer of a DER certificate; never the certificate itself."""
    info: dict[str, Any] = {"thumbprint": hashlib.sha1(der).hexdigest().upper(),
                            "sha256": hashlib.sha256(der).hexdigest()}
    try:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(der)
        info.update(subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
                    serial=format(cert.serial_number, "x"), not_before=cert.not_valid_before_utc,
                    not_after=cert.not_valid_after_utc)
    except Exception as exc:  # any undecodable certificate: keep what can be known without parsing
        info["parse_error"] = str(exc).splitlines()[0][:120] or type(exc).__name__
    return info

