"""The Optimisation panel: loss, optimiser, learning rate and its schedule, batch size, regularisers."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from app.form import FormPanel
from app.layout import FlowLayout
from core import config as cfg


class OptimPanel(FormPanel):
    """Editors for [optim], train.batch_size and the model's dropout / batch norm switches."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._n_train = 200

        loss = QGroupBox("Loss and optimiser", self)
        f = QFormLayout(loss)
        f.addRow("Loss", self.editor("optim", "loss"))
        f.addRow("Batch reduction", self.editor("optim", "reduction"))
        f.addRow("Optimiser", self.editor("optim", "optimizer"))
        self.lr = self.editor("optim", "lr")
        f.addRow("Learning rate η", self.lr)
        self.momentum = self.editor("optim", "momentum")
        self.momentum.setSingleStep(0.1)
        f.addRow("Momentum", self.momentum)
        self.nesterov = self.editor("optim", "nesterov")
        self.nesterov.setText("Nesterov")
        f.addRow("", self.nesterov)
        f.addRow("Weight decay", self.editor("optim", "weight_decay"))
        self.step = QLabel(self)
        self.step.setObjectName("hint")
        self.step.setToolTip("With momentum m, SGD's effective step is about η/(1−m).")
        f.addRow("Effective step", self.step)

        sched = QGroupBox("Learning-rate schedule", self)
        f = QFormLayout(sched)
        self.scheduler = self.editor("optim", "scheduler")
        f.addRow("Schedule", self.scheduler)
        self.gamma = self.editor("optim", "gamma")
        self.gamma.setSingleStep(0.01)
        f.addRow("γ", self.gamma)
        self.step_size = self.editor("optim", "step_size")
        f.addRow("Step (epochs)", self.step_size)

        batch = QGroupBox("Batch", self)
        f = QFormLayout(batch)
        self.batch = self.editor("train", "batch_size")
        f.addRow("Batch size", self.batch)
        shortcuts = QWidget(self)
        row = FlowLayout(shortcuts)  # wraps in a narrow dock
        for text, tip, fn in (
                ("online (1)", "One example per step: online gradient descent (question 10).",
                 lambda: self.batch.setValue(1)),
                ("mini-batch", "A mini-batch: 10 for 2D points, 128 for images (question 10).",
                 lambda: self.batch.setValue(10 if self._points else 128)),
                ("full batch (N)", "All N training examples per step: full-batch gradient "
                 "descent (question 10).", lambda: self.batch.setValue(max(1, self._n_train)))):
            b = QPushButton(text, shortcuts)
            b.setToolTip(tip)
            b.clicked.connect(fn)
            row.addWidget(b)
        f.addRow(shortcuts)  # the form's whole width: the buttons wrap less
        self.steps = QLabel(self)
        self.steps.setObjectName("hint")
        self.steps.setWordWrap(True)
        f.addRow("Steps / epoch", self.steps)

        reg = QGroupBox("Regularisation", self)
        f = QFormLayout(reg)
        self.dropout = self.editor("model", "dropout")
        self.dropout.setSingleStep(0.1)
        self.dropout.setSpecialValueText("off")
        f.addRow("Dropout p", self.dropout)
        f.addRow("Dropout after", self.editor("model", "dropout_place"))
        bn = self.editor("model", "batch_norm")
        bn.setText("after conv / hidden layers")  # short: a check box's text cannot wrap
        f.addRow("Batch norm", bn)

        col = QVBoxLayout(self)
        for g in (loss, sched, batch, reg):
            col.addWidget(g)
        col.addStretch(1)
        self._points = True
        self.changed.connect(self._hints)
        self.batch.valueChanged.connect(self._hints)

    def loaded(self, exp: cfg.Experiment) -> None:
        self.set_data_size(exp)

    def set_data_size(self, exp: cfg.Experiment) -> None:
        """Remember N (for 'full batch') and refresh the hints."""
        n = exp.data.n_train or (60000 if not exp.is_points else 200)
        self._n_train = max(1, round(n * (1 - exp.data.val_fraction)))
        self._points = exp.is_points
        self._hints()

    def _hints(self, *_) -> None:
        sgd = self.editors[("optim", "optimizer")].currentData() == "sgd"
        m = self.momentum.value() if sgd else 0.0
        self.momentum.setEnabled(sgd)
        self.nesterov.setEnabled(sgd and m > 0)
        if 0 <= m < 1:  # other momenta are flagged by the engine's rule, the hint waits
            eff = self.lr.value() / (1 - m)
            self.step.setText(f"η/(1−m) = {eff:.4g}" + (f"  ({1 / (1 - m):.0f}× η)" if m > 0 else ""))
        else:
            self.step.setText("—")
        s = self.scheduler.currentData()
        self.gamma.setEnabled(s in ("exponential", "step"))
        self.step_size.setEnabled(s == "step")
        b = self.batch.value()
        if b < 1:  # flagged by the engine's rule (batch size at least 1)
            self.steps.setText("—")
            return
        kind = "online" if b == 1 else "full batch" if b >= self._n_train else "mini-batch"
        self.steps.setText(f"{math.ceil(self._n_train / b)} ({kind}, N = {self._n_train})")
