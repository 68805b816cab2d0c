"""Estates built in code for tests: records as an AD importer would yield them."""

from __future__ import annotations

from datetime import UTC, datetime

from nhiplan.core.records import CredentialRecord, EdgeRecord, FindingRecord, IdentityRecord, NodeRecord

DOMAIN = "corp.acme.test"
BASE = "dc=corp,dc=acme,dc=test"


def dn(cn: str) -> str:
    return f"dn:cn={cn},ou=svc,{BASE}"


def account(name: str, line: int, **kw) -> IdentityRecord:
    return IdentityRecord(ref=dn(name), kind=kw.pop("kind", "service_account"), name=name, authority=DOMAIN,
                          source_record=f"small-estate.ldif:{line}", dn=f"CN={name},OU=svc,DC=corp,DC=acme,DC=test",
                          enabled=kw.pop("enabled", True), **kw)


def small_estate_records() -> list:
    """svc_web delegates to svc_sql's MSSQLSvc; svc_a and svc_b delegate to each other (a cycle);
    svc_rpt is a member of group Reporting; svc_old is stale and disabled; alice owns svc_sql."""
    return [
        account("svc_web", 10, spns=["HTTP/web01.corp.acme.test"], flags=["TRUSTED_TO_AUTH_FOR_DELEGATION"],
                guid="0a1b2c3d-4e5f-6071-8293-a4b5c6d7e801"),
        account("svc_sql", 20, spns=["MSSQLSvc/sql01.corp.acme.test:1433"],
                guid="0a1b2c3d-4e5f-6071-8293-a4b5c6d7e802",
                password_last_set=datetime(2020, 1, 1, tzinfo=UTC)),
        account("svc_a", 30), account("svc_b", 40),
        account("svc_rpt", 50, spns=["HTTP/rpt01.corp.acme.test"]),
        account("svc_old", 60, enabled=False, last_used=datetime(2019, 3, 4, 10, tzinfo=UTC)),
        account("alice", 70, kind="person", upn="alice@acme.test", emails=["alice@acme.test"]),
        NodeRecord(ref=f"dn:cn=reporting,ou=groups,{BASE}", kind="group", name="Reporting", authority=DOMAIN,
                   source_record="small-estate.ldif:80", dn=f"CN=Reporting,OU=groups,{BASE}"),
        NodeRecord(ref="host:web01.corp.acme.test", kind="host", name="web01.corp.acme.test", authority=DOMAIN,
                   source_record="small-estate.ldif:10"),
        NodeRecord(ref="host:sql01.corp.acme.test", kind="host", name="sql01.corp.acme.test", authority=DOMAIN,
                   source_record="small-estate.ldif:20"),
        NodeRecord(ref="host:rpt01.corp.acme.test", kind="host", name="rpt01.corp.acme.test", authority=DOMAIN,
                   source_record="small-estate.ldif:50"),
        EdgeRecord(dn("svc_web"), "spn:mssqlsvc/sql01.corp.acme.test:1433", "AllowedToDelegate",
                   "small-estate.ldif:10", {"spn": "MSSQLSvc/sql01.corp.acme.test:1433"}),
        EdgeRecord(dn("svc_a"), dn("svc_b"), "AllowedToDelegate", "small-estate.ldif:30"),
        EdgeRecord(dn("svc_b"), dn("svc_a"), "AllowedToDelegate", "small-estate.ldif:40"),
        EdgeRecord(dn("svc_rpt"), f"dn:cn=reporting,ou=groups,{BASE}", "MemberOf", "small-estate.ldif:50"),
        EdgeRecord(dn("svc_sql"), dn("alice"), "ManagedBy", "small-estate.ldif:20"),
        EdgeRecord("host:web01.corp.acme.test", dn("svc_web"), "UsesIdentity", "small-estate.ldif:10"),
        EdgeRecord("host:sql01.corp.acme.test", dn("svc_sql"), "UsesIdentity", "small-estate.ldif:20"),
        EdgeRecord("host:rpt01.corp.acme.test", dn("svc_rpt"), "UsesIdentity", "small-estate.ldif:50"),
        CredentialRecord(dn("svc_sql"), "password", "password", "small-estate.ldif:20",
                         created=datetime(2020, 1, 1, tzinfo=UTC)),
        FindingRecord(dn("svc_old"), "secret-in-data", "NHI2", "high",
                      "a password was written in the description attribute", "small-estate.ldif:60"),
    ]
