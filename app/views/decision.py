"""Decision boundary (2D data): P(class 1) over the data range as a heatmap, train points as
circles, test points as crosses — the lab's picture — and each hidden neuron's output map.
Live at up to 6.7 Hz, and at least 5 Hz for the circles MLP on a laptop CPU: the numbers are
computed between training steps (ModelSource.compute), but drawing and repainting still cost
about 5 ms, so this view may take a larger share of the GUI thread than the others (it is
the lab's picture of Part 1, watched while the network trains). The points and the axes are
cached pixmaps (common.Canvas): a refresh repaints the two images only."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout
from torch import nn

from app.layout import ignore_width
from app.views.common import (Canvas, ImageItem, InspectView, best_columns, image_plot,
                              show_image)
from core.nets import inspect as ins
from core.nets import models

STEPS = 40
CLASS_COLOURS = ["#08206e", "#6e0000", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
# diverging: blue (class 0 sure) — white (undecided) — red (class 1 sure)
DIVERGING = pg.ColorMap([0.0, 0.5, 1.0], [(40, 80, 200), (250, 250, 250), (210, 40, 40)])
HALF_SIDE = 2.0        # the lab's picture: [-2, 2]²
AXIS_WIDTH = 36        # the picture's y axis (fixed: the square's side depends on it)
PICTURE_SHARE = 0.64   # of the width (maps beside it) or height (maps below it) at most
MIN_SIDE = 60
MARGIN = 4             # around the canvas's plots


def _around(plot: pg.PlotItem) -> tuple[float, float]:
    """The width and height a plot's axes, title and colour bar take around its view box
    (row 2, column 1 of its grid), from their minimum sizes: known before any layout pass."""
    grid = plot.layout
    left, top, right, bottom = grid.getContentsMargins()
    w, h = left + right, top + bottom
    for r in range(grid.rowCount()):
        if r != 2:
            item = grid.itemAt(r, 1) if grid.columnCount() > 1 else None
            size = item.minimumHeight() if item is not None and item.isVisible() else 0.0
            h += min(max(size, grid.rowMinimumHeight(r)), grid.rowMaximumHeight(r))
    for c in range(grid.columnCount()):
        if c != 1:
            item = grid.itemAt(2, c)
            size = item.minimumWidth() if item is not None and item.isVisible() else 0.0
            w += min(max(size, grid.columnMinimumWidth(c)), grid.columnMaximumWidth(c))
    return w, h


class DecisionView(InspectView):
    """The lab's decision-boundary figure, with a train-mode / eval-mode toggle (question 33)."""

    interval_s = 0.12  # the window ticks every 50 ms: a refresh every 0.15 s
    SHARE = 0.1  # at least 5 pictures a second to watch it form; a refresh and its repaint cost ~5 ms
    placeholder = ("Train (Ctrl+Enter) a model on 2D points (circles, moons, xor, spiral, blobs) to "
                   "watch its decision boundary form.")

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        col = QVBoxLayout(self.body)
        row = QHBoxLayout()
        # a short text (a check box cannot wrap): the rest is in its tooltip
        self.train_mode = QCheckBox("Show in train mode")
        self.train_mode.setToolTip("Dropout on, batch norm with the batch's statistics. Question 33: "
                                   "the boundary the network has while it trains, versus eval mode, "
                                   "which tests use.")
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
        ignore_width(self.title)
        col.addWidget(self.title)
        self.canvas = Canvas()
        # the picture keeps a square view of fixed ranges ([-2, 2]² for the lab's data) at any
        # panel size: _arrange sizes its view box, never the ranges
        self.plot = self.canvas.addPlot(row=0, col=0)
        self.plot.setMouseEnabled(False, False)
        self.plot.disableAutoRange()
        self.plot.hideButtons()
        self.plot.getAxis("left").setWidth(AXIS_WIDTH)
        self.half = HALF_SIDE
        self.plot.setRange(xRange=(-self.half, self.half), yRange=(-self.half, self.half), padding=0)
        self.heat = ImageItem()
        self.heat.setLookupTable(DIVERGING.getLookupTable(0.0, 1.0, 256))
        self.plot.addItem(self.heat)
        self.train_points = pg.ScatterPlotItem(symbol="o", size=9, pen=pg.mkPen("w", width=1))
        self.test_points = pg.ScatterPlotItem(symbol="+", size=11)
        for points in (self.train_points, self.test_points):
            points.static_paint = True  # drawn again only when the data set changes
            self.plot.addItem(points)
        # below the picture, so that a narrow dock leaves it its whole width
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=DIVERGING, interactive=False,
                                   label="P(class 1)", orientation="horizontal", width=14)
        self.bar.setImageItem(self.heat, insert_in=self.plot)
        self.hidden_plot, self.hidden = image_plot(self.canvas.ci, "hidden neurons", row=0, col=1)
        self.canvas.ci.layout.setAlignment(self.plot, Qt.AlignmentFlag.AlignCenter)
        col.addWidget(self.canvas, 1)
        self._points_of = None
        self.grid: ins.Grid | None = None
        self._rect: QRectF | None = None
        self.side_by_side = True       # the neurons' maps beside the picture (else below it)
        self.hidden_maps: np.ndarray | None = None  # n × steps × steps, high y first
        self.hidden_mosaic: np.ndarray | None = None
        self._cols = 0                 # the columns of the neurons' mosaic
        self._neuron_area = (1.0, 1.0)
        self.canvas.resized.connect(self._arrange)
        self.plot.geometryChanged.connect(self._arrange)  # its axes grew (zoom, presentation)

    # -- the layout: a square picture, as large as fits, the neurons' maps in what is left
    def _arrange(self) -> None:
        ci = self.canvas.ci
        width, height = self.canvas.width() - 2 * MARGIN, self.canvas.height() - 2 * MARGIN
        extra_w, extra_h = _around(self.plot)
        # beside or below the picture: whichever leaves the larger picture (the grid keeps a
        # spacing for the row or column the neurons' maps left)
        gap_w, gap_h = ci.layout.horizontalSpacing(), ci.layout.verticalSpacing()
        beside = min(height - extra_h - gap_h, PICTURE_SHARE * width - extra_w)
        below = min(width - extra_w - gap_w, PICTURE_SHARE * height - extra_h)
        side = beside > below
        s = max(MIN_SIDE, int(beside if side else below))
        if side != self.side_by_side:
            ci.removeItem(self.hidden_plot)
            ci.addItem(self.hidden_plot, row=0 if side else 1, col=1 if side else 0)
            self.side_by_side = side
        for k in (0, 1):
            ci.layout.setColumnStretchFactor(k, k if side else 0)
            ci.layout.setRowStretchFactor(k, 0 if side else k)
        vb = self.plot.vb
        if vb.minimumWidth() != s or vb.minimumHeight() != s:
            vb.setFixedWidth(s)
            vb.setFixedHeight(s)
        # the row (beside) or column (below) holding the picture is as large as the picture:
        # the margins centre them in the canvas
        if side:
            spare = max(0.0, (height - s - extra_h - gap_h) / 2)
            margins = (MARGIN, MARGIN + spare, MARGIN, MARGIN + spare)
            area = (width - s - extra_w - gap_w, s + extra_h)
        else:
            spare = max(0.0, (width - s - extra_w - gap_w) / 2)
            margins = (MARGIN + spare, MARGIN, MARGIN + spare, MARGIN)
            area = (s + extra_w, height - s - extra_h - gap_h)
        if ci.layout.getContentsMargins() != margins:
            ci.layout.setContentsMargins(*margins)
        self._neuron_area = (max(1.0, area[0]), max(1.0, area[1]))
        self._show_neurons()
        # the canvas sized its layout within the old arrangement's limits (a row or column
        # holding the fixed-size picture): fit it to the whole canvas again
        if ci.geometry() != self.canvas.range:
            ci.setGeometry(self.canvas.range)

    def _show_neurons(self) -> None:
        """Every hidden neuron's map, on as many columns as make them largest in their area."""
        maps = self.hidden_maps
        if maps is None:
            return
        n, h, w = maps.shape
        cols = best_columns(n, w / h, *self._neuron_area)
        if cols != self._cols or self.hidden_mosaic is None:
            self._cols = cols
            self.hidden_mosaic = ins.map_mosaic(maps, cols=cols)
            show_image(self.hidden_plot, self.hidden, self.hidden_mosaic)
        mh, mw = self.hidden_mosaic.shape[:2]
        # all of them, whatever the shape the panel gives the plot
        self.hidden_plot.vb.setRange(QRectF(0, 0, mw, mh), padding=0.02)

    def _set_range(self, data) -> None:
        self.half = half_side(data)
        self.plot.setRange(xRange=(-self.half, self.half), yRange=(-self.half, self.half), padding=0)

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
        self._set_range(data)

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
        self.title.setText(f"Iter {self.source.progress.steps}: acc train {picture.train_acc:.1f}% "
                           f"({picture.train_loss:.3f}), acc test {picture.test_acc:.1f}%{mode}")
        if picture.hidden is not None:
            # tiles read top to bottom like text, so each map is flipped to put high y on top
            self.hidden_maps = np.ascontiguousarray(picture.hidden[:, ::-1, :])
            self.hidden_mosaic = None
            self._show_neurons()
            # (of the first hidden layer) on two lines: the maps' column is narrow beside the
            # square picture, in the docked panel and in presentation mode alike
            title = f"{len(picture.hidden)} hidden<br>neurons"
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


def half_side(data) -> float:
    """The picture's square is [-h, h]²: the lab's [-2, 2]², or larger when points reach further."""
    reach = max((float(s.x.abs().max()) for s in (data.train, data.test) if len(s)), default=0.0)
    return HALF_SIDE if reach <= HALF_SIDE else math.ceil(reach * 2) / 2


@torch.no_grad()
def _picture(model, data, train: bool) -> _Picture:
    """Everything the view draws, computed from the model (numbers and arrays only)."""
    h = half_side(data)
    grid = ins.decision_grid(model, data, STEPS, bounds=(-h, h, -h, h), train_mode=train)

    def scores(split):
        out = model(data.prepare(split.x, train=False)).float()
        loss = nn.functional.cross_entropy(out, split.y).item()
        return 100 * (out.argmax(1) == split.y).float().mean().item(), loss

    train_acc, train_loss = scores(data.train)
    test_acc = scores(data.test)[0] if len(data.test) else float("nan")
    acts = [n for n, m in model.named_children() if isinstance(m, models.ACTIVATION_TYPES)]
    hidden = ins.hidden_maps(model, grid, train_mode=train) if acts else None
    return _Picture(grid, train_acc, train_loss, test_acc, acts[0] if acts else None, hidden)
