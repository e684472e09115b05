"""The Lab page: a question's answer is saved as it is typed, a figure is attached with the run
and epoch it shows, and both are there after the window is opened again; Do it sets the window
up for a question."""

from __future__ import annotations

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from app.window_pages import LAB, TRAIN
from core.study.notebook import Notebook


def select(pane, sheet: str, number: int) -> None:
    pane.chooser.setCurrentIndex(pane.chooser.findData(sheet))
    pane.list.setCurrentRow([q.number for q in pane.sheet.questions].index(number))


def test_an_answer_and_a_figure_survive_a_restart(qtbot, window, tmp_path):
    w = window(lab.circles(2))
    pane = w.lab_desk.pane
    w.pages.setCurrentIndex(LAB)
    select(pane, "part1", 2)
    qtbot.keyClicks(pane.answer, "More points: a smoother boundary.")
    qtbot.waitUntil(lambda: Notebook.open("part1", root=pane.notebooks).answer(2).startswith(
        "More points"), timeout=5_000)  # saved as typed, without a button
    assert pane.list.item(1).text().startswith("●")
    with qtbot.waitSignal(w.run_finished, timeout=60_000) as finished:
        assert w.start_training()
    run = finished.args[0].run_folder
    w.pages.setCurrentIndex(TRAIN)  # the student looks at the boundary, then back to the Lab
    w.inspect.select("decision-boundary")
    qtbot.waitUntil(w.inspect.current().showing, timeout=20_000)
    w.pages.setCurrentIndex(LAB)
    pane.add_figure.click()
    (figure,) = Notebook.open("part1", root=pane.notebooks).figures_of(2)
    assert figure.run == run and figure.epoch == 2 and figure.view == "decision-boundary"
    assert (pane.book.folder / figure.file).read_bytes().startswith(b"\x89PNG")
    assert "decision-boundary" in pane.figures.text()
    w.close()

    again = window()
    pane = again.lab_desk.pane
    select(pane, "part1", 2)
    assert pane.answer.toPlainText() == "More points: a smoother boundary."
    assert "decision-boundary" in pane.figures.text()


def test_a_views_figure_is_its_picture_without_its_controls(qtbot, window):
    w = window(lab.circles(2))
    for name, view in w.inspect.views.items():
        figure = view.figure()
        assert figure is (view.table if name == "confusion" else view.canvas), name


def test_do_it_shows_the_layer_table_without_training(qtbot, window):
    w = window(lab.circles(2))
    pane = w.lab_desk.pane
    select(pane, "part2", 10)  # the layer table and the parameter counts: pen and paper, helped
    question = pane.current()
    assert any(a.show == "layers" for a in question.do), question
    started = []
    w.lab.session_opened.connect(started.append)
    pane.do.click()
    qtbot.waitUntil(lambda: w.tabs.tabText(w.tabs.currentIndex()) == "Model", timeout=5_000)
    assert started == [] and w.lab.current_experiment().model.kind == "cnn"
