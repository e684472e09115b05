"""Layer health over training: per weight layer, the activations' mean and std, the fraction
of dead units and the weight gradient's norm, sampled in the training thread (app.worker) and
taken from the live buffer."""

from __future__ import annotations

import bisect
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from app.views.common import Canvas, InspectView, best_columns, shrinkable
from app.views.curves import RUN_COLOURS
from app.views.ranges import RoundedExtent, nice_bounds, nice_ceiling

# the plots' titles: short enough for a quarter of a 370 px dock (a longer one ran into its
# neighbour's); the table's headers on two lines, or shorter where even those do not fit
FIELDS = [("act_mean", "activation mean"), ("act_std", "activation std"),
          ("dead", "dead units"), ("grad_norm", "‖∂loss/∂W‖ (log)")]
HEADS = {"act_mean": ("activation\nmean", "act.\nmean"), "act_std": ("activation\nstd", "act.\nstd"),
         "dead": ("dead\nunits", "dead"), "grad_norm": ("‖∂loss/∂W‖", "‖∂L/∂W‖")}
TIPS = {"act_mean": "Mean of the layer's outputs over the batch.",
        "act_std": "Standard deviation of the layer's outputs over the batch.",
        "dead": "Fraction of the layer's units that output 0 for the whole batch (dead ReLUs).",
        "grad_norm": "Norm of the loss's gradient with respect to the layer's weights (log scale)."}
MIN_PLOT = 150  # px: narrower than this, the plots stack in one column

# Part 1's hand-written forwards are plain tensor operations that never call the torch.nn
# layers, whose hooks take the activations (app.worker), and 'manual' fills no .grad either
HAND_WRITTEN = {
    "manual": "Layer health watches the network's torch.nn layers, and the hand-written "
              "implementation (Part 1: 'manual') never goes through them: its forward and backward "
              "passes are plain tensor operations, so there are no activations or gradients to "
              "sample. Switch Part 1's implementation to 'nn' or 'optim' to see it.",
    "autograd": "Implementation 'autograd' runs the hand-written forward pass, which never goes "
                "through the torch.nn layers: the activation plots stay empty and only the "
                "gradient norms are measured. Switch Part 1's implementation to 'nn' or 'optim' "
                "for all four.",
}


class HealthView(InspectView):
    """Four plots, one curve per weight layer, x = training step; a table of the latest values.

    A refresh updates one of the plots (and, with the first, the table), in turn: each plot
    still changes about once a second, and no single refresh holds the GUI thread for long."""

    interval_s = 0.25
    placeholder = "Train a model (Ctrl+Enter) to see its layers' health."

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        self.canvas = Canvas()
        self.plots = {}
        for k, (key, title) in enumerate(FIELDS):
            p = self.canvas.addPlot(row=k // 2, col=k % 2, title=title)
            shrinkable(p.titleLabel)  # a narrow panel cuts a title, never pushes a plot out
            # the same preferred size for all four: a long title no longer takes its column
            # the room of the other's, nor pushes the right-hand plots past a narrow dock
            p.setPreferredSize(MIN_PLOT, MIN_PLOT)
            p.setToolTip(TIPS[key])
            p.setLabel("bottom", "step")  # no grid: it makes every curve update repaint the axes
            # a fixed width: tick labels that change width would re-lay out and repaint all four
            p.getAxis("left").setWidth(48)
            # the ranges move in round steps, not with every sample: a moving axis is
            # regenerated and repainted with the curves (plots.RoundedExtent)
            p.extent = RoundedExtent()
            p.addItem(p.extent)
            self.plots[key] = p
        self._cols = 2  # the plots' columns: 2×2, or one column in a tall dock (_regrid)
        self.canvas.resized.connect(self._regrid)
        self.plots["grad_norm"].setLogMode(y=True)
        self.plots["act_mean"].addLegend(offset=(5, 5))
        self.table = FittedTable(0, 1 + len(FIELDS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.canvas)
        split.addWidget(self.table)
        split.setSizes([600, 160])
        self.note = QLabel()  # what this implementation cannot measure
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        self.note.hide()
        col = QVBoxLayout(self.body)
        col.addWidget(self.note)
        col.addWidget(split, 1)
        self.clear()

    def _regrid(self) -> None:
        """Four plots on the columns that make them largest: 2×2, or 1×4 in a tall dock."""
        # a plot is about 4:3 (its axes take room); 1 or 2 columns, never 3, and one where two
        # would be too narrow to read
        width = self.canvas.width()
        best = best_columns(len(self.plots), 4 / 3, width, self.canvas.height())
        cols = min(2 if width >= 2 * MIN_PLOT else 1, best)
        if cols == self._cols:
            return
        self._cols = cols
        for p in self.plots.values():
            self.canvas.ci.removeItem(p)
        for k, p in enumerate(self.plots.values()):
            self.canvas.ci.addItem(p, row=k // cols, col=k % cols)

    def clear(self) -> None:
        """Forget the last run's samples (a run starts)."""
        self.steps: list[int] = []
        self.values: dict[str, dict[str, list[float]]] = {}
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        for p in self.plots.values():
            p.clear()
            if p.legend is not None:
                p.legend.clear()
            p.extent.set(1.0)
            p.addItem(p.extent)
        self.table.setRowCount(0)
        self.until: float | None = None  # the last step shown (the Inspect timeline's epoch)
        self._drawn = {key: 0 for key, _ in FIELDS}  # samples each plot shows
        self._turn = 0

    def run_started(self) -> None:
        super().run_started()
        self.clear()

    def add_samples(self, samples: list[tuple[int, dict[str, tuple[float, float, float, float]]]]) -> None:
        """Append (step, {layer: (act mean, act std, dead, grad norm)}) samples."""
        for step, layers in samples:
            self.steps.append(step)
            for name, vals in layers.items():
                per = self.values.setdefault(name, {key: [] for key, _ in FIELDS})
                for (key, _), v in zip(FIELDS, vals):
                    per[key].append(v)

    def show_until(self, step: float | None) -> None:
        """Show the samples up to that training step (None: all of them)."""
        if step != self.until:
            self.until, self.stale = step, True
            self._drawn = {key: -1 for key, _ in FIELDS}

    def _count(self) -> int:
        """How many samples are shown: those up to `until`."""
        return len(self.steps) if self.until is None else bisect.bisect_right(self.steps, self.until)

    def refresh(self) -> None:
        implementation = self.source.exp.model.implementation
        why = HAND_WRITTEN.get(implementation)
        if implementation == "manual":  # nothing at all to show
            self.say(why)
            return
        self.note.setText(why or "")
        self.note.setVisible(why is not None)
        if not self._count():
            self.say("Waiting for the first layer-health sample (taken every few hundred "
                     "milliseconds while training)." if not self.source.stored
                     else "Layer health is first sampled during epoch 1: move the timeline on."
                     if self.steps else "This run kept no layer health: it was trained with "
                     "train.snapshots = none, or before LearnScope kept it with its snapshots. "
                     "Train it again to see it.")
            return
        self.say(None)
        # while training, one plot per refresh; once the run has ended, or when the view has
        # just been chosen (a forced tick), all of them: half-empty plots read as missing data
        for _ in range(1 if self.source.live and not self._forced else len(FIELDS)):
            self._refresh_one()

    def tick(self, now: float | None = None, force: bool = False) -> bool:
        self._forced = force
        return super().tick(now, force)

    _forced = False

    def refresh_all(self) -> None:
        """Bring every plot and the table up to date at once (screenshots)."""
        for _ in FIELDS:
            self._refresh_one()

    def _refresh_one(self) -> None:
        keys = [k for k, _ in FIELDS]
        stale = [k for k in keys if self._drawn[k] != self._count()]
        if not stale:
            return
        key = next(k for k in keys[self._turn:] + keys[:self._turn] if k in stale)
        self._turn = (keys.index(key) + 1) % len(keys)
        self._draw(key)
        if key == keys[0]:
            self._fill_table()

    def _draw(self, key: str) -> None:
        n = self._drawn[key] = self._count()
        x = np.asarray(self.steps[:n], float)
        values = [np.asarray(per[key][:n], float) for per in self.values.values()]
        finite = np.concatenate([v[np.isfinite(v)] for v in values] or [np.zeros(0)])
        plot = self.plots[key]
        # while training the x axis grows in round steps; the finished run fills it
        # (the whole run's, when the timeline shows an earlier epoch: the axis stays put)
        last = float(self.steps[-1])
        right = max(nice_ceiling(last) if self.source.live else last, 1.0)
        if key == "grad_norm" or not len(finite):
            span = None  # log scale: pyqtgraph's own range
        elif key == "dead":  # a fraction: from 0, so that "none dead" reads as such
            span = (0.0, max(nice_ceiling(float(finite.max())), 0.1))
        else:
            span = nice_bounds(float(finite.min()), float(finite.max()))
        plot.extent.set(right, span)
        for r, (name, per) in enumerate(self.values.items()):
            y = np.asarray(per[key][:n], float)
            if key == "grad_norm":
                y = np.where(y > 0, y, np.nan)
            curve = self.curves.get((name, key))
            if curve is None:
                curve = self.curves[(name, key)] = self.plots[key].plot(
                    pen=pg.mkPen(RUN_COLOURS[r % len(RUN_COLOURS)], width=2),
                    name=name if key == "act_mean" else None, connect="finite")
            curve.setData(x[:len(y)], y)

    def _fill_table(self) -> None:
        fit = self.table.rowCount() != len(self.values)  # column widths: once per run
        self.table.setRowCount(len(self.values))
        n = self._count()
        for r, (name, per) in enumerate(self.values.items()):
            self.table.setItem(r, 0, QTableWidgetItem(name))
            for c, (key, _) in enumerate(FIELDS, 1):
                v = per[key][n - 1]
                # three digits: the trend is the point, and a narrower column
                self.table.setItem(r, c, QTableWidgetItem("—" if not math.isfinite(v) else f"{v:.3g}"))
        if fit or self.table.cuts():
            self.table.fit()


class FittedTable(QTableWidget):
    """The latest values, every column in view: its columns share the table's width, under
    two-line headers (shorter ones in a narrow dock); only a table too narrow even for those
    scrolls sideways, with its numbers whole."""

    def __init__(self, rows: int, columns: int, parent=None):
        super().__init__(rows, columns, parent)
        self.short: bool | None = None  # which headers it shows (None: not yet)
        self.setWordWrap(False)
        self._head(False)

    def _head(self, short: bool) -> None:
        self.short = short
        self.setHorizontalHeaderLabels(["layer"] + [HEADS[key][short] for key, _ in FIELDS])
        self.horizontalHeaderItem(0).setToolTip("The network's layers that have weights.")
        for c, (key, _) in enumerate(FIELDS, 1):
            self.horizontalHeaderItem(c).setToolTip(TIPS[key])

    def _needed(self) -> list[int]:
        """Each column's width for its header and its widest value."""
        header, widths = self.horizontalHeader(), []
        for c in range(self.columnCount()):
            cells = [self.sizeHintForColumn(c)] if self.rowCount() else []
            widths.append(max([header.sectionSizeFromContents(c).width()] + cells))
        return widths

    def cuts(self) -> bool:
        """Whether a value is wider than its column (they change with every sample)."""
        return any(self.sizeHintForColumn(c) > self.columnWidth(c) for c in range(self.columnCount()))

    def fit(self) -> None:
        """Share the table's width out over the columns when their headers and numbers fit
        it (with the long headers if they do), each at least as wide as it needs; else each
        column as wide as it needs, and a scroll bar."""
        room = self.viewport().width()
        for short in (False, True):
            if self.short != short:
                self._head(short)
            needed = self._needed()
            if sum(needed) <= room:
                break
        spare = max(room - sum(needed), 0)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        for c, width in enumerate(needed):
            # Qt's Stretch makes the columns equal, and cut a wide number ("1.99e+03") short
            header.resizeSection(c, width + spare // len(needed) + (c < spare % len(needed)))

    def viewportEvent(self, event) -> bool:  # noqa: N802
        # the viewport changes with the table and with its vertical scroll bar
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return super().viewportEvent(event)
