"""Normalised records: what importers yield and ingest writes.

Importers know nothing of the database. They turn a source (a file, a live
directory) into these plain records; `core.ingest` correlates them with what the
project already holds and writes one import run in one transaction.

References between records are *refs*: strings that name a node the way the
source names it, resolved by ingest within the import run and then against the
project. The forms are:

- ``dn:<dn, lower-cased>``   an LDAP distinguished name
- ``sid:<S-1-...>``          a Windows security identifier
- ``guid:<uuid>``            an AD objectGUID
- ``spn:<class/host...>``    a Kerberos service principal name (lower-cased)
- ``host:<fqdn>``            a host known only by name (from an SPN or a sign-in)
- ``key:<node key>``         a node key that the importer already knows
- ``ext:<source>:<id>``      an identifier of another system (SCIM id, appId)
- ``upn:<upn>`` / ``email:<address>``  an identity known by its sign-in name or mail
  (how SCIM accounts point at the directory identity they were provisioned from)

Every record carries ``source_record``: where in the source it came from
(``file.ldif:123`` or ``ldap://dc01/CN=...``), which ingest stores as provenance
and which error messages quote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The identity kinds of CONTRACT.md.
IDENTITY_KINDS = (
    "service_account",
    "gmsa",
    "smsa",
    "dmsa",
    "service_principal",
    "managed_identity",
    "agent",
    "scim_account",
    "person",
)

# Nodes of the graph that are not identities.
NODE_KINDS = ("group", "computer", "host", "application", "resource")

CREDENTIAL_KINDS = ("password", "client_secret", "certificate", "federated", "key")


@dataclass(slots=True)
class IdentityRecord:
    """One account as one source sees it."""

    ref: str  # how other records of the same run point at it (usually dn:... or ext:...)
    kind: str  # one of IDENTITY_KINDS
    name: str  # sAMAccountName as stored, displayName, userName ...
    authority: str  # AD domain (dns form, lower-case) or tenant id or SCIM service
    source_record: str
    key: str | None = None  # a stable project key the importer chooses; default authority/name
    display_name: str | None = None
    dn: str | None = None
    upn: str | None = None
    sid: str | None = None
    guid: str | None = None
    external_ids: list[str] = field(default_factory=list)  # correlation handles: ext:... refs
    emails: list[str] = field(default_factory=list)
    enabled: bool | None = None
    created: datetime | None = None
    last_used: datetime | None = None
    password_last_set: datetime | None = None
    expires: datetime | None = None
    description: str | None = None  # already redacted of secrets
    flags: list[str] = field(default_factory=list)  # decoded userAccountControl names etc.
    spns: list[str] = field(default_factory=list)
    classification: str = ""  # why it is (or is not) a service account, in words
    attributes: dict[str, Any] = field(default_factory=dict)  # raw payload minus secrets


@dataclass(slots=True)
class NodeRecord:
    """A graph node that is not an identity: group, computer, host, application."""

    ref: str
    kind: str  # one of NODE_KINDS (or 'principal' for an unresolved SID)
    name: str
    authority: str
    source_record: str
    dn: str | None = None
    sid: str | None = None
    guid: str | None = None
    description: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CredentialRecord:
    """Metadata of one credential. Never the secret value."""

    owner_ref: str
    kind: str  # one of CREDENTIAL_KINDS
    credential_id: str  # stable within the owner: 'password', a keyId, a thumbprint
    source_record: str
    created: datetime | None = None
    expires: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class EdgeRecord:
    """A directed relation; its kind is a name from core.edge_kinds."""

    src_ref: str
    dst_ref: str
    kind: str
    source_record: str
    attributes: dict[str, Any] = field(default_factory=dict)
    # An optional edge is dropped when an end resolves to nothing known, instead of making a
    # placeholder node: a guess such as "the directory identity with this UPN" may have no match.
    optional: bool = False


@dataclass(slots=True)
class FindingRecord:
    """Something the importer noticed about a node (e.g. a secret in a description)."""

    subject_ref: str
    code: str  # short machine name: 'secret-in-description'
    tag: str  # OWASP NHI id: 'NHI2'
    severity: str  # low | medium | high
    message: str  # never contains a secret value
    source_record: str


Record = IdentityRecord | NodeRecord | CredentialRecord | EdgeRecord | FindingRecord


@dataclass(slots=True)
class ImportWarning:
    """A non-fatal problem: shown to the user, stored with the import run."""

    source_record: str
    message: str


@dataclass(slots=True)
class PullResult:
    """What one source read: the one type every source returns, file or live.

    A source only fetches and normalises; the services layer decides what to
    write. `complete` says whether `records` is the whole of what the source
    claims to be (every page, every range, no truncated file); when it is not,
    `why_incomplete` says what is missing in plain words, and nothing that the
    result lacks may be taken as vanished.
    """

    records: list[Record]
    warnings: list[ImportWarning]
    authority: str | None
    complete: bool = True
    why_incomplete: str | None = None
    source_kind: str = ""  # the `sources` value of CONTRACT.md: 'ldif', 'ldap', 'scim', ...
    family: str = ""  # 'ad', 'entra', 'scim': a re-import of the same family and authority replaces its facts
    source: str = ""  # where it was read, for provenance and messages: files, a URL
    files: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)  # what a live pull counted: entries, pages, requests

    def mark_incomplete(self, why: str) -> None:
        """Record one more reason the result is not the whole source (reasons accumulate)."""
        self.complete = False
        self.why_incomplete = f"{self.why_incomplete}; {why}" if self.why_incomplete else why
