"""The plan as one self-contained HTML file a change board reads in a browser or prints.

No external fonts, scripts, style sheets or images: the style sheet
(resources/templates/plan.css) is inlined and the logo is a data: URI, so the
file can be mailed or archived alone. It draws the same Report as the
Markdown and PDF writers: a cover with client, author, version, date and the
plan hash; contents; an executive summary with key figures, the highest-risk
steps and open findings; decisions; one section per wave with each step's what,
why here (linked to the steps it waits for), owner, risk, verification,
rollback and artifacts in collapsible blocks; findings and appendices. Printed,
each chapter and wave starts a page and the page footer carries the hash.
"""

from __future__ import annotations

import base64
from functools import cache
from html import escape
from importlib.resources import files
from typing import Any

from .blocks import Badge, Cell, Checklist, Code, Section, StepRef, Table
from .report import Report, StepView, WaveView

# Opens every <details> before printing, for browsers without ::details-content (CSS does it elsewhere).
PRINT_SCRIPT = ('addEventListener("beforeprint",function(){document.querySelectorAll("details")'
                '.forEach(function(d){d.open=true})});')


@cache
def stylesheet() -> str:
    return files("nhiplan.resources").joinpath("templates/plan.css").read_text(encoding="utf-8")


def esc(value: Any) -> str:
    return escape(str(value), quote=True)


def css_string(value: str) -> str:
    """A CSS string literal; '<' is escaped so that no text can close the <style> element."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3C ")
    return f'"{out}"'


def page_rules(report: Report) -> str:
    m = report.meta
    left = (f"{m.client} · " if m.client else "") + f"plan sha256 {m.plan_hash[:16]}…"
    return (
        "@page { size: A4; margin: 16mm 15mm 18mm;\n"
        f"  @bottom-left {{ content: {css_string(left)}; font-size: 7.5pt; color: #718096; }}\n"
        '  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 7.5pt; '
        "color: #718096; } }\n"
        "@page :first { @bottom-left { content: none; } @bottom-right { content: none; } }\n"
    )


def badge(level: str, suffix: str = "") -> str:
    return f'<span class="badge risk-{esc(level)}">{esc(level)}{esc(suffix)}</span>'


def cell(value: Cell) -> str:
    if isinstance(value, tuple):
        return "<br>".join(cell(v) for v in value)
    if isinstance(value, Code):
        return f"<code>{esc(value.text)}</code>"
    if isinstance(value, StepRef):
        return f'<a href="#{value.anchor}"><code>{esc(value.step_id)}</code></a>'
    if isinstance(value, Badge):
        return badge(value.level)
    return esc(value).replace("\n", "<br>")


def table(t: Table) -> str:
    total = sum(t.widths) or 1
    cols = "".join(f'<col style="width:{100 * w / total:.1f}%">' for w in t.widths)
    head = "".join(f"<th>{esc(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in t.rows)
    caption = f"<figcaption>{esc(t.caption)}</figcaption>" if t.caption else ""
    return (f'<figure class="table">{caption}<table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></figure>")


def section(sec: Section, level: int, css_class: str = "chapter", lead: str = "") -> str:
    """A section; `lead` is HTML placed right under its heading."""
    tag = "section"
    parts = [f'<{tag} id="{esc(sec.anchor)}" class="{css_class}">', f"<h{level}>{esc(sec.title)}</h{level}>"]
    if lead:
        parts.append(lead)
    for block in sec.blocks:
        if isinstance(block, Section):
            parts.append(section(block, level + 1, "subsection"))
        elif isinstance(block, Table):
            parts.append(table(block))
        elif isinstance(block, Checklist):
            parts.append('<ul class="checklist">' + "".join(f"<li>{esc(i)}</li>" for i in block.items) + "</ul>")
        else:
            parts.append(f"<p>{esc(block)}</p>")
    parts.append(f"</{tag}>")
    return "\n".join(parts)


def _cover(report: Report) -> str:
    m = report.meta
    logo = ""
    if m.logo:
        data = base64.b64encode(m.logo.data).decode("ascii")
        alt = f"{m.client} logo" if m.client else "logo"
        logo = f'<img class="logo" src="data:{m.logo.mime};base64,{data}" alt="{esc(alt)}">'
    client = f'<p class="client">Prepared for <strong>{esc(m.client)}</strong></p>' if m.client else ""
    facts = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in m.facts() if k != "Client")
    return (
        f'<header class="cover" id="cover">{logo}'
        '<p class="eyebrow">Migration plan for the change advisory board</p>'
        f"<h1>{esc(m.title)}</h1>{client}"
        f'<dl class="facts">{facts}</dl>'
        f'<div class="hash"><span>Plan hash (SHA-256)</span><code>{esc(m.plan_hash)}</code></div>'
        '<p class="verify-note">Generated from the canonical plan file. Check that file with '
        "<code>nhiplan verify PLAN.yaml</code>: its hash must equal the one above.</p>"
        "</header>"
    )


def _toc(report: Report) -> str:
    items = []
    for level, title, anchor in report.toc():
        cls = "sub" if level else "top"
        items.append(f'<li class="{cls}"><a href="#{esc(anchor)}">{esc(title)}</a></li>')
    return f'<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'


def _figures(report: Report) -> str:
    tiles = []
    for label, value in report.figures:
        alert = " alert" if label in ("High-risk steps", "Open findings") and value not in ("0", "") else ""
        tiles.append(f'<div class="figure{alert}"><span class="value">{esc(value)}</span>'
                     f'<span class="label">{esc(label)}</span></div>')
    return f'<div class="figures">{"".join(tiles)}</div>'


def _summary(report: Report) -> str:
    return section(report.summary, 2, lead=_figures(report))


def _artifact(a: dict[str, Any]) -> str:
    title = str(a.get("title") or a.get("kind") or "artifact")
    meta = f"{a.get('kind')} · {a.get('media_type')}"
    return (f'<details><summary>{esc(title)}<span class="meta">{esc(meta)}</span></summary>'
            f"<pre><code>{esc(a.get('content') or '')}</code></pre></details>")


def _step(s: StepView) -> str:
    facts = [("Identity", f"{s.subject} ({s.decision})" if s.decision else s.subject), ("Owner", s.owner),
             ("Phase", s.phase), ("Kind", s.kind)]
    facts_html = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in facts)
    if s.reasons:
        items = []
        for r in s.reasons:
            where = f"wave {r.wave}" if r.wave is not None else "not in this plan"
            title = f' <span class="dep-title">“{esc(r.title)}”</span>' if r.title else ""
            items.append(f'<li>After <a href="#{r.ref.anchor}"><code>{esc(r.step_id)}</code></a> ({where}){title}: '
                         f"{esc(r.because or 'ordering')}</li>")
        why = "<ul>" + "".join(items) + "</ul>"
    else:
        why = f"<p>{esc(s.position_text())}</p>"
    artifacts = ""
    if s.artifacts:
        artifacts = ('<div class="part artifacts"><h5>Artifacts</h5>'
                     + "".join(_artifact(a) for a in s.artifacts) + "</div>")
    what = f'<div class="part what"><h5>What</h5><p>{esc(s.description)}</p></div>' if s.description else ""
    return (
        f'<article class="step risk-{esc(s.risk)}" id="{s.anchor}">'
        f'<div class="step-top"><div><div class="step-id"><code>{esc(s.id)}</code></div>'
        f"<h4>{esc(s.title)}</h4></div>"
        f'<div class="badges">{badge(s.risk, " risk")}<span class="tag">{esc(s.protocol)}</span></div></div>'
        f'<dl class="step-facts">{facts_html}</dl>'
        f"{what}"
        f'<div class="part why"><h5>Why here</h5>{why}</div>'
        '<div class="checks">'
        f'<div class="verify"><h5>Verification</h5><p>{esc(s.verification)}</p></div>'
        f'<div class="rollback"><h5>Rollback</h5><p>{esc(s.rollback)}</p></div></div>'
        f"{artifacts}</article>"
    )


def _wave(w: WaveView) -> str:
    note = f'<p class="note">{esc(w.note)}</p>' if w.note else ""
    steps = "\n".join(_step(s) for s in w.steps)
    return (f'<section class="wave" id="{esc(w.anchor)}"><div class="wave-head"><h3>{esc(w.title)}</h3>'
            f'<span class="headline">{esc(w.headline())}</span></div>{note}\n{steps}\n</section>')


def render(report: Report) -> str:
    m = report.meta
    title = m.title + (f" — {m.client}" if m.client else "")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="nhiplan">',
        f'<meta name="nhiplan-plan-sha256" content="{esc(m.plan_hash)}">',
        f"<title>{esc(title)}</title>",
        f"<style>\n{stylesheet()}\n{page_rules(report)}</style>",
        f"<script>{PRINT_SCRIPT}</script>",
        "</head>",
        "<body>",
        '<div class="page">',
        _cover(report),
        _toc(report),
        "<main>",
        _summary(report),
        section(report.decisions, 2),
        section(report.waves_section, 2, "chapter waves-intro"),
        *(_wave(w) for w in report.waves),
        section(report.findings, 2),
        *(section(a, 2, "chapter appendix") for a in report.appendices),
        "</main>",
        f'<footer class="doc-footer">Plan hash (SHA-256) <code>{esc(m.plan_hash)}</code> · generated by nhiplan'
        + (f" · {esc(m.date)}" if m.date else "") + "</footer>",
        "</div>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


__all__ = ["render", "stylesheet"]
