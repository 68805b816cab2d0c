"""Writes northwind-ad.ldif, the demo estate, from the readable description below.

The LDIF is what ships and what the demo imports; this script is how it was
made, so that its binary values (SIDs, GUIDs, security descriptors) and
FILETIMEs can be reviewed and changed without hand-editing base64. Everything
is derived from fixed inputs: the same script always writes the same bytes
(a test checks that the shipped file matches).

Run: ``python -m nhiplan.resources.demo.make_northwind_ldif [OUT]``.
"""

from __future__ import annotations

import base64
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nhiplan.core.importers.ad_codec import build_security_descriptor, datetime_to_filetime, sid_to_bytes

EXPORT_DATE = datetime(2026, 10, 1, tzinfo=UTC)
CORP = "DC=corp,DC=northwind,DC=test"
EMEA = "DC=emea,DC=corp,DC=northwind,DC=test"
CORP_SID = "S-1-5-21-3623811015-3361044348-30300820"
EMEA_SID = "S-1-5-21-1004336348-1177238915-682003330"
GUID_NAMESPACE = uuid.UUID("6f1c2b1e-4f0a-4a8e-9a53-6e6f72746877")
NEVER = 9223372036854775807

# userAccountControl values used below
NORMAL = 0x200
DISABLED = 0x2
DONT_EXPIRE = 0x10000
PASSWD_NOTREQD = 0x20
TRUSTED_FOR_DELEGATION = 0x80000
TRUSTED_TO_AUTH = 0x1000000
DONT_REQ_PREAUTH = 0x400000
WORKSTATION = 0x1000
SERVER_TRUST = 0x2000


def days_ago(days: float) -> datetime:
    return EXPORT_DATE - timedelta(days=days)


def filetime(days: float | None) -> str:
    return "0" if days is None else str(datetime_to_filetime(days_ago(days)))


def gentime(days: float) -> str:
    return days_ago(days).strftime("%Y%m%d%H%M%S.0Z")


@dataclass
class Obj:
    dn: str
    comment: str
    attrs: list[tuple[str, str | bytes]] = field(default_factory=list)

    def add(self, name: str, *values: str | bytes | int) -> Obj:
        for value in values:
            self.attrs.append((name, value if isinstance(value, str | bytes) else str(value)))
        return self


class Estate:
    def __init__(self) -> None:
        self.objects: list[Obj] = []
        self.by_name: dict[str, Obj] = {}
        self.sids: dict[str, str] = {}
        self.member_of: dict[str, list[str]] = {}

    def sid(self, key: str) -> str:
        return self.sids[key]

    def _base(
        self,
        key: str,
        dn: str,
        domain: str,
        domain_sid: str,
        rid: int | None,
        classes: list[str],
        created_days: float,
        comment: str,
    ) -> Obj:
        obj = Obj(dn, comment)
        obj.add("objectClass", *classes)
        rdn_type, _, rdn_value = dn.split(",", 1)[0].partition("=")
        obj.add(rdn_type.lower(), rdn_value)
        obj.add("distinguishedName", dn)
        obj.add("instanceType", 4)
        obj.add("whenCreated", gentime(created_days))
        obj.add("whenChanged", gentime(min(created_days, 12)))
        obj.add("uSNCreated", 12000 + len(self.objects) * 37)
        obj.add("objectGUID", uuid.uuid5(GUID_NAMESPACE, dn.lower()).bytes_le)
        if rid is not None:
            sid = f"{domain_sid}-{rid}"
            self.sids[key] = sid
            obj.add("objectSid", sid_to_bytes(sid))
        self.objects.append(obj)
        self.by_name[key] = obj
        return obj

    def ou(self, dn: str, description: str) -> None:
        domain = dn[dn.lower().index("dc=") :]
        name = dn.split(",", 1)[0].split("=", 1)[1]
        parent = ", ".join(p.split("=", 1)[1] for p in dn.split(",")[1:] if p.startswith("OU="))
        obj = self._base(
            dn,
            dn,
            domain,
            "",
            None,
            ["top", "organizationalUnit"],
            2900,
            ", ".join(x for x in (name, parent, _dns(domain)) if x),
        )
        obj.add("description", description)
        obj.add("objectCategory", f"CN=Organizational-Unit,CN=Schema,CN=Configuration,{CORP}")

    def user(
        self,
        key: str,
        sam: str,
        container: str,
        domain: str,
        domain_sid: str,
        rid: int,
        *,
        uac: int,
        created: float,
        pwd_last_set: float | None,
        last_logon: float | None,
        display: str | None = None,
        given: str | None = None,
        sn: str | None = None,
        description: str | None = None,
        spns: tuple[str, ...] = (),
        mail: str | None = None,
        title: str | None = None,
        upn: bool = True,
        enc: int | None = None,
        delegate_to: tuple[str, ...] = (),
        managed_by: str | None = None,
        extra: tuple = (),
        critical: bool = False,
    ) -> Obj:
        cn = display or sam
        dn = f"CN={cn},{container},{domain}"
        obj = self._base(
            key,
            dn,
            domain,
            domain_sid,
            rid,
            ["top", "person", "organizationalPerson", "user"],
            created,
            f"{cn}, {container.split(',')[0].split('=')[1]}, {_dns(domain)}",
        )
        if sn:
            obj.add("sn", sn)
        if given:
            obj.add("givenName", given)
        if title:
            obj.add("title", title)
        if description:
            obj.add("description", description)
        if display:
            obj.add("displayName", display)
        obj.add("name", cn)
        obj.add("userAccountControl", uac)
        obj.add("badPwdCount", 0)
        obj.add("codePage", 0)
        obj.add("countryCode", 0)
        obj.add("badPasswordTime", 0)
        obj.add("lastLogoff", 0)
        obj.add("lastLogon", filetime(last_logon))
        obj.add("pwdLastSet", filetime(pwd_last_set))
        obj.add("primaryGroupID", 513)
        obj.add("accountExpires", NEVER)
        obj.add("logonCount", 0 if last_logon is None else 4211)
        obj.add("sAMAccountName", sam)
        obj.add("sAMAccountType", 805306368)
        if upn:
            obj.add("userPrincipalName", f"{sam}@{_dns(domain)}")
        if mail:
            obj.add("mail", mail)
        obj.add("objectCategory", f"CN=Person,CN=Schema,CN=Configuration,{CORP}")
        if critical:
            obj.add("isCriticalSystemObject", "TRUE")
        if spns:
            obj.add("servicePrincipalName", *spns)
        if delegate_to:
            obj.add("msDS-AllowedToDelegateTo", *delegate_to)
        if enc is not None:
            obj.add("msDS-SupportedEncryptionTypes", enc)
        if managed_by:
            obj.add("managedBy", self.by_name[managed_by].dn)
        if last_logon is not None:
            obj.add("lastLogonTimestamp", filetime(last_logon + 3))
        for name, value in extra:
            obj.add(name, value)
        return obj

    def computer(
        self,
        key: str,
        name: str,
        container: str,
        domain: str,
        domain_sid: str,
        rid: int,
        *,
        os: str,
        created: float,
        uac: int = WORKSTATION,
        last_logon: float = 1,
        spns: tuple[str, ...] = (),
        extra: tuple = (),
    ) -> Obj:
        dn = f"CN={name},{container},{domain}"
        host = f"{name.lower()}.{_dns(domain)}"
        obj = self._base(
            key,
            dn,
            domain,
            domain_sid,
            rid,
            ["top", "person", "organizationalPerson", "user", "computer"],
            created,
            f"{name}, {container.split(',')[0].split('=')[1]}, {_dns(domain)}",
        )
        obj.add("name", name)
        obj.add("userAccountControl", uac)
        obj.add("lastLogon", filetime(last_logon))
        obj.add("pwdLastSet", filetime(min(last_logon + 9, created)))
        obj.add("primaryGroupID", 516 if uac & SERVER_TRUST else 515)
        obj.add("accountExpires", NEVER)
        obj.add("sAMAccountName", f"{name}$")
        obj.add("sAMAccountType", 805306369)
        obj.add("operatingSystem", os)
        obj.add("dNSHostName", host)
        obj.add("servicePrincipalName", f"HOST/{host}", f"HOST/{name}", *spns)
        obj.add("objectCategory", f"CN=Computer,CN=Schema,CN=Configuration,{CORP}")
        obj.add("lastLogonTimestamp", filetime(last_logon + 2))
        for attr, value in extra:
            obj.add(attr, value)
        return obj

    def managed(
        self,
        key: str,
        sam: str,
        kind: str,
        domain: str,
        domain_sid: str,
        rid: int,
        *,
        created: float,
        pwd_last_set: float,
        last_logon: float,
        spns: tuple[str, ...] = (),
        extra: tuple = (),
        description: str | None = None,
    ) -> Obj:
        classes = {
            "gmsa": "msDS-GroupManagedServiceAccount",
            "smsa": "msDS-ManagedServiceAccount",
            "dmsa": "msDS-DelegatedManagedServiceAccount",
        }
        dn = f"CN={sam},CN=Managed Service Accounts,{domain}"
        obj = self._base(
            key,
            dn,
            domain,
            domain_sid,
            rid,
            ["top", "person", "organizationalPerson", "user", "computer", classes[kind]],
            created,
            f"{sam}, Managed Service Accounts, {_dns(domain)}",
        )
        if description:
            obj.add("description", description)
        obj.add("name", sam)
        obj.add("userAccountControl", WORKSTATION)
        obj.add("lastLogon", filetime(last_logon))
        obj.add("pwdLastSet", filetime(pwd_last_set))
        obj.add("primaryGroupID", 515)
        obj.add("accountExpires", NEVER)
        obj.add("sAMAccountName", f"{sam}$")
        obj.add("sAMAccountType", 805306369)
        obj.add("dNSHostName", f"{sam}.{_dns(domain)}")
        if spns:
            obj.add("servicePrincipalName", *spns)
        category = {
            "gmsa": "ms-DS-Group-Managed-Service-Account",
            "smsa": "ms-DS-Managed-Service-Account",
            "dmsa": "ms-DS-Delegated-Managed-Service-Account",
        }[kind]
        obj.add("objectCategory", f"CN={category},CN=Schema,CN=Configuration,{CORP}")
        obj.add("isCriticalSystemObject", "FALSE")
        obj.add("lastLogonTimestamp", filetime(last_logon + 1))
        for attr, value in extra:
            obj.add(attr, value)
        return obj

    def group(
        self,
        key: str,
        name: str,
        container: str,
        domain: str,
        domain_sid: str,
        rid: int | None,
        *,
        members: list[str],
        description: str,
        managed_by: str | None = None,
        group_type: int = -2147483646,
        sid: str | None = None,
    ) -> Obj:
        dn = f"CN={name},{container},{domain}"
        obj = self._base(
            key,
            dn,
            domain,
            domain_sid,
            rid,
            ["top", "group"],
            2800,
            f"{name}, {container.split(',')[0].split('=')[1]}, {_dns(domain)}",
        )
        if sid is not None:
            self.sids[key] = sid
            obj.add("objectSid", sid_to_bytes(sid))
        obj.add("description", description)
        obj.add("sAMAccountName", name)
        obj.add("sAMAccountType", 268435456)
        obj.add("groupType", group_type)
        if managed_by:
            obj.add("managedBy", self.by_name[managed_by].dn)
        for member in members:
            obj.add("member", self.by_name[member].dn)
            self.member_of.setdefault(member, []).append(dn)
        obj.add("objectCategory", f"CN=Group,CN=Schema,CN=Configuration,{CORP}")
        return obj


def _dns(domain: str) -> str:
    return ".".join(p.split("=", 1)[1].lower() for p in domain.split(","))


def build() -> Estate:
    e = Estate()
    staff = "OU=Staff,OU=Northwind"
    svc = "OU=Service Accounts,OU=Northwind"
    groups = "OU=Groups,OU=Northwind"
    servers = "OU=Servers,OU=Northwind"
    for dn, text in [
        (f"OU=Northwind,{CORP}", "Northwind Aerospace"),
        (f"{staff},{CORP}", "Employees"),
        (f"{svc},{CORP}", "Accounts used by applications and services"),
        (f"{groups},{CORP}", "Role and resource groups"),
        (f"{servers},{CORP}", "Member servers"),
    ]:
        e.ou(dn, text)

    # --- people ----------------------------------------------------------------------------------------
    people = [
        ("ada", "ada.okafor", "Ada Okafor", "Head of Data Platform", False, 3),
        ("bruno", "bruno.lindqvist", "Bruno Lindqvist", "Web Platform Lead", False, 1),
        ("chen", "chen.wei", "Chen Wei", "BI & Reporting Lead", False, 2),
        ("dana", "dana.whitfield", "Dana Whitfield", "Data Integration Engineer (left 2024-03)", True, 930),
        ("emil", "emil.novak", "Emil Novak", "Infrastructure Engineer", False, 1),
        ("farah", "farah.haddad", "Farah Haddad", "Site Reliability Engineer", False, 1),
        ("gustavo", "gustavo.reyes", "Gustavo Reyes", "DevOps Engineer", False, 4),
        ("hana", "hana.sato", "Hana Sato", "AI Platform Lead", False, 1),
        ("ivan", "ivan.petrov", "Ivan Petrov", "Finance Automation Analyst", False, 6),
        ("julia", "julia.berger", "Julia Berger", "IAM Architect", False, 1),
    ]
    for index, (key, sam, display, title, left, last) in enumerate(people):
        given, sn = display.split(" ", 1)
        e.user(
            key,
            sam,
            staff,
            CORP,
            CORP_SID,
            1201 + index,
            uac=NORMAL | (DISABLED if left else 0),
            created=2400 - index * 90,
            pwd_last_set=last + 40,
            last_logon=last,
            display=display,
            given=given,
            sn=sn,
            title=title,
            mail=f"{sam}@northwind.test",
        )
    e.user(
        "administrator",
        "Administrator",
        "CN=Users",
        CORP,
        CORP_SID,
        500,
        uac=NORMAL | DONT_EXPIRE,
        created=2950,
        pwd_last_set=410,
        last_logon=33,
        description="Built-in account for administering the computer/domain",
        upn=False,
        critical=True,
    )
    e.user(
        "krbtgt",
        "krbtgt",
        "CN=Users",
        CORP,
        CORP_SID,
        502,
        uac=NORMAL | DISABLED,
        created=2950,
        pwd_last_set=2950,
        last_logon=None,
        description="Key Distribution Center Service Account",
        spns=("kadmin/changepw",),
        upn=False,
        critical=True,
    )

    # --- service accounts --------------------------------------------------------------------------------
    sql = "sql01.corp.northwind.test"
    e.user(
        "svc_sql",
        "svc_sql",
        svc,
        CORP,
        CORP_SID,
        1301,
        uac=NORMAL | DONT_EXPIRE,
        created=2500,
        pwd_last_set=2400,
        last_logon=0.5,
        description="SQL Server 2019 engine - SQL01 (finance, portal, reporting, ETL)",
        spns=(f"MSSQLSvc/{sql}:1433", f"MSSQLSvc/{sql}"),
        managed_by="ada",
        enc=28,
    )
    e.user(
        "svc_web",
        "svc_web",
        svc,
        CORP,
        CORP_SID,
        1302,
        uac=NORMAL | DONT_EXPIRE | TRUSTED_TO_AUTH,
        created=2300,
        pwd_last_set=1200,
        last_logon=0.2,
        description="IIS app pool - intranet portal",
        spns=("HTTP/portal.corp.northwind.test", "HTTP/portal"),
        delegate_to=(f"MSSQLSvc/{sql}:1433", f"MSSQLSvc/{sql}"),
        managed_by="bruno",
    )
    e.user(
        "svc_webapi",
        "svc_webapi",
        svc,
        CORP,
        CORP_SID,
        1303,
        uac=NORMAL | DONT_EXPIRE,
        created=1800,
        pwd_last_set=800,
        last_logon=0.1,
        description="IIS app pool - orders API",
        spns=("HTTP/api.corp.northwind.test",),
        delegate_to=(f"MSSQLSvc/{sql}:1433",),
        managed_by="bruno",
        enc=24,
    )
    # The mutual-delegation cycle: reporting delegates to the intranet, the intranet to reporting.
    e.user(
        "svc_reporting",
        "svc_reporting",
        svc,
        CORP,
        CORP_SID,
        1304,
        uac=NORMAL | DONT_EXPIRE,
        created=2200,
        pwd_last_set=1500,
        last_logon=1,
        description="SSRS 2016 report server (legacy)",
        spns=("HTTP/reports.corp.northwind.test", "HTTP/reports"),
        delegate_to=("HTTP/intranet.corp.northwind.test", f"MSSQLSvc/{sql}:1433"),
        managed_by="chen",
    )
    e.user(
        "svc_sharepoint",
        "svc_sharepoint",
        svc,
        CORP,
        CORP_SID,
        1305,
        uac=NORMAL | DONT_EXPIRE,
        created=2100,
        pwd_last_set=1100,
        last_logon=0.3,
        description="SharePoint farm account",
        spns=("HTTP/intranet.corp.northwind.test", "HTTP/intranet"),
        delegate_to=("HTTP/reports.corp.northwind.test",),
        managed_by="bruno",
    )
    e.user(
        "svc_etl_loader",
        "svc_etl_loader",
        svc,
        CORP,
        CORP_SID,
        1306,
        uac=NORMAL | DONT_EXPIRE,
        created=2600,
        pwd_last_set=2410,
        last_logon=1,
        description="ETL loader (pw=Summer2019!)",
        managed_by="dana",
        extra=(("info", "Nightly SSIS packages on SQL01; contact Dana"),),
    )
    e.user(
        "svc_backup",
        "svc_backup",
        svc,
        CORP,
        CORP_SID,
        1307,
        uac=NORMAL | DONT_EXPIRE,
        created=2000,
        pwd_last_set=700,
        last_logon=0.4,
        description="Veeam backup service account",
        spns=("VeeamBackup/bkp01.corp.northwind.test",),
        managed_by="emil",
    )
    e.user(
        "svc_legacy_erp",
        "svc_legacy_erp",
        svc,
        CORP,
        CORP_SID,
        1308,
        uac=NORMAL | DONT_EXPIRE | TRUSTED_FOR_DELEGATION,
        created=2900,
        pwd_last_set=2450,
        last_logon=1460,
        description="Navision 2009 middle tier (decommissioned?)",
        spns=("HTTP/erp-old.corp.northwind.test",),
        enc=4,
    )
    e.user(
        "svc_monitor",
        "svc_monitor",
        svc,
        CORP,
        CORP_SID,
        1309,
        uac=NORMAL | DONT_EXPIRE,
        created=1500,
        pwd_last_set=400,
        last_logon=0.05,
        description="Zabbix agent checks and SQL monitoring",
        spns=("HTTP/zabbix.corp.northwind.test",),
        managed_by="farah",
    )
    e.user(
        "svc_cicd",
        "svc_cicd",
        svc,
        CORP,
        CORP_SID,
        1310,
        uac=NORMAL | DONT_EXPIRE,
        created=1100,
        pwd_last_set=600,
        last_logon=0.02,
        description="GitLab runner on BUILD01 - deploys web and API",
        managed_by="gustavo",
    )
    e.user(
        "svc_chatbot",
        "svc_chatbot",
        svc,
        CORP,
        CORP_SID,
        1311,
        uac=NORMAL | DONT_EXPIRE,
        created=400,
        pwd_last_set=390,
        last_logon=0.01,
        description="Shared AI integration account: helpdesk assistant, "
        "sales copilot, HR FAQ bot, code review assistant",
        spns=("HTTP/aigw01.corp.northwind.test", "HTTP/chat.corp.northwind.test"),
        managed_by="hana",
    )
    e.user(
        "svc_rpa_bot",
        "svc_rpa_bot",
        svc,
        CORP,
        CORP_SID,
        1312,
        uac=NORMAL | DONT_EXPIRE,
        created=700,
        pwd_last_set=650,
        last_logon=0.1,
        description="UiPath unattended robot - invoice processing",
        managed_by="ivan",
    )
    e.user(
        "svc_scanner",
        "svc_scanner",
        svc,
        CORP,
        CORP_SID,
        1313,
        uac=NORMAL | DONT_EXPIRE | DONT_REQ_PREAUTH,
        created=1900,
        pwd_last_set=1880,
        last_logon=2,
        description="Scan-to-folder on the 3rd floor MFPs",
    )
    e.user(
        "svc_old_fax",
        "svc_old_fax",
        svc,
        CORP,
        CORP_SID,
        1314,
        uac=NORMAL | DISABLED | PASSWD_NOTREQD | DONT_EXPIRE,
        created=2940,
        pwd_last_set=2930,
        last_logon=2600,
        description="RightFax gateway (disabled 2019)",
    )
    e.user(
        "svc_jenkins_old",
        "svc_jenkins_old",
        svc,
        CORP,
        CORP_SID,
        1315,
        uac=NORMAL | DONT_EXPIRE,
        created=2700,
        pwd_last_set=2400,
        last_logon=1500,
        description="Jenkins master (replaced by GitLab)",
        spns=("HTTP/jenkins.corp.northwind.test",),
    )
    e.user(
        "hr_sync_svc",
        "hr_sync_svc",
        svc,
        CORP,
        CORP_SID,
        1316,
        uac=NORMAL | DONT_EXPIRE,
        created=1000,
        pwd_last_set=300,
        last_logon=0.1,
        description="Workday to AD provisioning connector",
        upn=False,
    )
    e.user(
        "sa_vpn_radius",
        "sa_vpn_radius",
        svc,
        CORP,
        CORP_SID,
        1317,
        uac=NORMAL | DONT_EXPIRE,
        created=1700,
        pwd_last_set=1650,
        last_logon=0.3,
        description="NPS / RADIUS bind for the VPN concentrators",
        extra=(("userPassword", b"Radius#2020"),),
    )
    # A service account that only its description gives away: no SPN, no naming convention, in Staff.
    e.user(
        "pbi",
        "pbi.gateway",
        staff,
        CORP,
        CORP_SID,
        1318,
        uac=NORMAL | DONT_EXPIRE,
        created=500,
        pwd_last_set=480,
        last_logon=0.2,
        display="Power BI Gateway",
        description="Service account for the Power BI on-premises data gateway",
        managed_by="chen",
    )

    # --- computers ---------------------------------------------------------------------------------------
    dc_container = "OU=Domain Controllers"
    e.computer(
        "dc01",
        "DC01",
        dc_container,
        CORP,
        CORP_SID,
        1000,
        os="Windows Server 2022 Datacenter",
        created=2950,
        uac=SERVER_TRUST | TRUSTED_FOR_DELEGATION,
        spns=("ldap/dc01.corp.northwind.test", "GC/dc01.corp.northwind.test/corp.northwind.test"),
    )
    e.computer(
        "web01", "WEB01", servers, CORP, CORP_SID, 1101, os="Windows Server 2019 Standard", created=2300
    )
    e.computer(
        "web02", "WEB02", servers, CORP, CORP_SID, 1102, os="Windows Server 2022 Standard", created=900
    )
    e.computer(
        "rpt01", "RPT01", servers, CORP, CORP_SID, 1103, os="Windows Server 2022 Standard", created=800
    )
    e.computer(
        "rpt02", "RPT02", servers, CORP, CORP_SID, 1104, os="Windows Server 2022 Standard", created=800
    )
    e.computer(
        "prt01",
        "PRT01",
        servers,
        CORP,
        CORP_SID,
        1105,
        os="Windows Server 2016 Standard",
        created=2400,
        extra=(("ms-Mcs-AdmPwd", "7hR!x2-LocalAdmin"),),
    )
    e.computer("build01", "BUILD01", servers, CORP, CORP_SID, 1106, os="Ubuntu 22.04 (realmd)", created=1100)
    e.computer(
        "aigw01", "AIGW01", servers, CORP, CORP_SID, 1107, os="Windows Server 2022 Standard", created=400
    )
    # SQL01 accepts resource-based constrained delegation from the orders API account and WEB02.
    e.computer(
        "sql01",
        "SQL01",
        servers,
        CORP,
        CORP_SID,
        1108,
        os="Windows Server 2019 Datacenter",
        created=2500,
        extra=(
            (
                "msDS-AllowedToActOnBehalfOfOtherIdentity",
                build_security_descriptor("S-1-5-32-544", [e.sid("svc_webapi"), e.sid("web02")]),
            ),
        ),
    )

    # --- managed service accounts ----------------------------------------------------------------------
    e.managed(
        "gmsa_iis",
        "gmsa_iis",
        "gmsa",
        CORP,
        CORP_SID,
        1401,
        created=600,
        pwd_last_set=12,
        last_logon=0.2,
        spns=("HTTP/shop.corp.northwind.test",),
        description="IIS app pool - web shop",
        extra=(
            ("msDS-ManagedPasswordInterval", "30"),
            ("msDS-SupportedEncryptionTypes", "24"),
            (
                "msDS-GroupMSAMembership",
                build_security_descriptor("S-1-5-32-544", [e.sid("web01"), e.sid("web02")]),
            ),
        ),
    )
    e.managed(
        "smsa_print",
        "smsa_print",
        "smsa",
        CORP,
        CORP_SID,
        1403,
        created=1300,
        pwd_last_set=20,
        last_logon=0.5,
        description="Print spooler add-on on PRT01",
        extra=(("msDS-HostServiceAccountBL", e.by_name["prt01"].dn),),
    )
    e.by_name["prt01"].add("msDS-HostServiceAccount", e.by_name["smsa_print"].dn)
    e.managed(
        "dmsa_erp",
        "dmsa_erp",
        "dmsa",
        CORP,
        CORP_SID,
        1404,
        created=30,
        pwd_last_set=5,
        last_logon=1,
        spns=("HTTP/erp.corp.northwind.test",),
        description="Successor of svc_legacy_erp (WS2025 dMSA)",
        extra=(
            ("msDS-ManagedAccountPrecededByLink", e.by_name["svc_legacy_erp"].dn),
            ("msDS-DelegatedMSAState", "1"),
            ("msDS-ManagedPasswordInterval", "30"),
        ),
    )

    # --- groups ------------------------------------------------------------------------------------------
    e.group(
        "domain_admins",
        "Domain Admins",
        "CN=Users",
        CORP,
        CORP_SID,
        512,
        members=["administrator", "julia"],
        description="Designated administrators of the domain",
        group_type=-2147483646,
    )
    e.group(
        "backup_operators",
        "Backup Operators",
        "CN=Builtin",
        CORP,
        CORP_SID,
        None,
        sid="S-1-5-32-551",
        members=["svc_backup"],
        description="Backup Operators can override security restrictions for the sole "
        "purpose of backing up or restoring files",
        group_type=-2147483643,
    )
    e.group(
        "sql_admins",
        "SQL Admins",
        groups,
        CORP,
        CORP_SID,
        1501,
        members=["svc_sql", "ada"],
        description="sysadmin on SQL01",
        managed_by="ada",
    )
    e.group(
        "web_pools",
        "Web App Pools",
        groups,
        CORP,
        CORP_SID,
        1502,
        members=["svc_web", "svc_webapi", "svc_sharepoint"],
        description="IIS application pool identities",
        managed_by="bruno",
    )
    e.group(
        "report_servers",
        "Report Servers",
        groups,
        CORP,
        CORP_SID,
        1503,
        members=["rpt01", "rpt02"],
        description="Hosts allowed to retrieve the gmsa_reports password",
        managed_by="chen",
    )
    e.group(
        "etl_operators",
        "ETL Operators",
        groups,
        CORP,
        CORP_SID,
        1504,
        members=["svc_etl_loader"],
        description="Write access to the finance staging database",
        managed_by="dana",
    )
    e.group(
        "deploy_admins",
        "Deployment Admins",
        groups,
        CORP,
        CORP_SID,
        1505,
        members=["svc_cicd", "gustavo"],
        description="Local admin on WEB01, WEB02 and BUILD01",
        managed_by="gustavo",
    )
    e.group(
        "ai_integrations",
        "AI Integrations",
        groups,
        CORP,
        CORP_SID,
        1506,
        members=["svc_chatbot", "hana"],
        description="Read access to the knowledge base, CRM and HR FAQ sites",
        managed_by="hana",
    )
    e.group(
        "finance_automation",
        "Finance Automation",
        groups,
        CORP,
        CORP_SID,
        1507,
        members=["svc_rpa_bot", "ivan"],
        description="Invoice approval in the ERP",
        managed_by="ivan",
    )
    e.group(
        "monitoring",
        "Monitoring Readers",
        groups,
        CORP,
        CORP_SID,
        1508,
        members=["svc_monitor", "farah"],
        description="Read-only on servers and SQL DMVs",
        managed_by="farah",
    )
    e.managed(
        "gmsa_reports",
        "gmsa_reports",
        "gmsa",
        CORP,
        CORP_SID,
        1402,
        created=300,
        pwd_last_set=8,
        last_logon=0.3,
        spns=("HTTP/reports-new.corp.northwind.test",),
        description="SSRS 2022 report server (replaces svc_reporting)",
        extra=(
            ("msDS-ManagedPasswordInterval", "30"),
            ("msDS-SupportedEncryptionTypes", "24"),
            ("msDS-GroupMSAMembership", build_security_descriptor("S-1-5-32-544", [e.sid("report_servers")])),
        ),
    )

    # --- child domain: EMEA --------------------------------------------------------------------------------
    e.ou(f"OU=Service Accounts,{EMEA}", "EMEA application accounts")
    e.ou(f"OU=Staff,{EMEA}", "EMEA employees")
    e.user(
        "klaus",
        "klaus.meier",
        "OU=Staff",
        EMEA,
        EMEA_SID,
        1201,
        uac=NORMAL,
        created=1600,
        pwd_last_set=60,
        last_logon=1,
        display="Klaus Meier",
        given="Klaus",
        sn="Meier",
        title="EMEA Database Administrator",
        mail="klaus.meier@emea.northwind.test",
    )
    e.user(
        "emea_svc_sql",
        "svc_sql",
        "OU=Service Accounts",
        EMEA,
        EMEA_SID,
        1301,
        uac=NORMAL | DONT_EXPIRE,
        created=1500,
        pwd_last_set=900,
        last_logon=0.5,
        description="SQL-Dienstkonto für das Lager München (SQL-EMEA01)",
        spns=("MSSQLSvc/sql-emea01.emea.corp.northwind.test:1433",),
        managed_by="klaus",
    )
    e.computer(
        "sql_emea01",
        "SQL-EMEA01",
        "OU=Servers",
        EMEA,
        EMEA_SID,
        1101,
        os="Windows Server 2019 Standard",
        created=1500,
    )
    e.group(
        "emea_sql_admins",
        "EMEA SQL Admins",
        "OU=Groups",
        EMEA,
        EMEA_SID,
        1501,
        members=["emea_svc_sql", "klaus"],
        description="sysadmin on SQL-EMEA01",
        managed_by="klaus",
    )

    for key, group_dns in e.member_of.items():
        e.by_name[key].add("memberOf", *group_dns)
    return e


def _fold(line: bytes, width: int = 78) -> bytes:
    # ldapsearch folds at 78 columns: the first line keeps 78 bytes, each continuation a space and 77.
    if len(line) <= width:
        return line + b"\n"
    out = [line[:width]]
    pos = width
    while pos < len(line):
        out.append(b" " + line[pos : pos + width - 1])
        pos += width - 1
    return b"\n".join(out) + b"\n"


def _line(name: str, value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return f"{name}:: {base64.b64encode(value).decode('ascii')}".encode("ascii")
    raw = value.encode("utf-8")
    if (
        not value
        or not value.isascii()
        or value[0] in " :<"
        or value.endswith(" ")
        or any(c in value for c in "\r\n\0")
    ):
        return f"{name}:: {base64.b64encode(raw).decode('ascii')}".encode("ascii")
    return f"{name}: ".encode("ascii") + raw


def render(estate: Estate) -> bytes:
    out = [
        b"# extended LDIF\n",
        b"#\n",
        b"# LDAPv3\n",
        b"# base <DC=corp,DC=northwind,DC=test> with scope subtree\n",
        b"# filter: (|(objectClass=user)(objectClass=group)(objectClass=organizationalUnit))\n",
        b"# requesting: ALL\n",
        b"#\n",
        b"# Northwind Aerospace demo estate, exported 2026-10-01 (fictional).\n",
        b"\n",
    ]
    for obj in estate.objects:
        out.append(_fold(f"# {obj.comment}".encode()))
        out.append(_fold(_line("dn", obj.dn)))
        for name, value in obj.attrs:
            out.append(_fold(_line(name, value)))
        out.append(b"\n")
    for zone in ("ForestDnsZones", "DomainDnsZones"):
        out.append(b"# search reference\n")
        out.append(_fold(f"ref: ldap://{zone}.corp.northwind.test/DC={zone},{CORP}".encode()))
        out.append(b"\n")
    out.append(b"# search result\nsearch: 2\nresult: 0 Success\n\n")
    out.append(f"# numResponses: {len(estate.objects) + 3}\n# numEntries: {len(estate.objects)}\n".encode())
    return b"".join(out)


def main(argv: list[str]) -> None:
    target = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("northwind-ad.ldif")
    target.write_bytes(render(build()))


if __name__ == "__main__":
    main(sys.argv)
