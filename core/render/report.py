"""The board report's content, computed once from the plan document.

`build_report(doc, options)` turns the canonical plan document (never the
store) and the export options (author, logo, version, date) into a `Report`:
cover facts, an executive summary, the decision register, one view per wave
with its steps, the findings and the appendices. The Markdown, HTML and PDF
writers draw this same Report, so every format carries the same content and
the same plan hash.

Everything here is generic over step kinds, protocols and artifact kinds: a
step is shown by its fields, whatever generator made it.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ..errors import BadInput
from . import appendices
from .blocks import Badge, Code, Section, StepRef, Table, step_anchor

DEFAULT_TITLE = "Migration plan: service accounts to agent identities"
RISK_ORDER = {"high": 0, "medium": 1, "low": 2}
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
SUMMARY_TOP = 10
LOGO_MAX_BYTES = 2 * 1024 * 1024
OPTION_KEYS = ("author", "logo", "version", "date", "title")

DECISION_MEANING = {
    "split": "replaced by one identity per agent, then disabled and deleted",
    "keep": "kept as a service account, its credential under rotation",
    "retire": "disabled, watched, then deleted",
    "undecided": "no decision yet: not in this plan",
}


# -- options ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Logo:
    data: bytes
    mime: str  # image/png, image/jpeg, image/gif or image/svg+xml
    source: str

    @property
    def extension(self) -> str:
        return {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/svg+xml": "svg"}[self.mime]


@dataclass(frozen=True)
class RenderOptions:
    """What the exporter adds to the plan: who wrote it, for which version, when, with whose logo."""

    author: str = ""
    version: str = ""
    date: str = ""  # YYYY-MM-DD
    title: str = DEFAULT_TITLE
    logo: Logo | None = None

    @classmethod
    def from_mapping(cls, options: dict[str, Any] | None) -> RenderOptions:
        options = dict(options or {})
        unknown = sorted(set(options) - set(OPTION_KEYS))
        if unknown:
            raise BadInput("export options", f"unknown option(s): {', '.join(unknown)}")
        when = str(options.get("date") or "") or default_date()
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", when):
            raise BadInput("--date", f"{when!r} is not a date like 2025-06-30")
        try:
            date.fromisoformat(when)
        except ValueError:
            raise BadInput("--date", f"{when!r} is not a calendar date") from None
        logo = load_logo(Path(options["logo"])) if options.get("logo") else None
        return cls(author=str(options.get("author") or ""), version=str(options.get("version") or ""),
                   date=when, title=str(options.get("title") or DEFAULT_TITLE), logo=logo)


def default_date() -> str:
    """Today (UTC), or the day of SOURCE_DATE_EPOCH so that builds can be reproduced."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC).date().isoformat()
    return datetime.now(UTC).date().isoformat()


def load_logo(path: Path) -> Logo:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(str(path), "logo: no such file") from None
    except OSError as exc:
        raise BadInput(str(path), f"logo: cannot read: {exc.strerror or exc}") from None
    if len(data) > LOGO_MAX_BYTES:
        raise BadInput(str(path), f"logo: {len(data)} bytes; at most {LOGO_MAX_BYTES} (2 MiB) are embedded")
    mime = image_type(data)
    if mime is None:
        raise BadInput(str(path), "logo: not a PNG, JPEG, GIF or SVG image")
    return Logo(data, mime, str(path))


def image_type(data: bytes) -> str | None:
    """The media type from the file's first bytes (the name's suffix may lie)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if (head.startswith(b"<svg") or head.startswith(b"<?xml") or head.startswith(b"<!--")) and b"<svg" in head:
        return "image/svg+xml"
    return None


# -- the report ------------------------------------------------------------------------------

@dataclass
class Meta:
    title: str
    client: str
    project: str
    author: str
    version: str
    date: str
    plan_hash: str
    integrity_method: str
    inventory_hash: str
    decisions_hash: str
    target: str
    watch_period: str
    logo: Logo | None

    def facts(self) -> list[tuple[str, str]]:
        """The cover page's label/value pairs, in order; empty values left out."""
        pairs = [("Client", self.client), ("Project", self.project), ("Author", self.author),
                 ("Version", self.version), ("Date", self.date), ("Target platform", self.target),
                 ("Watch period", self.watch_period)]
        return [(k, v) for k, v in pairs if v]


@dataclass
class Reason:
    """Why a step comes where it does: one step it waits for, and why."""

    step_id: str
    title: str
    wave: int | None
    because: str

    @property
    def ref(self) -> StepRef:
        return StepRef(self.step_id)


@dataclass
class StepView:
    id: str
    anchor: str
    title: str
    wave: int
    identity: str
    identity_name: str
    decision: str
    agent: str
    phase: str
    protocol: str
    kind: str
    owner: str
    risk: str
    description: str
    reasons: list[Reason]
    verification: str
    rollback: str
    artifacts: list[dict[str, Any]]

    @property
    def subject(self) -> str:
        """Whose step it is, as a reader names it."""
        return f"{self.identity_name} → {self.agent}" if self.agent else self.identity_name

    def position_text(self) -> str:
        """Why the step comes here when it waits for nothing."""
        if self.reasons:
            return ""
        if self.wave <= 1:
            return "No prerequisite: it can start when the change opens."
        return ("No prerequisite of its own: it moves in this wave together with the other accounts of its "
                "group (see the wave's note).")


@dataclass
class WaveView:
    number: int
    anchor: str
    title: str
    note: str
    steps: list[StepView]
    identity_names: list[str]

    def risk_counts(self) -> dict[str, int]:
        counts = Counter(s.risk for s in self.steps)
        return {r: counts.get(r, 0) for r in RISK_ORDER}

    def headline(self) -> str:
        r = self.risk_counts()
        return (f"{_n(len(self.steps), 'step')} for {_n(len(self.identity_names), 'identity', 'identities')}; "
                f"risk: {r['high']} high, {r['medium']} medium, {r['low']} low.")


@dataclass
class Report:
    meta: Meta
    summary: Section
    decisions: Section
    waves_section: Section  # the overview paragraph of the wave chapter
    waves: list[WaveView]
    findings: Section
    appendices: list[Section]
    step_ids: list[str] = field(default_factory=list)
    # The key numbers a reader sees first: (label, value).
    figures: list[tuple[str, str]] = field(default_factory=list)

    def toc(self) -> list[tuple[int, str, str]]:
        """(level, title, anchor) of the chapters and their subsections, in reading order."""
        out: list[tuple[int, str, str]] = []
        for sec in (self.summary, self.decisions):
            out.append((0, sec.title, sec.anchor))
        out.append((0, self.waves_section.title, self.waves_section.anchor))
        out.extend((1, w.title, w.anchor) for w in self.waves)
        out.append((0, self.findings.title, self.findings.anchor))
        for sec in self.appendices:
            out.append((0, sec.title, sec.anchor))
            out.extend((1, sub.title, sub.anchor) for sub in sec.subsections())
        return out


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def build_report(doc: dict[str, Any], options: RenderOptions) -> Report:
    project = doc.get("project") or {}
    integrity = doc.get("integrity") or {}
    gen = doc.get("generated_from") or {}
    opts = doc.get("options") or {}
    meta = Meta(
        title=options.title, client=str(project.get("client") or ""), project=str(project.get("name") or ""),
        author=options.author, version=options.version, date=options.date,
        plan_hash=str(integrity.get("sha256") or ""), integrity_method=str(integrity.get("method") or ""),
        inventory_hash=str(gen.get("inventory") or ""), decisions_hash=str(gen.get("decisions") or ""),
        target=str(opts.get("target") or ""), watch_period=str(opts.get("watch_period") or ""),
        logo=options.logo,
    )
    identities = {i["key"]: i for i in doc.get("identities") or []}
    steps_doc = doc.get("steps") or []
    by_id = {s["id"]: s for s in steps_doc}
    views = [_step_view(s, identities, by_id) for s in steps_doc]
    waves = _wave_views(doc, views, identities)
    return Report(
        meta=meta,
        summary=_summary(doc, views, waves, identities),
        decisions=_decisions(doc, identities),
        waves_section=_waves_intro(doc, waves),
        waves=waves,
        findings=_findings(doc, identities),
        appendices=appendices.build(doc),
        step_ids=[v.id for v in views],
        figures=_figures(doc, views, waves, identities),
    )


def _figures(doc: dict[str, Any], views: list[StepView], waves: list[WaveView],
             identities: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    summary = doc.get("summary") or {}
    return [
        ("Identities", str(summary.get("identities", len(identities)))),
        ("Agent identities", str(sum(len(a) for a in appendices.agents_by_identity(doc).values()))),
        ("Steps", str(len(views))),
        ("Waves", str(len(waves))),
        ("High-risk steps", str(sum(1 for v in views if v.risk == "high"))),
        ("Open findings", str(len(doc.get("findings") or []))),
    ]


def identity_name(identities: dict[str, dict[str, Any]], key: str) -> str:
    ident = identities.get(key)
    return str(ident.get("name") or key) if ident else key


def _step_view(s: dict[str, Any], identities: dict[str, dict[str, Any]], by_id: dict[str, dict[str, Any]]
               ) -> StepView:
    depends = list(s.get("depends_on") or [])
    because = list(s.get("because") or [])
    reasons = []
    for i, dep in enumerate(depends):
        other = by_id.get(dep, {})
        reasons.append(Reason(dep, str(other.get("title") or ""), other.get("wave"),
                              because[i] if i < len(because) else ""))
    ident = identities.get(s.get("identity", ""), {})
    return StepView(
        id=s["id"], anchor=step_anchor(s["id"]), title=str(s.get("title") or ""), wave=int(s.get("wave") or 0),
        identity=str(s.get("identity") or ""), identity_name=identity_name(identities, s.get("identity", "")),
        decision=str(ident.get("decision") or ""), agent=str(s.get("agent") or ""),
        phase=str(s.get("phase") or ""), protocol=str(s.get("protocol") or ""), kind=str(s.get("kind") or ""),
        owner=str(s.get("owner") or ""), risk=str(s.get("risk") or ""),
        description=str(s.get("description") or ""), reasons=reasons,
        verification=str(s.get("verification") or ""), rollback=str(s.get("rollback") or ""),
        artifacts=[dict(a) for a in s.get("artifacts") or []],
    )


def _wave_views(doc: dict[str, Any], views: list[StepView], identities: dict[str, dict[str, Any]]
                ) -> list[WaveView]:
    by_wave: dict[int, list[StepView]] = defaultdict(list)
    for v in views:
        by_wave[v.wave].append(v)
    notes = {int(w.get("wave") or 0): str(w.get("note") or "") for w in doc.get("waves") or []}
    idents = {int(w.get("wave") or 0): list(w.get("identities") or []) for w in doc.get("waves") or []}
    out = []
    for n in sorted(set(by_wave) | set(notes)):
        steps = by_wave.get(n, [])
        keys = idents.get(n) or sorted({s.identity for s in steps})
        out.append(WaveView(number=n, anchor=f"wave-{n}", title=f"Wave {n}", note=notes.get(n, ""), steps=steps,
                            identity_names=[identity_name(identities, k) for k in keys]))
    return out


def _risk_rank(v: StepView) -> tuple[int, int]:
    return (RISK_ORDER.get(v.risk, 3), v.wave)


def _summary(doc: dict[str, Any], views: list[StepView], waves: list[WaveView],
             identities: dict[str, dict[str, Any]]) -> Section:
    summary = doc.get("summary") or {}
    decisions = summary.get("decisions") or {}
    counts = {d: int(decisions.get(d, 0) or 0) for d in DECISION_MEANING}
    agents = sum(len(a) for a in appendices.agents_by_identity(doc).values())
    risk = Counter(v.risk for v in views)
    findings = doc.get("findings") or []
    client = (doc.get("project") or {}).get("client") or "the organisation"
    total = int(summary.get("identities", sum(counts.values())) or 0)

    parts = []
    if counts["split"]:
        parts.append(f"{counts['split']} {'is' if counts['split'] == 1 else 'are'} split into "
                     f"{_n(agents, 'agent identity', 'agent identities')}")
    if counts["keep"]:
        parts.append(f"{counts['keep']} {'stays a service account' if counts['keep'] == 1 else 'stay service accounts'}"
                     " with the credential under rotation")
    if counts["retire"]:
        parts.append(f"{counts['retire']} {'is' if counts['retire'] == 1 else 'are'} retired")
    if counts["undecided"]:
        parts.append(f"{counts['undecided']} {'has' if counts['undecided'] == 1 else 'have'} no decision yet and "
                     f"{'is' if counts['undecided'] == 1 else 'are'} not in this plan")
    lead = (f"This plan moves the non-human identities of {client} onto first-class agent identities. "
            f"Of {_n(total, 'identity', 'identities')}, " + (_join(parts) if parts else "none is decided")
            + ". ")
    lead += (f"The work is {_n(len(views), 'step')} in {_n(len(waves), 'wave')}: {risk.get('high', 0)} high-risk, "
             f"{risk.get('medium', 0)} medium-risk and {risk.get('low', 0)} low-risk. "
             f"{_n(len(findings), 'finding is', 'findings are')} open.")
    sec = Section("Executive summary", "summary", [lead])

    sec.add(Table(["Decision", "Identities", "What happens"],
                  [[d.capitalize(), str(counts[d]), DECISION_MEANING[d]] for d in DECISION_MEANING],
                  [1.2, 1, 4.5], "Decisions"))

    sec.add(Table(["Wave", "Steps", "Identities", "High", "Medium", "Low"],
                  [[f"Wave {w.number}", str(len(w.steps)), str(len(w.identity_names)),
                    str(w.risk_counts()["high"]), str(w.risk_counts()["medium"]), str(w.risk_counts()["low"])]
                   for w in waves],
                  [1.2, 1, 1.2, 1, 1, 1], "Waves"))

    ranked = sorted((v for v in views if v.risk in ("high", "medium")), key=_risk_rank)
    top = ranked[:SUMMARY_TOP]
    if top:
        caption = "Highest-risk steps"
        if len(ranked) > len(top):
            caption += f" (the first {len(top)} of {len(ranked)} high- and medium-risk steps)"
        sec.add(Table(["Risk", "Wave", "Step", "What", "Owner"],
                      [[Badge(v.risk), str(v.wave), StepRef(v.id), v.title, v.owner] for v in top],
                      [0.8, 0.7, 4.2, 3.4, 1.4], caption))
    else:
        sec.add("No step is rated medium or high risk.")

    ordered = _sorted_findings(findings)
    if ordered:
        sev = Counter(f.get("severity") for f in ordered)
        caption = "Open findings: " + ", ".join(f"{sev[s]} {s}" for s in SEVERITY_ORDER if sev.get(s))
        if len(ordered) > SUMMARY_TOP:
            caption += f" (the {SUMMARY_TOP} most severe; all are listed under Findings)"
        sec.add(Table(["Severity", "OWASP", "Subject", "Finding"],
                      [[Badge(str(f.get("severity", ""))), str(f.get("tag", "")),
                        identity_name(identities, f.get("subject", "")), str(f.get("message", ""))]
                       for f in ordered[:SUMMARY_TOP]],
                      [1.1, 0.9, 1.6, 6], caption))
    else:
        sec.add("No finding is open.")
    return sec


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _sorted_findings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Keep the plan's own order within a severity: it is already deterministic.
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(str(f.get("severity")), 3))


def _decisions(doc: dict[str, Any], identities: dict[str, dict[str, Any]]) -> Section:
    sec = Section("Decisions", "decisions",
                  ["Every identity this plan moves, the decision taken for it and the reason recorded with it."])
    rows = []
    agents_of = appendices.agents_by_identity(doc)
    for ident in identities.values():
        decision = str(ident.get("decision") or "")
        agents = agents_of.get(ident["key"])
        if agents:
            detail: Any = tuple(Code(str(a.get("name"))) for a in agents)
        elif ident.get("rotation"):
            rot = ident["rotation"]
            detail = f"rotate every {rot.get('every')} via {rot.get('via')}"
        else:
            detail = "—"
        rows.append([str(ident.get("name") or ident.get("key")), str(ident.get("kind") or ""), decision.capitalize(),
                     detail, str(ident.get("reason") or "—"), str(ident.get("owner") or "—")])
    if rows:
        sec.add(Table(["Identity", "Kind", "Decision", "Agents / rotation", "Reason", "Owner"], rows,
                      [1.5, 1.6, 0.9, 1.8, 2.9, 1.1]))
    else:
        sec.add("No identity has a decision yet: the plan has no steps.")
    undecided = int(((doc.get("summary") or {}).get("decisions") or {}).get("undecided", 0) or 0)
    if undecided:
        sec.add(f"{_n(undecided, 'identity has', 'identities have')} no decision yet and "
                f"{'is' if undecided == 1 else 'are'} not part of this plan.")
    return sec


def _waves_intro(doc: dict[str, Any], waves: list[WaveView]) -> Section:
    text = (f"The steps run in {_n(len(waves), 'wave')}. A step waits only for steps of earlier waves; under each "
            "step, “Why here” names the steps it waits for and the reason. Steps of one wave may run in parallel.")
    return Section("Waves and steps", "waves", [text])


def _findings(doc: dict[str, Any], identities: dict[str, dict[str, Any]]) -> Section:
    findings = _sorted_findings(doc.get("findings") or [])
    sec = Section("Findings", "findings")
    if not findings:
        return sec.add("No finding is open.")
    sec.add("What the analysis found and the board should know before approving; OWASP tags refer to the "
            "Non-Human Identities Top 10 (2025).")
    sec.add(Table(["Severity", "OWASP", "Subject", "Finding", "Id"],
                  [[Badge(str(f.get("severity", ""))), appendices.nhi_label(str(f.get("tag", ""))),
                    identity_name(identities, f.get("subject", "")), str(f.get("message", "")),
                    Code(str(f.get("id", "")))] for f in findings],
                  [1.1, 1.8, 1.5, 4.5, 2.2]))
    return sec


__all__ = ["DEFAULT_TITLE", "Logo", "Meta", "Reason", "RenderOptions", "Report", "StepView", "WaveView",
           "build_report", "load_logo"]
