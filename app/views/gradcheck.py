"""The gradient-check view: hand-written vs autograd vs finite-difference gradients, per tensor.

check() runs core.manual.gradcheck in the GUI thread on the experiment's first training
batch (float64), either on the experiment's seeded initial weights or on a snapshot of a
live network; the view shows one row per parameter tensor.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from core import config as cfg

TOLERANCE = 1e-6
HEADERS = ["tensor", "shape", "manual\nvs auto", "manual\nvs num.", "auto\nvs num.", ""]
_DATA: dict = {}   # (data settings, seed) → float64 data, so live checks do not reload it


def mlp_problem(exp: cfg.Experiment) -> str | None:
    """Return why the hand-written backward cannot check this experiment, or None."""
    from core import manual
    return manual.unsupported(exp)


def _data(exp: cfg.Experiment):
    """Return the experiment's splits in float64, cached so that live checks do not reload them."""
    import torch
    from core.data import loader
    key = (repr(exp.data), exp.train.seed)
    if key not in _DATA:
        _DATA.clear()
        _DATA[key] = loader.load(exp.data, exp.train.seed, dtype=torch.float64)
    return _DATA[key]


def check(exp: cfg.Experiment, model=None) -> tuple[list[dict], int, float]:
    """Return (gradcheck rows, batch size, seconds) on exp's first batch: model's weights
    (a snapshot the caller took), or the experiment's initial weights when model is None."""
    from core import manual
    t0 = time.perf_counter()
    rows, batch = manual.check_experiment(exp, _data(exp), model)
    return rows, batch, time.perf_counter() - t0


def worst(row: dict) -> float:
    return max(row["manual_vs_autograd"], row["manual_vs_numeric"], row["autograd_vs_numeric"])


class GradcheckTable(QTableWidget):
    """One row per parameter tensor, ✔ when all three differences are below TOLERANCE."""

    def __init__(self, parent=None):
        super().__init__(0, len(HEADERS), parent)
        self.setObjectName("gradcheck")
        self.setHorizontalHeaderLabels(HEADERS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setAlternatingRowColors(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        h = self.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for j in (2, 3, 4):
            h.setSectionResizeMode(j, QHeaderView.ResizeMode.Stretch)
        for j, tip in enumerate(["The network's parameter tensor.",
                                 "Its shape (rows × columns).",
                                 "Largest |difference| between the hand-written backward (core/manual.py) "
                                 "and autograd, relative to the gradient's scale.",
                                 "Hand-written backward against central finite differences "
                                 "(L(w+ε) − L(w−ε)) / 2ε, ε = 1e-6.",
                                 "Autograd against central finite differences.",
                                 f"✔ when all three are below {TOLERANCE:g}."]):
            self.horizontalHeaderItem(j).setToolTip(tip)

    def show_rows(self, rows: list[dict]) -> None:
        self.setRowCount(len(rows))
        for i, r in enumerate(rows):
            n = math.prod(r["shape"])
            shape = "×".join(map(str, r["shape"])) + ("" if r["checked"] == n else f"  ({r['checked']} sampled)")
            ok = worst(r) < TOLERANCE
            cells = [r["name"], shape] + [f"{r[k]:.1e}" for k in
                                          ("manual_vs_autograd", "manual_vs_numeric", "autograd_vs_numeric")]
            cells.append("✔" if ok else "✘")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if j == 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    item.setForeground(QBrush(QColor("#2e7d32" if ok else "#c62828")))
                    item.setToolTip(f"largest difference {worst(r):.2e} "
                                    f"({'<' if ok else '≥'} {TOLERANCE:g})")
                self.setItem(i, j, item)
        self.setFixedHeight(self.horizontalHeader().height() + sum(self.rowHeight(i) for i in range(len(rows)))
                            + 2 * self.frameWidth() + 2)

    def marks(self) -> list[str]:
        return [self.item(i, 5).text() for i in range(self.rowCount())]
