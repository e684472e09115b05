"""The gradient-check view: hand-written vs autograd vs finite-difference gradients, per tensor.

check() runs core.engine.manual.gradcheck on the experiment's first training batch (float64), on
the experiment's seeded initial weights or on a network the caller owns (a copy of a
training network's weights, app.panels.part1); the view shows one row per parameter tensor.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from core.experiment import config as cfg
from core.engine.manual import GRADCHECK_TOLERANCE as TOLERANCE  # ✔ below it, as the CLI's check
# short headers: the Part 1 panel sits in a dock 320-400 px wide (KEY and the tooltips say more)
HEADERS = ["tensor", "M–A", "M–N", "A–N", ""]
MARK = 4  # the ✔ / ✘ column
KEY = ("M: hand-written backward · A: autograd · N: numerical (finite differences). Each cell: "
       "their largest relative difference; hover for the exact value.")
_DATA: dict = {}   # (data settings, seed) → float64 data, so live checks do not reload it


def mlp_problem(exp: cfg.Experiment) -> str | None:
    """Return why the hand-written backward cannot check this experiment, or None."""
    from core.engine import manual
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
    from core.engine import manual
    t0 = time.perf_counter()
    rows, batch = manual.check_experiment(exp, _data(exp), model)
    return rows, batch, time.perf_counter() - t0


def worst(row: dict) -> float:
    return max(row["manual_vs_autograd"], row["manual_vs_numeric"], row["autograd_vs_numeric"])


def symbol(name: str, hidden: int) -> str:
    """Return the lab's symbol of a parameter tensor ('hidden1.weight' → 'W_h', 'output.bias'
    → 'b_y'; with several hidden layers W_1, W_2, …), as the equations below the table write it;
    a name it does not know is returned as it is."""
    layer, _, kind = name.partition(".")
    letter = {"weight": "W", "bias": "b"}.get(kind)
    if letter is None:
        return name
    if layer == "output":
        return f"{letter}_y"
    if layer.startswith("hidden") and layer[6:].isdigit():
        return f"{letter}_{'h' if hidden == 1 else layer[6:]}"
    return name


class GradcheckTable(QTableWidget):
    """One row per parameter tensor, ✔ when all three differences are below TOLERANCE.

    It sits in the Part 1 panel, in a dock 320-400 px wide at 11 pt: so the columns hold short
    texts (M–A headers, KEY below the table explains them; one-digit values, the full ones and
    the tensor's name and shape in the tooltips), each as wide as its text, never squeezed."""

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
        # every column as wide as its text: stretched columns squeezed "manual vs auto" to
        # "manua /s autc" and a value to "0.0e…" (and a stretched last one keeps 100 px at least)
        h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for j, tip in enumerate(["The network's parameter tensor, written as in the equations "
                                 "(hover over one for its name and shape; * when only a sample of "
                                 "its entries is checked by finite differences).",
                                 "M–A: largest difference between the hand-written backward "
                                 "(core/engine/manual.py) and autograd, relative to the gradient's scale.",
                                 "M–N: the hand-written backward against central finite differences "
                                 "(L(w+ε) − L(w−ε)) / 2ε, ε = 1e-6.",
                                 "A–N: autograd against central finite differences.",
                                 f"✔ when all three are below {TOLERANCE:g}."]):
            self.horizontalHeaderItem(j).setToolTip(tip)

    def show_rows(self, rows: list[dict]) -> None:
        self.setRowCount(len(rows))
        hidden = len({r["name"].partition(".")[0] for r in rows if r["name"].startswith("hidden")})
        for i, r in enumerate(rows):
            n = math.prod(r["shape"])
            sampled = r["checked"] != n
            shape = "×".join(map(str, r["shape"]))
            ok = worst(r) < TOLERANCE
            diffs = [r[k] for k in ("manual_vs_autograd", "manual_vs_numeric", "autograd_vs_numeric")]
            cells = [symbol(r["name"], hidden) + ("*" if sampled else "")]
            cells += [f"{d:.0e}" for d in diffs] + ["✔" if ok else "✘"]
            checked = (f"{r['checked']:,} of its {n:,} entries checked by finite differences (sampled)"
                       if sampled else f"all {n:,} entries checked")
            tips = [f"{r['name']}, {shape}: {checked}"] + [f"{d:.2e}" for d in diffs]
            tips.append(f"largest difference {worst(r):.2e} ({'<' if ok else '≥'} {TOLERANCE:g})")
            for j, (text, tip) in enumerate(zip(cells, tips)):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if j in (1, 2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if j == MARK:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    item.setForeground(QBrush(QColor("#2e7d32" if ok else "#c62828")))
                self.setItem(i, j, item)
        self.setFixedHeight(self.horizontalHeader().height() + sum(self.rowHeight(i) for i in range(len(rows)))
                            + 2 * self.frameWidth() + 2)

    def marks(self) -> list[str]:
        return [self.item(i, MARK).text() for i in range(self.rowCount())]
