"""Layer health over training: per weight layer, the activations' mean and std, the fraction
of dead units and the weight gradient's norm, sampled in the worker thread (app.worker)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout

from app.views.common import InspectView
from app.views.plots import RUN_COLOURS

FIELDS = [("act_mean", "activation mean"), ("act_std", "activation std"),
          ("dead", "dead units (0 for the whole batch)"), ("grad_norm", "‖∂loss/∂W‖ (log)")]


class HealthView(InspectView):
    """Four plots, one curve per weight layer, x = training step; a table of the latest values."""

    interval_s = 1.0
    placeholder = "Train a model (Ctrl+Enter) to see its layers' health."

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        self.canvas = pg.GraphicsLayoutWidget()
        self.plots = {}
        for k, (key, title) in enumerate(FIELDS):
            p = self.canvas.addPlot(row=k // 2, col=k % 2, title=title)
            p.setLabel("bottom", "step")
            p.showGrid(x=True, y=True, alpha=0.3)
            self.plots[key] = p
        self.plots["grad_norm"].setLogMode(y=True)
        self.plots["act_mean"].addLegend(offset=(5, 5))
        self.table = QTableWidget(0, 1 + len(FIELDS))
        self.table.setHorizontalHeaderLabels(["layer"] + [t for _, t in FIELDS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.canvas)
        split.addWidget(self.table)
        split.setSizes([600, 160])
        QVBoxLayout(self.body).addWidget(split)
        self.clear()

    def clear(self) -> None:
        """Forget the last run's samples (a run starts)."""
        self.steps: list[int] = []
        self.values: dict[str, dict[str, list[float]]] = {}
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        for p in self.plots.values():
            p.clear()
            if p.legend is not None:
                p.legend.clear()
        self.table.setRowCount(0)
        self._drawn = 0

    def add(self, samples: list[tuple[int, dict[str, tuple[float, float, float, float]]]]) -> None:
        """Append (step, {layer: (act mean, act std, dead, grad norm)}) samples."""
        for step, layers in samples:
            self.steps.append(step)
            for name, vals in layers.items():
                per = self.values.setdefault(name, {key: [] for key, _ in FIELDS})
                for (key, _), v in zip(FIELDS, vals):
                    per[key].append(v)

    def refresh(self) -> None:
        if not self.steps:
            self.say("Waiting for the first layer-health sample (taken every few hundred "
                     "milliseconds while training).")
            return
        self.say(None)
        if self._drawn == len(self.steps):
            return
        self._drawn = len(self.steps)
        x = np.asarray(self.steps, float)
        self.table.setRowCount(len(self.values))
        for r, (name, per) in enumerate(self.values.items()):
            colour = RUN_COLOURS[r % len(RUN_COLOURS)]
            for key, _ in FIELDS:
                y = np.asarray(per[key], float)
                if key == "grad_norm":
                    y = np.where(y > 0, y, np.nan)
                curve = self.curves.get((name, key))
                if curve is None:
                    curve = self.curves[(name, key)] = self.plots[key].plot(
                        pen=pg.mkPen(colour, width=2), name=name if key == "act_mean" else None,
                        connect="finite")
                curve.setData(x[:len(y)], y)
            self.table.setItem(r, 0, QTableWidgetItem(name))
            for c, (key, _) in enumerate(FIELDS, 1):
                v = per[key][-1]
                self.table.setItem(r, c, QTableWidgetItem("—" if not math.isfinite(v) else f"{v:.4g}"))
        self.table.resizeColumnsToContents()
