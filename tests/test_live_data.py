"""One live-data path: the Inspect views get their numbers from the live buffer or from work
run in the training thread between two steps, never from the live network in the GUI thread;
the session hands the final weights over once; the views registry drives the dock."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab

GUI = threading.get_ident()  # the tests, and the Qt event loop, run in this thread


class Touches:
    """Records which threads use a network: its state_dict, its parameters and any forward
    of it or of one of its layers (a view may call the layers one by one)."""

    def __init__(self) -> None:
        self.threads: set[int] = set()
        self.calls = 0

    def note(self, *_args) -> None:
        self.threads.add(threading.get_ident())
        self.calls += 1

    def install(self, model) -> None:
        for m in model.modules():
            m.register_forward_pre_hook(lambda *a: self.note())
        for name in ("state_dict", "parameters", "named_parameters"):
            real = getattr(model, name)
            setattr(model, name, lambda *a, _real=real, **k: (self.note(), _real(*a, **k))[1])


def watch_live_model(qtbot, session) -> tuple[Touches, int]:
    """Install Touches on the session's network from its training thread (between two steps,
    so the hooks never race a forward); return them and the training thread's id."""
    qtbot.waitUntil(lambda: session.trainer.model is not None, timeout=60_000)
    touches = Touches()
    done = session.trainer.call_between_steps(
        lambda: (touches.install(session.trainer.model), threading.get_ident())[1])
    qtbot.waitUntil(done.done, timeout=20_000)
    return touches, done.result()


def refresh(qtbot, w, name: str) -> None:
    """Show the view and wait for a refresh that drew (not one still waiting for numbers)."""
    v = w.inspect.views[name]
    before = v.refreshes
    w.inspect.select(name)
    qtbot.waitUntil(lambda: v.refreshes > before, timeout=20_000)


def test_while_a_cnn_trains_no_view_touches_its_network_from_the_gui_thread(qtbot, window):
    from app.views.registry import VIEWS
    w = window(lab.tiny_shapes(epochs=100_000))
    with qtbot.waitSignal(w.run_started):
        assert w.start_training()
    touches, training = watch_live_model(qtbot, w.session)
    qtbot.waitUntil(lambda: w.inspect.source.progress.epochs >= 1, timeout=20_000)
    for name in VIEWS:
        refresh(qtbot, w, name)
    rf = w.inspect.views["receptive-field"]
    qtbot.waitUntil(lambda: rf.rect_px is not None, timeout=20_000)  # an effective RF drawn too
    assert touches.calls > 0 and touches.threads == {training}
    with qtbot.waitSignal(w.run_finished, timeout=10_000):
        w.stop_training()
    assert touches.threads == {training}  # the final weights were copied there too
    # the views now compute on the handed-over network: the GUI thread's own
    final = w.inspect.source.model()
    assert final is not None and final is not w.inspect.session.trainer.model
    w.inspect.views["feature-maps"].tick(force=True)
    assert touches.threads == {training}


def test_the_session_hands_over_the_final_weights_once_as_a_copy(qtbot):
    import torch

    from app.worker import TrainingSession
    session = TrainingSession(lab.circles(2), record=False)
    infos = []
    session.fit_started.connect(infos.append)  # queued, as the window gets it: before `finished`
    with qtbot.waitSignal(session.finished, timeout=60_000):
        session.start()
    progress = session.buffer.progress()  # where the run is, whatever the window drained
    assert progress.epochs == 2 and progress.record is session.result.last
    assert progress.steps == 2 * infos[0].steps_per_epoch
    live, final = session.trainer.model, session.final_model()
    assert final is session.final_model() and final is not live
    for (k, a), b in zip(live.state_dict().items(), final.state_dict().values()):
        assert torch.equal(a, b), k
        assert a.data_ptr() != b.data_ptr()  # its own storage: nobody trains it
    assert not final.training


def test_the_part1_live_gradient_check_copies_the_weights_in_the_training_thread(qtbot, window):
    w = window(lab.circles(100_000), tab=3)
    with qtbot.waitSignal(w.run_started):
        assert w.start_training()
    touches, training = watch_live_model(qtbot, w.session)
    p = w.part1_panel
    assert p.check_now()
    qtbot.waitUntil(lambda: "snapshot of the training network" in p.caption.text(), timeout=20_000)
    assert p.table.marks() == ["✔"] * 4
    assert touches.threads == {training}
    with qtbot.waitSignal(w.run_finished, timeout=10_000):
        w.stop_training()


def test_views_compute_while_paused_in_the_training_thread(qtbot, window):
    """Paused, the network is still the training thread's: it runs the views' work while
    it holds at the batch boundary."""
    w = window(lab.tiny_shapes(epochs=100_000))
    with qtbot.waitSignal(w.run_started):
        assert w.start_training()
    touches, training = watch_live_model(qtbot, w.session)
    w.pause_training()
    qtbot.waitUntil(lambda: w.session.trainer.parked, timeout=10_000)
    refresh(qtbot, w, "filters")
    v = w.inspect.views["filters"]
    before = v.refreshes
    v.same_scale.setChecked(True)  # numbers never asked for before: computed while parked
    qtbot.waitUntil(lambda: v.refreshes > before, timeout=10_000)
    assert "One scale for all" in v.caption.text()
    assert touches.threads == {training} and w.session.trainer.parked
    with qtbot.waitSignal(w.run_finished, timeout=10_000):
        w.stop_training()


def test_the_confusion_view_shows_the_counts_of_the_last_epoch_record(qtbot, window):
    from app.worker import Progress
    from core.engine.records import EpochRecord, SplitMetrics
    w = window(lab.tiny_shapes(epochs=2))
    w.inspect.select("confusion")
    with qtbot.waitSignal(w.run_finished, timeout=60_000) as blocker:
        assert w.start_training()
    v = w.inspect.views["confusion"]
    last = blocker.args[0].last
    assert v.counts is last.confusion["test"] and v.counts.sum() == 64
    # counts no network would make: the view draws the record's, it does not count again
    fake = np.arange(100).reshape(10, 10)
    record = EpochRecord(3, 0.1, SplitMetrics(1.0, 50.0), 1.0, 100.0, test=SplitMetrics(1.0, 9.0),
                         confusion={"test": fake})
    w.inspect.source.progress = Progress(3, 6, record)
    v.tick(force=True)
    assert v.counts is fake
    assert [v.table.item(r, c).text() for r, c in ((0, 0), (3, 7), (9, 9))] == ["0", "37", "99"]


def test_a_view_registered_from_a_test_appears_in_the_dock_and_draws(qtbot, window):
    from PySide6.QtWidgets import QLabel, QVBoxLayout

    from app import main
    from app.views.common import InspectView
    from app.views.registry import VIEWS, register_view, unregister_view

    class WeightsView(InspectView):
        """The number of weights and their mean |w|, computed where the network is."""
        interval_s = 0.1

        def __init__(self, source, parent=None):
            super().__init__(source, parent)
            self.text = QLabel()
            QVBoxLayout(self.body).addWidget(self.text)

        def refresh(self):
            stats = self.computed("weights", lambda model, data: (
                sum(p.numel() for p in model.parameters()),
                float(sum(p.detach().abs().sum() for p in model.parameters())), threading.get_ident()))
            if stats is None:
                return
            self.say(None)
            self.stats = stats
            self.text.setText(f"{stats[0]} parameters, mean |w| {stats[1] / stats[0]:.3f}")

    register_view("weights", "Weights", WeightsView)
    try:
        assert main.parse(["--screenshot", "x.png", "--view", "weights"]).view == "weights"
        w = window(lab.circles(100_000))
        chooser = w.inspect.chooser
        assert chooser.itemText(chooser.count() - 1) == "Weights" and list(VIEWS)[-1] == "weights"
        w.inspect.select("weights")
        v = w.inspect.current()
        assert isinstance(v, WeightsView)
        with qtbot.waitSignal(w.run_started):
            assert w.start_training()
        qtbot.waitUntil(lambda: getattr(v, "stats", None) is not None, timeout=20_000)
        assert v.stats[0] == 52 and v.stats[2] != GUI  # 2→10→2, computed in the training thread
        assert v.text.text().startswith("52 parameters")
        with qtbot.waitSignal(w.run_finished, timeout=10_000):
            w.stop_training()
    finally:
        unregister_view("weights")
    assert "weights" not in VIEWS
    assert "weights" not in window(lab.circles(1)).inspect.views


def test_a_pacer_waits_its_interval_or_what_the_work_costs_over_its_share():
    from core.engine.pacing import Pacer
    p = Pacer(0.5, 0.1)
    assert p.due(0.0)
    p.spent(0.01, now=10.0)  # cheap: the interval
    assert not p.due(10.49) and p.due(10.5) and p.spending == pytest.approx(0.02)
    p.spent(0.2, now=20.0)  # costly: 0.2 / 0.1 = 2 s, so it takes its share and no more
    assert not p.due(21.9) and p.due(22.0) and p.spending == pytest.approx(0.1)
    p.now()
    assert p.due(20.0)


def test_one_mosaic_layout_places_and_finds_every_tile():
    from core.nets import mosaic
    tiles = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    m = mosaic.tile(tiles, pad=1, fill=-1)
    assert m.shape == (2 * 2 + 1, 3 * 3 + 2)  # 5 tiles on the near-square 3 columns, 2 rows
    for k in range(5):
        x, y = mosaic.origin(5, (2, 3), k)
        assert np.array_equal(m[y:y + 2, x:x + 3], tiles[k])
        assert mosaic.cell_at(5, (2, 3), x + 2, y + 1) == (k, 1, 2)
    assert mosaic.cell_at(5, (2, 3), 3, 0) is None  # the gap between two tiles
    assert mosaic.cell_at(5, (2, 3), 9, 4) is None  # where a sixth tile would be
    grey = mosaic.image_mosaic(np.zeros((4, 2, 2, 1), np.uint8))  # one channel: a grey mosaic
    assert grey.shape == (5, 5) and grey[0, 0] == grey[4, 4] == 0.0 and grey[2, 2] == 1.0


def test_the_equations_write_out_every_activation_the_models_offer():
    from app.views.equations import FORMULAS
    from core.nets.models import ACTIVATIONS
    assert set(FORMULAS) == set(ACTIVATIONS)
