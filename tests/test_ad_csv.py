"""PowerShell Export-Csv of AD objects: every quirk of shared/formats/powershell-csv.md on a fixture file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from nhiplan.core import cli, services
from nhiplan.core.importers import detect_format
from nhiplan.core.importers.ad_csv import AdCsvImporter, parse_culture_date, split_dns, split_spns
from nhiplan.core.importers.base import ImportContext
from nhiplan.core.records import CredentialRecord, EdgeRecord, IdentityRecord, NodeRecord
from tests.ad_estate import estate, to_csv

DATA = Path(__file__).parent / "data" / "adcsv"
B = "DC=corp,DC=example,DC=test"


def read(path: Path):
    ctx = ImportContext()
    records = [r for batch in AdCsvImporter().read(path, ctx) for r in batch]
    return records, [f"{w.source_record}: {w.message}" for w in ctx.warnings]


def identities(records):
    return {r.name: r for r in records if isinstance(r, IdentityRecord)}


def test_ps51_ascii_export_with_type_line_and_lost_multi_values():
    records, warnings = read(DATA / "ps51_ascii.csv")
    ids = identities(records)
    svc = ids["svc_sql"]
    assert svc.kind == "service_account"  # by its name: its SPNs were lost in the export
    assert svc.sid == "S-1-5-21-1111111111-2222222222-3333333333-1105"
    assert svc.guid == "0a1b2c3d-4e5f-6071-8293-000000000451"
    assert svc.source_record == "ps51_ascii.csv:3"
    assert svc.spns == []
    assert svc.password_last_set == datetime(2021, 6, 30, 0, 54, 47, tzinfo=UTC)
    assert svc.last_used == datetime(2026, 9, 28, 12, 0, tzinfo=UTC)
    assert svc.enabled is True
    assert ids["ada.lovelace"].kind == "person"
    lost = [w for w in warnings if "ADPropertyValueCollection" in w]
    assert {w.split("column ")[1].split(" ")[0] for w in lost} == {"ServicePrincipalNames", "MemberOf"}
    assert any(w.startswith(f"{DATA / 'ps51_ascii.csv'}:3: column MemberOf") and "2 record(s)" in w for w in lost)
    assert any("ASCII export" in w and "Caf?" in w for w in warnings)
    assert any("local time" in w and "PasswordLastSet" in w for w in warnings)


def test_ps7_utf8_without_type_line_prefers_raw_columns():
    records, warnings = read(DATA / "ps7_utf8.csv")
    svc = identities(records)["svc_web"]
    assert svc.description == "IIS app pool – Zürich"
    assert svc.password_last_set == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert svc.last_used == datetime(2019, 3, 4, 10, tzinfo=UTC)
    assert svc.expires is None  # 9223372036854775807: never
    assert "TRUSTED_TO_AUTH_FOR_DELEGATION" in svc.flags
    assert svc.spns == ["HTTP/web01.corp.example.test"]
    assert warnings == []


def test_de_de_semicolons_bom_dates_umlauts_and_embedded_newline():
    records, _ = read(DATA / "dede_semicolon.csv")
    svc = identities(records)["svc_backup"]
    assert svc.description == "Sicherungskonto für München\r\nzweite Zeile"
    assert svc.spns == ["VeeamBackup/bkp01.corp.example.test", "VeeamBackup/bkp01"]
    assert svc.password_last_set == datetime(2021, 6, 30, 0, 54, 47, tzinfo=UTC)
    assert svc.created == datetime(2019, 3, 4, 10, tzinfo=UTC)
    assert svc.enabled is False
    assert {"ACCOUNTDISABLE", "DONT_EXPIRE_PASSWD", "TRUSTED_FOR_DELEGATION"} <= set(svc.flags)
    assert svc.source_record == "dede_semicolon.csv:3"
    hosts = {r.name for r in records if isinstance(r, NodeRecord) and r.kind == "host"}
    assert hosts == {"bkp01.corp.example.test"}


def test_utf16le_with_bom():
    records, _ = read(DATA / "utf16le.csv")
    assert identities(records)["svc_print"].description == "Druckdienst für Köln"


def test_properties_star_raw_wins_and_disagreement_is_flagged():
    records, warnings = read(DATA / "properties_star.csv")
    svc = identities(records)["svc_etl"]
    assert svc.password_last_set == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert svc.last_used == datetime(2019, 3, 4, 10, tzinfo=UTC)
    assert "PropertyNames" not in svc.attributes and "PropertyCount" not in svc.attributes
    (disagree,) = [w for w in warnings if "disagrees" in w]
    assert "LastLogonDate" in disagree and "raw value was used" in disagree
    groups = {e.dst_ref for e in records if isinstance(e, EdgeRecord) and e.kind == "MemberOf"}
    assert groups == {f"dn:cn=etl ops,ou=groups,{B.lower()}", f"dn:cn=sql admins,ou=groups,{B.lower()}"}


def test_appended_exports_with_repeated_headers_and_type_lines():
    records, _ = read(DATA / "appended.csv")
    ids = identities(records)
    assert sorted(ids) == ["svc_a", "svc_b", "svc_c"]
    assert ids["svc_c"].spns == ["HTTP/c1.corp.example.test", "HTTP/c2.corp.example.test"]
    assert ids["svc_c"].source_record == "appended.csv:8"


def test_gmsa_from_get_adserviceaccount():
    records, warnings = read(DATA / "gmsa.csv")
    gmsa = identities(records)["gmsa_app$"]
    assert gmsa.kind == "gmsa"
    assert "RC4_ONLY" in gmsa.flags
    (cred,) = [r for r in records if isinstance(r, CredentialRecord)]
    assert cred.attributes["interval_days"] == 30
    readers = {e.src_ref for e in records if isinstance(e, EdgeRecord) and e.kind == "ReadGMSAPassword"}
    assert readers == {f"dn:cn=web01,ou=servers,{B.lower()}", f"dn:cn=web apps,ou=groups,{B.lower()}"}
    uses = {e.src_ref for e in records if isinstance(e, EdgeRecord) and e.kind == "UsesIdentity"}
    assert f"dn:cn=app01,ou=servers,{B.lower()}" in uses
    assert any("msDS-GroupMSAMembership" in w and "ActiveDirectorySecurity" in w for w in warnings)


def test_computers_with_rbcd_principals_and_pipe_joined_spns():
    records, _ = read(DATA / "computers.csv")
    (computer,) = [r for r in records if isinstance(r, NodeRecord) and r.kind == "computer"]
    assert computer.name == "web01.corp.example.test"
    assert "TRUSTED_FOR_DELEGATION" in computer.attributes["flags"]
    acts = [(e.src_ref, e.dst_ref) for e in records if isinstance(e, EdgeRecord) and e.kind == "AllowedToAct"]
    assert acts == [(f"dn:cn=svc_web,ou=service accounts,{B.lower()}", f"dn:cn=web01,ou=servers,{B.lower()}")]


@pytest.mark.parametrize("name", ["ps51_ascii.csv", "ps7_utf8.csv", "dede_semicolon.csv", "utf16le.csv",
                                  "properties_star.csv", "appended.csv", "gmsa.csv", "computers.csv"])
def test_detected_by_content_whatever_the_name(name, tmp_path):
    renamed = tmp_path / "export.txt"
    renamed.write_bytes((DATA / name).read_bytes())
    assert detect_format(renamed).name == "ad-csv"


def test_not_claimed(tmp_path):
    other = tmp_path / "x.csv"
    other.write_text("user,arn,password_enabled\nroot,arn:aws:iam::1:root,not_supported\n")
    assert not AdCsvImporter().detect(other, other.read_bytes())
    ldif = Path(__file__).parent / "data" / "ldif" / "ldifde_crlf.ldif"
    assert not AdCsvImporter().detect(ldif, ldif.read_bytes())


def test_splitting_helpers():
    assert split_dns(f"CN=a,{B}, CN=b,OU=x,{B}") == [f"CN=a,{B}", f"CN=b,OU=x,{B}"]
    assert split_dns(f"CN=Smith\\, John,{B};CN=c,{B}") == [f"CN=Smith\\, John,{B}", f"CN=c,{B}"]
    assert split_dns(f"{{CN=a,{B}}}") == [f"CN=a,{B}"]
    assert split_spns("{HTTP/a, HTTP/b}") == ["HTTP/a", "HTTP/b"]
    assert parse_culture_date("6/30/2021 12:54:47 AM") == datetime(2021, 6, 30, 0, 54, 47)
    assert parse_culture_date("30.06.2021 00:54:47") == datetime(2021, 6, 30, 0, 54, 47)
    assert parse_culture_date("30/06/2021 00:54:47") == datetime(2021, 6, 30, 0, 54, 47)
    assert parse_culture_date("2021-06-30 00:54:47") == datetime(2021, 6, 30, 0, 54, 47)
    assert parse_culture_date("yesterday") is None


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_the_estate_as_csv_imports_through_the_cli(tmp_path, delimiter, capsys):
    folder = tmp_path / "csv"
    folder.mkdir()
    for name, text in to_csv(estate(), delimiter=delimiter).items():
        (folder / name).write_text(text, encoding="utf-8-sig")
    project = tmp_path / "p.nhiplan"
    services.init_project(project).close()
    assert cli.main(["import", str(project), str(folder)]) == 0
    assert "imported ad-csv (ad:corp.example.test) from 4 file(s): 5 identities" in capsys.readouterr().out
    store = services.open_project(project)
    try:
        rows = {r["name"]: r for r in services.list_identities(store, include_people=True)}
    finally:
        store.close()
    assert rows["svc_sql"]["sources"] == ["ad-csv"]
    assert rows["gmsa_app$"]["kind"] == "gmsa"


def test_type_names_everywhere_warn_once_per_column(tmp_path):
    path = tmp_path / "lost.csv"
    path.write_text(next(iter(to_csv(estate(), joined=False, only="users.csv").values())), encoding="ascii",
                    errors="replace")
    _, warnings = read(path)
    columns = sorted(w.split("column ")[1].split(" ")[0] for w in warnings if "type name" in w)
    assert columns == ["MemberOf", "ServicePrincipalNames", "msDS-AllowedToDelegateTo"]
