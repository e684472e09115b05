"""The Optimisation panel: loss, optimiser, learning rate and its schedule, batch size, regularisers.

Its boxes are the config's groups "Loss and optimiser", "Learning-rate schedule", "Batch" and
"Regularisation"; the hints (the effective step, steps per epoch) and the batch shortcuts are
the panel's own. A field is enabled when the chosen optimiser or schedule `uses` it
(core.experiment.optimizers)."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.form import FormPanel
from app.layout import FlowLayout
from core.experiment import config as cfg
from core.experiment import optimizers


class OptimPanel(FormPanel):
    """Editors for [optim], train.batch_size and the model's dropout / batch norm switches."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._n_train, self._points = 200, True
        loss, f = self.field_box("Loss and optimiser")
        self.step = self._hint(f, "Effective step")
        self.step.setToolTip("With momentum m, SGD's effective step is about η/(1−m).")
        sched, _ = self.field_box("Learning-rate schedule")
        batch, f = self.field_box("Batch")
        f.addRow(self._batch_shortcuts())  # the form's whole width: the buttons wrap less
        self.steps = self._hint(f, "Steps / epoch")
        self.steps.setWordWrap(True)
        reg, _ = self.field_box("Regularisation")
        col = QVBoxLayout(self)
        for g in (loss, sched, batch, reg):
            col.addWidget(g)
        col.addStretch(1)
        e = self.editors
        self.optimizer, self.lr, self.momentum, self.nesterov = (
            e[("optim", n)] for n in ("optimizer", "lr", "momentum", "nesterov"))
        self.scheduler, self.gamma, self.step_size = (
            e[("optim", n)] for n in ("scheduler", "gamma", "step_size"))
        self.batch, self.dropout = e[("train", "batch_size")], e[("model", "dropout")]
        self.changed.connect(self._hints)
        self.batch.valueChanged.connect(self._hints)

    def _hint(self, form: QFormLayout, label: str) -> QLabel:
        hint = QLabel(self)
        hint.setObjectName("hint")
        form.addRow(label, hint)
        return hint

    def _batch_shortcuts(self) -> QWidget:
        shortcuts = QWidget(self)
        row = FlowLayout(shortcuts)  # wraps in a narrow dock
        for text, tip, size in (
                ("online (1)", "One example per step: online gradient descent (question 10).",
                 lambda: 1),
                ("mini-batch", "A mini-batch: 10 for 2D points, 128 for images (question 10).",
                 lambda: 10 if self._points else 128),
                ("full batch (N)", "All N training examples per step: full-batch gradient "
                 "descent (question 10).", lambda: max(1, self._n_train))):
            b = QPushButton(text, shortcuts)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, size=size: self.batch.setValue(size()))
            row.addWidget(b)
        return shortcuts

    def loaded(self, exp: cfg.Experiment) -> None:
        self.set_data_size(exp)

    def set_data_size(self, exp: cfg.Experiment) -> None:
        """Remember N (for 'full batch') and refresh the hints."""
        n = exp.data.n_train or (60000 if not exp.is_points else 200)
        self._n_train = max(1, round(n * (1 - exp.data.val_fraction)))
        self._points = exp.is_points
        self._hints()

    def _enable_used(self, table: dict, chosen) -> set[str]:
        """Enable the optim fields the chosen entry of table uses, disable those only others
        use; return the fields it uses."""
        entry = table.get(chosen)
        uses = set(entry.uses) if entry is not None else set()
        for name in {n for e in table.values() for n in e.uses}:
            w = self.editors.get(("optim", name))
            if w is not None:
                w.setEnabled(name in uses)
        return uses

    def _hints(self, *_) -> None:
        uses = self._enable_used(optimizers.OPTIMIZERS, self.optimizer.currentData())
        m = self.momentum.value() if "momentum" in uses else 0.0
        self.nesterov.setEnabled("nesterov" in uses and m > 0)
        if 0 <= m < 1:  # other momenta are flagged by the engine's rule, the hint waits
            eff = self.lr.value() / (1 - m)
            self.step.setText(f"η/(1−m) = {eff:.4g}" + (f"  ({1 / (1 - m):.0f}× η)" if m > 0 else ""))
        else:
            self.step.setText("—")
        self._enable_used(optimizers.SCHEDULES, self.scheduler.currentData())
        b = self.batch.value()
        if b < 1:  # flagged by the engine's rule (batch size at least 1)
            self.steps.setText("—")
            return
        kind = "online" if b == 1 else "full batch" if b >= self._n_train else "mini-batch"
        self.steps.setText(f"{math.ceil(self._n_train / b)} ({kind}, N = {self._n_train})")
