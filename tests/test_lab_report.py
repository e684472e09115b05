"""The lab report of a student's notebooks: Part 1 and Part 2 together, question by question,
the student's answer apart from the app's words, their figures and the runs behind them."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from core import ExportError
from core.engine.train import Trainer
from core.report.html_page import render
from core.report.model import Answer, Figure, Table, Text
from core.report.notebook import notebook_report
from core.report.png import encode_png
from core.store.writers import recorded
from core.study import sheets
from core.study.notebook import Notebook

ANSWERED = {"part1": (2, 10, 11), "part2": (19, 23, 34)}


def picture() -> bytes:
    rng = np.random.default_rng(0)
    return encode_png((rng.random((60, 80, 3)) * 255).astype(np.uint8))


@pytest.fixture
def books(tmp_path):
    run = recorded(Trainer(lab.circles(2, **{"data.n_train": 40})), tmp_path / "runs").fit()
    made = []
    for name, numbers in ANSWERED.items():
        book = Notebook.open(name, "ada", tmp_path / "notebooks")
        for n in numbers:
            book.set_answer(n, f"My answer to {name} question {n}: <b>not HTML</b>.")
        book.add_figure(numbers[0], picture(), run.run_folder, 2, "decision-boundary",
                        "decision-boundary · circles-mlp · epoch 2/2")
        book.link_run(numbers[0], run.run_folder)
        made.append((sheets.builtin(name), book))
    return made


def test_the_report_holds_each_answered_question_with_the_answer_apart(books):
    rep = notebook_report(books, "ada")
    headings = [s.heading for s in rep.sections]
    assert [int(h.rsplit(" ", 1)[1]) for h in headings] == [2, 10, 11, 19, 23, 34]
    for section in rep.sections:
        kinds = [type(i) for i in section.items]
        assert kinds[:2] == [Text, Answer]  # the question (the sheet's words), then the answer
        (answer,) = [i for i in section.items if isinstance(i, Answer)]
        assert answer.text.startswith("My answer to")
        assert not any(isinstance(i, Text) and "My answer" in i.text for i in section.items)
    first = rep.sections[0].items
    (figure,) = [i for i in first if isinstance(i, Figure)]
    assert figure.png.startswith(b"\x89PNG") and "epoch 2" in figure.caption
    (runs,) = [i for i in first if isinstance(i, Table)]
    assert runs.rows[0][1] == "2" and runs.rows[0][2] == "done" and runs.rows[0][4].endswith("%")
    assert dict(rep.facts)["Answered"] == "6 of 51 questions"


def test_the_html_escapes_the_answers_and_boxes_them(books):
    page = render(notebook_report(books, "ada"))
    boxes = re.findall(r'<div class="answer"><b>Answer</b>(.*?)</div>', page, re.S)
    assert len(boxes) == 6 and all("&lt;b&gt;not HTML&lt;/b&gt;" in b for b in boxes)


def test_the_pdf_has_the_figures_and_pages(books, qapp, tmp_path):
    from app import report_pdf
    rep = notebook_report(books, "ada")
    result = report_pdf.write_report(rep, tmp_path / "report.pdf", books[0][1].folder.parent)
    data = (tmp_path / "report.pdf").read_bytes()
    assert data.startswith(b"%PDF") and result.pages >= 2 and result.images == 2


def test_an_empty_notebook_says_what_to_do(tmp_path):
    book = Notebook.open("part1", "bo", tmp_path)
    with pytest.raises(ExportError, match="answer a question on the Lab page first"):
        notebook_report([(sheets.builtin("part1"), book)], "bo")
