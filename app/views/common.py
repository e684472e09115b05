"""Shared pieces of the Inspect views: the model snapshot they compute on, refresh pacing,
and an image panel (one pyqtgraph ImageItem per mosaic, never a widget per tile)."""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGraphicsItem, QLabel, QStackedLayout, QVBoxLayout, QWidget

from core import models


class ModelSource:
    """The model the views look at: a private copy of the training model, refreshed on request.

    The live model trains in the worker thread, and the inspect functions switch its mode (and
    restore batch norm's buffers), so the GUI thread never runs them on it: it copies the live
    weights (a torn read mid-step is harmless for a picture) into a clone built once per run,
    on the meta device so that building draws nothing from torch's random generator, which
    the worker's dropout uses. After a run the clone gets the final weights once more."""

    def __init__(self) -> None:
        self.trainer = None
        self.live = False
        self._clone = self._worker_clone = None
        self._taken = -math.inf
        self._pending: dict[str, object] = {}  # key → Future of a computation in the training thread
        self.iteration = lambda: 0  # the last training step the window has seen

    def attach(self, trainer) -> None:
        self.trainer, self.live, self._clone, self._taken = trainer, True, None, -math.inf
        self._worker_clone = None
        self._pending = {}

    def finish(self) -> None:
        self.live, self._taken = False, -math.inf  # one last copy: the final weights
        self._final = True
        self._pending = {}

    def compute(self, key: str, fn):
        """Return fn(model, data) on recent weights, or None when there is no new result.

        While the run trains, fn runs in the training thread between two steps (on a clone
        there, as the views here use one), and its result is returned once, by a later call,
        which also asks for the next one: a view computing with torch in this thread would hand
        Python's GIL back and forth with the training thread at every operation, which made a
        3 ms refresh take 10 ms and slowed a small network's training. Paused, or after the
        run, fn runs here and now."""
        t = self.trainer
        if not self.live or t.parked:
            return fn(self.model(0.0), self.data)
        fut, result = self._pending.get(key), None
        if fut is not None and fut.done():
            del self._pending[key]
            if not fut.cancelled():
                result = fut.result()  # an error in fn is raised here, in its view
        if key not in self._pending:
            self._pending[key] = t.call_between_steps(lambda: fn(self._live_clone(), self.data))
        return result

    def _live_clone(self) -> torch.nn.Module:
        """The training thread's own clone, with the live weights copied in (same thread: no
        torn reads, no contention)."""
        if self._worker_clone is None:
            self._worker_clone = self._build_clone()
        with torch.no_grad():
            self._worker_clone.load_state_dict(self.trainer.model.state_dict())
        return self._worker_clone

    def _build_clone(self) -> torch.nn.Module:
        p = next(self.trainer.model.parameters())
        data = self.trainer.data
        with torch.device("meta"):
            clone = models.build(self.trainer.exp.model, data.input_shape, len(data.classes))
        return clone.to_empty(device=p.device).to(p.dtype).eval()

    def ready(self) -> bool:
        t = self.trainer
        return t is not None and t.model is not None and t.data is not None

    @property
    def data(self):
        return self.trainer.data

    @property
    def exp(self):
        return self.trainer.exp

    def model(self, max_age: float = 1.0) -> torch.nn.Module:
        """Return the clone, first copying the live weights if they are older than max_age s."""
        live = self.trainer.model
        if self._clone is None:
            self._clone = self._build_clone()
            self._taken = -math.inf
            self._final = True
        now = time.perf_counter()
        if (self.live and now - self._taken >= max_age) or getattr(self, "_final", False):
            self._final = False
            self._taken = now
            with torch.no_grad():
                self._clone.load_state_dict(live.state_dict())
        return self._clone


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


def tile_images(images: np.ndarray, pad: int = 1, fill: float = 1.0) -> np.ndarray:
    """Return N×H×W×C images in [0, 1] (or uint8) as one near-square mosaic (grey if C = 1)."""
    x = np.asarray(images)
    x = x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32)
    if x.shape[-1] == 1:
        x = x[..., 0]
    n, h, w = x.shape[:3]
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    out = np.full((rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad) + x.shape[3:], fill,
                  np.float32)
    for k in range(n):
        r, c = divmod(k, cols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = x[k]
    return out


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
    often, so that the views take at most SHARE of the GUI thread (as window.tick does)."""

    interval_s = 1.0
    live_refresh = True   # False: only on demand and when marked stale (epoch ends, run end)
    SHARE = 0.02
    placeholder = "Train a model (Ctrl+Enter) to see this view."

    def __init__(self, source: ModelSource, parent=None):
        super().__init__(parent)
        self.source = source
        self._next, self._shown, self.stale = 0.0, None, True
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

    def tick(self, now: float | None = None, force: bool = False) -> bool:
        """Refresh if due (or forced); return whether it did."""
        now = time.perf_counter() if now is None else now
        due = self.stale or (self.source.live and self.live_refresh)
        if not force and (now < self._next or not due):
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
        # a refresh whose numbers are still being computed in the training thread draws them
        # at the next tick, not an interval later (a new image picked must show at once)
        self._next = now if self.pending else now + max(self.interval_s, self.cost / self.SHARE)
        if not self.pending:
            self.spending = self.cost / max(self._next - now, 1e-3)
        return True

    def computed(self, key: str, fn):
        """Return self.source.compute(key, fn), or None (then the view keeps what it shows and
        retries at the next tick) while the training thread has not computed it yet."""
        result = self.source.compute(key, fn)
        self.pending = result is None
        return result

    def refresh(self) -> None:  # pragma: no cover - every view overrides it
        raise NotImplementedError

    def epoch_ended(self) -> None:
        """An epoch finished: views that refresh per epoch mark themselves stale."""

    def run_started(self) -> None:
        self.stale = True
