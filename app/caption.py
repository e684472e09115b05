"""A caption: one line that names what a part of the window shows (the Lab's subject: "shapes-cnn ·
epoch 3/16"), changed every epoch while a run trains.

A word-wrapped QLabel there cost the training run: each new text asked its parents for a new
layout, the plots and the Inspect view were given new sizes and redrew everything (GUI
thread 7 points busier, 120 ms stalls, on the circles MLP). A caption keeps one height (its
font's line), takes the width it is given without asking for more, and elides what does not
fit, its whole text in the tooltip. It paints its text itself: QLabel.setText asks the parents
for a new layout whatever the size policy says, and that request climbs to the main window on
every epoch; a new text here repaints the caption and nothing else.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy


class Caption(QLabel):
    """One elided line of plain text (bold: the whole line in bold)."""

    def __init__(self, name: str, bold: bool = False, parent=None):
        super().__init__(parent)
        self._full = self._shown = ""
        self.setObjectName(name)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        if bold:  # a rule of its own: presentation's font size still applies
            self.setStyleSheet("font-weight: bold;")

    def full_text(self) -> str:
        """The whole text, as given (text() is what fits)."""
        return self._full

    def text(self) -> str:
        return self._shown

    def setText(self, text: str) -> None:  # noqa: N802
        if text != self._full:
            self._full = text
            self.setToolTip(text)
            self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                              max(0, self.contentsRect().width()))
        if shown != self._shown:
            self._shown = shown
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        self.style().drawItemText(painter, self.contentsRect(),
                                  int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                                  self.palette(), self.isEnabled(), self._shown,
                                  self.foregroundRole())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        self._elide()  # a larger font (presentation) fits fewer characters

    def sizeHint(self) -> QSize:  # noqa: N802
        margins = self.contentsMargins()
        return QSize(0, self.fontMetrics().height() + margins.top() + margins.bottom() + 2)

    minimumSizeHint = sizeHint
