"""The live plots keep their room: no legend covers a curve, every key entry shows whole, the
ticked runs' key takes one line, and each plot keeps 150 px of height (issue 23: legends
covered the last third of the curves, and a three-line key squeezed the plots into strips).

Real widgets, offscreen, in the window's stylesheet (its 11 pt text); geometry is compared in
the PlotsView's own pixels, whichever pyqtgraph canvas an item is drawn on."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtWidgets import QApplication, QGraphicsItem, QLabel

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
from app.presentation import PRESENT_PT, NORMAL_PT, scale_plots
from app.style import QSS
from core.engine.records import EpochRecord, SplitMetrics

SPLITS = ["train", "val", "test", "val top-5", "test top-5"]
LABELS = ["1. baseline", "2. + standardisation", "3. + augmentation",
          "4. + momentum 0.9 and decay γ = 0.95", "5. + η = 0.01 (effective step back to 0.1)",
          "6. + dropout 0.5", "7. + batch norm"]


def record(epoch: int, shift: float = 0.0) -> EpochRecord:
    """An epoch with a validation and a test split: five named live curves, the most a run has."""
    return EpochRecord(epoch, 0.1, SplitMetrics(1 / epoch + shift, 50 + epoch), seconds=0.01,
                       images_per_s=1e4, val=SplitMetrics(1.1 / epoch, 45 + epoch, 80.0),
                       test=SplitMetrics(1.2 / epoch, 44 + epoch, 81.0))


def legends(plots) -> list[pg.LegendItem]:
    return [item for view in plots.findChildren(pg.GraphicsView) for item in view.scene().items()
            if isinstance(item, pg.LegendItem) and item.isVisible()]


def viewport_on_plots(plots, view: pg.GraphicsView) -> QRectF:
    """Where view's viewport is, in the PlotsView's pixels."""
    return QRectF(view.viewport().rect()).translated(QPointF(view.viewport().mapTo(plots, QPoint(0, 0))))


def on_plots(plots, item: QGraphicsItem, rect: QRectF | None = None) -> QRectF:
    """item's scene rect (or rect, in scene coordinates) in the PlotsView's pixels."""
    view = item.scene().views()[0]
    box = view.viewportTransform().mapRect(rect if rect is not None else item.sceneBoundingRect())
    return box.translated(viewport_on_plots(plots, view).topLeft())


def shown_part(item: QGraphicsItem) -> QRectF:
    """The part of item's scene rect that its clipping ancestors (a ViewBox) let through."""
    rect, parent = item.sceneBoundingRect(), item.parentItem()
    while parent is not None:
        if parent.flags() & QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape:
            rect = rect.intersected(parent.sceneBoundingRect())
        parent = parent.parentItem()
    return rect


def settle(qtbot, plots) -> None:
    """Wait until pyqtgraph has laid out (in posted events) the plots on the whole canvas (or
    on more, if they cannot fit) and every legend entry."""
    canvas = plots.canvas

    def done() -> bool:
        area = canvas.ci.geometry()
        entries = [label for legend in legends(plots) for _sample, label in legend.items]
        return (entries != [] and area.height() >= canvas.viewport().height() - 1
                and abs(plots.lr_plot.sceneBoundingRect().bottom() - area.bottom()) < 12
                and all(label.geometry().width() > 0 for label in entries))
    qtbot.waitUntil(done)


@pytest.fixture
def plots(qtbot):
    """A PlotsView at about its size in a 1280×720 window's centre, with three epochs of a run
    that has val and test splits and seven ticked runs with long labels."""
    from app.views.plots import PlotsView
    v = PlotsView()
    qtbot.addWidget(v)
    v.setStyleSheet(QSS)
    v.add_records([record(e) for e in (1, 2, 3)])
    v.set_overlays([(label, [record(1, i / 10), record(2, i / 10)]) for i, label in enumerate(LABELS)])
    v.redraw(everything=True)
    v.resize(620, 420)
    v.show()
    qtbot.waitExposed(v)
    settle(qtbot, v)
    return v


def cut_entries(plots) -> list[str]:
    """The legend entries that do not show whole in the PlotsView (cut by a view box, by their
    canvas or by the view's edge); an empty list when all do."""
    cut = []
    for legend in legends(plots):
        # half a pixel of slack: items sit at fractional positions
        viewport = viewport_on_plots(plots, legend.scene().views()[0]).adjusted(-0.5, -0.5, 0.5, 0.5)
        for sample, label in legend.items:
            for part in (sample, label):
                rect = on_plots(plots, part)
                if (on_plots(plots, part, shown_part(part)) != rect or not viewport.contains(rect)
                        or not QRectF(plots.rect()).adjusted(-0.5, -0.5, 0.5, 0.5).contains(rect)):
                    cut.append(label.text)
    return cut


def test_no_legend_covers_a_plots_data_area(plots):
    boxes = [on_plots(plots, p.vb) for p in plots.plots]
    found = legends(plots)
    assert sum(len(legend.items) for legend in found) >= len(SPLITS)
    for legend in found:
        rect = on_plots(plots, legend)
        assert not any(rect.intersects(box) for box in boxes), (rect, boxes)


def test_every_split_is_named_once_and_shows_whole(plots):
    names = [label.text for legend in legends(plots) for _sample, label in legend.items]
    assert sorted(names) == sorted(SPLITS)  # the colours are the same on all four plots
    assert cut_entries(plots) == []
    plots.clear()  # a new run: no curve has points, so the key names none
    plots.redraw(everything=True)
    assert [label.text for legend in legends(plots) for _sample, label in legend.items] == []


def test_the_ticked_runs_key_takes_one_line_and_keeps_the_whole_list(plots):
    key = plots.overlay_key
    assert key.isVisible()
    assert key.height() <= key.fontMetrics().lineSpacing() + 4
    assert key.geometry().bottom() < plots.readout.geometry().top()  # nothing drawn over it
    assert all(label in key.text() and label in key.toolTip() for label in LABELS)
    shown = QLabel.text(key)  # what it draws: the list cut at its width, not wrapped
    assert "…" in shown and LABELS[-1] not in shown


def test_each_plot_keeps_150_px_of_height(qtbot, plots):
    assert all(p.sceneBoundingRect().height() >= 150 for p in plots.plots)
    # a layout may shrink the view to its minimum size, no further: the plots still keep theirs
    hint = plots.minimumSizeHint()
    assert hint.height() <= 360  # under the plots of a 1024×640 window (the README's minimum)
    plots.resize(620, hint.height())
    qtbot.waitUntil(lambda: plots.height() == hint.height())
    settle(qtbot, plots)
    heights = [p.sceneBoundingRect().height() for p in plots.plots]
    assert min(heights) >= 150, heights
    assert cut_entries(plots) == []


def label_heights(plots) -> dict[str, float]:
    return {label.text: label.geometry().height() for legend in legends(plots)
            for _sample, label in legend.items}


def test_presentation_scales_the_key_and_keeps_every_entry_whole(qtbot, plots):
    """app.presentation scales every pyqtgraph legend of the window (scale_plots): the key's
    text grows with the rest, and its entries still show whole at a projector's plot size."""
    before = label_heights(plots)
    for view in plots.findChildren(pg.GraphicsView):
        scale_plots(view, PRESENT_PT / NORMAL_PT)
    # the legends lay their larger entries out in posted events, then their rows take the size
    qtbot.waitUntil(lambda: all(h > before[name] * 1.3 for name, h in label_heights(plots).items()))
    QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
    settle(qtbot, plots)
    assert cut_entries(plots) == []
    for view in plots.findChildren(pg.GraphicsView):
        scale_plots(view, 1)
    qtbot.waitUntil(lambda: label_heights(plots) == before)


def test_a_click_on_a_key_entry_hides_that_split_on_every_plot(qtbot, plots):
    legend, sample = next((legend, sample) for legend in legends(plots)
                          for sample, label in legend.items if label.text == "train")
    view = legend.scene().views()[0]
    where = view.mapFromScene(sample.sceneBoundingRect().center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert not plots.loss_curves["train"].isVisible() and not plots.acc_curves["train"].isVisible()
    assert plots.loss_curves["test"].isVisible()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert plots.loss_curves["train"].isVisible() and plots.acc_curves["train"].isVisible()
