"""Presentation mode (View → Presentation, F11) and text zoom (Ctrl + / Ctrl −).

For a classroom projector (1280×720 seen from the back of the room): the window full screen,
large text, thick lines and large axis labels, and the page shown (the curves beside one
Inspect view, the Results table, a view at full size, the runs) across the whole screen —
Ctrl+1…4 change the page. Leaving puts back the layout, the window's size and the text size
from before."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QGraphicsView, QLabel

NORMAL_PT = 11      # app.style's text size
PRESENT_PT = 18     # readable from the back of a room on a 1280×720 projector
MIN_PT, MAX_PT, STEP_PT = 8, 32, 2
INSPECT_SHARE = 0.42   # in presentation, the Inspect view's share of the screen's width
FIGURE_TITLE_PT = 13   # the Inspect views' figure titles (QLabel "figure-title")
ZOOM_MARK = "\n/* text zoom */"  # where the window's stylesheet gets the zoomed text size


class Presentation(QObject):
    """Enters and leaves presentation mode for a MainWindow, and zooms its text."""

    toggled = Signal(bool)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.active = False
        self.pt = NORMAL_PT
        self._before = None  # (geometry, dock state, window state, text size) before entering
        # curves made later (a new run, overlays, an Inspect view shown) get the
        # same line widths and fonts; after the window's own slots (a queued call)
        for signal in (window.run_started, window.run_finished, window.inspect.chooser.currentIndexChanged):
            signal.connect(lambda *_: self._apply_later())

    def toggle(self) -> None:
        (self.leave if self.active else self.enter)()

    def enter(self) -> None:
        if self.active:
            return
        w = self.window
        self._before = (w.geometry(), w.saveState(), w.windowState(), self.pt)
        self.active = True
        w.experiment_dock.hide()
        w.training_panel.set_compact(True)
        w.showFullScreen()
        self.pt = max(self.pt, PRESENT_PT)
        self._apply()
        w.pages.share_inspect(w.screen().geometry().width(), INSPECT_SHARE)
        self.toggled.emit(True)

    def leave(self):
        """Back to the layout from before; return the window's size then (None if not presenting)."""
        if not self.active:
            return None
        w = self.window
        geometry, state, window_state, self.pt = self._before
        self.active = False
        self._apply()
        w.training_panel.set_compact(False)
        w.setWindowState(window_state)
        if not window_state & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
            w.setGeometry(geometry)
        w.restoreState(state)
        w.follow_resizes(lambda: w.restoreState(state))  # the docks' sizes once it is back
        self.toggled.emit(False)
        return geometry.size()

    def zoom(self, steps: int) -> None:
        """Make the text (and the plots' lines) larger (steps > 0) or smaller."""
        self.pt = max(MIN_PT, min(MAX_PT, self.pt + steps * STEP_PT))
        self._apply()

    @property
    def scale(self) -> float:
        return self.pt / NORMAL_PT

    def _apply_later(self) -> None:
        if self.pt != NORMAL_PT:
            QTimer.singleShot(0, self._apply)

    def _apply(self) -> None:
        w, s = self.window, self.scale
        # the stylesheet's last rule wins: every widget's text at the zoomed size
        sheet = w.styleSheet().split(ZOOM_MARK)[0]
        w.setStyleSheet(sheet + (f"{ZOOM_MARK}\nQWidget {{ font-size: {self.pt}pt; }}" if s != 1 else ""))
        for label in w.findChildren(QLabel, "figure-title"):
            label.setStyleSheet(f"font-size: {round(FIGURE_TITLE_PT * s)}pt;")
        for view in w.findChildren(QGraphicsView):
            if isinstance(view, pg.GraphicsView):
                scale_plots(view, s)


def _base(item, **now):
    """The item's sizes before any zoom (remembered on the item at the first zoom)."""
    if not hasattr(item, "_zoom_base"):
        item._zoom_base = now
    return item._zoom_base


def _pt(size, default: float) -> float:
    try:
        return float(str(size).removesuffix("pt"))
    except ValueError:
        return default


def scale_plots(view: pg.GraphicsView, s: float) -> None:
    """Scale the axis fonts, titles, legends and line widths of a pyqtgraph canvas by s (1:
    back to their own sizes). Items never zoomed are left alone at s = 1."""
    pt = QApplication.font().pointSizeF()
    pt = pt if pt > 0 else 9.0
    for item in view.scene().items():
        if s == 1 and not hasattr(item, "_zoom_base"):
            continue
        if isinstance(item, pg.AxisItem):
            _scale_axis(item, s, pt)
        elif isinstance(item, pg.LabelItem) and isinstance(item.parentItem(), pg.PlotItem):
            b = _base(item, size=item.opts.get("size"))
            item.setText(item.text, size=f"{_pt(b['size'] or '', pt) * s:.0f}pt")
        elif isinstance(item, pg.LegendItem):
            _scale_legend(item, s, pt)
        elif isinstance(item, pg.PlotDataItem):
            _scale_curve(item, s)
        elif isinstance(item, pg.ScatterPlotItem) and not isinstance(item.parentItem(), pg.PlotDataItem):
            b = _base(item, size=item.opts.get("size", 7))
            item.setSize(b["size"] * s)


def _scale_axis(axis: pg.AxisItem, s: float, pt: float) -> None:
    b = _base(axis, width=axis.fixedWidth, label=dict(axis.labelStyle))
    font = None  # pyqtgraph's own
    if s != 1:
        font = QFont(QApplication.font())
        font.setPointSizeF(pt * s)
    axis.setTickFont(font)
    if b["width"]:  # a fixed width (the plots keep their axes still): as much wider
        axis.setWidth(round(b["width"] * s))
    if axis.labelText:
        size = _pt(b["label"].get("font-size", ""), pt)
        axis.setLabel(axis.labelText, axis.labelUnits or None, axis.labelUnitPrefix or None,
                      unitPower=axis.unitPower, **{**b["label"], "font-size": f"{size * s:.0f}pt"})


def _scale_legend(legend: pg.LegendItem, s: float, pt: float) -> None:
    b = _base(legend, size=legend.opts.get("labelTextSize", "9pt"))
    size = f"{_pt(b['size'], pt) * s:.0f}pt"
    legend.setLabelTextSize(size)
    for _sample, label in legend.items:  # the labels already there take the size when redrawn
        label.setText(label.text, size=size)
    legend.layout.activate()  # the rows' new heights, then the legend's size from them
    legend.updateSize()


def _scale_curve(curve: pg.PlotDataItem, s: float) -> None:
    pen = pg.mkPen(curve.opts["pen"])
    b = _base(curve, width=max(1.0, pen.widthF()), symbol=curve.opts.get("symbolSize", 10))
    if pen.style() != Qt.PenStyle.NoPen:
        pen.setWidthF(b["width"] * s)
        curve.setPen(pen)
    if curve.opts.get("symbol") is not None:
        curve.setSymbolSize(b["symbol"] * s)
