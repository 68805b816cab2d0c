"""Plan exports: the formats `nhiplan plan --format` offers and the one function that writes them.

`write(doc, path, fmt, options)` renders the canonical plan document (as
core.render.canonical.plan_document makes it, integrity included) to `path`.
Every format is drawn from the document alone, never from the store, and
carries the document's integrity hash; a document whose hash does not match
its content is refused rather than exported under a false hash.

Options (all optional): author, logo (an image file: PNG, JPEG, GIF or SVG),
version, date (YYYY-MM-DD; default today, or SOURCE_DATE_EPOCH's day), title.
The same document and options give the same bytes in every format.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import BadInput
from . import csv_writer, html, markdown, pdf
from .canonical import to_yaml, verify_document
from .report import RenderOptions, build_report

FORMATS = ("yaml", "md", "html", "pdf", "csv")
SUFFIXES = {"yaml": ".yaml", "md": ".md", "html": ".html", "pdf": ".pdf", "csv": ".csv"}


def _yaml(doc: dict[str, Any], _options: RenderOptions) -> bytes:
    return to_yaml(doc).encode("utf-8")


def _md(doc: dict[str, Any], options: RenderOptions) -> bytes:
    return markdown.render(build_report(doc, options)).encode("utf-8")


def _html(doc: dict[str, Any], options: RenderOptions) -> bytes:
    return html.render(build_report(doc, options)).encode("utf-8")


def _pdf(doc: dict[str, Any], options: RenderOptions) -> bytes:
    return pdf.render(build_report(doc, options))


def _csv(doc: dict[str, Any], _options: RenderOptions) -> bytes:
    return csv_writer.render(doc).encode("utf-8")


RENDERERS: dict[str, Callable[[dict[str, Any], RenderOptions], bytes]] = {
    "yaml": _yaml, "md": _md, "html": _html, "pdf": _pdf, "csv": _csv,
}


def render(doc: dict[str, Any], fmt: str, options: dict[str, Any] | RenderOptions | None = None) -> bytes:
    """The bytes of one export of `doc`."""
    if fmt not in RENDERERS:
        raise BadInput("--format", f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    ok, message = verify_document(doc)
    if not ok:
        raise BadInput("plan", f"not exported: {message}")
    opts = options if isinstance(options, RenderOptions) else RenderOptions.from_mapping(options)
    return RENDERERS[fmt](doc, opts)


def write(doc: dict[str, Any], path: str | Path, fmt: str, options: dict[str, Any] | None = None) -> Path:
    """Render `doc` as `fmt` into `path` (core.services.write_plan renames it into place)."""
    data = render(doc, fmt, options)
    path = Path(path)
    path.write_bytes(data)
    return path


__all__ = ["FORMATS", "SUFFIXES", "render", "write"]
