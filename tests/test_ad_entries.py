"""The shared AD normaliser, its service-account rule and secret redaction, fed plain dict entries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from nhiplan.core.errors import BadInput
from nhiplan.core.importers import ad_codec
from nhiplan.core.importers.ad_entries import AdEntryNormaliser, authority_of, dn_ref, member_ref, spn_host
from nhiplan.core.importers.ad_rules import ServiceAccountRule
from nhiplan.core.records import CredentialRecord, EdgeRecord, FindingRecord, IdentityRecord, NodeRecord
from nhiplan.core.secrets import SECRET_ATTRIBUTES, is_secret_attribute, redact_text

DOMAIN = "DC=corp,DC=example,DC=test"
DOMAIN_SID = "S-1-5-21-1111111111-2222222222-3333333333"


def sid(rid: int) -> bytes:
    return ad_codec.sid_to_bytes(f"{DOMAIN_SID}-{rid}")


def user(cn: str, ou: str = "OU=Service Accounts", **attrs) -> dict:
    entry = {
        "dn": [f"CN={cn},{ou},{DOMAIN}"],
        "objectClass": ["top", "person", "organizationalPerson", "user"],
        "sAMAccountName": [cn],
        "userAccountControl": ["66048"],
    }
    for name, value in attrs.items():
        entry[name] = value if isinstance(value, list) else [value]
    return entry


def run(*entries, rule=None, **kwargs) -> tuple[list, list]:
    warnings: list[tuple[str, str]] = []
    normaliser = AdEntryNormaliser(
        rule, warn=lambda where, message: warnings.append((where, message)), **kwargs
    )
    records = []
    for index, entry in enumerate(entries):
        records.extend(normaliser.normalise(entry, f"test.ldif:{index + 1}"))
    records.extend(normaliser.finish())
    return records, warnings


def of(records, cls, kind=None):
    return [r for r in records if isinstance(r, cls) and (kind is None or r.kind == kind)]


def edges(records, kind):
    return {(e.src_ref, e.dst_ref) for e in of(records, EdgeRecord, kind)}


# --- the service account ----------------------------------------------------------------------------------


def test_service_account_with_everything():
    records, warnings = run(
        user(
            "svc_sql",
            objectSid=sid(1105),
            objectGUID=ad_codec.guid_to_bytes("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"),
            servicePrincipalName=["MSSQLSvc/sql01.corp.example.test:1433", "MSSQLSvc/sql01"],
            memberOf=[f"CN=SQL Admins,OU=Groups,{DOMAIN}"],
            managedBy=f"CN=Ada Lovelace,OU=Staff,{DOMAIN}",
            pwdLastSet="131961672000000000",
            lastLogonTimestamp="133486382450000000",
            lastLogon="133000000000000000",
            whenCreated="20190304100000.0Z",
            accountExpires="9223372036854775807",
            userPrincipalName="svc_sql@corp.example.test",
            displayName="SQL engine",
            mail="dba@example.test",
            description="SQL Server engine",
        )
    )
    assert warnings == []
    (identity,) = of(records, IdentityRecord)
    ref = f"dn:cn=svc_sql,ou=service accounts,{DOMAIN.lower()}"
    assert identity.ref == ref
    assert identity.kind == "service_account"
    assert identity.name == "svc_sql"
    assert identity.authority == "corp.example.test"
    assert identity.source_record == "test.ldif:1"
    assert identity.sid == f"{DOMAIN_SID}-1105"
    assert identity.guid == "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    assert identity.upn == "svc_sql@corp.example.test"
    assert identity.display_name == "SQL engine"
    assert identity.emails == ["dba@example.test"]
    assert identity.enabled is True
    assert identity.created == datetime(2019, 3, 4, 10, tzinfo=UTC)
    assert identity.password_last_set == datetime(2019, 3, 4, 10, tzinfo=UTC)
    assert identity.last_used == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)  # the later of the two
    assert identity.expires is None
    assert identity.flags == ["NORMAL_ACCOUNT", "DONT_EXPIRE_PASSWD"]
    assert identity.spns == ["MSSQLSvc/sql01.corp.example.test:1433", "MSSQLSvc/sql01"]
    assert identity.classification.startswith(
        "service account: has SPN MSSQLSvc/sql01.corp.example.test:1433"
    )
    assert "name matches svc_*" in identity.classification
    assert "in OU=Service Accounts" in identity.classification
    assert identity.attributes["sAMAccountName"] == ["svc_sql"]
    assert "dn" not in identity.attributes
    json.dumps(identity.attributes)  # bytes became base64
    assert identity.attributes["objectGUID"] == ["PSwbCl9OcWCCk6S1xtfo+Q=="]

    (credential,) = of(records, CredentialRecord)
    assert (credential.owner_ref, credential.kind, credential.credential_id) == (ref, "password", "password")
    assert credential.created == datetime(2019, 3, 4, 10, tzinfo=UTC)
    assert credential.expires is None
    assert credential.attributes == {"never_expires": True}

    assert edges(records, "MemberOf") == {(ref, f"dn:cn=sql admins,ou=groups,{DOMAIN.lower()}")}
    assert edges(records, "ManagedBy") == {(ref, f"dn:cn=ada lovelace,ou=staff,{DOMAIN.lower()}")}
    # Both SPNs name the same host; the short one gets the domain appended.
    assert edges(records, "UsesIdentity") == {("host:sql01.corp.example.test", ref)}
    assert [e.attributes["spn"] for e in of(records, EdgeRecord, "UsesIdentity")] == [
        "MSSQLSvc/sql01.corp.example.test:1433",
        "MSSQLSvc/sql01",
    ]
    (host,) = of(records, NodeRecord, "host")
    assert (host.ref, host.name, host.authority) == (
        "host:sql01.corp.example.test",
        "sql01.corp.example.test",
        "corp.example.test",
    )


def test_constrained_delegation_with_and_without_protocol_transition():
    records, _ = run(
        user(
            "svc_web", userAccountControl="16843264", **{"msDS-AllowedToDelegateTo": ["MSSQLSvc/SQL01:1433"]}
        ),
        user("svc_api", **{"msDS-AllowedToDelegateTo": ["HTTP/Reports.corp.example.test"]}),
    )
    delegations = of(records, EdgeRecord, "AllowedToDelegate")
    assert [(e.dst_ref, e.attributes) for e in delegations] == [
        ("spn:mssqlsvc/sql01:1433", {"spn": "MSSQLSvc/SQL01:1433", "protocol_transition": True}),
        (
            "spn:http/reports.corp.example.test",
            {"spn": "HTTP/Reports.corp.example.test", "protocol_transition": False},
        ),
    ]


def test_disabled_stale_asrep_and_rc4_only_flags():
    records, _ = run(
        user(
            "svc_old",
            userAccountControl="4260354",
            lastLogonTimestamp="0",
            lastLogon="0",
            pwdLastSet="0",
            **{"msDS-SupportedEncryptionTypes": "4", "msDS-User-Account-Control-Computed": "16"},
        )
    )
    (identity,) = of(records, IdentityRecord)
    assert identity.enabled is False
    assert identity.last_used is None
    assert identity.password_last_set is None
    assert identity.flags == [
        "ACCOUNTDISABLE",
        "NORMAL_ACCOUNT",
        "DONT_EXPIRE_PASSWD",
        "DONT_REQ_PREAUTH",
        "LOCKOUT",
        "RC4_ONLY",
    ]
    (credential,) = of(records, CredentialRecord)
    assert credential.attributes == {"never_expires": True, "must_change": True}


def test_no_user_account_control_means_enabled_unknown():
    entry = user("svc_x")
    del entry["userAccountControl"]
    (identity,) = of(run(entry)[0], IdentityRecord)
    assert identity.enabled is None
    assert identity.flags == []


# --- managed service accounts and computers ---------------------------------------------------------------


def gmsa(name: str, cls: str = "msDS-GroupManagedServiceAccount", **attrs) -> dict:
    entry = {
        "dn": [f"CN={name},CN=Managed Service Accounts,{DOMAIN}"],
        "objectClass": ["top", "person", "organizationalPerson", "user", "computer", cls],
        "sAMAccountName": [f"{name}$"],
        "userAccountControl": ["4096"],
    }
    entry.update({k: v if isinstance(v, list) else [v] for k, v in attrs.items()})
    return entry


def test_gmsa_with_password_readers_and_rotation():
    readers = ad_codec.build_security_descriptor("S-1-5-32-544", [f"{DOMAIN_SID}-1200", f"{DOMAIN_SID}-1201"])
    records, _ = run(
        gmsa(
            "gmsa_web",
            pwdLastSet="133486382450000000",
            servicePrincipalName="HTTP/shop",
            **{
                "msDS-ManagedPasswordInterval": "30",
                "msDS-GroupMSAMembership": readers,
                "msDS-ManagedPassword": b"\x01\x00secretblob",
            },
        ),
        gmsa(
            "smsa_print",
            "msDS-ManagedServiceAccount",
            **{"msDS-HostServiceAccountBL": f"CN=PRT01,OU=Servers,{DOMAIN}"},
        ),
        gmsa("dmsa_erp", "msDS-DelegatedManagedServiceAccount"),
    )
    identities = of(records, IdentityRecord)
    assert [(i.kind, i.name) for i in identities] == [
        ("gmsa", "gmsa_web$"),
        ("smsa", "smsa_print$"),
        ("dmsa", "dmsa_erp$"),
    ]
    assert not of(records, NodeRecord, "computer")  # managed service accounts are identities, not computers
    gmsa_ref = identities[0].ref
    assert edges(records, "ReadGMSAPassword") == {
        (f"sid:{DOMAIN_SID}-1200", gmsa_ref),
        (f"sid:{DOMAIN_SID}-1201", gmsa_ref),
    }
    credentials = {c.owner_ref: c for c in of(records, CredentialRecord)}
    last_set = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert credentials[gmsa_ref].attributes == {"managed": True, "interval_days": 30}
    assert credentials[gmsa_ref].expires == last_set + timedelta(days=30)
    assert credentials[identities[1].ref].attributes == {"managed": True}
    assert "msDS-ManagedPassword" not in identities[0].attributes
    assert "msDS-GroupMSAMembership" in identities[0].attributes  # SD blobs are kept, as base64
    (finding,) = of(records, FindingRecord)
    assert finding.subject_ref == gmsa_ref
    assert "msDS-ManagedPassword" in finding.message
    assert edges(records, "UsesIdentity") >= {
        ("host:shop.corp.example.test", gmsa_ref),
        (f"dn:cn=prt01,ou=servers,{DOMAIN.lower()}", identities[1].ref),
    }
    # Two readers that no entry of the run carried become principal nodes.
    assert sorted(n.ref for n in of(records, NodeRecord, "principal")) == [
        f"sid:{DOMAIN_SID}-1200",
        f"sid:{DOMAIN_SID}-1201",
    ]


def test_computer_with_rbcd_and_own_spns():
    rbcd = ad_codec.build_security_descriptor("S-1-5-32-544", [f"{DOMAIN_SID}-1107", "S-1-5-32-544"])
    computer = {
        "dn": [f"CN=SQL01,OU=Servers,{DOMAIN}"],
        "objectClass": ["top", "person", "organizationalPerson", "user", "computer"],
        "sAMAccountName": ["SQL01$"],
        "dNSHostName": ["SQL01.corp.example.test"],
        "userAccountControl": ["4096"],
        "objectSid": [sid(1108)],
        "servicePrincipalName": ["HOST/sql01.corp.example.test", "HOST/SQL01"],
        "msDS-AllowedToActOnBehalfOfOtherIdentity": [rbcd],
        "msDS-HostServiceAccount": [f"CN=smsa_x,CN=Managed Service Accounts,{DOMAIN}"],
    }
    api = user("svc_api", objectSid=sid(1107))
    records, _ = run(computer, api)
    (node,) = of(records, NodeRecord, "computer")
    assert node.ref == f"dn:cn=sql01,ou=servers,{DOMAIN.lower()}"
    assert node.name == "sql01.corp.example.test"
    assert node.attributes["dns_host_name"] == "sql01.corp.example.test"
    assert node.attributes["flags"] == ["WORKSTATION_TRUST_ACCOUNT"]
    assert node.sid == f"{DOMAIN_SID}-1108"
    assert edges(records, "AllowedToAct") == {
        (f"sid:{DOMAIN_SID}-1107", node.ref),
        ("sid:S-1-5-32-544", node.ref),
    }
    # A computer's own HOST/ SPNs make no host node and no consumer edge.
    assert not of(records, NodeRecord, "host")
    assert edges(records, "UsesIdentity") == {
        (node.ref, f"dn:cn=smsa_x,cn=managed service accounts,{DOMAIN.lower()}")
    }
    assert all(c.owner_ref != node.ref for c in of(records, CredentialRecord))  # computers hold no credential
    # svc_api's SID is in the run; BUILTIN\Administrators is not, and gets its well-known name.
    (principal,) = of(records, NodeRecord, "principal")
    assert (principal.ref, principal.name) == ("sid:S-1-5-32-544", "BUILTIN\\Administrators")


def test_unreadable_security_descriptor_is_a_warning_not_a_crash():
    records, warnings = run(user("svc_x", **{"msDS-AllowedToActOnBehalfOfOtherIdentity": b"\x01\x00\x04"}))
    assert of(records, IdentityRecord)
    assert not of(records, EdgeRecord, "AllowedToAct")
    assert warnings == [
        (
            "test.ldif:1",
            "msDS-AllowedToActOnBehalfOfOtherIdentity: unreadable security descriptor "
            "(security descriptor truncated: 3 bytes, the header alone is 20); no edges "
            "made from it",
        )
    ]


# --- groups, membership, options ---------------------------------------------------------------------------


def test_group_members_with_range_retrieval_and_foreign_principals():
    group = {
        "dn": [f"CN=Big Group,OU=Groups,{DOMAIN}"],
        "objectClass": ["top", "group"],
        "sAMAccountName": ["Big Group"],
        "groupType": ["-2147483646"],
        "managedBy": [f"CN=Ada Lovelace,OU=Staff,{DOMAIN}"],
        "member;range=0-1": [f"CN=u1,OU=Staff,{DOMAIN}", f"CN=u2,OU=Staff,{DOMAIN}"],
        "Member;Range=2-*": [f"CN=S-1-5-21-9-9-9-1234,CN=ForeignSecurityPrincipals,{DOMAIN}"],
    }
    records, _ = run(group)
    (node,) = of(records, NodeRecord, "group")
    assert node.name == "Big Group"
    assert node.attributes["group_type"] == ["GLOBAL", "SECURITY"]
    assert "member" in node.attributes and len(node.attributes["member"]) == 3
    assert edges(records, "MemberOf") == {
        (f"dn:cn=u1,ou=staff,{DOMAIN.lower()}", node.ref),
        (f"dn:cn=u2,ou=staff,{DOMAIN.lower()}", node.ref),
        ("sid:S-1-5-21-9-9-9-1234", node.ref),
    }
    assert edges(records, "ManagedBy") == {(node.ref, f"dn:cn=ada lovelace,ou=staff,{DOMAIN.lower()}")}
    assert group["member;range=0-1"] == [
        f"CN=u1,OU=Staff,{DOMAIN}",
        f"CN=u2,OU=Staff,{DOMAIN}",
    ]  # input untouched


def test_attribute_names_are_case_insensitive():
    entry = {
        "DN": [f"CN=svc_a,OU=Service Accounts,{DOMAIN}"],
        "OBJECTCLASS": ["user"],
        "SAMACCOUNTNAME": ["svc_a"],
        "memberOf": [f"CN=G1,{DOMAIN}"],
        "memberof": [f"CN=G2,{DOMAIN}"],
        "MemberOf": [f"CN=G3,{DOMAIN}"],
        "USERACCOUNTCONTROL": ["514"],
    }
    records, _ = run(entry)
    (identity,) = of(records, IdentityRecord)
    assert identity.name == "svc_a"
    assert identity.enabled is False
    assert len(of(records, EdgeRecord, "MemberOf")) == 3
    assert identity.attributes["memberOf"] == [f"CN=G1,{DOMAIN}", f"CN=G2,{DOMAIN}", f"CN=G3,{DOMAIN}"]


def test_dn_refs_are_canonical():
    assert dn_ref("CN=A B, OU=X ,DC=Corp,DC=Test") == "dn:cn=a b,ou=x,dc=corp,dc=test"
    assert dn_ref("CN=Smith\\, John,OU=Staff,DC=x") == "dn:cn=smith\\, john,ou=staff,dc=x"
    assert member_ref("CN=S-1-5-21-1-2-3-500,CN=ForeignSecurityPrincipals,DC=x") == "sid:S-1-5-21-1-2-3-500"
    assert authority_of("CN=x,OU=y,DC=EMEA,DC=Corp,DC=Northwind,DC=Test") == "emea.corp.northwind.test"
    assert authority_of("CN=x,O=example") is None
    assert spn_host("HTTP/braavos", "essos.local") == "braavos.essos.local"
    assert spn_host("MSSQLSvc/SQL01.corp.x:1433", "corp.x") == "sql01.corp.x"
    assert spn_host("ldap/dc01.corp.x/corp.x", "corp.x") == "dc01.corp.x"
    assert spn_host("kadmin/changepw", "corp.x") is None
    assert spn_host("nonsense", "corp.x") is None


# --- other export shapes -----------------------------------------------------------------------------------


def test_ldapdomaindump_style_text_values():
    entry = {
        "dn": [f"CN=svc_dump,OU=Service Accounts,{DOMAIN}"],
        "objectClass": ["user"],
        "sAMAccountName": ["svc_dump"],
        "objectSid": [f"{DOMAIN_SID}-1105"],
        "objectGUID": ["{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}"],
        "pwdLastSet": ["2019-03-04 10:00:00+00:00"],
        "lastLogon": ["1601-01-01 00:00:00+00:00"],
        "accountExpires": ["9999-12-31 23:59:59.999999+00:00"],
        "whenCreated": ["2019-03-04 10:00:00+00:00"],
        "userAccountControl": [66048],
    }
    (identity,) = of(run(entry)[0], IdentityRecord)
    assert identity.sid == f"{DOMAIN_SID}-1105"
    assert identity.guid == "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    assert identity.password_last_set == datetime(2019, 3, 4, 10, tzinfo=UTC)
    assert identity.last_used is None
    assert identity.expires is None
    assert identity.enabled is True


def test_single_colon_base64_binary_values_are_understood():
    entry = user(
        "svc_b64", objectSid="AQUAAAAAAAUVAAAAxzU6Qo5rdIRVoa7GUQQAAA==", objectGUID="PSwbCl9OcWCCk6S1xtfo+Q=="
    )
    (identity,) = of(run(entry)[0], IdentityRecord)
    assert identity.sid == f"{DOMAIN_SID}-1105"
    assert identity.guid == "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"


def test_bad_values_warn_and_keep_the_entry():
    entry = user("svc_bad", objectSid=b"\x01\x05", userAccountControl="lots", whenCreated="yesterday")
    records, warnings = run(entry)
    (identity,) = of(records, IdentityRecord)
    assert identity.sid is None and identity.created is None
    assert [w[1].split(":")[0] for w in warnings] == ["objectSid", "userAccountControl", "whenCreated"]


def test_entries_without_objectclass_fall_back_to_sam_account_type():
    base = {"sAMAccountName": ["x"], "userAccountControl": ["512"]}
    records, _ = run(
        {"dn": [f"CN=x,{DOMAIN}"], **base, "sAMAccountType": ["805306368"]},
        {"dn": [f"CN=PC1,{DOMAIN}"], "sAMAccountName": ["PC1$"], "dNSHostName": ["pc1.corp.example.test"]},
        {"dn": [f"CN=G,{DOMAIN}"], "sAMAccountName": ["G"], "sAMAccountType": ["268435456"]},
        {"dn": [f"OU=Nothing,{DOMAIN}"], "objectClass": ["organizationalUnit"]},
    )
    assert [(type(r).__name__, r.kind) for r in records if isinstance(r, IdentityRecord | NodeRecord)] == [
        ("IdentityRecord", "person"),
        ("NodeRecord", "computer"),
        ("NodeRecord", "group"),
    ]


def test_same_name_in_two_domains_stays_two_identities():
    corp = user("svc_sql")
    emea = user("svc_sql")
    emea["dn"] = [f"CN=svc_sql,OU=Service Accounts,DC=emea,{DOMAIN}"]
    identities = of(run(corp, emea)[0], IdentityRecord)
    assert [(i.authority, i.name) for i in identities] == [
        ("corp.example.test", "svc_sql"),
        ("emea.corp.example.test", "svc_sql"),
    ]
    assert identities[0].ref != identities[1].ref


def test_authority_without_dc_components():
    entry = {
        "dn": ["uid=svc_ldap,ou=people,o=example"],
        "objectClass": ["inetOrgPerson"],
        "uid": ["svc_ldap"],
    }
    with pytest.raises(BadInput) as err:
        run(entry)
    assert err.value.where == "test.ldif:1"
    assert "no DC= components" in err.value.reason
    (identity,) = of(run(entry, default_authority="Example.ORG")[0], IdentityRecord)
    assert (identity.name, identity.authority, identity.kind) == (
        "svc_ldap",
        "example.org",
        "service_account",
    )


def test_entry_without_dn_is_bad_input():
    with pytest.raises(BadInput, match="no DN"):
        run({"objectClass": ["user"], "sAMAccountName": ["x"]})


def test_builtin_accounts_are_never_service_accounts():
    krbtgt = user(
        "krbtgt",
        "CN=Users",
        objectSid=sid(502),
        userAccountControl="514",
        description="Key Distribution Center Service Account",
        servicePrincipalName="kadmin/changepw",
    )
    records, _ = run(krbtgt)
    (identity,) = of(records, IdentityRecord)
    assert identity.kind == "person"
    assert "built-in account krbtgt (RID 502)" in identity.classification
    assert "BUILTIN_ACCOUNT" in identity.flags
    assert not of(records, NodeRecord, "host")


def test_interdomain_trust_account():
    (identity,) = of(run(user("EMEA$", "CN=Users", userAccountControl="2080"))[0], IdentityRecord)
    assert identity.kind == "service_account"
    assert identity.classification == "service account: inter-domain trust account"


# --- secrets ------------------------------------------------------------------------------------------------


def test_secrets_are_dropped_and_redacted_with_findings():
    entry = user(
        "svc_etl",
        description="ETL loader (pw=Summer2019!)",
        info="call Dana; password: Hunter2-again",
        userPassword="Plain-Text-1",
        **{
            "unicodePwd;binary": b'"\x00x\x00"\x00',
            "ms-Mcs-AdmPwd": "laps!",
            "comment": "nothing secret here",
        },
    )
    records, _ = run(entry)
    (identity,) = of(records, IdentityRecord)
    assert identity.description == "ETL loader (pw=[redacted])"
    assert identity.attributes["description"] == ["ETL loader (pw=[redacted])"]
    assert identity.attributes["info"] == ["call Dana; password: [redacted]"]
    assert identity.attributes["comment"] == ["nothing secret here"]
    for name in ("userPassword", "unicodePwd", "unicodePwd;binary", "ms-Mcs-AdmPwd"):
        assert name not in identity.attributes
    findings = of(records, FindingRecord)
    assert {(f.code, f.tag, f.severity) for f in findings} == {("secret-in-data", "NHI2", "high")}
    messages = sorted(f.message for f in findings)
    assert len(messages) == 5
    assert any("description attribute" in m for m in messages)
    assert any("info attribute" in m for m in messages)
    assert any("userPassword" in m for m in messages)
    assert any("unicodePwd" in m for m in messages)
    assert any("ms-Mcs-AdmPwd" in m for m in messages)
    text = repr(records)
    for secret in ("Summer2019", "Hunter2-again", "Plain-Text-1", "laps!", "IgB4ACIA"):
        assert secret not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ETL loader (pw=Summer2019!)", "ETL loader (pw=[redacted])"),
        ("sql service (Password : Passw0rd!)", "sql service (Password : [redacted])"),
        ("password: hunter2", "password: [redacted]"),
        ("Server=db;User Id=app;Password=s3cr3t;", "Server=db;User Id=app;Password=[redacted]"),
        ("pwd:abc def", "pwd:[redacted] def"),
        ("passwd=x", "passwd=[redacted]"),
        ("the password is Spring2020", "the password is [redacted]"),
        ('db_password="a b c" end', "db_password=[redacted] end"),
        ("Kennwort: Geheim123", "Kennwort: [redacted]"),
        ("PWD = x1 ; PW: y2", "PWD = [redacted] ; PW: [redacted]"),
    ],
)
def test_redact_text_finds_passwords(text, expected):
    assert redact_text(text) == (expected, True)


@pytest.mark.parametrize(
    "text",
    [
        "SQL Server engine",
        "password never expires",
        "Password is stored in the vault",
        "bypass=1",
        "pw=",
        "Compass: north",
        "",
    ],
)
def test_redact_text_leaves_ordinary_text(text):
    assert redact_text(text) == (text, False)


def test_secret_attribute_names():
    assert is_secret_attribute("unicodePwd")
    assert is_secret_attribute("UNICODEPWD;binary")
    assert is_secret_attribute("msDS-ManagedPassword")
    assert is_secret_attribute("msLAPS-Password")
    assert is_secret_attribute("ms-Mcs-AdmPwd")
    assert not is_secret_attribute("pwdLastSet")
    assert not is_secret_attribute("msDS-ManagedPasswordInterval")
    assert all(name == name.lower() for name in SECRET_ATTRIBUTES)


# --- the service-account rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "dn", "spns", "descriptions", "service", "reason"),
    [
        ("jdoe", f"CN=John,OU=Staff,{DOMAIN}", [], ["Engineer"], False, "no service-account sign"),
        ("jon.snow", f"CN=Jon,OU=Staff,{DOMAIN}", ["HTTP/thewall"], [], True, "has SPN HTTP/thewall"),
        ("svc-backup", f"CN=x,OU=Staff,{DOMAIN}", [], [], True, "name matches svc-*"),
        ("SA_Radius", f"CN=x,OU=Staff,{DOMAIN}", [], [], True, "name matches sa_*"),
        ("app_svc", f"CN=x,OU=Staff,{DOMAIN}", [], [], True, "name matches *_svc"),
        ("web$svc", f"CN=x,OU=Staff,{DOMAIN}", [], [], True, "name matches *$svc"),
        (
            "reporting",
            f"CN=reporting,OU=Service Accounts,OU=Tier1,{DOMAIN}",
            [],
            [],
            True,
            "in OU=Service Accounts",
        ),
        (
            "pbi",
            f"CN=x,OU=Staff,{DOMAIN}",
            [],
            ["Service account for the gateway"],
            True,
            "description says 'Service account'",
        ),
        ("robotics", f"CN=x,OU=Staff,{DOMAIN}", [], ["Robotics engineer"], False, "no service-account sign"),
        ("krbtgt", f"CN=krbtgt,CN=Users,{DOMAIN}", ["kadmin/changepw"], [], False, "no service-account sign"),
    ],
)
def test_default_rule(name, dn, spns, descriptions, service, reason):
    verdict = ServiceAccountRule().classify(name, dn, spns, descriptions)
    assert verdict.is_service is service
    assert reason in verdict.text


def test_rule_allow_deny_and_from_dict():
    rule = ServiceAccountRule.from_dict(
        {
            "deny": ["jon.snow"],
            "allow": [f"CN=Batch,OU=Staff,{DOMAIN}"],
            "name_patterns": ["app-*"],
            "spn_means_service": False,
            "ou_patterns": "OU=*Robots*",
            "description_keywords": [],
        }
    )
    assert rule.classify("Jon.Snow", None, ["HTTP/x"], []).text == (
        "person: on the deny list of the service-account rule"
    )
    assert rule.classify("batch", f"cn=batch,ou=staff,{DOMAIN.lower()}", [], []).is_service
    assert not rule.classify("web", None, ["HTTP/web"], []).is_service
    assert rule.classify("APP-one", None, [], []).text == "service account: name matches app-*"
    assert rule.classify("x", f"CN=x,OU=RPA Robots,{DOMAIN}", [], ["service account"]).text == (
        "service account: in OU=RPA Robots"
    )
    assert ServiceAccountRule.from_dict(rule.to_dict()) == rule
    assert ServiceAccountRule.from_dict(None) == ServiceAccountRule()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nam_patterns": ["x"]}, "unknown service-account rule keys: nam_patterns"),
        ({"spn_means_service": "yes"}, "spn_means_service must be true or false"),
        ({"allow": [1, 2]}, "allow must be a list of strings"),
        (["svc_*"], "must be a mapping"),
    ],
)
def test_rule_from_dict_rejects_bad_policies(data, message):
    with pytest.raises(ValueError, match=message):
        ServiceAccountRule.from_dict(data)


def test_classification_uses_the_rule_given_to_the_normaliser():
    rule = ServiceAccountRule(name_patterns=(), ou_patterns=(), description_keywords=(), deny=("svc_sql",))
    (identity,) = of(run(user("svc_sql", servicePrincipalName="MSSQLSvc/x"), rule=rule)[0], IdentityRecord)
    assert identity.kind == "person"
    assert identity.classification == "person: on the deny list of the service-account rule"
