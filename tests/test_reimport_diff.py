"""Re-import is a diff of identities and edges; decisions survive it; a decided identity that changed
materially (new consumer, new privilege, credential rotated, disabled) is flagged for review."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from nhiplan.core import ingest, services
from nhiplan.core.model import ImportRun
from nhiplan.core.records import CredentialRecord, EdgeRecord, IdentityRecord, NodeRecord
from tests.estates import DOMAIN, account, dn, small_estate_records


def reimport(store, records, source="again.ldif"):
    return services.import_records(store, [records], source_kind="ldif", family="ad", source=source)


def review(store, name):
    return {r["name"]: r for r in services.list_identities(store)}[name]["needs_review"]


def with_changes(**changes):
    """The small estate with some identity fields changed: {name: {field: value}}."""
    records = copy.deepcopy(small_estate_records())
    for r in records:
        if isinstance(r, IdentityRecord) and r.name in changes:
            for f, v in changes[r.name].items():
                setattr(r, f, v)
    return records


def test_first_import_counts_every_edge_as_new_and_a_same_reimport_as_none(project):
    first = services.import_records(project, [small_estate_records()], source_kind="ldif", family="ad",
                                    source="small.ldif")
    assert len(first.edges_new) == first.edges and first.edges_vanished == []
    again = reimport(project, small_estate_records())
    assert again.edges_new == [] and again.edges_vanished == []
    with project.session() as s:
        run = s.scalars(select(ImportRun).order_by(ImportRun.id.desc())).first()
        assert run.diff["edges_new_count"] == 0 and run.diff["edges_vanished"] == []


def test_edges_new_and_vanished_since_the_last_run_of_that_source(small_estate):
    records = [r for r in small_estate_records()
               if not (isinstance(r, EdgeRecord) and r.kind == "MemberOf")]  # svc_rpt leaves Reporting
    records.append(EdgeRecord("host:web02.corp.acme.test", dn("svc_web"), "UsesIdentity", "b.ldif:3"))
    summary = reimport(small_estate, records)
    assert summary.edges_new == [("host:web02.corp.acme.test", "UsesIdentity", f"{DOMAIN}/svc_web")]
    assert summary.edges_vanished == [(f"{DOMAIN}/svc_rpt", "MemberOf", f"group:{DOMAIN}/reporting")]
    with small_estate.session() as s:
        run = s.get(ImportRun, summary.run_id)
        assert run.diff["edges_new"] == [["host:web02.corp.acme.test", "UsesIdentity", f"{DOMAIN}/svc_web"]]
        assert run.diff["edges_vanished_count"] == 1


def test_the_stored_edge_diff_is_bounded_but_the_counts_are_exact(project, monkeypatch):
    monkeypatch.setattr(ingest, "EDGE_DIFF_LIMIT", 2)
    summary = services.import_records(project, [small_estate_records()], source_kind="ldif", family="ad",
                                      source="small.ldif")
    with project.session() as s:
        run = s.get(ImportRun, summary.run_id)
        assert len(run.diff["edges_new"]) == 2 and run.diff["edges_new_count"] == summary.edges > 2
        assert run.diff["edges_new"] == [list(e) for e in summary.edges_new[:2]]


def test_decisions_survive_a_reimport(small_estate):
    services.decide(small_estate, "svc_sql", "keep", "one database", rotation={"every": "30d", "via": "vault"},
                    author="ana")
    services.decide(small_estate, "svc_web", "split", "per workload",
                    agents=services.propose_agents(small_estate, "svc_web"), author="ana")
    before = {k: services.identity_detail(small_estate, k)["decision"] for k in ("svc_sql", "svc_web")}
    reimport(small_estate, small_estate_records())
    after = {k: services.identity_detail(small_estate, k)["decision"] for k in ("svc_sql", "svc_web")}
    assert after == before
    assert review(small_estate, "svc_sql") is None and review(small_estate, "svc_web") is None


@pytest.mark.parametrize(("change", "expected"), [
    ("new consumer", "new consumer web09.corp.acme.test (UsesIdentity)"),
    ("new privilege", "new privilege MemberOf Domain Admins"),
    ("delegation", "new privilege AllowedToDelegate svc_sql"),
    ("credential rotated", "credential changed: password password rotated"),
    ("new secret", "credential changed: client_secret k2 added"),
    ("disabled", "changed since decided: enabled"),
])
def test_material_change_of_a_decided_identity_is_flagged(small_estate, change, expected):
    services.decide(small_estate, "svc_rpt", "keep", "one report host", author="ana")
    services.decide(small_estate, "svc_sql", "keep", "one database", author="ana")
    target = "svc_sql" if change in ("credential rotated", "new secret") else "svc_rpt"
    records = small_estate_records()
    if change == "new consumer":
        records.append(EdgeRecord("host:web09.corp.acme.test", dn("svc_rpt"), "UsesIdentity", "b.ldif:1"))
    elif change == "new privilege":
        records += [NodeRecord(ref="dn:cn=domain admins,cn=users,dc=corp,dc=acme,dc=test", kind="group",
                               name="Domain Admins", authority=DOMAIN, source_record="b.ldif:2"),
                    EdgeRecord(dn("svc_rpt"), "dn:cn=domain admins,cn=users,dc=corp,dc=acme,dc=test", "MemberOf",
                               "b.ldif:2")]
    elif change == "delegation":
        records.append(EdgeRecord(dn("svc_rpt"), dn("svc_sql"), "AllowedToDelegate", "b.ldif:3"))
    elif change == "credential rotated":
        records = [r for r in records if not isinstance(r, CredentialRecord)]
        records.append(CredentialRecord(dn("svc_sql"), "password", "password", "b.ldif:4",
                                        created=datetime(2026, 9, 1, tzinfo=UTC)))
    elif change == "new secret":
        records.append(CredentialRecord(dn("svc_sql"), "client_secret", "k2", "b.ldif:5",
                                        created=datetime(2026, 9, 1, tzinfo=UTC)))
    elif change == "disabled":
        records = with_changes(svc_rpt={"enabled": False})
    summary = reimport(small_estate, records)
    assert summary.needs_review == [f"{DOMAIN}/{target}"]
    assert expected in review(small_estate, target)
    # still decided as before: flagged, not silently kept or dropped
    assert services.identity_detail(small_estate, target)["decision"]["decision"] == "keep"


def test_changes_that_are_not_material_or_not_decided_are_not_flagged(small_estate):
    services.decide(small_estate, "svc_rpt", "keep", "one report host", author="ana")
    services.decide(small_estate, "svc_web", "split", "per workload", author="ana")
    records = with_changes(svc_rpt={"description": "reports (moved to a new rack)"}, svc_a={"enabled": False})
    records = [r for r in records if not (isinstance(r, EdgeRecord) and r.kind == "UsesIdentity"
                                          and r.dst_ref == dn("svc_web"))]  # a consumer went away
    records.append(EdgeRecord(dn("svc_b"), "dn:cn=reporting,ou=groups,dc=corp,dc=acme,dc=test", "MemberOf",
                              "b.ldif:9"))  # undecided svc_b gains a group
    summary = reimport(small_estate, records)
    assert summary.needs_review == []
    assert f"{DOMAIN}/svc_rpt" in summary.changed and f"{DOMAIN}/svc_a" in summary.changed


def test_several_material_changes_are_all_named_and_a_new_decision_clears_them(small_estate):
    services.decide(small_estate, "svc_rpt", "keep", "one report host", author="ana")
    records = with_changes(svc_rpt={"enabled": False, "flags": ["DONT_EXPIRE_PASSWD"]})
    records.append(EdgeRecord("host:web09.corp.acme.test", dn("svc_rpt"), "UsesIdentity", "b.ldif:1"))
    reimport(small_estate, records)
    assert review(small_estate, "svc_rpt") == ("changed since decided: enabled, flags; "
                                               "new consumer web09.corp.acme.test (UsesIdentity)")
    services.decide(small_estate, "svc_rpt", "retire", "disabled now", author="ana")
    assert review(small_estate, "svc_rpt") is None


def test_a_new_source_that_shows_a_new_consumer_flags_a_decided_identity(small_estate):
    services.decide(small_estate, "svc_web", "keep", "one web host", author="ana")
    web = account("svc_web", 10, guid="0a1b2c3d-4e5f-6071-8293-a4b5c6d7e801")
    summary = services.import_records(small_estate, [[
        web, EdgeRecord("host:batch01.corp.acme.test", web.ref, "UsesIdentity", "signins.csv:2")]],
        source_kind="ad-csv", family="ad", source="signins.csv", authority="signins")
    assert summary.needs_review == [f"{DOMAIN}/svc_web"]
    assert "new consumer batch01.corp.acme.test" in review(small_estate, "svc_web")
