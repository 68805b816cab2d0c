"""Plans: build one from the project, write it in every format, verify, read, render and diff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..playbook.builder import build_plan
from ..playbook.model import Plan
from ..playbook.snapshot import take_snapshot
from ..render.canonical import load_plan_file, plan_document, to_yaml, verify_document
from ..store import Store

PLAN_FORMATS = ("yaml",)  # renderers add theirs in core.render.writers


def make_plan(store: Store, target: str = "generic") -> Plan:
    with store.session() as s:
        snapshot = take_snapshot(s)
    return build_plan(snapshot, target=target)


def plan_formats() -> tuple[str, ...]:
    try:
        from ..render.writers import FORMATS
    except ImportError:
        return PLAN_FORMATS
    return tuple(FORMATS)


def write_plan(plan: Plan, out: str | Path, fmt: str | None = None, options: dict[str, Any] | None = None
               ) -> Path:
    """Write the plan to `out` atomically (a temp file renamed), so no half-written file is left."""
    out = Path(out)
    fmt = fmt or _format_from_suffix(out)
    if not out.parent.exists():
        raise BadInput(str(out), f"folder {out.parent} does not exist")
    doc = plan_document(plan)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if fmt == "yaml":
            tmp.write_text(to_yaml(doc), encoding="utf-8")
        else:
            try:
                from ..render.writers import write as render_write
            except ImportError:
                raise BadInput(str(out), f"format {fmt!r} is not available; use yaml") from None
            render_write(doc, tmp, fmt, options or {})
        tmp.replace(out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def _format_from_suffix(out: Path) -> str:
    suffix = out.suffix.lower().lstrip(".")
    mapping = {"yaml": "yaml", "yml": "yaml", "md": "md", "markdown": "md", "html": "html", "htm": "html",
               "pdf": "pdf", "csv": "csv"}
    if suffix not in mapping:
        raise BadInput(str(out), "cannot tell the format from the file name; use --format")
    return mapping[suffix]


def verify_plan(path: str | Path) -> tuple[bool, str]:
    return verify_document(load_plan_file(Path(path)))


def read_plan(path: str | Path) -> dict[str, Any]:
    """An exported plan file as its document, for review (BadInput when it is not a plan)."""
    return load_plan_file(Path(path))


def plan_document_of(plan: Plan) -> dict[str, Any]:
    """The canonical document of a plan as written (integrity included), for views and previews."""
    return plan_document(plan)


def render_plan_document(doc: dict[str, Any], fmt: str, options: dict[str, Any] | None = None) -> bytes:
    """One export of a plan document in memory (a preview); ImportError when renderers are absent."""
    if fmt == "yaml":
        return to_yaml(doc).encode("utf-8")
    from ..render.writers import render

    return render(doc, fmt, options or {})


def diff_plans(old: dict[str, Any], new: dict[str, Any], old_label: str = "old", new_label: str = "new",
               fmt: str = "md") -> tuple[Any, str]:
    """(the structured diff of two plan documents, its report in `fmt`: md or text).

    ImportError when the diff module is absent from this build.
    """
    from ..render import diff as plan_diff

    d = plan_diff.diff_documents(old, new, old_label, new_label)
    return d, (plan_diff.render_markdown(d) if fmt == "md" else plan_diff.render_text(d))
