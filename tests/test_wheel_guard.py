"""Nothing changes by accident: a wheel over a number field or a choice box without keyboard
focus leaves its value as it was and scrolls the panel instead; once the field has focus the
wheel changes it as usual. Driven with real wheel events on the real window."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QScrollArea

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings; window)
from core.experiment import presets


def wheel(widget, clicks: int = -1) -> None:
    """A wheel turn over the widget's middle, as the pointer would send it."""
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * clicks), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    QApplication.processEvents()


def value(w):
    return w.text() if isinstance(w, QAbstractSpinBox) else w.currentIndex()


def fields(window):
    for tab in range(window.tabs.count()):
        window.tabs.setCurrentIndex(tab)
        QApplication.processEvents()
        for w in window.tabs.currentWidget().findChildren(QAbstractSpinBox) \
                + window.tabs.currentWidget().findChildren(QComboBox):
            if w.isVisible() and w.isEnabled():
                yield w


def test_a_wheel_over_an_unfocused_field_changes_nothing(qtbot, window):
    w = window(presets.load("shapes-cnn"))
    w.plots.setFocus()
    before = w.current_experiment()
    tried = 0
    for field in fields(w):
        assert not field.hasFocus()
        shown = value(field)
        wheel(field, -3)  # three clicks turned conv1's 32 filters into 29
        assert value(field) == shown, field.objectName()
        tried += 1
    assert tried > 20
    assert w.current_experiment() == before
    assert not w.isWindowModified()  # the title shows no `*`


def test_the_wheel_scrolls_the_panel_under_the_field_instead(qtbot, window):
    w = window(presets.load("shapes-cnn"), tab=1)  # the Model tab: taller than its dock
    w.resize(1280, 500)
    qtbot.waitUntil(lambda: w.tabs.currentWidget().verticalScrollBar().maximum() > 0)
    area = w.tabs.currentWidget()
    assert isinstance(area, QScrollArea)
    field = next(f for f in area.findChildren(QAbstractSpinBox) if f.isVisible())
    bar = area.verticalScrollBar()
    bar.setValue(0)
    wheel(field, -1)
    assert bar.value() > 0


def test_a_focused_field_still_takes_the_wheel(qtbot, window):
    w = window(presets.load("shapes-cnn"))
    field = w.findChild(QAbstractSpinBox, "train.epochs")
    assert field.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel never gives focus
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    shown = field.value()
    wheel(field, +1)
    assert field.value() == shown + 1
