"""LearnScope's main window: lays out the panels, the plots and the views, and connects them
to the Lab (app.lab_model), which owns the experiment, the subject on screen and the training
session."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QFrame, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout

from app import layout, messages, report_dialog
from app.banner import BannerView
from app.curves import CurvesPane
from app.experiment_files import ExperimentFiles
from app.form import in_words
from app.lab_model import Lab, broken_rule
from app.window_lab import LabDesk
from app.live_display import TICK_MS, LiveDisplay
from app.panels.data import DataPanel
from app.panels.model import ModelPanel
from app.panels.optim import OptimPanel
from app.panels.part1 import Part1Panel
from app.panels.part2 import Part2Panel
from app.panels.runs import RunsPanel
from app.panels.training import TrainingPanel
from app.presentation import Presentation
from app.questions import Questions
from app.results_page import ResultsPage
from app.settings import first_experiment, open_settings
from app.style import QSS
from app.views.inspect_dock import InspectPanel
from app.views.plots import PlotsView
from app.window_docks import Docks
from app.window_menus import build_menus, suit_sweep_actions
from app.window_pages import RESULTS, RUNS, TRAIN, Pages
from core.experiment import config as cfg

CLOSE_WAIT_MS = 1900  # closing mid-run waits this long for the worker (it must end within 2 s)


class MainWindow(QMainWindow):
    """The lab: the Experiment tabs at the side, the pages (Train, Results, Inspect, Runs)."""

    def __init__(self, exp: cfg.Experiment | None = None, settings=None, run_root=None,
                 persist: bool = True):
        super().__init__()
        # the GUI thread's own torch work (the Inspect views) runs on one thread: an OpenMP
        # team of its own would slow the training thread's by 6-8 % (2-core VM, the CNN)
        torch.set_num_threads(1)
        self.lab = lab = Lab(settings or open_settings(), run_root, persist, parent=self)
        lab.read_panels, lab.asker = self.current_experiment, self.ask
        self.questions = Questions(self)  # the one open yes/no question, if any
        self.setStyleSheet(QSS)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.data_panel, self.model_panel = DataPanel(), ModelPanel()
        self.optim_panel, self.training_panel = OptimPanel(), TrainingPanel()
        self.banner, self.plots = BannerView(), PlotsView()
        self.runs_panel = RunsPanel(run_root)
        self.part1_panel = Part1Panel(lab, self.runs_panel)
        self.part2_panel = Part2Panel(lab, self.runs_panel)  # a study's rungs, trained in the Lab
        self.panels = [self.data_panel, self.model_panel, self.optim_panel, self.training_panel,
                       self.part1_panel]
        self._lay_out()
        self.presentation = Presentation(self)
        self.live = LiveDisplay(self.plots, self.inspect, self.runs_panel, self.training_panel,
                                self.lab.advance)
        self.tick = self.live.tick  # the plots, the Inspect view and the progress line, updated
        self.timer = QTimer(self, interval=TICK_MS, timeout=self.tick)
        self.files = ExperimentFiles(lab, self.panels)  # open, save, recent files; the title
        self.files.title_changed.connect(self._show_title)
        self.setAcceptDrops(True)
        self.installEventFilter(self.files)  # an experiment file dropped on the window opens
        build_menus(self)
        self._connect()
        lab.load_experiment(exp or first_experiment(lab.settings))
        self._restore()

    # the Lab's state, under the names the window's parts and the tests know
    settings = property(lambda self: self.lab.settings)
    persist = property(lambda self: self.lab.persist)
    run_root = property(lambda self: self.lab.run_root)
    session = property(lambda self: self.lab.session)
    problem = property(lambda self: self.lab.problem)
    experiment = property(lambda self: self.lab.experiment)
    run_started = property(lambda self: self.lab.run_started)
    run_finished = property(lambda self: self.lab.run_finished)

    def _lay_out(self) -> None:
        """The pages in the centre (window_pages: Train, Results, Inspect, Runs); the
        Experiment tabs in a dock at the side."""
        bar = QFrame(objectName="trainingBar")
        QVBoxLayout(bar).addWidget(self.training_panel)
        bar.layout().setContentsMargins(0, 0, 0, 0)
        self.curves = curves = CurvesPane(self.plots)
        self.plots_caption = curves.caption
        self.inspect = InspectPanel(self.lab)  # filters, feature maps, receptive field, …
        self.results_page = ResultsPage({"Part 2": self.part2_panel.results,
                                         "Part 1": self.part1_panel.results})
        self.lab_desk = LabDesk(self)  # the Lab page: a lab sheet's questions and the answers
        self.pages = Pages(bar, curves, self.results_page, self.inspect, self.runs_panel,
                           self.lab_desk.pane, self.banner)
        self.setCentralWidget(self.pages)

        self.tabs = QTabWidget()
        for panel, title in ((self.data_panel, "Data"), (self.model_panel, "Model"),
                             (self.optim_panel, "Optimisation"), (self.part1_panel, "Part 1"),
                             (self.part2_panel, "Part 2")):
            self.tabs.addTab(layout.VerticalScroll(panel), title)
        layout.compact_forms(self.tabs)  # the panels fit a ~300 px dock without scrolling sideways
        self.tabs.setUsesScrollButtons(False)  # every tab in sight (they fit: short names)
        # five tabs in a ~300 px dock: 4 px side padding, not the window's 8
        self.tabs.setStyleSheet("QTabBar::tab { padding: 6px 4px; }")
        self.docks = Docks(self)
        self.experiment_dock = self.docks.add("Experiment", self.tabs,
                                              Qt.DockWidgetArea.LeftDockWidgetArea)

    def _connect(self) -> None:
        for p in self.panels:
            p.changed.connect(self._refresh)
        t = self.training_panel
        t.start_requested.connect(self.start_training)
        t.pause_requested.connect(self.pause_training)
        t.resume_requested.connect(self.resume_training)
        t.stop_requested.connect(self.stop_training)
        r = self.runs_panel
        r.overlays_changed.connect(lambda: self.plots.set_overlays(r.overlays()))
        r.load_requested.connect(self.lab.load_experiment)
        r.inspect_requested.connect(self.lab.open_run)
        r.message.connect(self.banner.show_message)
        self.part2_panel.results_requested.connect(lambda: self.pages.setCurrentIndex(RESULTS))
        lab = self.lab
        lab.experiment_loaded.connect(self._show_experiment)
        lab.session_opened.connect(self._session_opened)
        lab.session_closed.connect(self._finished)
        lab.message.connect(self._say)
        lab.run_opened.connect(self._run_opened)
        lab.subject_changed.connect(self._show_subject)
        lab.overlays_requested.connect(self._overlay)

    # -- the layout
    def reset_layout(self) -> None:
        """The default arrangement for this screen (window_docks.Docks.reset), out of
        presentation mode."""
        if self.presentation.active:
            self.presentation.leave()
        self.docks.reset()

    def follow_resizes(self, arrange) -> None:
        """Call arrange() after each resize until the window manager has settled the window."""
        self.docks.follow_resizes(arrange)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.docks.shown()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.docks.resized()

    # -- the experiment in the panels
    def load_experiment(self, exp: cfg.Experiment) -> None:
        """Show exp in every panel (the Lab's base for the next run)."""
        self.lab.load_experiment(exp)

    def _show_experiment(self, exp: cfg.Experiment) -> None:
        for p in self.panels:
            p.load(exp)
        self.files.shown()  # the title: the file's name, or the experiment's
        self.inspect.suit(exp)
        self._refresh()

    def current_experiment(self) -> cfg.Experiment:
        """Return the Experiment the panels describe (not validated)."""
        exp = copy.deepcopy(self.lab.experiment)
        for p in self.panels:
            p.store(exp)
        return exp

    def _say(self, kind: str, title: str, text: str) -> None:
        """The Lab's words in the banner ("clear": an earlier message is answered)."""
        (self.banner.hide() if kind == "clear" else self.banner.show_message(kind, title, text))

    def _show_title(self, name: str, modified: bool) -> None:
        """The title names the file or preset of settings not trained yet, else the subject."""
        subject = self.lab.subject
        shown = name if subject.kind == "experiment" else subject.words()
        self.setWindowTitle(f"LearnScope — {shown}[*]")  # Qt shows "*" there while modified
        self.setWindowModified(modified)

    def _show_subject(self, subject) -> None:
        """Every view, the status line and the title name the Lab's subject."""
        words = subject.words()
        self.curves.show_subject(subject)
        self.inspect.show_subject(f"Network: {words}")
        self.training_panel.show_subject(words)
        if subject.kind == "live":  # an epoch further: no setting changed, the * stays
            self._show_title("", self.isWindowModified())
        else:
            self.files.update_title()
        if subject.kind == "experiment":  # settings not trained yet: no curves, no network
            self.plots.clear()
            self.inspect.clear_run()
            self.training_panel.reset_progress(self.lab.experiment.train.epochs)
            if self.problem is None:
                self.training_panel.show_message("Ready.")

    def _refresh(self) -> None:
        exp = self.current_experiment()
        self.optim_panel.set_data_size(exp)
        problem = self.model_panel.show_layers(exp)
        self.part1_panel.show_experiment(exp)
        # text typed in a number box that is not a number yet: the box still holds its old
        # value, so that is what validate would see; say what is wrong with the text first
        typed = next(filter(None, (p.typed_problem() for p in self.panels)), None)
        bad = typed or broken_rule(exp)
        path = bad.split(":", 1)[0] if bad else None
        for p in self.panels:
            p.mark(path, bad or "")
        self.lab.problem = typed or problem or bad
        self.training_panel.set_ready(in_words(self.problem) if self.problem else None)
        self.start_action.setEnabled(self.problem is None and self.session is None)
        suit_sweep_actions(self, exp)

    # -- training
    @property
    def fit_info(self):
        """The running (or last) run's core.engine.train.FitInfo, once its fit started."""
        return self.live.info

    def is_training(self) -> bool:
        return self.lab.is_training()

    def start_training(self, run_folder=None) -> bool:
        """Start a run with the panels' settings (the Lab's start_training)."""
        return self.lab.start_training(run_folder)

    def _session_opened(self, session) -> None:
        """A run starts: the window's widgets follow it (the Lab starts its thread next)."""
        exp = self.lab.experiment
        session.data_progressed.connect(self._data_progressed)
        session.data_noted.connect(self.training_panel.show_message)
        session.fit_started.connect(self._fit_started)
        self.plots.clear()
        self.banner.hide()
        self.training_panel.set_running(True)
        self.training_panel.show_message("Preparing the data…")
        self.start_action.setEnabled(False)
        self.training_panel.reset_progress(exp.train.epochs)
        self.live.start(session)
        self.timer.start()
        self._save_experiment()

    def pause_training(self) -> None:
        if self.lab.pause_training():
            self.training_panel.set_paused(True)
            self.live.paused()

    def resume_training(self) -> None:
        if self.lab.resume_training():
            self.training_panel.set_paused(False)
            self.live.resumed()

    def toggle_pause(self) -> None:
        if self.session is not None:
            (self.resume_training if self.session.paused else self.pause_training)()

    def stop_training(self) -> None:
        if self.lab.stop_training():
            self.training_panel.set_stopping()
            self.training_panel.show_message("Stopping at the next batch…")

    def _data_progressed(self, done: int, total: int) -> None:
        self.training_panel.show_message(f"Decoding images {done:,}/{total:,}…")

    def _fit_started(self, info) -> None:
        self.live.fit_started(info)
        self.runs_panel.set_running(info.run_folder)
        self.plots.set_steps_per_epoch(info.steps_per_epoch, info.epochs)
        self.training_panel.show_message(
            f"Training on {info.device} ({info.precision}): {info.n_train:,} train / {info.n_val:,} val / "
            f"{info.n_test:,} test examples, {info.params:,} parameters"
            + ("   ·   paused" if self.session is not None and self.session.paused else ""))
        if info.skipped:  # the CLI warns of them on its terminal; the window says it here
            self.banner.show_message("warning", *messages.skipped_files(info.skipped, info.skipped_files))

    def _finished(self, result) -> None:
        self.live.finish()  # the bar at the last step drawn (the line gets the outcome below)
        self.timer.stop()
        self.training_panel.set_running(False)
        self._refresh()
        line, banner = messages.run_outcome(result)
        if banner is not None:
            self.banner.show_message(*banner, in_words(result.message))
        self.training_panel.show_message(line)
        self.runs_panel.set_running(None)  # reads the runs again, this one finished

    def _run_opened(self, run) -> None:
        """A finished run is the subject: its curves (ticked in the Runs dock), its final
        numbers on the status line, its network in the Inspect views."""
        self.plots.clear()
        self._overlay({Path(run.folder).resolve()}, keep=True)
        self.training_panel.show_message(messages.run_summary(run))
        s = self.lab.subject
        self.training_panel.show_finished(s.epoch, s.epochs or s.epoch)
        self.inspect.inspect_run(run)
        if self.pages.currentIndex() == RUNS:  # opened from the list: see it
            self.pages.setCurrentIndex(TRAIN)

    def _overlay(self, folders, keep: bool) -> None:
        """Tick these runs in the Runs dock (and untick the others unless keep), so that their
        curves overlay the plots."""
        panel = self.runs_panel
        panel.refresh()
        for i, run in enumerate(panel.runs):
            if Path(run.folder).resolve() in folders:
                panel.set_checked(i, True)
            elif not keep:
                panel.set_checked(i, False)

    # -- files
    def open_report(self):
        """File → Export → Lab report…: the dialog, over this window."""
        return report_dialog.open_dialog(self.lab, self.runs_panel, self.inspect,
                                         self.docks.wide_inspect, self)

    def export_plots(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plots", "learnscope-plots.png", "PNG (*.png)")
        if path and not self.plots.export_png(path):
            self.banner.show_message("error", "Cannot export.", f"Could not write {path}.")

    # -- persistence and closing
    def _save_experiment(self) -> None:
        if self.persist:
            self.settings.setValue("experiment", cfg.dumps(self.current_experiment()))

    def _restore(self) -> None:
        self.docks.restore(self.settings)
        self.plots.set_log_scale(str(self.settings.value("plots/log_scale", "false")).lower() == "true")
        self.tabs.setCurrentIndex(int(self.settings.value("window/tab", 0) or 0))
        self.pages.setCurrentIndex(int(self.settings.value("window/page", 0) or 0))

    def save_settings(self) -> None:
        if not self.persist:
            return
        s = self.settings
        size = self.size()
        if self.presentation.active:  # the layout to come back to is the one before it
            size = self.presentation.leave()
        self.docks.save(s, size)
        s.setValue("window/tab", self.tabs.currentIndex())
        s.setValue("window/page", self.pages.currentIndex())
        s.setValue("plots/log_scale", self.plots.log.isChecked())
        self._save_experiment()
        s.sync()

    def shutdown(self, wait_ms: int = CLOSE_WAIT_MS) -> bool:
        """Stop a run in progress and wait for its thread; return whether it ended."""
        s = self.session
        if s is None:
            return True
        s.stop()
        ended = s.wait(wait_ms)
        self.timer.stop()
        return ended

    def ask(self, title: str, text: str, yes: str, no: str, then) -> QMessageBox:
        """A yes/no question over the window that does not block (app.questions)."""
        return self.questions.ask(title, text, yes, no, then)

    @property
    def _question(self) -> QMessageBox | None:
        return self.questions.open

    def closeEvent(self, event) -> None:
        s = self.session
        if s is not None and s.is_running() and not s.stopping:
            event.ignore()  # asked first; "stop and quit" closes again
            self.ask("Quit LearnScope?",
                     "A run is training. Stop it and quit?\n\nThe finished epochs stay on disk "
                     "(in the Runs list); the epoch in progress is lost.",
                     "Stop the run and quit", "Keep training", self._quit_answered)
            return
        self.shutdown()
        self.save_settings()
        event.accept()

    def _quit_answered(self, stop: bool) -> None:
        if stop:
            if self.session is not None:
                self.session.stop()  # a stopping run is not asked about again
            self.close()
