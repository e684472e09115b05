"""A new number in the Inspect view repaints the view, not the whole window.

While a run trains, every epoch changes captions and titles; each change asks the parents for a
new layout. Were the pages a QTabWidget, that request would repaint the whole centre — the
training bar, the curves, every button — and double the GUI thread's time on the circles MLP
(`benchmarks/gui_latency.py`).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from app.window_pages import TRAIN


class PaintCounter(QObject):
    def __init__(self, *widgets):
        super().__init__()
        self.counts = {w: 0 for w in widgets}
        for w in widgets:
            w.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint and obj in self.counts:
            self.counts[obj] += 1
        return False


def test_a_new_caption_in_the_inspect_view_repaints_nothing_else(qtbot, tmp_path):
    from app.window import MainWindow
    w = MainWindow(lab.circles(), persist=False, run_root=tmp_path)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.pages.setCurrentIndex(TRAIN)
    caption, status = w.inspect.caption, w.training_panel.status  # status: never focused
    counter = PaintCounter(caption, status)
    w.show()
    qtbot.waitUntil(lambda: counter.counts[caption] > 0 and counter.counts[status] > 0)
    for epoch in range(1, 6):
        counter.counts = dict.fromkeys(counter.counts, 0)
        caption.setText(f"circles-mlp · epoch {epoch}/5")
        qtbot.waitUntil(lambda: counter.counts[caption] > 0)  # posted layout requests come first
        assert counter.counts[status] == 0, f"epoch {epoch}: the training bar was repainted"
