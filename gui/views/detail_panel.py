"""The identity detail panel: every fact about the selected identity, with where it came from.

Rendered as HTML in a QTextBrowser (selectable, scrolls, cheap): attributes with
the source records that showed them, credentials with expiry badges, groups,
consumers, delegation and other relations (each a link that moves to that
node), findings, the recommendation with its reasons, the decision and its
audit trail. Colours come from the palette, so it reads in light and dark.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QEvent, QUrl, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QTextBrowser, QWidget

from nhiplan.core import services

from ..models.inventory_table_model import DECISION_COLOURS, KIND_LABELS

LINK_SCHEME = "nhi"
BADGE = ('<span style="background-color:{bg}; color:#ffffff; font-weight:bold;">'
         '&nbsp;{text}&nbsp;</span>')
ATTRIBUTES = (("display_name", "Display name"), ("dn", "Distinguished name"), ("upn", "UPN"), ("sid", "SID"),
              ("guid", "GUID"), ("enabled", "Enabled"), ("created", "Created"), ("last_used", "Last used"),
              ("password_last_set", "Password last set"), ("expires", "Account expires"),
              ("description", "Description"), ("flags", "Flags"), ("spns", "SPNs"), ("emails", "E-mail"),
              ("classification", "Why an identity"))
MEMBERSHIP = {"MemberOf"}
CONSUMPTION = {"UsesIdentity", "FederatedCredential"}


def badge(text: str, colour: str) -> str:
    return BADGE.format(bg=colour, text=html.escape(text))


def expiry_badge(expires: str | None, expiring_days: int, now: datetime | None = None) -> str:
    """A coloured badge saying whether a credential has expired, expires soon, or is fine."""
    if not expires:
        return badge("no expiry", "#757575")
    now = now or datetime.now(UTC)
    when = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    if when < now:
        return badge(f"expired {expires[:10]}", "#c62828")
    if when < now + timedelta(days=expiring_days):
        return badge(f"expires {expires[:10]}", "#e65100")
    return badge(f"valid to {expires[:10]}", "#2e7d32")


class DetailPanel(QTextBrowser):
    """Shows one identity; `link_activated(key)` when the user follows a relation."""

    link_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("detailPanel")
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._anchor)
        self.current_key: str | None = None
        self.expiring_days = 30
        self.show_placeholder()

    def show_placeholder(self, text: str = "Select an identity to see its details.") -> None:
        self.current_key = None
        self._shown: tuple = ("placeholder", text)
        self.setHtml(f"<p style='color:{self._muted()}'>{html.escape(text)}</p>")

    def show_identity(self, detail: dict[str, Any], recommendation: dict[str, Any] | None = None,
                      audit: list[dict[str, Any]] | None = None, analysis: dict[str, Any] | None = None) -> None:
        self.current_key = detail["key"]
        self._shown = ("identity", detail, recommendation, audit, analysis)
        self.setHtml(self.render(detail, recommendation, audit or [], analysis))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the system switched light/dark: colours follow
            kind, *args = self._shown
            if kind == "placeholder":
                self.show_placeholder(*args)
            else:
                self.show_identity(*args)

    def _anchor(self, url: QUrl) -> None:
        if url.scheme() == LINK_SCHEME:
            self.link_activated.emit(url.path() or url.toString().removeprefix(f"{LINK_SCHEME}:"))

    def _muted(self) -> str:
        return self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text).name()

    # -- rendering -----------------------------------------------------------------------
    def render(self, d: dict[str, Any], rec: dict[str, Any] | None, audit: list[dict[str, Any]],
               analysis: dict[str, Any] | None = None) -> str:
        e = html.escape
        muted = self._muted()
        decision = (d.get("decision") or {}).get("decision", "undecided")
        parts = [f"<h2 style='margin-bottom:0'>{e(d['name'])}</h2>",
                 f"<p style='color:{muted}; margin-top:2px'>{e(KIND_LABELS.get(d['kind'], d['kind']))} · "
                 f"{e(d['authority'])} · <code>{e(d['key'])}</code></p><p>"]
        parts.append(badge(decision, DECISION_COLOURS.get(decision, "#9e9e9e")))
        if d.get("enabled") is False:
            parts.append(" " + badge("disabled", "#616161"))
        if d.get("vanished"):
            parts.append(" " + badge("vanished", "#6d4c41"))
        if d.get("needs_review"):
            parts.append(" " + badge("needs review", "#ad1457"))
        for f in d.get("findings", []):
            parts.append(" " + badge(f["tag"], "#6a1b9a"))
        parts.append("</p>")
        if d.get("needs_review"):
            parts.append(f"<p><b>Needs review:</b> {e(d['needs_review'])}</p>")

        parts.append(self._recommendation(rec))
        parts.append(self._decision(d))
        parts.append(self._analysis(analysis))
        parts.append(self._attributes(d))
        parts.append(self._credentials(d))
        edges = d.get("edges", [])
        kinds = services.edge_kind_info()
        groups = [x for x in edges if x["kind"] in MEMBERSHIP and x["direction"] == "out"]
        members = [x for x in edges if x["kind"] in MEMBERSHIP and x["direction"] == "in"]
        consumers = [x for x in edges if x["kind"] in CONSUMPTION and x["direction"] == "in"]
        delegation = [x for x in edges if kinds.get(x["kind"], {}).get("category") == "delegation"]
        shown = {id(x) for x in groups + members + consumers + delegation}
        others = [x for x in edges if id(x) not in shown]
        parts.append(self._edge_section("Groups", groups, "member of"))
        parts.append(self._edge_section("Consumers", consumers, "used by"))
        parts.append(self._edge_section("Delegation", delegation, None))
        parts.append(self._edge_section("Members", members, "has member"))
        parts.append(self._edge_section("Other relations", others, None))
        parts.append(self._findings(d))
        parts.append(self._sources(d))
        parts.append(self._audit(audit))
        return "".join(p for p in parts if p)

    def _section(self, title: str, body: str) -> str:
        return f"<h3 style='margin-bottom:2px'>{html.escape(title)}</h3>{body}"

    def _recommendation(self, rec: dict[str, Any] | None) -> str:
        if not rec or not rec.get("recommendation"):
            return ""
        e = html.escape
        score = rec.get("score")
        head = badge(rec["recommendation"], DECISION_COLOURS.get(rec["recommendation"], "#9e9e9e"))
        if score is not None:
            head += f" score {e(str(score))}"
        reasons = "".join(f"<li>{e(r)}</li>" for r in rec.get("reasons") or [])
        return self._section("Recommendation", f"<p>{head}</p><ul>{reasons}</ul>")

    def _analysis(self, a: dict[str, Any] | None) -> str:
        """What the analysis found around the identity: impact of retiring it, reach, chains, cycle."""
        if not a:
            return ""
        e = html.escape
        out = []
        if a.get("cycle"):
            out.append(f"<p>{badge('cycle', '#ad1457')} depends on itself through {e(' → '.join(a['cycle']))}; "
                       "these move together in one change window.</p>")
        impact = a.get("retire_impact") or []
        if impact:
            items = "".join(f"<li>{e(r['name'])}: {e(' → '.join(r['path']) or r['kind'])}</li>" for r in impact[:15])
            more = f"<li>… and {len(impact) - 15} more</li>" if len(impact) > 15 else ""
            out.append(f"<p><b>If retired, {len(impact)} identit{'y' if len(impact) == 1 else 'ies'} "
                       f"stop working:</b></p><ul>{items}{more}</ul>")
        reach = a.get("blast_radius") or []
        if reach:
            items = "".join(f"<li>{e(r['name'])} ({e(r['kind'])}, {r['depth']} hop{'s' if r['depth'] != 1 else ''})"
                            f"</li>" for r in reach[:10])
            more = f"<li>… and {len(reach) - 10} more</li>" if len(reach) > 10 else ""
            out.append(f"<p><b>Blast radius: it can reach {len(reach)} node{'s' if len(reach) != 1 else ''}</b></p>"
                       f"<ul>{items}{more}</ul>")
        chains = a.get("delegation_chains") or {}
        for direction, label in (("outward", "Delegates onward"), ("inward", "Delegated to by")):
            paths = chains.get(direction) or []
            if paths:
                items = "".join(f"<li>{e(' → '.join(p))}</li>" for p in paths[:10])
                out.append(f"<p><b>{label}</b></p><ul>{items}</ul>")
        for group in a.get("shared_credentials") or []:
            out.append(f"<p>{badge('shared credential', '#b71c1c')} {e('; '.join(group.get('reasons') or []))}</p>")
        return self._section("Analysis", "".join(out)) if out else ""

    def _decision(self, d: dict[str, Any]) -> str:
        state = d.get("decision")
        if not state:
            return self._section("Decision", f"<p style='color:{self._muted()}'>No decision yet.</p>")
        e = html.escape
        meta = d.get("decision_meta") or {}
        rows = [f"<p>{badge(state['decision'], DECISION_COLOURS.get(state['decision'], '#9e9e9e'))} "
                f"by {e(meta.get('author') or '?')} at {e((meta.get('at') or '')[:16].replace('T', ' '))}"
                f" ({e(meta.get('origin') or 'user')})</p>"]
        if state.get("reason"):
            rows.append(f"<p><i>{e(state['reason'])}</i></p>")
        for a in state.get("agents") or []:
            rows.append(f"<p>Agent <b>{e(a['name'])}</b>: {e(a.get('purpose') or '')}<br>"
                        f"acts {e(a['delegation'])}; actions {e(', '.join(a['action_classes']) or '—')}; "
                        f"scopes {e(', '.join(a['scopes']) or '—')}; {e(a['credential'])}, "
                        f"credentials live {e(a['lifetime'])}"
                        + (f"; owner {e(a['owner'])}" if a.get("owner") else "")
                        + (f"; serves {e(', '.join(a['consumers']))}" if a.get("consumers") else "") + "</p>")
        if state.get("rotation"):
            rows.append(f"<p>Rotation every {e(state['rotation']['every'])} via {e(state['rotation']['via'])}</p>")
        return self._section("Decision", "".join(rows))

    def _attributes(self, d: dict[str, Any]) -> str:
        e = html.escape
        sources = ", ".join(sorted({f"{s['source_kind']} · {s['record']}" for s in d.get("sightings", [])}))
        rows = []
        for field, label in ATTRIBUTES:
            value = d.get(field)
            if value in (None, "", []):
                continue
            if isinstance(value, bool):
                value = "yes" if value else "no"
            elif isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            elif field in ("created", "last_used", "password_last_set", "expires"):
                value = str(value)[:16].replace("T", " ")
            rows.append(f"<tr><td style='color:{self._muted()}; padding-right:8px'>{e(label)}</td>"
                        f"<td>{e(str(value))}</td></tr>")
        if d.get("last_used") is None:
            rows.append(f"<tr><td style='color:{self._muted()}; padding-right:8px'>Last used</td>"
                        "<td>never (no evidence of use)</td></tr>")
        body = f"<table cellspacing='0' cellpadding='1'>{''.join(rows)}</table>"
        if sources:
            body += f"<p style='color:{self._muted()}'>Source: {e(sources)}</p>"
        return self._section("Attributes", body)

    def _credentials(self, d: dict[str, Any]) -> str:
        creds = d.get("credentials") or []
        if not creds:
            return self._section("Credentials", f"<p style='color:{self._muted()}'>None known.</p>")
        e = html.escape
        rows = "".join(
            f"<tr><td style='padding-right:8px'>{e(c['kind'])}</td><td style='padding-right:8px'>{e(c['id'])}</td>"
            f"<td style='padding-right:8px'>{expiry_badge(c.get('expires'), self.expiring_days)}</td>"
            f"<td style='color:{self._muted()}'>{e(c.get('source') or '')}</td></tr>" for c in creds)
        return self._section("Credentials", f"<table cellspacing='0' cellpadding='2'>{rows}</table>")

    def _edge_section(self, title: str, edges: list[dict[str, Any]], verb: str | None) -> str:
        if not edges:
            return ""
        e = html.escape
        items = []
        for x in edges[:200]:
            name = x.get("other_name") or x["other"]
            link = f"<a href='{LINK_SCHEME}:{e(x['other'])}'>{e(name)}</a>"
            how = verb or (f"{x['kind']} →" if x["direction"] == "out" else f"← {x['kind']}")
            extra = ""
            attrs = x.get("attributes") or {}
            if attrs.get("spn"):
                extra = f" ({e(str(attrs['spn']))})"
            if x.get("manual"):
                extra += " (added by hand)"
            items.append(f"<li>{e(how)} {link}{extra}</li>")
        more = f"<li>… and {len(edges) - 200} more</li>" if len(edges) > 200 else ""
        return self._section(f"{title} ({len(edges)})", f"<ul>{''.join(items)}{more}</ul>")

    def _findings(self, d: dict[str, Any]) -> str:
        findings = d.get("findings") or []
        if not findings:
            return ""
        e = html.escape
        colours = {"high": "#c62828", "medium": "#e65100", "low": "#757575"}
        items = "".join(f"<li>{badge(f['severity'], colours.get(f['severity'], '#757575'))} "
                        f"<b>{e(f['tag'])}</b> {e(f['message'])}</li>" for f in findings)
        return self._section("Findings", f"<ul>{items}</ul>")

    def _sources(self, d: dict[str, Any]) -> str:
        sightings = d.get("sightings") or []
        if not sightings:
            return ""
        e = html.escape
        items = "".join(f"<li>{e(s['source_kind'])} <code>{e(s['record'])}</code> "
                        f"(import {e(str(s['run']))}, {e((s.get('imported_at') or '')[:16].replace('T', ' '))})</li>"
                        for s in sightings)
        return self._section("Seen in", f"<ul>{items}</ul>")

    def _audit(self, audit: list[dict[str, Any]]) -> str:
        if not audit:
            return ""
        e = html.escape
        items = []
        for a in audit[:20]:
            before = (a.get("before") or {}).get("decision", "undecided") if a["action"] != "add-dependency" else ""
            after = (a.get("after") or {}).get("decision", "undecided") if a["action"] != "add-dependency" else ""
            change = f"{before} → {after}" if before or after else ""
            items.append(f"<li>{e(a['at'][:16].replace('T', ' '))} {e(a['actor'])} {e(a['action'])} "
                         f"{e(change)}" + (f": <i>{e(a['reason'])}</i>" if a.get("reason") else "") + "</li>")
        return self._section("History", f"<ul>{''.join(items)}</ul>")
