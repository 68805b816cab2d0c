"""The plan as Markdown (CommonMark with GitHub tables): for wikis, tickets and pull requests.

Draws the same Report as the HTML and PDF writers: cover facts with the plan
hash, contents, executive summary, decisions, one section per wave with each
step's what / why here / owner / risk / verification / rollback, artifacts in
collapsible `<details>` blocks, findings and appendices. Text from the plan is
escaped so that an account name or description cannot turn into markup.
"""

from __future__ import annotations

import re
from typing import Any

from .blocks import Badge, Cell, Checklist, Code, Section, StepRef, Table
from .report import Report, StepView, WaveView

_ESCAPE = re.compile(r"([\\`*\[\]<>|])")
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# What makes a line a heading, quote, list item, rule or setext underline when it starts a line.
_LINE_START = re.compile(r"^(\s*)(>|[#+](?=\s|$)|-(?=[\s-]|$)|=+\s*$|\d+[.)](?=\s|$))", re.MULTILINE)
_ENTITY = re.compile(r"&(?=#?\w+;)")


def text(value: str, *, block: bool = False) -> str:
    """Plain text made safe as Markdown inline content (keeps intra-word underscores readable).

    `block`: the text starts a line (a paragraph), so line-start markers are escaped too.
    """
    out = _ESCAPE.sub(r"\\\1", value)
    out = _UNDERSCORE.sub(r"\\_", out)
    out = _ENTITY.sub("&amp;", out)
    if block or "\n" in out:
        out = _LINE_START.sub(_escape_marker, out)
    return out


def _escape_marker(m: re.Match[str]) -> str:
    marker = m.group(2)
    if marker[0].isdigit():  # "1." is escaped at its delimiter: "1\."
        return m.group(1) + marker[:-1] + "\\" + marker[-1]
    return m.group(1) + "\\" + marker


def code(value: str) -> str:
    """An inline code span that holds any text, backticks included."""
    longest = max((len(m) for m in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or longest else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def fence_for(content: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", content)), default=0)
    return "`" * max(3, longest + 1)


def language_of(media_type: str) -> str:
    """A fence's info string from an artifact's media type, for syntax highlighting."""
    mt = media_type.lower()
    for needle, lang in (("json", "json"), ("yaml", "yaml"), ("xml", "xml"), ("powershell", "powershell"),
                         ("shell", "sh"), ("sql", "sql"), ("ldif", "ldif"), ("toml", "toml"), ("hcl", "hcl")):
        if needle in mt:
            return lang
    return ""


def cell(value: Cell, *, in_table: bool = True) -> str:
    if isinstance(value, tuple):
        return "<br>".join(cell(v, in_table=in_table) for v in value)
    if isinstance(value, Code):
        return code(value.text)
    if isinstance(value, StepRef):
        return f"[{code(value.step_id)}](#{value.anchor})"
    if isinstance(value, Badge):
        return f"**{text(value.level.upper())}**" if value.level == "high" else text(value.level)
    out = text(str(value))
    return out.replace("\n", "<br>") if in_table else out


def table(t: Table) -> list[str]:
    lines = []
    if t.caption:
        lines += [f"*{text(t.caption)}*", ""]
    lines.append("| " + " | ".join(text(c) for c in t.columns) + " |")
    lines.append("|" + "|".join("---" for _ in t.columns) + "|")
    for row in t.rows:
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    lines.append("")
    return lines


def section(sec: Section, level: int) -> list[str]:
    lines = [f'<a id="{sec.anchor}"></a>', "", f"{'#' * level} {text(sec.title)}", ""]
    for block in sec.blocks:
        if isinstance(block, Section):
            lines += section(block, level + 1)
        elif isinstance(block, Table):
            lines += table(block)
        elif isinstance(block, Checklist):
            lines += [*(f"- [ ] {text(item)}" for item in block.items), ""]
        else:
            lines += [text(block, block=True), ""]
    return lines


def _cover(report: Report) -> list[str]:
    m = report.meta
    lines = [f"# {text(m.title)}", ""]
    if m.client:
        lines += [f"**Prepared for {text(m.client)}**", ""]
    facts = [f"**{k}:** {text(v)}" for k, v in m.facts() if k != "Client"]
    facts.append(f"**Plan hash (SHA-256):** {code(m.plan_hash)}")
    lines += ["  \n".join(facts), ""]
    lines += [f"> This document is generated from the canonical plan file. Check that file with "
              f"{code('nhiplan verify PLAN.yaml')}; its hash must equal the one above.", ""]
    return lines


def _toc(report: Report) -> list[str]:
    lines = ["## Contents", ""]
    for level, title, anchor in report.toc():
        lines.append(f"{'  ' * level}- [{text(title)}](#{anchor})")
    return [*lines, ""]


def _step(s: StepView) -> list[str]:
    lines = [f'<a id="{s.anchor}"></a>', "", f"#### {text(s.title)}", ""]
    facts = [code(s.id), f"**Risk:** {cell(Badge(s.risk))}", f"**Phase:** {text(s.phase)}",
             f"**Protocol:** {text(s.protocol)}", f"**Owner:** {text(s.owner)}"]
    lines.append(" · ".join(facts) + "  ")
    decision = f" ({text(s.decision)})" if s.decision else ""
    lines.append(f"**Identity:** {text(s.subject)}{decision} · **Wave:** {s.wave} · **Kind:** {text(s.kind)}")
    lines.append("")
    if s.description:
        lines += [f"**What:** {text(s.description)}", ""]
    lines.append("**Why here:**" + (f" {text(s.position_text())}" if not s.reasons else ""))
    lines.append("")
    for r in s.reasons:
        where = f"wave {r.wave}" if r.wave is not None else "not in this plan"
        title = f", “{text(r.title)}”" if r.title else ""
        lines.append(f"- after [{code(r.step_id)}](#{step_anchor_of(r.step_id)}) ({where}{title}): "
                     f"{text(r.because) or 'ordering'}")
    if s.reasons:
        lines.append("")
    lines += [f"**Verification:** {text(s.verification)}", "", f"**Rollback:** {text(s.rollback)}", ""]
    if s.artifacts:
        lines += [f"**Artifacts ({len(s.artifacts)}):**", ""]
        for a in s.artifacts:
            lines += _artifact(a)
    return lines


def step_anchor_of(step_id: str) -> str:
    return StepRef(step_id).anchor


def _artifact(a: dict[str, Any]) -> list[str]:
    content = str(a.get("content") or "")
    title = str(a.get("title") or a.get("kind") or "artifact")
    label = f"{title} ({a.get('kind')}, {a.get('media_type')})"
    fence = fence_for(content)
    body = content if content.endswith("\n") else content + "\n"
    # The HTML inside <details> is escaped by hand: Markdown does not process it.
    label_html = label.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ["<details>", f"<summary>{label_html}</summary>", "",
            f"{fence}{language_of(str(a.get('media_type') or ''))}", *body.splitlines(), fence, "", "</details>", ""]


def _wave(w: WaveView) -> list[str]:
    lines = [f'<a id="{w.anchor}"></a>', "", f"### {text(w.title)}", "", text(w.headline(), block=True), ""]
    if w.note:
        lines += [f"> {text(w.note)}", ""]
    for s in w.steps:
        lines += _step(s)
    return lines


def render(report: Report) -> str:
    lines = _cover(report) + _toc(report)
    lines += section(report.summary, 2)
    lines += section(report.decisions, 2)
    lines += section(report.waves_section, 2)
    for w in report.waves:
        lines += _wave(w)
    lines += section(report.findings, 2)
    for sec in report.appendices:
        lines += section(sec, 2)
    lines += ["---", "", f"Plan hash (SHA-256): {code(report.meta.plan_hash)}"]
    return "\n".join(lines).rstrip("\n") + "\n"


__all__ = ["render"]
