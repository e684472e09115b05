"""The lab report of a student's notebooks: question by question, the sheet's question, the
student's answer, the figures they attached and the numbers of the runs behind them.

One report holds every sheet given (Part 1 and Part 2 together). The app's words — the
question, a figure's caption, the runs' table — and the student's answer are separate items
(the answer an `Answer`, drawn in a box of its own), so they never mix. A question with neither
an answer nor a figure is left out, and the report says how many were answered.
"""

from __future__ import annotations

import time
from pathlib import Path

from core import ExportError
from core.files import RUN, STUDY, kind_of
from core.report.model import Answer, Figure, Report, Section, Table, Text
from core.store.reader import open_run, open_study
from core.study import sheets
from core.study.notebook import Notebook

RUNS_HEADER = ("run", "epochs", "status", "train acc.", "test acc.")


def _pct(split: dict | None) -> str:
    acc = split.get("accuracy") if isinstance(split, dict) else None
    return f"{acc:.2f} %" if isinstance(acc, (int, float)) else "–"


def _run_rows(folder: Path) -> list[tuple[str, ...]]:
    """The runs a link names: the run, or a study's rungs."""
    if kind_of(folder) == STUDY:
        rungs = sorted(p for p in folder.iterdir() if kind_of(p) == RUN)
        prefix = open_study(folder).name + " · "
    elif kind_of(folder) == RUN:
        rungs, prefix = [folder], ""
    else:
        return [(f"{folder.name} (not found: moved or deleted)", "–", "–", "–", "–")]
    rows = []
    for rung in rungs:
        run = open_run(rung)
        s = run.summary
        rows.append((prefix + run.name, str(s.get("epochs", "–")), str(s.get("status", "–")),
                     _pct(s.get("train")), _pct(s.get("test"))))
    return rows


def _question(book: Notebook, q: sheets.Question) -> list:
    items: list = [Text(f"Question {q.number}. {q.text}")]
    answer = book.answer(q.number).strip()
    items.append(Answer(answer or "(no answer written)"))
    for k, f in enumerate(book.figures_of(q.number), 1):
        try:
            png = (book.folder / f.file).read_bytes()
        except OSError:
            items.append(Text(f"Figure {k} ({f.caption or f.file}) is missing from the notebook."))
            continue
        where = f" — run {Path(f.run).name}, epoch {f.epoch}" if f.run else ""
        items.append(Figure(f"q{book.sheet}-{q.number}-{k}", f"Question {q.number}, figure {k}",
                            png=png, caption=f"{f.caption or f.view}{where}.", from_window=True))
    rows = [row for link in book.runs_of(q.number) for row in _run_rows(Path(link))]
    if rows:
        items.append(Table(f"q{book.sheet}-{q.number}-runs", f"Question {q.number}: the runs "
                           "behind it", RUNS_HEADER, rows, (False, True, False, True, True)))
    return items


def notebook_report(books: list[tuple[sheets.Sheet, Notebook]], student: str) -> Report:
    """The report of a student's notebooks, one section per question answered or illustrated."""
    rep = Report(f"Lab report — {student}", "notebook", books[0][1].folder.parent if books
                 else Path("."))
    answered = 0
    for sheet, book in books:
        for q in sheet.questions:
            if not (book.answer(q.number).strip() or book.figures_of(q.number)):
                continue
            answered += bool(book.answer(q.number).strip())
            rep.sections.append(Section(f"{sheet.title} — question {q.number}", _question(book, q)))
    if not rep.sections:
        raise ExportError(f"{student}'s notebooks hold no answer and no figure yet: answer a "
                          "question on the Lab page first.")
    total = sum(len(s.questions) for s, _ in books)
    rep.facts = [("Student", student), ("Sheets", ", ".join(s.title for s, _ in books)),
                 ("Answered", f"{answered} of {total} questions"),
                 ("Made", time.strftime("%Y-%m-%d %H:%M"))]
    return rep
