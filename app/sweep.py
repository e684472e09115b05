"""Experiment shortcuts run from the GUI: the runs of core.sweeps trained one after the other.

Each run goes through the window's normal training path (panels, plots, run folder), so it
appears in the runs list; at the end the sweep's runs are ticked there to overlay their
curves. A run that ends as 'stopped' (Stop, Esc) cancels the rest.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.form import in_words
from core import config as cfg
from core import sweeps
from core.errors import ConfigError

def shortcut_problem(kind: str, exp: cfg.Experiment) -> str | None:
    """Return why the shortcut does not fit this experiment (its menu item and button are
    disabled with this as their tip): the shortcuts written for Part 1's MLP on 2D points
    (its questions, its settings) on a network trained on images. None if it fits."""
    if exp.is_points or kind not in sweeps.SHORTCUTS:
        return None
    return sweeps.SHORTCUTS[kind].points_only


def shortcut_cost(kind: str, exp: cfg.Experiment) -> str | None:
    """Return what the shortcut would cost, to confirm first, when it is expensive: batch sizes
    on images (online and full batch: steps per epoch × epochs), else None."""
    if kind != "batch" or exp.is_points:
        return None
    n, epochs = round(exp.data.n_train * (1 - exp.data.val_fraction)), exp.train.epochs
    mini = exp.train.batch_size if 1 < exp.train.batch_size < (n or math.inf) else min(10, n or 10)

    def steps(per_epoch: int, unknown: str = "") -> str:  # unknown: N is known once loaded
        if not per_epoch:
            return f"{unknown} steps per epoch × {epochs} epochs = {epochs} × {unknown} steps"
        return (f"{per_epoch:,} step{'s' * (per_epoch != 1)} per epoch × {epochs} epochs = "
                f"{per_epoch * epochs:,} steps")

    size = f"{n:,}" if n else "N (every image of the data set)"
    return (f"This trains three runs of {epochs} epochs on {size} training images:\n"
            f"• online (batch 1): {steps(n, 'N')}, one image each — on a CPU by far the "
            f"slowest of the three;\n"
            f"• full batch: {steps(1)}, each with every training image's activations in memory "
            f"at once;\n"
            f"• mini-batch ({mini}): {steps(math.ceil(n / mini), f'N / {mini}')}.")


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
        problem = shortcut_problem(kind, base)
        if problem:  # the button and menu item are disabled too; this catches direct calls
            self.progressed.emit(problem)
            return False
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
            self.progressed.emit(f"Could not start {exp.name}: {in_words(self.window.problem or 'see the banner')}")
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
