"""Nothing changes by accident: a mouse wheel over a number field, a choice box or a slider
that does not have keyboard focus scrolls the panel under it, as in a browser's form, instead
of changing the value (three wheel clicks once turned conv1's 32 filters into 29, unseen).
Click the field (or Tab to it) first, and the wheel changes it as usual.

One filter on the application covers every such widget, the panels' and the views' alike,
present and future: `install(app)`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox,
                               QSlider, QWidget)

#: the widgets whose value a wheel changes (a scroll bar is a slider too, but scrolls)
GUARDED = (QAbstractSpinBox, QComboBox, QSlider)


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


class WheelGuard(QObject):
    """The application's event filter: see the module's text."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(obj, GUARDED):
            if obj.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                obj.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel never takes focus
        elif kind == QEvent.Type.Wheel and isinstance(obj, GUARDED) and not obj.hasFocus():
            area = _scroll_area(obj)
            if area is not None:  # the panel scrolls, as the pointer's owner would want
                viewport = area.viewport()
                pos = QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint()))
                QApplication.sendEvent(viewport, QWheelEvent(
                    pos, event.globalPosition(), event.pixelDelta(), event.angleDelta(),
                    event.buttons(), event.modifiers(), event.phase(), event.inverted()))
            return True  # the field keeps its value
        return False


def install(app: QApplication) -> WheelGuard:
    """Install the guard on app once; return it."""
    guard = app.findChild(WheelGuard)
    if guard is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
    return guard
