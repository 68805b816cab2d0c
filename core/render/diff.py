"""Plan diff: what changed between two exported plans, in words a change board reads.

`diff_documents(old, new)` compares two canonical plan documents by their
stable ids (step ids, identity keys, finding ids) and returns a `PlanDiff`:
decisions added, removed and changed (decision, reason, agents, rotation ...),
steps added, removed and changed (field by field), steps that moved to another
wave, findings added and removed, and changed options. `render_text` and
`render_markdown` write it for a terminal or a ticket; `cli(args)` is
`nhiplan diff OLD NEW [--format text|md]`: exit 0 with or without differences,
BadInput (exit 2) for a file that is not a plan. A plan whose integrity check
fails is still compared, and the report says so first.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadInput
from .canonical import load_plan_file, verify_document
from .markdown import code as md_code
from .markdown import text as md_text

STEP_FIELDS = ("identity", "agent", "phase", "protocol", "kind", "title", "description", "owner", "risk",
               "verification", "rollback")
IDENTITY_FIELDS = ("name", "kind", "authority", "decision", "reason", "owner")
AGENT_FIELDS = ("purpose", "delegation", "action_classes", "scopes", "credential", "lifetime", "owner", "consumers")
SHORT = 90  # values up to this long are shown inline as "old → new"
LONG = 400  # longer values are cut here, with "…"


@dataclass
class Change:
    field: str
    old: Any
    new: Any


@dataclass
class StepDelta:
    id: str
    title: str
    wave: int
    changes: list[Change] = field(default_factory=list)


@dataclass
class StepBrief:
    id: str
    title: str
    wave: int
    risk: str
    identity: str


@dataclass
class WaveMove:
    id: str
    title: str
    old: int
    new: int


@dataclass
class DecisionDelta:
    key: str
    name: str
    old: str  # decision before ('' when added)
    new: str  # decision after ('' when removed)
    changes: list[Change] = field(default_factory=list)


@dataclass
class PlanDiff:
    old_label: str
    new_label: str
    old_hash: str
    new_hash: str
    old_integrity: tuple[bool, str]
    new_integrity: tuple[bool, str]
    project: list[Change] = field(default_factory=list)
    options: list[Change] = field(default_factory=list)
    totals: list[Change] = field(default_factory=list)  # summary numbers old -> new (all of them)
    decisions_added: list[DecisionDelta] = field(default_factory=list)
    decisions_removed: list[DecisionDelta] = field(default_factory=list)
    decisions_changed: list[DecisionDelta] = field(default_factory=list)
    steps_added: list[StepBrief] = field(default_factory=list)
    steps_removed: list[StepBrief] = field(default_factory=list)
    steps_changed: list[StepDelta] = field(default_factory=list)
    waves_moved: list[WaveMove] = field(default_factory=list)
    findings_added: list[dict[str, Any]] = field(default_factory=list)
    findings_removed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not any((self.project, self.options, self.decisions_added, self.decisions_removed,
                        self.decisions_changed, self.steps_added, self.steps_removed, self.steps_changed,
                        self.waves_moved, self.findings_added, self.findings_removed))

    def headline(self) -> str:
        if self.identical:
            return "No differences: the two plans have the same decisions, steps, waves and findings."
        parts = [
            _count_phrase("decision", len(self.decisions_changed), len(self.decisions_added),
                          len(self.decisions_removed)),
            _count_phrase("step", len(self.steps_changed), len(self.steps_added), len(self.steps_removed)),
        ]
        if self.waves_moved:
            parts.append(f"{len(self.waves_moved)} step{'s' if len(self.waves_moved) != 1 else ''} moved to another "
                         "wave")
        if self.findings_added or self.findings_removed:
            parts.append(f"findings: {len(self.findings_added)} new, {len(self.findings_removed)} resolved")
        if self.options or self.project:
            parts.append("plan options changed")
        text = "; ".join(p for p in parts if p) + "."
        return text[0].upper() + text[1:]


def _count_phrase(noun: str, changed: int, added: int, removed: int) -> str:
    if not (changed or added or removed):
        return ""
    return f"{noun}s: {changed} changed, {added} added, {removed} removed"


# -- comparing -------------------------------------------------------------------------------

def _index(items: Any, key: str, where: str, what: str) -> dict[str, dict[str, Any]]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise BadInput(where, f"'{what}' must be a list")
    out: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get(key), str) or not item.get(key):
            raise BadInput(where, f"{what}[{i}] has no '{key}'")
        if item[key] in out:
            raise BadInput(where, f"{what}[{i}]: {key} {item[key]!r} appears twice")
        out[item[key]] = item
    return out


def _brief(s: dict[str, Any]) -> StepBrief:
    return StepBrief(s["id"], str(s.get("title") or ""), int(s.get("wave") or 0), str(s.get("risk") or ""),
                     str(s.get("identity") or ""))


def _list_change(name: str, old: list[Any], new: list[Any]) -> Change | None:
    if list(old) == list(new):
        return None
    return Change(name, list(old), list(new))


def _step_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []
    for f in STEP_FIELDS:
        if (old.get(f) or "") != (new.get(f) or ""):
            changes.append(Change(f, old.get(f) or "", new.get(f) or ""))
    old_deps = dict(zip(old.get("depends_on") or [], old.get("because") or [], strict=False))
    new_deps = dict(zip(new.get("depends_on") or [], new.get("because") or [], strict=False))
    if set(old_deps) != set(new_deps):
        changes.append(Change("depends_on", sorted(set(old_deps) - set(new_deps)),
                              sorted(set(new_deps) - set(old_deps))))
    for dep in sorted(set(old_deps) & set(new_deps)):
        if old_deps[dep] != new_deps[dep]:
            changes.append(Change(f"because ({dep})", old_deps[dep], new_deps[dep]))
    changes += _artifact_changes(old.get("artifacts") or [], new.get("artifacts") or [])
    return changes


def _artifact_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Change]:
    """Artifacts are matched by kind and title: added, removed, or the same one with new content."""
    def keyed(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for a in items:
            key = (str(a.get("kind") or ""), str(a.get("title") or ""))
            n = 2
            while key in out:  # two artifacts with one title stay apart by their position
                key, n = (key[0], f"{a.get('title') or ''} #{n}"), n + 1
            out[key] = a
        return out

    a, b = keyed(old), keyed(new)
    label = {k: k[1] or k[0] for k in [*a, *b]}
    changes = []
    removed = [label[k] for k in a if k not in b]
    added = [label[k] for k in b if k not in a]
    if removed or added:
        changes.append(Change("artifacts", removed, added))
    rewritten = [label[k] for k in b if k in a and (a[k].get("content"), a[k].get("media_type"))
                 != (b[k].get("content"), b[k].get("media_type"))]
    if rewritten:
        changes.append(Change("artifacts changed", [], rewritten))
    return changes


def _identity_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = [Change(f, old.get(f), new.get(f)) for f in IDENTITY_FIELDS
               if f != "decision" and (old.get(f) or "") != (new.get(f) or "")]
    c = _list_change("consumers", sorted(old.get("consumers") or []), sorted(new.get("consumers") or []))
    if c:
        changes.append(c)
    if (old.get("rotation") or {}) != (new.get("rotation") or {}):
        changes.append(Change("rotation", _rotation_text(old.get("rotation")), _rotation_text(new.get("rotation"))))
    old_agents = {a.get("name"): a for a in old.get("agents") or []}
    new_agents = {a.get("name"): a for a in new.get("agents") or []}
    added = sorted(set(new_agents) - set(old_agents))
    removed = sorted(set(old_agents) - set(new_agents))
    if added or removed:
        changes.append(Change("agents", removed, added))
    for name in sorted(set(old_agents) & set(new_agents)):
        for f in AGENT_FIELDS:
            a, b = old_agents[name].get(f), new_agents[name].get(f)
            if (a or "") != (b or ""):
                changes.append(Change(f"agent {name}: {f}", a, b))
    return changes


def _rotation_text(rotation: Any) -> str:
    if not rotation:
        return "none"
    return f"every {rotation.get('every')} via {rotation.get('via')}"


def diff_documents(old: dict[str, Any], new: dict[str, Any], old_label: str = "old", new_label: str = "new"
                   ) -> PlanDiff:
    d = PlanDiff(old_label, new_label, str((old.get("integrity") or {}).get("sha256") or ""),
                 str((new.get("integrity") or {}).get("sha256") or ""), verify_document(old), verify_document(new))
    old_steps = _index(old.get("steps"), "id", old_label, "steps")
    new_steps = _index(new.get("steps"), "id", new_label, "steps")
    old_ids = _index(old.get("identities"), "key", old_label, "identities")
    new_ids = _index(new.get("identities"), "key", new_label, "identities")
    old_findings = _index(old.get("findings"), "id", old_label, "findings")
    new_findings = _index(new.get("findings"), "id", new_label, "findings")

    for section, target in (("project", d.project), ("options", d.options)):
        a, b = old.get(section) or {}, new.get(section) or {}
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                target.append(Change(k, a.get(k), b.get(k)))
    a_sum, b_sum = _flat(old.get("summary") or {}), _flat(new.get("summary") or {})
    d.totals = [Change(k, a_sum.get(k, 0), b_sum.get(k, 0)) for k in _ordered_keys(a_sum, b_sum)]

    for key, ident in new_ids.items():
        name = str(ident.get("name") or key)
        if key not in old_ids:
            d.decisions_added.append(DecisionDelta(key, name, "", str(ident.get("decision") or "")))
            continue
        before = old_ids[key]
        changes = _identity_changes(before, ident)
        if before.get("decision") != ident.get("decision") or changes:
            d.decisions_changed.append(DecisionDelta(key, name, str(before.get("decision") or ""),
                                                     str(ident.get("decision") or ""), changes))
    for key, ident in old_ids.items():
        if key not in new_ids:
            d.decisions_removed.append(DecisionDelta(key, str(ident.get("name") or key),
                                                     str(ident.get("decision") or ""), ""))

    for sid, step in new_steps.items():
        if sid not in old_steps:
            d.steps_added.append(_brief(step))
            continue
        before = old_steps[sid]
        changes = _step_changes(before, step)
        if changes:
            d.steps_changed.append(StepDelta(sid, str(step.get("title") or ""), int(step.get("wave") or 0), changes))
        if before.get("wave") != step.get("wave"):
            d.waves_moved.append(WaveMove(sid, str(step.get("title") or ""), int(before.get("wave") or 0),
                                          int(step.get("wave") or 0)))
    d.steps_removed = [_brief(s) for sid, s in old_steps.items() if sid not in new_steps]
    d.findings_added = [f for fid, f in new_findings.items() if fid not in old_findings]
    d.findings_removed = [f for fid, f in old_findings.items() if fid not in new_findings]
    return d


def _flat(summary: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in summary.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k} "))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _ordered_keys(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    keys = list(a)
    keys += [k for k in b if k not in a]
    return keys


# -- writing ---------------------------------------------------------------------------------

def _value(v: Any) -> str:
    if v is None or v == "":
        return "(none)"
    if isinstance(v, list):
        return ", ".join(str(x) for x in v) if v else "(none)"
    return str(v)


def _cut(text: str) -> str:
    return text if len(text) <= LONG else text[:LONG - 1] + "…"


def _is_short(c: Change) -> bool:
    a, b = _value(c.old), _value(c.new)
    return len(a) <= SHORT and len(b) <= SHORT and "\n" not in a + b


def _list_field(c: Change) -> bool:
    """Fields whose old/new are 'gone' and 'new' members rather than two values."""
    return c.field in ("depends_on", "agents", "artifacts", "artifacts changed")


def _integrity_word(result: tuple[bool, str]) -> str:
    return "integrity OK" if result[0] else "INTEGRITY FAILED"


def render_text(d: PlanDiff) -> str:
    out = ["Plan diff",
           f"  old: {d.old_label}  sha256 {d.old_hash or '(none)'}  ({_integrity_word(d.old_integrity)})",
           f"  new: {d.new_label}  sha256 {d.new_hash or '(none)'}  ({_integrity_word(d.new_integrity)})"]
    for label, result in ((d.old_label, d.old_integrity), (d.new_label, d.new_integrity)):
        if not result[0]:
            out.append(f"  WARNING: {label}: {result[1]}")
    out += ["", d.headline()]
    changed_totals = [c for c in d.totals if c.old != c.new]
    if changed_totals:
        out.append("  " + ", ".join(f"{c.field} {c.old} → {c.new}" for c in changed_totals))
    if d.project or d.options:
        out += ["", "Plan options"]
        out += [f"  {c.field}: {_value(c.old)} → {_value(c.new)}" for c in d.project + d.options]
    if d.decisions_changed or d.decisions_added or d.decisions_removed:
        out += ["", "Decisions"]
        for x in d.decisions_changed:
            verdict = f"{x.old} → {x.new}" if x.old != x.new else f"still {x.new}"
            out.append(f"  ~ {x.name} ({x.key}): {verdict}")
            out += _text_changes(x.changes, "      ")
        out += [f"  + {x.name} ({x.key}): {x.new} (new in this plan)" for x in d.decisions_added]
        out += [f"  - {x.name} ({x.key}): was {x.old} (no longer in this plan)" for x in d.decisions_removed]
    if d.steps_added:
        out += ["", f"Steps added ({len(d.steps_added)})"]
        out += [f"  + wave {s.wave}  {s.id}  {s.title}  [{s.risk} risk]" for s in d.steps_added]
    if d.steps_removed:
        out += ["", f"Steps removed ({len(d.steps_removed)})"]
        out += [f"  - wave {s.wave}  {s.id}  {s.title}" for s in d.steps_removed]
    if d.steps_changed:
        out += ["", f"Steps changed ({len(d.steps_changed)})"]
        for s in d.steps_changed:
            out.append(f"  ~ {s.id}  {s.title}")
            out += _text_changes(s.changes, "      ")
    if d.waves_moved:
        out += ["", f"Steps moved to another wave ({len(d.waves_moved)})"]
        out += [f"  {m.id}  {m.title}: wave {m.old} → {m.new}" for m in d.waves_moved]
    if d.findings_added or d.findings_removed:
        out += ["", "Findings"]
        out += [f"  + [{f.get('severity')} {f.get('tag')}] {f.get('message')}" for f in d.findings_added]
        out += [f"  - [{f.get('severity')} {f.get('tag')}] {f.get('message')} (resolved)" for f in d.findings_removed]
    return "\n".join(out) + "\n"


def _text_changes(changes: list[Change], indent: str) -> list[str]:
    lines = []
    for c in changes:
        if c.field == "artifacts changed":
            lines.append(f"{indent}{c.field}: {', '.join(c.new)}")
        elif _list_field(c):
            parts = [f"+ {v}" for v in c.new] + [f"- {v}" for v in c.old]
            lines.append(f"{indent}{c.field}: {', '.join(parts)}")
        elif _is_short(c):
            lines.append(f"{indent}{c.field}: {_value(c.old)} → {_value(c.new)}")
        else:
            lines.append(f"{indent}{c.field}:")
            lines.append(f"{indent}  was: {_cut(_value(c.old))}".replace("\n", "\n" + indent + "       "))
            lines.append(f"{indent}  now: {_cut(_value(c.new))}".replace("\n", "\n" + indent + "       "))
    return lines


def _md(value: Any) -> str:
    return md_text(_value(value)).replace("\n", "<br>")


def _md_code(value: str) -> str:
    return md_code(value)


def render_markdown(d: PlanDiff) -> str:
    out = ["# Plan diff", "", _md(d.headline()), "",
           "| | Old | New |", "|---|---|---|",
           f"| File | {_md(d.old_label)} | {_md(d.new_label)} |",
           f"| Plan hash (SHA-256) | {_md_code(d.old_hash or '(none)')} | {_md_code(d.new_hash or '(none)')} |",
           f"| Integrity | {'OK' if d.old_integrity[0] else '**FAILED**'} | "
           f"{'OK' if d.new_integrity[0] else '**FAILED**'} |"]
    out += [f"| {_md(c.field.capitalize())} | {_md(c.old)} | {_md(c.new)} |" for c in d.totals]
    out.append("")
    for label, result in ((d.old_label, d.old_integrity), (d.new_label, d.new_integrity)):
        if not result[0]:
            out += [f"> **Warning:** {_md(label)}: {_md(result[1])}", ""]
    if d.project or d.options:
        out += ["## Plan options", "", "| Option | Old | New |", "|---|---|---|"]
        out += [f"| {_md(c.field)} | {_md(c.old)} | {_md(c.new)} |" for c in d.project + d.options]
        out.append("")
    if d.decisions_changed or d.decisions_added or d.decisions_removed:
        out += ["## Decisions", "", "| Identity | Decision | What changed |", "|---|---|---|"]
        for x in d.decisions_changed:
            verdict = f"{x.old} → {x.new}" if x.old != x.new else f"still {x.new}"
            details = "<br>".join(_md_change(c) for c in x.changes) or "—"
            out.append(f"| {_md(x.name)}<br>{_md_code(x.key)} | {_md(verdict)} | {details} |")
        out += [f"| {_md(x.name)}<br>{_md_code(x.key)} | {_md(x.new)} | new in this plan |" for x in d.decisions_added]
        out += [f"| {_md(x.name)}<br>{_md_code(x.key)} | was {_md(x.old)} | no longer in this plan |"
                for x in d.decisions_removed]
        out.append("")
    if d.steps_added:
        out += [f"## Steps added ({len(d.steps_added)})", "", "| Wave | Step | Title | Risk |", "|---|---|---|---|"]
        out += [f"| {s.wave} | {_md_code(s.id)} | {_md(s.title)} | {_md(s.risk)} |" for s in d.steps_added]
        out.append("")
    if d.steps_removed:
        out += [f"## Steps removed ({len(d.steps_removed)})", "", "| Wave | Step | Title |", "|---|---|---|"]
        out += [f"| {s.wave} | {_md_code(s.id)} | {_md(s.title)} |" for s in d.steps_removed]
        out.append("")
    if d.steps_changed:
        out += [f"## Steps changed ({len(d.steps_changed)})", "", "| Step | Field | Old | New |", "|---|---|---|---|"]
        for s in d.steps_changed:
            for i, c in enumerate(s.changes):
                step = f"{_md_code(s.id)}<br>{_md(s.title)}" if i == 0 else ""
                if c.field == "artifacts changed":
                    out.append(f"| {step} | {_md(c.field)} | (earlier content) | {_md(c.new)} |")
                elif _list_field(c):
                    out.append(f"| {step} | {_md(c.field)} | removed: {_md(c.old)} | added: {_md(c.new)} |")
                else:
                    out.append(f"| {step} | {_md(c.field)} | {_md(_cut(_value(c.old)))} | {_md(_cut(_value(c.new)))} |")
        out.append("")
    if d.waves_moved:
        out += [f"## Steps moved to another wave ({len(d.waves_moved)})", "", "| Step | Title | Old wave | New wave |",
                "|---|---|---|---|"]
        out += [f"| {_md_code(m.id)} | {_md(m.title)} | {m.old} | {m.new} |" for m in d.waves_moved]
        out.append("")
    if d.findings_added or d.findings_removed:
        out += ["## Findings", "", "| Change | Severity | OWASP | Finding |", "|---|---|---|---|"]
        out += [f"| new | {_md(f.get('severity'))} | {_md(f.get('tag'))} | {_md(f.get('message'))} |"
                for f in d.findings_added]
        out += [f"| resolved | {_md(f.get('severity'))} | {_md(f.get('tag'))} | {_md(f.get('message'))} |"
                for f in d.findings_removed]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _md_change(c: Change) -> str:
    if c.field == "artifacts changed":
        return f"{_md(c.field)}: {_md(', '.join(c.new))}"
    if _list_field(c):
        parts = [f"+ {v}" for v in c.new] + [f"− {v}" for v in c.old]
        return f"{_md(c.field)}: {_md(', '.join(parts))}"
    return f"{_md(c.field)}: {_md(_cut(_value(c.old)))} → {_md(_cut(_value(c.new)))}"


RENDERERS = {"text": render_text, "md": render_markdown}


def diff_files(old: str | Path, new: str | Path) -> PlanDiff:
    old_doc = load_plan_file(Path(old))
    new_doc = load_plan_file(Path(new))
    return diff_documents(old_doc, new_doc, str(old), str(new))


def cli(args: argparse.Namespace) -> int:
    """`nhiplan diff OLD NEW [--format text|md]`: 0 with or without differences (CONTRACT)."""
    fmt = getattr(args, "format", None) or "text"
    if fmt not in RENDERERS:
        raise BadInput("--format", f"unknown diff format {fmt!r}; one of {', '.join(RENDERERS)}")
    d = diff_files(args.old, args.new)
    for label, (ok, message) in ((d.old_label, d.old_integrity), (d.new_label, d.new_integrity)):
        if not ok:
            print(f"nhiplan: warning: {label}: {message}", file=sys.stderr)
    sys.stdout.write(RENDERERS[fmt](d))
    return 0


__all__ = ["PlanDiff", "cli", "diff_documents", "diff_files", "render_markdown", "render_text"]
