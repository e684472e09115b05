"""The answers the practical asks for are never cut, in the ~370 px Inspect dock and on a full
page: the confusion matrix shows 10×10 with its class names, layer health all four charts and
every column of its table, and the Model tab's layer table the weight and bias counts."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QVBoxLayout, QWidget

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
from core.data.shapes import CLASSES

PRESENTATION = "\nQWidget { font-size: 18pt; }"  # what presentation mode appends to the style


def hosted(qtbot, widget, width: int, height: int, style: str | None) -> QWidget:
    """widget alone in a shown window of width × height, with the window's style sheet
    (None: none)."""
    from app.style import QSS
    host = QWidget()
    column = QVBoxLayout(host)
    column.setContentsMargins(0, 0, 0, 0)  # as in the dock: the view gets the whole width
    column.addWidget(widget)
    if style is not None:
        host.setStyleSheet(QSS + style)
    qtbot.addWidget(host)
    host.resize(width, height)
    host.show()
    qtbot.waitExposed(host)
    return host


def settle(qtbot, problems) -> None:
    """Wait until problems() finds none (the layout has caught up), else fail naming them."""
    try:
        qtbot.waitUntil(lambda: not problems(), timeout=3_000)
    except qtbot.TimeoutError:
        pass
    assert problems() == []


# -- the confusion matrix --------------------------------------------------------------------

def confusion_view(qtbot):
    """A confusion view showing Shapes-10 test counts as the trainer hands them over (the last
    epoch record's), of a poor network: a ring column of three-digit counts."""
    from app.views.common import ModelSource
    from app.views.confusion import ConfusionView
    from app.worker import Progress
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 20, (10, 10))
    counts[:, 1] = rng.integers(88, 122, 10)
    data = SimpleNamespace(classes=CLASSES, val=[], test=[0] * int(counts.sum()), train=[0], is_images=True)
    source = ModelSource()
    source.attach_model(None, data, object(), Progress(record=SimpleNamespace(confusion={"test": counts})))
    view = ConfusionView(source)
    return view, counts


def matrix_problems(table, counts) -> list[str]:
    """What of the matrix is cut or out of view: columns, headers, counts, class names."""
    k = len(CLASSES)
    room = table.viewport().width()
    out = [] if table.horizontalScrollBar().maximum() == 0 else ["a sideways scroll bar"]
    for j in range(k + 1):
        left, width = table.columnViewportPosition(j), table.columnWidth(j)
        if table.isColumnHidden(j) or left < 0 or left + width > room:
            out.append(f"column {j} at {left}+{width} outside {room} px")
        head = table.horizontalHeader().sectionSizeFromContents(j).width()
        if head > width:
            out.append(f"column header {table.horizontalHeaderItem(j).text()!r} needs {head} > {width} px")
    for r, name in enumerate(CLASSES):
        row = table.verticalHeaderItem(r)
        if row is None or not row.text().endswith(name):
            out.append(f"row {r} is {row and row.text()!r}, not {name}")
        # drawn in the header's font (the table's style: not bold) between 4 px paddings
        elif (QFontMetrics(table.verticalHeader().font()).horizontalAdvance(row.text()) + 8
              > table.verticalHeader().width()):
            out.append(f"row name {row.text()!r} cut")
        for c in range(k + 1):
            item = table.item(r, c)
            text = str(counts[r, c]) if c < k else f"{100 * counts[r, r] / counts[r].sum():.0f}"
            wide = QFontMetrics(item.font()).horizontalAdvance(text) + 2  # + the grid line
            if item.text() != text or wide > table.columnWidth(c):
                out.append(f"cell {r},{c} {item.text()!r} cut in {table.columnWidth(c)} px")
    return out


@pytest.mark.parametrize("width, style", [(370, ""), (370, None), (360, ""), (540, PRESENTATION)])
def test_the_whole_confusion_matrix_fits_the_dock(qtbot, width, style):
    view, counts = confusion_view(qtbot)
    host = hosted(qtbot, view, width, 500, style)  # noqa: F841  (kept alive while measured)
    assert view.tick(force=True) and view.showing()
    table = view.table
    settle(qtbot, lambda: matrix_problems(table, counts))
    for j, name in enumerate(CLASSES):  # a short column header keeps its class's full name
        assert name in table.horizontalHeaderItem(j).toolTip()
        assert table.horizontalHeaderItem(j).text() in (f"→ {name}", str(j))
        if table.horizontalHeaderItem(j).text() == str(j):  # the rows say which index is which
            assert table.verticalHeaderItem(j).text() == f"{j}  {name}"


def test_the_confusion_matrix_grows_with_its_page_and_names_its_columns(qtbot):
    view, counts = confusion_view(qtbot)
    host = hosted(qtbot, view, 370, 500, "")
    view.tick(force=True)
    table = view.table
    settle(qtbot, lambda: matrix_problems(table, counts))
    small = (table.columnWidth(0), table.rowHeight(0), table.item(0, 0).font().pointSizeF())
    host.resize(900, 550)  # the Inspect page at 1280×720
    settle(qtbot, lambda: matrix_problems(table, counts) or
           ([] if table.columnWidth(0) > 2 * small[0] else ["columns as narrow as in the dock"]))
    assert table.rowHeight(0) > small[1] and table.item(0, 0).font().pointSizeF() > small[2]
    host.resize(1700, 900)  # a full-screen page: room for the names over the columns
    settle(qtbot, lambda: matrix_problems(table, counts) or
           ([] if table.horizontalHeaderItem(2).text() == "→ square" else ["columns headed by index"]))
    assert [table.verticalHeaderItem(r).text() for r in range(10)] == list(CLASSES)


def test_a_click_on_a_fitted_cell_still_names_that_cell(qtbot, monkeypatch):
    from PySide6.QtCore import Qt
    view, counts = confusion_view(qtbot)
    host = hosted(qtbot, view, 370, 500, "")  # noqa: F841
    view.tick(force=True)
    table = view.table
    settle(qtbot, lambda: matrix_problems(table, counts))
    clicked = []
    monkeypatch.setattr(view, "_list_cell", lambda: clicked.append(view.cell))
    centre = table.visualRect(table.model().index(4, 7)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert clicked == [(4, 7)]


# -- layer health ----------------------------------------------------------------------------

def health_view():
    """A layer-health view of a CNN's five weight layers over 2,000 steps of a run that trains
    (gradient norms in the thousands: the table's widest numbers)."""
    from app.views.common import ModelSource
    from app.views.health import HealthView
    import lab
    source = ModelSource()
    source.attach(SimpleNamespace(exp=lab.circles(1), model=object(), data=object(), parked=False))
    view = HealthView(source)
    layers = ["conv1", "conv2", "conv3", "fc1", "output"]
    view.add_samples([(step, {name: (-0.1 * k, 0.5 + k, 0.01 * k, 1.0 + step)
                              for k, name in enumerate(layers)}) for step in range(0, 2000, 10)])
    return view


def chart_problems(view) -> list[str]:
    """What of the four charts is out of view, too narrow, squeezed beside the others, or has
    a title wider than the chart (cut, or running into its neighbour's)."""
    canvas = view.canvas
    seen = canvas.viewport().rect()
    out, widths = [], []
    for key, plot in view.plots.items():
        rect = canvas.mapFromScene(plot.sceneBoundingRect()).boundingRect()
        widths.append(rect.width())
        if not seen.contains(rect):
            out.append(f"{key} at {rect.getRect()} outside the canvas {seen.getRect()}")
        if rect.width() < 120:
            out.append(f"{key} {rect.width()} px wide")
        title = plot.titleLabel.item.boundingRect().width()
        if title > plot.size().width():
            out.append(f"{key}'s title {title:.0f} px over a {plot.size().width():.0f} px chart")
    if min(widths) < 0.9 * max(widths):
        out.append(f"charts {widths} px wide: some squeezed beside the others")
    return out


def table_problems(table) -> list[str]:
    """The health table's columns that are hidden, out of view or narrower than their header
    or a value (Qt elides those: "1.99e…")."""
    out = [] if table.horizontalScrollBar().maximum() == 0 else ["a sideways scroll bar"]
    room = table.viewport().width()
    for c in range(table.columnCount()):
        left, width = table.columnViewportPosition(c), table.columnWidth(c)
        need = max(table.horizontalHeader().sectionSizeFromContents(c).width(), table.sizeHintForColumn(c))
        if table.isColumnHidden(c) or left < 0 or left + width > room or need > width:
            out.append(f"column {c} {table.horizontalHeaderItem(c).text()!r}: {left}+{width} px "
                       f"of {room}, needs {need}")
    return out


@pytest.mark.parametrize("width", [360, 370])
def test_layer_health_shows_all_four_charts_in_the_dock(qtbot, width):
    view = health_view()
    host = hosted(qtbot, view, width, 600, "")  # noqa: F841
    assert view.tick(force=True) and view.showing()
    assert all(len(p.listDataItems()) == 5 for p in view.plots.values())
    settle(qtbot, lambda: chart_problems(view))


def test_layer_health_charts_fill_the_page(qtbot):
    view = health_view()
    host = hosted(qtbot, view, 370, 600, "")
    view.tick(force=True)
    settle(qtbot, lambda: chart_problems(view))
    small = view.plots["grad_norm"].size()
    host.resize(900, 550)
    settle(qtbot, lambda: chart_problems(view) or
           ([] if view.plots["grad_norm"].size().width() > 2 * small.width()
            else ["as narrow as in the dock"]))


@pytest.mark.parametrize("width", [370, 600, 900])
def test_layer_health_table_shows_every_column_whole(qtbot, width):
    view = health_view()
    host = hosted(qtbot, view, width, 550, "")  # noqa: F841
    view.tick(force=True)
    table = view.table
    assert table.rowCount() == 5 and float(table.item(0, 4).text()) == pytest.approx(1991, rel=0.01)
    settle(qtbot, lambda: table_problems(table))
    if width >= 600:  # the headers in words, on two lines
        assert table.horizontalHeaderItem(1).text() == "activation\nmean"


# -- the Model tab's layer table -------------------------------------------------------------

def torch_counts(exp) -> dict[str, tuple[int, int]]:
    """{layer: (weights, biases)} of the network PyTorch builds for exp."""
    from app.experiment import input_shape
    from core.nets import models
    counts: dict[str, list[int]] = {}
    for name, p in models.build(exp.model, *input_shape(exp)).named_parameters():
        layer, kind = name.rsplit(".", 1)
        counts.setdefault(layer, [0, 0])[kind == "bias"] += p.numel()
    return {layer: (w, b) for layer, (w, b) in counts.items()}


@pytest.mark.parametrize("width", [310, 322, 470])
def test_the_layer_table_shows_weight_and_bias_counts_in_the_dock(qtbot, width):
    """310 and 322 px give the table the 240 and 252 px it has in the Experiment dock at
    1280×720 and 1366×768; the counts are Part 2's answers, so they keep their columns."""
    from app.panels.model import ModelPanel
    from app.views.layers import HEADERS
    from core.experiment import presets
    exp = presets.load("shapes-cnn")
    panel = ModelPanel()
    panel.load(exp)
    assert panel.show_layers(exp) is None
    host = hosted(qtbot, panel, width, 900, "")  # noqa: F841
    table = panel.table
    columns = {h: j for j, h in enumerate(HEADERS)}
    weights, biases = columns["weights"], columns["biases"]

    def problems() -> list[str]:
        out = [] if table.horizontalScrollBar().maximum() == 0 else ["a sideways scroll bar"]
        for j in (columns["layer"], weights, biases):
            left, w = table.columnViewportPosition(j), table.columnWidth(j)
            if table.isColumnHidden(j) or left + w > table.viewport().width() or w < table.needed[j]:
                out.append(f"{HEADERS[j]}: {left}+{w} px of {table.viewport().width()}, "
                           f"needs {table.needed[j]}")
        return out

    settle(qtbot, problems)
    expected = torch_counts(exp)
    rows = {table.item(i, 0).text(): i for i in range(table.rowCount())}
    for layer, (w, b) in expected.items():
        assert table.item(rows[layer], weights).text() == f"{w:,}"
        assert table.item(rows[layer], biases).text() == f"{b:,}"
    total_w, total_b = (sum(c[k] for c in expected.values()) for k in (0, 1))
    totals = [table.item(rows["total"], j).text() for j in (weights, biases)]
    assert totals == [f"{total_w:,}", f"{total_b:,}"]
    assert f"{total_w + total_b:,}" in panel.total.text()  # the line under the table stays
    if width >= 470:  # room for every column
        assert not any(table.isColumnHidden(j) for j in range(len(HEADERS)))
