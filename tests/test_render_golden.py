"""Golden files: every export format of a small hand-built plan, byte for byte.

The plan is built from the playbook's data types (tests/render_estates.py), so
these files change only when a renderer changes. After an intended change,
regenerate them and read the diff before committing:

    NHIPLAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_render_golden.py

The PDF's golden is its text (pypdf), without page headers, footers and the
contents pages, with white space collapsed: that is what the PDF says, which
does not move when a new fpdf2 release nudges a line break or a page break.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from nhiplan.core.render import writers
from nhiplan.core.render.canonical import plan_document
from nhiplan.core.render.diff import diff_documents, render_markdown, render_text
from tests.render_estates import GOLDEN_OPTIONS, golden_plan, write_logo

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("NHIPLAN_UPDATE_GOLDEN") == "1"


def check_golden(name: str, actual: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
    assert path.exists(), f"{path} is missing; run NHIPLAN_UPDATE_GOLDEN=1 pytest {__file__}"
    expected = path.read_bytes()
    if actual != expected:
        # Show where it starts to differ rather than two walls of text.
        at = next((i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b),
                  min(len(actual), len(expected)))
        raise AssertionError(f"{name} differs from its golden file at byte {at}:\n"
                             f"  golden: {expected[max(0, at - 80):at + 80]!r}\n"
                             f"  now:    {actual[max(0, at - 80):at + 80]!r}\n"
                             f"If the change is intended: NHIPLAN_UPDATE_GOLDEN=1 pytest {__file__}")


@pytest.fixture(scope="module")
def doc():
    return plan_document(golden_plan())


@pytest.fixture(scope="module")
def options(tmp_path_factory):
    return dict(GOLDEN_OPTIONS, logo=str(write_logo(tmp_path_factory.mktemp("logo"))))


@pytest.mark.parametrize("fmt", ["yaml", "md", "html", "csv"])
def test_text_formats_match_their_golden_files(doc, options, fmt):
    check_golden(f"plan{writers.SUFFIXES[fmt]}", writers.render(doc, fmt, options))


def pdf_content_text(data: bytes, title: str) -> str:
    """The PDF's text without page furniture and contents pages, white space collapsed."""
    kept = []
    for page in PdfReader(io.BytesIO(data)).pages:
        lines = page.extract_text().splitlines()
        if lines and lines[0].startswith(title):
            lines = lines[1:]  # the running header
        lines = [ln for ln in lines if not re.match(r"^plan sha256 [0-9a-f]{64}|^page \d+ of \d+$", ln)]
        if lines and lines[0].strip() == "Contents":
            continue
        kept.append(" ".join(lines))
    return re.sub(r"\s+", " ", " ".join(kept)).strip() + "\n"


def test_pdf_text_matches_its_golden_file(doc, options):
    data = writers.render(doc, "pdf", options)
    check_golden("plan.pdf.txt", pdf_content_text(data, "Migration plan").encode("utf-8"))


def test_diff_of_two_versions_matches_its_golden_files(doc):
    """The change a board would see between two versions: a decision changes, a step goes,
    a step changes risk and moves wave, a finding is resolved."""
    changed = golden_plan()
    sql = changed.identities[1]
    changed.identities[1] = dict(sql, reason="vault rotation is not enough", rotation={"every": "7d", "via": "vault"})
    changed.steps = [s for s in changed.steps if s.id != "corp.example/svc_web#provision:ci-agent"]
    for s in changed.steps:
        if s.id == "corp.example/svc_old#disable":
            s.risk, s.wave = "high", 3
        if s.id == "corp.example/svc_web#cutover:ci-agent":
            s.depends_on, s.because = [], []
    changed.findings = [f for f in changed.findings if f.code != "agent-client-secret"]
    new = plan_document(changed)
    d = diff_documents(doc, new, "approved.yaml", "proposed.yaml")
    check_golden("diff.txt", render_text(d).encode("utf-8"))
    check_golden("diff.md", render_markdown(d).encode("utf-8"))
