"""The Inspect dock: views of what the network has learned, one at a time (chosen from a
list: app.views.registry.VIEWS), the one shown refreshed at its own pace. Their numbers come
from the live buffer and from app.views.common.ModelSource (its docstring says the rule)."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from app.caption import Caption
from app.views import registry
from app.views.common import ModelSource
from app.worker import Progress
from app.wheel_guard import ComboBox


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
        col.addWidget(self.caption)
        col.addWidget(self.stack, 1)
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
        self._token += 1  # a stored run still loading is not shown over this one
        self.source.attach(session.trainer)
        self._started()
        self.live = True

    def _started(self) -> None:
        """A run (live or stored) is shown: the views start afresh."""
        self._epochs = self.source.progress.epochs
        for v in self.views.values():
            v.run_started()

    def _run_finished(self, _result) -> None:
        self._drain()
        # the final weights, the GUI thread's own from now on
        self.source.finish(self.session.final_model() if self.session is not None else None)
        for v in self.views.values():
            v.stale = True
        self.live = False
        self.tick(force=True)

    def _drain(self) -> None:
        """Take where the run is and its layer-health samples from the live buffer."""
        if self.session is None:
            return
        buffer = self.session.buffer
        self.source.progress = buffer.progress()
        samples = buffer.drain_health()
        if samples:
            for v in self.views.values():
                v.add_samples(samples)

    def tick(self, force: bool = False) -> None:
        """Take the live buffer's news; refresh the visible view if it is due."""
        self._drain()
        epochs = self.source.progress.epochs
        if epochs != self._epochs:
            self._epochs = epochs
            for v in self.views.values():
                v.epoch_ended()
        if self.isVisible():
            self.current().tick(time.perf_counter(), force=force)

    def show_subject(self, words: str) -> None:
        self.caption.setText(words)

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
        self.tick(force=True)
        self.inspected.emit(result)
