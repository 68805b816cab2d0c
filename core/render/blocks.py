"""Building blocks of the board report: sections, paragraphs, tables, check lists and cells.

The report's content (core.render.report, core.render.appendices) is made of
these plain values; the Markdown, HTML and PDF writers each know how to draw
them, so the three formats say the same thing in the same order.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Code:
    """Literal text shown in a fixed-width font (ids, commands, scopes)."""

    text: str


@dataclass(frozen=True)
class StepRef:
    """A step id that links to the step's section where the format has links."""

    step_id: str

    @property
    def anchor(self) -> str:
        return step_anchor(self.step_id)


@dataclass(frozen=True)
class Badge:
    """A risk or severity level: a coloured label where the format has colour."""

    level: str


# A cell is one of the values above, plain text, or several of them on separate lines.
Cell = str | Code | StepRef | Badge | tuple


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell]]
    # Relative column widths: the PDF writer lays columns out with them.
    widths: list[float]
    caption: str = ""

    def __post_init__(self) -> None:
        if len(self.widths) != len(self.columns) or any(len(r) != len(self.columns) for r in self.rows):
            raise ValueError(f"table {self.caption or self.columns}: every row needs {len(self.columns)} cells")


@dataclass
class Checklist:
    """Items to tick off by hand (a procurement check list)."""

    items: list[str]


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list[str | Table | Checklist | Section] = field(default_factory=list)

    def add(self, *blocks: str | Table | Checklist | Section) -> Section:
        self.blocks.extend(blocks)
        return self

    def subsections(self) -> list[Section]:
        return [b for b in self.blocks if isinstance(b, Section)]


def step_anchor(step_id: str) -> str:
    """A link target for a step id: readable, safe in URLs and ids, unique per id.

    Step ids hold '/', '#' and ':' (they are made from identity keys), which are
    not safe in a URL fragment; a short hash keeps two ids that slug the same apart.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", step_id.lower()).strip("-")[:60]
    return f"step-{slug}-{hashlib.sha256(step_id.encode('utf-8')).hexdigest()[:8]}"


def cell_text(cell: Cell) -> str:
    """The plain text of a cell (several values on separate lines)."""
    if isinstance(cell, tuple):
        return "\n".join(cell_text(c) for c in cell)
    if isinstance(cell, Code):
        return cell.text
    if isinstance(cell, StepRef):
        return cell.step_id
    if isinstance(cell, Badge):
        return cell.level
    return str(cell)
