"""Decisions: one and many, the decisions file (all or none), audit, undo by restore."""

from __future__ import annotations

import pytest

from nhiplan.core import services
from nhiplan.core.errors import Ambiguous, BadInput, NotFound
from nhiplan.core.records import IdentityRecord
from tests.estates import DOMAIN

DECISIONS = """\
decisions:
  - identity: svc_web
    decision: split
    reason: "shared by two workloads"
    agents:
      - name: web-frontend-agent
        purpose: "serves the portal"
        delegation: on-behalf-of
        action_classes: [read]
        scopes: ["orders.read"]
        credential: private_key_jwt
        lifetime: 15m
        consumers: ["web01.corp.acme.test"]
  - identity: corp.acme.test/svc_sql
    decision: keep
    reason: "single workload, no agent"
    rotation: {every: 30d, via: vault}
  - identity: svc_old
    decision: retire
"""


def test_decide_records_author_reason_and_audit(small_estate):
    change = services.decide(small_estate, "svc_old", "retire", "stale since 2019", author="ana")
    assert change.before is None and change.after["decision"] == "retire" and change.changed
    detail = services.identity_detail(small_estate, "svc_old")
    assert detail["decision"]["reason"] == "stale since 2019" and detail["decision_meta"]["author"] == "ana"
    log = services.audit_log(small_estate, subject=f"{DOMAIN}/svc_old")
    assert log[0]["actor"] == "ana" and log[0]["before"] is None and log[0]["after"]["decision"] == "retire"


def test_restore_undoes_and_is_audited(small_estate):
    first = services.decide(small_estate, "svc_old", "retire", "stale")
    second = services.decide(small_estate, "svc_old", "keep", "still used", rotation={"every": "7d", "via": "vault"})
    services.restore_decision(small_estate, second.key, second.before)
    assert services.identity_detail(small_estate, "svc_old")["decision"] == first.after
    services.restore_decision(small_estate, first.key, first.before)
    assert services.identity_detail(small_estate, "svc_old")["decision"] is None
    actions = [e["action"] for e in services.audit_log(small_estate, subject=first.key)]
    assert actions == ["restore", "restore", "decide", "decide"]


def test_decisions_file_applies_all(small_estate, tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(DECISIONS)
    changes = services.decide_file(small_estate, path)
    assert [c.key for c in changes] == [f"{DOMAIN}/svc_web", f"{DOMAIN}/svc_sql", f"{DOMAIN}/svc_old"]
    web = services.identity_detail(small_estate, "svc_web")["decision"]
    agent = web["agents"][0]
    assert agent["delegation"] == "on-behalf-of" and agent["scopes"] == ["orders.read"]
    assert services.identity_detail(small_estate, "svc_sql")["decision"]["rotation"] == {"every": "30d",
                                                                                         "via": "vault"}


@pytest.mark.parametrize("mutation, message", [
    (("decision: retire\n", "decision: rettire\n"), r"d.yaml:18 \(decision 3\): decision must be one of"),
    (("identity: svc_old", "identity: svc_nobody"), r"d.yaml:18 \(decision 3\): no identity"),
    (("lifetime: 15m", "lifetime: forever"), r"d.yaml:2 \(decision 1\), agent 1: agent web-frontend-agent: lifetime"),
    (("via: vault", "via: postit"), r"decision 2\): rotation 'via' must be one of"),
    (("    decision: keep\n", "    decision: keep\n    colour: blue\n"), r"unknown field\(s\): colour"),
    (("decisions:\n", "decisions: [\n"), r"d.yaml:\d+: not valid YAML"),
])
def test_a_bad_decisions_file_changes_nothing(small_estate, tmp_path, mutation, message):
    path = tmp_path / "d.yaml"
    path.write_text(DECISIONS.replace(*mutation))
    with pytest.raises(BadInput, match=message):
        services.decide_file(small_estate, path)
    assert all(r["decision"] == "undecided" for r in services.list_identities(small_estate))


def test_ambiguous_and_unknown_names(small_estate):
    other = IdentityRecord(ref="dn:cn=svc_old,dc=other,dc=test", kind="service_account", name="svc_old",
                           authority="other.test", source_record="o:1")
    services.import_records(small_estate, [[other]], source_kind="ldif", family="ad", source="o")
    with pytest.raises(Ambiguous) as exc:
        services.decide(small_estate, "svc_old", "retire")
    assert exc.value.keys == [f"{DOMAIN}/svc_old", "other.test/svc_old"]
    with pytest.raises(NotFound):
        services.decide(small_estate, "nobody", "retire")


def test_agents_only_with_split(small_estate):
    with pytest.raises(BadInput, match="'agents' only go with decision: split"):
        services.decide(small_estate, "svc_sql", "keep", agents=[{"name": "x"}])
