"""Microsoft Entra ID: Microsoft Graph objects turned into normalised records.

Shared by the offline importer (`entra_json`, files saved from Graph Explorer,
`az rest`, Microsoft Graph PowerShell) and the live pull (`entra_live`): both
collect Graph objects into one `GraphExport`, then `export_records` joins and
normalises them.

What becomes what (CONTRACT.md "Identities"):

- a service principal and its app registration (joined on ``appId``) are ONE
  identity; an app registration without a service principal in the export is
  an identity too. ``kind``: ``managed_identity`` (servicePrincipalType
  ManagedIdentity), ``agent`` (``@odata.type`` agentIdentity,
  agentIdentityBlueprint, agentIdentityBlueprintPrincipal, agentUser, or
  servicePrincipalType ServiceIdentity), else ``service_principal``.
- **Key** ``<tenant id>/<appId>`` (objectId when an object has no appId), lower
  case; **authority** the tenant id. The export and a live pull of the same
  tenant produce the same keys, so one maps onto the other. ``name`` is
  ``displayName`` (not unique, hence not the key). ``external_ids`` carry
  ``ext:entra:<appId>`` and ``ext:entra:<objectId>`` of the service principal
  and of the application object.
- Microsoft's own first-party service principals (owned by Microsoft's tenants,
  with no app registration in this tenant: Microsoft Graph, Exchange Online …)
  are not accounts anyone here can migrate: they become ``application`` nodes
  (key ``application:<tenant>/<appId>``) that grants point at.
- Users that own or sponsor an identity become ``person`` identities (key
  ``<tenant>/<objectId>``), agent users (``#microsoft.graph.agentUser``)
  ``agent`` ones; ``sid`` is ``onPremisesSecurityIdentifier`` and ``guid`` the
  AD objectGUID that ``onPremisesImmutableId`` encodes, so ingest correlates a
  hybrid user with the AD identity. Other users are not imported (an AD
  service account synced to Entra stays what the AD import says it is).
- Credentials (metadata only): passwordCredentials → ``client_secret``,
  keyCredentials → ``certificate`` (the ``key`` blob is dropped),
  federatedIdentityCredentials → ``federated`` plus a ``FederatedCredential``
  edge from the workload (``application`` node ``workload:<issuer>#<subject>``).
  A ``secretText`` (or a symmetric ``key``) in the data is never stored: the
  identity gets an NHI2 ``secret-in-data`` finding naming the field.
- Edges: appRoleAssignments → ``AppRoleAssignment`` principal → resource with
  ``{appRoleIds, roles, assignments:[{appRoleId, role}]}`` (several roles on one
  resource are one edge); oauth2PermissionGrants → ``DelegatedGrant`` client →
  resource with ``{scope, scopes, consentType, principalIds, grants}``; owners
  and sponsors → ``ManagedBy`` identity → owner ``{role: owner|sponsor}``; an
  agent identity → its blueprint's principal ``SharesCredential`` (it signs in
  with the blueprint's credentials); a system-assigned managed identity is used
  by its Azure resource (``UsesIdentity`` from ``resource:azure:<ARM id>``).
- ``last_used``: the latest date in the (beta) servicePrincipalSignInActivity
  record of the identity's appId; dates are parsed tolerantly (``-8:00``,
  seven fractional digits, PowerShell ``/Date(ms)/``).

Input shapes accepted everywhere: Graph camelCase, PowerShell SDK PascalCase
with ``AdditionalProperties``, and the legacy Azure AD Graph shape
(``objectType``/``objectId``, credential ``startDate``/``endDate``/``value``).
Unknown properties are ignored (Graph types are open types).
"""

from __future__ import annotations

import base64
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from ..errors import BadInput
from ..records import CredentialRecord, EdgeRecord, FindingRecord, IdentityRecord, NodeRecord, Record
from ..secrets import is_secret_attribute, redact_text

# Tenants whose service principals are Microsoft's own first-party apps.
MICROSOFT_TENANTS = frozenset({
    "f8cdef31-a31e-4b4a-93e4-5f571e91255a",  # Microsoft Services
    "72f988bf-86f1-41af-91ab-2d7cd011db47",  # Microsoft
})
DEFAULT_ACCESS_ROLE = "00000000-0000-0000-0000-000000000000"

# What a Graph object is; the collection names of the export layout.
SERVICE_PRINCIPAL = "servicePrincipal"
APPLICATION = "application"
USER = "user"
GROUP = "group"
ORGANIZATION = "organization"
APP_ROLE_ASSIGNMENT = "appRoleAssignment"
DELEGATED_GRANT = "oAuth2PermissionGrant"
FEDERATED_CREDENTIAL = "federatedIdentityCredential"
SIGN_IN_ACTIVITY = "servicePrincipalSignInActivity"
DIRECTORY_OBJECT = "directoryObject"  # an owner or sponsor known only by id

OWNERS = "owners"
SPONSORS = "sponsors"

_AGENT_TYPES = frozenset({"agentidentity", "agentidentityblueprint", "agentidentityblueprintprincipal", "agentuser"})
_TYPE_OF = {
    "serviceprincipal": SERVICE_PRINCIPAL, "agentidentity": SERVICE_PRINCIPAL,
    "agentidentityblueprintprincipal": SERVICE_PRINCIPAL,
    "application": APPLICATION, "agentidentityblueprint": APPLICATION,
    "user": USER, "agentuser": USER, "group": GROUP, "organization": ORGANIZATION,
    "approleassignment": APP_ROLE_ASSIGNMENT, "oauth2permissiongrant": DELEGATED_GRANT,
    "federatedidentitycredential": FEDERATED_CREDENTIAL,
    "serviceprincipalsigninactivity": SIGN_IN_ACTIVITY, "directoryobject": DIRECTORY_OBJECT,
}
# Collection names in @odata.context (and file names of the export layout) -> object type.
COLLECTIONS = {
    "serviceprincipals": SERVICE_PRINCIPAL, "applications": APPLICATION, "users": USER, "groups": GROUP,
    "organization": ORGANIZATION, "approleassignments": APP_ROLE_ASSIGNMENT,
    "approleassignedto": APP_ROLE_ASSIGNMENT, "oauth2permissiongrants": DELEGATED_GRANT,
    "federatedidentitycredentials": FEDERATED_CREDENTIAL,
    "serviceprincipalsigninactivities": SIGN_IN_ACTIVITY, "directoryobjects": DIRECTORY_OBJECT,
    "owners": DIRECTORY_OBJECT, "sponsors": DIRECTORY_OBJECT,
}
_SIGN_IN_FIELDS = ("lastSignInActivity", "delegatedClientSignInActivity", "delegatedResourceSignInActivity",
                   "applicationAuthenticationClientSignInActivity",
                   "applicationAuthenticationResourceSignInActivity")
# Relationships that $expand puts inside an object, moved out into the export's relation lists.
_EMBEDDED = ("owners", "sponsors", "federatedIdentityCredentials", "appRoleAssignments", "oauth2PermissionGrants")
# PowerShell's ConvertTo-Json below its -Depth renders nested objects as their type name.
_TRUNCATED = re.compile(r"^(Microsoft\.Graph\.PowerShell\.Models\.\w+|System\.Collections\.\w+|"
                        r"System\.Object\[\]|@\{.*\})$")
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)

WarnFn = Callable[[str, str], None]


# -- tolerant values -------------------------------------------------------------------------

_ISO = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*"
    r"(Z|z|[+-]\d{1,2}(?::?\d{2})?)?\s*$")
_MS_DATE = re.compile(r"^\s*\\?/Date\((-?\d+)([+-]\d{4})?\)\\?/\s*$")


def parse_graph_datetime(value: Any) -> datetime | None:
    """A Graph timestamp as an aware UTC datetime; None for null and Graph's year-1 "never".

    Tolerates what real data holds: up to seven fractional digits, offsets like
    ``-8:00`` or ``+0530``, no zone at all (Graph means UTC), and PowerShell 5.1's
    ``/Date(1577836800000)/``. Raises ValueError for anything else.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    m = _MS_DATE.match(value)
    if m:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC)
    m = _ISO.match(value)
    if not m:
        raise ValueError(f"not a timestamp: {value!r}")
    year, month, day, hour, minute, second, frac, zone = m.groups()
    if int(year) <= 1:
        return None
    micro = int((frac or "0")[:6].ljust(6, "0"))
    tz = UTC
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        if ":" in zone:
            hours, mins = zone[1:].split(":")
        elif len(digits) > 2:
            hours, mins = digits[:-2], digits[-2:]
        else:
            hours, mins = digits, "0"
        if int(hours) > 18 or int(mins) > 59:
            raise ValueError(f"not a time zone offset: {zone!r}")
        tz = timezone(sign * timedelta(hours=int(hours), minutes=int(mins)))
    try:
        parsed = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                          micro, tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"not a timestamp: {value!r} ({exc})") from None
    return parsed.astimezone(UTC)


def guid_from_immutable_id(value: Any) -> str | None:
    """The AD objectGUID that an onPremisesImmutableId (base64 of its 16 bytes) encodes, or None."""
    if not isinstance(value, str) or len(value) != 24:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        return None
    return str(uuid.UUID(bytes_le=raw)) if len(raw) == 16 else None


def _camel(key: str) -> str:
    if key[:1].isupper() and not key.startswith("@"):
        return key[0].lower() + key[1:]
    return key


def normalise_keys(obj: Any) -> Any:
    """PowerShell SDK objects (PascalCase, AdditionalProperties) in Graph's camelCase shape.

    Graph's own JSON is camelCase all the way down and comes back as it is.
    """
    if isinstance(obj, list):
        return [normalise_keys(v) for v in obj]
    if not isinstance(obj, dict) or "id" in obj or not any(k[:1].isupper() for k in obj):
        return obj
    out: dict[str, Any] = {}
    extra = None
    for k, v in obj.items():
        if k in ("AdditionalProperties", "additionalProperties") and isinstance(v, dict):
            extra = v
            continue
        out[_camel(k)] = normalise_keys(v)
    for k, v in (extra or {}).items():
        out.setdefault(_camel(k), normalise_keys(v))
    return out


# Azure AD Graph (graph.windows.net) names -> Microsoft Graph names.
_LEGACY_NAMES = {"objectId": "id", "appOwnerTenantId": "appOwnerOrganizationId",
                 "deletionTimestamp": "deletedDateTime", "immutableId": "onPremisesImmutableId"}


def _from_legacy(obj: dict[str, Any]) -> dict[str, Any]:
    out = {_LEGACY_NAMES.get(k, k): v for k, v in obj.items()}
    out.setdefault("@odata.type", "#microsoft.graph." + str(obj.get("objectType", "")).lower())
    for field_name, value_name in (("passwordCredentials", "secretText"), ("keyCredentials", "key")):
        creds = out.get(field_name)
        if isinstance(creds, list):
            out[field_name] = [_legacy_credential(c, value_name) if isinstance(c, dict) else c for c in creds]
    return out


def _legacy_credential(cred: dict[str, Any], value_name: str) -> dict[str, Any]:
    names = {"startDate": "startDateTime", "endDate": "endDateTime", "value": value_name}
    return {names.get(k, k): v for k, v in cred.items()}


def object_type(obj: dict[str, Any], hint: str | None = None) -> str | None:
    """What a Graph object is: an explicit @odata.type wins, then the collection it came in, then its fields."""
    declared = obj.get("@odata.type") or obj.get("odata.type") or ""
    if isinstance(declared, str) and declared:
        name = declared.lstrip("#").rsplit(".", 1)[-1].lower()
        if name in _TYPE_OF:
            found = _TYPE_OF[name]
            if found == DIRECTORY_OBJECT and hint and hint != DIRECTORY_OBJECT:
                return hint
            return found
        return "other:" + name
    if hint:
        return hint
    if "servicePrincipalType" in obj or "appOwnerOrganizationId" in obj or "alternativeNames" in obj:
        return SERVICE_PRINCIPAL
    if "appRoleId" in obj and "resourceId" in obj:
        return APP_ROLE_ASSIGNMENT
    if "consentType" in obj or ("clientId" in obj and "scope" in obj and "resourceId" in obj):
        return DELEGATED_GRANT
    if "issuer" in obj and "subject" in obj:
        return FEDERATED_CREDENTIAL
    if any(f in obj for f in _SIGN_IN_FIELDS):
        return SIGN_IN_ACTIVITY
    if "verifiedDomains" in obj:
        return ORGANIZATION
    if "appId" in obj and any(f in obj for f in ("signInAudience", "requiredResourceAccess", "identifierUris",
                                                  "web", "api", "publisherDomain")):
        return APPLICATION
    if "appId" in obj:
        return SERVICE_PRINCIPAL
    if "userPrincipalName" in obj:
        return USER
    return None


def parse_context(context: Any) -> tuple[str | None, str | None, str | None]:
    """(object type, relation, parent id) named by an @odata.context such as
    ``…/$metadata#servicePrincipals('id')/owners`` or ``…#reports/servicePrincipalSignInActivities``."""
    if not isinstance(context, str) or "#" not in context:
        return None, None, None
    frag = context.split("#", 1)[1]
    m = re.match(r"(\w+)\('([^']*)'\)((?:/[\w.]+)*)", frag)
    if m:
        tail = [p for p in m.group(3).split("/") if p and "." not in p]
        if not tail:  # #servicePrincipals('id') or ('id')/microsoft.graph.agentIdentity: one object
            return COLLECTIONS.get(m.group(1).lower()), None, None
        relation = tail[-1]
        kind = COLLECTIONS.get(relation.lower())
        rel = relation if relation in (OWNERS, SPONSORS, "federatedIdentityCredentials") else None
        return kind, rel, m.group(2)
    m = re.match(r"Collection\(microsoft\.graph\.(\w+)\)", frag)
    if m:
        return _TYPE_OF.get(m.group(1).lower()), None, None
    while True:  # drop $select/$expand lists: servicePrincipals(id,owners()) is servicePrincipals
        bare = re.sub(r"\([^()]*\)", "", frag)
        if bare == frag:
            break
        frag = bare
    segments = [p for p in frag.split("/") if p and "." not in p and p != "$entity"]
    for seg in reversed(segments):
        if seg.lower() in COLLECTIONS:
            return COLLECTIONS[seg.lower()], None, None
    return None, None, None


# -- the collected export --------------------------------------------------------------------

@dataclass(slots=True)
class GraphObject:
    data: dict[str, Any]
    where: str  # file: record N, or the Graph URL it came from


@dataclass
class GraphExport:
    """Every Graph object of one import, as read; joined and normalised by `export_records`."""

    service_principals: dict[str, GraphObject] = field(default_factory=dict)
    applications: dict[str, GraphObject] = field(default_factory=dict)
    users: dict[str, GraphObject] = field(default_factory=dict)
    groups: dict[str, GraphObject] = field(default_factory=dict)
    organizations: list[GraphObject] = field(default_factory=list)
    app_role_assignments: list[GraphObject] = field(default_factory=list)
    delegated_grants: list[GraphObject] = field(default_factory=list)
    sign_ins: list[GraphObject] = field(default_factory=list)
    # (relation: owners|sponsors, parent object id or appId, member)
    relations: list[tuple[str, str, GraphObject]] = field(default_factory=list)
    federated: list[tuple[str, GraphObject]] = field(default_factory=list)  # (application id or appId, FIC)
    tenant_hints: Counter[str] = field(default_factory=Counter)
    truncated: list[str] = field(default_factory=list)  # where ConvertTo-Json dropped nested data
    ignored: Counter[str] = field(default_factory=Counter)  # object types nhiplan has no use for
    objects: int = 0

    def add(self, raw: Any, where: str, *, hint: str | None = None, relation: str | None = None,
            parent: str | None = None) -> None:
        """Add one Graph object; `hint` is the type its collection implies, `relation`/`parent` whose
        owners, sponsors or federated credentials it is. Raises BadInput naming `where`."""
        if not isinstance(raw, dict):
            raise BadInput(where, f"expected a JSON object, found {json_kind(raw)}")
        obj = normalise_keys(raw)
        if obj is raw:  # taking relationships out below must not change the caller's object
            obj = dict(raw)
        if "objectType" in obj and "objectId" in obj:
            obj = _from_legacy(obj)
        kind = object_type(obj, hint)
        if kind is None:
            raise BadInput(where, "not a Microsoft Graph object nhiplan reads (no servicePrincipalType, appId, "
                                  "userPrincipalName, appRoleId, consentType or issuer/subject)")
        self.objects += 1
        if kind.startswith("other:"):
            self.ignored[kind[6:]] += 1
            return
        self._check_truncated(obj, where)
        item = GraphObject(obj, where)
        if kind in (SERVICE_PRINCIPAL, APPLICATION, USER, GROUP, DIRECTORY_OBJECT):
            oid = _required_id(obj, where)
            if relation in (OWNERS, SPONSORS) and parent:
                self.relations.append((relation, parent.lower(), item))
            if kind == DIRECTORY_OBJECT:
                if relation not in (OWNERS, SPONSORS) or not parent:
                    self.ignored["directoryObject"] += 1
                return
            self._check_shapes(obj, where)
            self._hint_tenant(obj)
            for rel in _EMBEDDED:
                nested = obj.pop(rel, None)
                obj.pop(rel + "@odata.nextLink", None)
                obj.pop(rel + "@odata.context", None)
                if nested is None or (isinstance(nested, str) and _TRUNCATED.match(nested)):
                    continue
                if not isinstance(nested, list):
                    raise BadInput(where, f"{rel} is {json_kind(nested)}, expected a list")
                for i, member in enumerate(nested, 1):
                    sub_where = f"{where}, {rel}[{i}]"
                    if rel in (OWNERS, SPONSORS):
                        self.add(member, sub_where, hint=DIRECTORY_OBJECT, relation=rel, parent=oid)
                    elif rel == "federatedIdentityCredentials":
                        self.add(member, sub_where, hint=FEDERATED_CREDENTIAL, parent=oid)
                    elif rel == "appRoleAssignments":
                        self.add(member, sub_where, hint=APP_ROLE_ASSIGNMENT)
                    else:
                        self.add(member, sub_where, hint=DELEGATED_GRANT)
            table = {SERVICE_PRINCIPAL: self.service_principals, APPLICATION: self.applications,
                     USER: self.users, GROUP: self.groups}[kind]
            _merge_into(table, oid, item)
        elif kind == ORGANIZATION:
            _required_id(obj, where)
            self.organizations.append(item)
        elif kind == APP_ROLE_ASSIGNMENT:
            _required_str(obj, where, "principalId", "resourceId")
            self.app_role_assignments.append(item)
        elif kind == DELEGATED_GRANT:
            _required_str(obj, where, "clientId", "resourceId")
            self.delegated_grants.append(item)
        elif kind == FEDERATED_CREDENTIAL:
            _required_str(obj, where, "issuer", "subject")
            if not parent:
                raise BadInput(where, "federated identity credential of an unknown application: name the file "
                                      "after the application's object id or appId "
                                      "(federatedIdentityCredentials/<id>.json)")
            self.federated.append((parent.lower(), item))
        elif kind == SIGN_IN_ACTIVITY:
            if not _sign_in_app_id(obj):
                raise BadInput(where, "sign-in activity without appId")
            self.sign_ins.append(item)

    def add_tenant_hint(self, tenant: str | None) -> None:
        if tenant:
            self.tenant_hints[tenant.lower()] += 1

    def _hint_tenant(self, obj: dict[str, Any]) -> None:
        odata_id = obj.get("@odata.id")
        if isinstance(odata_id, str):  # https://graph.microsoft.com/v2/<tenant>/directoryObjects/<id>/...
            m = re.search(r"/v2/([^/]+)/directoryObjects/", odata_id)
            if m:
                self.tenant_hints[m.group(1).lower()] += 1

    def _check_truncated(self, obj: dict[str, Any], where: str) -> None:
        for k in ("passwordCredentials", "keyCredentials", "alternativeNames", "appRoles"):
            v = obj.get(k)
            in_list = isinstance(v, list) and k != "alternativeNames" and any(
                isinstance(x, str) and _TRUNCATED.match(x) for x in v)
            if in_list or (isinstance(v, str) and _TRUNCATED.match(v)):
                self.truncated.append(f"{where}: {k}")
                obj[k] = None

    @staticmethod
    def _check_shapes(obj: dict[str, Any], where: str) -> None:
        for k in ("passwordCredentials", "keyCredentials"):
            v = obj.get(k)
            if v is None:
                continue
            if not isinstance(v, list):
                raise BadInput(where, f"{k} is {json_kind(v)}, expected a list")
            for i, cred in enumerate(v):
                if not isinstance(cred, dict):
                    raise BadInput(where, f"{k}[{i}] is {json_kind(cred)}, expected an object")
                if not isinstance(cred.get("keyId"), str) or not cred["keyId"]:
                    raise BadInput(where, f"{k}[{i}] has no keyId")
        for k in ("appId", "displayName"):
            v = obj.get(k)
            if v is not None and not isinstance(v, str):
                raise BadInput(where, f"{k} is {json_kind(v)}, expected a string")
        for k in ("alternativeNames", "tags", "appRoles"):
            v = obj.get(k)
            if v is not None and not isinstance(v, list):
                raise BadInput(where, f"{k} is {json_kind(v)}, expected a list")


def _merge_into(table: dict[str, GraphObject], oid: str, item: GraphObject) -> None:
    """The same object seen twice (overlapping pages, an owner listed in full elsewhere): fill the gaps."""
    known = table.get(oid)
    if known is None:
        table[oid] = item
        return
    for k, v in item.data.items():
        if known.data.get(k) in (None, "", []):
            known.data[k] = v


def json_kind(v: Any) -> str:
    if v is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(v), "a number")


def _required_id(obj: dict[str, Any], where: str) -> str:
    oid = obj.get("id")
    if not isinstance(oid, str) or not oid.strip():
        raise BadInput(where, "object has no id" if oid is None else f"id is {json_kind(oid)}, expected a string")
    return oid.strip().lower()


def _required_str(obj: dict[str, Any], where: str, *names: str) -> None:
    for n in names:
        v = obj.get(n)
        if not isinstance(v, str) or not v.strip():
            raise BadInput(where, f"{n} is missing" if v is None else f"{n} is {json_kind(v)}, expected a string")


def _sign_in_app_id(obj: dict[str, Any]) -> str | None:
    app_id = obj.get("appId")
    if isinstance(app_id, str) and app_id:
        return app_id.lower()
    raw = obj.get("id")  # the record id is base64 of the appId string
    if isinstance(raw, str):
        try:
            decoded = base64.b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            return None
        if _GUID.fullmatch(decoded):
            return decoded.lower()
    return None


# -- tenant ----------------------------------------------------------------------------------

def infer_tenant(export: GraphExport) -> str | None:
    """The tenant id an export belongs to: GET /organization, a tenant named in the data, or the owner
    tenant of the service principals whose app registrations are in the export."""
    for org in export.organizations:
        oid = org.data.get("id")
        if isinstance(oid, str) and oid:
            return oid.lower()
    if export.tenant_hints:
        return export.tenant_hints.most_common(1)[0][0]
    owners: Counter[str] = Counter()
    app_ids = {(a.data.get("appId") or "").lower() for a in export.applications.values()}
    for sp in export.service_principals.values():
        owner = sp.data.get("appOwnerOrganizationId")
        if isinstance(owner, str) and owner and (sp.data.get("appId") or "").lower() in app_ids:
            owners[owner.lower()] += 1
    if owners:
        return owners.most_common(1)[0][0]
    return None


# -- normalisation ---------------------------------------------------------------------------

@dataclass
class _Identity:
    app_id: str | None
    sp: GraphObject | None
    app: GraphObject | None
    ref: str = ""
    kind: str = "service_principal"
    first_party: bool = False


def _odata_name(obj: dict[str, Any]) -> str:
    t = obj.get("@odata.type") or ""
    return t.lstrip("#").rsplit(".", 1)[-1].lower() if isinstance(t, str) else ""


@lru_cache(maxsize=4096)
def _is_secret_key(name: str) -> bool:
    return is_secret_attribute(name)


def scrub(obj: Any, found: list[str], path: str = "") -> Any:
    """A copy of a Graph object without secret values, hints and key blobs (the payload kept beside
    the normalised columns); where secrets were is appended to `found` (``passwordCredentials[0].secretText``),
    never the values."""
    if isinstance(obj, list):
        return [scrub(v, found, f"{path}[{i}]") for i, v in enumerate(obj)]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for k, v in obj.items():
        if _is_secret_key(k):
            if v not in (None, "", [], {}):
                found.append(f"{path}.{k}" if path else k)
        elif k == "key":  # a certificate's public blob, or a symmetric key (a secret)
            if v and str(obj.get("type") or "").lower() == "symmetric":
                found.append(f"{path}.{k}" if path else k)
        elif k != "hint":  # the first characters of a client secret
            out[k] = scrub(v, found, f"{path}.{k}" if path else k) if isinstance(v, (dict, list)) else v
    return out


def export_records(export: GraphExport, tenant: str, warn: WarnFn) -> list[Record]:
    """Join and normalise a whole export into records (see the module docstring)."""
    tenant = tenant.lower()
    records: list[Record] = []
    by_app_id: dict[str, _Identity] = {}
    identities: list[_Identity] = []

    def ident_for(app_id: str | None, oid: str) -> _Identity:
        if app_id and app_id in by_app_id:
            return by_app_id[app_id]
        ident = _Identity(app_id, None, None)
        identities.append(ident)
        if app_id:
            by_app_id[app_id] = ident
        ident.ref = f"ext:entra:{app_id or oid}"
        return ident

    for oid, sp in sorted(export.service_principals.items()):
        app_id = _lower(sp.data.get("appId"))
        ident = ident_for(app_id, oid)
        if ident.sp is not None:
            warn(sp.where, f"a second service principal with appId {app_id} (also {ident.sp.where}); "
                           "only the first is imported")
            continue
        ident.sp = sp
    for oid, app in sorted(export.applications.items()):
        app_id = _lower(app.data.get("appId"))
        ident = ident_for(app_id, oid)
        if ident.app is not None:
            warn(app.where, f"a second application with appId {app_id}; only the first is imported")
            continue
        ident.app = app

    ref_of: dict[str, str] = {}  # object id (sp, app, user, group) -> ref
    app_roles: dict[str, dict[str, str]] = defaultdict(dict)  # sp object id -> appRoleId -> value
    for ident in identities:
        sp = ident.sp.data if ident.sp else {}
        app = ident.app.data if ident.app else {}
        types = {_odata_name(sp), _odata_name(app)}
        sp_type = str(sp.get("servicePrincipalType") or "").lower()
        if types & _AGENT_TYPES or sp_type == "serviceidentity":
            ident.kind = "agent"
        elif sp_type == "managedidentity":
            ident.kind = "managed_identity"
        owner_tenant = _lower(sp.get("appOwnerOrganizationId"))
        ident.first_party = (ident.kind == "service_principal" and not app and owner_tenant in MICROSOFT_TENANTS
                             and tenant not in MICROSOFT_TENANTS)
        if ident.first_party:
            ident.ref = f"key:application:{tenant}/{ident.app_id or _lower(sp.get('id'))}"
        for obj in (sp, app):
            if obj.get("id"):
                ref_of[obj["id"].lower()] = ident.ref
            for role in obj.get("appRoles") or ():
                if isinstance(role, dict) and role.get("id"):
                    app_roles[_lower(sp.get("id")) or ""].setdefault(role["id"].lower(), role.get("value") or "")

    last_used = _sign_in_dates(export, warn)
    for ident in identities:
        if ident.first_party:
            records.append(_first_party_node(ident, tenant))
        else:
            records.extend(_identity_records(ident, tenant, last_used.get(ident.app_id or ""), warn))

    # People who own or sponsor, the groups that sponsor, and every agent user (an agent's user account).
    people = {uid: u for uid, u in export.users.items() if _odata_name(u.data) == "agentuser"}
    for _relation, _parent, member in export.relations:
        mid = member.data["id"].lower()
        kind = object_type(member.data, DIRECTORY_OBJECT)
        if kind == USER:
            _merge_into(people, mid, member)
        elif kind == GROUP:
            _merge_into(export.groups, mid, member)
        elif kind == SERVICE_PRINCIPAL and mid not in ref_of:
            ref_of[mid] = f"ext:entra:{mid}"  # a service principal outside the export
    for mid in sorted(people):
        full = export.users.get(mid)
        if full is not None:
            _merge_into(people, mid, full)
        ref_of[mid] = f"ext:entra:{mid}"
        person_record = _person_record(people[mid], tenant)
        records.append(person_record)
        for path in person_record.attributes.pop("_secrets"):
            records.append(FindingRecord(ref_of[mid], "secret-in-data", "NHI2", "high",
                                         f"user.{path} of {person_record.name!r} holds a secret value; it was "
                                         "not stored (rotate it)", people[mid].where))
    for gid, group in sorted(export.groups.items()):
        ref_of[gid] = f"key:group:{tenant}/{gid}"
        records.append(NodeRecord(ref=ref_of[gid], kind="group", name=str(group.data.get("displayName") or gid),
                                  authority=tenant, source_record=group.where, guid=None,
                                  attributes={"objectId": gid, "displayName": group.data.get("displayName")}))

    def resolve(oid: str) -> str:
        return ref_of.get(oid.lower(), f"ext:entra:{oid.lower()}")

    def parent_ref(parent: str) -> str | None:
        return ref_of.get(parent) or (by_app_id[parent].ref if parent in by_app_id else None)

    seen_edges: set[tuple[str, str, str]] = set()
    for relation, parent, member in export.relations:
        src = parent_ref(parent)
        if src is None:
            warn(member.where, f"{relation} of object {parent}, which is not in the export")
            continue
        dst = resolve(member.data["id"])
        if (src, dst, relation) in seen_edges:
            continue
        seen_edges.add((src, dst, relation))
        records.append(EdgeRecord(src, dst, "ManagedBy", member.where, {"role": relation.rstrip("s")}))

    for parent, fic in export.federated:
        owner = parent_ref(parent)
        if owner is None:
            warn(fic.where, f"federated credential of application {parent}, which is not in the export")
            continue
        records.extend(_federated_records(owner, fic, tenant))

    records.extend(_app_role_edges(export, resolve, lambda oid: oid.lower() in ref_of, app_roles, tenant))
    records.extend(_delegated_edges(export, resolve))
    for ident in identities:  # agent identities sign in through their blueprint's credentials
        sp = ident.sp.data if ident.sp else {}
        blueprint = _lower(sp.get("agentIdentityBlueprintId"))
        if blueprint and blueprint in by_app_id and by_app_id[blueprint] is not ident:
            records.append(EdgeRecord(ident.ref, by_app_id[blueprint].ref, "SharesCredential", ident.sp.where,
                                      {"via": "agentIdentityBlueprint", "blueprintAppId": blueprint}))

    if export.truncated:
        warn(export.truncated[0], f"{len(export.truncated)} nested value(s) were saved as type names "
                                  "(PowerShell ConvertTo-Json below its -Depth): those credentials are missing; "
                                  "export again with ConvertTo-Json -Depth 10")
    for name, count in sorted(export.ignored.items()):
        warn("entra", f"{count} {name} object(s) ignored")
    return records


def _lower(v: Any) -> str | None:
    return v.strip().lower() if isinstance(v, str) and v.strip() else None


def _sign_in_dates(export: GraphExport, warn: WarnFn) -> dict[str, datetime]:
    latest: dict[str, datetime] = {}
    for rec in export.sign_ins:
        app_id = _sign_in_app_id(rec.data)
        assert app_id is not None  # checked when added
        for f in _SIGN_IN_FIELDS:
            activity = rec.data.get(f)
            if not isinstance(activity, dict):
                continue
            raw = activity.get("lastSignInDateTime")
            try:
                when = parse_graph_datetime(raw)
            except ValueError as exc:
                warn(rec.where, f"{f}.lastSignInDateTime: {exc}; left empty")
                continue
            if when is not None and (app_id not in latest or when > latest[app_id]):
                latest[app_id] = when
    return latest


def _date(obj: dict[str, Any], name: str, where: str, warn: WarnFn) -> datetime | None:
    try:
        return parse_graph_datetime(obj.get(name))
    except ValueError as exc:
        warn(where, f"{name}: {exc}; left empty")
        return None


def _first_party_node(ident: _Identity, tenant: str) -> NodeRecord:
    sp = ident.sp.data  # type: ignore[union-attr]
    return NodeRecord(ref=ident.ref, kind="application", name=str(sp.get("displayName") or ident.app_id),
                      authority=tenant, source_record=ident.sp.where,  # type: ignore[union-attr]
                      description="Microsoft first-party application",
                      attributes={"appId": ident.app_id, "objectId": sp.get("id"),
                                  "appOwnerOrganizationId": sp.get("appOwnerOrganizationId"),
                                  "servicePrincipalType": sp.get("servicePrincipalType")})


def _managed_identity_resource(sp: dict[str, Any]) -> tuple[bool | None, str | None]:
    """(explicit = user-assigned?, ARM resource id) from alternativeNames, in any order and casing."""
    explicit = None
    arm = None
    for name in sp.get("alternativeNames") or ():
        if not isinstance(name, str):
            continue
        low = name.strip().lower()
        if low.startswith("isexplicit="):
            explicit = low.split("=", 1)[1] == "true"
        elif low.startswith("/subscriptions/"):
            arm = name.strip()
    if explicit is None and arm:
        explicit = "/providers/microsoft.managedidentity/userassignedidentities/" in arm.lower()
    return explicit, arm


def _identity_records(ident: _Identity, tenant: str, last_used: datetime | None, warn: WarnFn) -> list[Record]:
    sp = ident.sp.data if ident.sp else {}
    app = ident.app.data if ident.app else {}
    primary = ident.sp or ident.app
    assert primary is not None
    where = primary.where
    name = str(sp.get("displayName") or app.get("displayName") or sp.get("appDisplayName") or ident.app_id
               or primary.data.get("id"))
    out: list[Record] = []
    flags: list[str] = []
    classification = []
    types = [t for t in (_odata_name(sp), _odata_name(app)) if t in _AGENT_TYPES]
    if ident.kind == "agent":
        flags.append("AgentId")
        classification.append("Entra Agent ID " + (" + ".join(types) if types else "agent identity"))
    elif ident.kind == "managed_identity":
        explicit, arm = _managed_identity_resource(sp)
        flags.append("UserAssigned" if explicit else "SystemAssigned" if explicit is False else "ManagedIdentity")
        classification.append(("user-assigned" if explicit else "system-assigned" if explicit is False else "")
                              + " managed identity" + (f" of {arm}" if arm else ""))
        if arm and explicit is False:  # the Azure resource runs as its system-assigned identity
            res_ref = f"key:resource:azure:{arm.lower()}"
            out.append(NodeRecord(ref=res_ref, kind="resource", name=arm.rstrip("/").rsplit("/", 1)[-1],
                                  authority=tenant, source_record=where, attributes={"azureResourceId": arm}))
            out.append(EdgeRecord(res_ref, ident.ref, "UsesIdentity", where, {"via": "system-assigned"}))
    else:
        sp_type = sp.get("servicePrincipalType")
        classification.append(f"Entra service principal ({sp_type})" if sp else "Entra app registration")
    if app and sp:
        flags.append("AppRegistration")
        classification.append("with its app registration")
    elif app:
        flags.append("NoServicePrincipal")
        classification.append("without a service principal in this tenant")
    owner_tenant = _lower(sp.get("appOwnerOrganizationId"))
    if owner_tenant and owner_tenant != tenant and ident.kind != "managed_identity":
        flags.append("ExternalApp")
        classification.append(f"owned by tenant {owner_tenant}")
    if str(sp.get("servicePrincipalType") or "").lower() == "legacy":
        flags.append("Legacy")
    if sp.get("disabledByMicrosoftStatus") not in (None, "", "NotDisabled"):
        flags.append("DisabledByMicrosoft")

    findings: list[Record] = []
    description = None
    for obj, label in ((sp, "servicePrincipal"), (app, "application")):
        for fname in ("description", "notes", "appDescription"):
            text = obj.get(fname)
            if not isinstance(text, str) or not text.strip():
                continue
            redacted, found = redact_text(text)
            if found:
                findings.append(FindingRecord(ident.ref, "secret-in-description", "NHI2", "high",
                                              f"a password is written in {label}.{fname} of {name!r}; "
                                              "it was not stored", obj_where(ident, label)))
                obj[fname] = redacted
            if description is None and fname != "appDescription":
                description = redacted
    payload: dict[str, Any] = {}
    for obj, label in ((sp, "servicePrincipal"), (app, "application")):
        if not obj:
            continue
        secrets: list[str] = []
        payload[label] = scrub(obj, secrets)
        for path in secrets:
            findings.append(FindingRecord(ident.ref, "secret-in-data", "NHI2", "high",
                                          f"{label}.{path} of {name!r} holds a secret value; it was not stored "
                                          "(rotate it)", obj_where(ident, label)))
    created = _date(sp, "createdDateTime", where, warn) or (_date(app, "createdDateTime", where, warn)
                                                             if app else None)
    oids = [o for o in (_lower(sp.get("id")), _lower(app.get("id"))) if o]
    external = [f"ext:entra:{x}" for x in dict.fromkeys([*(x for x in [ident.app_id] if x), *oids])]
    attributes: dict[str, Any] = {"appId": ident.app_id, "tenant": tenant, **payload}
    if sp.get("agentIdentityBlueprintId"):
        attributes["agentIdentityBlueprintId"] = sp["agentIdentityBlueprintId"]
    out.insert(0, IdentityRecord(
        ref=ident.ref, kind=ident.kind, name=name, authority=tenant, source_record=where,
        key=f"{tenant}/{ident.app_id or oids[0]}", display_name=name, external_ids=external,
        enabled=sp.get("accountEnabled") if isinstance(sp.get("accountEnabled"), bool) else None,
        created=created, last_used=last_used, description=description, flags=flags,
        classification=", ".join(c for c in classification if c).strip(), attributes=attributes))
    seen: set[tuple[str, str]] = set()
    for obj, label in ((app, "application"), (sp, "servicePrincipal")):
        for cred in obj.get("passwordCredentials") or ():
            cid = cred["keyId"].lower()
            if ("client_secret", cid) in seen:
                continue
            seen.add(("client_secret", cid))
            out.append(CredentialRecord(
                ident.ref, "client_secret", cid, obj_where(ident, label),
                created=_date(cred, "startDateTime", where, warn), expires=_date(cred, "endDateTime", where, warn),
                attributes={"keyId": cid, "displayName": cred.get("displayName"), "on": label,
                            "startDateTime": cred.get("startDateTime"), "endDateTime": cred.get("endDateTime")}))
        for cred in obj.get("keyCredentials") or ():
            cid = cred["keyId"].lower()
            if ("certificate", cid) in seen:
                continue
            seen.add(("certificate", cid))
            out.append(CredentialRecord(
                ident.ref, "certificate", cid, obj_where(ident, label),
                created=_date(cred, "startDateTime", where, warn), expires=_date(cred, "endDateTime", where, warn),
                attributes={"keyId": cid, "usage": cred.get("usage"), "type": cred.get("type"),
                            "displayName": cred.get("displayName"), "on": label,
                            "thumbprint": cred.get("customKeyIdentifier"),
                            "endDateTime": cred.get("endDateTime")}))
    return out + findings


def obj_where(ident: _Identity, label: str) -> str:
    holder = ident.app if label == "application" else ident.sp
    return (holder or ident.sp or ident.app).where  # type: ignore[union-attr]


def _person_record(person: GraphObject, tenant: str) -> IdentityRecord:
    u = person.data
    oid = u["id"].lower()
    upn = u.get("userPrincipalName") if isinstance(u.get("userPrincipalName"), str) else None
    mails = [m for m in [u.get("mail"), *(u.get("otherMails") or [])] if isinstance(m, str) and m]
    sid = u.get("onPremisesSecurityIdentifier")
    agent = _odata_name(u) == "agentuser"
    name = str(u.get("displayName") or upn or oid)
    secrets: list[str] = []
    return IdentityRecord(
        ref=f"ext:entra:{oid}", kind="agent" if agent else "person", name=name, authority=tenant,
        source_record=person.where, key=f"{tenant}/{oid}", display_name=name, upn=upn,
        sid=sid if isinstance(sid, str) and sid.upper().startswith("S-1-") else None,
        guid=guid_from_immutable_id(u.get("onPremisesImmutableId")), external_ids=[f"ext:entra:{oid}"],
        emails=list(dict.fromkeys(m.lower() for m in mails)),
        enabled=u.get("accountEnabled") if isinstance(u.get("accountEnabled"), bool) else None,
        flags=["AgentUser"] if agent else [],
        classification="Entra agent user" if agent else "Entra user (owner or sponsor)",
        attributes={"user": scrub(u, secrets), "_secrets": secrets})


def _federated_records(owner_ref: str, fic: GraphObject, tenant: str) -> list[Record]:
    d = fic.data
    issuer, subject = d["issuer"].strip(), d["subject"].strip()
    audiences = d.get("audiences") if isinstance(d.get("audiences"), list) else []
    cid = str(d.get("id") or d.get("name") or f"{issuer}#{subject}").lower()
    workload = f"key:workload:{issuer}#{subject}"
    return [
        CredentialRecord(owner_ref, "federated", cid, fic.where,
                         attributes={"issuer": issuer, "subject": subject, "audiences": audiences,
                                     "name": d.get("name"), "description": d.get("description")}),
        NodeRecord(ref=workload, kind="application", name=subject, authority=tenant, source_record=fic.where,
                   description=f"workload federated from {issuer}",
                   attributes={"issuer": issuer, "subject": subject, "platform": _platform(issuer, subject)}),
        EdgeRecord(workload, owner_ref, "FederatedCredential", fic.where,
                   {"issuer": issuer, "subject": subject, "audiences": audiences}),
    ]


def _platform(issuer: str, subject: str) -> str:
    if "token.actions.githubusercontent.com" in issuer:
        return "github-actions"
    if subject.startswith("system:serviceaccount:"):
        return "kubernetes"
    if "gitlab" in issuer:
        return "gitlab"
    if issuer.startswith("https://login.microsoftonline.com/") or "sts.windows.net" in issuer:
        return "entra"
    return "oidc"


def _app_role_edges(export: GraphExport, resolve: Callable[[str], str], known: Callable[[str], bool],
                    app_roles: dict[str, dict[str, str]], tenant: str) -> list[Record]:
    grouped: dict[tuple[str, str], list[GraphObject]] = defaultdict(list)
    for a in export.app_role_assignments:
        ptype = str(a.data.get("principalType") or "ServicePrincipal")
        if ptype.lower() != "serviceprincipal":  # users and groups assigned to an app are not NHI grants
            continue
        grouped[(a.data["principalId"].lower(), a.data["resourceId"].lower())].append(a)
    out: list[Record] = []
    for (principal, resource), items in sorted(grouped.items()):
        assignments = []
        for a in items:
            role_id = str(a.data.get("appRoleId") or DEFAULT_ACCESS_ROLE).lower()
            role = None if role_id == DEFAULT_ACCESS_ROLE else (app_roles.get(resource, {}).get(role_id) or None)
            entry = {"appRoleId": role_id, "role": role}
            if entry not in assignments:
                assignments.append(entry)
        dst = resolve(resource)
        if not known(resource):  # a resource outside the export: name it from the assignment
            dst = f"key:application:{tenant}/{resource}"
            out.append(NodeRecord(ref=dst, kind="application",
                                  name=str(items[0].data.get("resourceDisplayName") or resource), authority=tenant,
                                  source_record=items[0].where, attributes={"objectId": resource}))
        out.append(EdgeRecord(resolve(principal), dst, "AppRoleAssignment", items[0].where, {
            "appRoleIds": [x["appRoleId"] for x in assignments],
            "roles": [x["role"] for x in assignments if x["role"]],
            "assignments": assignments,
            "resourceDisplayName": items[0].data.get("resourceDisplayName"),
        }))
    return out


def _delegated_edges(export: GraphExport, resolve: Callable[[str], str]) -> list[Record]:
    grouped: dict[tuple[str, str], list[GraphObject]] = defaultdict(list)
    for g in export.delegated_grants:
        grouped[(g.data["clientId"].lower(), g.data["resourceId"].lower())].append(g)
    out: list[Record] = []
    for (client, resource), items in sorted(grouped.items()):
        scopes: list[str] = []
        grants = []
        for g in items:
            raw = g.data.get("scope")
            these = raw.split() if isinstance(raw, str) else []
            scopes.extend(s for s in these if s not in scopes)
            grants.append({"scope": " ".join(these), "consentType": g.data.get("consentType"),
                           "principalId": g.data.get("principalId")})
        consent = "AllPrincipals" if any(x["consentType"] == "AllPrincipals" for x in grants) else "Principal"
        out.append(EdgeRecord(resolve(client), resolve(resource), "DelegatedGrant", items[0].where, {
            "scope": " ".join(scopes), "scopes": scopes, "consentType": consent,
            "principalIds": sorted({x["principalId"] for x in grants if x["principalId"]}),
            "grants": grants,
        }))
    return out


def records_in_batches(records: Iterable[Record], size: int = 1000) -> list[list[Record]]:
    out: list[list[Record]] = []
    batch: list[Record] = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            out.append(batch)
            batch = []
    if batch:
        out.append(batch)
    return out
