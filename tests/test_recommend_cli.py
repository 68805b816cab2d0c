"""`nhiplan recommend PROJECT [--json] [--apply]` (CONTRACT.md) on an estate built in the test."""

from __future__ import annotations

import json

from sqlalchemy import select

from nhiplan.core import cli, services
from nhiplan.core.decisions import current_user, parse_decision
from nhiplan.core.model import Decision, Identity
from tests.estates import DOMAIN

CONTRACT_KEYS = {"key", "name", "recommendation", "score", "reasons", "tags"}


def project_path(store) -> str:
    return store.url.removeprefix("sqlite:///")


def test_json_is_contracts_array(small_estate, capsys):
    assert cli.main(["recommend", project_path(small_estate), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["key"] for r in rows] == sorted(r["key"] for r in rows)
    assert {r["name"] for r in rows} == {"svc_web", "svc_sql", "svc_a", "svc_b", "svc_rpt", "svc_old"}
    for r in rows:
        assert set(r) >= CONTRACT_KEYS
        assert r["recommendation"] in ("split", "keep", "retire", None)
        assert isinstance(r["score"], float) and 0 <= r["score"] <= 1
        assert all(isinstance(x, str) and x for x in r["reasons"])
        assert all(t.startswith("NHI") for t in r["tags"])
    old = next(r for r in rows if r["name"] == "svc_old")
    assert old["recommendation"] == "retire" and "NHI2" in old["tags"] and "NHI1" in old["tags"]


def test_table_shows_reasons(small_estate, capsys):
    assert cli.main(["recommend", project_path(small_estate)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["KEY", "RECOMMENDATION", "SCORE", "TAGS"]
    assert f"{DOMAIN}/svc_old" in out and "- the account is disabled" in out


def test_apply_records_recommendations_only_where_no_decision_exists(small_estate, capsys):
    services.decide(small_estate, "svc_rpt", "retire", "the report moved", author="ana")
    services.decide(small_estate, "svc_a", "undecided", "look later", author="ana")
    expected = {r["key"]: r for r in services.recommendations(small_estate)}
    assert cli.main(["recommend", project_path(small_estate), "--apply"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == ("recorded 5 decisions from recommendations; 1 identity already decided, "
                   "0 identities without a recommendation")
    with small_estate.session() as s:
        decided = {i.key: i.decision for i in s.scalars(select(Identity)) if i.decision}
        assert decided[f"{DOMAIN}/svc_rpt"].decision == "retire" and decided[f"{DOMAIN}/svc_rpt"].author == "ana"
        applied = [d for k, d in decided.items() if d.origin == "recommendation"]
        assert len(applied) == 5
        assert len({d.decided_at for d in applied}) == 1  # one transaction, one moment
        for d in applied:
            rec = expected[d.identity.key]
            assert d.decision == rec["recommendation"] and d.author == current_user()
            assert d.reason.startswith(f"recommended with score {rec['score']:.2f}: {rec['reasons'][0]}")
        web = decided[f"{DOMAIN}/svc_web"]
        assert web.decision == "split" and web.agents  # a split comes with the planner's agents
        parse_decision({"decision": "split", "agents": [
            {k: getattr(a, k) for k in ("name", "purpose", "delegation", "action_classes", "scopes", "credential",
                                        "lifetime", "owner", "consumers")} for a in web.agents]}, "check")
    log = services.audit_log(small_estate)
    assert sum(1 for e in log if e["action"] == "apply-recommendation") == 5
    # nothing left to apply; a plan can be made from the result
    assert cli.main(["recommend", project_path(small_estate), "--apply"]) == 0
    assert capsys.readouterr().out.startswith("recorded 0 decisions")
    plan = services.make_plan(small_estate)
    assert {s.identity for s in plan.steps} >= {f"{DOMAIN}/svc_web", f"{DOMAIN}/svc_old"}


def test_apply_with_json_prints_the_array_and_counts_on_stderr(small_estate, capsys):
    assert cli.main(["recommend", project_path(small_estate), "--apply", "--json"]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 6
    assert captured.err.startswith("recorded 6 decisions")
    with small_estate.session() as s:
        assert len(s.scalars(select(Decision)).all()) == 6


def test_recommend_on_a_missing_project_is_bad_input(tmp_path, capsys):
    assert cli.main(["recommend", str(tmp_path / "nope.nhiplan")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
