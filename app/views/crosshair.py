"""The plots' crosshair: one vertical line through every plot at the epoch under the mouse,
and a read-out of the exact values there (the plots draw no grid)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

from app.views.curves import SPLIT_COLOURS
from core.engine.records import EpochRecord


def epoch_readout(r: EpochRecord) -> str:
    """The rich-text values of one epoch: each split's loss and accuracy (top-5 where measured)
    in its curve's colour, and the learning rate."""
    seg = [f"epoch {r.epoch}:"]
    for split, colour in SPLIT_COLOURS.items():
        m = r.split(split)
        if m is not None:
            top = f", top-5 {m.top5:.2f}%" if m.top5 is not None else ""
            seg.append(f"<span style='color:{colour}'>{split}</span> loss <b>{m.loss:.4g}</b> "
                       f"acc <b>{m.accuracy:.2f}%</b>{top}")
    seg.append(f"lr {r.lr:.4g}")
    return "  ".join(seg)


class Crosshair:
    """Follows the mouse over the plots (at most 30 times a second) and shows text_at(x) in
    the read-out label."""

    def __init__(self, canvas: pg.GraphicsLayoutWidget, plots: list[pg.PlotItem],
                 readout: QLabel, text_at) -> None:
        self.plots, self.readout, self.text_at = plots, readout, text_at
        self.lines = []
        for p in plots:
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#888888", width=1))
            line.hide()
            p.addItem(line, ignoreBounds=True)
            self.lines.append(line)
        self._proxy = pg.SignalProxy(canvas.scene().sigMouseMoved, rateLimit=30, slot=self.moved)

    def moved(self, event) -> None:
        pos = event[0]
        for line in self.lines:
            line.hide()
        for p in self.plots:
            if p.sceneBoundingRect().contains(pos):
                self.move_to(p.vb.mapSceneToView(pos).x())
                return

    def move_to(self, x: float) -> None:
        """Put the lines at epoch position x and read the values there."""
        for line in self.lines:
            line.setPos(x)
            line.show()
        self.readout.setText(self.text_at(x))
