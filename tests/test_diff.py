"""`nhiplan diff OLD NEW`: what changed between two exported plans, as a board reads it.

Two versions of a real plan: the board estate as approved, then after the
architect changed three decisions. The diff must name the changed, added and
removed decisions and steps and the steps that moved wave, in text and
Markdown; exit 0 with or without differences; exit 2 for a file that is not a
plan; and warn, not fail, when a plan's integrity check fails.
"""

from __future__ import annotations

import pytest
import yaml

from nhiplan.core import cli, services
from nhiplan.core.render.canonical import load_plan_file, plan_document, to_yaml
from nhiplan.core.render.diff import diff_documents, render_markdown, render_text
from tests.render_estates import board_estate, golden_plan


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """(approved.yaml, proposed.yaml): the same project before and after three decisions changed."""
    folder = tmp_path_factory.mktemp("diff")
    store = services.init_project(folder / "p.nhiplan", name="Identity migration", client="Nordwind")
    try:
        board_estate(store)
        approved = services.write_plan(services.make_plan(store), folder / "approved.yaml")
        services.decide(store, "svc_sql", "split", "SQL reporting moves to an agent", agents=[
            {"name": "sql-report-agent", "purpose": "reporting queries", "scopes": ["db.reports.read"],
             "consumers": ["sql01.corp.nordwind.test"]}])
        services.decide(store, "svc_backup", "keep", "backup software supports only a password",
                        rotation={"every": "14d", "via": "vault"})
        services.decide(store, "svc_ftp_old", "undecided", "owner asked for more time")
        services.decide(store, "svc_monitor", "retire", "replaced by the new monitoring")
        proposed = services.write_plan(services.make_plan(store), folder / "proposed.yaml")
    finally:
        store.close()
    return approved, proposed


def test_changed_added_and_removed_decisions_and_steps_are_named(versions):
    approved, proposed = versions
    old, new = load_plan_file(approved), load_plan_file(proposed)
    d = diff_documents(old, new, str(approved), str(proposed))
    assert not d.identical
    changed = {x.name: x for x in d.decisions_changed}
    assert changed["svc_sql"].old == "keep" and changed["svc_sql"].new == "split"
    assert any(c.field == "agents" and c.new == ["sql-report-agent"] for c in changed["svc_sql"].changes)
    assert any(c.field == "rotation" and "14d" in c.new for c in changed["svc_backup"].changes)
    assert [x.name for x in d.decisions_added] == ["svc_monitor"]
    assert [x.name for x in d.decisions_removed] == ["svc_ftp_old"]

    old_ids = {s["id"] for s in old["steps"]}
    new_ids = {s["id"] for s in new["steps"]}
    assert {s.id for s in d.steps_added} == new_ids - old_ids
    assert {s.id for s in d.steps_removed} == old_ids - new_ids
    assert any(s.id.endswith("svc_sql#provision:sql-report-agent") for s in d.steps_added)
    removed = {s.id for s in d.steps_removed}
    assert {s["id"] for s in old["steps"] if "/svc_ftp_old#" in s["id"]} <= removed
    assert all("/svc_ftp_old#" in i or "/svc_sql#" in i for i in removed)  # svc_sql's keep-only steps go too
    # A step that stayed but changed content or position is reported as such, with the right numbers.
    old_by, new_by = {s["id"]: s for s in old["steps"]}, {s["id"]: s for s in new["steps"]}
    moved = {m.id: (m.old, m.new) for m in d.waves_moved}
    assert moved == {i: (old_by[i]["wave"], new_by[i]["wave"]) for i in old_ids & new_ids
                     if old_by[i]["wave"] != new_by[i]["wave"]}
    rotation = next(s for s in d.steps_changed if s.id.endswith("svc_backup#rotation"))
    assert any(c.field == "title" and "14d" in c.new for c in rotation.changes)
    assert not any(c.field == "artifacts" for c in rotation.changes), "same artifacts, new content"


def test_text_and_markdown_reports_read_as_a_board_would(versions):
    approved, proposed = versions
    d = diff_documents(load_plan_file(approved), load_plan_file(proposed), "approved.yaml", "proposed.yaml")
    text = render_text(d)
    for needle in ("Plan diff", "integrity OK", "svc_sql (corp.nordwind.test/svc_sql): keep → split",
                   "svc_monitor (corp.nordwind.test/svc_monitor): retire (new in this plan)",
                   "svc_ftp_old (corp.nordwind.test/svc_ftp_old): was retire (no longer in this plan)",
                   "Steps added", "Steps removed", "Steps changed", "agents: + sql-report-agent"):
        assert needle in text, needle
    md = render_markdown(d)
    assert md.startswith("# Plan diff")
    for needle in ("## Decisions", "| svc_sql<br>`corp.nordwind.test/svc_sql` | keep → split |", "## Steps added",
                   "## Steps removed", "| Plan hash (SHA-256) |"):
        assert needle in md, needle
    if d.waves_moved:
        assert "Steps moved to another wave" in text and "## Steps moved to another wave" in md


def test_the_diff_command_exits_0_with_and_without_differences(versions, capsys):
    approved, proposed = versions
    assert cli.main(["diff", str(approved), str(proposed)]) == 0
    out = capsys.readouterr().out
    assert "keep → split" in out
    assert cli.main(["diff", str(approved), str(proposed), "--format", "md"]) == 0
    assert capsys.readouterr().out.startswith("# Plan diff")
    assert cli.main(["diff", str(approved), str(approved)]) == 0
    assert "No differences" in capsys.readouterr().out


def test_a_tampered_plan_is_compared_with_a_warning(versions, tmp_path, capsys):
    approved, _proposed = versions
    doc = yaml.safe_load(approved.read_text(encoding="utf-8"))
    doc["steps"][0]["risk"] = "low" if doc["steps"][0]["risk"] != "low" else "high"
    tampered = tmp_path / "tampered.yaml"
    tampered.write_text(to_yaml(doc), encoding="utf-8")
    assert cli.main(["diff", str(approved), str(tampered)]) == 0
    captured = capsys.readouterr()
    assert "INTEGRITY FAILED" in captured.out and "changed after export" in captured.err
    assert f"{doc['steps'][0]['id']}" in captured.out
    assert cli.main(["verify", str(tampered)]) == 1


@pytest.mark.parametrize("content, reason", [
    (None, "no such file"),
    ("steps: [unclosed\n", "not valid YAML"),
    ("schema: something/else\n", "not an nhiplan plan file"),
    ("schema: nhiplan/plan/v1\nsteps:\n  - {id: a}\n  - {id: a}\n", "appears twice"),
    ("schema: nhiplan/plan/v1\nsteps:\n  - {title: no id}\n", "steps[0] has no 'id'"),
    ("schema: nhiplan/plan/v1\nidentities: 7\n", "'identities' must be a list"),
])
def test_bad_input_is_exit_2_with_one_line(versions, tmp_path, capsys, content, reason):
    approved, _proposed = versions
    bad = tmp_path / "bad.yaml"
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    assert cli.main(["diff", str(approved), str(bad)]) == 2
    err = capsys.readouterr().err
    assert reason in err and str(bad) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_identical_documents_are_reported_as_such():
    doc = plan_document(golden_plan())
    d = diff_documents(doc, doc)
    assert d.identical
    assert "No differences" in render_text(d) and "No differences" in render_markdown(d)
