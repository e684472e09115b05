"""The timeline: a finished run's epochs on the Inspect view, each drawn as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from core.engine.train import Trainer
from core.nets import inspect as ins
from core.store import reader, snapshots
from core.store.writers import recorded


def drawn(view) -> np.ndarray:
    return np.asarray(view.image.image, dtype=np.float32)


def headless(folder, epoch: int) -> np.ndarray:
    """What `python -m core inspect --view filters` draws for that epoch, before enlarging."""
    state, _ = snapshots.load(folder, epoch)
    return ins.filter_mosaic(state["conv1.weight"] if "conv1.weight" in state else
                             next(v for k, v in state.items() if v.dim() == 4), rgb=True)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to pyqtgraph's (column, row) order."""
    return any(x.shape == b.shape and np.allclose(x, b, atol=1e-3)
               for x in (a, np.swapaxes(a, 0, 1)))


@pytest.fixture
def stored_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return recorded(Trainer(lab.tiny_shapes(epochs=3)), root).fit().run_folder, root


def test_the_timeline_redraws_the_filters_at_each_epoch_as_the_headless_renderer_does(
        qtbot, window, stored_run):
    folder, root = stored_run
    w = window(run_root=root)
    with qtbot.waitSignal(w.inspect.inspected, timeout=30_000):
        w.lab.open_run(reader.open_run(folder))
    timeline, view = w.inspect.timeline, w.inspect.views["filters"]
    w.inspect.select("filters")
    w.pages.setCurrentIndex(2)  # the Inspect page: the view is drawn
    assert timeline.epochs == [0, 1, 2, 3] and timeline.epoch() == 3 and timeline.isVisible()
    qtbot.waitUntil(lambda: view.image.image is not None, timeout=10_000)
    last = drawn(view)
    timeline.step("first")
    qtbot.waitUntil(lambda: not np.array_equal(drawn(view), last), timeout=10_000)
    assert same(drawn(view), headless(folder, 0))
    assert w.lab.subject.epoch == 0 and "epoch 0" in w.inspect.caption.full_text()
    marks = w.plots._marks  # the curves mark the epoch shown
    assert all(m.isVisible() and m.value() == 0 for m in marks)
    timeline.step(+1)
    qtbot.waitUntil(lambda: same(drawn(view), headless(folder, 1)), timeout=10_000)
    timeline.step("last")  # back to the final weights, exactly
    qtbot.waitUntil(lambda: np.array_equal(drawn(view), last), timeout=10_000)
    assert not any(m.isVisible() for m in marks)  # the curves' own end: no line


def test_a_damaged_snapshot_is_named_and_the_view_keeps_what_it_showed(qtbot, window, stored_run):
    folder, root = stored_run
    folder_path = Path(folder)
    (folder_path / "snapshots" / "epoch-0001.safetensors").write_bytes(b"torn")
    w = window(run_root=root)
    said = []
    w.lab.message.connect(lambda *a: said.append(a))
    with qtbot.waitSignal(w.inspect.inspected, timeout=30_000):
        w.lab.open_run(reader.open_run(folder_path))
    w.inspect.timeline.show_epoch(1)
    assert any("epoch-0001.safetensors" in text and "skipped" in text for _k, _t, text in said)
    assert w.lab.subject.epoch == 3  # still the last epoch's network


def test_a_stored_runs_confusion_is_the_one_it_counted_as_it_evaluated(qtbot, window, stored_run):
    """Not a recount here (in fp32, where the run may have evaluated in bf16): the Inspect view
    agrees with the run's own accuracy. The last snapshot's counts are replaced by a marked
    matrix, which the view must show."""
    import torch
    folder, root = stored_run
    path = Path(folder) / "snapshots" / "epoch-0003.safetensors"
    tensors = snapshots.decode(path.read_bytes())
    tensors["confusion.test"] = torch.eye(10, dtype=torch.int64) * 7  # 70 examples, all right
    path.write_bytes(snapshots.encode(tensors))
    w = window(run_root=root)
    with qtbot.waitSignal(w.inspect.inspected, timeout=30_000):
        w.lab.open_run(reader.open_run(folder))
    w.inspect.select("confusion")
    w.pages.setCurrentIndex(2)
    view = w.inspect.views["confusion"]
    qtbot.waitUntil(lambda: view.summary.text().startswith("test:"), timeout=10_000)
    assert view.summary.text() == "test: 70 examples, accuracy 100.0 %"


def test_while_a_run_trains_the_timeline_shows_an_earlier_epoch_and_live_returns(qtbot, window):
    w = window(lab.circles(2000))
    inspect, timeline = w.inspect, w.inspect.timeline
    w.pages.setCurrentIndex(2)  # the Inspect page: the decision boundary is drawn
    w.start_training()
    qtbot.waitUntil(lambda: len(timeline.epochs) >= 4, timeout=60_000)
    assert timeline.live.isVisible() and not timeline.live.isEnabled()  # at the present
    timeline.show_epoch(1)
    assert inspect._past and not inspect.source.live and inspect.source.progress.epochs == 1
    assert "showing epoch 1" in inspect.caption.full_text()
    view = inspect.views["decision-boundary"]
    state, _ = snapshots.load(inspect._live_folder(), 1)
    assert all(np.allclose(inspect.source.model().state_dict()[k], v) for k, v in state.items())
    qtbot.waitUntil(lambda: view.heat.image is not None and not view.stale, timeout=10_000)
    seen = len(timeline.epochs)
    qtbot.waitUntil(lambda: len(timeline.epochs) > seen + 2, timeout=60_000)  # training goes on
    assert timeline.epoch() == 1 and inspect.source.progress.epochs == 1  # still the past
    assert timeline.live.isEnabled()
    timeline.live.click()
    assert not inspect._past and inspect.source.live and timeline.at_present()
    with qtbot.waitSignal(w.run_finished, timeout=30_000):
        w.stop_training()


def test_space_pauses_a_run_that_trains_and_plays_the_timeline_of_one_that_ended(qtbot, window):
    """The timeline's Space and the window's Pause share a key: only one of them is enabled at
    a time (both enabled, Qt fires neither)."""
    from PySide6.QtCore import Qt
    w = window(lab.circles(3000))
    w.pages.setCurrentIndex(2)
    w.start_training()
    timeline, chooser = w.inspect.timeline, w.inspect.chooser
    qtbot.waitUntil(lambda: len(timeline.epochs) >= 3, timeout=30_000)
    chooser.setFocus()
    qtbot.waitUntil(chooser.hasFocus)
    qtbot.keyClick(chooser, Qt.Key.Key_Space)
    assert w.session.trainer.paused and not timeline.play.isChecked()
    with qtbot.waitSignal(w.run_finished, timeout=30_000):
        w.stop_training()
    qtbot.keyClick(chooser, Qt.Key.Key_Space)
    assert timeline.play.isChecked()
    qtbot.keyClick(chooser, Qt.Key.Key_Space)
    assert not timeline.play.isChecked()
