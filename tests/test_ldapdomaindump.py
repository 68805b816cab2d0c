"""ldapdomaindump JSON: the quirks of shared/formats/ldapdomaindump-json.md, a folder as one run, bad files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from nhiplan.core import cli, services
from nhiplan.core.importers import detect_format
from nhiplan.core.importers import ldapdomaindump as ldd
from nhiplan.core.importers.base import ImportContext
from nhiplan.core.importers.ldapdomaindump import JsonArrayReader, LdapDomainDumpImporter
from nhiplan.core.records import EdgeRecord, IdentityRecord, NodeRecord

DATA = Path(__file__).parent / "data" / "ldapdomaindump"
ESTATE = DATA / "estate"


def read(*paths: Path):
    importer = LdapDomainDumpImporter()
    ctx = ImportContext()
    records = [r for p in paths for batch in importer.read(p, ctx) for r in batch]
    records += [r for batch in importer.finish(ctx) for r in batch]
    return records, ctx


def test_users_computers_and_groups():
    records, ctx = read(*(ESTATE / n for n in ("domain_users.json", "domain_computers.json",
                                                "domain_groups.json", "domain_policy.json", "domain_trusts.json")))
    ids = {r.name: r for r in records if isinstance(r, IdentityRecord)}
    assert {n: r.kind for n, r in ids.items()} == {
        "ada.lovelace": "person", "svc_sql": "service_account", "svc_web": "service_account",
        "svc_backup": "service_account", "gmsa_app$": "gmsa"}
    gmsa = ids["gmsa_app$"]
    assert gmsa.source_record.startswith("domain_computers.json:")  # gMSAs live beside computers
    assert gmsa.sid == "S-1-5-21-1111111111-2222222222-3333333333-1108"
    assert gmsa.guid == "0a1b2c3d-4e5f-6071-8293-000000000454"  # braces dropped
    svc_sql = ids["svc_sql"]
    assert svc_sql.expires is None  # "9999-12-31 23:59:59.999999+00:00" means never
    assert "pw=[redacted]" in svc_sql.description
    assert ids["svc_backup"].description == "Sicherungskonto für München"  # \u00fc escapes
    readers = {e.src_ref for e in records if isinstance(e, EdgeRecord) and e.kind == "ReadGMSAPassword"}
    assert readers == {"sid:S-1-5-21-1111111111-2222222222-3333333333-1110",
                       "sid:S-1-5-21-1111111111-2222222222-3333333333-1202"}  # from a base64 object value
    assert not [r for r in records if isinstance(r, NodeRecord) and r.kind == "principal"]  # all SIDs were present
    assert ctx.warnings == []


def test_source_records_name_the_line_of_each_entry():
    records, _ = read(ESTATE / "domain_users.json")
    lines = (ESTATE / "domain_users.json").read_text().splitlines()
    for r in records:
        if isinstance(r, IdentityRecord):
            number = int(r.source_record.rsplit(":", 1)[1])
            assert lines[number - 1] in ("[{", "}, {")  # the line the entry's object opens on


def test_grouped_json():
    records, _ = read(DATA / "domain_users_by_group.json")
    assert [r.name for r in records if isinstance(r, IdentityRecord)] == ["svc_web"]


def test_the_folder_imports_as_one_run(tmp_path, capsys):
    project = tmp_path / "p.nhiplan"
    services.init_project(project).close()
    assert cli.main(["import", str(project), str(ESTATE)]) == 0
    out = capsys.readouterr().out
    assert "imported ldapdomaindump (ad:corp.example.test) from 5 file(s): 5 identities" in out
    with sqlite3.connect(project) as db:
        assert db.execute("select count(*) from import_run").fetchone()[0] == 1
        assert ("host:web01.corp.example.test", "ReadGMSAPassword", "corp.example.test/gmsa_app$") in set(
            db.execute("select src, kind, dst from edge"))


def test_reading_streams_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(ldd, "CHUNK", 64)  # entries and UTF-8 sequences cut across many chunks
    records, _ = read(ESTATE / "domain_users.json")
    assert len([r for r in records if isinstance(r, IdentityRecord)]) == 4
    values = list(JsonArrayReader(ESTATE / "domain_groups.json"))
    assert [v["dn"].split(",")[0] for _, v in values] == ["CN=SQL Admins", "CN=Web Apps", "CN=App Readers"]


@pytest.mark.parametrize("name", ["domain_users.json", "domain_computers.json", "domain_groups.json",
                                  "domain_trusts.json", "domain_policy.json"])
def test_detected_by_content(name):
    assert detect_format(ESTATE / name).name == "ldapdomaindump"


def test_detection_needs_the_entry_shape(tmp_path):
    renamed = tmp_path / "export.json"
    renamed.write_bytes((ESTATE / "domain_users.json").read_bytes())
    assert detect_format(renamed).name == "ldapdomaindump"
    empty = tmp_path / "other.json"
    empty.write_text("[]")
    assert not LdapDomainDumpImporter().detect(empty, b"[]")
    graph = tmp_path / "sp.json"
    graph.write_text(json.dumps({"value": [{"id": "x", "appId": "y", "displayName": "z"}]}))
    assert not LdapDomainDumpImporter().detect(graph, graph.read_bytes())


# --- bad input ----------------------------------------------------------------------------------------------

def counts(path: Path) -> tuple:
    with sqlite3.connect(path) as db:
        return tuple(db.execute(f"select count(*) from {t}").fetchone()[0]
                     for t in ("identity", "node", "edge", "import_run"))


@pytest.mark.parametrize(("name", "where", "reason"), [
    ("bad_not_array.json", ":1", "expected a JSON array"),
    ("bad_truncated.json", ":10", "entry 2: invalid JSON"),
    ("bad_no_dn.json", ":7", "entry 2: no 'dn'"),
    ("bad_json.json", ":4", "entry 1: invalid JSON"),
    ("bad_base64.json", ":1", "objectSid: invalid base64"),
    ("bad_utf8.json", ":3", "not UTF-8 (byte 0xFC)"),
    ("bad_entry_type.json", ":2", "entry 1: expected an object with 'attributes' and 'dn', found str"),
])
def test_bad_file(tmp_path, capsys, name, where, reason):
    project = tmp_path / "p.nhiplan"
    services.init_project(project).close()
    assert cli.main(["import", str(project), str(ESTATE / "domain_groups.json")]) == 0
    capsys.readouterr()
    before = counts(project)
    path = DATA / name
    assert cli.main(["import", str(project), str(path), "--format", "ldapdomaindump"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith(f"nhiplan: error: {path}{where}: "), err[0]
    assert reason in err[0]
    assert counts(project) == before
