"""Experiment shortcuts run from the GUI: core.study.sweeps' studies, their runs one after the other.

Each run goes through the window's normal training path (app.study: panels, plots, a run
folder in the sweep's study folder), so it appears in the runs list; as they end the sweep's
runs are ticked there to overlay their curves. A run that ends as 'stopped' (Stop, Esc)
cancels the rest.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Signal

from app.study import StudyTrainer
from core.experiment import config as cfg
from core.study import sweeps
from core import ConfigError
from core.study.runner import fresh_folder


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
    """Part 1's shortcuts: core.study.sweeps' independent study on the Lab's experiment, trained
    by an app.study.StudyTrainer in a study folder of its own (a press never resumes an
    earlier one). `finished` gives the (Experiment, FitResult) of the runs that ended."""

    progressed = Signal(str)          # a line for the status label
    finished = Signal(str, list)      # kind, [(Experiment, FitResult)] of the runs that ended

    def __init__(self, lab, parent=None):
        super().__init__(parent)
        self.lab = lab
        self.trainer = StudyTrainer(lab, self, noun="run")
        self.trainer.progressed.connect(self.progressed)
        self.trainer.finished.connect(self._end)
        self.kind: str | None = None

    def running(self) -> bool:
        return self.kind is not None

    def start(self, kind: str) -> bool:
        """Build the sweep's study from the Lab's current experiment and train its runs."""
        w = self.lab
        if self.running() or w.is_training():
            return False
        base = w.current_experiment()
        problem = shortcut_problem(kind, base)
        if problem:  # the button and menu item are disabled too; this catches direct calls
            self.progressed.emit(problem)
            return False
        try:
            study = sweeps.study(kind, base)
        except ConfigError as e:
            w.say("error", "Cannot build that sweep.", str(e))
            return False
        self.kind = kind
        if not self.trainer.start(study, folder=fresh_folder(study, w.run_root)):
            self.kind = None
        return self.running()  # False too when its first run could not start (it has ended)

    def cancel(self) -> None:
        """Stop the run in progress and drop the runs still to come."""
        self.trainer.cancel()

    def _end(self, _rows: list) -> None:
        kind, results = self.kind, list(self.trainer.results)
        self.kind = None
        left = self.trainer.total - len(results)
        self.progressed.emit(f"Sweep done: {len(results)} run{'s' * (len(results) != 1)} overlaid"
                             + (f", {left} cancelled" if left else "") + ".")
        self.finished.emit(kind, results)
