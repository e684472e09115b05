"""The window's centre: one thing large at a time, as pages with tabs and shortcuts.

- **Train** (Ctrl+1): the training bar, the curves and, beside them, the chosen Inspect view;
- **Results** (Ctrl+2): the last study's or Part 1 shortcut's table and chart, full width;
- **Inspect** (Ctrl+3): the chosen Inspect view at full size (the confusion matrix 10×10);
- **Runs** (Ctrl+4): the run list as a whole table.

The Inspect panel is one widget: it moves to the Inspect page while that page is shown and
back beside the curves for the Train page. Messages (the banner) float over the bottom of the
page instead of taking the curves' room.

A tab bar over a stacked widget rather than a QTabWidget: a QTabWidget repaints all of itself
on every layout request that reaches it, and while a run trains each new number in a view's
caption sends one up — that alone doubled the GUI thread's time for the circles MLP.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QSplitter, QStackedWidget, QTabBar, QVBoxLayout, QWidget

TRAIN, RESULTS, INSPECT, RUNS, LAB = range(5)
#: (title, shortcut, tooltip) of each page, in order
PAGES = (("Train", "Ctrl+1", "The training bar, the live curves and the chosen Inspect view."),
         ("Results", "Ctrl+2", "The last study's or Part 1 shortcut's table and bar chart."),
         ("Inspect", "Ctrl+3", "The chosen view of the network at full size."),
         ("Runs", "Ctrl+4", "Every stored run: tick runs to overlay their curves."),
         ("Lab", "Ctrl+5", "The lab sheet: the practical's questions, what to do for each, and "
                           "your answers."))
INSPECT_SHARE = 0.38  # the Inspect view's share of the Train page's width
BANNER_MARGIN = 10


def _holder(parent: QWidget) -> QWidget:
    w = QWidget(parent)
    col = QVBoxLayout(w)
    col.setContentsMargins(0, 0, 0, 0)
    return w


class _Overlay(QObject):
    """Keeps the banner floating over the bottom of the pages, as wide as they are."""

    def __init__(self, pages: QWidget, banner: QWidget):
        super().__init__(pages)
        self.pages, self.banner = pages, banner
        banner.setParent(pages)
        pages.installEventFilter(self)
        banner.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        kind = event.type()
        # the pages resized; the banner shown, or its text (so its height) changed
        if kind == QEvent.Type.Resize and obj is self.pages or (
                obj is self.banner and kind in (QEvent.Type.Show, QEvent.Type.LayoutRequest)):
            self.place()
        return False

    def place(self) -> None:
        b, area = self.banner, self.pages.rect()
        width = max(100, area.width() - 2 * BANNER_MARGIN)
        height = b.heightForWidth(width) if b.hasHeightForWidth() else b.sizeHint().height()
        b.setGeometry(BANNER_MARGIN, area.height() - height - BANNER_MARGIN, width, height)
        b.raise_()


class Pages(QWidget):
    """The centre's pages (see the module)."""

    currentChanged = Signal(int)  # noqa: N815 (QTabWidget's name, which callers know)

    def __init__(self, bar: QWidget, curves: QWidget, results: QWidget, inspect: QWidget,
                 runs: QWidget, lab: QWidget, banner: QWidget, parent=None):
        super().__init__(parent)
        self.setObjectName("pages")
        self.bar = QTabBar(self)
        self.bar.setDocumentMode(True)
        self.bar.setExpanding(False)
        self.bar.setDrawBase(True)
        self.stack = QStackedWidget(self)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(self.bar)
        col.addWidget(self.stack, 1)
        self.bar.currentChanged.connect(self.stack.setCurrentIndex)
        self.stack.currentChanged.connect(self.currentChanged)
        self.inspect = inspect
        # the training bar over the curves only: the Inspect view beside them has the page's
        # whole height (a decision boundary is a square)
        left = QWidget(self)
        col = QVBoxLayout(left)
        col.setContentsMargins(6, 6, 0, 6)
        col.addWidget(bar)
        col.addWidget(curves, 1)
        self.train_split = QSplitter(Qt.Orientation.Horizontal, self)
        self.train_split.setChildrenCollapsible(False)
        self.train_split.addWidget(left)
        self.train_side = _holder(self.train_split)
        self.train_split.addWidget(self.train_side)
        self.train_split.setStretchFactor(0, 3)
        self.train_split.setStretchFactor(1, 2)
        self.inspect_page = _holder(self)
        for page, (title, keys, tip) in zip(
                (self.train_split, results, self.inspect_page, runs, lab), PAGES):
            self.stack.addWidget(page)
            i = self.bar.addTab(title)
            self.bar.setTabToolTip(i, f"{tip} ({keys})")
        self.currentChanged.connect(self._place_inspect)
        self._place_inspect(self.currentIndex())
        self.overlay = _Overlay(self, banner)

    # the part of QTabWidget's interface the window, its menus and the tests use
    def tabBar(self) -> QTabBar:  # noqa: N802
        return self.bar

    def count(self) -> int:
        return self.stack.count()

    def currentIndex(self) -> int:  # noqa: N802
        return self.stack.currentIndex()

    def setCurrentIndex(self, index: int) -> None:  # noqa: N802
        self.bar.setCurrentIndex(index)

    def currentWidget(self) -> QWidget:  # noqa: N802
        return self.stack.currentWidget()

    def widget(self, index: int) -> QWidget:
        return self.stack.widget(index)

    def tabText(self, index: int) -> str:  # noqa: N802
        return self.bar.tabText(index)

    def _place_inspect(self, index: int) -> None:
        """The one Inspect panel: on the Inspect page while it shows, else beside the curves."""
        holder = self.inspect_page if index == INSPECT else self.train_side
        if self.inspect.parentWidget() is not holder:
            holder.layout().addWidget(self.inspect)
            self.inspect.show()

    def share_inspect(self, width: int, share: float = INSPECT_SHARE) -> None:
        """Give the Inspect view its share of the Train page at this page width."""
        side = round(width * share)
        self.train_split.setSizes([max(1, width - side), side])
