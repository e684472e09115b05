"""The Lab page's actions, done by the window's parts (one of the window's own files).

**Do it** runs a question's actions in order: load a preset (asking first when the panels hold
unsaved changes), apply its settings, train it or run Part 1's shortcut or a study, then open
the view or the part of the window to look at. The runs a question started are linked in the
student's notebook. **Add this figure** keeps the figure on screen — the Inspect view's
picture on the Inspect page, else the curves — as a PNG, without the controls around it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, QObject
from PySide6.QtWidgets import QFileDialog

from app.panels.lab import LabPane
from app.window_pages import INSPECT, LAB, RESULTS, RUNS, TRAIN
from core import ConfigError, LearnScopeError, files
from core import study as studies
from core.experiment import config as cfg
from core.experiment import presets
from core.store import reader as run_reader
from core.store.reader import default_root
from core.report import write_text
from core.report.html_page import render
from core.report.notebook import notebook_report
from core.study import sheets
from core.study.notebook import Notebook, student_name
from core.study.prepare import read_prepared

#: where each `show` of a sheet turns to: an Experiment tab's title, or a page
SHOW_TAB = {"equations": "Part 1", "gradcheck": "Part 1", "layers": "Model"}
SHOW_PAGE = {"results": RESULTS, "runs": RUNS}


def png_of(widget) -> bytes:
    """The widget drawn as PNG bytes."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buffer, "PNG")
    return bytes(buffer.data())


class LabDesk(QObject):
    """Does what the Lab page asks, with the window's parts."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.runs = Path(window.lab.run_root) if window.lab.run_root else default_root()
        self.pane = LabPane(self.runs.parent / "notebooks" if window.lab.run_root else None)
        self.pane.do_requested.connect(self.do)
        self.pane.figure_requested.connect(self.add_figure)
        self.pane.report_requested.connect(self.ask_report)
        self.ask_file = lambda title, start, pattern: QFileDialog.getSaveFileName(
            window, title, start, pattern)[0]  # replaceable: tests answer without a person
        self.pane.message.connect(window.lab.say)
        self.doing = None  # the question whose runs are training
        window.lab.run_finished.connect(self._run_finished)
        window.part2_panel.trainer.finished.connect(lambda _rows: self._study_finished())

    # -- Do it
    def do(self, question) -> None:
        loads = any(a.preset or a.set for a in question.do)
        if loads:
            self.w.files._after_unsaved_check(lambda: self._run(question))
        else:
            self._run(question)

    def _run(self, question) -> None:
        w = self.w
        self.doing = question
        try:
            if not self._show_prepared(question):
                for action in question.do:
                    self._act(action)
        except (ConfigError, LearnScopeError) as e:
            w.lab.say("error", f"Question {question.number} could not be set up.", str(e))

    def _show_prepared(self, question) -> bool:
        """Open the runs `python -m core lab prepare` trained for question, if it did: a
        study's last rung (the Runs page lists them all), else the run; then its view."""
        folders = read_prepared(self.runs, self.pane.sheet.name).get(question.number)
        if not folders:
            return False
        w, last = self.w, Path(folders[-1])
        short = None
        if files.kind_of(last) == files.STUDY:
            rungs = sorted(p for p in last.iterdir() if files.kind_of(p) == files.RUN)
            if not rungs:
                return False
            last = rungs[-1]
            epochs = int(run_reader.open_run(last).summary.get("epochs") or 0)
            named = next((a.study for a in question.do if a.study), None)  # as the sheet asks
            asked = studies.builtin(named) if named else studies.load(last.parent / "study.toml")
            short = studies.too_short(asked, epochs)
        w.lab.open_run(run_reader.open_run(last))
        for a in question.do:
            if a.view:
                w.inspect.select(a.view)
        w.pages.setCurrentIndex(INSPECT if any(a.view for a in question.do) else TRAIN)
        w.lab.say("warning" if short else "info", f"Question {question.number}: a prepared run.",
                  f"{last.name}, trained beforehand ({len(folders)} prepared for this question); "
                  "nothing was trained now." + (f" {short}" if short else ""))
        return True

    def _act(self, a) -> None:
        w, lab = self.w, self.w.lab
        if a.preset or a.set or a.epochs:
            exp = presets.load(a.preset) if a.preset else lab.current_experiment()
            sets = list(a.set) + ([f"train.epochs={a.epochs}"] if a.epochs and not a.study else [])
            lab.load_experiment(cfg.with_overrides(exp, sets))
        if a.train:
            w.pages.setCurrentIndex(TRAIN)
            lab.start_training()
        if a.shortcut:
            w.pages.setCurrentIndex(TRAIN)
            w.part1_panel.run_sweep(a.shortcut)
        if a.study:
            p = w.part2_panel
            study = studies.builtin(a.study)
            p.set_study(study)
            p.epochs.setValue(a.epochs)
            short = studies.too_short(study, a.epochs)
            if short:
                w.lab.say("warning", "A short study.", short)
            w.tabs.setCurrentWidget(w.tabs.widget(self._tab("Part 2")))
            p.run()
        if a.view:
            w.inspect.select(a.view)
            if not a.runs:
                w.pages.setCurrentIndex(INSPECT)
        if a.show in SHOW_TAB:
            w.tabs.setCurrentIndex(self._tab(SHOW_TAB[a.show]))
        elif a.show in SHOW_PAGE:
            w.pages.setCurrentIndex(SHOW_PAGE[a.show])

    def _tab(self, title: str) -> int:
        tabs = self.w.tabs
        return next(i for i in range(tabs.count()) if tabs.tabText(i) == title)

    def _run_finished(self, result) -> None:
        if self.doing is not None and result.run_folder:
            self._link(result.run_folder)

    def _study_finished(self) -> None:
        p = self.w.part2_panel
        if self.doing is not None and p.study is not None:
            self._link(self.runs / studies.folder_name(p.study))

    def _link(self, folder) -> None:
        try:
            self.pane.book.link_run(self.doing.number, folder)
        except LearnScopeError as e:
            self.w.lab.say("error", "The run could not be linked in your notebook.", str(e))
        self.pane.refresh_marks()

    # -- the lab report
    def ask_report(self) -> None:
        pane = self.pane
        start = str(pane.book.folder.parent / "lab-report.pdf") if pane.book else "lab-report.pdf"
        chosen = self.ask_file("Write the lab report", start, "PDF (*.pdf)")
        if chosen:
            self.write_report(Path(chosen).with_suffix(".pdf"))

    def write_report(self, pdf: Path) -> list[Path]:
        """Write the report of this student's notebooks, every sheet together, as PDF and as
        HTML beside it; say what was written (or why not) in the banner."""
        from app import report_pdf
        pane, lab = self.pane, self.w.lab
        try:
            books = [(sheets.builtin(n), Notebook.open(n, root=pane.notebooks))
                     for n in sheets.builtin_sheets()]
            rep = notebook_report(books, student_name())
            source = pane.book.folder.parent
            written = [report_pdf.write_report(rep, pdf, source).path,
                       write_text(pdf.with_suffix(".html"), render(rep), "report", source)]
        except (ConfigError, LearnScopeError) as e:
            lab.say("error", "Cannot write the lab report.", str(e))
            return []
        lab.say("info", "Lab report written.", "; ".join(map(str, written)))
        return written

    # -- Add this figure
    def add_figure(self, number: int) -> None:
        w = self.w
        subject = w.lab.subject
        view = w.inspect.current()
        if w.pages.currentIndex() in (INSPECT, LAB) and view.showing():
            name = next((n for n, v in w.inspect.views.items() if v is view), "view")
            picture = view.figure()
        else:  # the curves: on the Train page, or when the view has nothing to show
            name, picture = "curves", w.plots.canvas
        caption = f"{name} · {subject.words()}"
        try:
            self.pane.book.add_figure(number, png_of(picture), subject.folder, subject.epoch,
                                      name, caption)
        except LearnScopeError as e:
            w.lab.say("error", "The figure could not be attached.", str(e))
            return
        w.lab.say("info", "Figure attached.", f"Question {number}: {caption}.")
        self.pane.refresh_marks()
        self.pane.show_figures()
