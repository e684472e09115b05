"""The main window driven through its real widgets (offscreen): train, pause, stop, flag, overlay, close."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from core.experiment import config as cfg
from core.experiment import presets
from core.store import runs as store
from core.store import reader as run_reader
from core.engine.records import EpochRecord, SplitMetrics


def circles(epochs: int = 3, **sets) -> cfg.Experiment:
    return lab.circles(epochs, **sets)


def tiny_shapes() -> cfg.Experiment:
    return lab.tiny_shapes()




def record(epoch: int, lr: float, train: tuple, test: tuple | None = None) -> EpochRecord:
    """An epoch record as the trainer reports it: (loss, accuracy[, top-5]) per split."""
    return EpochRecord(epoch, lr, SplitMetrics(*train), seconds=0.01, images_per_s=1e4,
                       test=SplitMetrics(*test) if test else None)


def train(qtbot, w, timeout=30_000):
    with qtbot.waitSignal(w.run_finished, timeout=timeout) as blocker:
        qtbot.mouseClick(w.training_panel.start, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def test_a_tiny_run_finishes_with_points_on_every_curve(qtbot, window):
    w = window(circles(epochs=3, **{"data.val_fraction": 0.25}))
    assert w.training_panel.start.isEnabled()
    result = train(qtbot, w)
    assert result.status == "done", result.message
    counts = w.plots.point_counts()
    assert counts["batch loss"] == 3 * 15  # 150 train points, batch 10
    for split in ("train", "val", "test"):
        assert counts[f"{split} loss"] == 3 and counts[f"{split} accuracy"] == 3
    assert counts["lr"] > 0
    assert "Trained 3 epochs" in w.training_panel.status.text()
    assert len(run_reader.list_runs()) == 1 and w.runs_panel.table.rowCount() == 1


def test_a_cnn_run_on_shapes_draws_top5(qtbot, window):
    w = window(tiny_shapes())
    result = train(qtbot, w)
    assert result.status == "done", result.message
    counts = w.plots.point_counts()
    assert counts["test top-5"] == 2 and counts["batch loss"] == 4


def test_pause_resume_and_stop(qtbot, window):
    w = window(circles(epochs=150))
    panel = w.training_panel
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(w.plots.records) >= 1, timeout=20_000)
    qtbot.mouseClick(panel.pause, Qt.MouseButton.LeftButton)
    assert w.session.paused and panel.pause.text().endswith("Resume")
    # the loop parks at the next batch boundary (flushing its last steps): nothing moves after
    qtbot.waitUntil(lambda: w.session.trainer.parked, timeout=10_000)
    w.tick()
    frozen = w.plots.steps.n
    qtbot.wait(400)
    w.tick()
    assert w.plots.steps.n == frozen and "paused" in panel.status.text()
    qtbot.mouseClick(panel.pause, Qt.MouseButton.LeftButton)  # resume
    assert not w.session.paused
    qtbot.waitUntil(lambda: w.plots.steps.n > frozen, timeout=10_000)
    with qtbot.waitSignal(w.run_finished, timeout=10_000) as blocker:
        qtbot.mouseClick(panel.stop, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    assert result.status == "stopped"
    assert panel.start.isEnabled() and not panel.stop.isEnabled()
    run = run_reader.open_run(Path(result.run_folder))
    assert run.summary["status"] == "stopped" and len(run.metrics()) == result.epochs >= 1


def test_keyboard_actions_start_pause_and_stop(qtbot, window):
    w = window(circles(epochs=150))
    w.start_action.trigger()
    assert w.is_training()
    qtbot.waitUntil(lambda: len(w.plots.records) >= 1, timeout=20_000)
    w.pause_action.trigger()
    assert w.session.paused
    w.pause_action.trigger()
    assert not w.session.paused
    with qtbot.waitSignal(w.run_finished, timeout=10_000):
        w.stop_action.trigger()
    assert [a.shortcut().toString() for a in (w.start_action, w.pause_action, w.stop_action)] == \
        ["Ctrl+Return", "Space", "Esc"]


def test_an_impossible_layer_disables_train_and_says_why(qtbot, window):
    w = window(tiny_shapes())
    model = w.model_panel
    kernel = model.field(0, "kernel")
    kernel.setValue(40)
    panel = w.training_panel
    assert not panel.start.isEnabled()
    assert "kernel 40 is larger than its padded input" in model.problem.text()
    assert "kernel 40" in panel.problem.text()
    assert kernel.property("invalid") is True
    assert model.table.item(0, 0).text() == "conv1"
    kernel.setValue(3)
    assert panel.start.isEnabled() and not model.problem.isVisible()
    assert model.table.item(model.table.rowCount() - 1, 0).text() == "total"
    # a convolution moved below a dense layer is flagged in its own row
    model.select(1)
    qtbot.mouseClick(model.down, Qt.MouseButton.LeftButton)
    assert not panel.start.isEnabled() and "cannot follow a fully-connected" in model.problem.text()


def test_the_builder_adds_removes_and_the_table_follows(qtbot, window):
    w = window(circles())
    model = w.model_panel
    params = model.table.total
    qtbot.mouseClick(model.add_dense, Qt.MouseButton.LeftButton)
    assert [r["type"] for r in model.rows] == ["dense", "dense"]
    assert w.current_experiment().model.hidden == [10, 100]
    assert model.table.total > params
    model.select(1)
    qtbot.mouseClick(model.remove, Qt.MouseButton.LeftButton)
    assert model.table.total == params and not model.add_conv.isEnabled()


def test_an_invalid_field_is_flagged_next_to_its_editor(qtbot, window):
    w = window(circles())
    w.optim_panel.editors[("optim", "nesterov")].setChecked(True)  # needs momentum > 0
    nesterov = w.optim_panel.editors[("optim", "nesterov")]
    assert not w.training_panel.start.isEnabled()
    assert nesterov.property("invalid") is True and "momentum" in w.training_panel.problem.text()


def test_a_diverging_run_shows_the_banner_and_the_app_stays_usable(qtbot, window):
    w = window(circles(**{"optim.lr": 1e10, "model.activation": "relu"}))
    result = train(qtbot, w)
    assert result.status == "diverged"
    assert w.banner.isVisible() and "diverged" in w.banner.text.text()
    assert "The loss became inf" in w.banner.text.text()  # the engine's own sentence
    w.optim_panel.lr.setValue(0.03)
    assert train(qtbot, w).status == "done" and not w.banner.isVisible()


def test_data_that_cannot_load_shows_the_engines_message(qtbot, window, tmp_path):
    w = window(circles(**{"data.dataset": "mnist", "data.root": str(tmp_path / "nothing")}))
    result = train(qtbot, w)
    assert result.status == "failed" and result.error_kind == "data"
    assert w.banner.isVisible() and "Could not load the data" in w.banner.text.text()
    assert w.training_panel.start.isEnabled()


def test_two_runs_overlay_in_distinct_colours_with_a_legend(qtbot, window):
    w = window(circles(epochs=2))
    assert train(qtbot, w).status == "done"
    w.optim_panel.lr.setValue(0.1)
    assert train(qtbot, w).status == "done"
    runs = w.runs_panel
    assert runs.table.rowCount() == 2
    runs.set_checked(0, True)
    runs.set_checked(1, True)
    overlays = [item for plot, item in w.plots.overlay_items if plot is w.plots.acc_plot]
    colours = {item.opts["pen"].color().name() for item in overlays}
    assert len(overlays) == 4 and len(colours) == 2
    # named by what differs, in the key below the plots (the in-plot legends keep the live splits)
    key = w.plots.overlay_key.text()
    assert "η = 0.03" in key and "η = 0.1" in key and "dashed: train" in key
    assert not any("η" in label.text for _sample, label in w.plots.acc_plot.legend.items)
    runs.untick_all()
    assert w.plots.overlay_items == [] and w.plots.overlay_key.isHidden()


def test_a_cli_run_appears_in_the_runs_list(qtbot, window):
    from core.engine.train import Trainer
    from core.store.writers import recorded
    w = window(circles())
    assert w.runs_panel.table.rowCount() == 0
    recorded(Trainer(circles(epochs=1))).fit()
    w.runs_panel.refresh()
    assert w.runs_panel.table.rowCount() == 1
    assert w.runs_panel.table.item(0, 4).text() == "done"


def test_closing_mid_run_stops_within_2_s_and_keeps_finished_epochs(qtbot, window):
    w = window(circles(epochs=150))
    qtbot.mouseClick(w.training_panel.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(w.plots.records) >= 2, timeout=20_000)
    thread = w.session.thread
    w.close()  # asks first (tests/test_controls.py): the answer stops the run and quits
    stop_and_quit = next(b for b in w._question.buttons() if b.text().startswith("Stop"))
    t0 = time.perf_counter()
    stop_and_quit.click()
    assert time.perf_counter() - t0 < 2.0
    assert not thread.isRunning()
    (run,) = run_reader.list_runs()
    assert len(run.metrics()) >= 2


def test_layout_experiment_and_preferences_persist(qtbot, window):
    w = window(circles(), persist=True)
    w.optim_panel.lr.setValue(0.125)
    w.plots.log.setChecked(True)
    w.tabs.setCurrentIndex(2)
    w.close()
    again = window(persist=True)
    assert again.current_experiment().optim.lr == 0.125
    assert again.plots.log.isChecked() and again.tabs.currentIndex() == 2


def test_first_launch_opens_a_ready_preset_on_embedded_data(qtbot, window):
    w = window()
    exp = w.current_experiment()
    assert exp.name == "circles-mlp" and w.training_panel.start.isEnabled()


def test_presets_menu_loads_a_preset(qtbot, window):
    w = window(circles())
    menu = [m for m in w.menuBar().actions() if m.text() == "&Presets"][0].menu()
    next(a for a in menu.actions() if a.text() == "shapes-cnn").trigger()
    exp = w.current_experiment()
    assert exp.model.kind == "cnn" and len(exp.model.blocks) == 3
    assert w.model_panel.table.total == 1_191_170  # the lab's CNN, as the practical counts it


def test_tooltips_come_from_the_config_help(qtbot, window):
    w = window(circles())
    lr = w.optim_panel.lr
    assert cfg.field_help("optim", "lr")[:30] in lr.toolTip()
    assert "Question 2" in w.data_panel.editors[("data", "n_train")].toolTip()


def test_plots_export_to_png(qtbot, window, tmp_path):
    w = window(circles())
    path = tmp_path / "plots.png"
    assert w.plots.export_png(str(path)) and path.stat().st_size > 1000


def test_screenshot_flag_renders_the_window_after_training(tmp_path):
    """`learnscope --screenshot` in its own process (it runs and quits its own event loop)."""
    import os
    import subprocess
    import sys
    path = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-m", "app.main", "--screenshot", str(path), "--preset",
                           "circles-mlp", "--train-seconds", "1"], env=env, timeout=120,
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert path.stat().st_size > 10_000
    (run,) = run_reader.list_runs()
    assert run.summary["status"] == "stopped"


def test_round_axis_steps():
    from app.views.ranges import nice_bounds, nice_ceiling
    assert [nice_ceiling(x) for x in (0.3, 1, 1.5, 3, 7, 10, 11, 120, 640)] == \
        [0.5, 1, 2, 5, 10, 10, 20, 200, 1000]
    assert nice_bounds(0.07, 0.71) == pytest.approx((0.0, 0.8))
    lo, hi = nice_bounds(2.26, 2.31)  # steps of 0.01
    assert lo <= 2.26 and hi >= 2.31 and hi - lo < 0.08


def test_epoch_records_drained_together_land_on_their_own_curves(qtbot):
    """The window hands the plots every record of a tick at once: each split's curve gets its
    points in epoch order, and a split missing from some records skips only those epochs."""
    from app.views.plots import PlotsView
    v = PlotsView()
    qtbot.addWidget(v)
    records = [record(1, 0.1, (1.0, 10.0)), record(2, 0.05, (0.5, 20.0)),
               record(3, 0.1 / 3, (1 / 3, 30.0), test=(0.5, 70.0, 95.0))]
    v.add_records(records)
    v.redraw(everything=True)
    counts = v.point_counts()
    assert counts["train loss"] == counts["train accuracy"] == 3
    assert counts["test accuracy"] == counts["test top-5"] == 1
    assert list(v.acc_curves["train"].yData) == [10.0, 20.0, 30.0]
    assert list(v.acc_curves["test"].xData) == [3.0]
    assert v.lr_by_epoch == {1: 0.1, 2: 0.05, 3: 0.1 / 3}


def test_epoch_axes_grow_in_round_steps_and_always_show_every_point(qtbot):
    """The axes move only when the curves cross a round value, so a redraw repaints the
    curves and not the axes; the last points stay in view, and log scale still works."""
    import numpy as np
    from app.views.plots import PlotsView
    from core.engine.train import BatchChunk
    v = PlotsView()
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    v.set_steps_per_epoch(20, epochs=150)
    rights, ranges = set(), set()
    for epoch in range(1, 151):
        steps = np.arange((epoch - 1) * 20 + 1, epoch * 20 + 1)
        v.add_chunks([BatchChunk(epoch, steps, np.full(20, 1.0 / epoch), np.full(20, 0.5), 0.1, 1e3)])
        v.add_records([record(epoch, 0.1, (1.0 / epoch, 50.0))])
        v.redraw(everything=True)
        v.batch_plot.vb.updateAutoRange()  # pyqtgraph re-ranges lazily, before it paints
        (x0, x1), (y0, y1) = v.batch_plot.vb.viewRange()
        assert x1 >= epoch and y0 <= 1.0 / epoch and y1 >= 1.0  # every point in view
        rights.add(v.extents["batch"].bounds[0][1])
        ranges.add((round(x1, 6), round(y0, 6), round(y1, 6)))
    assert rights == {1, 2, 5, 10, 20, 50, 100, 150}  # round steps, then the run's length
    assert len(ranges) <= 20  # the view moved about a dozen times in 150 epochs, not 150 times
    v.set_log_scale(True)
    assert v.extents["batch"].bounds[1] is None and v.extents["loss"].bounds[1] is None
    v.loss_plot.vb.updateAutoRange()
    (_, _), (y0, y1) = v.loss_plot.vb.viewRange()
    assert y0 <= np.log10(1 / 150) and y1 >= 0  # log10 of the losses


def test_a_redraw_repaints_the_curves_but_not_the_axes_titles_or_legends(qtbot, monkeypatch):
    """Axes, titles and legends are drawn once into pixmaps: repainting the canvas after new
    points copies them in C++ instead of running their Python paint, which would hold the GIL
    a small network's training thread needs."""
    import numpy as np
    import pyqtgraph as pg
    from app.views.plots import PlotsView
    from core.engine.train import BatchChunk
    painted = {cls: 0 for cls in (pg.AxisItem, pg.LabelItem, pg.LegendItem, pg.PlotCurveItem)}
    for cls in painted:  # before the items exist: Qt looks a Python paint up once per item
        def counting(self, *args, _cls=cls, _paint=cls.paint):
            painted[_cls] += 1
            return _paint(self, *args)
        monkeypatch.setattr(cls, "paint", counting)
    v = PlotsView()
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    v.set_steps_per_epoch(20, epochs=150)

    def epoch(e):
        steps = np.arange((e - 1) * 20 + 1, e * 20 + 1)
        v.add_chunks([BatchChunk(e, steps, np.full(20, 0.5), np.full(20, 0.5), 0.1, 1e3)])
        v.add_records([record(e, 0.1, (0.5, 50.0), test=(0.6, 40.0))])

    for e in (1, 2, 3):
        epoch(e)
    v.redraw(everything=True)
    qtbot.waitUntil(lambda: v.canvas.paint_total > 0)  # the first paint draws (and caches) everything
    assert painted[pg.AxisItem] >= 8 and painted[pg.LabelItem] >= 4
    painted.update({cls: 0 for cls in painted})
    epoch(4)  # inside the rounded ranges (x up to 5 epochs): the axes stay as they are
    v.redraw(everything=True)
    v.canvas.viewport().repaint()
    assert painted[pg.PlotCurveItem] >= 4  # the new points are drawn
    assert painted[pg.AxisItem] == painted[pg.LabelItem] == painted[pg.LegendItem] == 0


def test_layer_health_samples_are_paced_by_what_they_cost():
    """The worker samples layer health at most every HEALTH_EVERY_S, and a costly sample (a
    large CNN's activations on a CPU) pushes the next one out so that sampling keeps to
    HEALTH_SHARE of the training thread's time."""
    import numpy as np
    from app import worker as wk
    from core.engine.train import BatchChunk

    class Health:  # stands in for core.nets.inspect.LayerHealth: what a sample cost is in .spent
        def __init__(self, cost):
            self.spent, self.cost, self.samples = 0.0, cost, 0

        def snapshot(self):
            self.spent += self.cost
            self.samples += 1
            return {}

        def record_once(self):
            pass

    session = wk.TrainingSession(circles(), record=False)  # its observer side, called directly
    chunk = BatchChunk(1, np.arange(1, 3), np.ones(2), np.ones(2), 0.1, 1e3)
    for cost, gap in ((1e-5, wk.HEALTH_EVERY_S), (0.05, 0.05 / wk.HEALTH_SHARE)):
        session.health = Health(cost)
        session.health_pace.now()
        t0 = time.perf_counter()
        session.on_batch_end(chunk)
        session.on_batch_end(chunk)  # too soon for another sample
        assert session.health.samples == 1 and session.health.spent == 0.0
        assert session.health_pace.next - t0 == pytest.approx(gap, abs=0.05)
    assert len(session.buffer.drain_health()) == 2


def test_the_gui_thread_computes_on_one_torch_thread_and_the_training_thread_on_every_core(qtbot, window):
    """An OpenMP team on the GUI thread, for its own torch work (the Inspect views), slowed the
    training thread's by 6-8 % on a 2-core CPU: the window keeps the GUI thread to one."""
    import torch

    from app.worker import TrainingSession, cpu_threads
    window(circles())
    assert torch.get_num_threads() == 1
    exp = cfg.with_overrides(presets.load("shapes-cnn"), [
        "data.n_train=64", "data.n_test=32", "train.epochs=1", "train.device=cpu"])
    session = TrainingSession(exp, record=False)
    seen = []

    class Threads:  # a trainer observer: called in the training thread, as plain Python (a
        # Python slot on a direct Qt connection from that thread could deadlock with the GUI
        # thread deleting an earlier test's widgets: both wait on Qt's and Python's locks)
        def on_fit_start(self, _info):
            seen.append(torch.get_num_threads())

    session.trainer.observers.append(Threads())
    with qtbot.waitSignal(session.finished, timeout=60_000):
        session.start()
    assert session.result.status == "done", session.result.message
    assert seen == [cpu_threads()] and torch.get_num_threads() == 1
