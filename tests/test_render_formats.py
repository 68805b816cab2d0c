"""Every export of a real plan (eleven decided identities through core) checked by content.

The board estate is imported with core.services.import_records and decided with
core.services.decide; the plan is written with core.services.write_plan and
with the `nhiplan plan` command. Each format must hold every step id and the
same plan hash; the HTML must be one self-contained file; the PDF must have a
cover, contents, bookmarks for every wave and step, and the appendices.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
import yaml
from pypdf import PdfReader

from nhiplan.core import cli, services
from nhiplan.core.errors import BadInput
from nhiplan.core.render import csv_writer, writers
from nhiplan.core.render.canonical import plan_document
from nhiplan.core.render.report import image_type
from tests.render_estates import board_estate, golden_plan, write_logo

OPTIONS = {"author": "Jana Nováková", "version": "1.3", "date": "2025-06-30"}


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """(project path, plan, canonical document, folder) of the board estate."""
    folder = tmp_path_factory.mktemp("board")
    path = folder / "board.nhiplan"
    store = services.init_project(path, name="Identity migration 2025", client="Nordwind Lüftung GmbH")
    try:
        board_estate(store)
        plan = services.make_plan(store)
    finally:
        store.close()
    return path, plan, plan_document(plan), folder


@pytest.fixture(scope="module")
def exports(board):
    """Every format written through services.write_plan, with a logo."""
    _path, plan, _doc, folder = board
    logo = write_logo(folder)
    out = {}
    for fmt in writers.FORMATS:
        target = folder / f"plan{writers.SUFFIXES[fmt]}"
        services.write_plan(plan, target, None, dict(OPTIONS, logo=str(logo)))
        out[fmt] = target
    return out


def pdf_text(path: Path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(str(path)).pages)


def test_the_board_estate_is_a_real_plan(board):
    _path, _plan, doc, _folder = board
    decisions = doc["summary"]["decisions"]
    assert len(doc["identities"]) == 11 and decisions["undecided"] == 1
    assert {"split", "keep", "retire"} <= {i["decision"] for i in doc["identities"]}
    assert len(doc["steps"]) >= 50 and len(doc["waves"]) >= 5
    assert any(s["risk"] == "high" for s in doc["steps"]) and doc["findings"]


def test_formats_are_offered_to_front_ends():
    assert services.plan_formats() == ("yaml", "md", "html", "pdf", "csv")


def test_every_export_carries_every_step_id_and_the_same_hash(board, exports):
    _path, _plan, doc, _folder = board
    ids = [s["id"] for s in doc["steps"]]
    digest = doc["integrity"]["sha256"]
    texts = {fmt: exports[fmt].read_text(encoding="utf-8") for fmt in ("yaml", "md", "html", "csv")}
    texts["pdf"] = pdf_text(exports["pdf"])
    for fmt, text in texts.items():
        missing = [i for i in ids if i not in text]
        assert not missing, f"{fmt}: step ids missing: {missing[:5]}"
        assert digest in text, f"{fmt}: plan hash missing"
    # And the YAML is the same canonical document that verifies.
    assert services.verify_plan(exports["yaml"])[0]


class _HtmlScan(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.external: list[str] = []
        self.tags: list[str] = []
        self.details = 0
        self.images: list[str] = []
        self.step_articles: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "details":
            self.details += 1
        if tag == "article" and "step" in (a.get("class") or ""):
            self.step_articles.append(a["id"])
        if tag == "img":
            self.images.append(a.get("src") or "")
        for attr in ("src", "href"):
            value = a.get(attr) or ""
            if value and not value.startswith(("#", "data:")):
                self.external.append(f"{tag} {attr}={value}")


def test_html_is_one_self_contained_document_with_every_step(board, exports):
    _path, _plan, doc, _folder = board
    html = exports["html"].read_text(encoding="utf-8")
    scan = _HtmlScan()
    scan.feed(html)
    assert not scan.external, scan.external
    assert "link" not in scan.tags and "@import" not in html
    style = "".join(re.findall(r"<style>(.*?)</style>", html, re.S))
    assert style and not re.search(r"url\((?!data:)", style), "the style sheet loads something"
    script = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    assert all("src=" not in s and "http" not in s for s in script)
    # One article per step, in plan order, ids unique; a section per wave; a table of contents.
    from nhiplan.core.render.blocks import step_anchor
    assert scan.step_articles == [step_anchor(s["id"]) for s in doc["steps"]]
    assert len(set(scan.ids)) == len(scan.ids)
    assert [f"wave-{w['wave']}" for w in doc["waves"]] == [i for i in scan.ids if i.startswith("wave-")]
    assert '<nav class="toc"' in html
    assert all(f'href="#wave-{w["wave"]}"' in html for w in doc["waves"])
    # Artifacts are collapsible; the logo is embedded; print CSS breaks pages per wave.
    assert scan.details == sum(len(s["artifacts"]) for s in doc["steps"])
    assert len(scan.images) == 1 and scan.images[0].startswith("data:image/png;base64,")
    assert "@media print" in html and "break-before: page" in html
    # Branding and the executive summary.
    for text in ("Nordwind Lüftung GmbH", "Jana Nováková", "1.3", "2025-06-30", "Executive summary",
                 "Highest-risk steps", "Open findings", "Appendix A. Compliance crosswalk",
                 "Appendix B. Procurement checklist", "Appendix C. Credential-rotation schedule"):
        assert text in html, text
    # Every dependency is explained with its reason and links to the step it waits for.
    for s in doc["steps"]:
        for dep, because in zip(s["depends_on"], s["because"], strict=True):
            assert f'href="#{step_anchor(dep)}"' in html
            assert because.replace("'", "&#x27;") in html


def test_pdf_has_cover_contents_bookmarks_steps_and_appendices(board, exports):
    _path, _plan, doc, _folder = board
    reader = PdfReader(str(exports["pdf"]))
    pages = [p.extract_text() for p in reader.pages]
    cover = pages[0]
    for text in ("Nordwind Lüftung GmbH", "Jana Nováková", "1.3", "2025-06-30", doc["integrity"]["sha256"]):
        assert text in cover, text
    assert reader.pages[0].images, "the logo is on the cover"
    assert "Contents" in [line.strip() for line in pages[1].splitlines()]
    # Every page after the cover carries the plan hash in its footer.
    assert all(f"plan sha256 {doc['integrity']['sha256']}" in p for p in pages[1:])

    def titles(outline, level=0):
        for item in outline:
            if isinstance(item, list):
                yield from titles(item, level + 1)
            else:
                yield level, item.title, reader.get_destination_page_number(item)

    marks = list(titles(reader.outline))
    top = [t for lvl, t, _ in marks if lvl == 0]
    assert top[:3] == ["Executive summary", "Decisions", "Waves and steps"]
    assert "Findings" in top and "Appendix D. Integrity" in top
    waves = {t: page for lvl, t, page in marks if lvl == 1 and t.startswith("Wave ")}
    assert list(waves) == [f"Wave {w['wave']}" for w in doc["waves"]]
    steps = {t: page for lvl, t, page in marks if lvl == 2}
    assert list(steps) == [s["id"] for s in doc["steps"]]
    # Each step's bookmark lands on the page that shows the step; the contents page lists each wave's page.
    for sid, page in steps.items():
        assert sid in pages[page], sid
    contents = pages[1]
    for title, page in waves.items():
        assert re.search(rf"{title}\s*{page + 1}\b", contents), (title, page + 1)
    metadata = reader.metadata
    assert metadata.author == "Jana Nováková" and doc["integrity"]["sha256"] in metadata.subject


def test_pdf_and_html_are_deterministic(board):
    _path, _plan, doc, _folder = board
    for fmt in ("pdf", "html", "md", "csv"):
        assert writers.render(doc, fmt, OPTIONS) == writers.render(doc, fmt, OPTIONS), fmt


def test_csv_has_one_row_per_step_for_a_ticket_tool(board, exports):
    _path, _plan, doc, _folder = board
    raw = exports["csv"].read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert list(rows[0]) == list(csv_writer.COLUMNS)
    assert [r["id"] for r in rows] == [s["id"] for s in doc["steps"]]
    for r, s in zip(rows, doc["steps"], strict=True):
        assert r["wave"] == str(s["wave"]) and r["risk"] == s["risk"] and r["owner"] == s["owner"]
        assert r["depends_on"].split("\n") == (s["depends_on"] or [""])
        assert r["because"].split("\n") == (s["because"] or [""])
        assert r["plan_sha256"] == doc["integrity"]["sha256"]


def test_csv_cells_cannot_run_as_spreadsheet_formulas():
    doc = plan_document(golden_plan())
    rows = list(csv.DictReader(io.StringIO(csv_writer.render(doc), newline="")))
    cell = next(r["description"] for r in rows if r["id"] == "corp.example/svc_web#prepare")
    assert cell.startswith("'=HYPERLINK(")


def test_plan_files_validate_against_the_published_schema(board):
    schema = json.loads(files("nhiplan.resources").joinpath("plan.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    _path, _plan, doc, _folder = board
    for candidate in (doc, plan_document(golden_plan())):
        errors = sorted(validator.iter_errors(yaml.safe_load(yaml.safe_dump(candidate))), key=str)
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    broken = json.loads(json.dumps(doc))
    broken["steps"][0]["risk"] = "extreme"
    del broken["steps"][1]["id"]
    broken["integrity"]["sha256"] = "not-a-hash"
    messages = {e.message for e in validator.iter_errors(broken)}
    assert any("extreme" in m for m in messages)
    assert any("'id' is a required property" in m for m in messages)
    assert any("not-a-hash" in m for m in messages)


def test_schema_enums_follow_the_playbook_model():
    from nhiplan.core.playbook.model import PHASES, PROTOCOLS, RISKS, TARGETS

    schema = json.loads(files("nhiplan.resources").joinpath("plan.schema.json").read_text(encoding="utf-8"))
    step = schema["$defs"]["step"]["properties"]
    assert step["phase"]["enum"] == list(PHASES)
    assert step["protocol"]["enum"] == list(PROTOCOLS)
    assert schema["$defs"]["risk"]["enum"] == list(RISKS)
    assert schema["properties"]["options"]["properties"]["target"]["enum"] == list(TARGETS)


def test_the_plan_command_writes_every_format_with_branding(board, capsys):
    path, _plan, doc, folder = board
    logo = write_logo(folder)
    for fmt in writers.FORMATS:
        out = folder / f"cli-plan.{fmt}"
        code = cli.main(["plan", str(path), "-o", str(out), "--format", fmt, "--author", "Jana Nováková",
                         "--logo", str(logo), "--version", "1.3", "--date", "2025-06-30"])
        assert code == 0, capsys.readouterr().err
        assert out.stat().st_size > 0
    assert "Jana Nováková" in (folder / "cli-plan.html").read_text(encoding="utf-8")
    assert cli.main(["verify", str(folder / "cli-plan.yaml")]) == 0
    assert doc["integrity"]["sha256"] in pdf_text(folder / "cli-plan.pdf")


@pytest.mark.parametrize("argv_extra, reason", [
    (["--date", "30/06/2025"], "is not a date"),
    (["--date", "2025-02-30"], "not a calendar date"),
    (["--logo", "missing.png"], "no such file"),
])
def test_bad_export_options_are_refused_without_writing(board, capsys, argv_extra, reason):
    path, _plan, _doc, folder = board
    out = folder / "refused.pdf"
    code = cli.main(["plan", str(path), "-o", str(out), *argv_extra])
    err = capsys.readouterr().err
    assert code == 2 and reason in err and "Traceback" not in err
    assert not out.exists() and not (folder / ".refused.pdf.tmp").exists()


def test_a_logo_that_is_not_an_image_is_refused(board, capsys):
    path, _plan, _doc, folder = board
    fake = folder / "not-a-logo.png"
    fake.write_bytes(b"MZ\x90\x00 this is not a picture")
    out = folder / "fake-logo.html"
    assert cli.main(["plan", str(path), "-o", str(out), "--logo", str(fake)]) == 2
    assert "not a PNG, JPEG, GIF or SVG image" in capsys.readouterr().err
    assert not out.exists()


def test_image_types_are_told_by_their_bytes():
    assert image_type(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert image_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert image_type(b"GIF89a") == "image/gif"
    assert image_type(b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>') == "image/svg+xml"
    assert image_type(b"<html></html>") is None


def test_an_svg_logo_is_embedded_in_html_and_drawn_in_the_pdf(tmp_path):
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
                   '<rect width="120" height="40" fill="#123456"/></svg>', encoding="utf-8")
    doc = plan_document(golden_plan())
    html = writers.render(doc, "html", dict(OPTIONS, logo=str(svg))).decode("utf-8")
    assert 'src="data:image/svg+xml;base64,' in html
    pdf = PdfReader(io.BytesIO(writers.render(doc, "pdf", dict(OPTIONS, logo=str(svg)))))
    # fpdf2 draws an SVG as vector paths: the rectangle's fill colour is in the cover's content stream.
    assert re.search(rb"0\.0706 0\.20\d* 0\.33\d* rg", pdf.pages[0].get_contents().get_data())


def test_a_document_whose_hash_does_not_match_is_not_exported():
    doc = plan_document(golden_plan())
    doc["steps"][0]["title"] = "changed after export"
    for fmt in writers.FORMATS:
        with pytest.raises(BadInput, match="changed after export"):
            writers.render(doc, fmt, OPTIONS)


def test_unknown_options_are_refused():
    with pytest.raises(BadInput, match="unknown option"):
        writers.render(plan_document(golden_plan()), "md", {"colour": "red"})


def test_renderers_show_step_kinds_protocols_and_artifacts_they_have_never_seen():
    """Another generator may add kinds: the renderers show whatever the step says."""
    from nhiplan.core.playbook.model import Artifact

    plan = golden_plan()
    step = plan.steps[0]
    step.kind, step.protocol, step.title = "notify-vendor", "vendor-portal", "Tell the vendor about the move"
    step.artifacts = [Artifact("ticket-template", "text/plain", "Move it.\n", "Ticket text")]
    doc = plan_document(plan)
    for fmt in ("md", "html", "csv"):
        text = writers.render(doc, fmt, OPTIONS).decode("utf-8")
        assert "notify-vendor" in text and "vendor-portal" in text and "Tell the vendor about the move" in text, fmt
    html = writers.render(doc, "html", OPTIONS).decode("utf-8")
    assert "Ticket text" in html and "ticket-template" in html
    assert "notify-vendor" in pdf_text_bytes(writers.render(doc, "pdf", OPTIONS))


def pdf_text_bytes(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_text_outside_the_pdf_fonts_prints_as_a_question_mark_not_nothing():
    plan = golden_plan()
    plan.project["client"] = "東京 Trading"
    text = pdf_text_bytes(writers.render(plan_document(plan), "pdf", OPTIONS))
    assert "?? Trading" in text
