"""The Lab page: a lab sheet's questions, one at a time, with the student's answers beside them.

The list shows each question's progress (not started / run / answered); the selected one's
text, what to look at and a **Do it** button that sets LearnScope up for it (the window does
the actions: app.window_lab); an answer box saved in the student's notebook as they type
(core.study.notebook); **Add this figure**, which keeps the view or plot on screen with the run
and epoch it shows; and the sheet's model answer, hidden until asked for.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPlainTextEdit,
                               QPushButton, QSplitter, QVBoxLayout, QWidget)

from app.caption import Caption
from app.layout import ignore_width
from app.wheel_guard import ComboBox
from core import ConfigError, LearnScopeError
from core.study import sheets
from core.study.notebook import Notebook

SAVE_AFTER_MS = 600  # an answer is saved this long after the last key
MARKS = {"not started": "○", "run": "◐", "answered": "●"}


class LabPane(QWidget):
    """A sheet's questions and the student's notebook for it (see the module)."""

    do_requested = Signal(object)       # a core.study.sheets.Question: set LearnScope up for it
    figure_requested = Signal(int)      # a question's number: attach what is on screen
    report_requested = Signal()         # write the lab report of the student's notebooks
    message = Signal(str, str, str)     # kind, title, text: the window's banner

    def __init__(self, notebooks=None, parent=None):
        super().__init__(parent)
        self.notebooks = notebooks  # where notebooks live (None: core's default)
        self.sheet: sheets.Sheet | None = None
        self.book: Notebook | None = None
        self.shown: int | None = None  # the number of the question the answer box holds
        self.chooser = ComboBox(self)
        self.chooser.setToolTip("The lab sheet: the practical's questions, part by part.")
        for name in sheets.builtin_sheets():
            self.chooser.addItem(name.replace("part", "Part "), name)
        self.chooser.currentIndexChanged.connect(lambda _i: self.open_sheet(
            self.chooser.currentData()))
        self.list = QListWidget(self)
        self.list.setToolTip("○ not started · ◐ something ran for it · ● answered")
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)  # the whole question: its tooltip
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentRowChanged.connect(self._show_question)
        self.title = Caption("lab-sheet", bold=True, parent=self)
        self.text, self.look = QLabel(self), QLabel(self)
        for label in (self.text, self.look):
            ignore_width(label)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.look.setObjectName("hint")
        self.do = QPushButton("▶  Do it", self)
        self.do.setToolTip("Set LearnScope up for this question: load its experiment, run it, "
                           "open the view to look at.")
        self.do.clicked.connect(self._do)
        self.add_figure = QPushButton("Add this figure", self)
        self.add_figure.setToolTip("Attach the view or plot on screen, with the run and epoch it "
                                   "shows, to this answer.")
        self.add_figure.clicked.connect(lambda: self.figure_requested.emit(self.current().number))
        self.report = QPushButton("Lab report…", self)
        self.report.setToolTip("Write your lab report, Part 1 and Part 2 together: each question "
                               "you answered, your answer, your figures and the runs behind "
                               "them (PDF, and HTML beside it).")
        self.report.clicked.connect(lambda: (self.save(), self.report_requested.emit()))
        self.reveal = QPushButton("Show the model answer", self)
        self.reveal.clicked.connect(self._reveal)
        self.model_answer = QLabel(self)
        ignore_width(self.model_answer)
        self.model_answer.setObjectName("model-answer")
        self.answer = QPlainTextEdit(self)
        self.answer.setPlaceholderText("Your answer (saved as you type).")
        self.answer.textChanged.connect(self._typed)
        self.figures = QLabel(self)
        self.figures.setObjectName("hint")
        ignore_width(self.figures)
        self._save = QTimer(self, singleShot=True, interval=SAVE_AFTER_MS, timeout=self.save)
        self._layout()
        self.open_sheet(self.chooser.currentData())

    def _layout(self) -> None:
        left = QWidget(self)
        col = QVBoxLayout(left)
        col.setContentsMargins(6, 6, 0, 6)
        col.addWidget(self.chooser)
        col.addWidget(self.list, 1)
        col.addWidget(self.report)
        right = QWidget(self)
        col = QVBoxLayout(right)
        col.setContentsMargins(6, 6, 6, 6)
        for w in (self.title, self.text, self.look):
            col.addWidget(w)
        row = QHBoxLayout()
        for b in (self.do, self.add_figure, self.reveal):
            row.addWidget(b)
        row.addStretch(1)
        col.addLayout(row)
        col.addWidget(self.model_answer)
        col.addWidget(self.answer, 1)
        col.addWidget(self.figures)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.setChildrenCollapsible(False)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        QVBoxLayout(self).addWidget(split)
        self.layout().setContentsMargins(0, 0, 0, 0)

    # -- the sheet and its notebook
    def open_sheet(self, name: str | None) -> bool:
        """Open a built-in sheet and the student's notebook for it."""
        self.save()
        self.shown = None
        if not name:
            return False
        try:
            self.sheet = sheets.builtin(name)
            self.book = Notebook.open(name, root=self.notebooks)
        except (ConfigError, LearnScopeError) as e:
            self.message.emit("error", "Cannot open the lab sheet.", str(e))
            return False
        for problem in self.book.problems:
            self.message.emit("warning", "Part of the notebook could not be read.", problem)
        self.list.blockSignals(True)
        self.list.clear()
        for q in self.sheet.questions:
            self.list.addItem(QListWidgetItem())
        self.list.blockSignals(False)
        self.refresh_marks()
        self.list.setCurrentRow(0)
        return True

    def refresh_marks(self) -> None:
        for i, q in enumerate(self.sheet.questions if self.sheet else ()):
            status = self.book.status(q.number)
            item = self.list.item(i)
            item.setText(f"{MARKS[status]}  Q{q.number}  {q.text}")
            item.setToolTip(f"Question {q.number} ({status}): {q.text}")

    def current(self) -> sheets.Question:
        return self.sheet.questions[max(self.list.currentRow(), 0)]

    def _show_question(self, row: int) -> None:
        if self.sheet is None or row < 0:
            return
        self.save()
        q = self.sheet.questions[row]
        self.shown = q.number
        self.title.setText(f"{self.sheet.title} · question {q.number}")
        self.text.setText(q.text)
        look = f"Look at: {q.look}" if q.look else ""
        if q.pen:
            look = f"Pen and paper: {q.pen}" + (f"\n{look}" if look else "")
        self.look.setText(look)
        self.do.setEnabled(bool(q.do))
        self.reveal.setVisible(bool(q.answer))
        self.model_answer.setText(q.answer if q.answer and not q.answer_hidden else "")
        self.model_answer.setVisible(bool(q.answer) and not q.answer_hidden)
        self.answer.blockSignals(True)
        self.answer.setPlainText(self.book.answer(q.number))
        self.answer.blockSignals(False)
        self.show_figures()

    def show_figures(self) -> None:
        q = self.current()
        found = self.book.figures_of(q.number)
        self.figures.setText("" if not found else "Attached: " + "; ".join(
            f.caption or f.file for f in found))

    def _reveal(self) -> None:
        q = self.current()
        self.model_answer.setText(f"Model answer (the sheet's, not yours): {q.answer}")
        self.model_answer.show()

    def _typed(self) -> None:
        self._save.start()

    def save(self) -> None:
        """Save the answer being typed (the list's marks follow)."""
        self._save.stop()
        if self.book is None or self.shown is None:
            return
        try:
            self.book.set_answer(self.shown, self.answer.toPlainText())
        except LearnScopeError as e:
            self.message.emit("error", "Your answer could not be saved.", str(e))
            return
        self.refresh_marks()

    def _do(self) -> None:
        self.save()
        self.do_requested.emit(self.current())
