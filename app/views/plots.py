"""Live training curves (pyqtgraph): loss per batch, loss and accuracy per epoch, learning rate.

One PlotDataItem per series, updated with setData once per GUI tick (redraw), never per
event. The x axis of every plot is in epochs, so one crosshair lines them all up.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.layout import ignore_width
from app.views.common import Canvas, shrinkable
from app.views.crosshair import Crosshair, epoch_readout
from app.views.curves import SPLIT_COLOURS, Growing, curve, points, sync_legend
from app.views.overlays import Overlays
from app.views.plot_keys import KeyView, OneLineLabel, SplitKey
from app.views.ranges import RoundedExtent, rounded
from core.engine.records import EpochRecord

__all__ = ["PlotsView"]

pg.setConfigOptions(background="w", foreground="#333333", antialias=False)

# each plot's height at least (title, axes and data together): lower, the tick labels stack
# and the curves are strips
PLOT_MIN_HEIGHT = 150
MARGIN, ROW_SPACING, COLUMN_SPACING = 2, 4, 12  # the canvas's sides (its title rows pad the top)


class PlotsView(QWidget):
    """The four live plots, their crosshair read-out, log-scale switch and overlays of past runs."""

    log_scale_changed = Signal(bool)
    PLOTS = ("batch", "loss", "accuracy", "lr")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.canvas = Canvas(self)
        self.canvas.ci.setContentsMargins(MARGIN, 0, MARGIN, 0)
        self.canvas.ci.layout.setHorizontalSpacing(COLUMN_SPACING)
        self.canvas.ci.layout.setVerticalSpacing(ROW_SPACING)
        self._add_plots()
        self._add_curves()
        self.readout = QLabel("Hover over a plot for exact values.", self)
        self.readout.setObjectName("readout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        ignore_width(self.readout)  # its text never widens the window (it fits 1280×720)
        self.crosshair = Crosshair(self.canvas, self.plots, self.readout, self.values_at)
        self.log = QCheckBox("log-scale loss", self)
        self.log.setToolTip("Show both loss plots on a logarithmic scale: slow late progress "
                            "and divergence are easier to see.")
        self.log.toggled.connect(self.set_log_scale)
        # under the plots, one line: the live splits' key, then the ticked runs' colours, labels
        # and line styles (set_overlays), cut with "…" where they do not fit (all in the tooltip)
        self.key_view = KeyView(self.key, self)
        self.overlay_key = OneLineLabel(self)
        self.overlay_key.setObjectName("overlayKey")
        self.overlay_key.hide()
        self.overlays = Overlays(self.loss_plot, self.acc_plot, self.lr_plot, self.overlay_key)
        keys = QHBoxLayout()
        # the row keeps a key's height while empty: a row that appeared with the run's first
        # epoch laid the plots above it out again, and repainted them whole, each time
        strut = QWidget(self)  # (a layout's strut: the row counts as empty, its spacing goes)
        strut.setFixedSize(1, KeyView.LINE)
        keys.addWidget(strut)
        keys.addWidget(self.key_view)
        keys.addWidget(self.overlay_key, 1)
        bar = QHBoxLayout()
        bar.addWidget(self.readout, 1)
        bar.addWidget(self.log)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addWidget(self.canvas, 1)
        col.addLayout(keys)
        col.addLayout(bar)
        self._log = False
        self.clear()

    def _add_plots(self) -> None:
        c = self.canvas
        self.batch_plot = c.addPlot(0, 0, title="Loss per batch (train)")
        self.loss_plot = c.addPlot(0, 1, title="Loss per epoch")
        self.acc_plot = c.addPlot(1, 0, title="Accuracy per epoch (%)")
        self.lr_plot = c.addPlot(1, 1, title="Learning rate")
        self.plots = [self.batch_plot, self.loss_plot, self.acc_plot, self.lr_plot]
        self.extents = {}
        for name, p in zip(self.PLOTS, self.plots):
            # no grid: its lines make the axis repaint with every curve update (the crosshair
            # read-out gives exact values instead)
            p.setLabel("bottom", "epoch")
            self.extents[name] = RoundedExtent()
            p.addItem(self.extents[name])
            p.getAxis("left").setWidth(56)
            shrinkable(p.titleLabel)  # a narrow window cuts a title, never pushes a plot out
        # no legend inside a plot (it covered the last epochs): a split has one colour on all
        # four, so one key under them names it (plot_keys.SplitKey), as both plots' legend
        self.key = SplitKey()
        self.loss_plot.legend = self.acc_plot.legend = self.key
        self.acc_plot.setYRange(0, 100, padding=0.02)

    def _add_curves(self) -> None:
        self.batch_curve = curve(self.batch_plot, SPLIT_COLOURS["train"], width=1)
        self.loss_curves = {s: curve(self.loss_plot, c, s, symbol=True) for s, c in SPLIT_COLOURS.items()}
        self.acc_curves = {s: curve(self.acc_plot, c, s, symbol=True) for s, c in SPLIT_COLOURS.items()}
        self.top5_curves = {s: curve(self.acc_plot, c, f"{s} top-5", dashed=True)
                            for s, c in SPLIT_COLOURS.items() if s != "train"}
        self.lr_curve = curve(self.lr_plot, "#444444", symbol=True)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        """Room for two rows of PLOT_MIN_HEIGHT plots and the lines under them, so that layouts
        keep it. Asked of the view, not set on the canvas: a parent that gives less anyway
        squeezes the plots, rather than let them run under the keys and the read-out."""
        hint = super().minimumSizeHint()
        extra = 2 * PLOT_MIN_HEIGHT + ROW_SPACING - self.canvas.minimumSizeHint().height()
        return QSize(hint.width(), hint.height() + max(0, extra))

    @property
    def overlay_items(self) -> list[tuple[pg.PlotItem, pg.PlotDataItem]]:
        """The ticked runs' curves, each with the plot it is on."""
        return self.overlays.items

    # -- data in
    def clear(self) -> None:
        """Forget the live run's points and ranges (overlays stay): a new run starts on fresh
        axes, not on the last run's (a diverged run's loss reached 80,000)."""
        self._steps, self._losses = Growing(), Growing()
        self.steps_per_epoch = 1
        self.epochs: int | None = None  # the run's length, once known
        self.records: list[EpochRecord] = []
        # per-epoch series, grown from the records: rebuilding them per redraw is O(epochs)
        self._series = {key: (Growing(), Growing()) for key in self._series_keys()}
        # what arrived since the series last grew: the 20 Hz tick only queues it, and the
        # next read (a redraw, a few a second) converts it in one pass. Each tick's Python
        # time is taken from a small network's training thread (Python's GIL).
        self._new_chunks: list = []
        self._new_records = 0
        self.lr_by_epoch: dict[int, float] = {}
        self._pending = set(self.PLOTS)
        self._since: dict[str, float] = {}  # plot → when its oldest undrawn data was queued
        self._turn, self._last = 0, None
        self._newest = self.shown = None  # the last chunk queued / drawn on the batch curve
        self._reset_ranges()
        self.redraw(everything=True)

    def _reset_ranges(self) -> None:
        """Auto-range on every axis again (a hand zoom of the last run is dropped) from
        x in [0, 1] and, for the losses and the learning rate, y in [0, 1]."""
        for name, p in zip(self.PLOTS, self.plots):
            self._fit(name, 1.0)  # no points: unit ranges
            p.enableAutoRange(axis="x")
            if name != "accuracy":
                p.enableAutoRange(axis="y")
        self.acc_plot.setYRange(0, 100, padding=0.02)

    def _queue(self, *plots: str) -> None:
        now = time.perf_counter()
        for plot in plots:
            self._pending.add(plot)
            self._since.setdefault(plot, now)

    def waiting_since(self) -> float | None:
        """When the oldest data not yet drawn was queued (perf_counter), or None."""
        return min((self._since[p] for p in self._pending if p in self._since), default=None)

    def _series_keys(self):
        for split in SPLIT_COLOURS:
            yield ("loss", split)
            yield ("accuracy", split)
            if split in self.top5_curves:
                yield ("top5", split)

    def set_steps_per_epoch(self, steps: int, epochs: int | None = None) -> None:
        self.steps_per_epoch = max(1, steps)
        self.epochs = epochs

    def _fit(self, plot: str, x: float, ys=(), lo: float = math.inf, hi: float = -math.inf) -> None:
        """Round plot's ranges outwards (ranges.rounded) around x, [lo, hi] and the series ys;
        accuracy stays at 0–100 %."""
        lo, hi = min([lo] + [s.lo for s in ys]), max([hi] + [s.hi for s in ys])
        log = self._log and plot in ("batch", "loss")
        self.extents[plot].set(*rounded(x, lo, hi, self.epochs, log, fixed_y=plot == "accuracy"))

    def add_chunks(self, chunks) -> None:
        """Queue batch chunks (core.engine.train.BatchChunk) drained from the worker's buffer."""
        if chunks:
            self._new_chunks.extend(chunks)
            self._newest = chunks[-1]
            self._queue("batch")

    def add_records(self, records: list[EpochRecord]) -> None:
        """Queue epoch records drained from the worker's buffer."""
        if records:
            self.records.extend(records)
            self._new_records += len(records)
            self._queue("loss", "accuracy", "lr")

    def _absorb(self) -> None:
        """Grow the series by what was queued since the last call: one extend per series."""
        chunks, self._new_chunks = self._new_chunks, []
        if chunks:
            cat = (lambda a: a[0]) if len(chunks) == 1 else np.concatenate
            self._steps.extend(cat([ch.steps for ch in chunks]) / self.steps_per_epoch, bounds=False)
            self._losses.extend(cat([ch.loss for ch in chunks]))
            for ch in chunks:
                if self.lr_by_epoch.get(ch.epoch) != ch.lr:
                    self.lr_by_epoch[ch.epoch] = ch.lr
                    self._queue("lr")
        if self._new_records:
            records = self.records[-self._new_records:]
            self._new_records = 0
            columns: dict[tuple[str, str], tuple[list, list]] = {}
            for record in records:
                self.lr_by_epoch[record.epoch] = record.lr
                for split in SPLIT_COLOURS:
                    m = record.split(split)
                    for key, value in (() if m is None else
                                       (("loss", m.loss), ("accuracy", m.accuracy), ("top5", m.top5))):
                        if value is not None:
                            xs, ys = columns.setdefault((key, split), ([], []))
                            xs.append(record.epoch)
                            ys.append(value)
            for key, (xs, ys) in columns.items():
                if key in self._series:
                    x, y = self._series[key]
                    x.extend(np.array(xs, dtype=float), bounds=False)
                    y.extend(np.array(ys, dtype=float))

    @property
    def steps(self) -> Growing:
        """The live run's step positions (in epochs) on the per-batch loss plot."""
        self._absorb()
        return self._steps

    @property
    def losses(self) -> Growing:
        self._absorb()
        return self._losses

    @property
    def series(self) -> dict[tuple[str, str], tuple[Growing, Growing]]:
        """(metric, split) → (epochs, values) of the live run."""
        self._absorb()
        return self._series

    def redraw(self, everything: bool = False, late: float | None = None) -> bool:
        """Push buffered values to the curves of one changed plot (all of them if asked).

        One plot per call keeps each repaint to about a quarter of the canvas, so the event
        loop is never held for long. The plot whose data waits longest goes first if it waits
        since before `late` (a perf_counter time); otherwise the per-batch loss, which changes
        most, gets every other turn and the per-epoch plots share the rest. Returns whether
        anything changed."""
        if not self._pending:
            return False
        self._absorb()
        waiting = [p for p in self.PLOTS if p in self._pending and late is not None
                   and self._since.get(p, math.inf) <= late]
        if everything:
            todo = [p for p in self.PLOTS if p in self._pending]
        elif waiting:
            todo = [min(waiting, key=self._since.__getitem__)]
        elif "batch" in self._pending and (self._last != "batch" or self._pending == {"batch"}):
            todo = ["batch"]
        else:
            others = self.PLOTS[1:]
            order = others[self._turn:] + others[:self._turn]
            todo = [next(p for p in order if p in self._pending)]
            self._turn = (others.index(todo[0]) + 1) % len(others)
        for plot in todo:
            self._pending.discard(plot)
            self._since.pop(plot, None)
            getattr(self, f"_draw_{plot}")()
            self._last = plot
        return True

    def _draw_batch(self) -> None:
        self._fit("batch", self.steps.view()[-1] if self.steps.n else 1.0, [self.losses])
        self.batch_curve.setData(self.steps.view(), self.losses.view())
        self.shown = self._newest  # the progress line reports what the curve shows

    def _set_markers(self) -> None:
        few = len(self.records) <= 60  # markers help on short runs and cost on long ones
        if few != getattr(self, "_markers", None):
            self._markers = few
            for c in list(self.loss_curves.values()) + list(self.acc_curves.values()) + [self.lr_curve]:
                c.setSymbol("o" if few else None)

    def _draw_loss(self) -> None:
        self._set_markers()
        self._fit("loss", self._last_epoch(), [self.series[("loss", s)][1] for s in SPLIT_COLOURS])
        for split, item in self.loss_curves.items():
            item.setData(*(a.view() for a in self.series[("loss", split)]))
        sync_legend(self.loss_plot)

    def _last_epoch(self) -> float:
        return float(self.records[-1].epoch) if self.records else 1.0

    def _draw_accuracy(self) -> None:
        self._set_markers()
        self._fit("accuracy", self._last_epoch())
        for split, item in self.acc_curves.items():
            item.setData(*(a.view() for a in self.series[("accuracy", split)]))
        for split, item in self.top5_curves.items():
            item.setData(*(a.view() for a in self.series[("top5", split)]))
        sync_legend(self.acc_plot)

    def _draw_lr(self) -> None:
        self._set_markers()
        self._fit("lr", self._last_epoch(), lo=0.0, hi=max(self.lr_by_epoch.values(), default=-math.inf))
        e = sorted(self.lr_by_epoch)
        # lr holds during an epoch: draw it at the epoch's start and end
        xs = np.repeat(np.array(e, dtype=float), 2) - np.tile([1.0, 0.0], len(e))
        self.lr_curve.setData(xs, np.repeat([self.lr_by_epoch[k] for k in e], 2))

    def point_counts(self) -> dict[str, int]:
        """Return how many points each live curve shows (tests and the status bar use it)."""
        out = {"batch loss": points(self.batch_curve)}
        for name, group in (("loss", self.loss_curves), ("accuracy", self.acc_curves),
                            ("top-5", self.top5_curves)):
            for split, c in group.items():
                out[f"{split} {name}"] = points(c)
        out["lr"] = points(self.lr_curve)
        return out

    def set_overlays(self, runs: list[tuple[str, list[EpochRecord]]]) -> None:
        """Draw each (label, epoch records) of a stored run over the live curves (overlays.py)."""
        self.overlays.show(runs)

    # -- interaction
    def mark_epoch(self, epoch: int | None) -> None:
        """A line across each plot at the epoch the Inspect timeline shows (None: none)."""
        if not hasattr(self, "_marks"):
            pen = pg.mkPen("#7a5c00", width=1, style=Qt.PenStyle.DashLine)
            self._marks = [pg.InfiniteLine(angle=90, pen=pen) for _ in self.plots]
            for plot, mark in zip(self.plots, self._marks):
                mark.setZValue(-5)  # under the curves
                plot.addItem(mark, ignoreBounds=True)
        for mark in self._marks:
            mark.setVisible(epoch is not None)
            if epoch is not None:
                mark.setValue(epoch)

    def set_log_scale(self, on: bool) -> None:
        if on == self._log:
            return
        self._log = on
        for p in (self.batch_plot, self.loss_plot):
            p.setLogMode(False, on)
        self._queue("batch", "loss")  # their rounded y ranges change scale
        self.redraw(everything=True)
        self.log.setChecked(on)
        self.log_scale_changed.emit(on)

    def values_at(self, x: float) -> str:
        """Return the rich-text read-out of every live series at epoch position x."""
        parts = []
        steps = self.steps.view()
        if len(steps):
            i = int(np.clip(np.searchsorted(steps, x), 0, len(steps) - 1))
            parts.append(f"step {round(steps[i] * self.steps_per_epoch)}: batch loss "
                         f"<b>{self.losses.view()[i]:.4g}</b>")
        if self.records:
            parts.append(epoch_readout(min(self.records, key=lambda r: abs(r.epoch - x))))
        return "  ·  ".join(parts) or f"epoch {x:.2f}"

    def export_png(self, path: str) -> bool:
        """Save the four plots and their keys as one PNG; return whether it was written."""
        area = self.canvas.geometry()
        for key in (self.key_view, self.overlay_key):
            if key.isVisible():
                area = area.united(QRect(0, key.y(), self.width(), key.height()))
        return self.grab(area).save(path, "PNG")
