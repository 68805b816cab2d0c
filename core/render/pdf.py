"""The plan as PDF, drawn with fpdf2 (pure Python, so it lives in core/ without Qt).

The same Report as the Markdown and HTML writers: a cover with logo, client,
author, version, date and the plan hash; a table of contents with page
numbers; bookmarks for chapters, waves and every step; the executive summary;
decisions; one chapter per wave with every step (id, what, why here, owner,
risk, verification, rollback, artifacts); findings and appendices. Every page
after the cover carries the plan hash in its footer.

Fonts are the DejaVu subset bundled in resources/fonts (see its README), so a
plan looks the same on every platform; a character outside it prints as "?".
The creation date is the export date, so the same plan and options give the
same bytes.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime
from functools import cache
from importlib.resources import as_file, files
from typing import Any

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, TableCellFillMode, VAlign, XPos, YPos
from fpdf.fonts import FontFace

from ..errors import BadInput
from .blocks import Badge, Cell, Checklist, Code, Section, StepRef, Table, cell_text, step_anchor
from .report import Report, StepView, WaveView

FONT_FILES = {("sans", ""): "DejaVuSans.ttf", ("sans", "B"): "DejaVuSans-Bold.ttf", ("mono", ""): "DejaVuSansMono.ttf"}

INK = (28, 36, 52)
SOFT = (74, 85, 104)
FAINT = (113, 128, 150)
RULE = (221, 227, 236)
PANEL = (246, 248, 251)
ACCENT = (31, 78, 140)
RISK_COLOURS = {"high": ((180, 35, 24), (254, 228, 226)), "medium": ((147, 55, 13), (254, 240, 199)),
                "low": ((5, 96, 58), (209, 250, 223))}
MARGIN = 16.0
TOC_LINE = 6.2


def _add_fonts(pdf: FPDF) -> None:
    for (family, style), name in FONT_FILES.items():
        with as_file(files("nhiplan.resources").joinpath(f"fonts/{name}")) as path:
            pdf.add_font(family, style, str(path))


@cache
def _coverage() -> frozenset[int]:
    """Code points every bundled font can draw (text outside them would print as nothing)."""
    probe = FPDF()
    _add_fonts(probe)
    return frozenset(set.intersection(*(set(font.cmap) for font in probe.fonts.values())))


def printable(text: str) -> str:
    cover = _coverage()
    return "".join(c if ord(c) in cover or c in "\n" else ("    " if c == "\t" else "?") for c in text)


class PlanPDF(FPDF):
    def __init__(self, report: Report):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.report = report
        self.set_margins(MARGIN, 18, MARGIN)
        self.set_auto_page_break(True, margin=18)
        _add_fonts(self)
        # A long alias reserves room for a five-digit page count in the footer.
        self.alias_nb_pages("{total}")
        self.set_font("sans", size=10)
        self.set_text_color(*INK)
        self.known_steps: set[str] = set()
        self.c_margin = 0

    # -- page furniture --------------------------------------------------------------------

    def header(self) -> None:
        if self.page_no() == 1:
            return
        m = self.report.meta
        self.set_y(8)
        self.set_font("sans", size=7.5)
        self.set_text_color(*FAINT)
        left = m.title + (f" · {m.client}" if m.client else "")
        self.cell(self.epw * 0.75, 4, printable(left), align=Align.L)
        self.cell(self.epw * 0.25, 4, printable(m.version or m.date), align=Align.R,
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, 12.5, self.w - self.r_margin, 12.5)
        self.set_y(18)
        self.set_text_color(*INK)

    def footer(self) -> None:
        if self.page_no() == 1:
            return
        self.set_y(-12)
        self.set_font("mono", size=7)
        self.set_text_color(*FAINT)
        self.cell(self.epw * 0.7, 4, f"plan sha256 {self.report.meta.plan_hash}", align=Align.L)
        self.set_font("sans", size=7.5)
        self.cell(self.epw * 0.3, 4, f"page {self.page_no()} of {{total}}", align=Align.R)
        self.set_text_color(*INK)

    # -- text helpers ----------------------------------------------------------------------

    def font(self, family: str = "sans", style: str = "", size: float = 10, colour: tuple = INK) -> None:
        self.set_font(family, style, size)
        self.set_text_color(*colour)

    def para(self, text: str, size: float = 9.5, colour: tuple = INK, style: str = "", h: float | None = None,
             family: str = "sans", link: str | int | None = None, indent: float = 0) -> None:
        self.font(family, style, size, colour)
        self.lines(text, self.l_margin + indent, self.epw - indent, h or size * 0.5, link=link)

    def wrap(self, text: str, width: float) -> list[str]:
        """`text` broken into lines no wider than `width` in the current font: at spaces, and inside a
        word only when the word alone is too wide (ids, paths, long tokens).

        fpdf2's multi_cell measures a line again for every character it adds, which made a plan of a
        hundred steps take seconds; measuring each word once keeps this linear.
        """
        measure = self.get_string_width
        space = measure(" ")
        out: list[str] = []
        for paragraph in printable(text).split("\n"):
            line, line_w = "", 0.0
            for word in paragraph.split(" "):
                w = measure(word)
                if line and line_w + space + w <= width:
                    line, line_w = f"{line} {word}", line_w + space + w
                    continue
                if line:
                    out.append(line)
                while w > width and len(word) > 1:
                    cut = self._fitting_prefix(word, width)
                    out.append(word[:cut])
                    word = word[cut:]
                    w = measure(word)
                line, line_w = word, w
            out.append(line)
        return out

    def _fitting_prefix(self, word: str, width: float) -> int:
        lo, hi = 1, len(word)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.get_string_width(word[:mid]) <= width:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def lines(self, text: str, x: float, width: float, h: float, link: str | int | None = None,
              fill: bool = False, pad_x: float = 0) -> None:
        """Draw wrapped text line by line; cell() breaks the page where a line does not fit."""
        for line in self.wrap(text, width - 2 * pad_x):
            self.set_x(x)
            if pad_x:
                self.cell(pad_x, h, "", fill=fill)
            self.cell(width - 2 * pad_x, h, line, fill=fill, link=link or "")
            if pad_x:
                self.cell(pad_x, h, "", fill=fill)
            self.ln(h)

    def bullet(self, text: str, size: float = 9, link: str | None = None) -> None:
        """A bullet with a hanging indent: wrapped lines align with the text, not the bullet."""
        self.font("sans", "", size, INK)
        y = self.get_y()
        self.set_x(self.l_margin + 1)
        self.cell(4, size * 0.5, "•")
        self.set_xy(self.l_margin + 5, y)
        self.lines(text, self.l_margin + 5, self.epw - 5, size * 0.5, link=link)

    def label(self, text: str, keep_with: float = 10) -> None:
        """A small caps label; it moves to the next page with the first lines of what it labels."""
        if self.will_page_break(keep_with + 5.5):
            self.add_page()
        self.ln(1.2)
        self.font("sans", "B", 7, FAINT)
        self.cell(0, 4, printable(text.upper()), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str, level: int, anchor_link: int | None = None) -> None:
        sizes = {0: 17, 1: 13.5, 2: 11.5}
        if self.will_page_break(sizes[level] * 1.6 + 12):
            self.add_page()
        self.start_section(printable(text), level=level)
        self.ln(2 if level else 0)
        self.font("sans", "B", sizes[level])
        self.multi_cell(self.epw, sizes[level] * 0.5, printable(text), align=Align.L,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if anchor_link is not None:
            self.set_link(anchor_link, page=self.page, y=self.get_y() - sizes[level] * 0.5)
        if level == 0:
            self.set_draw_color(*INK)
            self.set_line_width(0.5)
            self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
            self.set_line_width(0.2)
            self.ln(4)
        else:
            self.ln(1.5)

    def pill(self, text: str, level: str) -> None:
        fg, bg = RISK_COLOURS.get(level, (SOFT, PANEL))
        self.font("sans", "B", 7, fg)
        self.set_fill_color(*bg)
        w = self.get_string_width(text) + 4
        self.cell(w, 4.6, text, align=Align.C, fill=True)

    def tag(self, text: str) -> None:
        self.font("sans", "", 7, SOFT)
        self.set_draw_color(*RULE)
        w = self.get_string_width(printable(text)) + 3
        self.cell(w, 4.6, printable(text), border=1, align=Align.C)

    def fitted_mono(self, text: str, size: float = 7.5, colour: tuple = FAINT) -> None:
        """One line of mono text, shrunk until it fits, so that an id is never broken across lines."""
        text = printable(text)
        self.set_font("mono", size=size)
        while size > 4.5 and self.get_string_width(text) > self.epw:
            size -= 0.25
            self.set_font("mono", size=size)
        self.set_text_color(*colour)
        self.lines(text, self.l_margin, self.epw, max(size * 0.5, 3))

    # -- blocks ----------------------------------------------------------------------------

    def table_block(self, t: Table) -> None:
        if self.will_page_break(28):  # a caption or heading row alone at the foot of a page helps nobody
            self.add_page()
        if t.caption:
            self.ln(1.5)
            self.para(t.caption, size=9, style="B")
            self.ln(0.8)
        self.font("sans", "", 7.8)
        headings = FontFace(family="sans", emphasis="BOLD", size_pt=7, color=SOFT, fill_color=PANEL)
        with self.table(col_widths=tuple(t.widths), width=self.epw, text_align="LEFT", v_align=VAlign.T,
                        line_height=3.6, headings_style=headings, borders_layout=TableBordersLayout.HORIZONTAL_LINES,
                        padding=(1.2, 1.4, 1.2, 1.4), cell_fill_mode=TableCellFillMode.NONE,
                        repeat_headings=1) as table:
            self.set_draw_color(*RULE)
            head = table.row()
            for c in t.columns:
                head.cell(printable(c.upper()))
            for row in t.rows:
                r = table.row()
                for value in row:
                    r.cell(printable(cell_text(value)), style=self._cell_style(value), link=self._cell_link(value))
        self.ln(3)

    def _cell_style(self, value: Cell) -> FontFace | None:
        first = value[0] if isinstance(value, tuple) and value else value
        if isinstance(first, Badge):
            fg, _bg = RISK_COLOURS.get(first.level, (SOFT, PANEL))
            return FontFace(family="sans", emphasis="BOLD", size_pt=7, color=fg)
        if isinstance(first, (Code, StepRef)):
            return FontFace(family="mono", size_pt=6.8, color=ACCENT if isinstance(first, StepRef) else INK)
        return None

    def _cell_link(self, value: Cell) -> str | None:
        return self.step_link(value.step_id) if isinstance(value, StepRef) else None

    def step_link(self, step_id: str) -> str | None:
        """A link to a step's named destination (set when the step is drawn, so links may point forward)."""
        return f"#{step_anchor(step_id)}" if step_id in self.known_steps else None

    def checklist(self, c: Checklist) -> None:
        for item in c.items:
            self.font("sans", "", 10, SOFT)
            y = self.get_y()
            self.set_draw_color(*SOFT)
            self.rect(self.l_margin + 0.5, y + 0.8, 3.2, 3.2)
            self.set_xy(self.l_margin + 6, y)
            self.multi_cell(self.epw - 6, 4.6, printable(item), align=Align.L, new_x=XPos.LMARGIN,
                            new_y=YPos.NEXT)
            self.ln(1)
        self.ln(2)

    def section_block(self, sec: Section, level: int, new_page: bool = True) -> None:
        if new_page and level == 0:
            self.add_page()
        self.heading(sec.title, level)
        for block in sec.blocks:
            if isinstance(block, Section):
                self.section_block(block, level + 1)
            elif isinstance(block, Table):
                self.table_block(block)
            elif isinstance(block, Checklist):
                self.checklist(block)
            else:
                self.para(block)
                self.ln(2)

    # -- the document ----------------------------------------------------------------------

    def cover(self) -> None:
        m = self.report.meta
        self.add_page()
        y = 28
        if m.logo:
            self._logo(m.logo.data, m.logo.source, y)
            y += 34
        self.set_y(max(y, 62))
        self.font("sans", "B", 8.5, ACCENT)
        self.cell(0, 5, "MIGRATION PLAN FOR THE CHANGE ADVISORY BOARD", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)
        self.font("sans", "B", 24)
        self.multi_cell(self.epw, 11, printable(m.title), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(5)
        if m.client:
            self.font("sans", "", 15, SOFT)
            self.multi_cell(self.epw, 8, printable(f"Prepared for {m.client}"), align=Align.L,
                            new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(10)
        for k, v in m.facts():
            if k == "Client":
                continue
            self.font("sans", "", 8, FAINT)
            self.cell(38, 6, k.upper())
            self.font("sans", "", 11, INK)
            self.multi_cell(self.epw - 38, 6, printable(v), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(10)
        top = self.get_y()
        self.set_fill_color(*PANEL)
        self.set_draw_color(*RULE)
        self.rect(self.l_margin, top, self.epw, 17, style="DF")
        self.set_xy(self.l_margin + 4, top + 2.5)
        self.font("sans", "B", 7, FAINT)
        self.cell(0, 4, "PLAN HASH (SHA-256)", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_x(self.l_margin + 4)
        self.font("mono", "", 8.6, INK)
        self.cell(0, 6, m.plan_hash, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(top + 21)
        self.para("Generated from the canonical plan file. Check that file with “nhiplan verify PLAN.yaml”: its "
                  "hash must equal the one above. Every export of this plan carries the same hash.",
                  size=8.5, colour=SOFT)

    def _logo(self, data: bytes, source: str, y: float) -> None:
        try:
            self.image(io.BytesIO(data), x=self.l_margin, y=y, h=24, keep_aspect_ratio=True, w=70)
        except Exception as exc:  # fpdf2 refuses images it cannot decode, with many exception types
            raise BadInput(source, f"logo: cannot be drawn in the PDF: {exc}") from None

    def contents_placeholder(self) -> None:
        entries = [e for e in self.report.toc()]
        per_page = int((self.h - 18 - 18 - 30) // TOC_LINE)
        pages = max(1, math.ceil(len(entries) / per_page))
        self.add_page()
        # The pages are counted ahead (entries are one line each) rather than grown: inserting pages later
        # would move the named destinations of the steps.
        self.insert_toc_placeholder(self._render_toc, pages=pages)

    def _render_toc(self, pdf: FPDF, outline: list[Any]) -> None:
        self.set_x(self.l_margin)
        self.font("sans", "B", 17)
        self.cell(0, 9, "Contents", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*INK)
        self.set_line_width(0.5)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.set_line_width(0.2)
        self.ln(5)
        for section in outline:
            if section.level > 1:
                continue
            indent = 7 if section.level else 0
            link = self.add_link(page=section.page_number)
            self.font("sans", "B" if section.level == 0 else "", 10 if section.level == 0 else 9,
                      INK if section.level == 0 else SOFT)
            number = str(section.page_number)
            self.set_x(self.l_margin + indent)
            width = self.epw - indent - 14
            self.cell(width, TOC_LINE, section.name, link=link)
            self.cell(14, TOC_LINE, number, align=Align.R, link=link, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def figures(self) -> None:
        items = self.report.figures
        gap = 3
        w = (self.epw - gap * (len(items) - 1)) / max(1, len(items))
        top = self.get_y()
        for i, (label, value) in enumerate(items):
            x = self.l_margin + i * (w + gap)
            self.set_fill_color(*PANEL)
            self.set_draw_color(*RULE)
            self.rect(x, top, w, 17, style="DF")
            alert = label in ("High-risk steps", "Open findings") and value != "0"
            self.set_xy(x + 2.5, top + 2.5)
            self.font("sans", "B", 15, RISK_COLOURS["high"][0] if alert else INK)
            self.cell(w - 5, 7, value)
            self.set_xy(x + 2.5, top + 10.5)
            self.font("sans", "", 6.2, SOFT)
            self.cell(w - 5, 4, label.upper())
        self.set_y(top + 21)

    def summary(self) -> None:
        # No add_page: the contents placeholder ends with a page break of its own.
        sec = self.report.summary
        self.heading(sec.title, 0)
        self.figures()
        for block in sec.blocks:
            if isinstance(block, Table):
                self.table_block(block)
            elif isinstance(block, str):
                self.para(block)
                self.ln(2)

    def wave(self, w: WaveView, new_page: bool = True) -> None:
        if new_page:
            self.add_page()
        else:
            self.ln(4)
        self.heading(w.title, 1)
        self.para(w.headline(), size=9, colour=SOFT)
        if w.note:
            self.ln(1.5)
            self.set_fill_color(*PANEL)
            self.font("sans", "", 8.8, INK)
            self.padded_block(w.note, 4.6, (2, 3))
        self.ln(3)
        for s in w.steps:
            self.step(s)

    def step(self, s: StepView) -> None:
        if self.will_page_break(42):
            self.add_page()
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2.5)
        self.set_link(name=s.anchor, page=self.page, y=self.get_y())
        self.start_section(printable(s.id), level=2)
        self.fitted_mono(s.id)
        self.ln(0.5)
        self.para(s.title, size=11, style="B", h=5.2)
        self.ln(1)
        self.pill(f"{s.risk.upper()} RISK", s.risk)
        self.cell(2, 4.6, "")
        self.tag(s.phase)
        self.cell(1.5, 4.6, "")
        self.tag(s.protocol)
        self.ln(6.5)
        facts = [f"Identity: {s.subject}" + (f" ({s.decision})" if s.decision else ""), f"Owner: {s.owner}",
                 f"Wave {s.wave}", f"Kind: {s.kind}"]
        self.para("   ·   ".join(facts), size=8.2, colour=SOFT)
        if s.description:
            self.label("What")
            self.para(s.description, size=9.2)
        self.label("Why here")
        if s.reasons:
            for r in s.reasons:
                where = f"wave {r.wave}" if r.wave is not None else "not in this plan"
                title = f", “{r.title}”" if r.title else ""
                self.bullet(f"After {r.step_id} ({where}{title}): {r.because or 'ordering'}",
                            link=self.step_link(r.step_id))
        else:
            self.para(s.position_text(), size=9)
        self.label("Verification")
        self.para(s.verification, size=9.2)
        self.label("Rollback")
        self.para(s.rollback, size=9.2)
        for a in s.artifacts:
            self.artifact(a)
        self.ln(4)

    def artifact(self, a: dict[str, Any]) -> None:
        title = str(a.get("title") or a.get("kind") or "artifact")
        self.label(f"Artifact: {title}", keep_with=20)
        self.para(f"{a.get('kind')} · {a.get('media_type')}", size=7, colour=FAINT)
        self.ln(0.8)
        self.set_fill_color(*PANEL)
        self.font("mono", "", 6.8, INK)
        content = str(a.get("content") or "").rstrip("\n").replace("\t", "    ")
        self.padded_block(content, 3.3, (1.8, 2.5), keep_spaces=True)

    def padded_block(self, text: str, h: float, padding: tuple[float, float], keep_spaces: bool = False) -> None:
        """Text on a filled panel (notes, artifacts); the panel continues across a page break."""
        pad_y, pad_x = padding
        self.set_x(self.l_margin)
        self.cell(self.epw, pad_y, "", fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if keep_spaces:
            # Code keeps its indentation: wrap each line on its own, at any character.
            width = self.epw - 2 * pad_x
            for raw in printable(text).split("\n"):
                pieces = []
                while raw and self.get_string_width(raw) > width:
                    cut = self._fitting_prefix(raw, width)
                    pieces.append(raw[:cut])
                    raw = raw[cut:]
                pieces.append(raw)
                for piece in pieces:
                    self.set_x(self.l_margin)
                    self.cell(pad_x, h, "", fill=True)
                    self.cell(width, h, piece, fill=True)
                    self.cell(pad_x, h, "", fill=True)
                    self.ln(h)
        else:
            self.lines(text, self.l_margin, self.epw, h, fill=True, pad_x=pad_x)
        self.set_x(self.l_margin)
        self.cell(self.epw, pad_y, "", fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def build(self) -> bytes:
        r = self.report
        m = r.meta
        when = datetime.fromisoformat(m.date).replace(tzinfo=UTC) if m.date else datetime(2000, 1, 1, tzinfo=UTC)
        self.set_creation_date(when)
        self.set_title(printable(m.title + (f" — {m.client}" if m.client else "")))
        if m.author:
            self.set_author(printable(m.author))
        self.set_subject(f"plan sha256 {m.plan_hash}")
        self.set_keywords(f"nhiplan migration plan sha256:{m.plan_hash}")
        self.set_creator("nhiplan")
        self.set_lang("en")
        self.known_steps = set(r.step_ids)
        self.cover()
        self.contents_placeholder()
        self.summary()
        self.section_block(r.decisions, 0)
        self.add_page()
        self.heading(r.waves_section.title, 0)
        for block in r.waves_section.blocks:
            if isinstance(block, str):
                self.para(block)
        for i, w in enumerate(r.waves):
            self.wave(w, new_page=i > 0)  # the first wave follows the chapter's introduction
        self.section_block(r.findings, 0)
        for sec in r.appendices:
            self.section_block(sec, 0)
        return bytes(self.output())


def render(report: Report) -> bytes:
    return PlanPDF(report).build()


__all__ = ["render"]
