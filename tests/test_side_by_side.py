"""Side by side (View → Side by side, Ctrl+B): the two runs ticked in the Runs list at the same
epoch, one timeline for both, the pair exported as a GIF; anything else gets a sentence."""

from __future__ import annotations

import numpy as np
import pytest

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from app import side_by_side
from core.engine.train import Trainer
from core.report import replay
from core.store.writers import recorded


@pytest.fixture
def two_rates(tmp_path):
    """Two circles MLP runs that differ only in their learning rate."""
    root = tmp_path / "runs"
    folders = [recorded(Trainer(lab.circles(3, **{"optim.lr": lr})), root).fit().run_folder
               for lr in (0.001, 0.5)]
    return root, folders


def tick(w, folders) -> None:
    panel = w.runs_panel
    panel.refresh()
    for i, run in enumerate(panel.runs):
        panel.set_checked(i, str(run.folder) in map(str, folders))


def test_two_ticked_runs_show_the_same_epoch_and_move_together(qtbot, window, two_rates, tmp_path):
    root, folders = two_rates
    w = window(run_root=root)
    tick(w, folders)
    w.side_by_side_action.trigger()
    (sbs,) = w.findChildren(side_by_side.SideBySide)
    qtbot.waitUntil(lambda: sbs.restored is not None, timeout=30_000)
    assert sorted(map(str, sbs.folders)) == sorted(map(str, folders))
    shown = []
    assert sbs.view.currentData() == "decision-boundary"
    assert sbs.timeline.epochs == [0, 1, 2, 3] and sbs.timeline.epoch() == 3
    for epoch in (3, 0):
        sbs.timeline.show_epoch(epoch)
        drawn = [p.image for p in sbs.pictures]
        expected = [replay.frames(f, "decision-boundary", [epoch])[0].image for f in sbs.folders]
        assert all(np.array_equal(a, b) for a, b in zip(drawn, expected))
        shown.append(drawn)
    assert not np.array_equal(shown[0][0], shown[0][1])  # the rates learned different boundaries
    assert not np.array_equal(shown[0][1], shown[1][1])  # and epoch 3 is not epoch 0
    sbs.ask_file = lambda start: str(tmp_path / "pair.gif")
    from PIL import Image
    assert sbs.export_gif() == tmp_path / "pair.gif"
    with Image.open(tmp_path / "pair.gif") as gif:
        assert gif.n_frames == 4 and gif.width > 2 * replay.SIZE


def test_side_by_side_without_two_ticked_runs_says_what_to_do(qtbot, window, two_rates):
    root, folders = two_rates
    w = window(run_root=root)
    tick(w, folders[:1])
    w.side_by_side_action.trigger()
    assert not w.findChildren(side_by_side.SideBySide)
    assert "Tick two runs" in w.banner.message() and "Now 1 are ticked" in w.banner.message()


def test_a_studys_table_shows_a_rung_side_by_side_with_the_rung_opened_last(qtbot, window):
    from core import study as studies
    from core.store.reader import default_root
    from core.study.runner import run_study
    run_study(studies.builtin("ladder", "shapes-cnn"), default_root(),
              extra=["train.epochs=1", "data.n_train=64", "data.n_test=64",
                     "train.batch_size=32", "train.device=cpu"])
    w = window(lab.tiny_shapes(1))
    results = w.part2_panel.results
    assert len(results.rows) == 8
    with qtbot.waitSignal(w.inspect.inspected, timeout=30_000):
        results.open_rung(6)  # + batch norm
    assert results.opened == 6
    shown = results.side_by_side(results.opened, 7)  # …and the modern recipe
    qtbot.waitUntil(lambda: shown.restored is not None, timeout=30_000)
    assert [p.name for p in shown.folders] == [results.rows[k]["run_folder"] for k in (6, 7)]
    assert [label.text() for label in shown.labels] == ["7. + batch norm", "8. + a modern recipe"]
    assert shown.view.currentData() == "filters" and shown.timeline.epochs == [0, 1]
    assert all(p.image is not None for p in shown.pictures)
