"""PowerShell ``Export-Csv`` of Get-ADUser / Get-ADServiceAccount / Get-ADComputer / Get-ADGroup.

``AdCsvImporter`` reads what Windows PowerShell 5.1 and PowerShell 7 write
(shared/formats/powershell-csv.md) and hands each row, as an AD entry, to the
shared normaliser (``ad_entries``), so a CSV means what an LDIF of the same
objects means:

- encodings: a BOM (UTF-8, UTF-16LE, UTF-16BE), else UTF-16 without BOM by its NUL
  bytes, else strict UTF-8, else Windows-1252; an ASCII export whose ``?`` replaced
  letters ("Caf?") is warned about: that loss cannot be undone;
- an optional ``#TYPE …`` first line, and more ``#TYPE`` lines or repeated headers
  where ``-Append`` glued exports together; ``,`` or ``;`` (or TAB) delimiters,
  sniffed from the header; quoted or unquoted fields, embedded newlines;
- friendly column names (``SamAccountName``, ``ServicePrincipalNames``,
  ``PasswordLastSet``, ``Enabled``, ``TrustedForDelegation`` …) and LDAP names
  (``sAMAccountName``, ``pwdLastSet`` …), in any case; where both exist the raw
  LDAP value wins (``pwdLastSet``'s FILETIME is exact; ``PasswordLastSet`` is a
  local-time string in the exporting machine's culture) and a disagreement beyond
  any time-zone offset is warned about;
- multi-valued properties: a cell holding a .NET type name
  (``Microsoft.ActiveDirectory.Management.ADPropertyValueCollection``,
  ``System.Byte[]`` …) lost its values in the export — warned, once per column;
  cells an administrator joined (newlines, ``;``, ``|``, ``, ``, ``{a, b}``) are split;
- culture-formatted dates (en-US ``6/30/2021 12:54:47 AM``, de-DE
  ``30.06.2021 00:54:47``, ISO, day-first ``30/06/2021 00:54:47``) when no raw
  column exists; they carry no offset and are read as UTC, with a warning.

Errors name the file and the line a record starts on.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..records import EdgeRecord, Record
from .ad_entries import AdEntryNormaliser, dn_ref, member_ref
from .base import BATCH_SIZE, ImportContext, Importer, ImporterOption
from .ldif import _rule_option

# Friendly (ADEntity) and LDAP column names, lower-cased → the LDAP attribute the normaliser reads.
COLUMNS: dict[str, str] = {
    "distinguishedname": "distinguishedName",
    "samaccountname": "sAMAccountName",
    "objectclass": "objectClass",
    "objectguid": "objectGUID",
    "sid": "objectSid",
    "objectsid": "objectSid",
    "userprincipalname": "userPrincipalName",
    "displayname": "displayName",
    "description": "description",
    "info": "info",
    "name": "name",
    "cn": "cn",
    "emailaddress": "mail",
    "mail": "mail",
    "serviceprincipalnames": "servicePrincipalName",
    "serviceprincipalname": "servicePrincipalName",
    "memberof": "memberOf",
    "members": "member",
    "member": "member",
    "managedby": "managedBy",
    "msds-allowedtodelegateto": "msDS-AllowedToDelegateTo",
    "dnshostname": "dNSHostName",
    "operatingsystem": "operatingSystem",
    "managedpasswordintervalindays": "msDS-ManagedPasswordInterval",
    "msds-managedpasswordinterval": "msDS-ManagedPasswordInterval",
    "hostcomputers": "msDS-HostServiceAccountBL",
    "msds-hostserviceaccountbl": "msDS-HostServiceAccountBL",
    "msds-hostserviceaccount": "msDS-HostServiceAccount",
    "useraccountcontrol": "userAccountControl",
    "msds-user-account-control-computed": "msDS-User-Account-Control-Computed",
    "msds-supportedencryptiontypes": "msDS-SupportedEncryptionTypes",
    "grouptype": "groupType",
    "samaccounttype": "sAMAccountType",
    "primarygroupid": "primaryGroupID",
    "iscriticalsystemobject": "isCriticalSystemObject",
    "pwdlastset": "pwdLastSet",
    "lastlogontimestamp": "lastLogonTimestamp",
    "lastlogon": "lastLogon",
    "accountexpires": "accountExpires",
    "whencreated": "whenCreated",
    "whenchanged": "whenChanged",
    "msds-groupmsamembership": "msDS-GroupMSAMembership",
    "msds-allowedtoactonbehalfofotheridentity": "msDS-AllowedToActOnBehalfOfOtherIdentity",
}
# Friendly date columns → the raw attribute they render (used only when the raw column is absent).
FRIENDLY_DATES = {
    "passwordlastset": "pwdLastSet",
    "lastlogondate": "lastLogonTimestamp",
    "accountexpirationdate": "accountExpires",
    "created": "whenCreated",
    "modified": "whenChanged",
}
# Friendly booleans → the userAccountControl bit they render (True = bit set, except Enabled).
FRIENDLY_FLAGS = {
    "enabled": 0x2,  # inverted: Enabled=False sets ACCOUNTDISABLE
    "passwordnotrequired": 0x20,
    "passwordneverexpires": 0x10000,
    "smartcardlogonrequired": 0x40000,
    "trustedfordelegation": 0x80000,
    "accountnotdelegated": 0x100000,
    "usedeskeyonly": 0x200000,
    "doesnotrequirepreauth": 0x400000,
    "trustedtoauthfordelegation": 0x1000000,
}
# Friendly columns of DNs that the normaliser would otherwise read from binary security descriptors.
PRINCIPAL_COLUMNS = {
    "principalsallowedtoretrievemanagedpassword": "ReadGMSAPassword",
    "principalsallowedtodelegatetoaccount": "AllowedToAct",
}
KERBEROS_TYPES = {"des": 0x3, "rc4": 0x4, "aes128": 0x8, "aes256": 0x10}
# ADEntity bookkeeping, not directory data.
IGNORED = frozenset({"propertynames", "addedproperties", "removedproperties", "modifiedproperties",
                     "propertycount", "objectcategory"})
DN_VALUED = frozenset({"memberOf", "member", "msDS-HostServiceAccountBL", "msDS-HostServiceAccount"})
SPN_VALUED = frozenset({"servicePrincipalName", "msDS-AllowedToDelegateTo"})
_MACHINE_CLASSES = frozenset({"computer", "msds-groupmanagedserviceaccount", "msds-managedserviceaccount",
                              "msds-delegatedmanagedserviceaccount"})

# What PowerShell writes for a property it could only ToString(): the values are gone.
_TYPE_NAME = re.compile(r"^(?:Microsoft\.ActiveDirectory\.Management\.\w+|System\.DirectoryServices\.\w+"
                        r"|System\.(?:\w+\.)*\w+\[\]|System\.Collections\.[\w.`\[\]]+)$")
_DN_START = re.compile(r"\s*(?:CN|OU|DC|O|L|C|UID)=", re.I)
_SPN_SPLIT = re.compile(r"[\s;|,]+")
_LOSSY_ASCII = re.compile(r"[A-Za-z]\?(?:[A-Za-z]|\s[a-z])")
_DATE_FORMATS = (
    ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p"),  # en-US
    ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M"),  # de-DE and others
    ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"),  # ISO-like (sv-SE, invariant)
    ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"),  # en-GB, fr-FR
    ("%Y/%m/%d %H:%M:%S",),  # ja-JP
    ("%d-%m-%Y %H:%M:%S",),  # nl-NL
)
_MAX_OFFSET_SECONDS = 14 * 3600 + 60  # no time zone is further from UTC than 14 h


def decode_csv_bytes(data: bytes, where: str) -> tuple[str, str]:
    """(text, encoding name) in the order powershell-csv.md gives: BOM, NUL bytes, UTF-8, Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8", data[3:]
    elif data.startswith(codecs.BOM_UTF16_LE):
        encoding, body = "utf-16-le", data[2:]
    elif data.startswith(codecs.BOM_UTF16_BE):
        encoding, body = "utf-16-be", data[2:]
    elif len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] and data[2]:
        encoding, body = "utf-16-le", data
    elif len(data) >= 4 and data[0] == 0 and data[2] == 0 and data[1] and data[3]:
        encoding, body = "utf-16-be", data
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace"), "windows-1252"
    try:
        return body.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        line = body[: exc.start].decode(encoding, "replace").count("\n") + 1
        raise BadInput(f"{where}:{line}", f"the file is not valid {encoding} ({exc.reason})") from None


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: 0 for d in (",", ";", "\t")}
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _first_lines(text: str) -> tuple[str | None, int]:
    """The header line (after an optional #TYPE line) and its 1-based line number."""
    lines = text.split("\n", 3)
    for number, line in enumerate(lines[:3], 1):
        line = line.strip("\r\ufeff")
        if not line.strip():
            continue
        if line.startswith("#TYPE") or line.startswith('"#TYPE'):
            continue
        return line, number
    return None, 0


def split_dns(cell: str) -> list[str]:
    """DNs an administrator joined into one cell: by newline, ``;``, ``|``, or ``, `` between two DNs."""
    cell = _unbrace(cell)
    out: list[str] = []
    for piece in re.split(r"\s*(?:\r?\n|;|\|)\s*", cell):
        if not piece.strip():
            continue
        # "CN=a,DC=x, CN=b,DC=x": a comma that ends a DN is preceded by a DC= component (every AD DN ends
        # with its domain's) and followed by the RDN that starts the next one.
        current: list[str] = []
        for part in piece.split(","):
            if current and current[-1].strip().lower().startswith("dc=") and \
                    not part.strip().lower().startswith("dc=") and _DN_START.match(part):
                out.append(",".join(current).strip())
                current = []
            current.append(part)
        if current:
            out.append(",".join(current).strip())
    return [dn for dn in out if dn]


def split_spns(cell: str) -> list[str]:
    return [s for s in _SPN_SPLIT.split(_unbrace(cell)) if s]


def _unbrace(cell: str) -> str:
    cell = cell.strip()
    if cell.startswith("{") and cell.endswith("}") and not re.fullmatch(r"\{[0-9a-fA-F-]{36}\}", cell):
        cell = cell[1:-1]
    return cell


def parse_culture_date(text: str) -> datetime | None:
    """A DateTime.ToString() of some culture → naive datetime (its zone is unknown), or None."""
    text = " ".join(text.replace("\u202f", " ").split())
    for group in _DATE_FORMATS:
        for fmt in group:
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
    return None


def _iso_utc(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=UTC).isoformat(sep=" ") if moment is not None else None


class _FileState:
    """What one file told us that is reported once at the end, not once per row."""

    def __init__(self, path: Path):
        self.path = path
        self.type_names: dict[str, tuple[str, int, int]] = {}  # column -> (type name, first line, count)
        self.local_dates: dict[str, int] = {}  # friendly column -> first line
        self.disagree: dict[str, tuple[int, int]] = {}  # column -> (first line, count)
        self.bad_dates: dict[str, tuple[str, int]] = {}


class AdCsvImporter(Importer):
    """PowerShell Export-Csv of AD objects through the shared AD normaliser."""

    name = "ad-csv"
    source_kind = "ad-csv"
    family = "ad"
    reads = "PowerShell Export-Csv of Get-ADUser / Get-ADServiceAccount / Get-ADComputer / Get-ADGroup"
    options = (
        ImporterOption("authority", "domain to use for entries whose DN has no DC= components"),
        ImporterOption("service_account_rule", "mapping of ServiceAccountRule fields (e.g. from a YAML policy)"),
    )

    def detect(self, path: Path, head: bytes) -> bool:
        """Export-Csv by content: (a #TYPE line, then) a header with DistinguishedName and an account column."""
        try:
            text, _ = decode_csv_bytes(head[: len(head) - 1] if head[:2] in (codecs.BOM_UTF16_LE,
                                                                              codecs.BOM_UTF16_BE)
                                       and len(head) % 2 else head, str(path))
        except BadInput:
            return False
        header, _ = _first_lines(text)
        if header is None or header.lstrip()[:1] in ("{", "[", "<"):
            return False
        names = {c.strip().strip('"').lower() for c in header.split(_sniff_delimiter(header))}
        return "distinguishedname" in names and bool(names & {"samaccountname", "objectclass", "sid", "objectsid",
                                                              "objectguid", "name", "cn"})

    def read(self, path: Path, ctx: ImportContext) -> Iterator[list[Record]]:
        where = str(path)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise BadInput(where, f"cannot read: {exc.strerror or exc}") from None
        text, encoding = decode_csv_bytes(data, where)
        del data
        if encoding == "windows-1252":
            ctx.warn(where, "not UTF-8: read as Windows-1252 (the ANSI code page PowerShell's -Encoding Default "
                            "uses); export with -Encoding UTF8 to be sure of non-English letters")
        elif encoding == "utf-8" and text.isascii():
            match = _LOSSY_ASCII.search(text)
            if match is not None:
                line = text.count("\n", 0, match.start()) + 1
                ctx.warn(f"{where}:{line}", f"looks like an ASCII export: letters outside ASCII became '?' "
                                            f"({text[max(0, match.start() - 10):match.end() + 1].strip()!r}); "
                                            "they cannot be recovered; export with -Encoding UTF8")
        header_line, header_number = _first_lines(text)
        if header_line is None:
            raise BadInput(where, "empty file: no header line")
        delimiter = _sniff_delimiter(header_line)
        rule = _rule_option(ctx.options.get("service_account_rule"))
        normaliser = AdEntryNormaliser(rule, default_authority=ctx.options.get("authority"), warn=ctx.warn)
        state = _FileState(Path(path))
        label = Path(path).name
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        header: list[str] | None = None
        batch: list[Record] = []
        rows = 0
        line = 1
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise BadInput(f"{where}:{start}", f"not readable as CSV: {exc} (a quote left open?)") from None
            line = start
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if row[0].startswith("#TYPE") and len(row) == 1:
                header = None  # -Append: a new export begins here
                continue
            if header is None:
                header = self._header(row, where, line)
                continue
            if [c.strip().lower() for c in row] == [c.lower() for c in header]:
                continue  # the header again, from -Append
            if len(row) != len(header):
                raise BadInput(f"{where}:{line}", f"the record has {len(row)} fields but the header has "
                                                  f"{len(header)} (a stray delimiter or quote?)")
            rows += 1
            entry, principals = self._entry(header, row, state, line)
            source_record = f"{label}:{line}"
            try:
                records = normaliser.normalise(entry, source_record)
            except BadInput as exc:
                raise BadInput(f"{where}:{line}", exc.reason) from None
            batch.extend(records)
            if principals and records:
                ref = dn_ref(entry["distinguishedName"][0])
                for kind, dn in principals:
                    batch.append(EdgeRecord(member_ref(dn), ref, kind, source_record))
            if len(batch) >= BATCH_SIZE:
                ctx.check_cancelled()
                ctx.report(rows, None, f"{label}: {rows} rows")
                yield batch
                batch = []
        if header is None:
            raise BadInput(where, "no header line after the #TYPE line")
        if rows == 0:
            raise BadInput(where, "no records: the file has a header and nothing else")
        del header_number
        self._report(state, where, ctx)
        batch.extend(normaliser.finish())
        ctx.check_cancelled()
        ctx.report(rows, rows, f"{label}: {rows} rows")
        if batch:
            yield batch

    @staticmethod
    def _header(row: list[str], where: str, line: int) -> list[str]:
        header = [c.strip().lstrip("\ufeff") for c in row]
        if "distinguishedname" not in {c.lower() for c in header}:
            raise BadInput(f"{where}:{line}", "the header has no DistinguishedName column (found "
                                              f"{', '.join(header[:6])}{' …' if len(header) > 6 else ''}); "
                                              "every Get-AD* cmdlet writes it unless Select-Object dropped it")
        return header

    def _entry(self, header: list[str], row: list[str], state: _FileState,
               line: int) -> tuple[dict[str, list], list[tuple[str, str]]]:
        entry: dict[str, list] = {}
        dates: dict[str, str] = {}
        flags: dict[str, bool] = {}
        principals: list[tuple[str, str]] = []
        kerberos = None
        for name, cell in zip(header, row, strict=True):
            value = cell.strip()
            if not value:
                continue
            low = name.lower()
            if low in IGNORED:
                continue
            if _TYPE_NAME.match(value):
                have = state.type_names.get(name)
                state.type_names[name] = (value, have[1] if have else line, (have[2] if have else 0) + 1)
                continue
            if low in FRIENDLY_FLAGS:
                if value.lower() in ("true", "false"):
                    flags[low] = value.lower() == "true"
                continue
            if low in FRIENDLY_DATES:
                dates[name] = value
                continue
            if low in PRINCIPAL_COLUMNS:
                principals.extend((PRINCIPAL_COLUMNS[low], dn) for dn in split_dns(value))
                continue
            if low == "kerberosencryptiontype":
                kerberos = value
                continue
            attribute = COLUMNS.get(low, name)
            if attribute in DN_VALUED:
                values: list[Any] = split_dns(value)
            elif attribute in SPN_VALUED:
                values = split_spns(value)
            elif attribute in ("whenCreated", "whenChanged"):
                values = [self._date(name, value, state, line)]  # a DateTime property: culture-formatted
                if values == [None]:
                    continue
            else:
                values = [value]
            entry.setdefault(attribute, []).extend(values)
        for name, value in dates.items():
            attribute = FRIENDLY_DATES[name.lower()]
            if attribute in entry:  # the raw FILETIME is exact: the local-time rendering only checks it
                self._compare(name, _iso_utc(parse_culture_date(value)), entry[attribute][0], state, line)
            else:
                parsed = self._date(name, value, state, line)
                if parsed is not None:
                    entry[attribute] = [parsed]
        if "userAccountControl" not in entry and flags:
            classes = {c.lower() for c in entry.get("objectClass", ())}
            uac = 0x1000 if classes & _MACHINE_CLASSES or (entry.get("sAMAccountName", [""])[0].endswith("$")
                                                         and not classes - _MACHINE_CLASSES) else 0x200
            for low, is_set in flags.items():
                bit = FRIENDLY_FLAGS[low]
                if (not is_set) if low == "enabled" else is_set:
                    uac |= bit
            entry["userAccountControl"] = [str(uac)]
        if kerberos and "msDS-SupportedEncryptionTypes" not in entry:
            bits = 0
            for word in re.split(r"[,\s|]+", kerberos.lower()):
                bits |= KERBEROS_TYPES.get(word, 0)
            if bits or kerberos.isdigit():
                entry["msDS-SupportedEncryptionTypes"] = [kerberos if kerberos.isdigit() else str(bits)]
        return entry, principals

    @staticmethod
    def _date(column: str, value: str, state: _FileState, line: int) -> str | None:
        parsed = parse_culture_date(value)
        if parsed is None:
            if value.lstrip("-").isdigit():
                return value  # a raw FILETIME under a friendly name
            state.bad_dates.setdefault(column, (value[:40], line))
            return None
        state.local_dates.setdefault(column, line)
        return _iso_utc(parsed)

    @staticmethod
    def _compare(column: str, friendly: str | None, raw: Any, state: _FileState, line: int) -> None:
        from . import ad_codec

        if friendly is None:
            return
        try:
            exact = ad_codec.parse_ad_timestamp(raw)
            local = ad_codec.parse_ad_timestamp(friendly)
        except ValueError:
            return
        if exact is None or local is None:
            return
        if abs((exact - local).total_seconds()) > _MAX_OFFSET_SECONDS:
            first, count = state.disagree.get(column, (line, 0))
            state.disagree[column] = (first, count + 1)

    @staticmethod
    def _report(state: _FileState, where: str, ctx: ImportContext) -> None:
        for column, (type_name, line, count) in state.type_names.items():
            ctx.warn(f"{where}:{line}", f"column {column} holds the .NET type name '{type_name}' in {count} "
                                        "record(s), not values: that data was lost in the export and is missing "
                                        f"here; export it joined, e.g. @{{n='{column}';e={{$_.{column} -join ';'}}}}")
        for column, line in state.local_dates.items():
            ctx.warn(f"{where}:{line}", f"column {column} holds dates in the exporting machine's local time "
                                        "without an offset; they were read as UTC (export the raw FILETIME "
                                        "columns such as pwdLastSet for exact times)")
        for column, (line, count) in state.disagree.items():
            ctx.warn(f"{where}:{line}", f"column {column} disagrees with its raw column by more than any time-zone "
                                        f"offset in {count} record(s); the raw value was used")
        for column, (value, line) in state.bad_dates.items():
            ctx.warn(f"{where}:{line}", f"column {column}: {value!r} is not a date in any culture format known "
                                        "here; left empty")
