"""LearnScope's main window: composes the panels and the plots, and owns the training session."""

from __future__ import annotations

import copy
import gc

import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QApplication, QFileDialog, QFrame, QMainWindow, QMessageBox,
                               QTabWidget, QVBoxLayout, QWidget)

from app import layout, messages, wheel_guard
from app.banner import BannerView
from app.experiment_files import ExperimentFiles
from app.form import in_words
from app.live_display import TICK_MS, LiveDisplay
from app.panels.data import DataPanel
from app.panels.model import ModelPanel
from app.panels.optim import OptimPanel
from app.panels.part1 import Part1Panel
from app.panels.part2 import Part2Panel
from app.panels.runs import RunsPanel
from app.panels.training import TrainingPanel
from app.presentation import Presentation
from app.settings import first_experiment, open_settings
from app.style import QSS
from app.views.inspect_dock import InspectPanel
from app.views.plots import PlotsView
from app.window_docks import Docks
from app.window_menus import build_menus, suit_sweep_actions
from app.worker import TrainingSession
from core import config as cfg
from core.data import registry as datasets
from core.errors import ConfigError

CLOSE_WAIT_MS = 1900  # closing mid-run waits this long for the worker (it must end within 2 s)


def broken_rule(exp: cfg.Experiment) -> str | None:
    """Return the engine's sentence for the first rule exp breaks ('path: why'), or None."""
    try:
        cfg.validate(exp)
        datasets.check_folders(exp.data)
    except ConfigError as e:
        return str(e)
    return None


class MainWindow(QMainWindow):
    """The lab: experiment panels on the left, training bar and live plots centre, runs below."""

    run_finished = Signal(object)   # core.train.FitResult, once the worker thread has ended
    run_started = Signal(object)    # app.worker.TrainingSession, once its thread has started

    def __init__(self, exp: cfg.Experiment | None = None, settings=None, run_root=None,
                 persist: bool = True):
        super().__init__()
        # the GUI thread's own torch work (the Inspect views) runs on one thread: an OpenMP
        # team of its own would slow the training thread's by 6-8 % (2-core VM, the CNN)
        torch.set_num_threads(1)
        wheel_guard.install(QApplication.instance())  # a wheel changes only a focused field
        self.settings = settings or open_settings()
        self.persist, self.run_root = persist, run_root
        self.session: TrainingSession | None = None
        self.problem: str | None = None
        self.setWindowTitle("LearnScope")
        self.setStyleSheet(QSS)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.data_panel, self.model_panel = DataPanel(), ModelPanel()
        self.optim_panel, self.training_panel = OptimPanel(), TrainingPanel()
        self.banner, self.plots = BannerView(), PlotsView()
        self.runs_panel = RunsPanel(run_root)
        self.part1_panel = Part1Panel(self)
        self.part2_panel = Part2Panel(self)  # a study's rungs, trained through this window
        self.panels = [self.data_panel, self.model_panel, self.optim_panel, self.training_panel,
                       self.part1_panel]
        self._lay_out()
        self.presentation = Presentation(self)
        self.live = LiveDisplay(self.plots, self.inspect, self.runs_panel, self.training_panel)
        self.timer = QTimer(self, interval=TICK_MS, timeout=self.tick)
        self._question: QMessageBox | None = None  # the one open ask(), if any
        self.files = ExperimentFiles(self)  # open, save, recent files, drops; the title
        build_menus(self)
        self._connect()
        self.load_experiment(exp or first_experiment(self.settings))
        self._restore()

    def _lay_out(self) -> None:
        """The training bar, banner and plots in the centre; the Experiment tabs, the Runs
        table and the Inspect views in docks around them."""
        central = QWidget()
        col = QVBoxLayout(central)
        col.setContentsMargins(6, 6, 6, 6)
        bar = QFrame()
        bar.setObjectName("trainingBar")
        QVBoxLayout(bar).addWidget(self.training_panel)
        bar.layout().setContentsMargins(0, 0, 0, 0)
        col.addWidget(bar)
        col.addWidget(self.banner)
        col.addWidget(self.plots, 1)
        self.setCentralWidget(central)

        self.tabs = QTabWidget()
        for panel, title in ((self.data_panel, "Data"), (self.model_panel, "Model"),
                             (self.optim_panel, "Optimisation"), (self.part1_panel, "Part 1"),
                             (self.part2_panel, "Part 2")):
            self.tabs.addTab(layout.VerticalScroll(panel), title)
        layout.compact_forms(self.tabs)  # the panels fit a ~300 px dock without scrolling sideways
        self.tabs.setUsesScrollButtons(False)  # every tab in sight (they fit: short names)
        # five tabs in a ~300 px dock: 4 px side padding, not the window's 8
        self.tabs.setStyleSheet("QTabBar::tab { padding: 6px 4px; }")
        # the side docks run the window's full height; the runs table sits under the plots
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.docks = Docks(self)
        area = Qt.DockWidgetArea
        self.experiment_dock = self.docks.add("Experiment", self.tabs, area.LeftDockWidgetArea)
        self.runs_dock = self.docks.add("Runs", self.runs_panel, area.BottomDockWidgetArea)
        self.inspect = InspectPanel(self)  # filters, feature maps, receptive field, …
        self.inspect_dock = self.docks.add("Inspect", self.inspect, area.RightDockWidgetArea)

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
        r.load_requested.connect(self.load_experiment)
        r.inspect_requested.connect(self.inspect_run)
        r.message.connect(self.banner.show_message)

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
        """Show exp in every panel (the window's base for the next run)."""
        self.experiment = copy.deepcopy(exp)
        for p in self.panels:
            p.load(self.experiment)
        self.files.shown()  # the title: the file's name, or the experiment's
        self.inspect.suit(self.experiment)
        self._refresh()

    def current_experiment(self) -> cfg.Experiment:
        """Return the Experiment the panels describe (not validated)."""
        exp = copy.deepcopy(self.experiment)
        for p in self.panels:
            p.store(exp)
        return exp

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
        self.problem = typed or problem or bad
        self.training_panel.set_ready(in_words(self.problem) if self.problem else None)
        self.start_action.setEnabled(self.problem is None and self.session is None)
        suit_sweep_actions(self, exp)

    # -- training
    @property
    def fit_info(self):
        """The running (or last) run's core.train.FitInfo, once its fit started."""
        return self.live.info

    def is_training(self) -> bool:
        return self.session is not None

    def start_training(self, run_folder=None) -> bool:
        """Start a run with the panels' settings; return whether one started. run_folder: a
        folder reserved for it (a study's rung, app.study), else a new one in the runs folder."""
        if self.session is not None or self.problem:
            return False
        exp = self.current_experiment()
        try:
            session = TrainingSession(exp, run_root=self.run_root, parent=self,
                                      run_folder=run_folder)
        except ConfigError as e:
            self.banner.show_message("error", "Invalid settings.", in_words(str(e)))
            return False
        self.experiment = exp
        self.session = session
        session.data_progressed.connect(self._data_progressed)
        session.data_noted.connect(self.training_panel.show_message)
        session.fit_started.connect(self._fit_started)
        session.finished.connect(self._finished)
        self.plots.clear()
        self.banner.hide()
        self.training_panel.set_running(True)
        self.training_panel.show_message("Preparing the data…")
        self.start_action.setEnabled(False)
        self.training_panel.reset_progress(exp.train.epochs)
        self.live.start(session)
        # Python's full garbage collections walk every object of Qt, pyqtgraph and torch and
        # stall both threads for 100 ms or more; objects alive now are exempt from them
        gc.freeze()
        session.start()
        self.timer.start()
        self._save_experiment()
        self.run_started.emit(session)
        return True

    # A stop is final: pause and resume are ignored once it was asked, so quick clicks never
    # leave a run parked that is meant to end (it sat "paused" 5 s), and Train waits for the end.
    def pause_training(self) -> None:
        s = self.session
        if s is None or s.stopping or s.paused:
            return
        s.pause()
        self.training_panel.set_paused(True)
        self.live.paused()

    def resume_training(self) -> None:
        s = self.session
        if s is None or s.stopping or not s.paused:
            return
        s.resume()
        self.training_panel.set_paused(False)
        self.live.resumed()

    def toggle_pause(self) -> None:
        if self.session is not None:
            (self.resume_training if self.session.paused else self.pause_training)()

    def stop_training(self) -> None:
        s = self.session
        if s is None or s.stopping:
            return
        s.stop()
        self.training_panel.set_stopping()
        self.training_panel.show_message("Stopping at the next batch…")

    def tick(self) -> None:
        """Bring the plots, the Inspect view and the progress line up to date (LiveDisplay)."""
        self.live.tick()

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
        self.session = None
        self.training_panel.set_running(False)
        self._refresh()
        line, banner = messages.run_outcome(result)
        if banner is not None:
            self.banner.show_message(*banner, in_words(result.message))
        self.training_panel.show_message(line)
        self.runs_panel.set_running(None)  # reads the runs again, this one finished
        self.run_finished.emit(result)

    def inspect_run(self, run) -> None:
        """Show a stored run's trained network (its saved weights) in the Inspect views."""
        self.inspect_dock.show()
        self.inspect_dock.raise_()
        self.inspect.inspect_run(run)

    # -- files
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

    def save_settings(self) -> None:
        if not self.persist:
            return
        s = self.settings
        size = self.size()
        if self.presentation.active:  # the layout to come back to is the one before it
            size = self.presentation.leave()
        self.docks.save(s, size)
        s.setValue("window/tab", self.tabs.currentIndex())
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
        """Ask a yes/no question without blocking (the run goes on meanwhile) and call
        then(True) if yes was chosen, then(False) otherwise. One question at a time: a second
        is dropped and the open one raised."""
        if self._question is not None:
            self._question.raise_()
            return self._question
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        box.setObjectName("question")
        box.setWindowModality(Qt.WindowModality.WindowModal)
        yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(box.addButton(no, QMessageBox.ButtonRole.RejectRole))

        def answered(_code) -> None:
            self._question = None
            box.deleteLater()
            then(box.clickedButton() is yes_button)

        box.finished.connect(answered)
        self._question = box
        box.open()
        return box

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
