"""The window fits a real screen (offscreen): its minimum size with each page, each Inspect
view at 480×480 px, the curves' height under a message, saved layouts that do not fit,
presentation mode on any page, the Experiment dock that closes and comes back with View →
Reset layout."""

from __future__ import annotations

import os

import pytest
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSpinBox, QComboBox, QHeaderView,
                               QDockWidget, QGraphicsView, QLabel, QScrollArea, QVBoxLayout,
                               QWidget)

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from app.window_pages import INSPECT, PAGES, RESULTS, TRAIN
from core.experiment import config as cfg
from core.experiment import presets

SCREEN = QSize(1024, 640)   # the smallest screen the window must fit
VIEW = 480                  # each Inspect view is checked at 480×480 px
CONTROLS = (QLabel, QAbstractButton, QComboBox, QAbstractSpinBox, QAbstractItemView, QGraphicsView)


def circles(epochs: int = 2) -> cfg.Experiment:
    return lab.circles(epochs)


def tiny_shapes() -> cfg.Experiment:
    return cfg.with_overrides(presets.load("shapes-cnn"), [
        "data.n_train=64", "data.n_test=32", "train.epochs=1", "train.batch_size=32", "train.device=cpu"])




def docks(w) -> list[QDockWidget]:
    return [w.experiment_dock]


def polish_everything(qtbot, w) -> None:
    """Show each experiment tab and each Inspect view once: a widget's minimum size is only
    final once the stylesheet has polished it, which Qt does when it is first shown."""
    for i in range(w.tabs.count()):
        w.tabs.setCurrentIndex(i)
        qtbot.wait(1)
    for name in w.inspect.views:
        w.inspect.select(name)
        qtbot.wait(1)
    w.tabs.setCurrentIndex(0)


def inside(child: QWidget, parent: QWidget, slack: int = 1) -> bool:
    top_left = child.mapTo(parent, QPoint(0, 0))
    return parent.rect().adjusted(-slack, -slack, slack, slack).contains(QRect(top_left, child.size()))


def clipped_controls(root: QWidget) -> list[str]:
    """The visible controls under root that are cut: outside root, or narrower / lower than
    their minimum size (their text or frame then does not show whole)."""
    bad = []
    for w in root.findChildren(QWidget):
        if not isinstance(w, CONTROLS) or not w.isVisible() or w.window() is not root.window():
            continue
        if (isinstance(w.parentWidget(), QScrollArea) or w.objectName().startswith("qt_")
                or isinstance(w, QHeaderView)):
            continue  # a scroll area's viewport, a table's headers, Qt's own parts
        name = f"{type(w).__name__} {w.objectName() or getattr(w, 'text', lambda: '')()!r}"
        hint = w.minimumSizeHint()
        ignored = w.sizePolicy().horizontalPolicy() == w.sizePolicy().Policy.Ignored
        if w.width() <= 0 or w.height() <= 0:
            bad.append(f"{name}: zero-sized")
        elif not inside(w, root):
            bad.append(f"{name}: outside ({w.mapTo(root, QPoint(0, 0))}, {w.size()})")
        elif not ignored and (w.width() < hint.width() - 1 or w.height() < hint.height() - 1):
            bad.append(f"{name}: {w.width()}×{w.height()} under its minimum {hint.width()}×{hint.height()}")
    return bad


# -- (a) the minimum size ------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["circles-mlp", "shapes-cnn", "mnist-mlp"])
def test_the_window_with_each_page_fits_1024x640(qtbot, window, preset):
    w = window(presets.load(preset), persist=False)
    polish_everything(qtbot, w)
    assert all(d.isVisible() and not d.isFloating() for d in docks(w))
    hint = w.minimumSizeHint()
    assert hint.width() <= SCREEN.width() and hint.height() <= SCREEN.height(), hint
    assert w.experiment_dock.minimumSizeHint().width() <= 320
    w.resize(SCREEN)
    qtbot.waitUntil(lambda: w.size() == SCREEN)
    # nothing cut in the window at that size: each page, every panel
    for page in range(w.pages.count()):
        w.pages.setCurrentIndex(page)
        qtbot.waitUntil(lambda: w.pages.currentWidget().isVisible())
        root = w.pages.currentWidget()
        assert clipped_controls(root) == [], (PAGES[page][0], clipped_controls(root))
    w.pages.setCurrentIndex(TRAIN)
    for i in range(w.tabs.count()):
        w.tabs.setCurrentIndex(i)
        area = w.tabs.currentWidget()
        qtbot.waitUntil(lambda: area.widget().isVisible())
        # the panel scrolls up and down only: its labels never hide behind a sideways scroll
        assert area.widget().width() <= area.viewport().width()
        assert area.widget().width() >= area.widget().minimumSizeHint().width()
    for bar in (w.tabs.tabBar(), w.pages.tabBar()):  # every tab shown, no scroll arrows
        assert all(bar.rect().contains(bar.tabRect(i)) for i in range(bar.count())), \
            (bar.rect(), [bar.tabRect(i) for i in range(bar.count())])
    panel = w.training_panel
    for b in (panel.start, panel.pause, panel.stop):
        assert b.isVisible() and inside(b, w.centralWidget())


@pytest.mark.parametrize("screen", [QSize(1280, 720), QSize(1366, 768)])
def test_the_curves_keep_150_px_while_a_message_is_shown(qtbot, window, screen):
    """A message floats over the page's bottom: it never takes the curves' room."""
    w = window(presets.load("shapes-cnn"), persist=False)
    w.resize(screen)
    qtbot.waitUntil(lambda: w.size() == screen)
    heights = lambda: [round(p.sceneBoundingRect().height()) for p in w.plots.plots]  # noqa: E731
    before = heights()
    w.banner.show_message("warning", "Skipped 3 files.", "a.jpg, b.jpg and c.jpg are not "
                          "images LearnScope can read; they were left out. " * 3)
    qtbot.waitUntil(lambda: w.banner.isVisible() and inside(w.banner, w.pages))
    assert heights() == before and min(before) >= 150, before


def test_the_training_bar_wraps_instead_of_widening_the_window(qtbot, window):
    w = window(circles(), persist=False)
    panel = w.training_panel
    long = "Epoch 3/150   ·   step 1,234/30,000   ·   5,432 images/s   ·   elapsed 0:12   ·   ETA 3:45" * 3
    panel.show_message(long)
    assert panel.minimumSizeHint().width() < 400  # the text wraps: it sets no minimum
    w.resize(SCREEN)
    qtbot.waitUntil(lambda: w.size() == SCREEN)
    rows = {panel.start.mapTo(panel, QPoint(0, 0)).y(), panel.epochs.mapTo(panel, QPoint(0, 0)).y(),
            panel.device.mapTo(panel, QPoint(0, 0)).y()}
    assert len(rows) >= 2  # the controls took a second row
    assert panel.status.text() == long and inside(panel.status, panel)
    assert panel.status.height() > panel.status.fontMetrics().height() * 1.5  # wrapped


# -- (b) each Inspect view at 480×480 ------------------------------------------------------
def _trained(request, exp):
    import pytestqt.qtbot
    from app.window import MainWindow
    w = MainWindow(exp, persist=False, run_root=request.getfixturevalue("tmp_path_factory").mktemp("runs"))
    w.show()
    bot = pytestqt.qtbot.QtBot(request)
    with bot.waitSignal(w.run_finished, timeout=60_000) as blocker:
        assert w.start_training()
    assert blocker.args[0].status == "done", blocker.args[0].message
    return w


@pytest.fixture(scope="module")
def trained_windows(qapp, request, tmp_path_factory):
    """A tiny trained CNN for the image views and a trained circles MLP for the points' view."""
    saved = os.environ.get("LEARNSCOPE_SETTINGS")
    os.environ["LEARNSCOPE_SETTINGS"] = str(tmp_path_factory.mktemp("settings") / "settings.ini")
    made = {"images": _trained(request, tiny_shapes()), "points": _trained(request, circles())}
    yield made
    for w in made.values():
        w.shutdown(5000)
        w.close()
    if saved is None:
        os.environ.pop("LEARNSCOPE_SETTINGS", None)
    else:
        os.environ["LEARNSCOPE_SETTINGS"] = saved


def show_view(qtbot, w, name: str, size: QSize):
    """Give the Inspect panel a window of its own at size (the panel the Train and Inspect
    pages show), show the view, wait until it has drawn and settled."""
    holder = QWidget()
    QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
    holder.layout().addWidget(w.inspect)
    holder.resize(size)
    holder.show()
    w.test_holder = holder  # kept alive (it owns the panel) until back_in_its_page
    w.inspect.select(name)
    v = w.inspect.views[name]
    qtbot.waitUntil(lambda: holder.size() == size and v.isVisible())
    v.tick(force=True)
    assert v._stack.currentWidget() is v.body, v.message.text()
    for _ in range(3):  # a layout pass may move the plots after the first paint
        holder.grab()
        qtbot.wait(20)
    return v


def back_in_its_page(w) -> None:
    w.pages._place_inspect(w.pages.currentIndex())
    holder = getattr(w, "test_holder", None)
    if holder is not None:
        holder.close()
        w.test_holder = None


def plot_items(v) -> list[tuple[QGraphicsView, pg.PlotItem]]:
    return [(view, item) for view in v.findChildren(QGraphicsView) if view.isVisible()
            for item in view.scene().items() if isinstance(item, pg.PlotItem) and item.isVisible()]


def check_plots_fit(v) -> None:
    """Every plot lies inside its canvas, and every image in it shows whole and visible."""
    plots = plot_items(v)
    assert plots
    for view, plot in plots:
        canvas = QRectF(view.viewport().rect()).adjusted(-1, -1, 1, 1)
        on_screen = view.mapFromScene(plot.sceneBoundingRect()).boundingRect()
        assert canvas.contains(QRectF(on_screen)), (plot.titleLabel.text, on_screen, canvas)
        vb = plot.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        shown = QRectF(x0, y0, x1 - x0, y1 - y0).adjusted(-0.51, -0.51, 0.51, 0.51)
        for img in (i for i in vb.addedItems if isinstance(i, pg.ImageItem) and i.image is not None):
            assert shown.contains(img.mapRectToView(img.boundingRect())), plot.titleLabel.text
            assert vb.width() >= 40 and vb.height() >= 40  # not a sliver


@pytest.mark.parametrize("name", ["filters", "feature-maps", "receptive-field", "confusion", "batch",
                                  "health"])
def test_each_image_view_shows_whole_at_480_px(qtbot, trained_windows, name):
    from app.views.registry import VIEWS
    assert set(VIEWS) == {"filters", "feature-maps", "receptive-field", "confusion", "batch", "health",
                          "decision-boundary"}  # a new view gets a test here
    w = trained_windows["images"]
    v = show_view(qtbot, w, name, QSize(VIEW, VIEW))
    assert clipped_controls(w.inspect) == [], clipped_controls(w.inspect)
    if name == "confusion":
        assert v.table.isVisible() and inside(v.table, v) and v.table.viewport().height() > 100
        assert v.counts.sum() == 32
    elif name == "health":
        assert v.table.isVisible() and v.table.viewport().height() > 30
        check_plots_fit(v)
    else:
        check_plots_fit(v)
    if name == "filters":
        assert v.image.image.shape == (35, 35, 3)  # the 32 kernels of conv1, all of them
    if name == "batch":
        assert v.tiles == (16, 16)
    back_in_its_page(w)


def decision_checks(v) -> None:
    vb = v.plot.getViewBox()
    (x0, x1), (y0, y1) = vb.viewRange()
    assert (x0, x1, y0, y1) == pytest.approx((-2, 2, -2, 2))  # the lab's square, fixed
    box = vb.sceneBoundingRect()
    assert abs(box.width() - box.height()) <= 1 and box.width() >= 150
    heat = v.heat.mapRectToScene(v.heat.boundingRect())
    assert abs(heat.width() - heat.height()) <= 1  # the picture is square on screen
    canvas = QRectF(v.canvas.viewport().rect())
    assert canvas.contains(v.canvas.mapFromScene(box).boundingRect())
    # every hidden neuron's map is shown, whole
    assert v.hidden_maps.shape[0] == 10
    cols = v._cols
    assert v.hidden_mosaic.shape == (-(-10 // cols) * 41 - 1, cols * 41 - 1)
    check_plots_fit(v)


@pytest.mark.parametrize("size", [QSize(VIEW, VIEW), QSize(300, 600), QSize(900, 400), QSize(320, 480)])
def test_the_decision_boundary_is_a_square_minus2_to_2_picture_at_any_size(qtbot, trained_windows, size):
    w = trained_windows["points"]
    v = show_view(qtbot, w, "decision-boundary", size)
    decision_checks(v)
    assert clipped_controls(w.inspect) == [], clipped_controls(w.inspect)
    back_in_its_page(w)


def test_the_decision_boundary_keeps_its_square_beside_the_curves(qtbot, trained_windows):
    w = trained_windows["points"]
    back_in_its_page(w)
    w.pages.setCurrentIndex(TRAIN)
    w.inspect.select("decision-boundary")
    v = w.inspect.views["decision-boundary"]
    w.resize(SCREEN)
    qtbot.waitUntil(lambda: w.size() == SCREEN and v.isVisible())
    v.tick(force=True)
    for _ in range(3):
        w.grab()
        qtbot.wait(20)
    assert v.width() <= 400  # beside the curves, the panel is narrow here
    decision_checks(v)


# -- (c) a saved layout that does not fit ---------------------------------------------------
def saved_layout(window, size: QSize | None):
    """Save a layout with the Experiment dock closed, claiming it was saved at `size`."""
    from app.settings import open_settings
    before = window(circles(), persist=True)
    before.experiment_dock.close()
    before.close()  # saves the layout
    settings = open_settings()
    if size is None:
        settings.remove("window/size")  # saved by a version that did not record it
    else:
        settings.setValue("window/size", size)
    settings.sync()
    return window(circles(), persist=True)


def test_a_saved_layout_that_fits_the_screen_comes_back(window):
    after = saved_layout(window, QSize(700, 500))  # the offscreen screen is 800×800
    assert not after.experiment_dock.isVisible()


@pytest.mark.parametrize("size", [QSize(3000, 2000), None])
def test_a_saved_layout_too_large_for_the_screen_is_dropped_for_the_default(window, size):
    after = saved_layout(window, size)
    assert all(d.isVisible() and not d.isFloating() for d in docks(after))
    from app import layout
    assert after.size() == layout.default_size(after.screen().availableGeometry())


def test_the_default_size_follows_the_screen():
    from app import layout
    assert layout.default_size(QRect(0, 0, 1280, 720)) is None  # a projector: maximised
    assert layout.default_size(QRect(0, 0, 1366, 740)) is None
    big = layout.default_size(QRect(0, 0, 1920, 1050))
    assert QSize(1500, 940).width() <= big.width() <= 1920 and 940 <= big.height() <= 1050
    assert layout.default_size(QRect(0, 0, 800, 600)) == layout.DEFAULT_SIZE  # too small to fit
    assert layout.fits(QSize(1280, 720), QRect(0, 0, 1280, 720))
    assert not layout.fits(QSize(1281, 720), QRect(0, 0, 1280, 720)) and not layout.fits(None, QRect())


# -- (d) presentation mode ------------------------------------------------------------------
def font_pt(w: QWidget) -> float:
    return w.font().pointSizeF()


def test_presentation_mode_shows_the_page_and_train_pause_stop_in_large_text(qtbot, window):
    w = window(circles(), persist=False)
    panel = w.training_panel
    before = (w.size(), font_pt(panel.start), w.experiment_dock.width())
    axis = w.plots.batch_plot.getAxis("left")
    curve_width = pg.mkPen(w.plots.batch_curve.opts["pen"]).widthF()
    w.presentation_action.trigger()  # View → Presentation (F11)
    assert w.presentation.active and w.presentation_action.isChecked()
    qtbot.waitUntil(w.isFullScreen)
    assert not w.experiment_dock.isVisible()
    assert w.inspect.isVisible() and w.plots.isVisible()
    assert all(b.isVisible() for b in (panel.start, panel.pause, panel.stop))
    assert not panel.epochs.isVisible() and not panel.seed.isVisible() and not panel.device.isVisible()
    assert font_pt(panel.start) >= 16 > before[1]
    assert axis.style["tickFont"] is not None and axis.style["tickFont"].pointSizeF() >= 14
    assert pg.mkPen(w.plots.batch_curve.opts["pen"]).widthF() > max(1.0, curve_width)
    for page in (RESULTS, INSPECT, TRAIN):  # any page is projected, in the same large text
        w.pages.setCurrentIndex(page)
        qtbot.waitUntil(lambda: w.pages.currentWidget().isVisible())
        assert font_pt(w.pages.tabBar()) >= 16
    big = font_pt(panel.start)
    zoom_in = next(a for a in w.actions() if a.text() == "Larger text")
    zoom_out = next(a for a in w.actions() if a.text() == "Smaller text")
    assert "Ctrl++" in [s.toString() for s in zoom_in.shortcuts()]
    assert zoom_out.shortcut().toString() == "Ctrl+-"
    zoom_in.trigger()
    assert font_pt(panel.start) > big
    zoom_out.trigger()
    zoom_out.trigger()
    assert font_pt(panel.start) < big
    w.presentation_action.trigger()  # leave: everything as before
    assert not w.presentation.active
    qtbot.waitUntil(lambda: not w.isFullScreen() and w.size() == before[0])
    assert w.experiment_dock.isVisible() and panel.epochs.isVisible()
    assert font_pt(panel.start) == before[1] and axis.style["tickFont"] is None
    qtbot.waitUntil(lambda: w.experiment_dock.width() == before[2])


def test_the_presentation_key_is_f11(window):
    w = window(circles(), persist=False)
    assert w.presentation_action.shortcut().toString() == "F11"


# -- (e) the view a points experiment opens on ----------------------------------------------
def test_a_points_experiment_opens_inspect_on_the_decision_boundary(window):
    w = window(circles(), persist=False)
    views = w.inspect.views
    assert w.inspect.current() is views["decision-boundary"]
    assert w.inspect.chooser.currentText() == "Decision boundary"
    w.load_experiment(tiny_shapes())  # images: the filters
    assert w.inspect.current() is views["filters"]
    w.load_experiment(circles())
    assert w.inspect.current() is views["decision-boundary"]
    w.inspect.chooser.setCurrentIndex(w.inspect.chooser.findData("confusion"))  # a choice stays
    w.load_experiment(cfg.with_overrides(circles(), ["data.dataset=moons"]))
    assert w.inspect.current() is views["confusion"]


def test_every_view_is_in_the_list_above_the_view(window):
    from app.views.registry import VIEWS
    w = window(circles(), persist=False)
    chooser = w.inspect.chooser
    assert [chooser.itemData(i) for i in range(chooser.count())] == list(VIEWS)
    for i in range(chooser.count()):
        chooser.setCurrentIndex(i)
        assert w.inspect.current() is w.inspect.views[chooser.itemData(i)]


# -- (f) closable docks and Reset layout -----------------------------------------------------
def test_the_dock_closes_floats_and_comes_back_with_reset_layout(qtbot, window):
    w = window(circles(), persist=False)
    view_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&View")
    titles = [a.text() for a in view_menu.actions()]
    assert {"Train", "Results", "Inspect", "Runs", "Experiment", "Reset layout",
            "Presentation"} <= set(titles)
    d = w.experiment_dock
    assert d.features() & QDockWidget.DockWidgetFeature.DockWidgetClosable
    toggle = d.toggleViewAction()
    assert toggle.isEnabled() and toggle in view_menu.actions()
    toggle.trigger()
    assert not d.isVisible()
    toggle.trigger()
    d.setFloating(True)
    reset = next(a for a in view_menu.actions() if a.text() == "Reset layout")
    reset.trigger()
    assert d.isVisible() and not d.isFloating()
    assert w.dockWidgetArea(d) == Qt.DockWidgetArea.LeftDockWidgetArea == d.home


def test_each_page_has_its_shortcut(qtbot, window):
    w = window(circles(), persist=False)
    for i, (title, keys, _tip) in enumerate(PAGES):
        a = next(a for a in w.actions() if a.text() == title and a.shortcut().toString())
        assert a.shortcut().toString() == keys
        a.trigger()
        assert w.pages.currentIndex() == i and w.pages.tabText(i) == title


def test_the_page_shown_comes_back_at_the_next_start(window):
    before = window(circles(), persist=True)
    before.pages.setCurrentIndex(RESULTS)
    before.close()  # saves the settings
    after = window(circles(), persist=True)
    assert after.pages.currentIndex() == RESULTS
