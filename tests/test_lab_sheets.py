"""The lab sheets: both built-in sheets cover the practical's every question; a bad sheet is
refused naming the question and the field; every action runs (headless, on small data), and a
prepared folder is shown by the window without training."""

from __future__ import annotations

import pytest

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
from core import ConfigError
from core.study import sheets

#: the practical's numbered questions (its answer sheet): Part 1 Q1–17, Part 2 Q1–34
PRACTICAL = {"part1": list(range(1, 18)), "part2": list(range(1, 35))}
SMALL = ["data.n_train=40", "data.n_test=20", "train.batch_size=20"]


@pytest.mark.parametrize("name", sorted(PRACTICAL))
def test_every_question_of_the_practical_has_something_to_do_or_says_why_not(name):
    sheet = sheets.builtin(name)
    assert sheet.part == int(name[-1])
    assert [q.number for q in sheet.questions] == PRACTICAL[name]
    for q in sheet.questions:
        assert q.text and (q.do or q.pen), f"question {q.number}"
        assert q.look or q.pen, f"question {q.number}: nothing to look at"


BAD = [
    ("[sheet]\ntitle = 't'\npart = 3\n[[question]]\nnumber = 1\ntext = 'x'\npen = 'p'",
     "sheet.part: must be 1 or 2, got 3"),
    ("[sheet]\ntitle = 't'\npart = 1\n[[question]]\nnumber = 4\ntext = 'x'",
     "question 4: has nothing to do and no pen"),
    ("[sheet]\ntitle = 't'\npart = 1\n[[question]]\nnumber = 4\ntext = 'x'\n[[question.do]]\n"
     "view = 'filtres'", "question 4: do[1].view: 'filtres' is not one of filters"),
    ("[sheet]\ntitle = 't'\npart = 1\n[[question]]\nnumber = 5\ntext = 'x'\n[[question.do]]\n"
     "preset = 'circles-mlp'\nset = ['optim.lr']", "question 5: do[1].set: "),
    ("[sheet]\ntitle = 't'\npart = 1\n[[question]]\nnumber = 6\ntext = 'x'\n[[question.do]]\n"
     "train = true\nshortcut = 'lr'", "question 6: do[1]: give one of train, shortcut and study"),
    ("[sheet]\ntitle = 't'\npart = 1\n[[question]]\nnumber = 7\ntext = 'x'\n[[question.do]]\n"
     "colour = 'red'", "question 7: do[1].colour: unknown field"),
    ("[sheet]\ntitle = 't'\npart = 1\n[[question]]\nnumber = 8\ntext = ''\npen = 'p'",
     "question 8: text: must be text"),
    ("[sheet]\ntitle = 't'\npart = 1\n[[question]]\nnumber = 'two'\ntext = 'x'\npen = 'p'",
     "question[1].number: must be the question's number"),
    ("[sheet]\ntitle = 't'\npart = 1\n[[question]]\nnumber = 1\ntext = 'x'\npen = 'p'\n"
     "[[question]]\nnumber = 1\ntext = 'y'\npen = 'p'", "question 1: number: given twice"),
    ("[sheet\ntitle = 't'", "not valid TOML"),
]


@pytest.mark.parametrize("text,sentence", BAD)
def test_a_bad_sheet_is_refused_with_a_sentence_naming_the_question_and_the_field(text, sentence):
    with pytest.raises(ConfigError) as refused:
        sheets.loads(text, "mine")
    assert str(refused.value).startswith("mine: ") and sentence in str(refused.value)


def test_every_action_of_both_sheets_runs_on_small_data(tmp_path):
    from core.study.prepare import prepare, read_prepared
    for name in sorted(PRACTICAL):
        sheet = sheets.builtin(name)
        done = prepare(sheet, tmp_path / name, epochs=1, sets=SMALL, say=lambda _line: None)
        training = [q.number for q in sheet.questions if any(a.runs for a in q.do)]
        assert sorted(done) == training, name
        for number, folders in read_prepared(tmp_path / name, name).items():
            for folder in folders:
                assert (tmp_path / name / folder).is_dir(), (number, folder)


def test_a_prepared_folder_shows_a_rungs_filters_without_training(qtbot, window, tmp_path,
                                                                  monkeypatch):
    from app.window_pages import LAB
    from core.cli.main import main
    assert main(["lab", "prepare", "part2", "--out", str(tmp_path / "class"), "--epochs", "1",
                 *sum((["--set", s] for s in SMALL), [])]) == 0
    w = window(run_root=tmp_path / "class")
    desk = w.lab_desk
    desk.pane.chooser.setCurrentIndex(desk.pane.chooser.findData("part2"))
    sheet = desk.pane.sheet
    ladder = next(q for q in sheet.questions if any(a.study for a in q.do))
    started, said = [], []
    w.lab.session_opened.connect(started.append)
    w.lab.message.connect(lambda *args: said.append(args))
    w.pages.setCurrentIndex(LAB)
    desk.pane.list.setCurrentRow(sheet.questions.index(ladder))
    with qtbot.waitSignal(w.lab.run_opened, timeout=30_000):
        desk.pane.do.click()
    assert started == []  # shown from the prepared folder, nothing trained
    # prepared at 1 epoch a rung: the Lab says the ladder needs more, and why
    assert any("trained 1 epoch; ladder-shapes-cnn asks for 16" in text and "stalled" in text
               for _kind, _title, text in said), said
    w.inspect.select("filters")
    view = w.inspect.current()
    qtbot.waitUntil(view.showing, timeout=20_000)
    assert w.lab.subject.kind == "run" and "rung" in str(w.lab.subject.folder)
