"""Bad PowerShell CSV: exit 2, one line naming the file and the line, and the project unchanged."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nhiplan.core import cli, services

DATA = Path(__file__).parent / "data" / "adcsv"


def counts(path: Path) -> tuple:
    with sqlite3.connect(path) as db:
        return tuple(db.execute(f"select count(*) from {t}").fetchone()[0]
                     for t in ("identity", "node", "edge", "credential", "import_run"))


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "p.nhiplan"
    services.init_project(path).close()
    assert cli.main(["import", str(path), str(DATA / "ps7_utf8.csv")]) == 0  # something to keep intact
    return path


@pytest.mark.parametrize(("name", "where", "reason"), [
    ("bad_no_dn_column.csv", ":1", "the header has no DistinguishedName column"),
    ("bad_field_count.csv", ":3", "the record has 4 fields but the header has 3"),
    ("bad_open_quote.csv", ":3", "not readable as CSV"),
    ("bad_utf16_odd.csv", ":3", "the file is not valid utf-16-le"),
    ("bad_header_only.csv", "", "no records: the file has a header and nothing else"),
    ("bad_no_domain.csv", ":3", "cannot tell the domain of 'CN=svc_x,OU=Service Accounts'"),
    ("bad_only_type_line.csv", "", "empty file: no header line"),
])
def test_bad_file(project, capsys, name, where, reason):
    capsys.readouterr()
    before = counts(project)
    path = DATA / name
    assert cli.main(["import", str(project), str(path), "--format", "ad-csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith(f"nhiplan: error: {path}{where}: ")
    assert reason in err[0]
    assert counts(project) == before


def test_bad_file_in_a_folder_writes_none_of_the_folder(project, tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a_good.csv").write_bytes((DATA / "appended.csv").read_bytes())
    (folder / "b_bad.csv").write_bytes((DATA / "bad_field_count.csv").read_bytes())
    before = counts(project)
    assert cli.main(["import", str(project), str(folder)]) == 2
    assert f"{folder / 'b_bad.csv'}:3:" in capsys.readouterr().err
    assert counts(project) == before
