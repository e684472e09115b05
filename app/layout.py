"""How the window fits the screen it is on: rows of controls that wrap when narrow, forms that
put a label above its field rather than scroll sideways, the default arrangement for a screen,
and whether a layout saved on another screen still fits this one."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QFrame, QGroupBox, QLabel, QLayout, QScrollArea,
                               QSizePolicy, QWidget)

# the default window on a screen that has room for it (smaller screens get it maximised)
DEFAULT_SIZE = QSize(1500, 940)
SUPPORTED = QSize(1024, 640)  # the smallest screen the window fits: its minimum size is at most this
LARGE_SHARE = 0.8          # on screens larger than DEFAULT_SIZE: this share of them, centred
EXPERIMENT_SHARE = 0.24    # the Experiment dock's share of the window's width
SETTLE_S = 1.5             # for this long after the window shows, its docks keep their shares
COMBO_CHARS = 12           # a list editor can be as narrow as this many characters


class FlowLayout(QLayout):
    """Lays its items out in a row and wraps them onto the next row when the row is too narrow
    (like words in a paragraph), so a bar of controls never sets a wide minimum."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6):
        super().__init__(parent)
        self._items: list = []
        self._heights: dict[int, int] = {}  # width → height, until the items change
        self.setSpacing(spacing)
        if parent is None:
            self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:  # noqa: N802  (Qt's name)
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, i: int):  # noqa: N802
        return self._items[i] if 0 <= i < len(self._items) else None

    def takeAt(self, i: int):  # noqa: N802
        return self._items.pop(i) if 0 <= i < len(self._items) else None

    def expandingDirections(self):  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        # asked for every layout pass of its window (hundreds a second while a run updates the
        # status line): measured once per width, it cost 3 % of the GUI thread
        h = self._heights.get(width)
        if h is None:
            h = self._heights[width] = self._arrange(QRect(0, 0, width, 0), move=False)
        return h

    def invalidate(self) -> None:
        self._heights.clear()
        super().invalidate()

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        # everything on one row
        shown = [it for it in self._items if not it.isEmpty()]
        w = sum(it.sizeHint().width() for it in shown) + self.spacing() * max(0, len(shown) - 1)
        h = max((it.sizeHint().height() for it in shown), default=0)
        m = self.contentsMargins()
        return QSize(w + m.left() + m.right(), h + m.top() + m.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802
        # the widest single item: everything else wraps
        size = QSize()
        for it in self._items:
            if not it.isEmpty():
                size = size.expandedTo(it.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _rows(self, width: int) -> list[list]:
        """The shown items, cut into rows no wider than width (each row holds at least one)."""
        rows, x = [[]], 0
        for it in self._items:
            if it.isEmpty():
                continue
            w = it.sizeHint().width()
            if rows[-1] and x + self.spacing() + w > width:
                rows.append([])
                x = 0
            x += (self.spacing() if rows[-1] else 0) + w
            rows[-1].append(it)
        return [row for row in rows if row]

    def _arrange(self, rect: QRect, move: bool) -> int:
        """Place the items in rect (move) or only measure; return the height they take."""
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        y = area.y()
        for row in self._rows(area.width()):
            h = max(it.sizeHint().height() for it in row)
            x = area.x()
            for it in row:
                hint = it.sizeHint()
                w = min(hint.width(), area.width())  # an item wider than the row shrinks to it
                if move:  # each item centred on its row's middle line
                    it.setGeometry(QRect(QPoint(x, y + (h - hint.height()) // 2), QSize(w, hint.height())))
                x += w + self.spacing()
            y += h + self.spacing()
        used = max(0, y - self.spacing() - area.y())
        return used + m.top() + m.bottom()


def compact_forms(root: QWidget) -> None:
    """Let every form under root fit a narrow dock: a field that does not fit beside its label
    goes below it, a list editor can be as narrow as a few characters (it grows with the dock,
    and its open list shows whole items), and hints word-wrap."""
    for form in root.findChildren(QFormLayout):
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    for combo in root.findChildren(QComboBox):
        narrow = combo.fontMetrics().horizontalAdvance("x" * COMBO_CHARS) + 40  # + the arrow
        combo.setMinimumWidth(min(combo.minimumSizeHint().width(), narrow))
    for label in root.findChildren(QLabel, "hint"):
        label.setWordWrap(True)
    for box in root.findChildren(QGroupBox):  # the stylesheet pads group boxes already
        if box.layout() is not None:
            box.layout().setContentsMargins(4, 4, 4, 4)


class LinesLabel(QLabel):
    """A word-wrapped label that never widens the window and is always at least `lines` lines
    tall: a status that went from one line to two as a run starts would move everything under
    it, and the plots below would be laid out and repainted whole."""

    def __init__(self, text: str = "", lines: int = 2, parent: QWidget | None = None):
        super().__init__(text, parent)
        self.lines = lines
        ignore_width(self)
        self._reserve()

    def _reserve(self) -> None:
        margins = self.contentsMargins()
        self.setMinimumHeight(self.fontMetrics().lineSpacing() * self.lines
                              + margins.top() + margins.bottom())

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presentation mode's larger text
            self._reserve()


def ignore_width(label: QWidget) -> None:
    """A label whose text must never widen the window: it word-wraps to the width it is given."""
    label.setWordWrap(True)
    policy = label.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)


def default_size(available: QRect) -> QSize | None:
    """The window's default size on a screen with this available area, or None: maximised.
    A screen smaller than SUPPORTED cannot hold the window (an offscreen render's): DEFAULT_SIZE."""
    if not fits(SUPPORTED, available):
        return QSize(DEFAULT_SIZE)
    if available.width() < DEFAULT_SIZE.width() + 100 or available.height() < DEFAULT_SIZE.height() + 60:
        return None
    return QSize(min(available.width(), max(DEFAULT_SIZE.width(), round(available.width() * LARGE_SHARE))),
                 min(available.height(), max(DEFAULT_SIZE.height(), round(available.height() * LARGE_SHARE))))


def place_default(top: QWidget, available: QRect) -> QSize:
    """Give a top-level widget this screen's default size, centred, or maximise it
    (default_size); return the size it gets."""
    size = default_size(available)
    if size is None:
        top.setWindowState(Qt.WindowState.WindowMaximized)
        return available.size()
    top.setWindowState(Qt.WindowState.WindowNoState)
    top.resize(size)
    top.move(available.center() - top.rect().center())
    return size


def fits(size, available: QRect) -> bool:
    """Whether a window of this size (a QSize, or None: unknown) fits the available area."""
    return (isinstance(size, QSize) and size.isValid() and size.width() <= available.width()
            and size.height() <= available.height())


class VerticalScroll(QScrollArea):
    """Scrolls its panel up and down only: the panel is never narrower than its minimum, so
    its labels never hide behind a sideways scroll (the dock is as wide as the panel needs)."""

    def __init__(self, panel: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidget(panel)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        hint = super().minimumSizeHint()
        width = self.widget().minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
        return QSize(max(hint.width(), width + 2 * self.frameWidth()), hint.height())
