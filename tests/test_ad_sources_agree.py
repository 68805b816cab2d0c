"""One estate, four forms — LDIF, PowerShell CSV, ldapdomaindump, a live slapd — one inventory.

The forms are written from the one model in tests/ad_estate.py. Each is imported
into its own project and the inventories (every identity's fields, credentials,
group and consumer counts, tags), the nodes and the edges must be identical except
for the `sources` each names. Imported one after another into one project, the
same accounts stay one identity each, seen in every source, with a sighting per
source; the same name in another domain stays another identity.
"""

from __future__ import annotations

import sqlite3

import pytest

from nhiplan.core import cli, services
from tests.ad_estate import BASE, estate, to_csv, to_ldapdomaindump, to_ldif
from tests.slapd_fixture import SlapdServer

PW_ENV = "NHIPLAN_AGREE_PW"


@pytest.fixture(scope="module")
def forms(tmp_path_factory):
    root = tmp_path_factory.mktemp("forms")
    objects = estate()
    (root / "ldif").mkdir()
    (root / "ldif" / "corp.ldif").write_text(to_ldif(objects), encoding="utf-8")
    (root / "csv").mkdir()
    for name, text in to_csv(objects).items():
        (root / "csv" / name).write_text(text, encoding="utf-8-sig")
    (root / "dump").mkdir()
    for name, text in to_ldapdomaindump(objects).items():
        (root / "dump" / name).write_text(text, encoding="utf-8")
    server = SlapdServer(root / "slapd", BASE, to_ldif(objects)).start()
    yield root, server
    server.cleanup()


def load(root, server, form: str, project):
    if form == "ldap":
        return cli.main(["ldap", str(project), "--url", server.url, "--base", BASE, "--bind-dn", server.rootdn,
                         "--password-env", PW_ENV])
    return cli.main(["import", str(project), str(root / form)])


def snapshot(project) -> dict:
    store = services.open_project(project)
    try:
        rows = services.list_identities(store, include_people=True)
    finally:
        store.close()
    with sqlite3.connect(project) as db:
        nodes = sorted(db.execute("select key, kind, name, sid, guid from node"))
        edges = sorted(db.execute("select src, kind, dst from edge"))
        identities = sorted(db.execute(
            "select key, kind, name, authority, dn, upn, sid, guid, enabled, created, last_used, "
            "password_last_set, expires, description, flags, spns, classification from identity"))
        creds = sorted(db.execute("select i.key, c.kind, c.credential_id, c.created, c.expires from credential c "
                                  "join identity i on i.id = c.identity_id"))
        findings = sorted(db.execute("select subject, code, tag from finding"))
    return {"inventory": [{k: v for k, v in r.items() if k != "sources"} for r in rows], "nodes": nodes,
            "edges": edges, "identities": identities, "credentials": creds, "findings": findings}


def test_every_form_gives_the_same_inventory(forms, tmp_path, monkeypatch):
    root, server = forms
    monkeypatch.setenv(PW_ENV, server.rootpw)
    snapshots = {}
    for form in ("ldif", "csv", "dump", "ldap"):
        project = tmp_path / f"{form}.nhiplan"
        services.init_project(project).close()
        assert load(root, server, form, project) == 0
        snapshots[form] = snapshot(project)
    reference = snapshots["ldif"]
    assert len(reference["inventory"]) == 5 and len(reference["edges"]) == 14
    for form in ("csv", "dump", "ldap"):
        for part in reference:
            assert snapshots[form][part] == reference[part], (form, part)


def test_one_project_many_sources_one_identity_each(forms, tmp_path, monkeypatch, capsys):
    root, server = forms
    monkeypatch.setenv(PW_ENV, server.rootpw)
    project = tmp_path / "all.nhiplan"
    services.init_project(project).close()
    for form in ("ldif", "csv", "dump", "ldap"):
        assert load(root, server, form, project) == 0
    out = capsys.readouterr().out
    assert out.count("(0 new, 0 changed, 0 vanished)") == 3
    store = services.open_project(project)
    try:
        rows = {r["key"]: r for r in services.list_identities(store, include_people=True)}
        detail = services.identity_detail(store, "corp.example.test/svc_sql")
    finally:
        store.close()
    assert len(rows) == 5
    assert rows["corp.example.test/svc_sql"]["sources"] == ["ad-csv", "ldap", "ldapdomaindump", "ldif"]
    with sqlite3.connect(project) as db:
        assert db.execute("select count(distinct origin) from import_run").fetchone()[0] == 1  # ad:corp.example.test
        assert db.execute("select count(*) from edge").fetchone()[0] == 14
    # Provenance per source: one sighting from each, naming its record.
    records = {s["source_kind"]: s["record"] for s in detail["sightings"]}
    assert sorted(records) == ["ad-csv", "ldap", "ldapdomaindump", "ldif"]
    assert records["ad-csv"].startswith("users.csv:") and records["ldif"].startswith("corp.ldif:")
    assert records["ldapdomaindump"].startswith("domain_users.json:")
    assert records["ldap"] == f"{server.url}/CN=svc_sql,OU=Service Accounts,{BASE}"

    # The same sAMAccountName in another domain is another identity.
    other = tmp_path / "essos.ldif"
    other.write_text("dn: CN=svc_sql,OU=Service Accounts,DC=essos,DC=local\nobjectClass: user\n"
                     "sAMAccountName: svc_sql\nservicePrincipalName: MSSQLSvc/braavos.essos.local:1433\n")
    assert cli.main(["import", str(project), str(other)]) == 0
    store = services.open_project(project)
    try:
        keys = [r["key"] for r in services.list_identities(store) if r["name"] == "svc_sql"]
    finally:
        store.close()
    assert keys == ["corp.example.test/svc_sql", "essos.local/svc_sql"]


def test_bulk_edge_insert_rebuilds_indexes_and_a_failed_import_keeps_them(tmp_path, monkeypatch):
    """Ingest drops the edge indexes for a big insert and builds them after; a rollback brings them back."""
    from nhiplan.core import ingest
    from nhiplan.core.records import EdgeRecord, NodeRecord

    monkeypatch.setattr(ingest, "BULK_REINDEX_ROWS", 2)
    project = tmp_path / "p.nhiplan"
    store = services.init_project(project)

    def indexes():
        with sqlite3.connect(project) as db:
            return sorted(db.execute("select name from sqlite_master where type='index' and tbl_name='edge'"))

    before = indexes()
    assert len(before) >= 2
    nodes = [NodeRecord(f"key:group:x/g{i}", "group", f"g{i}", "x", "t:1") for i in range(4)]
    edges = [EdgeRecord(f"key:group:x/g{i}", f"key:group:x/g{i + 1}", "MemberOf", "t:1") for i in range(3)]
    seen = []
    real = ingest._insert_tuples

    def watch(session, table, columns, rows):
        seen.append(session.connection().exec_driver_sql(
            "select count(*) from sqlite_master where type='index' and tbl_name='edge'").scalar())
        real(session, table, columns, rows)
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "_insert_tuples", watch)
    with pytest.raises(RuntimeError):
        services.import_records(store, [nodes + edges], source_kind="ldif", family="ad", source="t")
    assert seen == [0]  # dropped for the insert
    assert indexes() == before  # and back after the rollback
    monkeypatch.setattr(ingest, "_insert_tuples", real)
    summary = services.import_records(store, [nodes + edges], source_kind="ldif", family="ad", source="t")
    store.close()
    assert summary.edges == 3
    assert indexes() == before
