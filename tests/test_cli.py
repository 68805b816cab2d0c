"""The command line per CONTRACT.md: exit codes, one-line errors, nothing written on bad input."""

from __future__ import annotations

import json

import pytest

from nhiplan.core import services
from nhiplan.core.cli import main
from tests.estates import small_estate_records


@pytest.fixture
def proj(tmp_path):
    path = tmp_path / "p.nhiplan"
    assert main(["init", str(path), "--name", "P", "--client", "Acme"]) == 0
    store = services.open_project(path)
    services.import_records(store, [small_estate_records()], source_kind="ldif", family="ad", source="x")
    store.close()
    return path


def test_list_json_has_the_contract_fields(proj, capsys):
    capsys.readouterr()
    assert main(["list", str(proj), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} == {"svc_web", "svc_sql", "svc_a", "svc_b", "svc_rpt", "svc_old"}
    for r in rows:
        assert set(r) >= {"key", "name", "kind", "authority", "sources", "enabled", "last_used", "credentials",
                          "groups", "consumers", "recommendation", "decision", "tags"}
    old = next(r for r in rows if r["name"] == "svc_old")
    assert old["last_used"] == "2019-03-04T10:00:00Z" and "NHI2" in old["tags"] and old["enabled"] is False
    assert main(["list", str(proj), "--json", "--all"]) == 0
    assert "alice" in {r["name"] for r in json.loads(capsys.readouterr().out)}


def test_decide_plan_verify(proj, tmp_path, capsys):
    assert main(["decide", str(proj), "svc_old", "retire", "--reason", "stale"]) == 0
    out = tmp_path / "plan.yaml"
    assert main(["plan", str(proj), "-o", str(out)]) == 0
    assert main(["verify", str(out)]) == 0
    out.write_text(out.read_text().replace("svc_old", "svc_0ld"))
    assert main(["verify", str(out)]) == 1


@pytest.mark.parametrize("argv, message", [
    (["decide", "{p}", "nobody", "retire"], "no identity with key or name 'nobody'"),
    (["decide", "{p}", "svc_old", "maybe"], "invalid choice: 'maybe'"),
    (["list", "{tmp}/missing.nhiplan"], "no such project"),
    (["plan", "{p}", "-o", "{tmp}/x.docx"], "cannot tell the format"),
    (["import", "{p}", "{tmp}/none.ldif"], "none.ldif: no such file or folder"),
    (["verify", "{tmp}/none.yaml"], "none.yaml: no such file"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_usage_is_exit_2_with_one_line(proj, tmp_path, capsys, argv, message):
    capsys.readouterr()
    argv = [a.format(p=proj, tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nhiplan: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_ambiguous_name_lists_the_keys(proj, capsys):
    from nhiplan.core.records import IdentityRecord

    store = services.open_project(proj)
    services.import_records(store, [[IdentityRecord(ref="dn:cn=svc_old,dc=b", kind="service_account",
                                                    name="svc_old", authority="b.test", source_record="b:1")]],
                            source_kind="ldif", family="ad", source="b")
    store.close()
    capsys.readouterr()
    assert main(["decide", str(proj), "svc_old", "retire"]) == 2
    err = capsys.readouterr().err
    assert "corp.acme.test/svc_old" in err and "b.test/svc_old" in err


def test_decide_file_and_identity_together_is_usage_error(proj, tmp_path, capsys):
    f = tmp_path / "d.yaml"
    f.write_text("decisions: []\n")
    assert main(["decide", str(proj), "svc_old", "retire", "--file", str(f)]) == 2
