"""Generating, exporting and reviewing the plan: playbook tab, export dialog, review window with diff."""

from __future__ import annotations

from pathlib import Path

import yaml
from PySide6.QtWidgets import QDialogButtonBox

from nhiplan.core import services
from nhiplan.gui.views.export_dialog import ExportDialog
from nhiplan.gui.views.review_window import FAIL_STYLE, OK_STYLE
from tests.gui.conftest import WAIT, open_in


def _decide_some(window) -> None:
    services.decide(window.store, "corp.acme.test/svc_sql", "keep", "one workload",
                    rotation={"every": "30d", "via": "vault"})
    services.decide(window.store, "corp.acme.test/svc_web", "split", "frontend and batch",
                    agents=[{"name": "web-agent", "action_classes": ["read"]}])
    services.decide(window.store, "corp.acme.test/svc_old", "retire", "unused since 2019")
    window.decisions_changed(["corp.acme.test/svc_sql", "corp.acme.test/svc_web", "corp.acme.test/svc_old"])


def test_generate_shows_waves_steps_and_step_detail(qtbot, window, estate_path):
    open_in(qtbot, window, estate_path)
    _decide_some(window)
    with qtbot.waitSignal(window.plan_generated, timeout=WAIT) as generated:
        window.generate_action.trigger()
    doc = generated.args[0]
    view = window.playbook
    assert window.tabs.currentWidget() is view
    tree = view.browser.tree
    assert tree.topLevelItemCount() == len(doc["waves"]) >= 2
    assert sum(tree.topLevelItem(i).childCount() for i in range(tree.topLevelItemCount())) == len(doc["steps"])
    step = next(s for s in doc["steps"] if s["depends_on"] and s["artifacts"])
    assert view.browser.select_step(step["id"])
    text = view.browser.step_view.toPlainText()
    assert step["title"] in text and "Comes after" in text and "Verification" in text and "Rollback" in text
    assert step["artifacts"][0]["content"].splitlines()[0].strip() in text
    assert "steps in" in view.status.text()
    with qtbot.waitSignal(view.preview_rendered, timeout=WAIT):
        view.render_preview()
    assert len(view.preview.toPlainText()) > 100
    # a decision after generating says the plan is out of date
    services.decide(window.store, "corp.acme.test/svc_rpt", "retire", "")
    window.decisions_changed(["corp.acme.test/svc_rpt"])
    assert "Generate again" in view.status.text()


def test_export_writes_a_verifiable_plan(qtbot, window, estate_path, tmp_path):
    open_in(qtbot, window, estate_path)
    _decide_some(window)
    out = tmp_path / "out"
    out.mkdir()
    formats = [f for f in services.plan_formats() if f in ("yaml", "md", "csv")]
    with qtbot.waitSignal(window.plan_written, timeout=WAIT) as written:
        window.export_plan([(out / f"plan.{f}", f) for f in formats], "generic", {"author": "Test"})
    paths = [Path(p) for p in written.args[0]]
    assert [p.name for p in paths] == [f"plan.{f}" for f in formats]
    assert services.verify_plan(out / "plan.yaml")[0]
    doc = yaml.safe_load((out / "plan.yaml").read_text())
    assert {i["key"] for i in doc["identities"]} >= {"corp.acme.test/svc_sql", "corp.acme.test/svc_web"}
    assert not list(out.glob(".*.tmp")), "no half-written file is left"


def test_export_dialog_collects_formats_target_and_branding(qtbot, window, estate_path, tmp_path, gui_settings):
    open_in(qtbot, window, estate_path)
    dialog = ExportDialog(gui_settings, "Acme estate", str(tmp_path), window)
    qtbot.addWidget(dialog)
    assert dialog.basename.text() == "acme-estate-plan"
    for fmt, box in dialog.format_boxes.items():
        box.setChecked(fmt in ("yaml", "html"))
    dialog.target.setCurrentText("entra")
    dialog.author.setText("Jane Architect")
    dialog.version.setText("v2")
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.result() == ExportDialog.DialogCode.Accepted
    outs = dialog.outputs()
    assert (tmp_path / "acme-estate-plan.yaml", "yaml") in outs
    assert dialog.options()["author"] == "Jane Architect" and dialog.options()["version"] == "v2"
    assert gui_settings.get("plan/target") == "entra" and gui_settings.get("plan/author") == "Jane Architect"


def test_export_dialog_refuses_a_missing_folder(qtbot, gui_settings, tmp_path):
    dialog = ExportDialog(gui_settings, "x", str(tmp_path / "nope"))
    qtbot.addWidget(dialog)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.result() != ExportDialog.DialogCode.Accepted
    assert "does not exist" in dialog.error.text()


def _write_plans(window, tmp_path) -> tuple[Path, Path]:
    _decide_some(window)
    old = services.write_plan(services.make_plan(window.store), tmp_path / "v1.yaml")
    services.decide(window.store, "corp.acme.test/svc_rpt", "retire", "replaced by the new reporting agent")
    services.decide(window.store, "corp.acme.test/svc_old", "undecided", "")
    new = services.write_plan(services.make_plan(window.store), tmp_path / "v2.yaml")
    return old, new


def test_review_shows_integrity_and_diff_highlights(qtbot, window, estate_path, tmp_path):
    open_in(qtbot, window, estate_path)
    old, new = _write_plans(window, tmp_path)
    review = window.open_review(str(new))
    qtbot.addWidget(review)
    assert review.banner.styleSheet() == OK_STYLE and "integrity OK" in review.banner.text()
    assert "read-only" in review.windowTitle()
    with qtbot.waitSignal(review.compared, timeout=WAIT):
        assert review.compare_with(str(old))
    d = review.diff
    added = {s.id for s in d.steps_added}
    removed = {s.id for s in d.steps_removed}
    assert any(i.startswith("corp.acme.test/svc_rpt#") for i in added)
    assert any(i.startswith("corp.acme.test/svc_old#") for i in removed)
    marks = review.browser.marks
    assert all(marks[i] == "added" for i in added) and all(marks[i] == "removed" for i in removed)
    some_added = next(iter(added))
    item = review.browser.items[some_added]
    assert item.background(0).color().name() == "#c8e6c9"
    assert any(review.browser.items[i].text(0).startswith("(removed)") for i in removed)
    assert "svc_rpt" in review.report.toPlainText()
    assert "Compared with v1.yaml" in review.headline.text()


def test_review_says_when_a_plan_was_tampered_with(qtbot, window, estate_path, tmp_path):
    open_in(qtbot, window, estate_path)
    _old, new = _write_plans(window, tmp_path)
    text = new.read_text().replace("replaced by the new reporting agent", "nobody will notice")
    new.write_text(text)
    review = window.open_review(str(new))
    qtbot.addWidget(review)
    assert review.banner.styleSheet() == FAIL_STYLE
    assert "FAILED" in review.banner.text()


def test_review_of_a_file_that_is_not_a_plan_is_a_clear_error(qtbot, window, tmp_path):
    bogus = tmp_path / "x.yaml"
    bogus.write_text("hello: world\n")
    review = window.open_review(str(bogus))
    qtbot.addWidget(review)
    assert review.last_error is not None and "not an nhiplan plan file" in str(review.last_error)
