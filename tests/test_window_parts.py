"""The main window's pieces on their own: the crosshair's read-out, stored runs' overlays, the
Runs table's live row, how a run's end is worded, the default placement on a screen, and the
Experiments menu built from core.study.sweeps' shortcuts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QRect, QSize, Qt

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from core.engine.records import EpochRecord, SplitMetrics
from core.engine.train import BatchChunk, FitResult


def record(epoch: int, lr: float, train: tuple, val: tuple | None = None,
           test: tuple | None = None) -> EpochRecord:
    return EpochRecord(epoch, lr, SplitMetrics(*train), seconds=0.01, images_per_s=1e4,
                       val=SplitMetrics(*val) if val else None,
                       test=SplitMetrics(*test) if test else None)


@pytest.fixture
def plots(qtbot):
    from app.views.plots import PlotsView
    v = PlotsView()
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    return v


def test_the_crosshair_reads_the_nearest_epoch_and_step(plots):
    plots.set_steps_per_epoch(10, epochs=3)
    plots.add_chunks([BatchChunk(e, np.arange(10 * e - 9, 10 * e + 1), np.full(10, 1.0 / e),
                                 np.full(10, 0.5), 0.1, 1e3) for e in (1, 2, 3)])
    plots.add_records([record(1, 0.1, (1.0, 40.0)),
                       record(2, 0.05, (0.5, 60.0), test=(0.7, 55.0, 90.0)),
                       record(3, 0.025, (0.3, 70.0), test=(0.6, 58.0, 93.0))])
    plots.crosshair.move_to(2.1)
    text = plots.readout.text()
    assert "step 21: batch loss <b>0.3333</b>" in text  # the first step past x, in epochs
    assert "epoch 2:" in text and "epoch 3:" not in text
    assert "train</span> loss <b>0.5</b> acc <b>60.00%</b>" in text
    assert "test</span> loss <b>0.7</b> acc <b>55.00%</b>, top-5 90.00%" in text
    assert "lr 0.05" in text and "val" not in text  # no validation split in this run
    assert all(line.isVisible() and line.value() == 2.1 for line in plots.crosshair.lines)


def test_overlays_draw_stored_lines_leave_gaps_for_missing_numbers_and_drop_non_records(plots):
    good = record(1, 0.1, (1.0, 40.0), val=(1.1, 35.0))
    gap = EpochRecord.from_dict({"epoch": 2, "lr": 0.05, "train": {"loss": 0.5}, "val": {"loss": 0.6}})
    plots.set_overlays([("a", [good, gap, {"epoch": 3, "lr": 0.02, "train": {"loss": 0.4,
                                                                               "accuracy": 70.0}},
                               None, {"epoch": "three"}])])
    acc = [item for plot, item in plots.overlay_items if plot is plots.acc_plot]
    held, train = acc  # no test split: the held-out line is validation
    assert list(train.xData) == [1, 2, 3]
    assert train.yData[0] == 40.0 and math.isnan(train.yData[1]) and train.yData[2] == 70.0
    assert "solid: validation, dashed: train" in plots.overlay_key.text()
    assert held.opts["pen"].style() == Qt.PenStyle.SolidLine
    assert train.opts["pen"].style() == Qt.PenStyle.DashLine
    plots.set_overlays([])
    assert plots.overlay_items == [] and plots.overlay_key.isHidden()


def test_the_live_row_shows_the_epoch_of_all_and_the_held_out_split():
    from app.panels.runs_table import live_cells
    assert live_cells(record(7, 0.1, (0.4, 81.234), test=(0.55, 77.0)), 150) == [
        (3, "7/150"), (5, "81.23 %"), (6, "77.00 %"), (7, "0.5500")]
    assert live_cells(record(2, 0.1, (0.4, 80.0), val=(0.6, 70.5)), None) == [
        (3, "2"), (5, "80.00 %"), (6, "70.50 %"), (7, "0.6000")]
    assert live_cells(record(1, 0.1, (0.4, 80.0)), 3)[2:] == [(6, ""), (7, "")]


@pytest.mark.parametrize("status, kind, banner, line", [
    ("done", "", None, "✔ Trained 3 epochs.   ·   train 90.00 %, test 85.50 %"),
    ("stopped", "", None, "■ Trained 3 epochs.   ·   train 90.00 %, test 85.50 %"),
    ("diverged", "", ("warning", "Training diverged."), "Training diverged.   ·   train 90.00 %, test 85.50 %"),
    ("failed", "memory", ("error", "Out of memory."), "Out of memory.   ·   train 90.00 %, test 85.50 %"),
    ("failed", "no such kind", ("error", "Training failed."), "Training failed.   ·   train 90.00 %, test 85.50 %"),
])
def test_a_runs_end_is_worded_for_the_line_and_the_banner(status, kind, banner, line):
    from app.messages import run_outcome
    last = record(3, 0.1, (0.2, 90.0), val=(0.3, 88.0), test=(0.4, 85.5))
    assert run_outcome(FitResult(status, "Trained 3 epochs.", 3, last, error_kind=kind)) == (line, banner)
    assert run_outcome(FitResult("failed", "Bad data.", error_kind="data")) == (
        "Could not load the data.", ("error", "Could not load the data."))


def test_the_default_placement_maximises_on_a_small_screen_and_centres_on_a_large_one(qtbot):
    from PySide6.QtWidgets import QWidget

    from app import layout
    w = QWidget()
    qtbot.addWidget(w)
    small = QRect(0, 0, 1366, 768)
    assert layout.place_default(w, small) == small.size()
    assert w.windowState() & Qt.WindowState.WindowMaximized
    large = QRect(0, 0, 2560, 1440)
    size = layout.place_default(w, large)
    assert size == QSize(2048, 1152) and w.size() == size
    assert not w.windowState() & Qt.WindowState.WindowMaximized
    left, top = w.pos().x(), w.pos().y()  # the frame's corner: centred on the screen
    assert abs(left - (2560 - 2048) / 2) <= 1 and abs(top - (1440 - 1152) / 2) <= 1


def test_the_experiments_menu_lists_core_sweeps_shortcuts(qtbot, window):
    from core.study import sweeps
    w = window(lab.circles())
    menu = next(m for m in w.menuBar().actions() if m.text() == "E&xperiments").menu()
    titles = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert titles[:len(sweeps.SHORTCUTS)] == [s.title for s in sweeps.SHORTCUTS.values()]
    assert list(w.sweep_actions) == list(sweeps.SHORTCUTS)
    assert all(w.sweep_actions[k].isEnabled() for k in sweeps.SHORTCUTS)  # 2D points: all fit
    w.load_experiment(lab.tiny_shapes())
    for kind, s in sweeps.SHORTCUTS.items():  # a CNN on images: Part 1's own are disabled
        assert w.sweep_actions[kind].isEnabled() == (s.points_only is None)
        assert w.sweep_actions[kind].toolTip() == (s.points_only or s.tip)
