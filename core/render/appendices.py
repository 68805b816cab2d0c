"""The report's appendices, generated from the plan document's data.

- A. Compliance crosswalk: per decision, which OWASP Non-Human Identities Top 10
  (2025) items the plan's steps address, with the open findings per item; and
  EU AI Act Article 12 (record-keeping): whether each agent identity is
  distinct in the logs, and the log retention Articles 19(1) and 26(6) ask for.
- B. Procurement checklist for agents a vendor runs: agent-level identity
  tracking, audit-log retention and revocation, filled in with each agent's
  own name, credential and token lifetime.
- C. Credential-rotation schedule: when each rotation starts, how often, by
  what, and when old credentials end.
- D. Integrity: the plan hash and how to check it.

Only facts in the document are used (decisions, agent specs, rotations, step
phases and protocols, findings); nothing depends on which generator made a
step, so new step kinds show up without change here.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from .blocks import Checklist, Code, Section, StepRef, Table

OWASP_NHI = {
    "NHI1": "Improper Offboarding",
    "NHI2": "Secret Leakage",
    "NHI3": "Vulnerable Third-Party NHI",
    "NHI4": "Insecure Authentication",
    "NHI5": "Overprivileged NHI",
    "NHI6": "Insecure Cloud Deployment Configurations",
    "NHI7": "Long-Lived Secrets",
    "NHI8": "Environment Isolation",
    "NHI9": "NHI Reuse",
    "NHI10": "Human Use of NHI",
}
STRONG_CREDENTIALS = ("private_key_jwt", "mtls", "federated")
# Articles 19(1) and 26(6): logs are kept for at least six months.
RETENTION_DAYS = 183
# Identity kinds that are often run by a third party (NHI3): a vendor's app or agent.
VENDOR_KINDS = ("agent", "service_principal")
ADDRESSED, PARTLY, OPEN, NA = "Addressed", "Partly", "Not addressed", "—"
_UNIT_DAYS = {"s": 1 / 86400, "m": 1 / 1440, "h": 1 / 24, "d": 1, "w": 7}


def nhi_label(tag: str) -> str:
    name = OWASP_NHI.get(tag)
    return f"{tag} {name}" if name else tag


def duration_days(text: str) -> float | None:
    m = re.fullmatch(r"(\d+)([smhdw])", text or "")
    return int(m.group(1)) * _UNIT_DAYS[m.group(2)] if m else None


def agents_by_identity(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each identity's agents: the decision's agent specs, plus agents that only steps name.

    A split decided without agent specs still gets agents (the builder names them
    after the consumers); the document knows them only from the steps' `agent`.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for ident in doc.get("identities") or []:
        out[ident["key"]] = [dict(a) for a in ident.get("agents") or []]
    for s in doc.get("steps") or []:
        name = s.get("agent")
        if not name:
            continue
        agents = out.setdefault(s.get("identity", ""), [])
        if all(a.get("name") != name for a in agents):
            agents.append({"name": name})
    return out


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _v(count: int, singular: str, plural: str) -> str:
    """The verb that agrees with a count: 1 agent uses, 2 agents use."""
    return singular if count == 1 else plural


class _Facts:
    """Indexes of the document the appendices read."""

    def __init__(self, doc: dict[str, Any]):
        self.doc = doc
        self.identities = list(doc.get("identities") or [])
        self.steps = list(doc.get("steps") or [])
        self.findings = list(doc.get("findings") or [])
        self.watch = str((doc.get("options") or {}).get("watch_period") or "")
        self.steps_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for s in self.steps:
            self.steps_of[s.get("identity", "")].append(s)
        self.agents_of = agents_by_identity(doc)
        self.by_decision: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for i in self.identities:
            self.by_decision[str(i.get("decision"))].append(i)

    def agents(self, idents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [a for i in idents for a in self.agents_of.get(i["key"], [])]

    def has_phase(self, ident: dict[str, Any], phase: str) -> bool:
        return any(s.get("phase") == phase for s in self.steps_of[ident["key"]])

    def has_protocol(self, ident: dict[str, Any], protocol: str) -> bool:
        return any(s.get("protocol") == protocol for s in self.steps_of[ident["key"]])

    def first_step(self, ident: dict[str, Any], *, phase: str | None = None, protocol: str | None = None,
                   agent: str | None = None) -> dict[str, Any] | None:
        for s in self.steps_of[ident["key"]]:
            if phase and s.get("phase") != phase:
                continue
            if protocol and s.get("protocol") != protocol:
                continue
            if agent is not None and s.get("agent") != agent:
                continue
            return s
        return None


def build(doc: dict[str, Any]) -> list[Section]:
    facts = _Facts(doc)
    return [_crosswalk(facts), _procurement(facts), _rotation(facts), _integrity(doc)]


# -- A. compliance crosswalk -----------------------------------------------------------------

def _cell(status: str, detail: str) -> str:
    return f"{status}: {detail}"


def _split_cells(f: _Facts) -> dict[str, str]:
    idents = f.by_decision.get("split", [])
    if not idents:
        return {}
    agents = f.agents(idents)
    n, a = len(idents), len(agents)
    strong = [x for x in agents if x.get("credential") in STRONG_CREDENTIALS]
    secret = sum(1 for x in agents if x.get("credential") == "client_secret")
    unstated = a - len(strong) - secret
    scoped = [x for x in agents if x.get("scopes")]
    federated = [x for x in agents if x.get("credential") == "federated"]
    obo = [x for x in agents if x.get("delegation") == "on-behalf-of"]
    offboarded = [i for i in idents if f.has_phase(i, "decommission")]
    detected = [i for i in idents if f.has_protocol(i, "detection")]
    lifetimes = sorted({str(x.get("lifetime")) for x in agents if x.get("lifetime")},
                       key=lambda t: duration_days(t) or 0)
    life = (lifetimes[0] if len(lifetimes) == 1 else f"{lifetimes[0]} to {lifetimes[-1]}") if lifetimes else ""
    credentials = sorted({str(x["credential"]) for x in agents if x.get("credential")})
    caveats = "".join((f"; {secret} still {_v(secret, 'uses', 'use')} a client secret" if secret else "",
                       f"; {unstated} without a credential in the decision" if unstated else ""))
    strong_state = ADDRESSED if len(strong) == a else PARTLY
    cells = {
        "NHI1": _cell(ADDRESSED if len(offboarded) == n else PARTLY if offboarded else OPEN,
                      f"{len(offboarded)} of {_n(n, 'shared account')} disabled, then deleted after the "
                      f"{f.watch} watch period"),
        "NHI2": _cell(strong_state, f"{len(strong)} of {_n(a, 'agent')} {_v(len(strong), 'holds', 'hold')} no shared secret (private key, "
                                    f"certificate or federation){caveats}"),
        "NHI3": _cell(PARTLY, "agents a vendor runs: see the procurement checklist (Appendix B)") if a else NA,
        "NHI4": _cell(strong_state, "the password is replaced by "
                                    + (f"{', '.join(credentials)} client authentication" if credentials
                                       else "OAuth client authentication") + caveats),
        "NHI5": _cell(ADDRESSED if len(scoped) == a else PARTLY if scoped else OPEN,
                      f"{len(scoped)} of {_n(a, 'agent')} {_v(len(scoped), 'is', 'are')} granted only the listed scopes"),
        "NHI6": _cell(PARTLY, f"{_n(len(federated), 'agent')} {_v(len(federated), 'uses', 'use')} workload "
                              "federation: no stored secret in the deployment") if federated else NA,
        "NHI7": _cell(strong_state if lifetimes else PARTLY,
                      (f"tokens live {life}" if life else "token lifetimes are not set in the decisions")
                      + (f"; {secret} client secret(s) remain long-lived" if secret else "")),
        "NHI8": NA,
        "NHI9": _cell(ADDRESSED, f"{_n(n, 'shared account')} become "
                                 f"{_n(a, 'distinct agent identity', 'distinct agent identities')}"),
        # Neither measure stops a person from using an agent's credential, so at best this is partial.
        "NHI10": _cell(PARTLY if (obo or detected) else OPEN,
                       "; ".join(p for p in (
                           f"{_n(len(obo), 'agent')} {_v(len(obo), 'acts', 'act')} on behalf of users with token "
                           "exchange, so the token names both the user and the agent" if obo else "",
                           f"use of {len(detected)} old account(s) after cutover raises an alert" if detected else "",
                       ) if p) or "no step separates human from agent use"),
    }
    return cells


def _keep_cells(f: _Facts) -> dict[str, str]:
    idents = f.by_decision.get("keep", [])
    if not idents:
        return {}
    n = len(idents)
    rotated = [i for i in idents if f.has_protocol(i, "rotation") or i.get("rotation")]
    vias = sorted({str(i["rotation"].get("via")) for i in idents if i.get("rotation")})
    everys = sorted({str(i["rotation"].get("every")) for i in idents if i.get("rotation")},
                    key=lambda t: duration_days(t) or 0)
    shared = [i for i in idents if len(i.get("consumers") or []) > 1]
    vendor = [i for i in idents if i.get("kind") in VENDOR_KINDS]
    every = (everys[0] if len(everys) == 1 else f"{everys[0]} to {everys[-1]}") if everys else ""
    return {
        "NHI1": _cell(OPEN, f"{_n(n, 'account')} {_v(n, 'stays', 'stay')}; owners and consumers are confirmed"),
        "NHI2": _cell(PARTLY if rotated else OPEN,
                      f"{len(rotated)} of {_n(n, 'credential')} handed to a rotator"
                      + (f" ({', '.join(vias)})" if vias else "") + "; consumers read it instead of a stored copy"),
        "NHI3": _cell(PARTLY, f"{_n(len(vendor), 'kept app or agent')}: see Appendix B") if vendor else NA,
        "NHI4": _cell(OPEN, "password authentication stays (rotated)"),
        "NHI5": NA,
        "NHI6": NA,
        "NHI7": _cell(ADDRESSED if len(rotated) == n else PARTLY if rotated else OPEN,
                      f"{len(rotated)} of {_n(n, 'credential')} rotated" + (f" every {every}" if every else "")),
        "NHI8": NA,
        "NHI9": _cell(OPEN, f"{_n(len(shared), 'kept account')} still {_v(len(shared), 'serves', 'serve')} several consumers") if shared else NA,
        "NHI10": NA,
    }


def _retire_cells(f: _Facts) -> dict[str, str]:
    idents = f.by_decision.get("retire", [])
    if not idents:
        return {}
    n = len(idents)
    offboarded = [i for i in idents if f.has_phase(i, "decommission")]
    detected = [i for i in idents if f.has_protocol(i, "detection")]
    state = ADDRESSED if len(offboarded) == n else PARTLY if offboarded else OPEN
    return {
        "NHI1": _cell(state, f"{len(offboarded)} of {_n(n, 'account')} disabled, then deleted after the "
                             f"{f.watch} watch period"),
        "NHI2": _cell(state, "their credentials stop working when the accounts are disabled"),
        "NHI3": NA,
        "NHI4": _cell(state, "password accounts removed"),
        "NHI5": _cell(state, "their privileges go with the accounts"),
        "NHI6": NA,
        "NHI7": _cell(state, "their long-lived passwords end"),
        "NHI8": NA,
        "NHI9": NA,
        "NHI10": _cell(PARTLY, f"any use of {len(detected)} retired account(s) raises an alert") if detected else NA,
    }


def _crosswalk(f: _Facts) -> Section:
    sec = Section("Appendix A. Compliance crosswalk", "appendix-compliance", [
        "What this plan's decisions contribute to two frameworks, computed from the decisions, the agent "
        "specifications and the steps. It supports an assessment; it is not a legal opinion."])
    columns = {"split": _split_cells(f), "keep": _keep_cells(f), "retire": _retire_cells(f)}
    present = [d for d in ("split", "keep", "retire") if columns[d]]
    open_by_tag = Counter(str(x.get("tag")) for x in f.findings)
    owasp = Section("A.1 OWASP Non-Human Identities Top 10 (2025)", "appendix-owasp", [
        "Per decision: whether the plan addresses each risk, and how. The last column counts the plan's open "
        "findings tagged with the risk."])
    if present:
        rows = []
        for tag, name in OWASP_NHI.items():
            rows.append([f"{tag} {name}", *[columns[d][tag] for d in present], str(open_by_tag.get(tag, 0))])
        owasp.add(Table(["Risk", *[f"{d.capitalize()} ({len(f.by_decision[d])})" for d in present],
                         "Findings"], rows, [2, *[3] * len(present), 1.3]))
    else:
        owasp.add("No identity is decided; nothing is addressed yet.")
    other = sorted(t for t in open_by_tag if t not in OWASP_NHI)
    if other:
        owasp.add("Findings with other tags: " + ", ".join(f"{t} ({open_by_tag[t]})" for t in other) + ".")
    sec.add(owasp)

    eu = Section("A.2 EU AI Act, Article 12 (record-keeping)", "appendix-eu-ai-act", [
        "Article 12 asks high-risk AI systems to record events automatically over their lifetime, so that what "
        "the system did can be traced. For the identities in this plan that means each agent must be "
        "distinguishable in the logs, and the logs must be kept."])
    rows = []
    for ident in f.identities:
        decision = str(ident.get("decision"))
        agents = f.agents_of.get(ident["key"], [])
        consumers = ident.get("consumers") or []
        if decision == "split":
            who: Any = tuple(Code(str(a.get("name"))) for a in agents) or "its agent identities"
            obo = [a for a in agents if a.get("delegation") == "on-behalf-of"]
            distinct = "Yes: one identity per agent" + ("; tokens for users also name the user (act claim)"
                                                       if obo else "")
            evidence: Any = tuple(StepRef(s["id"]) for s in f.steps_of[ident["key"]] if s.get("phase") == "cutover")
        elif decision == "keep":
            who = Code(str(ident.get("name")))
            distinct = (f"No: {len(consumers)} workloads share one account" if len(consumers) > 1
                        else "One workload, one account; not an agent identity")
            evidence = tuple(StepRef(s["id"]) for s in f.steps_of[ident["key"]] if s.get("phase") == "verify")
        else:
            who, distinct, evidence = "— (removed)", "Not applicable", ()
        rows.append([str(ident.get("name")), decision.capitalize(), who, distinct, evidence or "—"])
    if rows:
        eu.add(Table(["Identity", "Decision", "Acts in the logs as", "Distinct per agent", "Checked by"], rows,
                     [1.6, 1.1, 1.8, 2.7, 3], "Each agent identity distinct in the logs"))
    agents = f.agents(f.identities)
    watch_days = duration_days(f.watch)
    retention = (f"Articles 19(1) and 26(6) ask providers and deployers of high-risk AI systems to keep these "
                 f"logs for at least six months. Set the retention of the identity provider's sign-in and audit "
                 f"logs for the {_n(len(agents), 'agent identity', 'agent identities')} of this plan to at least "
                 f"{RETENTION_DAYS} days and record it in the change ticket.")
    if watch_days is not None and watch_days < RETENTION_DAYS:
        retention += (f" The plan watches old accounts for {f.watch}; that watch period is not a log retention "
                      "and does not meet the requirement by itself.")
    eu.add(retention)
    sec.add(eu)
    return sec


# -- B. procurement checklist ----------------------------------------------------------------

def _procurement(f: _Facts) -> Section:
    sec = Section("Appendix B. Procurement checklist for vendor-run agents", "appendix-procurement", [
        "For every agent that a vendor or SaaS product runs for you, obtain these commitments in the contract "
        "before its cutover step. Each row is filled in with what this plan sets up for the agent."])
    sec.add(Checklist([
        "Agent-level identity tracking: every request of the agent authenticates as the agent's own client, "
        "never as a shared integration account, and carries a correlation id the vendor logs.",
        "Acting for a user: the token names both the user and the agent (OAuth token exchange, RFC 8693, "
        "act claim), so that the user's and the agent's actions can be told apart.",
        f"Audit-log retention: the vendor keeps the agent's audit log at least six months ({RETENTION_DAYS} "
        "days), names the agent in each entry, and hands it over on request in a documented format.",
        "Revocation: you can revoke one agent's credential without affecting the others, and the vendor stops "
        "the agent within the token lifetime; the vendor tells you within 24 hours of a suspected compromise.",
        "Least privilege: the agent works with only the scopes listed below; a new scope is a change request.",
    ]))
    rows = []
    for ident in f.identities:
        agents = f.agents_of.get(ident["key"], [])
        for a in agents:
            name = str(a.get("name"))
            step = (f.first_step(ident, phase="cutover", agent=name) or f.first_step(ident, agent=name))
            track = f"own client {name}" + (f" ({a['credential']})" if a.get("credential") else "")
            if a.get("delegation") == "on-behalf-of":
                track += "; acts for users: act claim"
            scopes = ", ".join(a.get("scopes") or []) or "none listed"
            rows.append([Code(name), str(ident.get("name")), track, scopes,
                         f"revoke {name} alone; effective within "
                         + (str(a["lifetime"]) if a.get("lifetime") else "its token lifetime"),
                         StepRef(step["id"]) if step else "—"])
        if not agents and ident.get("decision") == "keep" and ident.get("kind") in VENDOR_KINDS:
            step = f.first_step(ident, phase="cutover") or f.first_step(ident)
            rows.append([Code(str(ident.get("name"))), "— (kept)", f"own {ident.get('kind')}", "as granted today",
                         "revoke its credential alone", StepRef(step["id"]) if step else "—"])
    if rows:
        sec.add(Table(["Agent", "Replaces", "Identity tracking", "Scopes", "Revocation", "Agree before"], rows,
                      [1.6, 1.2, 2.2, 1.8, 2, 2.6], "Per agent"))
    else:
        sec.add("This plan creates no agent identity and keeps no third-party app: nothing to procure.")
    return sec


# -- C. credential-rotation schedule ---------------------------------------------------------

def _rotation(f: _Facts) -> Section:
    sec = Section("Appendix C. Credential-rotation schedule", "appendix-rotation", [
        "When each new or kept credential starts, how long it lives or how often it is rotated, and when the "
        "old credentials end."])
    rows: list[tuple[int, str, list[Any]]] = []
    for ident in f.identities:
        name = str(ident.get("name"))
        for a in f.agents_of.get(ident["key"], []):
            agent = str(a.get("name"))
            step = f.first_step(ident, phase="credential", agent=agent) or f.first_step(ident, agent=agent)
            wave = int(step.get("wave", 0)) if step else 0
            rows.append((wave, agent, [str(wave or "—"), Code(agent), str(a.get("credential") or "see step"),
                                       f"tokens live {a['lifetime']}" if a.get("lifetime") else "see step",
                                       "identity provider",
                                       StepRef(step["id"]) if step else "—",
                                       str(a.get("owner") or (step or {}).get("owner") or "—")]))
        if ident.get("decision") == "keep":
            rot = ident.get("rotation") or {}
            step = f.first_step(ident, protocol="rotation") or f.first_step(ident, phase="credential")
            wave = int(step.get("wave", 0)) if step else 0
            every = f"every {rot['every']}" if rot.get("every") else ("see step" if step else "not planned")
            rows.append((wave, name, [str(wave or "—"), Code(name), "account credential", every,
                                      str(rot.get("via") or "—"), StepRef(step["id"]) if step else "—",
                                      str(ident.get("owner") or (step or {}).get("owner") or "—")]))
    rows.sort(key=lambda r: (r[0] or 10**9, r[1]))
    if rows:
        sec.add(Table(["Wave", "Identity / agent", "Credential", "Lifetime / rotation", "Via", "Step", "Owner"],
                      [r[2] for r in rows], [0.7, 1.8, 1.5, 1.6, 1.2, 3, 1.2], "New and rotated credentials"))
    else:
        sec.add("No credential is created or rotated by this plan.")

    ends = []
    for ident in f.identities:
        if ident.get("decision") not in ("split", "retire"):
            continue
        step = f.first_step(ident, phase="decommission")
        if step:
            ends.append((int(step.get("wave", 0)), str(ident.get("name")),
                         [str(step.get("wave")), Code(str(ident.get("name"))), str(ident.get("decision")).capitalize(),
                          StepRef(step["id"]), str(step.get("owner") or "—")]))
    ends.sort(key=lambda r: (r[0], r[1]))
    if ends:
        sec.add(Table(["Wave", "Account", "Decision", "Step", "Owner"], [r[2] for r in ends],
                      [0.7, 2, 1, 3.5, 1.5], "Old credentials that end"))
    return sec


# -- D. integrity ----------------------------------------------------------------------------

def _integrity(doc: dict[str, Any]) -> Section:
    integrity = doc.get("integrity") or {}
    gen = doc.get("generated_from") or {}
    sec = Section("Appendix D. Integrity", "appendix-integrity", [
        "Every export of this plan (YAML, Markdown, HTML, PDF, CSV) carries the same plan hash. The YAML file is "
        "the canonical record: run “nhiplan verify PLAN.yaml” to prove it unchanged since export, and "
        "“nhiplan diff OLD.yaml NEW.yaml” to compare it with the version approved last time."])
    sec.add(Table(["Field", "Value"], [
        ["Plan hash (SHA-256)", Code(str(integrity.get("sha256") or "—"))],
        ["Method", str(integrity.get("method") or "—")],
        ["Inventory", Code(str(gen.get("inventory") or "—"))],
        ["Decisions", Code(str(gen.get("decisions") or "—"))],
        ["Schema", Code(str(doc.get("schema") or "—"))],
    ], [1.3, 5]))
    return sec


__all__ = ["OWASP_NHI", "RETENTION_DAYS", "build", "duration_days", "nhi_label"]
