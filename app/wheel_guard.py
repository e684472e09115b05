"""Nothing changes by accident: a mouse wheel over a number field, a choice box or a slider
that does not have keyboard focus scrolls the panel under it, as in a browser's form, instead
of changing the value (three wheel clicks once turned conv1's 32 filters into 29, unseen).
Click the field (or Tab to it) first, and the wheel changes it as usual.

The rule lives in the widgets themselves (WheelGuarded, mixed into the app's number boxes,
ComboBox and SpinBox below), not in a filter on the application: such a filter is Python
called for every event of every widget, which held the GIL the training thread needed (the
GUI thread 8 points busier while the circles MLP trained).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QComboBox, QSlider, QSpinBox


def _scroll_area(widget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


class WheelGuarded:
    """Mixin for a widget whose value a wheel changes: only while it has focus."""

    def guard_wheel(self) -> None:
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel never takes focus

    def wheelEvent(self, event) -> None:  # noqa: N802
        if self.hasFocus():
            super().wheelEvent(event)
            return
        area = _scroll_area(self)
        if area is not None:  # the panel under the field scrolls, as the pointer's owner wants
            viewport = area.viewport()
            pos = QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint()))
            QApplication.sendEvent(viewport, QWheelEvent(
                pos, event.globalPosition(), event.pixelDelta(), event.angleDelta(),
                event.buttons(), event.modifiers(), event.phase(), event.inverted()))
        event.accept()  # handled here: the field keeps its value, nothing else scrolls twice


class ComboBox(WheelGuarded, QComboBox):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.guard_wheel()


class SpinBox(WheelGuarded, QSpinBox):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.guard_wheel()


class Slider(WheelGuarded, QSlider):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.guard_wheel()
