"""File → Export and the Runs dock's Export submenus: the core's exports, from the Lab.

File → Export acts on the Lab's last finished run (metrics as CSV, TensorBoard logs, ONNX)
or on the settings in the panels (the plain PyTorch script), and holds the lab report's
action (app.window_menus adds it). Right-clicking a run in the Runs dock offers the same
exports of that run (its script from its config.toml), a study's header its table of rungs
as CSV and its lab report. Each asks where to write with a file dialog (replaceable: tests
answer it without a person), runs the core function (each export's entry in
core.export.EXPORTS: its menu text, dialog and function, as `python -m core export` has them), and ends in the Lab's words (the banner): the paths written, or the
export's sentence of why nothing was (a missing optional package's names its pip line).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu

from app import report_dialog
from core import LearnScopeError, files
from core.export import BY_FLAG, EXPORTS, RUN, STUDY, Export

NO_RUN = "Train a run first, or right-click a run in the Runs dock."
NO_WEIGHTS = ("This run has no saved weights (weights.pt), so there is no trained network to "
              "export; train it for at least one epoch.")
#: the optional extras, as `pip install 'learnscope[…]'` names them
EXTRAS = {"tensorboard": "tensorboard", "onnx": "onnx", "onnxscript": "onnx"}


#: the exports a run's menus offer, in the table's order (the lab report has its own dialog)
RUN_MENU = tuple(x.flag for x in EXPORTS if RUN in x.menus)


def _offered(key: str) -> tuple[Export, str]:
    """A menu's export and the kind of source it exports: "csv", "script", … for a run (the
    script: also the panels' experiment), "study-csv" for a study's table."""
    if key == "study-csv":
        return BY_FLAG["csv"], STUDY
    return BY_FLAG[key], RUN


def menu_text(key: str) -> tuple[str, str]:
    """(menu text, tooltip) of an export, from its entry in core.export.EXPORTS."""
    x, kind = _offered(key)
    return x.menus[kind]


def export_function(key: str):
    """The core's function behind an export (imported only now: some need optional packages)."""
    x, kind = _offered(key)
    return x.function(kind)


def sentence(e: Exception, target: Path) -> str:
    """Why an export wrote nothing, in a sentence (the core's own, where it gave one)."""
    if isinstance(e, LearnScopeError):
        return str(e)
    if isinstance(e, ModuleNotFoundError):
        name = (e.name or "a package").partition(".")[0]
        extra = EXTRAS.get(name)
        pip = f"pip install 'learnscope[{extra}]'" if extra else f"pip install {name}"
        return f"This export needs the Python package {name}, which is not installed: {pip}."
    if isinstance(e, OSError):
        return (f"Could not write {target} ({e.strerror or e}); choose a folder you can write "
                "to, or free some disk space.")
    return f"The export failed unexpectedly: {type(e).__name__}: {e}"


@contextmanager
def busy():
    """The wait cursor while an export runs in this thread (an ONNX export takes seconds)."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


class Exports(QObject):
    """The Lab's exports: File → Export's actions and the Runs dock's Export submenus."""

    exported = Signal(list)  # the paths written
    failed = Signal(str)     # the sentence the banner shows

    def __init__(self, lab, runs_panel, menu: QMenu, open_report):
        super().__init__(lab)
        self.lab, self.runs_panel = lab, runs_panel
        self.open_report = open_report  # () -> a ReportDialog (the window's, placed over it)
        self.last_run: Path | None = None  # the Lab's last run that finished an epoch
        self.folder = Path.home()  # where the last export went: the next dialog starts there
        # the dialogs, replaceable (tests answer them without a person); "" when cancelled
        self.ask_file = lambda title, start, filter_: QFileDialog.getSaveFileName(
            QApplication.activeWindow(), title, start, filter_)[0]
        self.ask_folder = lambda title, start: QFileDialog.getExistingDirectory(
            QApplication.activeWindow(), title, start)
        menu.setToolTipsVisible(True)
        self.actions = {key: self._action(menu, key, lambda _=False, k=key: self.export_last(k))
                        for key in RUN_MENU}
        menu.aboutToShow.connect(self.suit)
        lab.run_finished.connect(self._finished)
        panel = runs_panel
        panel.extra_menu_actions.append(self.run_actions)
        panel.groups.extra_menu_actions.append(self.study_actions)
        self._run_menu = QMenu("Export", panel)  # refilled for the run each right-click
        self._run_menu.setToolTipsVisible(True)

    def _action(self, menu: QMenu, key: str, fn) -> QAction:
        text, tip = menu_text(key)
        a = QAction(text, menu)
        a.setToolTip(tip)
        a.setStatusTip(tip)
        a.triggered.connect(fn)
        menu.addAction(a)
        return a

    # -- File → Export: the last run, the panels' settings
    def _finished(self, result) -> None:
        if result.run_folder and result.epochs:
            self.last_run = Path(result.run_folder)
        self.suit()

    def suit(self) -> None:
        """ONNX needs the last run's saved weights: disabled, saying why, without them."""
        a, tip = self.actions["onnx"], menu_text("onnx")[1]
        unfit = self.last_run is not None and not (self.last_run / "weights.pt").is_file()
        a.setEnabled(not unfit)
        a.setToolTip(NO_WEIGHTS if unfit else tip)
        a.setStatusTip(NO_WEIGHTS if unfit else tip)

    def export_last(self, key: str) -> list[Path] | None:
        """Export the last finished run (the script: the panels' settings)."""
        if key == "script":
            exp = self.lab.current_experiment()
            return self.export(key, exp, files.slug(exp.name, "experiment"))
        run = self.last_run
        if run is None or not run.is_dir():
            self.lab.say("info", "No run to export yet.", NO_RUN)
            self.failed.emit(NO_RUN)
            return None
        return self.export(key, run, run.name)

    # -- the Runs dock's menus
    def run_actions(self, run) -> list[QAction]:
        """The Export submenu of a run's context menu, for that run."""
        menu = self._run_menu
        menu.clear()  # deletes the actions it owns: last right-click's
        made = {key: self._action(menu, key, lambda _=False, k=key, f=run.folder: self.export(
            k, f, f.name)) for key in RUN_MENU}
        if not (run.folder / "weights.pt").is_file():
            onnx = made["onnx"]
            onnx.setEnabled(False)
            onnx.setToolTip(NO_WEIGHTS)
        report = QAction("Lab report…", menu)
        report.triggered.connect(lambda _=False, f=run.folder: self.report(f))
        menu.addAction(report)
        return [menu.menuAction()]

    def study_actions(self, study) -> list[QAction]:
        """A study header's exports: its table of rungs as CSV, its lab report."""
        text, tip = menu_text("study-csv")
        table = QAction(text, self.runs_panel)
        table.setToolTip(tip)
        table.triggered.connect(lambda _=False, f=study.folder: self.export(
            "study-csv", f, f.name))
        report = QAction("Lab report…", self.runs_panel)
        report.triggered.connect(lambda _=False, f=study.folder: self.report(f))
        return [table, report]

    def report(self, folder: Path) -> report_dialog.ReportDialog:
        """Open the lab report's dialog on a run or study folder."""
        dialog = self.open_report()
        dialog.add_source(folder)
        return dialog

    # -- one export
    def _ask(self, x: Export, name: str) -> Path | None:
        if x.folder:
            chosen = self.ask_folder(x.title, str(self.folder))
        else:
            chosen = self.ask_file(x.title, str(self.folder / f"{name}{x.suffix}"), x.filter)
        return Path(chosen).expanduser() if chosen else None

    def export(self, key: str, source, name: str) -> list[Path] | None:
        """Ask where, export source there, and say in the banner what was written or why
        nothing was; return the paths written (None: cancelled or refused)."""
        x = _offered(key)[0]
        target = self._ask(x, name)
        if target is None:
            return None
        try:
            with busy():
                result = export_function(key)(source, target)
        except Exception as e:  # noqa: BLE001 - a sentence in the banner, never a traceback
            text = sentence(e, target)
            self.lab.say("error", "Cannot export.", text)
            self.failed.emit(text)
            return None
        written = [Path(p) for p in (result if isinstance(result, (list, tuple)) else [result])]
        self.folder = target if x.folder else target.parent
        where = "; ".join(map(str, written))
        if key == "tensorboard":
            where += f" (view it with: tensorboard --logdir {target})"
        self.lab.say("info", "Exported.", where + ".")
        self.exported.emit(written)
        return written
