"""LearnScope's main window: composes the panels and the plots, and owns the training session."""

from __future__ import annotations

import copy
import gc
import time

import torch
from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QFrame, QMainWindow, QScrollArea,
                               QTabWidget, QVBoxLayout, QWidget)

from app.banner import BannerView
from app.experiment import input_shape, summary  # noqa: F401  (input_shape kept importable here)
from app.panels.data import DataPanel
from app.panels.model import ModelPanel
from app.panels.optim import OptimPanel
from app.panels.part1 import Part1Panel
from app.panels.runs import RunsPanel
from app.panels.training import TrainingPanel
from app.settings import open_settings
from app.style import QSS
from app.sweep import SHORTCUTS
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
CLOSE_WAIT_MS = 1900  # closing mid-run waits this long for the worker (the issue allows 2 s)
DEFAULT_PRESET = "circles-mlp"

BANNERS = {"diverged": ("warning", "Training diverged."), "memory": ("error", "Out of GPU memory."),
           "data": ("error", "Could not load the data."), "config": ("error", "Invalid settings."),
           "internal": ("error", "Training failed.")}


def _scrolled(w: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(w)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area


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
        self.tabs.setMinimumWidth(470)
        self.experiment_dock = self._dock("Experiment", self.tabs, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.runs_dock = self._dock("Runs", self.runs_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.inspect = InspectPanel(self)  # filters, feature maps, receptive field, … (issue 4)
        self.inspect_dock = self._dock("Inspect", self.inspect, Qt.DockWidgetArea.RightDockWidgetArea)

        self.timer = QTimer(self, interval=TICK_MS, timeout=self.tick)
        self._next_draw = self._next_progress = 0.0
        self._painted = [0.0]  # the plots' paint seconds at the last redraw
        self._last_chunk = None
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

        self.load_experiment(exp or first_experiment(self.settings))
        self._restore()

    def _dock(self, title: str, w: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(w)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

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
        for kind, text, tip in SHORTCUTS:
            action(m, text, lambda _=False, k=kind: self.part1_panel.run_sweep(k), tip=tip)
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

    # -- the experiment in the panels
    def load_experiment(self, exp: cfg.Experiment) -> None:
        """Show exp in every panel (the window's base for the next run)."""
        self.experiment = copy.deepcopy(exp)
        for p in self.panels:
            p.load(self.experiment)
        self.setWindowTitle(f"LearnScope — {exp.name or 'experiment'}")
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
        try:
            cfg.validate(exp)
            bad = None
        except ConfigError as e:
            bad = str(e)
        path = bad.split(":", 1)[0] if bad else None
        for p in self.panels:
            p.mark(path, bad or "")
        self.problem = problem or bad
        self.training_panel.set_ready(self.problem)
        self.start_action.setEnabled(self.problem is None and self.session is None)

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
            self.banner.show_message("error", "Invalid settings.", str(e))
            return False
        self.experiment = exp
        self.session = session
        session.data_progressed.connect(self._data_progressed)
        session.fit_started.connect(self._fit_started)
        session.finished.connect(self._finished)
        self.plots.clear()
        self.banner.hide()
        self.training_panel.set_running(True)
        self.training_panel.show_message("Preparing the data…")
        self.start_action.setEnabled(False)
        self.fit_info, self._t0 = None, time.perf_counter()
        self._last_chunk = None
        # Python's full garbage collections walk every object of Qt, pyqtgraph and torch and
        # stall both threads for 100 ms or more; objects alive now are exempt from them
        gc.freeze()
        session.start()
        self.timer.start()
        self._save_experiment()
        self.run_started.emit(session)
        return True

    def pause_training(self) -> None:
        if self.session is not None:
            self.session.pause()
            self.training_panel.set_paused(True)
            self.training_panel.show_message(self.training_panel.status.text() + "   ·   paused")

    def resume_training(self) -> None:
        if self.session is not None:
            self.session.resume()
            self.training_panel.set_paused(False)

    def toggle_pause(self) -> None:
        if self.session is not None:
            (self.resume_training if self.session.paused else self.pause_training)()

    def stop_training(self) -> None:
        if self.session is not None:
            self.session.stop()
            self.training_panel.show_message("Stopping at the next batch…")

    def tick(self) -> None:
        """Drain the worker's buffer and redraw: at most one setData per curve per tick."""
        s = self.session
        if s is not None:
            self.plots.add_records(s.buffer.drain_records())
            chunks = s.buffer.drain()
            now = time.perf_counter()
            if chunks:
                self.plots.add_chunks(chunks)
                self._last_chunk = chunks[-1]
            info, last = self.fit_info, self._last_chunk
            # the progress line is text that people read: 5 updates a second are plenty
            if last is not None and info is not None and not s.paused and now >= self._next_progress:
                self._next_progress = now + PROGRESS_S
                self.training_panel.show_progress(
                    last.epoch, info.epochs, int(last.steps[-1]), info.epochs * info.steps_per_epoch,
                    now - self._t0, last.images_per_s)
        if self.inspect.live:
            self.inspect.tick()
        now = time.perf_counter()
        if now < self._next_draw:
            return
        if self.plots.redraw():
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
        self.plots.set_steps_per_epoch(info.steps_per_epoch, info.epochs)
        self.training_panel.show_message(
            f"Training on {info.device}: {info.n_train:,} train / {info.n_val:,} val / "
            f"{info.n_test:,} test examples, {info.params:,} parameters")

    def _finished(self, result) -> None:
        self._next_draw = self._next_progress = 0.0
        self.tick()  # the last chunks
        self.plots.redraw(everything=True)
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
            self.banner.show_message(kind, title, result.message)
            self.training_panel.show_message(f"{title}{tail}")
        self.runs_panel.refresh()
        self.run_finished.emit(result)

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
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 940)
        if isinstance(state, QByteArray):
            self.restoreState(state)
        else:
            self.resizeDocks([self.runs_dock], [210], Qt.Orientation.Vertical)
        self.plots.set_log_scale(str(self.settings.value("plots/log_scale", "false")).lower() == "true")
        self.tabs.setCurrentIndex(int(self.settings.value("window/tab", 0) or 0))

    def save_settings(self) -> None:
        if not self.persist:
            return
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
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

    def closeEvent(self, event) -> None:
        self.shutdown()
        self.save_settings()
        event.accept()
