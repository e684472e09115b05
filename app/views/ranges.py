"""Axis ranges that move in round steps: the live plots' x (epochs) and y bounds grow to the
next round value instead of with every redraw."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QRectF


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

    def dataBounds(self, axis, frac=1.0, orthoRange=None):  # noqa: N802  (pyqtgraph's name)
        return self.bounds[axis]

    def boundingRect(self):  # noqa: N802
        return QRectF()

    def paint(self, painter, *args) -> None:
        pass


def rounded(x: float, lo: float, hi: float, epochs: int | None, log: bool,
            fixed_y: bool = False) -> tuple[float, tuple[float, float] | None]:
    """Return the (right end of x, y bounds or None) that a plot's RoundedExtent gets: x (epochs)
    up to a round number, at most the run's length once known; y around [lo, hi] to round
    values on a linear scale, the data's own on a log scale or a fixed one, and a unit range
    while there are no points (auto-range would keep a view that no item bounds)."""
    right = max(nice_ceiling(x), 1.0)
    if epochs:
        right = min(right, max(float(epochs), x))
    if fixed_y:
        return right, None
    if lo > hi:
        return right, (0.0, 1.0)
    return right, None if log else nice_bounds(lo, hi)
