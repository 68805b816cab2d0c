"""Plans for the export tests: a hand-built golden plan and a board-sized estate run through core.

- `golden_plan()` builds a Plan directly from the playbook's data types, so the
  golden files change only when a renderer changes, not when a step generator
  (another part of the code) rewords a step. It still covers everything a
  renderer must handle: split with two agents (one acting for users, one with a
  client secret), keep with rotation, retire, a cycle note, findings, a logo
  and text that must be escaped (markup, backticks, formula-looking cells,
  non-Latin script).
- `board_estate(store)` imports eleven identities with core.services.import_records
  and decides them with core.services.decide, so the real builder makes the plan.
"""

from __future__ import annotations

import base64
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from nhiplan.core import services
from nhiplan.core.playbook.model import Artifact, Plan, PlanFinding, Step, Wave
from nhiplan.core.records import CredentialRecord, EdgeRecord, FindingRecord, IdentityRecord, NodeRecord

GOLDEN_OPTIONS = {"author": "Jana Nováková", "version": "2.1 <draft>", "date": "2025-06-30"}

# A 4x2 PNG, written as a file when a test needs a logo.
LOGO_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAACCAIAAADwyuo0AAAAEklEQVR4nGOU9+thgAEmBiQAABc5AP38HvOtAAAAAElFTkSuQmCC")


def write_logo(folder: Path) -> Path:
    path = folder / "logo.png"
    path.write_bytes(LOGO_PNG)
    return path


def _step(sid: str, identity: str, kind: str, phase: str, protocol: str, title: str, risk: str, wave: int,
          depends: list[tuple[str, str]] | None = None, agent: str | None = None, owner: str = "IAM team",
          artifacts: list[Artifact] | None = None, description: str = "") -> Step:
    depends = depends or []
    return Step(id=sid, identity=identity, kind=kind, phase=phase, protocol=protocol, title=title,
                description=description or f"{title}.", owner=owner, risk=risk,
                verification=f"Checked: {title.lower()}.", rollback=f"Undo: {title.lower()}.", agent=agent,
                wave=wave, depends_on=[d for d, _ in depends], because=[b for _, b in depends],
                artifacts=artifacts or [])


def golden_plan() -> Plan:
    web, sql, old = "corp.example/svc_web", "corp.example/svc_sql", "corp.example/svc_old"
    registration = Artifact("rfc7591-registration", "application/json",
                            '{\n  "client_name": "orders-agent",\n  "scope": "orders.read orders.write"\n}\n',
                            "POST to the registration endpoint (RFC 7591)")
    tricky = Artifact("powershell", "text/x-powershell",
                      "# a ``` fence and </details> <script>alert(1)</script> inside\n"
                      "Get-ADUser -Identity 'svc_web' | Set-ADUser -Description \"moved\"\n",
                      "Script with ``` and <markup>")
    steps = [
        _step(f"{old}#prepare", old, "prepare", "prepare", "directory", "Confirm owner of svc_old", "low", 1),
        _step(f"{sql}#prepare", sql, "prepare", "prepare", "directory", "Confirm owner of svc_sql", "low", 1,
              owner="Zoë Ångström"),
        _step(f"{web}#prepare", web, "prepare", "prepare", "directory", "Confirm owner of svc_web", "low", 1,
              artifacts=[tricky],
              description="=HYPERLINK(\"http://evil.example\") is what a formula cell looks like; "
                          "*stars*, _underscores_ and | pipes stay text."),
        _step(f"{old}#disable", old, "disable", "decommission", "directory", "Disable svc_old", "medium", 2,
              [(f"{old}#prepare", "prepare of the same account comes first")]),
        _step(f"{sql}#rotation", sql, "rotation", "credential", "rotation", "Rotate svc_sql every 30d via vault",
              "low", 2, [(f"{sql}#prepare", "prepare of the same account comes first")], owner="Zoë Ångström"),
        _step(f"{web}#provision:orders-agent", web, "provision", "provision", "oidc", "Register orders-agent",
              "low", 2, [(f"{web}#prepare", "prepare of the account comes before agent orders-agent")],
              agent="orders-agent", artifacts=[registration]),
        _step(f"{web}#provision:ci-agent", web, "provision", "provision", "oidc", "Register ci-agent", "low", 2,
              [(f"{web}#prepare", "prepare of the account comes before agent ci-agent")], agent="ci-agent"),
        _step(f"{web}#cutover:orders-agent", web, "cutover", "cutover", "oidc",
              "Move web01 from svc_web to orders-agent", "high", 3,
              [(f"{web}#provision:orders-agent", "provision of agent orders-agent comes first"),
               (f"{sql}#rotation", "svc_web delegates to svc_sql (AllowedToDelegate)")], agent="orders-agent"),
        _step(f"{web}#cutover:ci-agent", web, "cutover", "cutover", "oidc", "Move ci01 from svc_web to ci-agent",
              "high", 3, [(f"{web}#provision:ci-agent", "provision of agent ci-agent comes first")],
              agent="ci-agent"),
        _step(f"{web}#detect", web, "detect", "verify", "detection", "Alert if svc_web authenticates", "low", 4,
              [(f"{web}#cutover:orders-agent", "every consumer is moved first"),
               (f"{web}#cutover:ci-agent", "every consumer is moved first")], owner="Security operations"),
        _step(f"{web}#disable", web, "disable", "decommission", "directory", "Disable svc_web", "high", 5,
              [(f"{web}#detect", "detect of the same account comes first")]),
    ]
    waves: dict[int, list[Step]] = {}
    for s in steps:
        waves.setdefault(s.wave, []).append(s)
    wave_list = [Wave(n, [s.id for s in ss], sorted({s.identity for s in ss}),
                      "moved together (dependency cycle): svc_old, svc_sql" if n == 2 else "")
                 for n, ss in sorted(waves.items())]
    identities = [
        {"key": old, "name": "svc_old", "kind": "service_account", "authority": "corp.example", "decision": "retire",
         "reason": "stale since 2019", "consumers": [], "owner": None},
        {"key": sql, "name": "svc_sql", "kind": "service_account", "authority": "corp.example", "decision": "keep",
         "reason": "one workload, no agent", "consumers": ["sql01.corp.example"], "owner": "Zoë Ångström",
         "rotation": {"every": "30d", "via": "vault"}},
        {"key": web, "name": "svc_web", "kind": "service_account", "authority": "corp.example", "decision": "split",
         "reason": "shared by the web shop and the CI", "consumers": ["web01.corp.example", "ci01.corp.example"],
         "owner": None,
         "agents": [
             {"name": "orders-agent", "purpose": "places orders for signed-in customers", "delegation": "on-behalf-of",
              "action_classes": ["read", "write"], "scopes": ["orders.read", "orders.write"],
              "credential": "private_key_jwt", "lifetime": "15m", "owner": None, "consumers": ["web01.corp.example"]},
             {"name": "ci-agent", "purpose": "deploys the shop", "delegation": "autonomous", "action_classes": ["admin"],
              "scopes": [], "credential": "client_secret", "lifetime": "1h", "owner": "Build team",
              "consumers": ["ci01.corp.example"]},
         ]},
    ]
    findings = [
        PlanFinding("dependency-cycle:svc_old,svc_sql", old, "dependency-cycle", "NHI9", "high",
                    "svc_old, svc_sql depend on each other in a cycle; they move together."),
        PlanFinding("client-secret:svc_web:ci-agent", web, "agent-client-secret", "NHI7", "medium",
                    "agent ci-agent of svc_web uses a client secret; prefer private_key_jwt, mTLS or federation."),
        PlanFinding("secret-in-data:svc_old", old, "secret-in-data", "NHI2", "high",
                    "a password was written in the description attribute"),
    ]
    risk = Counter(s.risk for s in steps)
    summary = {
        "identities": 4, "decisions": {"split": 1, "keep": 1, "retire": 1, "undecided": 1},
        "agents": 2, "waves": len(wave_list), "steps": len(steps),
        "risk": {r: risk.get(r, 0) for r in ("high", "medium", "low")}, "findings": len(findings),
    }
    return Plan(
        project={"name": "Webshop moves", "client": "Nordwind Lüftung GmbH — Київ"},
        generated_from={"inventory": "sha256:" + "1" * 64, "decisions": "sha256:" + "2" * 64},
        options={"target": "generic", "watch_period": "30d"},
        identities=identities, waves=wave_list, steps=steps, findings=findings, summary=summary,
    )


# -- a board-sized estate through the real core ----------------------------------------------

DOMAIN = "corp.nordwind.test"
BASE = "DC=corp,DC=nordwind,DC=test"


def _dn(name: str) -> str:
    return f"dn:cn={name.lower()},ou=svc,dc=corp,dc=nordwind,dc=test"


def _account(name: str, line: int, **kw) -> IdentityRecord:
    return IdentityRecord(ref=_dn(name), kind=kw.pop("kind", "service_account"), name=name, authority=DOMAIN,
                          source_record=f"board.ldif:{line}", dn=f"CN={name},OU=svc,{BASE}",
                          enabled=kw.pop("enabled", True), **kw)


def _host(name: str, line: int) -> NodeRecord:
    return NodeRecord(ref=f"host:{name}", kind="host", name=name, authority=DOMAIN, source_record=f"board.ldif:{line}")


def board_records() -> list:
    accounts = [
        _account("svc_web", 10, spns=["HTTP/web01.corp.nordwind.test"], flags=["TRUSTED_TO_AUTH_FOR_DELEGATION"]),
        _account("svc_sql", 20, spns=["MSSQLSvc/sql01.corp.nordwind.test:1433"],
                 password_last_set=datetime(2020, 1, 1, tzinfo=UTC)),
        _account("svc_report", 30, spns=["HTTP/rpt01.corp.nordwind.test"]),
        _account("svc_backup", 40),
        _account("svc_ftp_old", 50, enabled=False, last_used=datetime(2019, 3, 4, 10, tzinfo=UTC)),
        _account("svc_crm_legacy", 60),
        _account("svc_etl", 70),
        _account("svc_ci", 80),
        _account("svc_a", 90),
        _account("svc_b", 100),
        _account("svc_monitor", 110),
        _account("gmsa_print$", 120, kind="gmsa"),
        _account("alice", 130, kind="person", upn="alice@nordwind.test", emails=["alice@nordwind.test"]),
    ]
    hosts = ["web01", "web02", "sql01", "rpt01", "etl01", "etl02", "ci01", "bak01", "print01"]
    nodes = [_host(f"{h}.{DOMAIN}", 200 + i) for i, h in enumerate(hosts)]
    nodes.append(NodeRecord(ref="dn:cn=reporting,ou=groups,dc=corp,dc=nordwind,dc=test", kind="group",
                            name="Reporting", authority=DOMAIN, source_record="board.ldif:300"))
    uses = [("web01", "svc_web"), ("web02", "svc_web"), ("sql01", "svc_sql"), ("rpt01", "svc_report"),
            ("etl01", "svc_etl"), ("etl02", "svc_etl"), ("ci01", "svc_ci"), ("bak01", "svc_backup"),
            ("print01", "gmsa_print$")]
    edges = [EdgeRecord(f"host:{h}.{DOMAIN}", _dn(a), "UsesIdentity", f"board.ldif:{400 + i}")
             for i, (h, a) in enumerate(uses)]
    edges += [
        EdgeRecord(_dn("svc_web"), _dn("svc_sql"), "AllowedToDelegate", "board.ldif:10"),
        EdgeRecord(_dn("svc_web"), _dn("svc_monitor"), "AllowedToDelegate", "board.ldif:10"),
        EdgeRecord(_dn("svc_report"), "dn:cn=reporting,ou=groups,dc=corp,dc=nordwind,dc=test", "MemberOf",
                   "board.ldif:30"),
        EdgeRecord(_dn("svc_a"), _dn("svc_b"), "AllowedToDelegate", "board.ldif:90"),
        EdgeRecord(_dn("svc_b"), _dn("svc_a"), "AllowedToDelegate", "board.ldif:100"),
        EdgeRecord(_dn("svc_etl"), _dn("svc_crm_legacy"), "AllowedToDelegate", "board.ldif:70"),
        EdgeRecord(_dn("svc_sql"), _dn("alice"), "ManagedBy", "board.ldif:20"),
    ]
    creds = [CredentialRecord(_dn("svc_sql"), "password", "password", "board.ldif:20",
                              created=datetime(2020, 1, 1, tzinfo=UTC))]
    findings = [FindingRecord(_dn("svc_crm_legacy"), "secret-in-data", "NHI2", "high",
                              "a password was written in the description attribute", "board.ldif:60")]
    return accounts + nodes + edges + creds + findings


BOARD_DECISIONS = [
    ("svc_web", "split", "the web shop and the search service share it", [
        {"name": "web-orders-agent", "purpose": "places orders for signed-in customers", "delegation": "on-behalf-of",
         "action_classes": ["read", "write"], "scopes": ["orders.read", "orders.write"],
         "credential": "private_key_jwt", "lifetime": "15m", "consumers": ["web01.corp.nordwind.test"]},
        {"name": "web-search-agent", "purpose": "indexes the catalogue", "action_classes": ["read"],
         "scopes": ["catalogue.read"], "credential": "mtls", "lifetime": "1h",
         "consumers": ["web02.corp.nordwind.test"]},
    ], None),
    ("svc_sql", "keep", "one workload; SQL Server needs a service account", None, {"every": "30d", "via": "vault"}),
    ("svc_report", "split", "nightly reporting runs unattended", [
        {"name": "report-nightly-agent", "purpose": "nightly reports", "action_classes": ["read"],
         "scopes": ["reports.read"], "credential": "federated", "lifetime": "15m",
         "consumers": ["rpt01.corp.nordwind.test"]},
    ], None),
    ("svc_backup", "keep", "backup software supports only a password", None, {"every": "7d", "via": "vault"}),
    ("svc_ftp_old", "retire", "disabled since 2019", None, None),
    ("svc_crm_legacy", "retire", "the CRM was replaced; a password is in its description", None, None),
    ("svc_etl", "split", "two ETL hosts share it", None, None),
    ("svc_ci", "split", "CI deploys with it", [
        {"name": "ci-deploy-agent", "purpose": "deploys releases", "action_classes": ["admin"],
         "scopes": ["deploy"], "credential": "client_secret", "lifetime": "1h", "owner": "Build team",
         "consumers": ["ci01.corp.nordwind.test"]},
    ], None),
    ("svc_a", "split", "cycle with svc_b", None, None),
    ("svc_b", "keep", "cycle with svc_a", None, {"every": "30d", "via": "vault"}),
    ("gmsa_print$", "keep", "a gMSA already rotates", None, {"every": "30d", "via": "gmsa"}),
]


def board_estate(store) -> None:
    """Import the board estate and decide all but svc_monitor (left undecided on purpose)."""
    services.import_records(store, [board_records()], source_kind="ldif", family="ad", source="board.ldif")
    for name, decision, reason, agents, rotation in BOARD_DECISIONS:
        services.decide(store, name, decision, reason, agents=agents, rotation=rotation, author="tester")
