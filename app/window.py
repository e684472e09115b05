"""LearnScope's main window: composes the panels and the plots, and owns the training session."""

from __future__ import annotations

import copy
import gc
import time

import torch
from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QFrame, QMainWindow, QMessageBox,
                               QScrollArea, QTabWidget, QVBoxLayout, QWidget)

from app import messages
from app.banner import BannerView
from app import layout
from app.experiment import input_shape, summary  # noqa: F401  (input_shape kept importable here)
from app.form import in_words
from app.panels.data import DataPanel
from app.panels.model import ModelPanel
from app.panels.optim import OptimPanel
from app.panels.part1 import Part1Panel
from app.panels.runs import RunsPanel
from app.panels.training import TrainingPanel
from app.presentation import Presentation
from app.settings import open_settings
from app.style import QSS
from app.sweep import SHORTCUTS, shortcut_problem
from app.views.inspect_dock import InspectPanel
from app.views.plots import PlotsView
from app.worker import TrainingSession
from core import config as cfg
from core import presets
from core.errors import ConfigError

TICK_MS = 50          # the GUI redraws at 20 Hz from buffered values (the lower end of 20–30 Hz:
                      # every wake-up of the GUI thread stalls a torch thread of a CNN on a
                      # 2-core laptop)
PROGRESS_S = 0.2      # seconds between two updates of the progress line
DRAW_SHARE = 0.015    # at most this share of the time goes to repainting plots while training
MAX_LAG_S = 0.5       # ... but what the trainer sent is on the plots within this (issue 12)
# data that has waited this long is drawn at the next tick whatever the pacing says: it waited
# up to a tick to be drained, and the four plots, one a tick, take four more at most
LATE_S = MAX_LAG_S - 5 * TICK_MS / 1000
CLOSE_WAIT_MS = 1900  # closing mid-run waits this long for the worker (the issue allows 2 s)
DEFAULT_PRESET = "circles-mlp"

BANNERS = {"diverged": ("warning", "Training diverged."), "memory": ("error", "Out of memory."),
           "data": ("error", "Could not load the data."), "config": ("error", "Invalid settings."),
           "internal": ("error", "Training failed.")}


def redraw_due(now: float, paced: float, waiting_since: float | None) -> bool:
    """Whether the plots redraw now: at the paced time (a redraw's cost / the plots' share of
    the GUI thread after the last), but never later than LATE_S after data arrived — on a
    slow machine, or after costly repaints (the first paint of a run's axes, a crosshair moved
    over a paused run), the pacing alone left the plots seconds behind."""
    return now >= paced or (waiting_since is not None and now - waiting_since >= LATE_S)


def _scrolled(w: QWidget) -> QScrollArea:
    return layout.VerticalScroll(w)


def broken_rule(exp: cfg.Experiment) -> str | None:
    """Return the engine's sentence for the first rule exp breaks ('path: why'), or None."""
    try:
        cfg.validate(exp)
        cfg.check_folders(exp)
    except ConfigError as e:
        return str(e)
    return None


def first_experiment(settings) -> cfg.Experiment:
    """Return the last experiment the window showed, or the ready first-launch preset."""
    text = settings.value("experiment", "")
    if text:
        try:
            return cfg.loads(str(text))
        except ConfigError:
            pass
    return presets.load(DEFAULT_PRESET)


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
        self.settings = settings or open_settings()
        self.persist, self.run_root = persist, run_root
        self.session: TrainingSession | None = None
        self.problem: str | None = None
        self.setWindowTitle("LearnScope")
        self.setStyleSheet(QSS)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.data_panel, self.model_panel = DataPanel(), ModelPanel()
        self.optim_panel, self.training_panel = OptimPanel(), TrainingPanel()
        self.panels = [self.data_panel, self.model_panel, self.optim_panel, self.training_panel]
        self.banner, self.plots = BannerView(), PlotsView()
        self.runs_panel = RunsPanel(run_root)
        self.part1_panel = Part1Panel(self)
        self.panels.append(self.part1_panel)

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
        self.tabs.addTab(_scrolled(self.data_panel), "Data")
        self.tabs.addTab(_scrolled(self.model_panel), "Model")
        self.tabs.addTab(_scrolled(self.optim_panel), "Optimisation")
        self.tabs.addTab(_scrolled(self.part1_panel), "Part 1")
        layout.compact_forms(self.tabs)  # the panels fit a ~300 px dock without scrolling sideways
        self.tabs.setUsesScrollButtons(False)  # every tab in sight (they fit: short names)
        # the side docks run the window's full height; the runs table sits under the plots
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.experiment_dock = self._dock("Experiment", self.tabs, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.runs_dock = self._dock("Runs", self.runs_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.inspect = InspectPanel(self)  # filters, feature maps, receptive field, … (issue 4)
        self.inspect_dock = self._dock("Inspect", self.inspect, Qt.DockWidgetArea.RightDockWidgetArea)
        self.presentation = Presentation(self)
        self._docks_follow_until = 0.0  # see reset_layout

        self.timer = QTimer(self, interval=TICK_MS, timeout=self.tick)
        self._next_draw = self._next_progress = 0.0
        self._painted = [0.0]  # the plots' paint seconds at the last redraw
        self._progress_shown = None  # the batch chunk the progress line last reported
        self._question: QMessageBox | None = None  # the one open ask(), if any
        self._build_menus()
        for p in self.panels:
            p.changed.connect(self._refresh)
        t = self.training_panel
        t.start_requested.connect(self.start_training)
        t.pause_requested.connect(self.pause_training)
        t.resume_requested.connect(self.resume_training)
        t.stop_requested.connect(self.stop_training)
        self.runs_panel.overlays_changed.connect(lambda: self.plots.set_overlays(self.runs_panel.overlays()))
        self.runs_panel.load_requested.connect(self.load_experiment)
        self.runs_panel.inspect_requested.connect(self.inspect_run)
        self.runs_panel.message.connect(self.banner.show_message)

        self.load_experiment(exp or first_experiment(self.settings))
        self._restore()

    def _dock(self, title: str, w: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(w)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        dock.home = area  # where View → Reset layout puts it back
        self.addDockWidget(area, dock)
        return dock

    def reset_layout(self) -> None:
        """The default arrangement for this screen: every dock shown and docked where it
        started, the window as large as the screen allows (up to layout.DEFAULT_SIZE, or
        maximised), the docks' sizes in proportion to it."""
        if self.presentation.active:
            self.presentation.leave()
        for dock in (self.experiment_dock, self.runs_dock, self.inspect_dock):
            dock.setFloating(False)
            self.addDockWidget(dock.home, dock)
            dock.show()
        available = self.screen().availableGeometry()
        size = layout.default_size(available)
        if size is None:
            self.setWindowState(Qt.WindowState.WindowMaximized)
            size = available.size()
        else:
            self.setWindowState(Qt.WindowState.WindowNoState)
            self.resize(size)
            self.move(available.center() - self.rect().center())
        self._size_docks(size.width(), size.height())
        # the window manager maximises or places the window once it shows: until just after
        # that, the docks keep their shares of whatever size the window gets
        self.follow_resizes(lambda: self._size_docks(self.width(), self.height()))

    def follow_resizes(self, arrange) -> None:
        """Call arrange() after each resize until shortly after now (or after the window
        shows): a window manager maximises, restores or places a window some time after it is
        asked to, and the docks' sizes must be set for the size it ends with."""
        self._arrange_docks = arrange
        self._docks_follow_until = (time.perf_counter() + layout.SETTLE_S if self.isVisible()
                                    else float("inf"))

    def _size_docks(self, w: int, h: int) -> None:
        self.resizeDocks([self.experiment_dock, self.inspect_dock],
                         [round(w * layout.EXPERIMENT_SHARE), round(w * layout.INSPECT_SHARE)],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.runs_dock], [round(h * layout.RUNS_SHARE)], Qt.Orientation.Vertical)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._docks_follow_until == float("inf"):
            self._docks_follow_until = time.perf_counter() + layout.SETTLE_S

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if time.perf_counter() < self._docks_follow_until:
            self._arrange_docks()

    def _build_menus(self) -> None:
        def action(menu, text, fn, shortcut=None, tip=""):
            a = QAction(text, self)
            if shortcut:
                a.setShortcuts([QKeySequence(s) for s in shortcut] if isinstance(shortcut, list)
                               else [QKeySequence(shortcut)])
            a.setToolTip(tip)
            a.setStatusTip(tip)
            a.triggered.connect(fn)
            menu.addAction(a)
            self.addAction(a)  # shortcuts work while the menu bar is hidden too
            return a

        m = self.menuBar().addMenu("&File")
        action(m, "Open experiment…", self._open_toml, "Ctrl+O", "Load an experiment TOML file.")
        action(m, "Save experiment as…", self._save_toml, "Ctrl+Shift+S",
               "Save these settings as TOML (python -m core train FILE replays them headless).")
        action(m, "Export plots as PNG…", self._export, "Ctrl+S", "Save the four plots as one PNG.")
        m.addSeparator()
        action(m, "Quit", self.close, "Ctrl+Q")
        m = self.menuBar().addMenu("&Presets")
        m.setToolTipsVisible(True)
        for name in presets.names():
            a = action(m, name, lambda _=False, n=name: self.load_experiment(presets.load(n)),
                       tip=presets.description(name))
            a.setToolTip(presets.description(name))
        m = self.menuBar().addMenu("&Run")
        self.start_action = action(m, "Start", self.start_training, ["Ctrl+Return", "Ctrl+Enter"])
        self.pause_action = action(m, "Pause / Resume", self.toggle_pause, "Space")
        self.stop_action = action(m, "Stop", self.stop_training, "Esc")
        m = self.menuBar().addMenu("E&xperiments")
        m.setToolTipsVisible(True)
        self.sweep_actions = {kind: action(m, text, lambda _=False, k=kind: self.part1_panel.run_sweep(k),
                                           tip=tip) for kind, text, tip in SHORTCUTS}
        action(m, "Stop sweep", self.part1_panel.sweep.cancel,
               tip="Stop the run in progress and cancel the sweep's other runs.")
        m.addSeparator()
        action(m, "Check gradients now", self.part1_panel.check_now,
               tip="Hand-written backward against autograd and finite differences (Part 1 tab).")
        m = self.menuBar().addMenu("&View")
        m.addAction(self.experiment_dock.toggleViewAction())
        m.addAction(self.runs_dock.toggleViewAction())
        m.addAction(self.inspect_dock.toggleViewAction())
        self.log_action = QAction("Log-scale loss", self, checkable=True)
        self.log_action.toggled.connect(self.plots.set_log_scale)
        self.plots.log_scale_changed.connect(self.log_action.setChecked)
        m.addAction(self.log_action)
        m.addSeparator()
        action(m, "Reset layout", self.reset_layout,
               tip="Show every panel where it started, sized for this screen.")
        self.presentation_action = action(
            m, "Presentation", self.presentation.toggle, "F11",
            "Full screen, large text and lines, only Train / Pause / Stop, the plots and one "
            "Inspect view (F11 again leaves).")
        self.presentation_action.setCheckable(True)
        self.presentation.toggled.connect(self.presentation_action.setChecked)
        action(m, "Larger text", lambda: self.presentation.zoom(+1), ["Ctrl++", "Ctrl+="])
        action(m, "Smaller text", lambda: self.presentation.zoom(-1), "Ctrl+-")

    # -- the experiment in the panels
    def load_experiment(self, exp: cfg.Experiment) -> None:
        """Show exp in every panel (the window's base for the next run)."""
        self.experiment = copy.deepcopy(exp)
        for p in self.panels:
            p.load(self.experiment)
        self.setWindowTitle(f"LearnScope — {exp.name or 'experiment'}")
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
        for (kind, _text, tip), a in zip(SHORTCUTS, self.sweep_actions.values()):
            unfit = shortcut_problem(kind, exp)  # e.g. Part 1's sweeps on a CNN's images
            a.setEnabled(unfit is None)
            a.setToolTip(unfit or tip)
            a.setStatusTip(unfit or tip)

    # -- training
    def is_training(self) -> bool:
        return self.session is not None

    def start_training(self) -> bool:
        """Start a run with the panels' settings; return whether one started."""
        if self.session is not None or self.problem:
            return False
        exp = self.current_experiment()
        try:
            session = TrainingSession(exp, run_root=self.run_root, parent=self)
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
        self.fit_info, self._t0 = None, time.perf_counter()
        self._progress_shown = None
        self._next_draw = self._next_progress = 0.0
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
        self._next_progress, self._progress_shown = 0.0, None
        if self.plots.shown is None:  # still preparing: no progress line to mark yet
            self.training_panel.show_message(self.training_panel.status.text() + "   ·   paused")
        else:
            self._show_progress()

    def resume_training(self) -> None:
        s = self.session
        if s is None or s.stopping or not s.paused:
            return
        s.resume()
        self.training_panel.set_paused(False)
        # catch up at once: repaints while paused (a crosshair moved over the plots) are not
        # the next redraw's cost
        self.plots.canvas.painted_since(self._painted)
        self._next_draw = self._next_progress = 0.0

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
        """Drain the worker's buffer, redraw when due (at most one setData per curve) and show
        the progress of what the curves show."""
        s = self.session
        if s is not None:
            records = s.buffer.drain_records()
            self.plots.add_records(records)
            if records:  # the running run's row follows (at most once a second)
                self.runs_panel.show_live(records[-1])
            self.plots.add_chunks(s.buffer.drain())
        if self.inspect.live:
            self.inspect.tick()
        self._redraw_when_due()
        if s is not None and not s.stopping:  # stopping: the line says so until the end
            self._show_progress()

    def _show_progress(self) -> None:
        """Show the epoch and step of the batch curve's last point (the line and the curves
        agree), at most every PROGRESS_S (text that people read: 5 updates a second are
        plenty); while paused, only once more for the steps flushed at the pause."""
        s, info, shown = self.session, self.fit_info, self.plots.shown
        now = time.perf_counter()
        if s is None or info is None or shown is None or now < self._next_progress:
            return
        if s.paused and shown is self._progress_shown:
            return
        self._next_progress, self._progress_shown = now + PROGRESS_S, shown
        self.training_panel.show_progress(
            shown.epoch, info.epochs, int(shown.steps[-1]), info.epochs * info.steps_per_epoch,
            now - self._t0, shown.images_per_s, paused=s.paused)

    def _redraw_when_due(self) -> None:
        now = time.perf_counter()
        if not redraw_due(now, self._next_draw, self.plots.waiting_since()):
            return
        if self.plots.redraw(late=now - LATE_S):  # a late plot first
            # Painting holds Python's GIL, which the training thread needs between its
            # tensor operations, so the next redraw waits until redrawing (setData and the
            # repaints since the last one, which Qt does in the event loop) has used at most
            # DRAW_SHARE of the time: a slow, software-rendered machine redraws less often instead of
            # slowing training down.
            cost = time.perf_counter() - now + self.plots.canvas.painted_since(self._painted)
            # the plots and the visible Inspect view share one budget (down to half of it for
            # the plots): each GUI millisecond also stalls one of a CNN's torch threads
            share = max(DRAW_SHARE - self.inspect.spending(), DRAW_SHARE / 2)
            self._next_draw = now + cost / share

    def _data_progressed(self, done: int, total: int) -> None:
        self.training_panel.show_message(f"Decoding images {done:,}/{total:,}…")

    def _fit_started(self, info) -> None:
        self.fit_info, self._t0 = info, time.perf_counter()
        self.runs_panel.set_running(info.run_folder)
        self.plots.set_steps_per_epoch(info.steps_per_epoch, info.epochs)
        self.training_panel.show_message(
            f"Training on {info.device}: {info.n_train:,} train / {info.n_val:,} val / "
            f"{info.n_test:,} test examples, {info.params:,} parameters"
            + ("   ·   paused" if self.session is not None and self.session.paused else ""))
        if info.skipped:  # the CLI warns of them on its terminal; the window says it here
            self.banner.show_message("warning", *messages.skipped_files(info.skipped, info.skipped_files))

    def _finished(self, result) -> None:
        self._next_draw = self._next_progress = 0.0
        self.tick()  # the last chunks
        self.plots.redraw(everything=True)
        self._next_progress = 0.0
        self._show_progress()  # the bar at the last step drawn (the line gets the outcome below)
        self.timer.stop()
        self.session = None
        self.training_panel.set_running(False)
        self._refresh()
        last = result.last
        tail = ""
        if last:
            held = last.get("test") or last.get("val")
            tail = (f"   ·   train {last['train']['accuracy']:.2f} %" +
                    (f", test {held['accuracy']:.2f} %" if held else ""))
        if result.status == "done":
            self.training_panel.show_message(f"✔ {result.message}{tail}")
        elif result.status == "stopped":
            self.training_panel.show_message(f"■ {result.message}{tail}")
        else:
            kind, title = BANNERS.get("diverged" if result.status == "diverged" else result.error_kind,
                                      BANNERS["internal"])
            self.banner.show_message(kind, title, in_words(result.message))
            self.training_panel.show_message(f"{title}{tail}")
        self.runs_panel.set_running(None)  # reads the runs again, this one finished
        self.run_finished.emit(result)

    def inspect_run(self, run) -> None:
        """Show a stored run's trained network (its saved weights) in the Inspect views."""
        self.inspect_dock.show()
        self.inspect_dock.raise_()
        self.inspect.inspect_run(run)

    # -- files
    def _open_toml(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment", "", "Experiment (*.toml)")
        if path:
            try:
                self.load_experiment(cfg.load(path))
            except ConfigError as e:
                self.banner.show_message("error", "Cannot open that experiment.", str(e))

    def _save_toml(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save experiment", "experiment.toml",
                                              "Experiment (*.toml)")
        if path:
            try:
                cfg.save(self.current_experiment(), path)
            except OSError as e:
                self.banner.show_message("error", "Cannot save.", str(e))

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plots", "learnscope-plots.png", "PNG (*.png)")
        if path and not self.plots.export_png(path):
            self.banner.show_message("error", "Cannot export.", f"Could not write {path}.")

    # -- persistence and closing
    def _save_experiment(self) -> None:
        if self.persist:
            self.settings.setValue("experiment", cfg.dumps(self.current_experiment()))

    def _restore(self) -> None:
        geometry, state = self.settings.value("window/geometry"), self.settings.value("window/state")
        # a layout saved on a larger screen (or of unknown size) would come back cut to this
        # screen with its docks at their old sizes: this screen's default instead
        saved = self.settings.value("window/size")
        if (isinstance(geometry, QByteArray) and isinstance(state, QByteArray)
                and layout.fits(saved, self.screen().availableGeometry())):
            self.restoreGeometry(geometry)
            self.restoreState(state)
        else:
            self.reset_layout()
        self.plots.set_log_scale(str(self.settings.value("plots/log_scale", "false")).lower() == "true")
        self.tabs.setCurrentIndex(int(self.settings.value("window/tab", 0) or 0))

    def save_settings(self) -> None:
        if not self.persist:
            return
        s = self.settings
        size = self.size()
        if self.presentation.active:  # the layout to come back to is the one before it
            size = self.presentation.leave()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/size", size)
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
