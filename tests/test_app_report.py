"""The lab report in the window and as a PDF (offscreen): File → Export → Lab report… on a run
trained in the window, with the ticked Inspect views pictured from the dock, notes kept in
notes.json, the PDF read back (pages, pictures, no figure cut by a page break) and errors in
the banner with nothing written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from core import report
from core import ExportError
from core.engine.train import Trainer
from core.store.writers import recorded


def pdf_counts(path: Path) -> tuple[int, int]:
    """(pages, image objects) of a PDF, read from its object dictionaries (QtPdf, Qt's reader,
    is not in PySide6-Essentials)."""
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    images = len(re.findall(rb"/Subtype\s*/Image\b", data))
    return pages, images


def train(qtbot, w):
    with qtbot.waitSignal(w.run_finished, timeout=60_000) as blocker:
        qtbot.mouseClick(w.training_panel.start, Qt.MouseButton.LeftButton)
    assert blocker.args[0].status == "done", blocker.args[0].message
    return Path(blocker.args[0].run_folder)


def open_dialog(qtbot, w):
    """Trigger File → Export → Lab report… and return the dialog it opens."""
    from app.report_dialog import ReportDialog
    (export,) = [a.menu() for a in w.menuBar().actions()[0].menu().actions() if a.text() == "Export"]
    (act,) = [a for a in export.actions() if a.text() == "Lab report…"]
    act.trigger()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in w.findChildren(ReportDialog)))
    (dialog,) = [d for d in w.findChildren(ReportDialog) if d.isVisible()]
    return dialog


def test_the_dialog_exports_a_pdf_with_the_ticked_views_and_keeps_the_notes(qtbot, window, tmp_path):
    w = window(lab.tiny_shapes(epochs=1))
    folder = train(qtbot, w)
    d = open_dialog(qtbot, w)
    assert d.source.currentText().startswith("Last run:") and d.folder() == folder
    # a CNN on images: filters, confusion, receptive field; no decision boundary
    assert [n for n, b in d.views.items() if b.isEnabled()] == ["filters", "confusion",
                                                                "receptive-field"]
    assert "2D points" in d.views["decision-boundary"].toolTip()
    d.views["filters"].setChecked(True)
    d.views["receptive-field"].setChecked(True)
    assert set(d.note_edits) == {"curves", "filters", "confusion", "receptive-field"}
    qtbot.keyClicks(d.note_edits["receptive-field"], "conv2 sees 10 pixels")
    out = tmp_path / "out" / "report.pdf"
    d.path.setText(str(out))
    with qtbot.waitSignal(d.exported, timeout=60_000) as done:
        qtbot.mouseClick(d.export_button, Qt.MouseButton.LeftButton)
    assert Path(done.args[0]) == out and out.is_file()
    assert "Lab report written" in w.banner.message()
    pages, images = pdf_counts(out)
    # the two ticked views are pictures (the window's filters take the place of the core's),
    # and the strip of the run's epochs is the third
    assert images == 3 and pages >= 3
    assert json.loads((folder / "notes.json").read_text()) == {"receptive-field": "conv2 sees 10 pixels"}
    again = open_dialog(qtbot, w)  # the note comes back from notes.json
    again.views["receptive-field"].setChecked(True)
    assert again.note_edits["receptive-field"].toPlainText() == "conv2 sees 10 pixels"


def test_a_points_run_offers_the_decision_boundary_and_exports_html(qtbot, window, tmp_path):
    w = window(lab.circles(epochs=2))
    train(qtbot, w)
    d = open_dialog(qtbot, w)
    assert [n for n, b in d.views.items() if b.isEnabled()] == ["confusion", "decision-boundary"]
    d.views["decision-boundary"].setChecked(True)
    d.formats["html"].setChecked(True)
    out = tmp_path / "circles.html"
    d.path.setText(str(out))
    with qtbot.waitSignal(d.exported, timeout=60_000):
        qtbot.mouseClick(d.export_button, Qt.MouseButton.LeftButton)
    html = out.read_text(encoding="utf-8")
    title = report.title("decision-boundary", "mlp")
    assert title.startswith("Questions 3–4") and title in html
    # the view's picture and the strip of the run's epochs, embedded
    assert html.count("data:image/png;base64,") == 2


def test_an_unwritable_destination_is_a_banner_and_nothing_is_written(qtbot, window, tmp_path):
    w = window(lab.circles(epochs=1))
    train(qtbot, w)
    d = open_dialog(qtbot, w)
    blocker_file = tmp_path / "not-a-folder"
    blocker_file.write_text("x")
    d.path.setText(str(blocker_file / "report.pdf"))
    with qtbot.waitSignal(d.failed, timeout=30_000) as failed:
        qtbot.mouseClick(d.export_button, Qt.MouseButton.LeftButton)
    assert "Could not write the report" in failed.args[0]
    assert w.banner.kind == "error" and "Cannot export the lab report" in w.banner.message()
    assert d.isVisible() and list(tmp_path.glob("**/*.pdf")) == []


# -- the PDF writer alone
@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    return Path(recorded(Trainer(lab.tiny_shapes(epochs=2)), root).fit().run_folder)


def test_the_pdf_has_a_title_page_every_picture_and_no_figure_cut(qapp, shapes_run, tmp_path):
    from PySide6.QtCore import QBuffer, QIODevice
    from PySide6.QtGui import QColor, QImage

    from app.report_pdf import write_pdf
    image = QImage(900, 700, QImage.Format.Format_RGB888)  # a tall extra figure: a page break
    image.fill(QColor("#3366aa"))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    extra = ("receptive-field", report.title("receptive-field", "cnn"), bytes(buffer.data()))
    result = write_pdf(shapes_run, tmp_path / "r.pdf", figures=[extra])
    pages, images = pdf_counts(result.path)
    assert pages == result.pages and pages >= 3  # the title page, then the sections
    # the core's filters, the strip of epochs and the extra picture
    assert images == result.images == 3
    built = report.build(shapes_run)
    assert set(result.boxes) == {f.id for f in built.figures()} | {"receptive-field"}
    width, height = result.page_size
    for fig_id, (page, rect) in result.boxes.items():  # each on one page, inside it
        assert 2 <= page <= pages, fig_id
        assert rect.top() >= 0 and rect.bottom() <= height and rect.right() <= width + 1, fig_id


def test_the_pdf_writer_refuses_a_folder_that_is_not_a_run(qapp, tmp_path):
    from app.report_pdf import write_pdf
    with pytest.raises(ExportError, match="not a run folder or a study folder"):
        write_pdf(tmp_path, tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_a_study_in_the_runs_folder_is_offered_without_views(qtbot, window, tmp_path):
    from core import study as studies
    from core.study.runner import StudyRunner
    w = window(lab.circles(epochs=1))
    study = studies.Study("two rungs", "independent", lab.circles(epochs=1), (
        studies.Variant("η 0.03"), studies.Variant("η 0.3", ("optim.lr=0.3",), question=11)))
    StudyRunner(study, out=w.runs_panel.root).run()
    d = open_dialog(qtbot, w)
    assert d.source.count() == 1 and d.source.currentText() == "Study: two-rungs"
    assert not any(b.isEnabled() for b in d.views.values())
    assert "study" in d.views["filters"].toolTip()
    assert set(d.note_edits) == {"study-bars", "study-curves"}
    qtbot.keyClicks(d.note_edits["study-bars"], "0.3 learns faster")
    d.formats["html"].setChecked(True)
    assert d.path.text().endswith("two-rungs-report.html")  # the proposed name follows
    d.path.setText(str(tmp_path / "study.html"))
    with qtbot.waitSignal(d.exported, timeout=30_000):
        qtbot.mouseClick(d.export_button, Qt.MouseButton.LeftButton)
    html = (tmp_path / "study.html").read_text(encoding="utf-8")
    assert "Question 11 — test accuracy after each rung" in html and "0.3 learns faster" in html
    assert report.read_notes(w.runs_panel.root / "two-rungs") == {"study-bars": "0.3 learns faster"}
