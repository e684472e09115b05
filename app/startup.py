"""The first second of `learnscope`: a light window at once, PyTorch after it, and a probe.

Importing torch takes 1.3–1.8 s on a 2-core laptop, and the main window imports it through every
panel and view. So main() first shows FirstWindow — the main window's frame, titled LearnScope,
saying that PyTorch is loading — which needs Qt alone, and only then imports app.window. Once
the main window has painted, a background thread makes the first optimiser (it imports
torch._dynamo, another second), so that Train pressed a moment later plots at once.

LEARNSCOPE_STARTUP_PROBE=FILE makes the app append one JSON line per milestone to FILE (wall-clock
`time.time()`, so that another process can subtract its own start): "window" (the first window has
painted) and "main" (the main window has painted); then it quits. With LEARNSCOPE_STARTUP_TRAIN=S
it first presses Train S seconds after "main" and writes "train" and "first_point" (the plots'
first paint with data). benchmarks/startup.py reads these lines.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from PySide6.QtCore import QByteArray, QEvent, QEventLoop, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from app import layout

PAINT_WAIT_S = 1.0        # how long the first window may take to be exposed before torch loads
FIRST_POINT_WAIT_MS = 60_000
MESSAGE = "Starting LearnScope — loading PyTorch…"


class Probe:
    """Appends the start-up milestones to a file (nothing at all when no file was asked for)."""

    def __init__(self, path: str | None = None, train_after: float | None = None):
        self.path, self.train_after, self.seen = path, train_after, set()

    @classmethod
    def from_env(cls) -> Probe:
        train = os.environ.get("LEARNSCOPE_STARTUP_TRAIN", "")
        return cls(os.environ.get("LEARNSCOPE_STARTUP_PROBE") or None,
                   float(train) if train else None)

    @property
    def on(self) -> bool:
        return self.path is not None

    def mark(self, event: str) -> None:
        """Record event once, with whether torch had been imported by then."""
        if not self.on or event in self.seen:
            return
        self.seen.add(event)
        line = {"event": event, "t": time.time(), "torch": "torch" in sys.modules,
                "torchvision": "torchvision" in sys.modules}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


class _OnPaint(QObject):
    """Calls fn once, right after the watched widget's first paint that `ready()` accepts."""

    def __init__(self, widget: QWidget, fn, ready=lambda: True):
        super().__init__(widget)
        self.widget, self.fn, self.ready = widget, fn, ready
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint and self.ready():
            self.widget.removeEventFilter(self)
            QTimer.singleShot(0, self.fn)  # after this paint has reached the window
        return False


class FirstWindow(QWidget):
    """What a person sees while PyTorch loads: the main window's frame with one sentence."""

    def __init__(self, settings=None):
        super().__init__()
        self.setWindowTitle("LearnScope")
        self.painted = False
        label = QLabel(MESSAGE, self)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setStyleSheet("font-size: 16pt; color: #3b4650;")
        QVBoxLayout(self).addWidget(label)
        self.setStyleSheet("background: #f6f8fa;")
        self.had_geometry = self._place(settings)

    def _place(self, settings) -> bool:
        """Where the main window will be (the rule of app.window_docks.Docks.restore): its
        saved geometry when that fits this screen, else the screen's default size, centred, or
        maximised. Returns whether the saved geometry was taken."""
        available = self.screen().availableGeometry()
        geometry = settings.value("window/geometry") if settings is not None else None
        if (isinstance(geometry, QByteArray) and layout.fits(settings.value("window/size"), available)
                and self.restoreGeometry(geometry)):
            return True
        layout.place_default(self, available)
        return False

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        self.painted = True

    def show_now(self, app: QApplication, wait_s: float = PAINT_WAIT_S) -> bool:
        """Show the window and run the event loop until it has painted; return whether it did.

        On X11 the window is painted only once the server has mapped and exposed it, so one
        processEvents() is not enough before the GUI thread spends a second in `import torch`."""
        self.show()
        end = time.perf_counter() + wait_s
        while not self.painted and time.perf_counter() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 20)
        app.processEvents()
        return self.painted

    def hand_over(self, window: QWidget) -> None:
        """Show window (which places itself where this one is) and close this one."""
        window.show()
        self.close()


def _warm_up_optimiser() -> None:
    import torch

    # A first optimiser imports torch._dynamo (about a second on 2 cores), which would
    # otherwise happen in the training thread after Train is pressed.
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def warm_up_training(window: QWidget) -> None:
    """Once window has painted, import in the background what the first run imports."""
    def start():
        threading.Thread(target=_warm_up_optimiser, name="learnscope-warm-up", daemon=True).start()
    _OnPaint(window, start)


def probe_main_window(probe: Probe, app: QApplication, window) -> None:
    """After the main window's first paint: mark it, then quit, or press Train and wait."""
    if not probe.on:
        return

    def quit_app():
        window.shutdown()
        window.close()
        app.quit()

    def first_point():
        probe.mark("first_point")
        quit_app()

    def has_points() -> bool:
        return any(n > 0 for n in window.plots.point_counts().values())

    def train():
        canvas = window.plots.canvas
        _OnPaint(canvas.viewport() if hasattr(canvas, "viewport") else canvas, first_point, has_points)
        probe.mark("train")
        window.training_panel.start.click()  # the Train button, as a person presses it
        if not window.is_training():
            probe.mark("train_refused")
            return quit_app()
        QTimer.singleShot(FIRST_POINT_WAIT_MS, quit_app)

    def painted():
        probe.mark("main")
        if probe.train_after is None:
            return quit_app()
        QTimer.singleShot(int(probe.train_after * 1000), train)

    _OnPaint(window, painted)
