"""Shared pieces of the Inspect views: where their numbers come from (ModelSource), refresh
pacing, and an image panel (one pyqtgraph ImageItem per mosaic, never a widget per tile).

Where a view's numbers come from — one rule, ModelSource's:

- While a run trains, or is paused, its network belongs to the training thread. A view's
  torch work is a function fn(model, data) given to ModelSource.compute(): it runs in the
  training thread between two steps (Trainer.call_between_steps), on that thread's own clone
  of the live weights, and returns plain numbers (numpy arrays, floats), which the view
  draws at a later tick. The GUI thread never reads or writes the live weights.
- When the run ends, the session hands its final weights over once: a state dict the
  training thread copied as its last act (app.worker.TrainingSession.final_model). From then
  on the GUI thread owns that network alone, nobody trains it, and compute() runs fn on it
  here and now. A stored run's restored network (the Inspect panel's inspect_run) is owned
  the same way.
- What a view needs of the architecture only (layer names and kinds, the layer table) comes
  from ModelSource.structure(): the network built on the meta device, without weights.
- What the trainer measures anyway comes from the live buffer (app.worker.LiveBuffer),
  through the Inspect panel: `progress` (epochs, steps, the last EpochRecord and its
  confusion counts) and the layer-health samples.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGraphicsItem, QLabel, QStackedLayout, QVBoxLayout, QWidget

from core.engine.pacing import Pacer
from app.worker import Progress, model_from
from core.nets import models


class ModelSource:
    """The network the views look at, and the one way they compute on it (see the module).

    Computing here on the live weights would also hand Python's GIL back and forth with the
    training thread at every torch operation, which made a 3 ms refresh take 10 ms and
    slowed a small network's training."""

    def __init__(self) -> None:
        self.trainer = None      # the run training now (for call_between_steps), else None
        self.live = False
        self.stored = False      # a run read back from its folder (a view may say what it lacks)
        self.exp = None
        self.progress = Progress()  # where the run is, from the live buffer (the panel sets it)
        self._data = None
        self._owned = None       # the network the GUI thread owns: a finished or stored run's
        self._structure = None
        self._pending: dict[str, object] = {}  # key → Future of a computation in the training thread
        self._clones: dict = {}  # the training thread's clone of the run's model (_live_clone)

    def attach(self, trainer) -> None:
        """Follow a run that trains now: its network is the training thread's."""
        self.trainer, self.live, self.stored, self.exp = trainer, True, False, trainer.exp
        self._data = self._owned = self._structure = None
        self.progress = Progress()
        self._pending, self._clones = {}, {}  # a new run: a new clone (its own architecture)

    def finish(self, model) -> None:
        """The run has ended: from now on the views compute on `model`, its final weights,
        handed over by the session (None when the run ended before it was built)."""
        if self.trainer is not None:
            self._data = self.trainer.data
        self.trainer, self.live, self._owned = None, False, model
        self._pending = {}

    def attach_model(self, exp, data, model, progress: Progress, stored: bool = True) -> None:
        """Show a network the GUI thread owns alone (a stored run's restored weights)."""
        self.trainer, self.live, self.stored, self.exp = None, False, stored, exp
        self._data, self._owned, self._structure = data, model, None
        self.progress = progress
        self._pending = {}

    def ready(self) -> bool:
        if self.live:
            return self.trainer.model is not None and self.trainer.data is not None
        return self._owned is not None and self._data is not None

    @property
    def data(self):
        """The run's data (read-only tensors: any thread may read them)."""
        return self.trainer.data if self.live else self._data

    def model(self) -> torch.nn.Module:
        """The network the GUI thread owns (a finished or stored run's). A run that trains
        has none here: compute() on it instead."""
        if self.live:
            raise RuntimeError("the live network is the training thread's: use compute()")
        return self._owned

    def structure(self) -> torch.nn.Module:
        """The network's layers without weights (meta device): names, kinds, the table."""
        if not self.live and self._owned is not None:
            return self._owned
        if self._structure is None:
            data = self.data
            with torch.device("meta"):
                self._structure = models.build(self.exp.model, data.input_shape, len(data.classes))
        return self._structure

    def compute(self, key: str, fn):
        """Return fn(model, data), or None while it is still being computed.

        While the run trains, fn runs in the training thread between two steps, and its
        result is returned once, by a later call, which also asks for the next one. After
        the run (or for a stored one), fn runs here and now on the network the GUI owns."""
        if not self.live:
            return fn(self._owned, self._data)
        fut, result = self._pending.get(key), None
        if fut is not None and fut.done():
            del self._pending[key]
            if not fut.cancelled():
                result = fut.result()  # an error in fn is raised here, in its view
        if key not in self._pending:
            trainer, clones = self.trainer, self._clones
            self._pending[key] = trainer.call_between_steps(
                lambda: fn(_live_clone(trainer, clones), trainer.data))
        return result


def _live_clone(trainer, clones: dict) -> torch.nn.Module:
    """In the training thread, between two steps: its own clone of the model, with the live
    weights copied in (the same thread: no torn reads, no contention). The views' functions
    switch modes and take gradients, which must not reach the network that trains."""
    live, clone = trainer.model, clones.get("model")
    if clone is None:  # once per run
        data = trainer.data
        clone = clones["model"] = model_from(live.state_dict(), trainer.exp, data.input_shape,
                                             len(data.classes))
    else:
        with torch.no_grad():
            clone.load_state_dict(live.state_dict())  # in the training thread, into its own clone
    return clone


class ImageItem(pg.ImageItem):
    """A row-major ImageItem (rows × columns, like numpy) that reports left clicks in pixels."""

    clicked = Signal(float, float)  # x = column, y = row

    def __init__(self, **opts):
        super().__init__(axisOrder="row-major", **opts)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            p = ev.pos()
            self.clicked.emit(p.x(), p.y())


def image_plot(layout: pg.GraphicsLayout, title: str = "", row=None, col=None,
               invert: bool = True) -> tuple[pg.PlotItem, ImageItem]:
    """Add an axis-free, aspect-locked plot holding one ImageItem; return both."""
    plot = layout.addPlot(row=row, col=col, title=title)
    for axis in ("left", "bottom"):
        plot.hideAxis(axis)
    plot.setAspectLocked(True)
    plot.invertY(invert)
    plot.setMouseEnabled(False, False)
    plot.hideButtons()
    img = ImageItem()
    plot.addItem(img)
    shrinkable(plot.titleLabel)
    return plot, img


def shrinkable(label: pg.LabelItem) -> None:
    """Let a plot's title be cut by a narrow panel rather than widen the canvas past the
    panel (a LabelItem's minimum width is its text's, set again at each change and resize)."""
    update = label.updateMin

    def update_min() -> None:
        update()
        label.setMinimumWidth(0)
        label._sizeHint[Qt.SizeHint.MinimumSize] = (0, label._sizeHint[Qt.SizeHint.MinimumSize][1])

    label.updateMin = update_min
    update_min()


def best_columns(n: int, aspect: float, width: float, height: float) -> int:
    """The number of columns on which n tiles of width/height `aspect` are largest in an area."""
    best, cols = -1.0, 1
    for c in range(1, n + 1):
        tile = min(width / c, height * aspect / math.ceil(n / c))
        if tile > best + 1e-9:
            best, cols = tile, c
    return cols


def show_image(plot: pg.PlotItem, img: ImageItem, array: np.ndarray, levels=(0.0, 1.0)) -> None:
    """Show a float image (H×W grey or H×W×3 RGB in [0, 1]) and fit the plot to it."""
    old = img.image.shape if img.image is not None else None
    img.setImage(array, levels=levels, autoLevels=False)
    if old != array.shape:
        plot.getViewBox().autoRange(padding=0.02)


class Canvas(pg.GraphicsLayoutWidget):
    """A pyqtgraph canvas that adds up the time its repaints take, and caches what rarely changes.

    Redraws are paced by what they cost, and most of that cost is the repaint Qt does later
    in the event loop, often twice (auto-range moves the axes after the first), so the
    callers pace by every paint since their last update, not by the last one.

    Axes, titles, legends and items marked `static_paint` are cached as pixmaps: a repaint
    of a curve beside them then copies the pixmap in C++ instead of calling the item's
    Python paint, which holds Python's GIL (taken from a small network's training thread)."""

    paint_total = 0.0
    CACHED = (pg.AxisItem, pg.LabelItem, pg.LegendItem)
    _items_seen = -1
    resized = Signal()  # views that lay their plots out for the canvas's shape listen

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.resized.emit()

    def paintEvent(self, event) -> None:
        t0 = time.perf_counter()
        self._cache_static_items()
        super().paintEvent(event)
        self.paint_total += time.perf_counter() - t0

    def _cache_static_items(self) -> None:
        items = self.scene().items()
        if len(items) == self._items_seen:  # plots and views add items rarely
            return
        self._items_seen = len(items)
        for item in items:
            if isinstance(item, self.CACHED) or getattr(item, "static_paint", False):
                item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def painted_since(self, mark: list[float]) -> float:
        """Return the paint seconds since the last call with this one-element mark list."""
        spent, mark[0] = self.paint_total - mark[0], self.paint_total
        return spent


class InspectView(QWidget):
    """Base of the Inspect tabs: a placeholder until a model exists, and paced refreshes.

    tick() is called by the Inspect panel's timer only while this view is the visible tab; it
    refreshes at most every `interval_s` while training, and if a refresh costs more, less
    often, so that the views take at most SHARE of the GUI thread (core.engine.pacing.Pacer)."""

    interval_s = 1.0
    live_refresh = True   # False: only on demand and when marked stale (epoch ends, run end)
    SHARE = 0.02
    placeholder = "Train a model (Ctrl+Enter) to see this view."

    def __init__(self, source: ModelSource, parent=None):
        super().__init__(parent)
        self.source = source
        self.stale = True
        self.pacer = Pacer(self.interval_s, self.SHARE)
        self.cost = 0.0
        self.refreshes = 0  # how many times it has refreshed (the latency benchmark reports rates)
        self.pending = False  # the last refresh waits for numbers from the training thread
        self.spending = 0.0   # the share of the GUI thread its refreshes take at their pace
        self._painted = [0.0]
        self.body = QWidget()
        self.message = QLabel(self.placeholder)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.message)
        self._stack.addWidget(self.body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self._stack)

    def say(self, text: str | None) -> None:
        """Show text instead of the view (None: show the view)."""
        if text is None:
            self._stack.setCurrentWidget(self.body)
        else:
            self.message.setText(text)
            self._stack.setCurrentWidget(self.message)

    def figure(self) -> QWidget:
        """The view's picture alone, without the controls around it (a lab notebook's figure)."""
        return getattr(self, "canvas", None) or self.body

    def showing(self) -> bool:
        """Whether the view shows its figure (not a sentence in its place)."""
        return self._stack.currentWidget() is self.body

    def tick(self, now: float | None = None, force: bool = False) -> bool:
        """Refresh if due (or forced); return whether it did."""
        now = time.perf_counter() if now is None else now
        due = self.stale or self.pending or (self.source.live and self.live_refresh)
        if not force and (not due or not self.pacer.due(now)):
            return False
        if not self.source.ready():
            self.say(self.placeholder)
            return False
        t0 = time.perf_counter()
        self.stale = False
        canvas = getattr(self, "canvas", None)
        # the repaints the last refresh caused count towards its cost
        painted = canvas.painted_since(self._painted) if isinstance(canvas, Canvas) else 0.0
        self.pending = False
        self.refresh()
        self.refreshes += not self.pending
        self.cost = time.perf_counter() - t0 + painted
        if self.pending:
            # its numbers are still being computed in the training thread: drawn at the next
            # tick, not an interval later (a new image picked must show at once)
            self.pacer.now()
        else:
            self.pacer.spent(self.cost, now)
            self.spending = self.pacer.spending
        return True

    def computed(self, key: str, fn):
        """Return self.source.compute(key, fn), or None (then the view keeps what it shows and
        retries at the next tick) while the training thread has not computed it yet."""
        result = self.source.compute(key, fn)
        self.pending = self.pending or result is None
        return result

    def refresh(self) -> None:  # pragma: no cover - every view overrides it
        raise NotImplementedError

    def epoch_ended(self) -> None:
        """An epoch finished: views that refresh per epoch mark themselves stale."""

    def run_started(self) -> None:
        """A run (live or stored) is shown from its start."""
        self.stale = True

    def add_samples(self, samples: list) -> None:
        """Layer-health samples (step, {layer: values}) from the live buffer; most views
        draw none."""
