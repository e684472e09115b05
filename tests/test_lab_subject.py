"""One subject on screen: load a preset, open a finished run, click a study rung, start a
run — after each, the plots' caption, the Inspect views' caption, the status line and the
title name the Lab's subject, and what they show is that subject's (its numbers, its
network). Driven through the real widgets."""

from __future__ import annotations

from PySide6.QtCore import Qt

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings; window)
import lab
from core.experiment import presets
from core.store.reader import default_root
from core.engine.train import Trainer
from core.store.writers import recorded
from test_app_part2 import PART2, click, open_study, run_study, study_file


def assert_one_subject(w) -> str:
    subject = w.lab.subject
    words = subject.words()
    for caption in (w.plots_caption, w.inspect.caption, w.training_panel.subject):
        assert words in caption.full_text() and caption.toolTip() == caption.full_text()
    title = subject.name if subject.kind == "experiment" else words
    assert f"LearnScope — {title}" in w.windowTitle()
    return words


def test_every_part_names_the_same_subject_through_a_lab_session(qtbot, window, tmp_path):
    w = window(lab.circles(2), tab=PART2)

    # a preset: its settings, not trained yet, and nothing drawn of an earlier run
    w.lab.load_experiment(presets.load("circles-mlp"))
    assert assert_one_subject(w) == "circles-mlp · not trained yet"
    assert not any(w.plots.point_counts().values())
    assert not w.inspect.source.ready()

    # a finished run, opened from the Runs dock: its name and its last epoch everywhere
    exp = lab.circles(3)
    exp.name = "opened"
    run = recorded(Trainer(exp), default_root()).fit()
    w.runs_panel.refresh()
    row = next(i for i, r in enumerate(w.runs_panel.runs) if str(r.folder) == run.run_folder)
    with qtbot.waitSignal(w.inspect.inspected, timeout=30_000):
        w.runs_panel.inspect_requested.emit(w.runs_panel.runs[row])
    assert assert_one_subject(w) == "opened · epoch 3/3"
    assert f"test {run.last.test.accuracy:.2f} %" in w.training_panel.status.text()
    assert w.inspect.restored is not None and w.inspect.restored.exp.name == "opened"

    # a study's rung, clicked in the Part 2 table
    p = open_study(w, study_file(tmp_path))
    rows = run_study(qtbot, p)
    with qtbot.waitSignal(w.inspect.inspected, timeout=30_000):
        rect = p.results.table.visualItemRect(p.results.table.item(0, 0))
        click(qtbot, p.results.table.viewport(), rect.center())
    words = assert_one_subject(w)
    assert words == f"tiny ladder · baseline · epoch {rows[0]['epochs']}/{rows[0]['epochs']}"
    assert f"test {rows[0]['test_accuracy']:.2f} %" in w.training_panel.status.text()

    # a run started with Train: the live run, epoch by epoch (checked at each change, after
    # the window's own slot has shown it)
    w.lab.load_experiment(lab.circles(30))
    seen = []
    w.lab.subject_changed.connect(lambda s: seen.append((s.kind, s.epoch, assert_one_subject(w))))
    with qtbot.waitSignal(w.lab.run_finished, timeout=60_000):
        qtbot.mouseClick(w.training_panel.start, Qt.MouseButton.LeftButton)
    assert seen[0] == ("live", 0, "circles-mlp · epoch 0/30")
    assert any(kind == "live" and epoch >= 1 for kind, epoch, _ in seen)  # as the curves reach them
    assert seen[-1] == ("run", 30, "circles-mlp · epoch 30/30") == ("run", 30, assert_one_subject(w))


def test_a_run_started_with_train_shows_its_own_curves_only(qtbot, window):
    """Runs ticked earlier (a study's rungs) are not overlaid on a new run's axes; a study's
    rungs, started by the study, keep the finished ones overlaid (tests/test_app_part2.py)."""
    exp = lab.circles(2)
    recorded(Trainer(exp), default_root()).fit()
    w = window(lab.circles(2))
    w.runs_panel.refresh()
    w.runs_panel.set_checked(0, True)
    assert w.runs_panel.checked_runs() and w.plots.overlay_items
    with qtbot.waitSignal(w.lab.run_finished, timeout=60_000):
        qtbot.mouseClick(w.training_panel.start, Qt.MouseButton.LeftButton)
    assert not w.runs_panel.checked_runs() and not w.plots.overlay_items
