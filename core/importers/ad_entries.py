"""The shared Active Directory normaliser: one directory entry in, records out.

Every AD source — LDIF files, a live LDAP pull, PowerShell CSV, ldapdomaindump —
ends up as the same thing: an entry, i.e. a mapping of attribute name → list of
values (``str`` or ``bytes``), with the DN under ``dn`` (or
``distinguishedName``). ``AdEntryNormaliser`` turns such an entry into the
records of ``core.records``: the identity (service account, gMSA, sMSA, dMSA or
person) or graph node (computer, group), its password credential, its edges
(membership, delegation, gMSA password readers, ownership, SPN hosts) and the
findings about secrets it carried. Keeping this in one place means a value means
the same whichever export it came from.

Input rules: attribute names are case-insensitive; the options ``;binary`` and
``;range=…`` (AD range retrieval) are folded into the plain attribute here, other
options (``;lang-de``) stay distinct. Secret attributes are dropped before
anything else looks at the entry, and passwords written into free text are
redacted (``core.secrets``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from sys import intern
from types import MappingProxyType
from typing import Any

from ..errors import BadInput
from ..records import CredentialRecord, EdgeRecord, FindingRecord, IdentityRecord, NodeRecord, Record
from ..secrets import REDACTED, SECRET_ATTRIBUTES, redact_text
from . import ad_codec
from .ad_rules import ServiceAccountRule, _split_dn

Value = str | bytes
Entry = dict[str, list[Value]]  # JSON and ldap3 sources may also hand over ints, bools and datetimes

# Attributes whose values are binary by syntax: kept as base64 in the raw payload.
BINARY_ATTRIBUTES = frozenset(
    {
        "objectsid",
        "objectguid",
        "sidhistory",
        "tokengroups",
        "ms-ds-creatorsid",
        "msds-allowedtoactonbehalfofotheridentity",
        "msds-groupmsamembership",
        "msds-managedpasswordid",
        "msds-managedpasswordpreviousid",
        "msds-generationid",
        "msds-keycredentiallink",
        "ntsecuritydescriptor",
        "logonhours",
        "usercertificate",
        "cacertificate",
        "thumbnailphoto",
        "jpegphoto",
        "msexchmailboxguid",
        "msexchmailboxsecuritydescriptor",
        "msds-cloudanchor",
        "terminalserver",
        "userparameters",
    }
)
# Free-text attributes in which people write passwords.
FREE_TEXT_ATTRIBUTES = frozenset(
    {"description", "info", "comment", "notes", "admindescription", "wwwhomepage"}
    | {f"extensionattribute{i}" for i in range(1, 16)}
)

_USER_CLASSES = frozenset(
    {"user", "person", "organizationalperson", "inetorgperson", "account", "posixaccount", "shadowaccount"}
)
_GROUP_CLASSES = frozenset({"group", "groupofnames", "groupofuniquenames", "posixgroup"})
_SAM_USER = {"805306368"}
_SAM_MACHINE = {"805306369"}
_SAM_GROUP = {"268435456", "268435457", "536870912", "536870913"}

# SPN service classes whose "host" part is not a host (krbtgt's kadmin/changepw).
_NOT_A_HOST_CLASSES = frozenset({"kadmin"})

_WELL_KNOWN_SIDS = {
    "S-1-1-0": "Everyone",
    "S-1-3-0": "Creator Owner",
    "S-1-5-7": "Anonymous Logon",
    "S-1-5-9": "Enterprise Domain Controllers",
    "S-1-5-10": "Principal Self",
    "S-1-5-11": "Authenticated Users",
    "S-1-5-18": "Local System",
    "S-1-5-19": "Local Service",
    "S-1-5-20": "Network Service",
    "S-1-5-32-544": "BUILTIN\\Administrators",
    "S-1-5-32-545": "BUILTIN\\Users",
    "S-1-5-32-548": "BUILTIN\\Account Operators",
    "S-1-5-32-549": "BUILTIN\\Server Operators",
    "S-1-5-32-551": "BUILTIN\\Backup Operators",
}
_WELL_KNOWN_RIDS = {
    500: "Administrator",
    501: "Guest",
    502: "krbtgt",
    512: "Domain Admins",
    513: "Domain Users",
    514: "Domain Guests",
    515: "Domain Computers",
    516: "Domain Controllers",
    517: "Cert Publishers",
    518: "Schema Admins",
    519: "Enterprise Admins",
    520: "Group Policy Creator Owners",
    521: "Read-only Domain Controllers",
    525: "Protected Users",
    526: "Key Admins",
    527: "Enterprise Key Admins",
}
_BUILTIN_ACCOUNT_RIDS = frozenset({500, 501, 502, 503, 504})

_DN_SPACES = re.compile(r" [,=+]|[,=+] ")
_FSP_MARK = "cn=foreignsecurityprincipals,"


# The attributes of the edges that have none (memberships: most of a big import's records). One shared,
# read-only mapping instead of an empty dict per edge: a million edges made a million dicts.
NO_ATTRIBUTES: Any = MappingProxyType({})

_DN_REF_CACHE: dict[str, str] = {}
_DN_REF_CACHE_LIMIT = 500_000  # memberships repeat the same group DNs; bounded so memory stays flat


def dn_ref(dn: str) -> str:
    """``dn:<dn>`` lower-cased, with blanks around separators removed so that every
    source writes the same ref for the same object."""
    ref = _DN_REF_CACHE.get(dn)
    if ref is not None:
        return ref
    low = dn.strip().lower()
    if _DN_SPACES.search(low) is not None:
        parts = []
        for part in _split_dn(low):
            attr, _, value = part.partition("=")
            parts.append(f"{attr.strip()}={value.strip()}")
        low = ",".join(parts)
    ref = "dn:" + low
    if len(_DN_REF_CACHE) >= _DN_REF_CACHE_LIMIT:
        _DN_REF_CACHE.clear()
    _DN_REF_CACHE[dn] = ref
    return ref


def member_ref(dn: str) -> str:
    """The ref of a member DN; a foreign security principal (another forest) is its SID."""
    low = dn.strip().lower()
    if _FSP_MARK in low and low.startswith("cn=s-1-"):
        return "sid:" + low[3 : low.index(",")].upper()
    return dn_ref(dn)


def authority_of(dn: str) -> str | None:
    """The DNS domain named by the DC= components of a DN (``DC=corp,DC=x`` → ``corp.x``)."""
    labels = []
    for part in _split_dn(dn):
        attr, _, value = part.partition("=")
        if attr.strip().lower() == "dc" and value.strip():
            labels.append(value.strip().lower())
    return ".".join(labels) or None


_AUTHORITY_CACHE: dict[str, str | None] = {}


def _authority_cached(dn: str) -> str | None:
    # Entries share a handful of domain suffixes: key the cache on the part from the first DC=.
    low = dn.lower()
    cut = low.find(",dc=")
    suffix = dn[cut + 1 :] if cut >= 0 else dn
    try:
        return _AUTHORITY_CACHE[suffix]
    except KeyError:
        if len(_AUTHORITY_CACHE) > 10_000:
            _AUTHORITY_CACHE.clear()
        value = _AUTHORITY_CACHE[suffix] = authority_of(suffix)
        return value


def spn_host(spn: str, authority: str) -> str | None:
    """The host an SPN names (``MSSQLSvc/sql01.corp.x:1433`` → ``sql01.corp.x``); short names get the domain."""
    service_class, sep, rest = spn.partition("/")
    if not sep or service_class.lower() in _NOT_A_HOST_CLASSES:
        return None
    host = rest.split("/", 1)[0]
    if host.startswith("["):  # an IPv6 literal in brackets
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    else:
        host = host.split(":", 1)[0]
    host = host.strip().rstrip(".").lower()
    if not host:
        return None
    if "." not in host and ":" not in host:
        host = f"{host}.{authority}"
    return host


def _as_text(value: Value | int) -> str:
    if type(value) is str:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is True or value is False:
        return "TRUE" if value else "FALSE"  # LDAP's Boolean syntax
    return str(value)  # numbers and datetimes from JSON exports or ldap3


def _looks_like_text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\r\n" for c in text):
        return None
    return text


def json_values(key_lower: str, values: list[Value]) -> list[Any]:
    """Values made JSON-safe: binary attributes as base64, other bytes as text where they are text."""
    types = set(map(type, values))
    if types <= _JSON_SCALARS:
        return values
    out: list[Any] = []
    binary = key_lower.split(";", 1)[0] in BINARY_ATTRIBUTES
    for value in values:
        if isinstance(value, bytes):
            text = None if binary else _looks_like_text(value)
            out.append(text if text is not None else base64.b64encode(value).decode("ascii"))
        elif type(value) in _JSON_SCALARS:
            out.append(value)
        else:
            out.append(_as_text(value))
    return out


_JSON_SCALARS = frozenset({str, int, float, bool})
_REPEATED_VALUES = frozenset({"memberof", "member", "uniquemember", "objectclass", "managedby"})


class _Folded:
    """An entry with names folded case-insensitively and range/binary options merged."""

    __slots__ = ("has_options", "names", "values")

    def __init__(self, entry: Entry):
        values: dict[str, list[Value]] = {}
        names: dict[str, str] = {}
        copied: set[str] = set()  # keys whose list is ours to extend (never extend the caller's)
        has_options = False
        for name, raw in entry.items():
            if type(raw) is not list:
                raw = [raw] if isinstance(raw, str | bytes) else list(raw)
            low = name.lower()
            display = name
            if ";" in low:
                has_options = True
                base, *options = name.split(";")
                kept = [o for o in options if o.lower() != "binary" and not o.lower().startswith("range=")]
                display = ";".join([base, *kept])
                low = display.lower()
            have = values.get(low)
            if have is None:
                values[low] = raw
                names[low] = display
            else:
                if low not in copied:
                    have = values[low] = list(have)
                    copied.add(low)
                have.extend(raw)
        self.values = values
        self.names = names  # same keys, same order as values: _clean() zips the two
        self.has_options = has_options

    def get(self, key: str) -> list[Value]:
        return self.values.get(key) or []

    def texts(self, key: str) -> list[str]:
        return [_as_text(v) for v in self.values.get(key) or ()]

    def text(self, key: str) -> str | None:
        values = self.values.get(key)
        if not values:
            return None
        text = _as_text(values[0]).strip()
        return text or None


class AdEntryNormaliser:
    """Turns AD entries into records; one instance per import run.

    ``normalise`` handles one entry; ``finish`` emits what needs the whole run
    (principal nodes for SIDs that security descriptors grant but that no entry
    of the run carried). ``warn(source_record, message)`` receives value-level
    problems (an unreadable security descriptor, a malformed date): the entry is
    still imported and the raw value kept.
    """

    def __init__(
        self,
        rule: ServiceAccountRule | None = None,
        *,
        default_authority: str | None = None,
        warn: Callable[[str, str], None] | None = None,
    ):
        self.rule = rule or ServiceAccountRule()
        self.default_authority = default_authority.strip().lower() if default_authority else None
        self._warn = warn
        self.counts: Counter[str] = Counter()
        self._hosts: set[str] = set()
        self._sids_present: set[str] = set()
        self._domain_authority: dict[str, str] = {}
        self._sids_granted: dict[str, tuple[str, str]] = {}  # sid -> (authority, first source_record)
        # (member ref, group ref) of every MemberOf edge made: AD writes each membership twice, as memberOf
        # on the member and as member on the group, and one edge record is enough (half of a big import's
        # records otherwise).
        self._memberships: set[tuple[str, str]] = set()

    # -- public -------------------------------------------------------------------------------------

    def normalise(self, entry: Entry, source_record: str) -> list[Record]:
        folded = _Folded(entry)
        dn = folded.text("dn") or folded.text("distinguishedname")
        if dn is None:
            raise BadInput(source_record, "entry has no DN (no 'dn' or 'distinguishedName')")
        classes = {c.lower() for c in folded.texts("objectclass")}
        kind = self._kind_of(folded, classes)
        if kind is None:
            self.counts["skipped"] += 1
            return []
        authority = _authority_cached(dn) or self.default_authority
        if authority is None:
            raise BadInput(
                source_record,
                f"cannot tell the domain of {dn!r}: its DN has no DC= components; give the authority "
                "(--authority NAME)",
            )
        if kind != "user":  # users are counted once classified
            self.counts[kind] += 1
        return _EntryNormalisation(self, folded, dn, kind, authority, source_record).run()

    def finish(self) -> list[Record]:
        """Principal nodes for SIDs granted by security descriptors that no entry of this run carried."""
        records: list[Record] = []
        for sid, (authority, source_record) in self._sids_granted.items():
            if sid in self._sids_present:
                continue
            domain_sid, _, rid = sid.rpartition("-")
            name = _WELL_KNOWN_SIDS.get(sid)
            where = self._domain_authority.get(domain_sid, authority)
            if name is None and rid.isdigit() and domain_sid.startswith("S-1-5-21-"):
                well_known = _WELL_KNOWN_RIDS.get(int(rid))
                name = f"{where}\\{well_known}" if well_known else None
            records.append(
                NodeRecord(
                    ref=f"sid:{sid}",
                    kind="principal",
                    name=name or sid,
                    authority=where,
                    source_record=source_record,
                    sid=sid,
                    attributes={"unresolved": True},
                )
            )
        self.counts["principal"] += len(records)
        return records

    # -- internals ----------------------------------------------------------------------------------

    def warn(self, source_record: str, message: str) -> None:
        if self._warn is not None:
            self._warn(source_record, message)

    def _kind_of(self, folded: _Folded, classes: set[str]) -> str | None:
        if "msds-delegatedmanagedserviceaccount" in classes:
            return "dmsa"
        if "msds-groupmanagedserviceaccount" in classes:
            return "gmsa"
        if "msds-managedserviceaccount" in classes:
            return "smsa"
        if "computer" in classes:
            return "computer"
        if classes & _GROUP_CLASSES:
            return "group"
        if classes & _USER_CLASSES:
            return "user"
        if classes:
            return None  # OUs, containers, the domain object, policies ...
        # No objectClass requested in the export: fall back to sAMAccountType and the name.
        sam_type = folded.text("samaccounttype")
        if sam_type in _SAM_GROUP:
            return "group"
        name = folded.text("samaccountname")
        if sam_type in _SAM_MACHINE or (sam_type is None and name and name.endswith("$")):
            return "gmsa" if folded.get("msds-managedpasswordinterval") else "computer"
        if sam_type in _SAM_USER or name:
            return "user"
        return None


class _EntryNormalisation:
    """The work on one entry; a class so the many small steps share state without long signatures."""

    def __init__(
        self, owner: AdEntryNormaliser, folded: _Folded, dn: str, kind: str, authority: str, sr: str
    ):
        self.owner = owner
        self.f = folded
        self.dn = dn
        self.kind = kind
        self.authority = authority
        self.sr = sr
        self.ref = dn_ref(dn)
        self.records: list[Record] = []

    def run(self) -> list[Record]:
        attributes = self._clean()
        f = self.f
        sid = self._sid()
        guid = self._guid()
        if sid is not None:
            self.owner._sids_present.add(sid)
            domain_sid = sid.rpartition("-")[0]
            if domain_sid.startswith("S-1-5-21-"):
                self.owner._domain_authority.setdefault(domain_sid, self.authority)
        flags = self._flags()
        description = f.text("description")  # already redacted by _clean()
        name = f.text("samaccountname") or f.text("uid") or f.text("cn") or _first_rdn_value(self.dn)
        if self.kind == "computer":
            dns = (f.text("dnshostname") or "").lower() or None
            attributes["dns_host_name"] = dns
            attributes["flags"] = flags
            node_name = dns or name.rstrip("$").lower()
            self.records.append(
                NodeRecord(
                    self.ref,
                    "computer",
                    node_name,
                    self.authority,
                    self.sr,
                    dn=self.dn,
                    sid=sid,
                    guid=guid,
                    description=description,
                    attributes=attributes,
                )
            )
        elif self.kind == "group":
            group_type = f.text("grouptype")
            if group_type is not None:
                try:
                    attributes["group_type"] = ad_codec.decode_group_type(group_type)
                except ValueError as exc:
                    self.owner.warn(self.sr, f"groupType: {exc}")
            self.records.append(
                NodeRecord(
                    self.ref,
                    "group",
                    name,
                    self.authority,
                    self.sr,
                    dn=self.dn,
                    sid=sid,
                    guid=guid,
                    description=description,
                    attributes=attributes,
                )
            )
            self._group_members()
        else:
            self._identity(name, sid, guid, flags, description, attributes)
        self._edges(flags)
        return self.records

    # -- identity ------------------------------------------------------------------------------------

    def _identity(
        self,
        name: str,
        sid: str | None,
        guid: str | None,
        flags: list[str],
        description: str | None,
        attributes: dict[str, Any],
    ) -> None:
        f = self.f
        spns = f.texts("serviceprincipalname")
        kind = self.kind
        if kind == "user":
            if "INTERDOMAIN_TRUST_ACCOUNT" in flags:
                kind, classification = "service_account", "service account: inter-domain trust account"
            else:
                texts = [*f.texts("description"), *f.texts("info")]
                rid = _builtin_rid(sid)
                if rid is not None:
                    # Administrator, Guest, krbtgt ...: never a migration candidate, whatever their
                    # description says ("Key Distribution Center Service Account").
                    flags.append("BUILTIN_ACCOUNT")
                    kind = "person"
                    classification = (
                        f"person: built-in account {name} (RID {rid}), not a service account to migrate"
                    )
                else:
                    verdict = self.owner.rule.classify(name, self.dn, spns, texts)
                    kind = "service_account" if verdict.is_service else "person"
                    classification = verdict.text
            self.owner.counts[kind] += 1
        else:
            classification = {
                "gmsa": "group managed service account (msDS-GroupManagedServiceAccount)",
                "smsa": "standalone managed service account (msDS-ManagedServiceAccount)",
                "dmsa": "delegated managed service account (msDS-DelegatedManagedServiceAccount)",
            }[kind]
        uac_present = bool(f.get("useraccountcontrol"))
        pwd_last_set = self._time("pwdlastset")
        last_used = max(
            (t for t in (self._time("lastlogontimestamp"), self._time("lastlogon")) if t is not None),
            default=None,
        )
        self.records.append(
            IdentityRecord(
                ref=self.ref,
                kind=kind,
                name=name,
                authority=self.authority,
                source_record=self.sr,
                display_name=f.text("displayname"),
                dn=self.dn,
                upn=f.text("userprincipalname"),
                sid=sid,
                guid=guid,
                emails=[m.strip() for m in f.texts("mail") if m.strip()],
                enabled=("ACCOUNTDISABLE" not in flags) if uac_present else None,
                created=self._time("whencreated"),
                last_used=last_used,
                password_last_set=pwd_last_set,
                expires=self._time("accountexpires"),
                description=description,
                flags=flags,
                spns=spns,
                classification=classification,
                attributes=attributes,
            )
        )
        self._credential(kind, flags, pwd_last_set)
        for spn in spns:
            host = spn_host(spn, self.authority)
            if host is None:
                continue
            host_ref = "host:" + host
            if host not in self.owner._hosts:
                self.owner._hosts.add(host)
                self.records.append(
                    NodeRecord(host_ref, "host", host, self.authority, self.sr, attributes={"from_spn": spn})
                )
            self.records.append(EdgeRecord(host_ref, self.ref, "UsesIdentity", self.sr, {"spn": spn}))
        for computer in self.f.texts("msds-hostserviceaccountbl"):
            self.records.append(
                EdgeRecord(
                    dn_ref(computer), self.ref, "UsesIdentity", self.sr, {"via": "msDS-HostServiceAccount"}
                )
            )

    def _credential(self, kind: str, flags: list[str], pwd_last_set: datetime | None) -> None:
        attributes: dict[str, Any] = {}
        expires = None
        if kind == "gmsa":
            attributes["managed"] = True
            interval = self.f.text("msds-managedpasswordinterval")
            if interval is not None:
                try:
                    days = int(interval)
                except ValueError:
                    self.owner.warn(
                        self.sr, f"msDS-ManagedPasswordInterval is not a number: {interval[:20]!r}"
                    )
                else:
                    attributes["interval_days"] = days
                    # The gMSA's own interval, not a domain policy: the next rotation is known.
                    if pwd_last_set is not None and days > 0:
                        expires = pwd_last_set + timedelta(days=days)
        elif kind in ("smsa", "dmsa"):
            attributes["managed"] = True
        else:
            attributes["never_expires"] = "DONT_EXPIRE_PASSWD" in flags
            raw = self.f.text("pwdlastset")
            if raw == "0":
                attributes["must_change"] = True
            if "PASSWD_NOTREQD" in flags:
                attributes["not_required"] = True
        self.records.append(
            CredentialRecord(
                self.ref,
                "password",
                "password",
                self.sr,
                created=pwd_last_set,
                expires=expires,
                attributes=attributes,
            )
        )

    # -- edges ---------------------------------------------------------------------------------------

    def _edges(self, flags: list[str]) -> None:
        f = self.f
        ref = self.ref
        sr = self.sr
        append = self.records.append
        memberships = self.owner._memberships
        for group in f.get("memberof"):
            pair = (ref, dn_ref(_as_text(group)))
            if pair not in memberships:
                memberships.add(pair)
                append(EdgeRecord(ref, pair[1], "MemberOf", sr, NO_ATTRIBUTES))
        transition = "TRUSTED_TO_AUTH_FOR_DELEGATION" in flags
        for spn in f.texts("msds-allowedtodelegateto"):
            spn = spn.strip()
            if spn:
                append(
                    EdgeRecord(
                        ref,
                        "spn:" + spn.lower(),
                        "AllowedToDelegate",
                        sr,
                        {"spn": spn, "protocol_transition": transition},
                    )
                )
        for sid in self._sd_sids("msds-allowedtoactonbehalfofotheridentity"):
            append(EdgeRecord("sid:" + sid, ref, "AllowedToAct", sr))
        for sid in self._sd_sids("msds-groupmsamembership"):
            append(EdgeRecord("sid:" + sid, ref, "ReadGMSAPassword", sr))
        for manager in f.texts("managedby"):
            if manager.strip():
                append(EdgeRecord(ref, dn_ref(manager), "ManagedBy", sr))
        if self.kind == "computer":
            for account in f.texts("msds-hostserviceaccount"):
                append(
                    EdgeRecord(ref, dn_ref(account), "UsesIdentity", sr, {"via": "msDS-HostServiceAccount"})
                )

    def _group_members(self) -> None:
        ref = self.ref
        sr = self.sr
        append = self.records.append
        memberships = self.owner._memberships
        members = [member_ref(_as_text(m)) for m in self.f.get("member")]
        members += [member_ref(_as_text(m).split("#", 1)[0]) for m in self.f.get("uniquemember")]
        for member in members:
            pair = (member, ref)
            if pair not in memberships:
                memberships.add(pair)
                append(EdgeRecord(member, ref, "MemberOf", sr, NO_ATTRIBUTES))

    def _sd_sids(self, key: str) -> list[str]:
        values = self.f.get(key)
        if not values:
            return []
        display = self.f.names[key]
        sids: list[str] = []
        for value in values:
            if isinstance(value, str):
                # Text exports carry the blob as base64; ldap3 may hand over UTF-8-looking bytes as str.
                try:
                    value = binascii.a2b_base64(value, strict_mode=True)
                except (binascii.Error, ValueError):
                    value = value.encode("utf-8", "surrogateescape")
            try:
                found = ad_codec.allowed_sids(value)
            except ValueError as exc:
                self.owner.warn(
                    self.sr, f"{display}: unreadable security descriptor ({exc}); no edges made from it"
                )
                continue
            for sid in found:
                self.owner._sids_granted.setdefault(sid, (self.authority, self.sr))
            sids.extend(found)
        return sids

    # -- values --------------------------------------------------------------------------------------

    def _sid(self) -> str | None:
        values = self.f.get("objectsid")
        if not values:
            return None
        value = values[0]
        try:
            if isinstance(value, bytes):
                return ad_codec.sid_from_bytes(value)
            text = value.strip()
            if text.upper().startswith("S-"):
                return ad_codec.sid_from_bytes(ad_codec.sid_to_bytes(text))
            return ad_codec.sid_from_bytes(binascii.a2b_base64(text, strict_mode=True))
        except (ValueError, binascii.Error) as exc:
            self.owner.warn(self.sr, f"objectSid: not a SID ({exc})")
            return None

    def _guid(self) -> str | None:
        values = self.f.get("objectguid")
        if not values:
            return None
        value = values[0]
        try:
            if isinstance(value, bytes):
                return ad_codec.guid_from_bytes(value)
            text = value.strip()
            if len(text.strip("{}")) == 36:
                return ad_codec.normalise_guid_text(text)
            return ad_codec.guid_from_bytes(binascii.a2b_base64(text, strict_mode=True))
        except (ValueError, binascii.Error) as exc:
            self.owner.warn(self.sr, f"objectGUID: not a GUID ({exc})")
            return None

    def _time(self, key: str) -> datetime | None:
        values = self.f.get(key)
        if not values:
            return None
        try:
            return ad_codec.parse_ad_timestamp(values[0])
        except ValueError as exc:
            self.owner.warn(self.sr, f"{self.f.names[key]}: {exc}")
            return None

    def _flags(self) -> list[str]:
        f = self.f
        flags: list[str] = []
        for key in ("useraccountcontrol", "msds-user-account-control-computed"):
            value = f.text(key)
            if value is None:
                continue
            try:
                flags.extend(n for n in ad_codec.decode_uac(value) if n not in flags)
            except ValueError as exc:
                self.owner.warn(self.sr, f"{f.names[key]}: {exc}")
        enc = f.text("msds-supportedencryptiontypes")
        if enc is not None:
            try:
                if ad_codec.is_rc4_only(ad_codec.decode_encryption_types(enc)):
                    flags.append("RC4_ONLY")
            except ValueError as exc:
                self.owner.warn(self.sr, f"msDS-SupportedEncryptionTypes: {exc}")
        if (f.text("iscriticalsystemobject") or "").upper() == "TRUE":
            flags.append("CRITICAL_SYSTEM_OBJECT")
        return flags

    def _clean(self) -> dict[str, Any]:
        """Drop secret attributes and redact free text, with one finding per attribute (never the value);
        return the raw payload that is kept: every other attribute, JSON-safe."""
        f = self.f
        values = f.values
        names = f.names
        keys = values.keys()
        # Set intersections keep the common case (nothing secret, no options) out of per-key Python loops.
        secret = keys & SECRET_ATTRIBUTES
        free = keys & FREE_TEXT_ATTRIBUTES
        if f.has_options:
            for key in keys:
                if ";" in key:
                    base = key.split(";", 1)[0]
                    if base in SECRET_ATTRIBUTES:
                        secret.add(key)
                    elif base in FREE_TEXT_ATTRIBUTES:
                        free.add(key)
        for key in secret:
            self._finding(
                f"the export carries {names[key]}, a secret attribute; the value was dropped, not stored"
            )
            del values[key]
            del names[key]
        for key in free:
            cleaned: list[Value] = []
            found = False
            for value in values[key]:
                text, hit = redact_text(_as_text(value))
                found = found or hit
                cleaned.append(text if hit else value)
            if found:
                values[key] = cleaned
                self._finding(
                    f"a password is written in the {names[key]} attribute; it was redacted to "
                    f"'{REDACTED}' on import"
                )
        attributes = dict(zip(names.values(), map(json_values, keys, values.values()), strict=True))
        attributes.pop(names.get("dn", "\x00"), None)
        # The same group DNs, member DNs and class names recur in thousands of payloads: keep one copy each
        # (a 100k-account export held two million copies of a few thousand group DNs).
        for key in keys & _REPEATED_VALUES:
            name = names[key]
            attributes[name] = [intern(v) if type(v) is str else v for v in attributes[name]]
        return attributes

    def _finding(self, message: str) -> None:
        self.records.append(FindingRecord(self.ref, "secret-in-data", "NHI2", "high", message, self.sr))


def _builtin_rid(sid: str | None) -> int | None:
    if sid is None or not sid.startswith("S-1-5-21-"):
        return None
    rid = sid.rpartition("-")[2]
    return int(rid) if rid.isdigit() and int(rid) in _BUILTIN_ACCOUNT_RIDS else None


def _first_rdn_value(dn: str) -> str:
    first = _split_dn(dn)[0]
    return first.partition("=")[2].strip() or dn
