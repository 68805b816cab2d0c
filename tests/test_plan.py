"""Plan v1: steps per decision, ordering across identities by the graph, waves, determinism, integrity."""

from __future__ import annotations

import yaml

from nhiplan.core import services
from nhiplan.core.render.canonical import plan_document, to_yaml
from tests.estates import DOMAIN


def decide_small_estate(store):
    services.decide(store, "svc_web", "split", "two workloads",
                    agents=[{"name": "web-agent", "scopes": ["db.read"], "consumers": ["web01.corp.acme.test"]}])
    services.decide(store, "svc_sql", "keep", "one workload", rotation={"every": "30d", "via": "vault"})
    services.decide(store, "svc_a", "split", "cycle member")
    services.decide(store, "svc_b", "retire", "cycle member")
    services.decide(store, "svc_old", "retire", "stale")


def check_ordering_invariants(doc):
    position = {s["id"]: i for i, s in enumerate(doc["steps"])}
    wave = {s["id"]: s["wave"] for s in doc["steps"]}
    for s in doc["steps"]:
        assert len(s["depends_on"]) == len(s["because"]) and all(s["because"])
        for d in s["depends_on"]:
            assert wave[d] < s["wave"], (d, s["id"])
            assert position[d] < position[s["id"]]
    assert [w["wave"] for w in doc["waves"]] == list(range(1, len(doc["waves"]) + 1))


def test_plan_follows_the_graph(small_estate):
    decide_small_estate(small_estate)
    doc = plan_document(services.make_plan(small_estate))
    check_ordering_invariants(doc)
    steps = {s["id"]: s for s in doc["steps"]}
    # svc_web delegates to svc_sql: web's cutover comes after sql's rotation is ready, with the reason.
    cut = steps[f"{DOMAIN}/svc_web#cutover:web-agent"]
    assert f"{DOMAIN}/svc_sql#rotation" in cut["depends_on"]
    reason = cut["because"][cut["depends_on"].index(f"{DOMAIN}/svc_sql#rotation")]
    assert "svc_web delegates to svc_sql" in reason and "MSSQLSvc/sql01" in reason
    # The split's provisioning steps carry the source identity and the agent's name.
    prov = steps[f"{DOMAIN}/svc_web#provision:web-agent"]
    assert prov["identity"] == f"{DOMAIN}/svc_web" and prov["agent"] == "web-agent" and prov["phase"] == "provision"
    for s in doc["steps"]:
        assert s["risk"] in ("low", "medium", "high") and s["verification"] and s["rollback"] and s["owner"]


def test_a_cycle_moves_in_one_wave_with_a_finding(small_estate):
    decide_small_estate(small_estate)
    doc = plan_document(services.make_plan(small_estate))
    cycle = [f for f in doc["findings"] if f["code"] == "dependency-cycle"]
    assert len(cycle) == 1 and "svc_a" in cycle[0]["message"] and "svc_b" in cycle[0]["message"]
    steps = {s["id"]: s for s in doc["steps"]}
    for kind in ("prepare", "detect", "disable", "remove"):
        assert steps[f"{DOMAIN}/svc_a#{kind}"]["wave"] == steps[f"{DOMAIN}/svc_b#{kind}"]["wave"], kind
    assert any("cut over together" in w.get("note", "") for w in doc["waves"])


def test_same_input_gives_byte_identical_yaml(small_estate, tmp_path):
    decide_small_estate(small_estate)
    a = services.write_plan(services.make_plan(small_estate), tmp_path / "a.yaml").read_bytes()
    b = services.write_plan(services.make_plan(small_estate), tmp_path / "b.yaml").read_bytes()
    assert a == b
    ok, message = services.verify_plan(tmp_path / "a.yaml")
    assert ok and "integrity OK" in message


def test_contract_fields_are_present(small_estate):
    decide_small_estate(small_estate)
    doc = yaml.safe_load(to_yaml(plan_document(services.make_plan(small_estate))))
    assert doc["schema"] == "nhiplan/plan/v1"
    assert set(doc) >= {"project", "generated_from", "integrity", "identities", "waves", "steps", "findings"}
    assert doc["generated_from"]["inventory"].startswith("sha256:")
    for s in doc["steps"]:
        assert set(s) >= {"id", "identity", "wave", "phase", "protocol", "title", "depends_on", "because", "risk",
                          "verification", "rollback", "artifacts"}
        assert s["phase"] in ("prepare", "provision", "credential", "grant", "cutover", "verify", "decommission")
        assert s["protocol"] in ("oidc", "saml", "scim", "rotation", "directory", "detection")
        for a in s["artifacts"]:
            assert set(a) >= {"kind", "media_type", "content"}


def test_tampering_is_detected(small_estate, tmp_path):
    decide_small_estate(small_estate)
    path = services.write_plan(services.make_plan(small_estate), tmp_path / "p.yaml")
    text = path.read_text()
    path.write_text(text.replace("risk: high", "risk: low", 1))
    ok, message = services.verify_plan(path)
    assert not ok and "FAILED" in message


def test_undecided_dependency_is_a_finding(small_estate):
    services.decide(small_estate, "svc_web", "split", "x")
    doc = plan_document(services.make_plan(small_estate))
    assert any(f["code"] == "undecided-dependency" and "svc_sql" in f["message"] for f in doc["findings"])


def test_retired_prerequisite_waits_for_dependent_cutover(small_estate):
    services.decide(small_estate, "svc_web", "split", "x", agents=[{"name": "w1"}])
    services.decide(small_estate, "svc_sql", "retire", "replaced")
    doc = plan_document(services.make_plan(small_estate))
    steps = {s["id"]: s for s in doc["steps"]}
    assert f"{DOMAIN}/svc_web#cutover:w1" in steps[f"{DOMAIN}/svc_sql#disable"]["depends_on"]


def test_manual_dependency_orders_the_plan(small_estate):
    services.decide(small_estate, "svc_rpt", "split", "x", agents=[{"name": "r1"}])
    services.decide(small_estate, "svc_old", "keep", "x")
    services.add_manual_dependency(small_estate, "svc_rpt", "svc_old", "reads its share")
    doc = plan_document(services.make_plan(small_estate))
    cut = {s["id"]: s for s in doc["steps"]}[f"{DOMAIN}/svc_rpt#cutover:r1"]
    assert f"{DOMAIN}/svc_old#rotation" in cut["depends_on"]
    assert any("the architect says svc_rpt depends on svc_old: reads its share" in b for b in cut["because"])


def test_libyaml_and_pure_python_dumpers_write_the_same_bytes(small_estate):
    """The plan file must not depend on whether libyaml is installed."""
    from nhiplan.core.render import canonical

    decide_small_estate(small_estate)
    doc = plan_document(services.make_plan(small_estate))

    class Pure(yaml.SafeDumper):
        pass

    Pure.add_representer(str, canonical._str_presenter)
    pure = yaml.dump(doc, Dumper=Pure, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    assert canonical.to_yaml(doc) == pure


def test_a_kept_gmsa_is_not_handed_to_a_secret_manager(project):
    """The domain already rotates a gMSA's password: keeping it means checking, not adding Vault."""
    from nhiplan.core.records import EdgeRecord, IdentityRecord, NodeRecord

    gmsa = IdentityRecord(ref="dn:cn=gmsa_web,dc=x", kind="gmsa", name="gmsa_web$", authority="x.test",
                          source_record="g:1")
    host = NodeRecord(ref="host:web01.x.test", kind="host", name="web01.x.test", authority="x.test",
                      source_record="g:2")
    services.import_records(project, [[gmsa, host, EdgeRecord("host:web01.x.test", "dn:cn=gmsa_web,dc=x",
                                                              "UsesIdentity", "g:1")]],
                            source_kind="ldif", family="ad", source="g")
    services.decide(project, "gmsa_web$", "keep", "already managed")
    doc = plan_document(services.make_plan(project))
    rotation = next(s for s in doc["steps"] if s["kind"] == "rotation")
    assert "vault" not in yaml.safe_dump(rotation).lower()
    assert "PrincipalsAllowedToRetrieveManagedPassword" in rotation["artifacts"][0]["content"]
    assert "web01.x.test" in rotation["description"]
    check_ordering_invariants(doc)
