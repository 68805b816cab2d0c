"""How long `recommend_all` takes on a large estate, as a ratio to a plain scan of the same rows.

    .venv/bin/python benchmarks/recommend_bench.py [IDENTITIES] [EDGES]   # default 100000 1000000

Generates an estate straight into a fresh project with bulk inserts (the benchmark
measures the analysis, not ingest): identities of every kind, hosts, groups (some
privileged, some nested), applications, and edges of every kind the rules read --
memberships, sign-ins, delegation, password readers, control rights, grants,
owners, shared credentials -- plus credentials, findings and source payloads.

The baseline, measured in the same run, reads the same columns of the same tables
(identities, nodes, edges, credentials, findings) and touches every row, doing no
analysis. The ratio says what the rules cost on top of merely reading the estate,
on any machine. Also shows the split planner and bulk selection on the same estate.
"""

from __future__ import annotations

import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from nhiplan.core import services
from nhiplan.core.analysis.bulk import IdentityFilter, select_keys
from nhiplan.core.analysis.estate import Estate
from nhiplan.core.analysis.policy import default_policy
from nhiplan.core.analysis.recommend import recommend_all
from nhiplan.core.analysis.split_planner import propose
from nhiplan.core.gc_pause import paused_gc
from nhiplan.core.model import Credential, Edge, Finding, Identity, ImportRun, Node, Sighting

NOW = datetime(2026, 10, 1, tzinfo=UTC)
DOMAINS = ("corp.example.test", "eu.corp.example.test", "lab.example.test")
TENANT = "0f0f0f0f-0000-4000-8000-000000000001"
KINDS = ["service_account"] * 60 + ["gmsa"] * 8 + ["smsa"] * 2 + ["service_principal"] * 15 + \
    ["managed_identity"] * 3 + ["agent"] * 2 + ["scim_account"] * 4 + ["person"] * 6
FLAG_SETS = [[], [], [], ["DONT_EXPIRE_PASSWD"], ["TRUSTED_TO_AUTH_FOR_DELEGATION"], ["TRUSTED_FOR_DELEGATION"],
             ["RC4_ONLY"], ["PASSWD_NOTREQD"], ["DONT_REQ_PREAUTH"], ["ACCOUNTDISABLE"]]
PRIVILEGED = ("Domain Admins", "Enterprise Admins", "Backup Operators", "Account Operators")


def generate(store, n_ident: int, n_edges: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    with store.session() as s, s.begin():
        run = ImportRun(source_kind="ldif", family="ad", origin="ad:bench", source="bench", started_at=NOW,
                        finished_at=NOW)
        s.add(run)
        s.flush()
        idents = []
        for i in range(n_ident):
            kind = KINDS[i % len(KINDS)]
            cloud = kind in ("service_principal", "managed_identity", "agent")
            authority = TENANT if cloud else DOMAINS[i % len(DOMAINS)]
            name = f"{kind[:3]}_{i:06d}" + ("$" if kind in ("gmsa", "smsa") else "")
            flags = rng.choice(FLAG_SETS) if not cloud else []
            idents.append({
                "key": f"{authority}/{name}", "kind": kind, "name": name, "authority": authority,
                "enabled": "ACCOUNTDISABLE" not in flags and rng.random() > 0.05,
                "created": NOW - timedelta(days=rng.randint(30, 4000)),
                "last_used": NOW - timedelta(days=rng.randint(0, 1500)) if rng.random() < 0.8 else None,
                "password_last_set": NOW - timedelta(days=rng.randint(0, 3000)) if not cloud else None,
                "flags": flags,
                "spns": [f"HTTP/host{rng.randrange(20000):05d}.{authority}"] if not cloud and rng.random() < 0.3
                else [],
                "upn": f"first{i}.last@example.test" if rng.random() < 0.01 else None,
                "emails": [], "external_ids": [], "sources": ["entra" if cloud else "ldif"],
                "classification": "", "vanished": rng.random() < 0.01, "first_seen_run": run.id,
                "last_seen_run": run.id,
            })
        s.execute(insert(Identity.__table__), idents)
        keys = [r["key"] for r in idents]
        ids = dict(s.execute(select(Identity.key, Identity.id)).all())
        hosts = [f"host:host{h:05d}.{DOMAINS[h % 3]}" for h in range(20000)]
        groups = [f"group:{DOMAINS[g % 3]}/group {g}" for g in range(5000)]
        apps = [f"application:{TENANT}/app{a}" for a in range(500)]
        nodes = [{"key": h, "kind": "host", "name": h[5:], "authority": h.split(".", 1)[1], "attributes": {}}
                 for h in hosts]
        nodes += [{"key": g, "kind": "group", "name": PRIVILEGED[j] if j < len(PRIVILEGED) else g.split("/")[1],
                   "authority": g.split(":")[1].split("/")[0], "attributes": {},
                   "sid": f"S-1-5-21-1-2-3-{512 if j == 0 else 10000 + j}"} for j, g in enumerate(groups)]
        nodes += [{"key": a, "kind": "application", "name": f"App {a[-3:]}", "authority": TENANT, "attributes": {}}
                  for a in apps]
        s.execute(insert(Node.__table__), nodes)

        nonpeople = [k for k, r in zip(keys, idents, strict=True) if r["kind"] != "person"]
        people = [k for k, r in zip(keys, idents, strict=True) if r["kind"] == "person"]
        gmsas = [k for k, r in zip(keys, idents, strict=True) if r["kind"] == "gmsa"]
        sps = [k for k, r in zip(keys, idents, strict=True) if r["kind"] == "service_principal"]
        mix = [("MemberOf", 0.55), ("UsesIdentity", 0.25), ("ManagedBy", 0.05), ("AppRoleAssignment", 0.04),
               ("DelegatedGrant", 0.02), ("ReadGMSAPassword", 0.02), ("AllowedToDelegate", 0.02),
               ("GenericAll", 0.02), ("GenericWrite", 0.02), ("SharesCredential", 0.005), ("WriteDacl", 0.005)]
        edges: set[tuple[str, str, str]] = set()
        attrs: dict[tuple[str, str, str], dict] = {}
        for g in range(1, 600):  # some nesting, a few groups inside the privileged ones
            edges.add((groups[g], groups[rng.randrange(0, 4) if g < 40 else rng.randrange(5000)], "MemberOf"))
        for kind, share in mix:
            for _ in range(int(n_edges * share)):
                if kind == "MemberOf":
                    e = (rng.choice(keys), groups[rng.randrange(4, 5000)], kind)
                elif kind == "UsesIdentity":
                    e = (rng.choice(hosts), rng.choice(nonpeople), kind)
                elif kind == "ManagedBy":
                    e = (rng.choice(nonpeople), rng.choice(people), kind)
                elif kind == "AppRoleAssignment":
                    e = (rng.choice(sps), rng.choice(apps), kind)
                    attrs[e] = {"roles": [rng.choice(["Mail.Send", "Sites.Read.All", "Directory.ReadWrite.All",
                                                      "User.Read.All"])]}
                elif kind == "DelegatedGrant":
                    e = (rng.choice(sps), rng.choice(apps), kind)
                    attrs[e] = {"scope": "openid User.Read Files.ReadWrite.All"}
                elif kind == "ReadGMSAPassword":
                    e = (rng.choice(groups[4:]) if rng.random() < 0.5 else rng.choice(hosts), rng.choice(gmsas), kind)
                elif kind == "AllowedToDelegate":
                    e = (rng.choice(nonpeople), rng.choice(nonpeople), kind)
                    attrs[e] = {"spn": f"MSSQLSvc/host{rng.randrange(20000):05d}.corp.example.test:1433"}
                else:
                    e = (rng.choice(nonpeople), rng.choice(nonpeople), kind)
                if e[0] != e[1]:
                    edges.add(e)
        rows = [{"src": a, "dst": b, "kind": k, "attributes": attrs.get((a, b, k)), "import_run_id": run.id,
                 "origin": "ad:bench", "source_record": "bench"} for a, b, k in edges]
        for i in range(0, len(rows), 50000):
            s.execute(insert(Edge.__table__), rows[i:i + 50000])
        creds = []
        for k, r in zip(keys, idents, strict=True):
            if r["kind"] == "service_principal":
                created = NOW - timedelta(days=rng.randint(0, 900))
                creds.append({"identity_id": ids[k], "kind": "client_secret", "credential_id": f"s-{k[-6:]}",
                              "created": created, "expires": created + timedelta(days=rng.choice([180, 365, 730])),
                              "attributes": {}, "origin": "ad:bench"})
            elif r["kind"] == "service_account":
                creds.append({"identity_id": ids[k], "kind": "password", "credential_id": "password",
                              "created": r["password_last_set"], "expires": None, "attributes": {},
                              "origin": "ad:bench"})
        s.execute(insert(Credential.__table__), creds)
        s.execute(insert(Finding.__table__), [
            {"subject": rng.choice(nonpeople), "code": "secret-in-description", "tag": "NHI2", "severity": "high",
             "message": "a password is written in the description", "origin": "ad:bench"} for _ in range(2000)])
        s.execute(insert(Sighting.__table__), [
            {"identity_id": ids[k], "import_run_id": run.id, "origin": "ad:bench", "source_kind": "ldif",
             "source_record": f"bench:{i}",
             "payload": {"sAMAccountName": k.split("/")[1], "description": "runs a job",
                         **({"profilePath": r"\\fs\p"} if i % 100 == 0 else {})}}
            for i, k in enumerate(keys)])


def baseline_scan(store) -> int:
    """Read the same columns of the same rows and touch each one: the cost of merely looking."""
    touched = 0
    with store.session() as s:
        for table, cols in ((Identity, (Identity.id, Identity.key, Identity.kind, Identity.name, Identity.authority,
                                        Identity.enabled, Identity.created, Identity.last_used,
                                        Identity.password_last_set, Identity.flags, Identity.spns, Identity.upn,
                                        Identity.emails, Identity.vanished, Identity.needs_review)),
                            (Node, (Node.key, Node.kind, Node.name, Node.authority, Node.sid)),
                            (Edge, (Edge.src, Edge.dst, Edge.kind, Edge.attributes)),
                            (Credential, (Credential.identity_id, Credential.kind, Credential.credential_id,
                                          Credential.created, Credential.expires, Credential.attributes)),
                            (Finding, (Finding.subject, Finding.tag, Finding.code, Finding.severity,
                                       Finding.message))):
            del table
            for row in s.execute(select(*cols)):
                touched += len(row)
    return touched


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    n_ident = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    n_edges = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        store = services.init_project(Path(tmp) / "bench.nhiplan")
        try:
            t_gen, _ = timed(lambda: generate(store, n_ident, n_edges))
            with store.session() as s:
                edges = s.query(Edge).count()
            print(f"estate: {n_ident:,} identities, {edges:,} edges (generated in {t_gen:.1f} s)")
            t_base, _ = timed(lambda: baseline_scan(store))
            with store.session() as s:
                t_rec, recs = timed(lambda: recommend_all(s, now=NOW))
            print(f"baseline (plain scan of the same rows): {t_base:6.2f} s")
            print(f"recommend_all ({len(recs):,} recommendations): {t_rec:6.2f} s"
                  f"   ratio {t_rec / t_base:5.1f}x the baseline")
            counts: dict[str | None, int] = {}
            for r in recs:
                counts[r["recommendation"]] = counts.get(r["recommendation"], 0) + 1
            print("  recommendations:", ", ".join(f"{k}: {v:,}" for k, v in sorted(counts.items(), key=str)))
            with store.session() as s, paused_gc():
                policy = default_policy()
                t_load, estate = timed(lambda: Estate(s, policy))
                splits = [r["key"] for r in recs if r["recommendation"] == "split"]
                t_split, _ = timed(lambda: [propose(estate, k) for k in splits])
                t_sel, sel = timed(lambda: select_keys(s, IdentityFilter(enabled=False, stale=True), now=NOW,
                                                      estate=estate))
            print(f"  of which loading the estate: {t_load:6.2f} s ({t_load / t_base:4.1f}x the baseline)")
            print(f"split planner for {len(splits):,} splits: {t_split:6.2f} s   ratio {t_split / t_base:5.1f}x")
            print(f"bulk selection 'stale and disabled' ({len(sel):,} found): {t_sel:6.2f} s"
                  f"   ratio {t_sel / t_base:5.1f}x")
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"peak memory: {peak:,.0f} MiB")
        finally:
            store.close()


if __name__ == "__main__":
    main()
