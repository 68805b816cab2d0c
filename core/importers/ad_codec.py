"""Pure decoders for Active Directory attribute values.

Everything here turns one raw AD value (an integer, a GeneralizedTime string, the
bytes of a SID, GUID or security descriptor) into a plain Python value, and knows
nothing of LDIF, LDAP or records. The AD normaliser (``ad_entries``) and every AD
importer share these functions so that a value decodes the same way whichever
export it came from.

Facts and test vectors: shared/formats/ad-ldif.md (sections 4 and 5).
"""

from __future__ import annotations

import re
import struct
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# --- userAccountControl ---------------------------------------------------------------------------

# Names follow the a-useraccountcontrol page / ADS_USER_FLAG_ENUM as written in ad-ldif.md.
UAC_FLAGS: dict[str, int] = {
    "SCRIPT": 0x1,
    "ACCOUNTDISABLE": 0x2,
    "HOMEDIR_REQUIRED": 0x8,
    "LOCKOUT": 0x10,
    "PASSWD_NOTREQD": 0x20,
    "PASSWD_CANT_CHANGE": 0x40,
    "ENCRYPTED_TEXT_PASSWORD_ALLOWED": 0x80,
    "TEMP_DUPLICATE_ACCOUNT": 0x100,
    "NORMAL_ACCOUNT": 0x200,
    "INTERDOMAIN_TRUST_ACCOUNT": 0x800,
    "WORKSTATION_TRUST_ACCOUNT": 0x1000,
    "SERVER_TRUST_ACCOUNT": 0x2000,
    "DONT_EXPIRE_PASSWD": 0x10000,
    "MNS_LOGON_ACCOUNT": 0x20000,
    "SMARTCARD_REQUIRED": 0x40000,
    "TRUSTED_FOR_DELEGATION": 0x80000,
    "NOT_DELEGATED": 0x100000,
    "USE_DES_KEY_ONLY": 0x200000,
    "DONT_REQ_PREAUTH": 0x400000,
    "PASSWORD_EXPIRED": 0x800000,
    "TRUSTED_TO_AUTH_FOR_DELEGATION": 0x1000000,
    "PARTIAL_SECRETS_ACCOUNT": 0x4000000,
}
_UAC_BY_BIT = sorted((bit, name) for name, bit in UAC_FLAGS.items())
_UAC_KNOWN_MASK = sum(UAC_FLAGS.values())


def _as_int(value: int | str | bytes, what: str) -> int:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ValueError(f"{what} is not an integer: {value[:40]!r}") from None
    return int(value)


def decode_uac(value: int | str | bytes) -> list[str]:
    """userAccountControl → flag names in bit order; unknown bits as ``UNKNOWN_0x...``.

    AD stores the attribute as a signed 32-bit integer, so a negative value is the
    same bit pattern and is read modulo 2**32.
    """
    number = _as_int(value, "userAccountControl") & 0xFFFFFFFF
    names = [name for bit, name in _UAC_BY_BIT if number & bit]
    unknown = number & ~_UAC_KNOWN_MASK
    bit = 1
    while unknown:
        if unknown & bit:
            names.append(f"UNKNOWN_0x{bit:X}")
            unknown &= ~bit
        bit <<= 1
    return names


# --- msDS-SupportedEncryptionTypes ------------------------------------------------------------------

ENCRYPTION_TYPES: dict[str, int] = {
    "DES_CBC_CRC": 0x1,
    "DES_CBC_MD5": 0x2,
    "RC4": 0x4,
    "AES128": 0x8,
    "AES256": 0x10,
    "AES256_SK": 0x20,
    "FAST_SUPPORTED": 0x10000,
    "COMPOUND_IDENTITY_SUPPORTED": 0x20000,
    "CLAIMS_SUPPORTED": 0x40000,
    "RESOURCE_SID_COMPRESSION_DISABLED": 0x80000,
}


def decode_encryption_types(value: int | str | bytes) -> list[str]:
    """msDS-SupportedEncryptionTypes → names (28 → RC4, AES128, AES256)."""
    number = _as_int(value, "msDS-SupportedEncryptionTypes") & 0xFFFFFFFF
    return [name for name, bit in ENCRYPTION_TYPES.items() if number & bit]


def is_rc4_only(names: list[str]) -> bool:
    """True when RC4 is offered and no AES type is: Kerberoasting yields crackable RC4 tickets."""
    return "RC4" in names and not {"AES128", "AES256", "AES256_SK"} & set(names)


# --- groupType ---------------------------------------------------------------------------------------

GROUP_TYPES: dict[str, int] = {
    "BUILTIN_LOCAL": 0x1,
    "GLOBAL": 0x2,
    "DOMAIN_LOCAL": 0x4,
    "UNIVERSAL": 0x8,
    "APP_BASIC": 0x10,
    "APP_QUERY": 0x20,
    "SECURITY": 0x80000000,
}


def decode_group_type(value: int | str | bytes) -> list[str]:
    """groupType (a signed 32-bit integer: security groups are negative) → names."""
    number = _as_int(value, "groupType") & 0xFFFFFFFF
    names = [name for name, bit in GROUP_TYPES.items() if number & bit]
    if not number & 0x80000000:
        names.append("DISTRIBUTION")
    return names


# --- time --------------------------------------------------------------------------------------------

_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
FILETIME_NEVER = 0x7FFFFFFFFFFFFFFF  # 9223372036854775807: "never" in accountExpires
_LAST_YEAR = 30828  # the year 0x7FFF... lands in; Python stops at 9999 anyway


def filetime_to_datetime(value: int | str | bytes) -> datetime | None:
    """FILETIME (100 ns ticks since 1601-01-01 UTC) → aware UTC datetime.

    AD's "never" / "not set" values come back as None: 0, negative values,
    9223372036854775807, anything that falls in the year 1601, and anything past
    the year 9999 (which Python cannot represent; AD's own ceiling is 30828).
    """
    ticks = value if type(value) is int else _as_int(value, "FILETIME")
    if ticks <= 0 or ticks >= FILETIME_NEVER:
        return None
    try:
        moment = _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None
    if moment.year == 1601 or moment.year >= _LAST_YEAR:
        return None
    return moment


def datetime_to_filetime(moment: datetime) -> int:
    """Aware datetime → FILETIME ticks (for writing fixtures and the demo estate)."""
    delta = moment.astimezone(UTC) - _FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


# RFC 4517 GeneralizedTime: YYYYMMDDHH[MM[SS]][(.|,)fraction](Z|+hh[mm]|-hh[mm])
_GTIME = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)?$")


def generalized_time_to_datetime(value: str | bytes) -> datetime | None:
    """GeneralizedTime (``20210419004958.0Z``) → aware UTC datetime; the 1601 sentinel → None.

    A missing zone is read as UTC: AD always writes ``Z`` and other servers that
    omit it are overwhelmingly UTC too.
    """
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    match = _GTIME.match(text.strip())
    if match is None:
        raise ValueError(f"not a GeneralizedTime: {text[:40]!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if int(year) == 1601:
        return None
    minute_i = int(minute or 0)
    second_i = int(second or 0)
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), minute_i, second_i, tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"not a valid GeneralizedTime: {text[:40]!r} ({exc})") from None
    if fraction:
        # The fraction applies to the last unit given (RFC 4517 3.3.13).
        unit = 1.0 if second else (60.0 if minute else 3600.0)
        moment += timedelta(seconds=float("0." + fraction) * unit)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5] or 0))
        moment -= sign * offset
    return moment


def parse_ad_timestamp(value: int | str | bytes | datetime) -> datetime | None:
    """Any AD time as the different exports write it → aware UTC datetime or None for "never".

    Accepts FILETIME integers (LDIF, live LDAP, PowerShell raw columns),
    GeneralizedTime (whenCreated) and ISO-like strings with an offset
    (ldapdomaindump ``2019-03-04 10:00:00+00:00``, where 1601 and 9999-12-31 are
    its renderings of "never"). Raises ValueError for anything else.
    """
    if type(value) is str and value.isdigit() and len(value) != 14:
        return filetime_to_datetime(int(value))  # the common case, without the checks below
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
    else:
        text = value.decode("ascii", "replace").strip() if isinstance(value, bytes) else str(value).strip()
        if not text:
            return None
        if text.lstrip("-").isdigit() and len(text) != 14:
            return filetime_to_datetime(text)
        if _GTIME.match(text):
            return generalized_time_to_datetime(text)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an AD time value: {text[:40]!r}") from None
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment.year == 1601 or moment.year >= 9999:
        return None
    return moment


# --- SID and GUID ------------------------------------------------------------------------------------


def sid_from_bytes(data: bytes) -> str:
    """Binary SID → ``S-1-5-21-...``: 6-byte big-endian authority, little-endian sub-authorities."""
    sid, used = _sid_at(data, 0, len(data))
    if used != len(data):
        raise ValueError(f"SID has {len(data) - used} trailing bytes")
    return sid


def _sid_at(data: bytes, offset: int, limit: int) -> tuple[str, int]:
    """Decode the SID at ``offset`` within ``data[:limit]``; return it and its length."""
    if limit - offset < 8:
        raise ValueError(f"SID at offset {offset} truncated: needs 8 header bytes, {limit - offset} left")
    revision = data[offset]
    count = data[offset + 1]
    if revision != 1:
        raise ValueError(f"SID at offset {offset} has revision {revision}, expected 1")
    if count > 15:
        raise ValueError(f"SID at offset {offset} claims {count} sub-authorities (at most 15)")
    size = 8 + 4 * count
    if limit - offset < size:
        raise ValueError(
            f"SID at offset {offset} truncated: {count} sub-authorities need {size} bytes, {limit - offset} left"
        )
    authority = int.from_bytes(data[offset + 2 : offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, offset + 8)
    # MS-DTYP 2.4.2.1: authorities that do not fit 32 bits are written in hex.
    auth_text = str(authority) if authority < 2**32 else f"0x{authority:012X}"
    return "-".join(["S", str(revision), auth_text, *map(str, subs)]), size


def sid_to_bytes(sid: str) -> bytes:
    """``S-1-5-21-...`` → binary SID (for fixtures, the demo estate and SID matching)."""
    parts = sid.strip().split("-")
    if len(parts) < 3 or parts[0].upper() != "S":
        raise ValueError(f"not a SID: {sid!r}")
    try:
        revision = int(parts[1])
        authority = int(parts[2], 16) if parts[2].lower().startswith("0x") else int(parts[2])
        subs = [int(p) for p in parts[3:]]
    except ValueError:
        raise ValueError(f"not a SID: {sid!r}") from None
    if len(subs) > 15 or any(not 0 <= s < 2**32 for s in subs) or not 0 <= authority < 2**48:
        raise ValueError(f"not a SID: {sid!r}")
    return bytes([revision, len(subs)]) + authority.to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)


def guid_from_bytes(data: bytes) -> str:
    """objectGUID's 16 wire bytes (first three fields little-endian) → canonical uuid string."""
    if len(data) != 16:
        raise ValueError(f"objectGUID must be 16 bytes, got {len(data)}")
    return str(uuid.UUID(bytes_le=bytes(data)))


def guid_to_bytes(guid: str) -> bytes:
    """Canonical uuid string (braces allowed) → objectGUID wire bytes."""
    return uuid.UUID(guid.strip().strip("{}")).bytes_le


def normalise_guid_text(text: str) -> str:
    """A GUID written as text by some export (``{...}``, upper case) → canonical uuid string."""
    return str(uuid.UUID(text.strip().strip("{}")))


# --- security descriptors ----------------------------------------------------------------------------

SE_DACL_PRESENT = 0x0004
SE_SELF_RELATIVE = 0x8000
INHERIT_ONLY_ACE = 0x08

ACE_TYPES: dict[int, str] = {
    0x00: "ACCESS_ALLOWED",
    0x01: "ACCESS_DENIED",
    0x02: "SYSTEM_AUDIT",
    0x05: "ACCESS_ALLOWED_OBJECT",
    0x06: "ACCESS_DENIED_OBJECT",
    0x07: "SYSTEM_AUDIT_OBJECT",
    0x09: "ACCESS_ALLOWED_CALLBACK",
    0x0A: "ACCESS_DENIED_CALLBACK",
    0x0B: "ACCESS_ALLOWED_CALLBACK_OBJECT",
    0x0C: "ACCESS_DENIED_CALLBACK_OBJECT",
    0x11: "SYSTEM_MANDATORY_LABEL",
}
_OBJECT_ACES = {0x05, 0x06, 0x07, 0x0B, 0x0C}
_ALLOWED_ACES = {0x00, 0x05, 0x09, 0x0B}


@dataclass(frozen=True, slots=True)
class Ace:
    type: str  # a name from ACE_TYPES, or UNKNOWN_0x..
    flags: int
    mask: int
    sid: str | None  # None for ACE types whose layout this parser does not know
    object_type: str | None = None  # GUID of the property/extended right an object ACE is limited to

    @property
    def allows(self) -> bool:
        return self.type in {ACE_TYPES[t] for t in _ALLOWED_ACES} and self.mask != 0

    @property
    def inherit_only(self) -> bool:
        return bool(self.flags & INHERIT_ONLY_ACE)


@dataclass(frozen=True, slots=True)
class SecurityDescriptor:
    control: int
    owner: str | None
    group: str | None
    dacl: list[Ace] | None = field(default=None)  # None: no DACL present (everyone allowed, in theory)


def parse_security_descriptor(data: bytes) -> SecurityDescriptor:
    """Parse a self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6): owner, group and DACL.

    Every offset and length is checked against the blob, so truncated or garbage
    bytes raise ValueError with the reason rather than an IndexError or a
    silently wrong answer. The SACL is skipped: nothing here needs it.
    """
    data = bytes(data)
    if len(data) < 20:
        raise ValueError(f"security descriptor truncated: {len(data)} bytes, the header alone is 20")
    revision, _sbz1, control, off_owner, off_group, _off_sacl, off_dacl = struct.unpack_from("<BBHIIII", data)
    if revision != 1:
        raise ValueError(f"not a security descriptor: revision {revision}, expected 1")
    if not control & SE_SELF_RELATIVE:
        raise ValueError(f"security descriptor is not self-relative (control 0x{control:04X})")
    owner = _sid_at(data, off_owner, len(data))[0] if off_owner else None
    group = _sid_at(data, off_group, len(data))[0] if off_group else None
    dacl = None
    if control & SE_DACL_PRESENT and off_dacl:
        dacl = _parse_acl(data, off_dacl)
    return SecurityDescriptor(control=control, owner=owner, group=group, dacl=dacl)


def _parse_acl(data: bytes, offset: int) -> list[Ace]:
    if len(data) - offset < 8:
        raise ValueError(
            f"DACL at offset {offset} truncated: needs 8 header bytes, {len(data) - offset} left"
        )
    acl_revision, _sbz1, acl_size, ace_count, _sbz2 = struct.unpack_from("<BBHHH", data, offset)
    if acl_revision not in (2, 4):
        raise ValueError(f"DACL at offset {offset} has revision {acl_revision}, expected 2 or 4")
    if acl_size < 8 or offset + acl_size > len(data):
        raise ValueError(
            f"DACL at offset {offset} claims {acl_size} bytes but the descriptor ends after "
            f"{len(data) - offset}"
        )
    end = offset + acl_size
    pos = offset + 8
    aces: list[Ace] = []
    for index in range(ace_count):
        if end - pos < 4:
            raise ValueError(f"ACE {index} at offset {pos} truncated: the DACL ends before its header")
        ace_type, ace_flags, ace_size = struct.unpack_from("<BBH", data, pos)
        if ace_size < 4 or pos + ace_size > end:
            raise ValueError(f"ACE {index} at offset {pos} claims {ace_size} bytes, past the end of the DACL")
        aces.append(_parse_ace(data, pos, ace_type, ace_flags, pos + ace_size, index))
        pos += ace_size
    return aces


def _parse_ace(data: bytes, pos: int, ace_type: int, ace_flags: int, end: int, index: int) -> Ace:
    name = ACE_TYPES.get(ace_type, f"UNKNOWN_0x{ace_type:02X}")
    if ace_type not in ACE_TYPES or ace_type == 0x11:
        return Ace(type=name, flags=ace_flags, mask=0, sid=None)
    body = pos + 4
    if end - body < 4:
        raise ValueError(f"ACE {index} at offset {pos} truncated: no room for its access mask")
    (mask,) = struct.unpack_from("<I", data, body)
    body += 4
    object_type = None
    if ace_type in _OBJECT_ACES:
        if end - body < 4:
            raise ValueError(f"object ACE {index} at offset {pos} truncated: no room for its flags")
        (object_flags,) = struct.unpack_from("<I", data, body)
        body += 4
        if object_flags & 0x1:
            if end - body < 16:
                raise ValueError(f"object ACE {index} at offset {pos} truncated inside its ObjectType GUID")
            object_type = guid_from_bytes(data[body : body + 16])
            body += 16
        if object_flags & 0x2:
            body += 16  # InheritedObjectType: which child class inherits it; irrelevant to who is granted
    try:
        sid = _sid_at(data, body, end)[0]
    except ValueError as exc:
        raise ValueError(f"ACE {index} at offset {pos}: {exc}") from None
    return Ace(type=name, flags=ace_flags, mask=mask, sid=sid, object_type=object_type)


def allowed_sids(data: bytes) -> list[str]:
    """SIDs granted access by a security descriptor (RBCD, gMSA password readers), in ACE order.

    Counts ACCESS_ALLOWED ACEs and their object/callback variants with a non-zero
    mask that apply to the object itself (not INHERIT_ONLY). Deny ACEs are not
    subtracted: for msDS-AllowedToActOnBehalfOfOtherIdentity and
    msDS-GroupMSAMembership AD writes allow ACEs only, and a reviewer should see
    every principal that was granted something.
    """
    descriptor = parse_security_descriptor(data)
    seen: dict[str, None] = {}
    for ace in descriptor.dacl or ():
        if ace.allows and not ace.inherit_only and ace.sid is not None:
            seen.setdefault(ace.sid, None)
    return list(seen)


def build_security_descriptor(owner: str, allowed: list[str], mask: int = 0x000F01FF) -> bytes:
    """Self-relative SD with one ACCESS_ALLOWED ACE per SID, as AD writes for RBCD and gMSA readers.

    Used to build the demo estate and test fixtures, so they carry real blobs.
    """
    aces = b""
    for sid in allowed:
        sid_bytes = sid_to_bytes(sid)
        size = 8 + len(sid_bytes)
        aces += struct.pack("<BBHI", 0x00, 0x00, size, mask) + sid_bytes
    if 8 + len(aces) > 0xFFFF:
        raise ValueError(f"{len(allowed)} ACEs need {8 + len(aces)} bytes; an ACL holds at most 65535")
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(aces), len(allowed), 0) + aces
    owner_bytes = sid_to_bytes(owner)
    off_owner = 20
    off_dacl = off_owner + len(owner_bytes)
    header = struct.pack("<BBHIIII", 1, 0, SE_SELF_RELATIVE | SE_DACL_PRESENT, off_owner, 0, 0, off_dacl)
    return header + owner_bytes + acl
