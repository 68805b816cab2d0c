"""Ingest: one transaction, correlation, provenance, re-import as an update and a diff."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from nhiplan.core import services
from nhiplan.core.errors import BadInput
from nhiplan.core.model import Edge, Identity, ImportRun, Node, Sighting
from nhiplan.core.records import CredentialRecord, EdgeRecord, IdentityRecord
from tests.estates import DOMAIN, account, dn, small_estate_records


def counts(store):
    with store.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Identity, Node, Edge, ImportRun,
                                                                              Sighting))


def test_import_resolves_refs_to_keys(small_estate):
    with small_estate.session() as s:
        edges = {(e.src, e.dst, e.kind) for e in s.scalars(select(Edge))}
    assert (f"{DOMAIN}/svc_web", f"{DOMAIN}/svc_sql", "AllowedToDelegate") in edges  # the SPN's owner
    assert (f"{DOMAIN}/svc_rpt", f"group:{DOMAIN}/reporting", "MemberOf") in edges
    assert ("host:web01.corp.acme.test", f"{DOMAIN}/svc_web", "UsesIdentity") in edges


def test_every_identity_has_provenance(small_estate):
    with small_estate.session() as s:
        for ident in s.scalars(select(Identity)):
            assert ident.sightings, ident.key
            assert all(x.source_record.startswith("small-estate.ldif:") for x in ident.sightings)
        assert all(e.source_record and e.import_run_id for e in s.scalars(select(Edge)))


def test_reimport_updates_instead_of_duplicating(small_estate):
    before = counts(small_estate)
    summary = services.import_records(small_estate, [small_estate_records()], source_kind="ldif", family="ad",
                                      source="again.ldif")
    after = counts(small_estate)
    assert after[:3] == before[:3]  # identities, nodes, edges unchanged
    assert after[3] == before[3] + 1  # one more import run
    assert summary.new == [] and summary.changed == [] and summary.vanished == []


def test_reimport_is_a_diff_and_flags_decided_identities(small_estate):
    services.decide(small_estate, "svc_rpt", "keep", "one consumer")
    services.decide(small_estate, "svc_a", "retire", "unused")
    records = [r for r in small_estate_records() if getattr(r, "ref", None) != dn("svc_a")
               and not (isinstance(r, EdgeRecord) and dn("svc_a") in (r.src_ref, r.dst_ref))]
    for r in records:
        if isinstance(r, IdentityRecord) and r.name == "svc_rpt":
            r.enabled = False
    records.append(account("svc_new", 99))
    summary = services.import_records(small_estate, [records], source_kind="ldif", family="ad", source="b.ldif")
    assert summary.new == [f"{DOMAIN}/svc_new"]
    assert f"{DOMAIN}/svc_rpt" in summary.changed
    assert summary.vanished == [f"{DOMAIN}/svc_a"]
    assert summary.needs_review == sorted([f"{DOMAIN}/svc_a", f"{DOMAIN}/svc_rpt"])
    rows = {r["key"]: r for r in services.list_identities(small_estate)}
    assert rows[f"{DOMAIN}/svc_rpt"]["decision"] == "keep"  # decisions survive
    assert "enabled" in rows[f"{DOMAIN}/svc_rpt"]["needs_review"]
    assert rows[f"{DOMAIN}/svc_a"]["vanished"] is True


def test_correlation_by_guid_survives_a_rename(small_estate):
    renamed = account("svc_web_renamed", 10, guid="0a1b2c3d-4e5f-6071-8293-a4b5c6d7e801")
    services.import_records(small_estate, [[renamed]], source_kind="ad-csv", family="ad", source="c.csv",
                            authority=DOMAIN + "-csv")
    rows = {r["key"]: r for r in services.list_identities(small_estate)}
    assert f"{DOMAIN}/svc_web_renamed" not in rows
    assert rows[f"{DOMAIN}/svc_web"]["name"] == "svc_web_renamed"
    assert rows[f"{DOMAIN}/svc_web"]["sources"] == ["ad-csv", "ldif"]


def test_same_name_in_two_domains_stays_two(project):
    a = IdentityRecord(ref="dn:cn=svc_sql,dc=a,dc=test", kind="service_account", name="svc_sql",
                       authority="a.test", source_record="a:1")
    b = IdentityRecord(ref="dn:cn=svc_sql,dc=b,dc=test", kind="service_account", name="svc_sql",
                       authority="b.test", source_record="b:1")
    services.import_records(project, [[a, b]], source_kind="ldif", family="ad", source="x")
    assert sorted(r["key"] for r in services.list_identities(project)) == ["a.test/svc_sql", "b.test/svc_sql"]


def test_a_bad_record_writes_nothing(small_estate):
    before = counts(small_estate)
    bad = [account("svc_x", 1), CredentialRecord("dn:cn=nobody", "password", "password", "bad.ldif:7")]
    with pytest.raises(BadInput, match="bad.ldif:7"):
        services.import_records(small_estate, [bad], source_kind="ldif", family="ad", source="bad.ldif")
    assert counts(small_estate) == before


def test_unknown_edge_kind_is_bad_input(project):
    recs = [account("svc_x", 1), EdgeRecord(dn("svc_x"), dn("svc_x2"), "Frobnicates", "f.ldif:3")]
    with pytest.raises(BadInput, match="f.ldif:3: unknown edge kind"):
        services.import_records(project, [recs], source_kind="ldif", family="ad", source="f.ldif")
    assert counts(project)[0] == 0


def test_unresolved_ends_become_placeholder_nodes(project):
    recs = [account("svc_x", 1), EdgeRecord(dn("svc_x"), f"dn:cn=missing group,{'dc=corp,dc=acme,dc=test'}",
                                            "MemberOf", "p.ldif:2")]
    services.import_records(project, [recs], source_kind="ldif", family="ad", source="p.ldif")
    with project.session() as s:
        node = s.scalars(select(Node).where(Node.kind == "group")).one()
    assert node.key == f"group:{DOMAIN}/missing group" and node.attributes["placeholder"] is True


def test_the_directory_of_record_keeps_naming_a_hybrid_identity(small_estate):
    """An Entra sighting of an AD account (matched on its SID) adds facts but keeps the AD name."""
    sid = "S-1-5-21-1-2-3-1105"
    ad = account("svc_hybrid", 1, sid=sid)
    services.import_records(small_estate, [[ad]], source_kind="ldif", family="ad", source="a.ldif")
    entra = IdentityRecord(ref="ext:entra:1", kind="person", name="Hybrid Service", authority="tenant-1",
                           source_record="users.json: record 1", sid=sid, display_name="Hybrid Service",
                           emails=["hybrid@acme.test"])
    services.import_records(small_estate, [[entra]], source_kind="entra-json", family="entra", source="u.json")
    row = next(r for r in services.list_identities(small_estate) if r["key"] == f"{DOMAIN}/svc_hybrid")
    assert row["name"] == "svc_hybrid" and row["authority"] == DOMAIN and row["kind"] == "service_account"
    assert row["sources"] == ["entra-json", "ldif"] and row["display_name"] == "Hybrid Service"
