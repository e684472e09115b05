"""The Inspect dock's views on small trained models (offscreen): what each one shows."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from core.experiment import config as cfg
from core.experiment import presets
from core.nets import receptive


def circles(epochs: int = 3) -> cfg.Experiment:
    return lab.circles(epochs)


def tiny_shapes() -> cfg.Experiment:
    return cfg.with_overrides(presets.load("shapes-cnn"), [
        "data.n_train=64", "data.n_test=32", "train.epochs=1", "train.batch_size=32", "train.device=cpu"])


def trained(qtbot, exp, view: str):
    from app.window import MainWindow
    w = MainWindow(exp, persist=False)
    qtbot.addWidget(w)
    w.show()
    w.inspect.select(view)
    with qtbot.waitSignal(w.run_finished, timeout=60_000) as blocker:
        assert w.start_training()
    assert blocker.args[0].status == "done", blocker.args[0].message
    v = w.inspect.views[view]
    qtbot.waitUntil(lambda: v._stack.currentWidget() is v.body, timeout=5_000)
    return w, v


@pytest.fixture(scope="module")
def shapes_window(qapp, request, tmp_path_factory):
    """One tiny trained CNN shared by the image views (training it once keeps the tests short)."""
    import pytestqt.qtbot
    from app.window import MainWindow
    saved = os.environ.get("LEARNSCOPE_SETTINGS")
    os.environ["LEARNSCOPE_SETTINGS"] = str(tmp_path_factory.mktemp("settings") / "settings.ini")
    w = MainWindow(tiny_shapes(), persist=False, run_root=tmp_path_factory.mktemp("runs"))
    w.show()
    bot = pytestqt.qtbot.QtBot(request)
    with bot.waitSignal(w.run_finished, timeout=60_000) as blocker:
        assert w.start_training()
    assert blocker.args[0].status == "done", blocker.args[0].message
    yield w
    w.shutdown(5000)
    w.close()
    if saved is None:
        os.environ.pop("LEARNSCOPE_SETTINGS", None)
    else:
        os.environ["LEARNSCOPE_SETTINGS"] = saved


def show(qtbot, w, name):
    from app.window_pages import INSPECT
    w.pages.setCurrentIndex(INSPECT)  # the view at full size, as the Inspect page shows it
    w.inspect.select(name)
    v = w.inspect.views[name]
    v.tick(force=True)
    assert v._stack.currentWidget() is v.body, v.message.text()
    return v


def test_filters_show_the_first_conv_as_one_rgb_mosaic(qtbot, shapes_window):
    v = show(qtbot, shapes_window, "filters")
    # 32 kernels 5×5 on a 6×6 grid, 1 pixel apart: 6·5 + 5 = 35
    assert v.mosaic.shape == (35, 35, 3) and v.image.image.shape == (35, 35, 3)
    v.layer.setCurrentIndex(1)  # conv2: one grey tile per (output, input) channel
    assert v.mosaic.shape == (64 * 6 - 1, 32 * 6 - 1)


def test_feature_maps_one_mosaic_per_conv_layer(qtbot, shapes_window):
    v = show(qtbot, shapes_window, "feature-maps")
    convs = [n for n, m in shapes_window.inspect.source.model().named_children() if type(m).__name__ == "Conv2d"]
    assert list(v.mosaics) == convs == ["conv1", "conv2", "conv3"]
    assert v.mosaics["conv1"].shape == (6 * 33 - 1, 6 * 33 - 1)  # 32 maps 32×32
    v.index.setValue(3)  # another image redraws the maps
    assert "test #3" in v.panels["input"][0].titleLabel.text


def test_clicking_a_unit_shows_its_theoretical_receptive_field(qtbot, shapes_window):
    v = show(qtbot, shapes_window, "receptive-field")
    maps = v.maps
    plot, img = maps.panels["conv2"]
    from app.views.feature_maps import unit_origin
    x0, y0 = unit_origin(maps.shapes["conv2"], 5)
    # a real left click on unit (channel 5, row 2, col 3) of conv2's mosaic: the pixel's
    # centre mapped from the image to the scene to the canvas's viewport, once the layout has
    # settled (pyqtgraph places the images when it first paints them)
    from PySide6.QtCore import QPointF, Qt
    canvas = maps.canvas

    def target():
        return canvas.mapFromScene(img.mapToScene(QPointF(x0 + 3.5, y0 + 2.5)))

    qtbot.waitUntil(lambda: img in canvas.items(target()), timeout=5_000)
    with qtbot.waitSignal(v.maps.unit_clicked, timeout=2_000):
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=target())
    assert v.unit == ("conv2", 5, 2, 3)
    table = v.source.model().table
    expected = receptive.theoretical_rf(table, "conv2", 2, 3, (32, 32))
    assert v.rect_px == expected
    r = v.rect.rect()
    assert (r.top(), r.left(), r.bottom(), r.right()) == expected
    assert "14×14 px" in v.text.text() and "conv3 32×32 px" in v.text.text()
    assert v.erf.image.shape == (32, 32, 4)


def test_confusion_cells_sum_to_the_split_and_a_cell_lists_its_examples(qtbot, shapes_window):
    v = show(qtbot, shapes_window, "confusion")
    assert v.counts.sum() == 32  # no validation split here: the test split
    wrong = [(r, c) for r in range(10) for c in range(10) if r != c and v.counts[r, c]]
    r, c = wrong[0] if wrong else (0, 0)
    from PySide6.QtCore import Qt
    index = v.table.model().index(r, c)
    v.table.scrollTo(index)

    def centre():
        return v.table.visualRect(index).center()

    qtbot.waitUntil(lambda: v.table.viewport().rect().contains(centre()), timeout=5_000)
    with qtbot.waitSignal(v.table.cellClicked, timeout=2_000):
        qtbot.mouseClick(v.table.viewport(), Qt.MouseButton.LeftButton, pos=centre())
    data = v.source.data
    from core.nets.inspect import predict
    pred = predict(v.source.model(), data, data.test).numpy()  # the run's final weights
    y = data.test.y.numpy()
    assert list(v.listed) == list(np.nonzero((y == r) & (pred == c))[0])
    assert v.examples.count() == v.counts[r, c]


def test_batch_gallery_shows_n_tiles_twice_and_the_statistics(qtbot, shapes_window):
    v = show(qtbot, shapes_window, "batch")
    v.n.setValue(9)
    assert v.tiles == (9, 9)
    assert v.raw_mosaic.shape == (3 * 33 - 1, 3 * 33 - 1, 3) == v.seen_mosaic.shape
    assert "mean (" in v.stats.text() and "std (" in v.stats.text()


def test_health_has_one_row_per_weight_layer_with_finite_numbers(qtbot, shapes_window):
    v = show(qtbot, shapes_window, "health")
    assert list(v.values) == ["conv1", "conv2", "conv3", "fc1", "output"]
    assert v.table.rowCount() == 5
    for per in v.values.values():
        assert all(math.isfinite(per[k][-1]) for k in ("act_mean", "act_std", "dead", "grad_norm"))
    # one plot per refresh, in turn: the panel's timer brings the other three up to date
    qtbot.waitUntil(lambda: all(len(p.listDataItems()) == 5 for p in v.plots.values()), timeout=5_000)


def test_health_axes_grow_in_round_steps_while_training_and_fit_the_finished_run(qtbot):
    """A moving axis is regenerated and repainted with its curves, so while a run trains the
    health plots' ranges move in round steps; the finished run fills the x axis."""
    from app.views.common import ModelSource
    from app.views.health import FIELDS, HealthView
    source = ModelSource()
    v = HealthView(source)
    qtbot.addWidget(v)
    source.live = True
    rights = set()
    for step in range(10, 2301, 10):
        v.add_samples([(step, {"hidden": (0.1 * math.sin(step / 300), 0.5, 0.0, 1.0 + step / 1000)})])
        v.refresh_all()
        rights.add(v.plots["act_mean"].extent.bounds[0][1])
        lo, hi = v.plots["act_mean"].extent.bounds[1]
        means = v.values["hidden"]["act_mean"]
        assert lo <= min(means) and hi >= max(means)  # the whole curve stays in view
    assert rights == {10, 20, 50, 100, 200, 500, 1000, 2000, 5000}
    assert v.plots["dead"].extent.bounds[1] == (0.0, 0.1)  # "none dead" sits on the floor
    assert v.plots["grad_norm"].extent.bounds[1] is None  # log scale: pyqtgraph's own range
    source.live = False
    v.add_samples([(2310, {"hidden": (0.0, 0.5, 0.0, 1.0)})])
    v.refresh_all()
    assert {v.plots[k].extent.bounds[0][1] for k, _ in FIELDS} == {2310}


def test_layer_health_chosen_during_a_run_draws_every_plot_at_once():
    """While a run trains the plots refresh one at a time, but a view just chosen (a forced
    tick) must not show three empty plots for seconds: a paused run would keep them empty."""
    from app.views.common import ModelSource
    from app.views.health import FIELDS, HealthView
    from types import SimpleNamespace
    source = ModelSource()
    source.attach(SimpleNamespace(exp=circles(1), model=object(), data=object(), parked=False))
    v = HealthView(source)
    v.add_samples([(step, {"hidden": (0.1, 0.5, 0.0, 1.0)}) for step in (10, 20, 30)])
    assert v.tick(force=True)
    assert all(len(v.plots[k].listDataItems()) == 1 for k, _ in FIELDS)
    v.add_samples([(40, {"hidden": (0.2, 0.5, 0.0, 1.0)})])
    v.pacer.now()
    assert v.tick()  # an ordinary tick while live: one plot brought up to date
    assert sum(v._drawn[k] == 4 for k, _ in FIELDS) == 1


def test_decision_boundary_is_the_labs_40x40_picture(qtbot):
    w, v = trained(qtbot, circles(3), "decision-boundary")
    assert v.heat.image.shape == (40, 40)
    assert len(v.train_points.data) == 200 and len(v.test_points.data) == 200
    title = v.title.text()
    assert title.startswith("Iter 60: acc train") and "acc test" in title
    from PySide6.QtWidgets import QGraphicsItem
    cached = QGraphicsItem.CacheMode.DeviceCoordinateCache  # the points don't move while it trains
    # (the canvas caches its static items when it first paints, in the event loop)
    qtbot.waitUntil(lambda: v.train_points.cacheMode() == v.test_points.cacheMode() == cached)
    # 10 hidden neurons, 40×40 each, on as many columns as fit the panel best
    cols = v._cols
    assert v.hidden_mosaic.shape == (math.ceil(10 / cols) * 41 - 1, cols * 41 - 1)
    assert not v.train_mode.isEnabled()  # no dropout or batch norm in this net
    w.shutdown(5000)


def test_decision_boundary_is_computed_between_training_steps_while_live(qtbot, monkeypatch):
    """While the run trains, the picture's torch work runs in the training thread (a view
    computing here would trade Python's GIL with it at every operation)."""
    import threading
    from app.views import decision
    from app.window import MainWindow
    computed_in = []
    real = decision._picture
    monkeypatch.setattr(decision, "_picture", lambda m, d, t: (
        computed_in.append((threading.get_ident(), d is not None)), real(m, d, t))[1])
    w = MainWindow(cfg.with_overrides(presets.load("circles-mlp"),
                                      ["train.epochs=100000", "train.device=cpu"]), persist=False)
    qtbot.addWidget(w)
    w.show()
    w.inspect.select("decision-boundary")
    v = w.inspect.views["decision-boundary"]
    with qtbot.waitSignal(w.run_started):
        w.start_training()
    # three pictures drawn while training, each from the training thread
    qtbot.waitUntil(lambda: v.grid is not None and len(computed_in) >= 3, timeout=20_000)
    assert w.inspect.source.live
    assert threading.get_ident() not in {t for t, _ in computed_in}
    with qtbot.waitSignal(w.run_finished, timeout=10_000):
        w.stop_training()
    assert v.heat.image.shape == (40, 40)


def test_image_views_draw_live_from_numbers_computed_between_training_steps(qtbot):
    """Filters, feature maps and receptive field while a CNN trains: their torch work is done
    in the training thread (ModelSource.compute) and drawn at the next tick."""
    from app.window import MainWindow
    w = MainWindow(cfg.with_overrides(tiny_shapes(), ["train.epochs=1000"]), persist=False)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.run_started):
        w.start_training()
    source = w.inspect.source
    qtbot.waitUntil(source.ready, timeout=30_000)
    for name, drawn in (("filters", lambda v: getattr(v, "mosaic", None) is not None),
                        ("feature-maps", lambda v: bool(getattr(v, "mosaics", None))),
                        ("receptive-field", lambda v: v.rect_px is not None)):
        w.inspect.select(name)
        v = w.inspect.views[name]
        qtbot.waitUntil(lambda: drawn(v), timeout=20_000)
        assert source.live and source._pending  # drawn from the training thread's results
    with qtbot.waitSignal(w.run_finished, timeout=10_000):
        w.stop_training()


def test_screenshot_flag_saves_each_view(tmp_path):
    """`learnscope --screenshot F --view X` for every view, in parallel processes (no training:
    the views show their placeholder; what they draw is tested above)."""
    from app.main import VIEWS
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    root = Path(__file__).resolve().parents[1]
    procs = {v: subprocess.Popen([sys.executable, "-m", "app.main", "--screenshot", str(tmp_path / f"{v}.png"),
                                  "--view", v, "--size", "800x600"], env=env, cwd=root,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for v in VIEWS}
    for v, p in procs.items():
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, (v, err)
        assert (tmp_path / f"{v}.png").stat().st_size > 2000


def test_plots_and_the_visible_view_share_one_gui_budget(qtbot, shapes_window, monkeypatch):
    """While a run trains, what the visible Inspect view spends comes off the plots' share of
    the GUI thread (down to half of it), so the two do not add up."""
    import time
    from app import live_display
    w = shapes_window
    v = show(qtbot, w, "feature-maps")
    assert w.inspect.spending() == 0.0  # no run: nothing to share
    monkeypatch.setattr(w.plots.canvas, "painted_since", lambda mark: 0.01)  # 10 ms of repaints
    monkeypatch.setattr(w.inspect, "live", True)
    monkeypatch.setattr(w.inspect, "tick", lambda force=False: None)  # the view keeps its figure
    waits = {}
    for spent in (0.0, 0.03):
        v.spending = spent
        assert w.inspect.spending() == spent
        w.live.draw.now()
        w.plots._pending.add("batch")
        t0 = time.perf_counter()
        w.tick()
        waits[spent] = w.live.draw.next - t0
    share = live_display.DRAW_SHARE
    assert 0.01 / share <= waits[0.0] < 0.01 / (share / 2) <= waits[0.03]
