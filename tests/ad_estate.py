"""One small Active Directory estate as plain data, and writers for every form it can take.

The AD source tests build their inputs from this one model so that "the same
estate" really is the same: ``to_ldif`` (an ldapsearch-style export, also what the
test slapd is loaded with), ``to_csv`` (PowerShell ``Export-Csv`` of Get-ADUser /
Get-ADServiceAccount / Get-ADComputer / Get-ADGroup) and ``to_ldapdomaindump``
(``domain_users.json`` / ``domain_computers.json`` / ``domain_groups.json`` as
ldapdomaindump 0.10 with ldap3 2.9 writes them).

Each object is ``(dn, {attribute: [values]})`` with AD's attribute names; values
are ``str``, ``int`` or ``bytes`` as AD holds them. Memberships are written on
both sides (``member`` on the group, ``memberOf`` on the member), as AD and the
memberof overlay keep them.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime, timedelta

from nhiplan.core.importers import ad_codec

DOMAIN = "corp.example.test"
BASE = "DC=corp,DC=example,DC=test"
DOMAIN_SID = "S-1-5-21-1111111111-2222222222-3333333333"
NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)

AdObject = tuple[str, dict[str, list]]


def _guid(n: int) -> bytes:
    return ad_codec.guid_to_bytes(f"0a1b2c3d-4e5f-6071-8293-{n:012x}")


def _sid(rid: int) -> bytes:
    return ad_codec.sid_to_bytes(f"{DOMAIN_SID}-{rid}")


def _ft(moment: datetime) -> int:
    return ad_codec.datetime_to_filetime(moment)


def _gt(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S.0Z")


def estate() -> list[AdObject]:
    """The estate: containers, a person, service accounts, a gMSA, a computer and groups."""
    ou = {n: f"OU={n},{BASE}" for n in ("Service Accounts", "Staff", "Groups", "Servers")}
    msa = f"CN=Managed Service Accounts,{BASE}"
    sql_admins, web_apps, app_readers = (f"CN={g},{ou['Groups']}" for g in ("SQL Admins", "Web Apps", "App Readers"))
    ada = f"CN=Ada Lovelace,{ou['Staff']}"
    svc_sql = f"CN=svc_sql,{ou['Service Accounts']}"
    svc_web = f"CN=svc_web,{ou['Service Accounts']}"
    svc_backup = f"CN=svc_backup,{ou['Service Accounts']}"
    gmsa = f"CN=gmsa_app,{msa}"
    web01 = f"CN=WEB01,{ou['Servers']}"
    created = NOW - timedelta(days=900)

    def account(dn, rid, name, classes, uac, **extra):
        attrs = {"objectClass": ["top", "person", "organizationalPerson", "user", *classes],
                 "cn": [dn.split(",", 1)[0][3:]], "sn": [name.rstrip("$")], "sAMAccountName": [name],
                 "objectSid": [_sid(rid)], "objectGUID": [_guid(rid)], "userAccountControl": [uac],
                 "whenCreated": [_gt(created)], "accountExpires": [ad_codec.FILETIME_NEVER]}
        attrs.update({k.replace("_", "-"): v if isinstance(v, list) else [v] for k, v in extra.items()})
        return dn, attrs

    objects: list[AdObject] = [
        (BASE, {"objectClass": ["top", "domain"], "dc": ["corp"]}),
        *[(dn, {"objectClass": ["top", "organizationalUnit"], "ou": [name]}) for name, dn in ou.items()],
        (msa, {"objectClass": ["top", "organizationalRole"], "cn": ["Managed Service Accounts"]}),
        account(ada, 1101, "ada.lovelace", [], 512, displayName="Ada Lovelace",
                userPrincipalName=f"ada.lovelace@{DOMAIN}", mail=f"ada.lovelace@{DOMAIN}",
                pwdLastSet=_ft(NOW - timedelta(days=20)), lastLogonTimestamp=_ft(NOW - timedelta(days=1)),
                memberOf=[app_readers]),
        account(svc_sql, 1105, "svc_sql", [], 66048, description="SQL engine (pw=Summer2019!)",
                servicePrincipalName=["MSSQLSvc/sql01.corp.example.test:1433", "MSSQLSvc/sql01.corp.example.test"],
                pwdLastSet=_ft(NOW - timedelta(days=800)), lastLogonTimestamp=_ft(NOW - timedelta(days=3)),
                managedBy=ada, memberOf=[sql_admins]),
        account(svc_web, 1106, "svc_web", [], 16843264, description="IIS app pool for the intranet",
                servicePrincipalName=["HTTP/web01.corp.example.test"],
                msDS_AllowedToDelegateTo=["MSSQLSvc/sql01.corp.example.test:1433"],
                pwdLastSet=_ft(NOW - timedelta(days=400)), lastLogonTimestamp=_ft(NOW - timedelta(days=2)),
                memberOf=[web_apps]),
        account(svc_backup, 1107, "svc_backup", [], 66050, description="Sicherungskonto für München",
                pwdLastSet=_ft(NOW - timedelta(days=1500))),
        account(gmsa, 1108, "gmsa_app$", ["computer", "msDS-GroupManagedServiceAccount"], 4096,
                dNSHostName="gmsa_app.corp.example.test", servicePrincipalName=["HTTP/app01.corp.example.test"],
                msDS_ManagedPasswordInterval=30, pwdLastSet=_ft(NOW - timedelta(days=10)),
                lastLogonTimestamp=_ft(NOW - timedelta(hours=5)),
                msDS_GroupMSAMembership=ad_codec.build_security_descriptor(
                    "S-1-5-32-544", [f"{DOMAIN_SID}-1110", f"{DOMAIN_SID}-1202"]),
                memberOf=[web_apps]),
        account(web01, 1110, "WEB01$", ["computer"], 4096, dNSHostName="web01.corp.example.test",
                operatingSystem="Windows Server 2022", servicePrincipalName=["HOST/web01.corp.example.test"],
                msDS_AllowedToActOnBehalfOfOtherIdentity=ad_codec.build_security_descriptor(
                    "S-1-5-32-544", [f"{DOMAIN_SID}-1106"]),
                memberOf=[app_readers]),
        (sql_admins, {"objectClass": ["top", "group"], "cn": ["SQL Admins"], "sAMAccountName": ["SQL Admins"],
                      "objectSid": [_sid(1201)], "objectGUID": [_guid(1201)], "groupType": [-2147483646],
                      "member": [svc_sql], "managedBy": [ada]}),
        (web_apps, {"objectClass": ["top", "group"], "cn": ["Web Apps"], "sAMAccountName": ["Web Apps"],
                    "objectSid": [_sid(1202)], "objectGUID": [_guid(1202)], "groupType": [-2147483646],
                    "member": [svc_web, gmsa]}),
        (app_readers, {"objectClass": ["top", "group"], "cn": ["App Readers"], "sAMAccountName": ["App Readers"],
                       "objectSid": [_sid(1203)], "objectGUID": [_guid(1203)], "groupType": [-2147483646],
                       "member": [ada, web01]}),
    ]
    return objects


# --- LDIF ----------------------------------------------------------------------------------------------------

def _ldif_line(name: str, value) -> str:
    if isinstance(value, bytes):
        return f"{name}:: {base64.b64encode(value).decode('ascii')}"
    text = str(value)
    if not text.isascii() or text[:1] in (" ", ":", "<") or text.endswith(" "):
        return f"{name}:: {base64.b64encode(text.encode('utf-8')).decode('ascii')}"
    return f"{name}: {text}"


def to_ldif(objects: list[AdObject]) -> str:
    blocks = []
    for dn, attrs in objects:
        lines = [_ldif_line("dn", dn)]
        for name, values in attrs.items():
            lines.extend(_ldif_line(name, v) for v in values)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


# --- PowerShell Export-Csv -------------------------------------------------------------------------------------

_TYPE_NAMES = {"group": "ADGroup", "computer": "ADComputer", "msDS-GroupManagedServiceAccount": "ADServiceAccount"}


def _most_specific_class(attrs: dict[str, list]) -> str:
    return attrs["objectClass"][-1]


def _ps_date(moment: datetime) -> str:
    """DateTime.ToString() on an en-US machine whose clock runs on UTC."""
    hour = moment.hour % 12 or 12
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S} {'AM' if moment.hour < 12 else 'PM'}"


def _csv_row(dn: str, attrs: dict[str, list], joined: bool) -> dict[str, str]:
    """One object as Get-AD* -Properties … | Export-Csv renders it (multi-values joined when `joined`)."""
    def one(name):
        values = attrs.get(name)
        return values[0] if values else None

    def many(name):
        values = attrs.get(name) or []
        if not values:
            return ""
        return "\n".join(map(str, values)) if joined else "Microsoft.ActiveDirectory.Management.ADPropertyValueCollection"

    def sids_to_dns(blob):
        if blob is None:
            return ""
        sids = ad_codec.allowed_sids(blob)
        by_sid = {ad_codec.sid_from_bytes(a["objectSid"][0]): d for d, a in estate() if "objectSid" in a}
        return "\n".join(by_sid[s] for s in sids) if joined else \
            "Microsoft.ActiveDirectory.Management.ADPropertyValueCollection"

    uac = one("userAccountControl")
    row = {
        "DistinguishedName": dn,
        "Name": one("cn") or "",
        "ObjectClass": _most_specific_class(attrs),
        "ObjectGUID": ad_codec.guid_from_bytes(one("objectGUID")),
        "SamAccountName": one("sAMAccountName") or "",
        "SID": ad_codec.sid_from_bytes(one("objectSid")),
        "Description": one("description") or "",
        "Created": _ps_date(ad_codec.generalized_time_to_datetime(one("whenCreated"))) if one("whenCreated") else "",
        "MemberOf": many("memberOf"),
        "ManagedBy": one("managedBy") or "",
    }
    if "group" in attrs["objectClass"]:
        row.update({"GroupCategory": "Security", "GroupScope": "Global", "Members": many("member"),
                    "groupType": str(one("groupType"))})
        return row
    pwd = one("pwdLastSet")
    last = one("lastLogonTimestamp")
    row.update({
        "Enabled": str(not uac & 2), "UserPrincipalName": one("userPrincipalName") or "",
        "DisplayName": one("displayName") or "", "EmailAddress": one("mail") or "",
        "ServicePrincipalNames": many("servicePrincipalName"),
        "msDS-AllowedToDelegateTo": many("msDS-AllowedToDelegateTo"),
        "TrustedForDelegation": str(bool(uac & 0x80000)), "TrustedToAuthForDelegation": str(bool(uac & 0x1000000)),
        "PasswordNeverExpires": str(bool(uac & 0x10000)), "userAccountControl": str(uac),
        "PasswordLastSet": _ps_date(ad_codec.filetime_to_datetime(pwd)) if pwd else "",
        "pwdLastSet": str(pwd) if pwd is not None else "",
        "LastLogonDate": _ps_date(ad_codec.filetime_to_datetime(last)) if last else "",
        "lastLogonTimestamp": str(last) if last is not None else "",
        "accountExpires": str(one("accountExpires")), "AccountExpirationDate": "",
        "DNSHostName": one("dNSHostName") or "", "OperatingSystem": one("operatingSystem") or "",
        "ManagedPasswordIntervalInDays": str(one("msDS-ManagedPasswordInterval") or ""),
        "PrincipalsAllowedToRetrieveManagedPassword": sids_to_dns(one("msDS-GroupMSAMembership")),
        "PrincipalsAllowedToDelegateToAccount": sids_to_dns(one("msDS-AllowedToActOnBehalfOfOtherIdentity")),
    })
    return row


def to_csv(objects: list[AdObject], *, joined: bool = True, type_line: bool = True, delimiter: str = ",",
           only: str | None = None) -> dict[str, str]:
    """{file name: CSV text}: one Export-Csv per cmdlet (users, service accounts, computers, groups)."""
    files: dict[str, list[tuple[str, dict]]] = {}
    for dn, attrs in objects:
        classes = attrs["objectClass"]
        if "group" in classes:
            name = "groups.csv"
        elif "msDS-GroupManagedServiceAccount" in classes:
            name = "serviceaccounts.csv"
        elif "computer" in classes:
            name = "computers.csv"
        elif "user" in classes:
            name = "users.csv"
        else:
            continue
        files.setdefault(name, []).append((dn, attrs))
    out = {}
    for name, items in files.items():
        if only and name != only:
            continue
        rows = [_csv_row(dn, attrs, joined) for dn, attrs in items]
        buffer = io.StringIO()
        if type_line:
            kind = _TYPE_NAMES.get(_most_specific_class(items[0][1]), "ADUser")
            buffer.write(f"#TYPE Microsoft.ActiveDirectory.Management.{kind}\r\n")
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=delimiter, quoting=csv.QUOTE_ALL,
                                lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        out[name] = buffer.getvalue()
    return out


# --- ldapdomaindump ----------------------------------------------------------------------------------------

_FILETIME_ATTRS = {"pwdLastSet", "lastLogonTimestamp", "lastLogon", "accountExpires", "badPasswordTime"}


def _dump_value(name: str, value):
    """A value as ldap3's formatters (through ldapdomaindump's entry_to_json) render it."""
    if name == "objectSid":
        return ad_codec.sid_from_bytes(value)
    if name == "objectGUID":
        return "{" + ad_codec.guid_from_bytes(value) + "}"
    if isinstance(value, bytes):
        return {"encoded": base64.b64encode(value).decode("ascii"), "encoding": "base64"}
    if name in _FILETIME_ATTRS:
        moment = ad_codec.filetime_to_datetime(value)
        if moment is None:
            return "9999-12-31 23:59:59.999999+00:00" if value else "1601-01-01 00:00:00+00:00"
        return str(moment)
    if name in ("whenCreated", "whenChanged"):
        return str(ad_codec.generalized_time_to_datetime(value))
    return value


def to_ldapdomaindump(objects: list[AdObject]) -> dict[str, str]:
    """{file name: JSON text} as ldapdomaindump writes domain_users/computers/groups.json."""
    files: dict[str, list[str]] = {"domain_users.json": [], "domain_computers.json": [], "domain_groups.json": []}
    for dn, attrs in objects:
        classes = attrs["objectClass"]
        if "group" in classes:
            name = "domain_groups.json"
        elif "computer" in classes:
            name = "domain_computers.json"  # gMSAs too: their objectCategory is not person
        elif "user" in classes:
            name = "domain_users.json"
        else:
            continue
        entry = {"attributes": {k: [_dump_value(k, v) for v in values] for k, values in attrs.items()}, "dn": dn}
        files[name].append(json.dumps(entry, sort_keys=True, indent=4, ensure_ascii=True))
    return {name: "[" + ", ".join(entries) + "]" for name, entries in files.items()}
