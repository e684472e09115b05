"""The Inspect dock: views of what the network has learned, one at a time (chosen from a
list: app.views.registry.VIEWS), the one shown refreshed at its own pace. Their numbers come
from the live buffer and from app.views.common.ModelSource (its docstring says the rule)."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from app.caption import Caption
from app.views import registry
from app.views.common import ModelSource
from app.views.timeline import Timeline
from app.worker import Progress, model_from
from app.wheel_guard import ComboBox
from core.store import snapshots


@dataclasses.dataclass
class _Counted:
    """What a snapshot kept of its epoch's record: the confusion counts by split."""
    confusion: dict


class _Loading(QObject):
    """Carries a stored run loaded in a background thread back to the GUI thread (queued)."""

    done = Signal(object, object)  # token, a core.store.restore.RestoredRun or the sentence why not


def _restore(run, token, loading: _Loading) -> None:
    """In a background thread: rebuild the run's data and network, then hand them over."""
    from core import LearnScopeError
    from core.store.restore import restore
    try:
        result = restore(run)
    except LearnScopeError as e:
        result = str(e)
    except Exception as e:  # a sentence, never a traceback
        result = f"Loading the run failed unexpectedly: {type(e).__name__}: {e}"
    loading.done.emit(token, result)


class InspectPanel(QWidget):
    """Tabs of inspect views following the Lab's runs (run_started / run_finished), or a
    stored run's saved weights (inspect_run)."""

    inspected = Signal(object)  # the core.store.restore.RestoredRun shown, or None when it could not be

    def __init__(self, lab, parent=None):
        super().__init__(parent)
        self.lab = lab
        self.source = ModelSource()
        self.session = None
        self.restored = None  # the stored run the views show (inspect_run), if any
        self._loading = _Loading(self)
        self._loading.done.connect(self._run_loaded)
        self._token = 0
        # the views are chosen from a list above them: it fits a narrow dock and hides none
        # behind a tab bar's scroll arrows
        self.chooser = ComboBox()
        self.chooser.setObjectName("inspect-view")
        self.chooser.setToolTip("Which view of the network to show.")
        # its width from a count of characters, not from its longest title: the row keeps room
        # for the timeline at the 480 px the views are made for, before and after the style polishes it
        self.chooser.setSizeAdjustPolicy(ComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.chooser.setMinimumContentsLength(14)
        self.stack = QStackedWidget()
        self.views = {}
        for entry in registry.VIEWS.values():
            self.views[entry.name] = view = entry.load()(self.source)
            self.stack.addWidget(view)
            self.chooser.addItem(entry.title, entry.name)
        self.chooser.currentIndexChanged.connect(self.stack.setCurrentIndex)
        self.stack.currentChanged.connect(lambda _=0: self.tick(force=True))
        self.tabs = self.stack  # the old name: scripts reach the shown view as tabs.currentWidget()
        top = QHBoxLayout()
        top.setContentsMargins(6, 4, 6, 0)
        label = QLabel("View:")
        label.setBuddy(self.chooser)
        top.addWidget(label)
        top.addWidget(self.chooser, 1)
        self.caption = Caption("inspect-subject")  # the Lab's subject: whose network, when
        self.caption.setContentsMargins(8, 0, 6, 0)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addLayout(top)
        self._top, self._below = top, QHBoxLayout()  # the timeline's two places
        col.addLayout(self._below)
        col.addWidget(self.caption)
        col.addWidget(self.stack, 1)
        # a finished run's epochs (its snapshots), beside the view's name: a row of its own
        # would take the height the decision boundary's square and the 10 × 10 matrix need;
        # under it only where the panel is too narrow for both (resizeEvent)
        self.timeline = Timeline(self)
        self.timeline.keys(self)
        self.timeline.moved.connect(self.show_epoch)
        top.addWidget(self.timeline, 2)
        self._replay = None  # (run folder, final weights, progress) of the run the timeline scrubs
        self._past = False  # a live run's earlier epoch is shown (its snapshot), training goes on
        self._points = None  # whether the experiment shown has 2D points (suit)
        self._epochs = 0
        self.live = False  # while a run trains, the window's 20 Hz tick calls tick() (one timer
        # for both: each wake-up of the GUI thread takes a core from the training threads)
        lab.run_started.connect(self._run_started)
        lab.run_finished.connect(self._run_finished)

    def current(self):
        return self.stack.currentWidget()

    def showEvent(self, event) -> None:  # noqa: N802
        """Shown again (another page, the panel moved between pages): the view draws what
        arrived while it was hidden, a run opened from the Results page included."""
        super().showEvent(event)
        self.tick(force=True)

    def spending(self) -> float:
        """The share of the GUI thread the visible view takes while a run trains (0 if none)."""
        return self.current().spending if self.live and self.isVisible() else 0.0

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        top = self._top
        needs = sum(top.itemAt(i).widget().minimumSizeHint().width() for i in range(2)) \
            + self.timeline.minimumSizeHint().width() + 2 * top.spacing() + 12
        place = top if event.size().width() >= needs else self._below
        if place.indexOf(self.timeline) < 0:
            (self._below if place is top else top).removeWidget(self.timeline)
            place.addWidget(self.timeline, 2)

    def select(self, name: str) -> None:
        """Show the view called name (a key of app.views.registry.VIEWS; others are ignored)."""
        index = self.chooser.findData(name)
        if index >= 0:
            self.chooser.setCurrentIndex(index)

    def suit(self, exp) -> None:
        """Open on the view made for the experiment's kind of data when that kind changes: the
        decision boundary for 2D points, the filters for images (a choice within a kind stays)."""
        if exp.is_points != self._points:
            self._points = exp.is_points
            self.select("decision-boundary" if exp.is_points else "filters")

    def _run_started(self, session) -> None:
        self.session, self.restored = session, None
        self._past = False
        self.timeline.set_epochs([], training=True)
        self._token += 1  # a stored run still loading is not shown over this one
        self.source.attach(session.trainer)
        self._started()
        self.live = True

    def _started(self) -> None:
        """A run (live or stored) is shown: the views start afresh."""
        self._epochs = self.source.progress.epochs
        for v in self.views.values():
            v.run_started()

    def _run_finished(self, result) -> None:
        self._past = False
        self._drain()
        # the final weights, the GUI thread's own from now on
        self.source.finish(self.session.final_model() if self.session is not None else None)
        for v in self.views.values():
            v.stale = True
        self.live = False
        self._replayable(getattr(result, "run_folder", None))
        self.tick(force=True)

    # -- the timeline: a finished run's epochs
    def _replayable(self, folder) -> None:
        """Offer the run's kept epochs on the timeline (none: it hides), and give layer health
        the samples its snapshots kept (a run trained here has its own, denser ones)."""
        model = None if self.source.live else self.source.model()
        kept = snapshots.epochs(folder) if folder and model is not None else []
        progress = self.source.progress
        if kept and progress.record is None and kept[-1] == progress.epochs:
            # a stored run: its last epoch's counts, as it evaluated them (the Results table's
            # accuracy), rather than a recount here in another number format
            progress = self.source.progress = dataclasses.replace(
                progress, record=self._counted(Path(folder), kept[-1]))
        self._replay = (Path(folder), {k: v.detach().clone() for k, v in
                                       model.state_dict().items()}, progress) if kept else None
        self._steps_per_epoch = progress.steps / max(progress.epochs, 1)
        health = self.views["health"]
        if kept and not health.steps:
            health.add_samples([(step, layers) for _e, step, layers in snapshots.health(folder)])
        health.show_until(None)
        self.timeline.set_epochs(kept)

    def _counted(self, folder: Path, epoch: int) -> _Counted | None:
        """What the snapshot of that epoch counted (None: nothing, or it cannot be read)."""
        try:
            confusion = snapshots.load(folder, epoch)[1]
        except snapshots.SnapshotError:
            return None
        return _Counted(confusion) if confusion else None

    def _live_folder(self):
        folder = self.session.trainer.run_folder if self.session is not None else None
        return folder or ""

    def _show_past(self, epoch: int) -> None:
        """While a run trains: show an earlier epoch from its snapshot, in a network the GUI
        thread owns (training goes on), or the present again (the last epoch kept)."""
        trainer = self.session.trainer
        if self.timeline.at_present():
            if self._past:
                self._past = False
                self.source.attach(trainer)  # the live network again, through compute()
                self.source.progress = self.session.buffer.progress()
        else:
            try:
                state, confusion = snapshots.load(self._live_folder(), epoch)
            except snapshots.SnapshotError as e:
                self.lab.say("warning", "A snapshot cannot be read.", str(e))
                return
            data = trainer.data
            model = model_from(state, trainer.exp, data.input_shape, len(data.classes))
            steps = self.session.buffer.progress().steps / max(self._epochs, 1)
            self.source.attach_model(trainer.exp, data, model, Progress(
                epoch, int(epoch * steps), _Counted(confusion) if confusion else None),
                stored=False)
            self._past = True
        for v in self.views.values():
            v.stale = True
        self.show_subject(self._words)
        self.tick(force=True)

    def show_epoch(self, epoch: int) -> None:
        """Load that epoch's weights into the network the views look at, and redraw."""
        if self.live and epoch is not None:
            self._show_past(epoch)
            return
        if self._replay is None or self.live or epoch is None:
            return
        folder, final, progress = self._replay
        last = epoch == self.timeline.epochs[-1]
        if last:  # the final weights, exactly, and the run's last record
            state, record = final, progress.record
        else:
            try:
                state, confusion = snapshots.load(folder, epoch)
            except snapshots.SnapshotError as e:
                self.lab.say("warning", "A snapshot cannot be read.", str(e))
                return
            # the confusion counted as the run evaluated that epoch (none at epoch 0: the
            # view counts it from the weights)
            record = _Counted(confusion) if confusion else None
        self.source.model().load_state_dict(state)
        self.source.progress = dataclasses.replace(progress, epochs=epoch, record=record)
        self.views["health"].show_until(None if last else epoch * self._steps_per_epoch)
        for v in self.views.values():
            v.stale = True
        subject = self.lab.subject
        if subject.folder is not None:  # every part of the window names the epoch shown
            self.lab.set_subject(dataclasses.replace(subject, epoch=epoch))
        self.tick(force=True)

    def _drain(self) -> None:
        """Take where the run is and its layer-health samples from the live buffer."""
        if self.session is None:
            return
        buffer = self.session.buffer
        if not self._past:  # the past epoch shown keeps its own progress
            self.source.progress = buffer.progress()
        samples = buffer.drain_health()
        if samples:
            for v in self.views.values():
                v.add_samples(samples)

    def tick(self, force: bool = False) -> None:
        """Take the live buffer's news; refresh the visible view if it is due."""
        self._drain()
        epochs = self.session.buffer.progress().epochs if self._past else self.source.progress.epochs
        if epochs != self._epochs:
            self._epochs = epochs
            for v in self.views.values():
                v.epoch_ended()
            if self.live:  # one more snapshot on the timeline
                self.timeline.set_epochs(snapshots.epochs(self._live_folder()), training=True)
        if self.isVisible():
            self.current().tick(time.perf_counter(), force=force)

    def show_subject(self, words: str) -> None:
        """Name the Lab's subject (and, while a run trains, the earlier epoch shown)."""
        self._words = words
        past = self.source.progress.epochs if self._past else None
        self.caption.setText(words if past is None else
                             f"{words} · showing epoch {past} (Live: the present)")

    _words = ""

    def clear_run(self) -> None:
        """Show no network (the subject is an experiment not trained yet): each view says how
        to start, as at the first launch."""
        if self.live:
            return
        self._token += 1  # a stored run still loading is not shown either
        self.session, self.restored = None, None
        self.source.attach_model(None, None, None, Progress(), stored=False)
        self._started()
        self.tick(force=True)

    # -- a stored run (after a restart: no retraining)
    def inspect_run(self, run) -> None:
        """Show a stored run's trained network in every view (core.store.reader.Run): its data and saved
        weights load in a background thread (an image folder takes seconds to decode), then the
        views show it as they show a run that has just ended. `inspected` says when."""
        if self.live:
            self.lab.say("info", "A run is training.", "Inspect follows the "
                                             "run training now; inspect a stored run once it ends.")
            return
        self._token += 1
        for v in self.views.values():
            v.say(f"Loading the run {run.name} (its data and saved weights)…")
        threading.Thread(target=_restore, args=(run, self._token, self._loading),
                         name="learnscope-inspect-run", daemon=True).start()

    def _run_loaded(self, token: int, result) -> None:
        if token != self._token or self.live:  # another run was asked for, or one trains now
            return
        if isinstance(result, str):
            self.lab.say("error", "Cannot inspect that run.", result)
            for v in self.views.values():
                v.stale = True  # back to what they showed before (or the placeholder)
            self.tick(force=True)
            self.inspected.emit(None)
            return
        self.session, self.restored = None, result
        self.source.attach_model(result.exp, result.data, result.model,
                                 Progress(result.epochs, result.steps, None))
        self._started()
        self.suit(result.exp)  # the decision boundary for points, the filters for images
        self._replayable(result.folder)
        self.tick(force=True)
        self.inspected.emit(result)
