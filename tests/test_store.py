"""Project files: creation, migrations, refusal of what is not a project, old projects open."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect

from nhiplan.core import services
from nhiplan.core.errors import BadInput
from nhiplan.core.model import Base
from nhiplan.core.store import current_revision, head_revision, open_store

FIXTURES = Path(__file__).parent / "data" / "projects"


def test_new_project_is_at_head_and_matches_the_models(tmp_path):
    store = services.init_project(tmp_path / "p.nhiplan", name="P", client="C")
    assert current_revision(store.engine) == head_revision()
    tables = set(inspect(store.engine).get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)
    for table in Base.metadata.tables.values():
        cols = {c["name"] for c in inspect(store.engine).get_columns(table.name)}
        assert cols == {c.name for c in table.columns}, table.name
    assert store.info()["name"] == "P" and store.info()["client"] == "C"
    store.close()


def test_init_refuses_an_existing_file(tmp_path):
    (tmp_path / "p.nhiplan").write_text("x")
    with pytest.raises(BadInput, match="already exists"):
        services.init_project(tmp_path / "p.nhiplan")


@pytest.mark.parametrize("content, reason", [
    (b"hello world, not sqlite", "not an nhiplan project"),
    (b"", "empty file"),
])
def test_open_refuses_what_is_not_a_project(tmp_path, content, reason):
    path = tmp_path / "x.nhiplan"
    path.write_bytes(content)
    with pytest.raises(BadInput, match=reason):
        open_store(path)


def test_open_refuses_a_foreign_sqlite_database(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("create table t (x)")
    con.commit()
    con.close()
    with pytest.raises(BadInput, match="no project tables"):
        open_store(path)


def test_open_missing_project_is_not_created(tmp_path):
    with pytest.raises(BadInput, match="no such project"):
        open_store(tmp_path / "missing.nhiplan")
    assert not (tmp_path / "missing.nhiplan").exists()


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.nhiplan")))
def test_projects_made_by_earlier_versions_open_and_plan(tmp_path, fixture):
    """A project made by a released version must open (migrating) in every later one."""
    copy = tmp_path / fixture
    shutil.copy(FIXTURES / fixture, copy)
    store = services.open_project(copy)
    assert current_revision(store.engine) == head_revision()
    rows = services.list_identities(store)
    assert rows, "the fixture project holds identities"
    plan = services.make_plan(store)
    assert plan.steps
    store.close()
