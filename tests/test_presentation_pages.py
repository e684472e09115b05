"""Presentation mode projects the answers at a projector's 1280×720: the ladder's Results page
(every column, every number whole) and the full 10×10 confusion matrix with its class names,
in text of at least 18 px, and F11 again gives back the layout as it was."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontInfo, QFontMetrics

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings; window)
import lab
from app.window_pages import INSPECT, RESULTS
from core import study as studies
from core.store.reader import default_root
from core.study.runner import run_study

PROJECTOR = QSize(1280, 720)
TINY = ["train.epochs=1", "data.n_train=64", "data.n_test=64", "train.batch_size=32",
        "train.device=cpu"]


def px(widget_or_font) -> int:
    font = widget_or_font if not hasattr(widget_or_font, "font") else widget_or_font.font()
    return QFontInfo(font).pixelSize()


def project(qtbot, w) -> None:
    """Presentation mode on a 1280×720 projector (offscreen, the screen is what it is: the
    window is given the projector's size)."""
    w.presentation_action.trigger()
    w.setWindowState(Qt.WindowState.WindowNoState)
    w.resize(PROJECTOR)
    qtbot.waitUntil(lambda: w.size() == PROJECTOR)


def test_presentation_projects_the_ladder_and_the_confusion_at_18_px(qtbot, window):
    run_study(studies.builtin("ladder", "shapes-cnn"), default_root(), extra=TINY)
    w = window(lab.tiny_shapes(1))
    results = w.part2_panel.results
    assert len(results.rows) == 8  # the tab opened on the ladder's last results
    with qtbot.waitSignal(w.inspect.inspected, timeout=30_000):
        results.open_rung(6)  # + batch norm
    w.inspect.select("confusion")
    before = w.saveState()
    project(qtbot, w)

    w.pages.setCurrentIndex(RESULTS)
    table = results.table
    qtbot.waitUntil(table.isVisible)
    qtbot.waitUntil(lambda: table.height() >= sum(table.rowHeight(i) for i in range(8)))
    view, header = table.viewport(), table.horizontalHeader()
    assert px(table) >= 18 and px(header) >= 18, (px(table), px(header))
    for j in range(table.columnCount()):  # every column in sight…
        assert header.sectionViewportPosition(j) + header.sectionSize(j) <= view.width() + 1
    for i in range(8):  # …every rung's row, and every number whole
        assert table.visualItemRect(table.item(i, 0)).bottom() <= view.height()
        for j in range(1, table.columnCount()):
            text = table.item(i, j).text()
            assert QFontMetrics(table.font()).horizontalAdvance(text) <= header.sectionSize(j)

    w.pages.setCurrentIndex(INSPECT)
    matrix = w.inspect.views["confusion"].table
    qtbot.waitUntil(lambda: matrix.isVisible() and matrix.rowCount() == 10)
    rows = matrix.verticalHeader()
    assert [matrix.verticalHeaderItem(r).text().split()[-1] for r in range(10)] == \
        list(w.inspect.source.data.classes)
    assert px(rows) >= 18 and px(matrix.item(0, 0).font()) >= 18, \
        (px(rows), px(matrix.item(0, 0).font()))
    def in_sight(r):
        rect = matrix.visualItemRect(matrix.item(r, 10))
        return rect.bottom() <= matrix.viewport().height() and rect.right() <= matrix.viewport().width()
    qtbot.waitUntil(lambda: all(in_sight(r) for r in range(10)))  # the 10 × 10, no scrolling

    w.presentation_action.trigger()  # F11 again: the layout from before
    assert not w.presentation.active and w.saveState() == before
