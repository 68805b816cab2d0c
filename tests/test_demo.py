"""The bundled demo: it builds, and its plan respects the estate's real dependencies.

The dependencies are read from the demo project's graph, not written down here,
so the test keeps proving the ordering whatever the demo estate grows into.
"""

from __future__ import annotations

import networkx as nx
import pytest
import yaml

from nhiplan.core import services
from nhiplan.core.cli import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    project, plan_path = services.build_demo(out)
    return project, yaml.safe_load(plan_path.read_text()), plan_path


def test_demo_command_prints_the_project_and_writes_the_plan(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "d")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "d" / "demo.nhiplan")
    assert main(["verify", str(tmp_path / "d" / "demo-plan.yaml")]) == 0


def test_demo_plan_respects_the_dependencies_of_the_graph(demo):
    project, doc, _ = demo
    store = services.open_project(project)
    deps = services.load_graph(store).dependencies()
    store.close()
    decided = {i["key"]: i["decision"] for i in doc["identities"]}
    steps_of: dict[str, list[dict]] = {}
    for s in doc["steps"]:
        steps_of.setdefault(s["identity"], []).append(s)

    between = nx.DiGraph()
    between.add_edges_from((d.dependent, d.prerequisite) for d in deps
                           if d.dependent in decided and d.prerequisite in decided)
    cycle_of = {m: frozenset(c) for c in nx.strongly_connected_components(between) if len(c) > 1 for m in c}

    checked = 0
    for d in deps:
        a, b = d.dependent, d.prerequisite
        if a not in decided or b not in decided or (a in cycle_of and cycle_of.get(a) == cycle_of.get(b)):
            continue
        if d.only_if_prerequisite_retired and decided[b] != "retire":
            continue
        a_cutovers = [s for s in steps_of[a] if s["phase"] == "cutover"]
        if decided[b] == "retire":
            b_disable = [s for s in steps_of[b] if s["kind"] == "disable"]
            assert all(c["wave"] < x["wave"] for c in a_cutovers for x in b_disable), d.reason
        else:
            b_ready = [s for s in steps_of[b] if s["phase"] in ("provision", "credential", "grant")]
            assert b_ready, b
            assert all(r["wave"] < c["wave"] for r in b_ready for c in a_cutovers), d.reason
            for c in a_cutovers:
                assert any(d.reason in because for because in c["because"]), (c["id"], d.reason)
        checked += len(a_cutovers)
    assert checked >= 3, "the demo decisions should exercise cross-account ordering"

    # Accounts in a dependency cycle cut over in one wave, and a finding names the cycle.
    cycles = {c for c in cycle_of.values()}
    assert cycles, "the demo estate has a delegation cycle among decided accounts"
    for members in cycles:
        waves = {s["wave"] for m in members for s in steps_of[m] if s["phase"] == "cutover"}
        assert len(waves) == 1, members
        assert any(f["code"] == "dependency-cycle" and all(m in f["id"] for m in members)
                   for f in doc["findings"])


def test_demo_secrets_are_nowhere(demo):
    project, _, plan_path = demo
    # The demo LDIF carries a password in a description and secret attributes: none may survive.
    for path in (project, plan_path):
        data = path.read_bytes()
        for secret in (b"Summer2019", b"Radius#2020", b"7hR!x2-LocalAdmin"):
            assert secret not in data, (path.name, secret)


def test_demo_has_the_estate_it_promises(demo):
    project, doc, _ = demo
    store = services.open_project(project)
    rows = services.list_identities(store)
    store.close()
    kinds = {r["kind"] for r in rows}
    assert {"service_account", "gmsa", "smsa", "dmsa"} <= kinds
    keys = {r["key"] for r in rows}
    assert {"corp.northwind.test/svc_sql", "emea.corp.northwind.test/svc_sql"} <= keys
    assert {"split", "keep", "retire"} <= {i["decision"] for i in doc["identities"]}
