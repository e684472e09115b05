"""The Inspect dock: one tab per view of what the network has learned, refreshed only while
visible, each at its own pace, from a private copy of the model (app.views.common.ModelSource)."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from app.views.batch import BatchView
from app.views.common import ModelSource
from app.views.confusion import ConfusionView
from app.views.decision import DecisionView
from app.views.feature_maps import FeatureMapsView
from app.views.filters import FiltersView
from app.views.health import HealthView
from app.views.receptive_field import ReceptiveFieldView

# --view NAME → (tab title, view class)
VIEWS = {"filters": ("Filters", FiltersView), "feature-maps": ("Feature maps", FeatureMapsView),
         "receptive-field": ("Receptive field", ReceptiveFieldView),
         "decision-boundary": ("Decision boundary", DecisionView),
         "confusion": ("Confusion", ConfusionView), "batch": ("Batch", BatchView),
         "health": ("Layer health", HealthView)}


class InspectPanel(QWidget):
    """Tabs of inspect views following the window's runs (run_started / run_finished)."""

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.window_ = window
        self.source = ModelSource()
        self.source.iteration = self._iteration
        self.session = None
        self.tabs = QTabWidget()
        self.views = {}
        for name, (title, cls) in VIEWS.items():
            self.views[name] = view = cls(self.source)
            self.tabs.addTab(view, title)
        self.tabs.currentChanged.connect(lambda _=0: self.tick(force=True))
        QVBoxLayout(self).addWidget(self.tabs)
        self.layout().setContentsMargins(0, 0, 0, 0)
        self.setMinimumWidth(480)
        self._epochs = 0
        self.live = False  # while a run trains, the window's 20 Hz tick calls tick() (one timer
        # for both: each wake-up of the GUI thread takes a core from the training threads)
        window.run_started.connect(self._run_started)
        window.run_finished.connect(self._run_finished)

    def current(self):
        return self.tabs.currentWidget()

    def spending(self) -> float:
        """The share of the GUI thread the visible view takes while a run trains (0 if none)."""
        return self.current().spending if self.live and self.isVisible() else 0.0

    def select(self, name: str) -> None:
        """Show the view called name (a key of VIEWS)."""
        self.tabs.setCurrentWidget(self.views[name])

    def _iteration(self) -> int:
        plots = self.window_.plots
        if plots.steps.n == 0:
            return 0
        return int(round(plots.steps.view()[-1] * plots.steps_per_epoch))

    def _run_started(self, session) -> None:
        self.session = session
        self.source.attach(session.trainer)
        self.views["health"].clear()
        self._epochs = 0
        for v in self.views.values():
            v.run_started()
        self.live = True

    def _run_finished(self, _result) -> None:
        self._drain()
        self.source.finish()
        for v in self.views.values():
            v.stale = True
        self.live = False
        self.tick(force=True)

    def _drain(self) -> None:
        if self.session is not None:
            samples = self.session.buffer.drain_health()
            if samples:
                self.views["health"].add(samples)

    def tick(self, force: bool = False) -> None:
        """Take the health samples; refresh the visible view if it is due."""
        self._drain()
        epochs = len(self.window_.plots.records)
        if epochs != self._epochs:
            self._epochs = epochs
            for v in self.views.values():
                v.epoch_ended()
        if self.isVisible():
            self.current().tick(time.perf_counter(), force=force)
