"""The keys under the live plots, kept to one line so that they never take the plots' height:
the live splits' colours (one key for the four plots) and the ticked runs' names.

In-plot legends covered the last third of the curves and, on a 150 px plot, showed one entry
of five; a key of seven ticked runs wrapped to three lines and squeezed the plots to strips."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QFont, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import QLabel, QSizePolicy

from app.views.curves import points

ELLIPSIS = "…"
KEY_PT = "11pt"


class SplitKey(pg.LegendItem):
    """One key line for the live curves of all four plots: a split has one colour on every plot
    (curves.SPLIT_COLOURS), so "train" is named once, not once per plot.

    It is the `legend` of the loss and accuracy plots: curves.sync_legend and overlays.py add
    and remove curves through pyqtgraph's LegendItem calls, and app.presentation scales it as
    any LegendItem. A name shows once, drawn from one of its curves that has points, in the
    order the names first came; clicking its sample hides or shows all of its curves."""

    def __init__(self) -> None:
        # one row, however many splits, in the text size of the runs' key beside it (app.style)
        super().__init__(colCount=99, horSpacing=4, labelTextSize=KEY_PT)
        self.layout.setContentsMargins(6, 0, 8, 0)  # aligned with the read-out's text below
        self._curves: dict[str, list[pg.PlotDataItem]] = {}  # name → the curves of that name
        self.sigSampleClicked.connect(self._toggled)

    def addItem(self, item, name) -> None:  # noqa: N802  (pyqtgraph's name)
        curves = self._curves.setdefault(name, [])
        if not any(c is item for c in curves):
            curves.append(item)
        self._show()

    def removeItem(self, item) -> None:  # noqa: N802
        for curves in self._curves.values():
            curves[:] = [c for c in curves if c is not item]
        self._show()

    def _show(self) -> None:
        """Lay the entries out again if the names (or the curves drawing them) changed."""
        drawn = {name: [c for c in curves if points(c)] for name, curves in self._curves.items()}
        wanted = [(name, curves[0]) for name, curves in drawn.items() if curves]
        if [(n, id(c)) for n, c in wanted] == [(label.text, id(s.item)) for s, label in self.items]:
            return  # sync_legend asks at every redraw: nothing to do most times
        super().clear()
        for name, c in wanted:
            super().addItem(c, name)
            label = self.items[-1][1]
            label.item.document().setDocumentMargin(1)  # one line as tall as the samples (20 px)
            label.setText(label.text)  # measured again without the default 4 px margins
        self.updateSize()

    def _toggled(self, item) -> None:
        for curves in self._curves.values():
            if any(c is item for c in curves):
                for c in curves:
                    c.setVisible(item.isVisible())

    def updateSize(self) -> None:  # noqa: N802
        # in a view of its own (KeyView), at its top left: its size is its entries'
        self.setGeometry(QRectF(QPointF(0, 0), self.effectiveSizeHint(Qt.SizeHint.PreferredSize)))

    def mouseDragEvent(self, ev) -> None:  # noqa: N802
        ev.ignore()  # it sits in a row of widgets: there is nowhere to drag it


class KeyView(pg.GraphicsView):
    """A SplitKey on a canvas of its own, sized to it, for a row of widgets; hidden while empty.
    A pyqtgraph view (not a QLabel) so that presentation mode scales its text like the plots'."""

    LINE = 20  # px: one line of the key (SplitKey's samples); its row keeps this height empty

    def __init__(self, key: SplitKey, parent=None) -> None:
        super().__init__(parent, background=None)
        self.key = key
        self.scene().addItem(key)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self._due = False
        key.geometryChanged.connect(self._key_changed)
        self._apply()

    def _key_changed(self) -> None:
        # once the key has settled: its first entry is laid out 26 px tall, then 20, and a
        # view shown at once would give the plots above 6 px less and then back
        if not self._due:
            self._due = True
            QTimer.singleShot(0, self._apply)

    def _apply(self) -> None:
        self._due = False
        self.setVisible(bool(self.key.items))
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802
        size = self.key.geometry()  # (LegendItem's `size` is its fixed size option, None here)
        return QSize(math.ceil(size.width()), math.ceil(size.height()))

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self.sizeHint()  # an entry is never cut


def elide_rich(html: str, font: QFont, width: float) -> str:
    """Rich text cut to fit one line of `width` px, ending in "…" (colours and bold kept)."""
    doc = QTextDocument()
    doc.setDefaultFont(font)
    doc.setDocumentMargin(0)
    doc.setHtml(html)
    if doc.idealWidth() <= width:
        return html
    hit = doc.documentLayout().hitTest(QPointF(width, 1), Qt.HitTestAccuracy.FuzzyHit)
    for cut in range(max(hit, 0), -1, -1):  # one or two steps back: where "…" fits too
        short = doc.clone()
        cursor = QTextCursor(short)
        cursor.setPosition(cut)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(ELLIPSIS, QTextCharFormat())
        if short.idealWidth() <= width or cut == 0:
            return short.toHtml()
    return html  # pragma: no cover - the loop returns at cut 0


class OneLineLabel(QLabel):
    """A rich-text label kept to one line: text that does not fit is cut with "…", and the
    whole of it is the tooltip. It never widens its window nor grows taller; text() is the
    whole text."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def setText(self, text: str) -> None:  # noqa: N802
        self._full = text
        self.setToolTip(text)
        self._fit()

    def text(self) -> str:
        return self._full

    def _fit(self) -> None:
        room = self.contentsRect().width() - 2 * max(self.margin(), 0)
        super().setText(elide_rich(self._full, self.font(), max(room, 0)) if self._full else "")

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presentation mode's larger text
            self._fit()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, super().sizeHint().height())
