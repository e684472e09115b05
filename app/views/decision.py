"""Decision boundary (2D data): P(class 1) over the data range as a heatmap, train points as
circles, test points as crosses — the lab's picture — and each hidden neuron's output map.
Live at up to 6.7 Hz, and at least 5 Hz for the circles MLP on a laptop CPU: the numbers are
computed between training steps (ModelSource.compute), but drawing and repainting still cost
about 5 ms, so this view may take a larger share of the GUI thread than the others (it is
the lab's picture of Part 1, watched while the network trains). The points and the axes are
cached pixmaps (common.Canvas): a refresh repaints the two images only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout
from torch import nn

from app.views.common import Canvas, ImageItem, InspectView, image_plot, show_image
from core import inspect as ins

STEPS = 40
CLASS_COLOURS = ["#08206e", "#6e0000", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
# diverging: blue (class 0 sure) — white (undecided) — red (class 1 sure)
DIVERGING = pg.ColorMap([0.0, 0.5, 1.0], [(40, 80, 200), (250, 250, 250), (210, 40, 40)])


class DecisionView(InspectView):
    """The lab's decision-boundary figure, with a train-mode / eval-mode toggle (question 33)."""

    interval_s = 0.12  # the window ticks every 50 ms: a refresh every 0.15 s
    SHARE = 0.1  # the issue asks for ≥ 5 pictures a second; a refresh and its repaint cost ~5 ms
    placeholder = "Train a model on 2D points (circles, moons, xor, spiral, blobs) to see its decision boundary."

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        col = QVBoxLayout(self.body)
        row = QHBoxLayout()
        self.train_mode = QCheckBox("Show in train mode (dropout on, batch norm with batch statistics)")
        self.train_mode.setToolTip("Question 33: the boundary the network has while it trains, "
                                   "versus eval mode, which tests use.")
        self.train_mode.toggled.connect(lambda _=False: self.tick(force=True))
        row.addWidget(self.train_mode)
        row.addStretch(1)
        col.addLayout(row)
        # the lab's title line ("Iter N: acc train …") is a plain label, not the plot's title:
        # a pyqtgraph title changed 6 times a second re-lays the canvas out each time
        self.title = QLabel()
        self.title.setObjectName("figure-title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-size: 13pt;")
        col.addWidget(self.title)
        self.canvas = Canvas()
        self.plot = self.canvas.addPlot(row=0, col=0)
        self.plot.setAspectLocked(True)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.heat = ImageItem()
        self.heat.setLookupTable(DIVERGING.getLookupTable(0.0, 1.0, 256))
        self.plot.addItem(self.heat)
        self.train_points = pg.ScatterPlotItem(symbol="o", size=9, pen=pg.mkPen("w", width=1))
        self.test_points = pg.ScatterPlotItem(symbol="+", size=11)
        for points in (self.train_points, self.test_points):
            points.static_paint = True  # drawn again only when the data set changes
            self.plot.addItem(points)
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=DIVERGING, interactive=False, label="P(class 1)")
        self.bar.setImageItem(self.heat, insert_in=self.plot)
        self.hidden_plot, self.hidden = image_plot(self.canvas.ci, "hidden neurons", row=0, col=1)
        self.canvas.ci.layout.setColumnStretchFactor(0, 3)
        self.canvas.ci.layout.setColumnStretchFactor(1, 2)
        col.addWidget(self.canvas, 1)
        self._points_of = None
        self.grid: ins.Grid | None = None
        self._rect: QRectF | None = None

    def _set_points(self, data) -> None:
        # one pen and one brush per class, shared by its points (making one per point took 50 ms)
        pens = [pg.mkPen(c, width=2) for c in CLASS_COLOURS]
        brushes = [pg.mkBrush(c) for c in CLASS_COLOURS]
        for item, split, cross in ((self.train_points, data.train, False), (self.test_points, data.test, True)):
            x, y = split.x.float().cpu().numpy(), split.y.cpu().numpy() % len(CLASS_COLOURS)
            if cross:
                item.setData(x[:, 0], x[:, 1], pen=[pens[c] for c in y], brush=None)
            else:
                item.setData(x[:, 0], x[:, 1], brush=[brushes[c] for c in y])
        self._points_of = data

    def refresh(self) -> None:
        data = self.source.data
        if data.is_images or data.train.x.shape[1] != 2:
            self.say("The decision boundary is drawn for 2D data sets (circles, moons, xor, spiral, "
                     "blobs); these data are images.")
            return
        self.say(None)
        mc = self.source.exp.model  # an MLP on 2D points: dropout between its dense layers
        has_modes = mc.batch_norm or (mc.dropout > 0 and mc.dropout_place in ("fc", "all"))
        self.train_mode.setEnabled(has_modes)
        train = has_modes and self.train_mode.isChecked()
        if self._points_of is not data:
            self._set_points(data)
        picture = self.computed(f"decision-{train}", lambda m, d: _picture(m, d, train))
        if picture is None:  # the first one is being computed between two training steps
            return
        self.grid = g = picture.grid
        self.heat.setImage(g.probs[:, :, 1] if g.probs.shape[2] > 1 else g.probs[:, :, 0],
                           levels=(0, 1), autoLevels=False)
        dx, dy = g.xs[1] - g.xs[0], g.ys[1] - g.ys[0]
        rect = QRectF(g.xs[0] - dx / 2, g.ys[0] - dy / 2, STEPS * dx, STEPS * dy)
        if rect != self._rect:  # the data range: once per data set (moving it re-ranges the plot)
            self._rect = rect
            self.heat.setRect(rect)
        mode = "   [train mode]" if train else ""
        self.title.setText(f"Iter {self.source.iteration()}: acc train {picture.train_acc:.1f}% "
                           f"({picture.train_loss:.3f}), acc test {picture.test_acc:.1f}%{mode}")
        if picture.hidden is not None:
            # tiles read top to bottom like text, so each map is flipped to put high y on top
            self.hidden_mosaic = ins.map_mosaic(np.ascontiguousarray(picture.hidden[:, ::-1, :]))
            show_image(self.hidden_plot, self.hidden, self.hidden_mosaic)
            title = f"{picture.layer}: each of the {len(picture.hidden)} hidden neurons' output"
            if self.hidden_plot.titleLabel.text != title:  # setting a title costs a layout pass
                self.hidden_plot.setTitle(title)


@dataclass
class _Picture:
    grid: ins.Grid
    train_acc: float
    train_loss: float
    test_acc: float
    layer: str | None
    hidden: np.ndarray | None   # n_hidden × steps × steps, or None without a hidden layer


@torch.no_grad()
def _picture(model, data, train: bool) -> _Picture:
    """Everything the view draws, computed from the model (numbers and arrays only)."""
    grid = ins.decision_grid(model, data, STEPS, train_mode=train)

    def scores(split):
        out = model(data.prepare(split.x, train=False)).float()
        loss = nn.functional.cross_entropy(out, split.y).item()
        return 100 * (out.argmax(1) == split.y).float().mean().item(), loss

    train_acc, train_loss = scores(data.train)
    test_acc = scores(data.test)[0] if len(data.test) else float("nan")
    acts = [n for n, m in model.named_children() if isinstance(m, ins.ACTIVATION_TYPES)]
    hidden = ins.hidden_maps(model, grid, train_mode=train) if acts else None
    return _Picture(grid, train_acc, train_loss, test_acc, acts[0] if acts else None, hidden)
