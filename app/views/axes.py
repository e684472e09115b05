"""A log axis for the accuracy-against-N plot (question 2): ticks at the N values that were run.

pyqtgraph's log axis labels the minor ticks 2…9 of each decade when the range is short, and
in a panel 300 px wide those labels run into each other; this one labels only the N values of
the sweep (decades before there are any), as many as fit without touching, and leaves the
others as unlabelled ticks."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF

GAP_EM = 0.6  # the least space between two labels, in widths of the letter M


class SizesAxis(pg.AxisItem):
    """A bottom axis in log mode whose ticks are the given sizes (its positions are log10 N)."""

    def __init__(self, orientation: str = "bottom", **kwargs):
        super().__init__(orientation, **kwargs)
        self.sizes: list[int] = []
        self._labelled: set[float] = set()

    def set_sizes(self, sizes) -> None:
        """Tick at these N values (positive), e.g. a sweep's training-set sizes."""
        self.sizes = sorted({int(n) for n in sizes if n > 0})
        self.picture = None  # draw the new ticks
        self.update()

    def label_of(self, value: float) -> str:
        return f"{round(10 ** value):,}"

    def _metrics(self) -> QFontMetricsF:
        return QFontMetricsF(self.style["tickFont"] or self.font())

    def tickValues(self, minVal: float, maxVal: float, size: float):
        lo, hi = sorted((minVal, maxVal))
        if hi <= lo or size <= 0:
            return []
        if self.sizes:
            candidates = [math.log10(n) for n in self.sizes]
        else:
            candidates = [float(k) for k in range(math.floor(lo), math.ceil(hi) + 1)]
        candidates = [v for v in candidates if lo <= v <= hi]
        self._labelled = set(self._fitting(candidates, lo, hi, size))
        labelled = [v for v in candidates if v in self._labelled]
        rest = [v for v in candidates if v not in self._labelled]
        return [(None, labelled), (None, rest)]

    def _fitting(self, candidates: list[float], lo: float, hi: float, size: float) -> list[float]:
        """Return the candidates whose labels fit without touching: the smallest and the largest
        N first (the ends of the sweep), then, left to right, each one that clears both sides."""
        fm = self._metrics()
        gap = GAP_EM * fm.horizontalAdvance("M")

        def span(v: float) -> tuple[float, float]:
            x, half = (v - lo) / (hi - lo) * size, fm.horizontalAdvance(self.label_of(v)) / 2
            return x - half, x + half

        # a label past either end of the axis would be hidden (or cut) by pyqtgraph
        candidates = [v for v in candidates if span(v)[0] >= 0 and span(v)[1] <= size]
        if not candidates:
            return []
        ends = [candidates[0]] + ([candidates[-1]] if len(candidates) > 1 else [])
        if len(ends) == 2 and span(ends[0])[1] + gap > span(ends[1])[0]:
            ends = ends[:1]
        chosen, right = [ends[0]], span(ends[0])[1]
        stop = span(ends[1])[0] if len(ends) == 2 else math.inf
        for v in candidates[1:-1]:
            left_edge, right_edge = span(v)
            if left_edge >= right + gap and right_edge + gap <= stop:
                chosen.append(v)
                right = right_edge
        return chosen + ends[1:]

    def tickStrings(self, values, scale, spacing):
        return [self.label_of(v) if v in self._labelled else "" for v in values]
