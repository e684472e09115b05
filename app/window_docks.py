"""The main window's dock (the Experiment tabs) and its page sizes: where each starts, their
sizes for this screen, and the arrangement saved between sessions when it still fits the
screen."""

from __future__ import annotations

import time
from contextlib import contextmanager

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from app import layout
from app.window_pages import INSPECT



class Docks:
    """Adds the window's docks and arranges them: View → Reset layout, and the saved layout."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.all: list[QDockWidget] = []
        self._arrange = None
        self._follow_until = 0.0  # see follow_resizes

    def add(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        dock.home = area  # where View → Reset layout puts it back
        self.window.addDockWidget(area, dock)
        self.all.append(dock)
        return dock

    def reset(self) -> None:
        """Every dock shown and docked where it started, the window as large as the screen
        allows (up to layout.DEFAULT_SIZE, or maximised), the docks' sizes in proportion to it."""
        w = self.window
        for dock in self.all:
            dock.setFloating(False)
            w.addDockWidget(dock.home, dock)
            dock.show()
        size = layout.place_default(w, w.screen().availableGeometry())
        self._size_docks(size.width(), size.height())
        # the window manager maximises or places the window once it shows: until just after
        # that, the docks keep their shares of whatever size the window gets
        self.follow_resizes(lambda: self._size_docks(w.width(), w.height()))

    def follow_resizes(self, arrange) -> None:
        """Call arrange() after each resize until shortly after now (or after the window
        shows): a window manager maximises, restores or places a window some time after it is
        asked to, and the docks' sizes must be set for the size it ends with."""
        self._arrange = arrange
        self._follow_until = (time.perf_counter() + layout.SETTLE_S if self.window.isVisible()
                              else float("inf"))

    def shown(self) -> None:
        """The window shows: the docks follow its resizes for layout.SETTLE_S more."""
        if self._follow_until == float("inf"):
            self._follow_until = time.perf_counter() + layout.SETTLE_S

    def resized(self) -> None:
        if time.perf_counter() < self._follow_until:
            self._arrange()

    def _size_docks(self, w: int, h: int) -> None:
        """The Experiment dock's share of the width; the Inspect view's of the Train page."""
        (experiment,) = self.all
        side = round(w * layout.EXPERIMENT_SHARE)
        self.window.resizeDocks([experiment], [side], Qt.Orientation.Horizontal)
        self.window.pages.share_inspect(w - side)

    def restore(self, settings) -> None:
        """The saved geometry and docks; a layout saved on a larger screen (or of unknown size)
        would come back cut to this screen with its docks at their old sizes: this screen's
        default instead."""
        w = self.window
        geometry, state = settings.value("window/geometry"), settings.value("window/state")
        if (isinstance(geometry, QByteArray) and isinstance(state, QByteArray)
                and layout.fits(settings.value("window/size"), w.screen().availableGeometry())):
            w.restoreGeometry(geometry)
            w.restoreState(state)
        else:
            self.reset()

    def save(self, settings, size) -> None:
        """Keep the window's geometry and docks, and the size they were saved at."""
        settings.setValue("window/geometry", self.window.saveGeometry())
        settings.setValue("window/state", self.window.saveState())
        settings.setValue("window/size", size)

    @contextmanager
    def wide_inspect(self):
        """Show the Inspect page while its views are pictured (the report: a narrow side
        view cuts a confusion table), then the page shown before."""
        pages = self.window.pages
        before = pages.currentIndex()
        pages.setCurrentIndex(INSPECT)
        try:
            yield
        finally:
            pages.setCurrentIndex(before)
