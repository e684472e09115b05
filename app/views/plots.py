"""Live training curves (pyqtgraph): loss per batch, loss and accuracy per epoch, learning rate.

One PlotDataItem per series, updated with setData once per GUI tick (redraw), never per
event. The x axis of every plot is in epochs, so one crosshair lines them all up.
"""

from __future__ import annotations


import html
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.layout import ignore_width
from app.views.common import Canvas, shrinkable

SPLIT_COLOURS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}
RUN_COLOURS = ["#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
               "#1f77b4", "#ff7f0e", "#2ca02c"]

pg.setConfigOptions(background="w", foreground="#333333", antialias=False)


class _Growing:
    """A float array that grows by doubling (appending a chunk is amortised O(chunk)), and
    keeps its smallest and largest finite values."""

    def __init__(self) -> None:
        self.data = np.empty(1024)
        self.n = 0
        self.lo, self.hi = math.inf, -math.inf

    def extend(self, values: np.ndarray, bounds: bool = True) -> None:
        """Append values (bounds=False: don't track their range, e.g. for epochs)."""
        need = self.n + len(values)
        if need > len(self.data):
            self.data = np.resize(self.data, max(need, 2 * len(self.data)))
        self.data[self.n:need] = values
        self.n = need
        if not bounds:
            return
        finite = values[np.isfinite(values)]
        if len(finite):
            self.lo, self.hi = min(self.lo, float(finite.min())), max(self.hi, float(finite.max()))

    def view(self) -> np.ndarray:
        return self.data[:self.n]


def _curve(plot: pg.PlotItem, colour: str, name: str | None = None, dashed: bool = False,
           width: float = 2, symbol: bool = False) -> pg.PlotDataItem:
    pen = pg.mkPen(colour, width=width, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
    item = pg.PlotDataItem(pen=pen, symbol="o" if symbol else None, symbolSize=5,
                           symbolBrush=colour, symbolPen=None)
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    item.legend_name = name  # listed in the legend once it has points
    plot.addItem(item)
    return item


def _sync_legend(plot: pg.PlotItem, items) -> None:
    """Show a legend entry exactly for the named curves that have points."""
    legend = plot.legend
    shown = {id(sample.item) for sample, _label in legend.items}
    for item in items:
        name = getattr(item, "legend_name", None)
        has = item.xData is not None and len(item.xData) > 0
        if name and has and id(item) not in shown:
            legend.addItem(item, name)
        elif id(item) in shown and not has:
            legend.removeItem(item)


def _number(v) -> float | None:
    """v as a float if it is a number (a hand-edited metrics file may hold anything), else None."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            return float(v)
        except OverflowError:  # an integer of hundreds of digits
            return None
    return None


def overlay_key(entries: list[str], helds: list[str]) -> str:
    """The rich text naming the ticked runs (entries: colour and label each) and what their
    line styles mean."""
    if not entries:
        return ""
    held = " or ".join(dict.fromkeys("validation" if h == "val" else h for h in helds))
    return (f"<span style='color:#555'>Ticked runs — solid: {held}, dashed: train.</span>"
            "&nbsp;&nbsp; " + " &nbsp;&nbsp; ".join(entries))


def nice_ceiling(x: float) -> float:
    """Return the smallest of 1, 2, 5, 10, 20, 50, … (or 0.1, 0.2, 0.5, …) that is at least x."""
    if x <= 0:
        return 0.0
    k = 10.0 ** math.floor(math.log10(x))
    return next(m * k for m in (1, 2, 5, 10) if m * k >= x * (1 - 1e-9))


def nice_bounds(lo: float, hi: float) -> tuple[float, float]:
    """Return lo and hi rounded outwards to a step of about a fifth of their distance."""
    step = nice_ceiling((hi - lo) / 5) or nice_ceiling(abs(hi)) or 1.0
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


class RoundedExtent(pg.GraphicsObject):
    """An item that draws nothing and only widens its plot's auto-range to rounded bounds.

    The axes then move in steps (x: …, 20, 50, 100 epochs; y: to the next round value)
    instead of with every redraw: an axis whose range moves regenerates its ticks and repaints
    with the curves, which was half of a redraw's cost. Auto-range stays pyqtgraph's, so
    zooming by hand and the "A" button behave as usual."""

    def __init__(self) -> None:
        super().__init__()
        self.bounds: tuple[tuple[float, float], tuple[float, float] | None] = ((0.0, 1.0), None)

    def set(self, right: float, y: tuple[float, float] | None = None) -> None:
        """Widen the plot's auto-range to x in [0, right] and y in y (None: the data's own)."""
        bounds = ((0.0, right), y)
        if bounds != self.bounds:
            self.bounds = bounds
            self.informViewBoundsChanged()  # the plot re-ranges at its next repaint

    def dataBounds(self, axis, frac=1.0, orthoRange=None):
        return self.bounds[axis]

    def boundingRect(self):
        return QRectF()

    def paint(self, painter, *args) -> None:
        pass


class PlotsView(QWidget):
    """The four live plots, their crosshair read-out, log-scale switch and overlays of past runs."""

    log_scale_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.canvas = Canvas(self)
        self.canvas.ci.setSpacing(12)
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
        # the live splits' legends sit in the corners the curves leave empty (a falling loss:
        # top right; a rising accuracy: bottom right), see-through; ticked runs are named in
        # the key below the plots, so that six of them never cover the curves
        legend_brush = pg.mkBrush(255, 255, 255, 170)
        self.loss_plot.addLegend(offset=(-10, 10), brush=legend_brush)
        self.acc_plot.addLegend(offset=(-10, -10), brush=legend_brush)
        self.acc_plot.setYRange(0, 100, padding=0.02)

        self.batch_curve = _curve(self.batch_plot, SPLIT_COLOURS["train"], width=1)
        self.loss_curves = {s: _curve(self.loss_plot, c, s, symbol=True) for s, c in SPLIT_COLOURS.items()}
        self.acc_curves = {s: _curve(self.acc_plot, c, s, symbol=True) for s, c in SPLIT_COLOURS.items()}
        self.top5_curves = {s: _curve(self.acc_plot, c, f"{s} top-5", dashed=True)
                            for s, c in SPLIT_COLOURS.items() if s != "train"}
        self.lr_curve = _curve(self.lr_plot, "#444444", symbol=True)
        self.overlay_items: list[tuple[pg.PlotItem, pg.PlotDataItem]] = []

        self.vlines = []
        for p in self.plots:
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#888888", width=1))
            line.hide()
            p.addItem(line, ignoreBounds=True)
            self.vlines.append(line)
        self._mouse = pg.SignalProxy(self.canvas.scene().sigMouseMoved, rateLimit=30,
                                     slot=self._moved)

        self.readout = QLabel("Hover over a plot for exact values.", self)
        self.readout.setObjectName("readout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        ignore_width(self.readout)  # its text never widens the window (it fits 1280×720)
        self.log = QCheckBox("log-scale loss", self)
        self.log.setToolTip("Show both loss plots on a logarithmic scale: slow late progress "
                            "and divergence are easier to see.")
        self.log.toggled.connect(self.set_log_scale)
        bar = QHBoxLayout()
        bar.addWidget(self.readout, 1)
        bar.addWidget(self.log)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.canvas, 1)
        # the ticked runs' colours, labels and line styles (set_overlays), in a row of its own
        self.overlay_key = QLabel(self)
        self.overlay_key.setObjectName("overlayKey")
        self.overlay_key.setTextFormat(Qt.TextFormat.RichText)
        self.overlay_key.setWordWrap(True)
        self.overlay_key.hide()
        col.addWidget(self.overlay_key)
        col.addLayout(bar)
        self._log = False
        self.clear()

    # -- data in
    def clear(self) -> None:
        """Forget the live run's points and ranges (overlays stay): a new run starts on fresh
        axes, not on the last run's (a diverged run's loss reached 80,000)."""
        self._steps, self._losses = _Growing(), _Growing()
        self.steps_per_epoch = 1
        self.epochs: int | None = None  # the run's length, once known
        self.records: list[dict] = []
        # per-epoch series, grown from the records: rebuilding them per redraw is O(epochs)
        self._series = {key: (_Growing(), _Growing()) for key in self._series_keys()}
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

    PLOTS = ("batch", "loss", "accuracy", "lr")

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
        """Round plot's ranges outwards: x (epochs) up to a round number (at most the run's
        length), y to round values around [lo, hi] and the series ys (linear scale only)."""
        right = max(nice_ceiling(x), 1.0)
        if self.epochs:
            right = min(right, max(float(self.epochs), x))
        lo, hi = min([lo] + [s.lo for s in ys]), max([hi] + [s.hi for s in ys])
        log = self._log and plot in ("batch", "loss")
        if plot == "accuracy":
            y = None  # fixed at 0–100 %
        elif lo > hi:
            y = (0.0, 1.0)  # no points yet: a unit range, not the last run's (auto-range keeps
            # a view that no item bounds)
        else:
            y = None if log else nice_bounds(lo, hi)
        self.extents[plot].set(right, y)

    def add_chunks(self, chunks) -> None:
        """Queue batch chunks (core.train.BatchChunk) drained from the worker's buffer."""
        if chunks:
            self._new_chunks.extend(chunks)
            self._newest = chunks[-1]
            self._queue("batch")

    def add_records(self, records: list[dict]) -> None:
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
                epoch = record["epoch"]
                self.lr_by_epoch[epoch] = record["lr"]
                for split in SPLIT_COLOURS:
                    for key, value in (record.get(split) or {}).items():
                        xs, ys = columns.setdefault((key, split), ([], []))
                        xs.append(epoch)
                        ys.append(value)
            for key, (xs, ys) in columns.items():
                if key in self._series:
                    x, y = self._series[key]
                    x.extend(np.array(xs, dtype=float), bounds=False)
                    y.extend(np.array(ys, dtype=float))

    @property
    def steps(self) -> _Growing:
        """The live run's step positions (in epochs) on the per-batch loss plot."""
        self._absorb()
        return self._steps

    @property
    def losses(self) -> _Growing:
        self._absorb()
        return self._losses

    @property
    def series(self) -> dict[tuple[str, str], tuple[_Growing, _Growing]]:
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
        for split, curve in self.loss_curves.items():
            curve.setData(*(a.view() for a in self.series[("loss", split)]))
        _sync_legend(self.loss_plot, self.loss_plot.listDataItems())

    def _last_epoch(self) -> float:
        return float(self.records[-1]["epoch"]) if self.records else 1.0

    def _draw_accuracy(self) -> None:
        self._set_markers()
        self._fit("accuracy", self._last_epoch())
        for split, curve in self.acc_curves.items():
            curve.setData(*(a.view() for a in self.series[("accuracy", split)]))
        for split, curve in self.top5_curves.items():
            curve.setData(*(a.view() for a in self.series[("top5", split)]))
        _sync_legend(self.acc_plot, self.acc_plot.listDataItems())

    def _draw_lr(self) -> None:
        self._set_markers()
        self._fit("lr", self._last_epoch(), lo=0.0, hi=max(self.lr_by_epoch.values(), default=-math.inf))
        e = sorted(self.lr_by_epoch)
        # lr holds during an epoch: draw it at the epoch's start and end
        xs = np.repeat(np.array(e, dtype=float), 2) - np.tile([1.0, 0.0], len(e))
        self.lr_curve.setData(xs, np.repeat([self.lr_by_epoch[k] for k in e], 2))

    def point_counts(self) -> dict[str, int]:
        """Return how many points each live curve shows (tests and the status bar use it)."""
        out = {"batch loss": len(self.batch_curve.xData if self.batch_curve.xData is not None else [])}
        for name, group in (("loss", self.loss_curves), ("accuracy", self.acc_curves),
                            ("top-5", self.top5_curves)):
            for split, c in group.items():
                out[f"{split} {name}"] = 0 if c.xData is None else len(c.xData)
        out["lr"] = 0 if self.lr_curve.xData is None else len(self.lr_curve.xData)
        return out

    # -- overlays of stored runs
    def set_overlays(self, runs: list[tuple[str, list[dict]]]) -> None:
        """Draw each (label, epoch records) in its own colour: test (or val) solid, train dashed;
        the key below the plots names them. Records without a numeric epoch are left out."""
        for plot, item in self.overlay_items:
            plot.removeItem(item)
            if plot.legend is not None:
                plot.legend.removeItem(item)
        self.overlay_items = []
        entries, helds = [], []
        for i, (label, records) in enumerate(runs):
            colour = RUN_COLOURS[i % len(RUN_COLOURS)]
            records = [r for r in records if isinstance(r, dict) and _number(r.get("epoch")) is not None]
            x = np.array([r["epoch"] for r in records], dtype=float)
            held = "test" if any(isinstance(r.get("test"), dict) for r in records) else "val"
            helds.append(held)
            for plot, key in ((self.loss_plot, "loss"), (self.acc_plot, "accuracy")):
                for split, dashed in ((held, False), ("train", True)):
                    y = [_number(r.get(split).get(key)) if isinstance(r.get(split), dict) else None
                         for r in records]
                    item = _curve(plot, colour, dashed=dashed, width=2)
                    item.setData(x, np.array([np.nan if v is None else v for v in y], dtype=float),
                                 connect="finite")
                    self.overlay_items.append((plot, item))
            lr = _curve(self.lr_plot, colour, width=1)
            lr.setData(x, np.array([_number(r.get("lr")) for r in records], dtype=float))
            self.overlay_items.append((self.lr_plot, lr))
            entries.append(f"<span style='color:{colour}'><b>━━</b></span>&nbsp;{html.escape(label)}")
        self.overlay_key.setText(overlay_key(entries, helds))
        self.overlay_key.setVisible(bool(entries))
        _sync_legend(self.loss_plot, self.loss_plot.listDataItems())
        _sync_legend(self.acc_plot, self.acc_plot.listDataItems())

    # -- interaction
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

    def _moved(self, event) -> None:
        pos = event[0]
        for p, line in zip(self.plots, self.vlines):
            line.hide()
        for p in self.plots:
            if p.sceneBoundingRect().contains(pos):
                x = p.vb.mapSceneToView(pos).x()
                for line in self.vlines:
                    line.setPos(x)
                    line.show()
                self.readout.setText(self.values_at(x))
                return

    def values_at(self, x: float) -> str:
        """Return the rich-text read-out of every live series at epoch position x."""
        parts = []
        steps = self.steps.view()
        if len(steps):
            i = int(np.clip(np.searchsorted(steps, x), 0, len(steps) - 1))
            parts.append(f"step {round(steps[i] * self.steps_per_epoch)}: batch loss "
                         f"<b>{self.losses.view()[i]:.4g}</b>")
        if self.records:
            r = min(self.records, key=lambda r: abs(r["epoch"] - x))
            seg = [f"epoch {r['epoch']}:"]
            for split, colour in SPLIT_COLOURS.items():
                if split in r:
                    m = r[split]
                    top = f", top-5 {m['top5']:.2f}%" if "top5" in m else ""
                    seg.append(f"<span style='color:{colour}'>{split}</span> loss <b>{m['loss']:.4g}</b> "
                               f"acc <b>{m['accuracy']:.2f}%</b>{top}")
            seg.append(f"lr {r['lr']:.4g}")
            parts.append("  ".join(seg))
        return "  ·  ".join(parts) or f"epoch {x:.2f}"

    def export_png(self, path: str) -> bool:
        """Save the four plots as one PNG; return whether it was written."""
        return self.canvas.grab().save(path, "PNG")
