"""Bulk decisions by filter: one transaction, audited, undone as one step."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from nhiplan.core import services
from nhiplan.core.analysis.bulk import IdentityFilter, select_keys
from nhiplan.core.errors import BadInput
from nhiplan.core.model import Decision
from tests.estates import DOMAIN, account

NOW = datetime(2026, 10, 1, tzinfo=UTC)


def decisions(store) -> dict[str, str]:
    return {r["name"]: r["decision"] for r in services.list_identities(store)}


def keys(store, **criteria) -> list[str]:
    with store.session() as s:
        return [k.split("/", 1)[1] for k in select_keys(s, IdentityFilter.from_dict(criteria), now=NOW)]


def test_all_stale_disabled_accounts_retire_in_one_audited_step(small_estate):
    changes = services.decide_by_filter(small_estate, {"enabled": False, "stale": True}, "retire",
                                        "stale and disabled", author="ana")
    assert [c.key for c in changes] == [f"{DOMAIN}/svc_old"]
    assert decisions(small_estate)["svc_old"] == "retire"
    event = services.audit_log(small_estate, subject=f"{DOMAIN}/svc_old")[0]
    assert event["action"] == "bulk-decide" and event["actor"] == "ana" and event["reason"] == "stale and disabled"
    assert event["before"] is None and event["after"]["decision"] == "retire"


def test_filter_criteria(small_estate):
    assert keys(small_estate, name="svc_?") == ["svc_a", "svc_b"]
    assert keys(small_estate, enabled=False) == ["svc_old"]
    assert keys(small_estate, stale=False, max_consumers=0) == ["svc_a", "svc_b"]
    assert keys(small_estate, min_consumers=1) == ["svc_rpt", "svc_sql", "svc_web"]
    assert keys(small_estate, recommendations=["retire"]) == ["svc_old"]
    assert keys(small_estate, tags=["NHI2"]) == ["svc_old"]
    assert keys(small_estate, tags=["NHI7"], kinds=["service_account"]) == ["svc_sql"]
    assert keys(small_estate, kinds=["person"]) == ["alice"]
    assert keys(small_estate, keys=[f"{DOMAIN}/svc_a", f"{DOMAIN}/svc_web"]) == ["svc_a", "svc_web"]
    assert keys(small_estate, authority="other.test") == []
    services.decide(small_estate, "svc_a", "keep", "checked", author="ana")
    assert "svc_a" not in keys(small_estate, decisions=["undecided"])
    assert keys(small_estate, decisions=["keep"]) == ["svc_a"]


def test_undo_puts_back_the_whole_step_in_one_go(small_estate):
    services.decide(small_estate, "svc_a", "keep", "checked", author="ana")
    before = decisions(small_estate)
    changes = services.decide_by_filter(small_estate, {"name": "svc_*"}, "retire", author="bo")
    assert len(changes) == 6 and all(decisions(small_estate)[n] == "retire" for n in before if n != "alice")
    undone = services.undo_changes(small_estate, changes, author="bo")
    assert decisions(small_estate) == before
    assert len(undone) == 6
    assert sum(1 for e in services.audit_log(small_estate) if e["action"] == "undo") == 6
    a = services.identity_detail(small_estate, "svc_a")["decision"]
    assert a["decision"] == "keep" and a["reason"] == "checked"


def test_reason_defaults_to_the_filter_in_words(small_estate):
    services.decide_by_filter(small_estate, {"enabled": False, "kinds": ["service_account"]}, "retire")
    assert services.identity_detail(small_estate, "svc_old")["decision"]["reason"] == (
        "bulk decision for kinds=service_account, disabled")


def test_bulk_split_comes_with_the_planners_agents(small_estate):
    changes = services.decide_by_filter(small_estate, {"keys": [f"{DOMAIN}/svc_web", f"{DOMAIN}/svc_rpt"]}, "split")
    agents = {c.key: [a["name"] for a in c.after["agents"]] for c in changes}
    assert agents == {f"{DOMAIN}/svc_rpt": ["svc-rpt-rpt"], f"{DOMAIN}/svc_web": ["svc-web-web"]}


def test_a_filter_that_selects_nothing_writes_nothing(small_estate):
    assert services.decide_by_filter(small_estate, {"authority": "nowhere.test"}, "retire") == []
    assert services.audit_log(small_estate) == []


@pytest.mark.parametrize(("criteria", "message"), [
    ({"colour": "red"}, "unknown filter criteria: colour"),
    ({"kinds": ["robot"]}, "'kinds': robot not one of"),
    ({"enabled": "no"}, "'enabled' must be true or false"),
    ({"min_consumers": -1}, "'min_consumers' must be a whole number"),
    ({"tags": ["NHI99"]}, "'tags': NHI99 not one of"),
])
def test_bad_filters_are_bad_input(small_estate, criteria, message):
    with pytest.raises(BadInput, match=message):
        services.decide_by_filter(small_estate, criteria, "retire")


def test_a_bad_decision_is_bad_input(small_estate):
    with pytest.raises(BadInput, match="decision must be one of"):
        services.decide_by_filter(small_estate, {}, "delete")


def test_hundreds_at_once_are_one_transaction(project):
    records = [account(f"svc_bulk{i:03d}", i, enabled=False) for i in range(300)]
    services.import_records(project, [records], source_kind="ldif", family="ad", source="bulk.ldif")
    changes = services.decide_by_filter(project, {"enabled": False}, "retire", "disabled", author="ana")
    assert len(changes) == 300
    with project.session() as s:
        moments = {d.decided_at for d in s.scalars(select(Decision))}
    assert len(moments) == 1
