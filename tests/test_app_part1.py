"""The Part 1 tab driven through its real widgets: gradient check, equations, experiment shortcuts."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from app.panels.study_results import COLUMN
from app.window_pages import RESULTS
from core.experiment import config as cfg
from core.experiment import presets
from core.store import reader as run_reader
def circles(epochs: int = 2, preset: str = "circles-mlp", **sets) -> cfg.Experiment:
    return lab.experiment(preset, epochs, **sets)


@pytest.fixture
def window(qtbot):
    from app.window import MainWindow
    made = []

    def make(exp=None):
        w = MainWindow(exp, persist=False)
        qtbot.addWidget(w)
        w.show()
        w.tabs.setCurrentIndex(3)
        made.append(w)
        return w

    yield make
    for w in made:
        w.part1_panel.sweep.cancel()
        w.shutdown(5000)


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_part1_tab_and_menu_exist(window):
    w = window(circles())
    assert w.tabs.tabText(3) == "Part 1"
    menus = [a.text() for a in w.menuBar().actions()]
    assert "E&xperiments" in menus
    # implementation is exposed once, on the Part 1 panel, bound to model.implementation
    combo = w.part1_panel.implementation
    assert "manual" in combo.toolTip()
    combo.setCurrentIndex(combo.findData("manual"))
    assert w.current_experiment().model.implementation == "manual"
    assert "by hand" in w.part1_panel.impl_hint.text()


def test_gradcheck_table_has_a_tick_per_tensor(qtbot, window):
    w = window(circles())
    p = w.part1_panel
    click(qtbot, p.check_button)
    assert p.table.rowCount() == 4  # 2→10→2: two weights, two biases
    assert p.table.marks() == ["✔"] * 4
    assert "initial weights" in p.caption.text()


def test_a_broken_backward_shows_a_cross(qtbot, window, monkeypatch):
    from core.engine import manual
    base = manual.backward

    def broken(*args, **kwargs):
        grads = base(*args, **kwargs)
        gw, gb = grads[0]
        return [(gw + 1e-3, gb)] + grads[1:]

    monkeypatch.setattr(manual, "backward", broken)
    w = window(circles())
    p = w.part1_panel
    click(qtbot, p.check_button)
    assert p.table.marks()[0] == "✘"
    assert p.caption.text().startswith("✘")


def test_gradcheck_after_a_run_uses_its_weights(qtbot, window):
    w = window(circles())
    with qtbot.waitSignal(w.run_finished, timeout=30_000):
        click(qtbot, w.training_panel.start)
    qtbot.waitUntil(lambda: "final weights" in w.part1_panel.caption.text(), timeout=5_000)
    assert w.part1_panel.table.marks() == ["✔"] * 4


def test_equations_follow_the_experiment(qtbot, window):
    w = window(circles())
    eq = w.part1_panel.equations
    assert "W_h: 10×2" in eq.shape_text() and "x: 10×2" in eq.shape_text()
    assert "∇W<sub>y</sub> = ∇ỹ<sup>T</sup> h" in eq.text()
    w.load_experiment(presets.load("circles-mlp-figure"))
    assert "W_h: 4×2" in eq.shape_text() and "W_y: 2×4" in eq.shape_text()


def test_a_cnn_shows_the_mlp_only_sentence(window):
    w = window(presets.load("shapes-cnn"))
    p = w.part1_panel
    assert p.mlp_only.isVisible() and "covers MLPs" in p.mlp_only.text()
    assert not p.table.isVisible()
    assert "CNN" in p.equations.text()


def _sweep(qtbot, w, kind, timeout=40_000):
    with qtbot.waitSignal(w.part1_panel.sweep.finished, timeout=timeout) as blocker:
        click(qtbot, w.part1_panel.sweep_buttons[kind])
    return blocker.args[1]


def test_a_loss_sweep_trains_both_runs_and_overlays_them(qtbot, window):
    w = window(circles())
    results = _sweep(qtbot, w, "loss")
    assert [r.status for _, r in results] == ["done", "done"]
    assert len(run_reader.list_runs()) == 2
    assert len(w.runs_panel.runs) == 2 and len(w.runs_panel.checked_runs()) == 2
    assert len(w.plots.overlay_items) > 0
    assert [e.optim.loss for e, _ in results] == ["cross_entropy", "mse"]
    assert [e.name for e, _ in results] == ["circles-mlp · loss · cross-entropy",
                                            "circles-mlp · loss · squared error"]
    assert w.experiment.name == "circles-mlp"  # the panels are back on the base experiment
    assert w.part1_panel.sweep_buttons["loss"].isEnabled()


def test_a_sweep_shows_its_results_table_and_chart(qtbot, window):
    w = window(circles(epochs=3))
    p = w.part1_panel
    w.pages.setCurrentIndex(RESULTS)  # the Results page: nothing yet
    assert w.results_page.current() is None and not p.results.isVisible()
    results = _sweep(qtbot, w, "loss")
    t = p.results.table
    assert w.results_page.current() is p.results and p.results.isVisible()
    assert "Part 1" in w.results_page.heading.text()
    assert t.rowCount() == len(results) == 2
    for i, (exp, r) in enumerate(results):  # one row per run of the sweep, its own numbers
        assert t.item(i, 0).text() == f"{i + 1}. {exp.name.rsplit(' · ', 1)[1]}"
        assert t.item(i, COLUMN["test"]).text() == f"{r.last.test.accuracy:.1f}"
        assert t.item(i, COLUMN["train"]).text() == f"{r.last.train.accuracy:.1f}"
    assert list(p.results.bars.opts["height"]) == [r.last.test.accuracy for _, r in results]
    assert len(set(p.results.colours())) == 2  # both ticked, each in its curves' colour
    # a second press trains anew in a folder of its own (nothing reused from the first)
    again = _sweep(qtbot, w, "loss")
    assert all(r.status == "done" for _, r in again)
    assert {r.run_folder for _, r in again}.isdisjoint({r.run_folder for _, r in results})
    assert len(run_reader.list_runs()) == 4


def test_the_batch_sweep_runs_full_mini_and_online(qtbot, window):
    w = window(circles(epochs=1, **{"data.n_train": 40}))
    results = _sweep(qtbot, w, "batch")
    assert [e.train.batch_size for e, _ in results] == [40, 10, 1]
    assert all(r.status == "done" for _, r in results)
    assert len(run_reader.list_runs()) == 3 and len(w.runs_panel.checked_runs()) == 3


def test_stopping_a_sweep_cancels_the_rest(qtbot, window):
    w = window(circles(epochs=150))
    p = w.part1_panel
    with qtbot.waitSignal(p.sweep.finished, timeout=30_000) as blocker:
        click(qtbot, p.sweep_buttons["loss"])
        qtbot.waitUntil(lambda: len(w.plots.records) >= 1, timeout=20_000)
        assert p.stop_sweep.isEnabled()
        click(qtbot, w.training_panel.stop)
    results = blocker.args[1]
    assert [r.status for _, r in results] == ["stopped"]
    assert len(run_reader.list_runs()) == 1
    assert "1 cancelled" in p.sweep_status.text()
    assert not w.is_training() and p.sweep_buttons["loss"].isEnabled()


def test_the_n_sweep_plots_accuracy_against_n(qtbot, window, monkeypatch):
    from core.study import sweeps
    base = sweeps.train_sizes
    monkeypatch.setattr(sweeps, "train_sizes", lambda exp: base(exp, sizes=(10, 40)))
    w = window(circles(epochs=1))
    results = _sweep(qtbot, w, "n")
    assert [e.data.n_train for e, _ in results] == [10, 40]
    p = w.part1_panel
    assert p.n_plot.isVisible()
    xs, ys = p.n_curves["test"].getData()
    assert len(xs) == 2 and all(0 <= y <= 100 for y in ys)
