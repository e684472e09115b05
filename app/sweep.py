"""Experiment shortcuts run from the GUI: the runs of core.sweeps trained one after the other.

Each run goes through the window's normal training path (panels, plots, run folder), so it
appears in the runs list; at the end the sweep's runs are ticked there to overlay their
curves. A run that ends as 'stopped' (Stop, Esc) cancels the rest.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from core import config as cfg
from core import sweeps
from core.errors import ConfigError

SHORTCUTS = [("batch", "Batch size: full / mini / online (Q10)",
              "Train full batch (N), mini-batch and online (1) one after the other, then overlay them."),
             ("lr", "Learning-rate sweep (Q11)",
              "Train at η = 0.003, 0.03, 0.3 and 3, then overlay them."),
             ("loss", "Cross-entropy vs squared error (Q8–9)",
              "Train with each loss, then overlay them."),
             ("n", "Train size N sweep (Q2)",
              "Train with N = 10 … 1000 training points (same test set), overlay them and plot the "
              "final accuracies against N.")]


class SweepRunner(QObject):
    """Trains a list of experiments through a MainWindow, one at a time."""

    progressed = Signal(str)          # a line for the status label
    finished = Signal(str, list)      # kind, [(Experiment, FitResult)] of the runs that ended

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.window = window
        self.kind: str | None = None
        self.queue: list[cfg.Experiment] = []
        self.results: list[tuple[cfg.Experiment, object]] = []
        self.total = 0
        self.cancelled = False
        self._current: cfg.Experiment | None = None
        self._base: cfg.Experiment | None = None
        window.run_finished.connect(self._run_finished)

    def running(self) -> bool:
        return self.kind is not None

    def start(self, kind: str) -> bool:
        """Build the sweep from the window's current experiment and train its first run."""
        w = self.window
        if self.running() or w.is_training():
            return False
        base = w.current_experiment()
        try:
            self.queue = sweeps.sweep(kind, base)
        except ConfigError as e:
            w.banner.show_message("error", "Cannot build that sweep.", str(e))
            return False
        self.kind, self._base, self.results = kind, base, []
        self.total, self.cancelled = len(self.queue), False
        self._next()
        return True

    def cancel(self) -> None:
        """Stop the run in progress and drop the runs still to come."""
        if self.running():
            self.cancelled = True
            self.queue = []
            self.window.stop_training()

    def _next(self) -> None:
        if not self.running():
            return
        if self.cancelled or not self.queue:
            self._end()
            return
        exp = self.queue.pop(0)
        self._current = exp
        self.window.load_experiment(exp)
        done = self.total - len(self.queue)
        self.progressed.emit(f"Sweep run {done}/{self.total}: {exp.name}")
        if not self.window.start_training():
            self.progressed.emit(f"Could not start {exp.name}: {self.window.problem or 'see the banner'}")
            self._end()

    def _run_finished(self, result) -> None:
        if not self.running() or self._current is None:
            return
        self.results.append((self._current, result))
        self._current = None
        if result.status == "stopped":
            self.cancelled = True
        QTimer.singleShot(0, self._next)  # let the window finish handling this run first

    def _end(self) -> None:
        kind, results = self.kind, self.results
        self.kind, self.queue, self._current = None, [], None
        if self._base is not None:
            self.window.load_experiment(self._base)
        self.tick(results)
        left = self.total - len(results)
        self.progressed.emit(f"Sweep done: {len(results)} run{'s' * (len(results) != 1)} overlaid"
                             + (f", {left} cancelled" if left else "") + ".")
        self.finished.emit(kind, results)

    def tick(self, results) -> None:
        """Tick exactly the sweep's runs in the runs list, so that their curves overlay."""
        panel = self.window.runs_panel
        panel.refresh()
        folders = {Path(r.run_folder).resolve() for _, r in results if r.run_folder}
        for i, run in enumerate(panel.runs):
            panel.set_checked(i, Path(run.folder).resolve() in folders)
