"""The building blocks of the live plots: growing series, one curve per series, legends that
list only the curves with points, and the colours of the splits and of ticked runs."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

SPLIT_COLOURS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}
RUN_COLOURS = ["#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
               "#1f77b4", "#ff7f0e", "#2ca02c"]


class Growing:
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


def curve(plot: pg.PlotItem, colour: str, name: str | None = None, dashed: bool = False,
          width: float = 2, symbol: bool = False) -> pg.PlotDataItem:
    """Add a curve to plot: downsampled and clipped to the view, so that a long run's
    thousands of points cost what the pixels do."""
    pen = pg.mkPen(colour, width=width, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
    item = pg.PlotDataItem(pen=pen, symbol="o" if symbol else None, symbolSize=5,
                           symbolBrush=colour, symbolPen=None)
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    item.legend_name = name  # listed in the legend once it has points
    plot.addItem(item)
    return item


def sync_legend(plot: pg.PlotItem) -> None:
    """Show a legend entry exactly for the plot's named curves that have points."""
    legend = plot.legend
    shown = {id(sample.item) for sample, _label in legend.items}
    for item in plot.listDataItems():
        name = getattr(item, "legend_name", None)
        has = item.xData is not None and len(item.xData) > 0
        if name and has and id(item) not in shown:
            legend.addItem(item, name)
        elif id(item) in shown and not has:
            legend.removeItem(item)


def points(item: pg.PlotDataItem) -> int:
    """How many points a curve holds."""
    return 0 if item.xData is None else len(item.xData)
