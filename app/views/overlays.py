"""Stored runs' curves over the live plots: each ticked run in its own colour (its held-out
split solid, train dashed), and the key below the plots that names them."""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

from app.views.curves import RUN_COLOURS, curve, sync_legend
from core.engine.records import EpochRecord


def overlay_key(entries: list[str], helds: list[str]) -> str:
    """The rich text naming the ticked runs (entries: colour and label each) and what their
    line styles mean."""
    if not entries:
        return ""
    held = " or ".join(dict.fromkeys("validation" if h == "val" else h for h in helds))
    return (f"<span style='color:#555'>Ticked runs — solid: {held}, dashed: train.</span>"
            "&nbsp;&nbsp; " + " &nbsp;&nbsp; ".join(entries))


def epoch_records(records) -> list[EpochRecord]:
    """The EpochRecords among records; a metrics.jsonl line given as a dict is read as one, and
    anything that is no epoch record is left out."""
    out = []
    for r in records:
        if isinstance(r, dict):
            try:
                r = EpochRecord.from_dict(r)
            except ValueError:
                continue
        if isinstance(r, EpochRecord):
            out.append(r)
    return out


def _column(records: list[EpochRecord], split: str, key: str) -> np.ndarray:
    """One metric of one split per record; NaN where a record lacks it (the curve skips it)."""
    values = [getattr(r.split(split), key, math.nan) if r.split(split) is not None else math.nan
              for r in records]
    return np.array(values, dtype=float)


class Overlays:
    """The ticked runs' curves on the loss, accuracy and learning-rate plots, and their key."""

    def __init__(self, loss_plot: pg.PlotItem, acc_plot: pg.PlotItem, lr_plot: pg.PlotItem,
                 key: QLabel) -> None:
        self.loss_plot, self.acc_plot, self.lr_plot, self.key = loss_plot, acc_plot, lr_plot, key
        self.items: list[tuple[pg.PlotItem, pg.PlotDataItem]] = []

    def show(self, runs: list[tuple[str, list]]) -> None:
        """Draw each (label, epoch records) in its own colour, replacing the last ones."""
        for plot, item in self.items:
            plot.removeItem(item)
            if plot.legend is not None:
                plot.legend.removeItem(item)
        self.items = []
        entries, helds = [], []
        for i, (label, records) in enumerate(runs):
            colour = RUN_COLOURS[i % len(RUN_COLOURS)]
            helds.append(self._draw(epoch_records(records), colour))
            entries.append(f"<span style='color:{colour}'><b>━━</b></span>&nbsp;{html.escape(label)}")
        self.key.setText(overlay_key(entries, helds))
        self.key.setVisible(bool(entries))
        sync_legend(self.loss_plot)
        sync_legend(self.acc_plot)

    def _draw(self, records: list[EpochRecord], colour: str) -> str:
        """Draw one run's curves; return the held-out split they show ("test" or "val")."""
        x = np.array([r.epoch for r in records], dtype=float)
        held = "test" if any(r.test is not None for r in records) else "val"
        for plot, key in ((self.loss_plot, "loss"), (self.acc_plot, "accuracy")):
            for split, dashed in ((held, False), ("train", True)):
                item = curve(plot, colour, dashed=dashed, width=2)
                item.setData(x, _column(records, split, key), connect="finite")
                self.items.append((plot, item))
        lr = curve(self.lr_plot, colour, width=1)
        lr.setData(x, np.array([r.lr for r in records], dtype=float))
        self.items.append((self.lr_plot, lr))
        return held
