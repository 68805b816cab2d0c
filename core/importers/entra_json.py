"""The `entra-json` importer: Microsoft Graph JSON saved from Graph Explorer, `az rest` or PowerShell.

Recognised by content: a Graph page (``{"@odata.context": "…$metadata#servicePrincipals",
"value": [...]}``), a single object, a bare array of Graph objects, several pages
in one file (an array of pages, pages one after another, JSON Lines), the
legacy Azure AD Graph shape (``odata.metadata``, ``objectType``), and
``Get-Mg… | ConvertTo-Json -Depth 10`` output (PascalCase, ``AdditionalProperties``).
UTF-8 with or without BOM and UTF-16 (Windows PowerShell's ``Out-File``) are read.

What a file holds is told by its ``@odata.context``, else by each object's
``@odata.type``, else by its fields. One import reads every file it is given as
ONE export and joins them (an app registration in one file, its service
principal in another), so the tenant is best exported as a folder:

```
export/
  organization.json                     GET /organization                 (names the tenant)
  servicePrincipals.json                GET /servicePrincipals?$expand=owners
  applications.json                     GET /applications?$expand=owners
  oauth2PermissionGrants.json           GET /oauth2PermissionGrants
  appRoleAssignments.json               GET /servicePrincipals/{id}/appRoleAssignments, all of them
  servicePrincipalSignInActivities.json GET beta/reports/servicePrincipalSignInActivities
  users.json                            GET /users?$select=id,displayName,userPrincipalName,mail,
                                            accountEnabled,onPremisesSecurityIdentifier,onPremisesImmutableId
  owners/<object id>.json               GET /servicePrincipals/{id}/owners  (or /applications/{id}/owners)
  sponsors/<object id>.json             GET beta/servicePrincipals/{id}/Microsoft.Graph.AgentIdentity/sponsors
  federatedIdentityCredentials/<application object id>.json
                                        GET /applications/{id}/federatedIdentityCredentials
```

File names matter only where Graph's answer does not say whose list it is
(owners and sponsors come back as ``#directoryObjects``; a PowerShell array has
no context at all): then the object id (or appId) of the owning object must be
in the file or folder name, and the words ``owners``/``sponsors`` in the path
say which relation it is. Everything else may be named and arranged freely.

The tenant (the identities' authority) is, in order: ``--authority``, the id of
``organization.json``, a tenant named in the data (``@odata.id``, the legacy
``odata.metadata``), or the owner tenant of the service principals whose app
registrations are in the export. Use the tenant id, as the live pull does, so
that a later ``nhiplan entra`` maps onto this import.
"""

from __future__ import annotations

import codecs
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..records import Record
from .base import BATCH_SIZE, ImportContext, Importer, ImporterOption
from .entra_common import (
    DIRECTORY_OBJECT,
    OWNERS,
    SPONSORS,
    GraphExport,
    export_records,
    infer_tenant,
    json_kind,
    parse_context,
    records_in_batches,
)

_STATE = "__entra_json_export__"  # where one import's GraphExport waits in ctx.options until finish()
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_CONTEXT = re.compile(r'"@odata\.context"\s*:\s*"([^"]*\$metadata#[^"]*)"')
_LEGACY_CONTEXT = re.compile(r'"odata\.metadata"\s*:\s*"https://graph\.windows\.net/([^/"]+)/\$metadata#[^"]*"')
_MARKERS = re.compile(
    r'"(?:@odata\.type|odata\.type)"\s*:\s*"#?microsoft\.(?:graph|directoryservices)\.'
    r'(?:servicePrincipal|application|user|agentIdentity\w*|agentUser|appRoleAssignment|oAuth2PermissionGrant|'
    r'federatedIdentityCredential|servicePrincipalSignInActivity|organization)"'
    r'|"(?:servicePrincipalType|appOwnerOrganizationId|lastSignInActivity)"\s*:'
    r'|"objectType"\s*:\s*"(?:ServicePrincipal|Application)"', re.I)
# Field pairs (compared lower-case) that together mark a Graph object without any of the markers above.
_PAIRS = (('"approleid"', '"principalid"'), ('"consenttype"', '"clientid"'), ('"signinaudience"', '"appid"'),
          ('"issuer"', '"audiences"'), ('"userprincipalname"', '"businessphones"'),
          ('"userprincipalname"', '"onpremisessecurityidentifier"'), ('"verifieddomains"', '"id"'))


def decode_text(raw: bytes, where: str) -> str:
    """File bytes as text: UTF-8 (BOM optional) or UTF-16 with its BOM; anything else is bad input."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise BadInput(where, f"not valid UTF-16 text at byte {exc.start}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BadInput(f"{where}:{line}", "not UTF-8 text (save the export as UTF-8)") from None


def json_values(text: str, where: str) -> list[tuple[Any, int]]:
    """Every top-level JSON value in `text` with the line it starts on (one, JSON Lines, or concatenated)."""
    decoder = json.JSONDecoder()
    out: list[tuple[Any, int]] = []
    pos = _skip_ws(text, 0)
    if pos >= len(text):
        raise BadInput(where, "empty file")
    while pos < len(text):
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{where}:{exc.lineno}", f"invalid JSON: {exc.msg} (column {exc.colno})") from None
        out.append((value, text.count("\n", 0, pos) + 1))
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":  # "[...],\n[...]" from naive appends
            pos = _skip_ws(text, pos + 1)
    return out


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n\x00\ufeff":
        pos += 1
    return pos


@dataclass
class _ReadState:
    export: GraphExport = field(default_factory=GraphExport)
    files: list[str] = field(default_factory=list)
    # Per collection: how many files hold its pages, and which files' last page still has an
    # @odata.nextLink. The final page never has one, so when every file ends with one, pages are missing.
    page_files: Counter[str] = field(default_factory=Counter)
    unfinished: dict[str, list[str]] = field(default_factory=dict)


class EntraJsonImporter(Importer):
    name = "entra-json"
    source_kind = "entra-json"
    family = "entra"
    reads = "Microsoft Graph JSON (Graph Explorer, az rest, Microsoft Graph PowerShell ConvertTo-Json)"
    options = (ImporterOption("authority", "the tenant id the files belong to (default: from the data)"),)

    def detect(self, path: Path, head: bytes) -> bool:
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = head[: len(head) - len(head) % 2].decode("utf-16", errors="replace")
        else:
            text = head.decode("utf-8-sig", errors="replace")
        text = text.lstrip(" \t\r\n\x00\ufeff")
        if text[:1] not in ("{", "["):
            return False
        window = text[:16384]
        m = _CONTEXT.search(window)
        if m and parse_context(m.group(1))[0] is not None:
            return True
        if _LEGACY_CONTEXT.search(window):
            return True
        if "urn:ietf:params:scim" in window:
            return False
        if _MARKERS.search(window):
            return True
        low = window.lower()
        return any(a in low and b in low for a, b in _PAIRS)

    def read(self, path: Path, ctx: ImportContext) -> Iterator[list[Record]]:
        """Read one file into this import's export; the records come from finish() once all are read."""
        ctx.check_cancelled()
        state: _ReadState = ctx.options.setdefault(_STATE, _ReadState())
        where = str(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise BadInput(where, f"cannot read: {exc.strerror or exc}") from None
        values = json_values(decode_text(raw, where), where)
        _FileReader(path, state, multi=len(values) > 1).read(values)
        state.files.append(where)
        ctx.report(len(state.files), None, f"read {path.name}")
        yield from ()

    def finish(self, ctx: ImportContext) -> Iterator[list[Record]]:
        """Join everything read in this import and yield its records."""
        state: _ReadState | None = ctx.options.pop(_STATE, None)
        if state is None:
            return
        export = state.export
        for collection, files in sorted(state.unfinished.items()):
            if len(files) == state.page_files[collection]:  # no file holds the last page of this collection
                ctx.warn(files[-1], f"the {collection} pages end with @odata.nextLink: the export is incomplete "
                                    "(save every page, following @odata.nextLink until there is none)")
        tenant = ctx.options.get("authority") or infer_tenant(export)
        if not tenant:
            raise BadInput(state.files[0], "cannot tell which tenant this export is from: add organization.json "
                                           "(GET /organization) to the export, or give --authority TENANT-ID")
        records = export_records(export, tenant, ctx.warn)
        yield from records_in_batches(records, BATCH_SIZE)


_RELATION_WORD = re.compile(r"(?<![a-z])(owners?|sponsors?)(?![a-z])")


class _FileReader:
    """Walks the JSON values of one file and adds every Graph object in them to the export."""

    def __init__(self, path: Path, state: _ReadState, multi: bool):
        self.where = str(path)
        self.state = state
        self.multi = multi
        self.count = 0
        self.last_page_has_next: dict[str, bool] = {}
        words = _RELATION_WORD.findall(f"{path.parent.name.lower()} {path.stem.lower()}")
        self.path_relation = (SPONSORS if any(w.startswith("sponsor") for w in words)
                              else OWNERS if words else None)
        named = _GUID.search(path.stem) or _GUID.search(path.parent.name)
        self.path_parent = named.group(0).lower() if named else None

    def read(self, values: list[tuple[Any, int]]) -> None:
        for value, line in values:
            here = f"{self.where}:{line}" if self.multi else self.where
            if isinstance(value, dict):
                self._value(value, here)
            elif isinstance(value, list):
                if value and all(_is_page(v) for v in value):
                    for page in value:
                        self._value(page, here)
                else:
                    for item in value:
                        self._object(item, None, None, None)
            else:
                raise BadInput(here, "expected a Graph page, an object or a list of objects, "
                                     f"found {json_kind(value)}")
        if self.count == 0:
            raise BadInput(self.where, "no Graph objects in this file")
        for collection, has_next in self.last_page_has_next.items():
            self.state.page_files[collection] += 1
            if has_next:
                self.state.unfinished.setdefault(collection, []).append(self.where)

    def _value(self, value: dict[str, Any], here: str) -> None:
        error = value.get("error")
        if isinstance(error, dict) and "value" not in value:
            raise BadInput(here, f"is a Graph error response ({error.get('code')}: {error.get('message')}), "
                                 "not data")
        context = value.get("@odata.context")
        legacy = value.get("odata.metadata")
        if isinstance(legacy, str):
            m = re.match(r"https://graph\.windows\.net/([^/]+)/\$metadata", legacy)
            if m:
                self.state.export.add_tenant_hint(m.group(1))
        hint, relation, parent = parse_context(context if isinstance(context, str) else legacy)
        if "value" not in value:
            self._object(value, hint, relation, parent)
            return
        items = value["value"]
        if not isinstance(items, list):
            raise BadInput(here, f"'value' is {json_kind(items)}, expected a list")
        for item in items:
            self._object(item, hint, relation, parent)
        next_link = value.get("@odata.nextLink") or value.get("odata.nextLink")
        self.last_page_has_next[hint or "objects"] = bool(next_link)

    def _object(self, item: Any, hint: str | None, relation: str | None, parent: str | None) -> None:
        self.count += 1
        where = f"{self.where}: record {self.count}"
        if relation not in (OWNERS, SPONSORS, "federatedIdentityCredentials"):
            relation = self.path_relation if hint in (DIRECTORY_OBJECT, None) else None
        parent = parent or self.path_parent
        if relation in (OWNERS, SPONSORS) and not parent:
            raise BadInput(where, f"cannot tell whose {relation} these are: name the file after the owning "
                                  f"object's id ({relation}/<object id>.json)")
        self.state.export.add(item, where, hint=hint, relation=relation if relation in (OWNERS, SPONSORS)
                              else None, parent=parent)


def _is_page(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("value"), list) and any(
        k in value for k in ("@odata.context", "@odata.nextLink", "odata.metadata", "odata.nextLink"))
