"""A new number in the Inspect view repaints the view, not the whole window.

While a run trains, every epoch changes captions and titles. A label's new text asks its parents
for a new layout; were the pages a QTabWidget, that request would repaint the whole centre — the
training bar, the curves, every button — and double the GUI thread's time on the circles MLP
(`benchmarks/gui_latency.py`). A caption asks for no layout at all.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLabel

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from app.window_pages import TRAIN


class EventCounter(QObject):
    """How many events of one kind each widget received."""

    def __init__(self, *widgets, kind=QEvent.Type.Paint):
        super().__init__()
        self.kind = kind
        self.counts = {w: 0 for w in widgets}
        for w in widgets:
            w.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == self.kind and obj in self.counts:
            self.counts[obj] += 1
        return False


def inspect_label(w):
    """A plain QLabel in the Inspect panel, as a view's title is: its new text asks for a layout."""
    label = QLabel(w.inspect)
    w.inspect.layout().addWidget(label)
    return label


def test_a_new_text_in_the_inspect_view_repaints_nothing_else(qtbot, tmp_path):
    from app.window import MainWindow
    w = MainWindow(lab.circles(), persist=False, run_root=tmp_path)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.pages.setCurrentIndex(TRAIN)
    caption, status = inspect_label(w), w.training_panel.status  # status: never focused
    counter = EventCounter(caption, status)
    w.show()
    qtbot.waitUntil(lambda: counter.counts[status] > 0)
    for epoch in range(6):  # epoch 0 gives an empty label a height: a new layout, then no more
        counter.counts = dict.fromkeys(counter.counts, 0)
        caption.setText(f"circles-mlp · epoch {epoch}/5")
        qtbot.waitUntil(lambda: counter.counts[caption] > 0)  # posted layout requests come first
        assert epoch == 0 or counter.counts[status] == 0, f"epoch {epoch}: the training bar was repainted"


def test_a_caption_asks_for_no_new_layout(qtbot, tmp_path):
    from app.window import MainWindow
    w = MainWindow(lab.circles(), persist=False, run_root=tmp_path)
    qtbot.addWidget(w)
    w.show()
    caption = w.inspect.caption
    qtbot.waitUntil(caption.isVisible)
    painted = EventCounter(caption)
    layouts = EventCounter(caption.parentWidget(), kind=QEvent.Type.LayoutRequest)
    for epoch in range(4):  # by epoch 0's paint, what the window's showing asked for is done
        painted.counts[caption] = layouts.counts[caption.parentWidget()] = 0
        caption.setText(f"circles-mlp · epoch {epoch}/3")
        qtbot.waitUntil(lambda: painted.counts[caption] > 0)
        assert caption.full_text().endswith(f"{epoch}/3")
        assert epoch == 0 or layouts.counts[caption.parentWidget()] == 0


def test_the_status_line_keeps_its_height_as_a_run_starts(qtbot):
    """A run's first status line takes two lines; "Ready." one: the bar, so the plots under
    it, must not move when it comes."""
    from app.panels.training import TrainingPanel
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.resize(740, 220)
    panel.show()
    qtbot.waitExposed(panel)
    status = panel.status
    ready = max(status.minimumHeight(), status.heightForWidth(status.width()))
    words = "Training on cpu (fp32, channels-last): 512 train / 256 test examples"
    while status.fontMetrics().horizontalAdvance(words) < 1.5 * status.width():
        words += ", 1,191,170 parameters"
    status.setText(words)
    two_lines = status.heightForWidth(status.width())
    assert two_lines > status.fontMetrics().lineSpacing() * 1.5  # it does take two lines here
    assert max(status.minimumHeight(), two_lines) == ready


def test_the_plots_keep_their_height_as_the_key_fills(qtbot):
    """The key under the plots gains its entries with the run's first epochs; the plots above
    it keep their height (they were laid out and repainted whole each time)."""
    from app.views.plots import PlotsView
    from core.engine.records import EpochRecord, SplitMetrics
    v = PlotsView()
    qtbot.addWidget(v)
    v.resize(740, 650)
    v.show()
    qtbot.waitExposed(v)
    before, resized = v.canvas.height(), EventCounter(v.canvas, kind=QEvent.Type.Resize)
    for epoch in (1, 2):
        test = SplitMetrics(1.2 / epoch, 44 + epoch) if epoch == 2 else None  # a split joins
        v.add_records([EpochRecord(epoch, 0.1, SplitMetrics(1 / epoch, 50 + epoch), seconds=0.01,
                                   images_per_s=1e4, test=test)])
        v.redraw(everything=True)
        key = v.key_view
        qtbot.waitUntil(lambda: len(v.key.items) == epoch and key.isVisible()
                        and key.size() == key.sizeHint())  # laid out with its new entries
        assert v.canvas.height() == before, f"epoch {epoch}"
    assert resized.counts[v.canvas] == 0  # not even for a moment
