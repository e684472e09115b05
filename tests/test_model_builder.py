"""The Model tab's layer builder fits the Experiment dock (≈ 320 px at 1280×720): a list of the
layers, one line each in the lab's words, and a form with the selected layer's fields, where a
bad value is outlined in its field and its row, with the reason in words and Train disabled."""

from __future__ import annotations

import re

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
from core.experiment import config as cfg
from core.experiment import presets

DOCK = 320
PATH_WORDS = re.compile(r"\b(data|model|optim|train)\.\w+")  # 'model.blocks': a config name


def shapes_cnn() -> cfg.Experiment:
    """The practical's CNN: conv1-conv3 (32, 64, 64 filters 5×5) and fc1 with 1000 units."""
    return cfg.with_overrides(presets.load("shapes-cnn"), ["train.device=cpu"])




def model_tab(w):
    """Bring the Model tab to the front; return its panel and the scroll area holding it."""
    for i in range(w.tabs.count()):
        if w.tabs.widget(i).widget() is w.model_panel:
            w.tabs.setCurrentIndex(i)
            return w.model_panel, w.tabs.widget(i)
    raise AssertionError("no Model tab")


def type_into(qtbot, editor, text: str, finish: bool = True) -> None:
    """Select everything in the editor and type text as a person does; (finish) Enter and leave."""
    editor.setFocus()
    line = editor.lineEdit()
    qtbot.keyClick(line, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(line, text)
    if finish:
        qtbot.keyClick(line, Qt.Key.Key_Return)
        editor.clearFocus()


def outside(area, root: QWidget) -> list[str]:
    """The visible widgets under root that reach past the scroll area's visible width, or are
    narrower than their text (a label cut off)."""
    room = area.viewport().width()
    bad = []
    for w in [root, *root.findChildren(QWidget)]:
        if not w.isVisible() or w.objectName().startswith("qt_"):
            continue
        box = QRect(w.mapTo(area.viewport(), QPoint(0, 0)), w.size())
        name = f"{type(w).__name__} {w.objectName() or getattr(w, 'text', lambda: '')()!r}"
        if box.left() < 0 or box.right() >= room:
            bad.append(f"{name}: {box.left()}…{box.right()} outside 0…{room - 1}")
        elif isinstance(w, QLabel) and not w.wordWrap() and w.width() < w.sizeHint().width():
            bad.append(f"{name}: {w.width()} px for its {w.sizeHint().width()} px of text")
    return bad


def lines_fit(builder) -> list[str]:
    """The builder's rows whose text, wrapped to the list's width, does not fit the row."""
    room = builder.viewport().width()
    bad = []
    for i in range(builder.count()):
        item, rect = builder.item(i), builder.visualItemRect(builder.item(i))
        text = builder.fontMetrics().boundingRect(QRect(0, 0, room - 8, 10_000),
                                                  Qt.TextFlag.TextWordWrap, item.text())
        if rect.right() >= room or rect.height() < text.height() or text.width() > room:
            bad.append(f"{item.text()!r}: row {rect}, text {text.size()} in {room} px")
    return bad


# -- (1) it fits a 320 px dock -------------------------------------------------------------
def test_the_practical_cnn_builder_fits_a_320_px_dock_without_scrolling_sideways(qtbot, window):
    w = window(shapes_cnn())
    w.resize(1280, 720)
    qtbot.waitUntil(lambda: w.size().width() == 1280)
    panel, area = model_tab(w)
    w.resizeDocks([w.experiment_dock], [DOCK], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: w.experiment_dock.width() == DOCK)
    builder = panel.builder
    assert [builder.item(i).text() for i in range(builder.count())] == [
        "conv1 · 32 filters 5×5, stride 1, pad 2 · max-pool 2 / 2",
        "conv2 · 64 filters 5×5, stride 1, pad 2 · max-pool 2 / 2",
        "conv3 · 64 filters 5×5, stride 1, pad 2 · max-pool 2 / 2, ceil",
        "fc1 · 1000 units"]
    for i in range(builder.count()):  # each layer's form in turn: conv1-3's 8 fields, fc1's one
        panel.select(i)
        qtbot.waitUntil(lambda: panel.layer_box.title() == panel.rows[i]["name"])
        fields = panel.forms[i].fields
        assert all(f.isVisible() for f in fields.values())
        assert len(fields) == (1 if panel.rows[i]["type"] == "dense" else 8)
        qtbot.waitUntil(lambda: area.widget().width() <= area.viewport().width())
        assert area.horizontalScrollBar().maximum() == 0
        assert builder.horizontalScrollBar().maximum() == 0
        assert lines_fit(builder) == []
        build = builder.parentWidget()  # the Layers box: list, buttons, form, reason
        assert outside(area, build) == []
        for f in fields.values():  # every editor whole, at least as wide as it asks
            assert f.width() >= f.minimumSizeHint().width() - 1, f.objectName()


def test_the_builder_asks_for_no_more_than_the_dock_has(qtbot):
    from app import layout
    from app.panels.model import ModelPanel
    from app.style import QSS
    exp = shapes_cnn()
    panel = ModelPanel()
    panel.load(exp)
    panel.show_layers(exp)
    area = layout.VerticalScroll(panel)  # as the window holds each panel
    layout.compact_forms(area)
    area.setStyleSheet(QSS)
    qtbot.addWidget(area)
    area.resize(DOCK, 700)
    area.show()
    qtbot.waitExposed(area)
    build = panel.builder.parentWidget()
    assert build.minimumSizeHint().width() <= DOCK - 40  # the dock's frame and scroll bar
    assert panel.builder.sizeHint().width() <= DOCK - 40
    assert panel.builder.horizontalScrollBar().maximum() == 0 and lines_fit(panel.builder) == []
    assert outside(area, build) == []


# -- (2) editing a field changes the layer and its line --------------------------------------
def test_editing_a_field_in_the_form_changes_that_layer_and_its_line(qtbot, window):
    w = window(shapes_cnn())
    panel, _area = model_tab(w)
    panel.select(1)
    assert panel.layer_box.title() == "conv2"
    assert panel.field(1, "channels").isVisible() and not panel.field(0, "channels").isVisible()
    type_into(qtbot, panel.field(1, "channels"), "48")
    type_into(qtbot, panel.field(1, "kernel"), "3")
    type_into(qtbot, panel.field(1, "padding"), "1")
    panel.field(1, "pool").setCurrentIndex(panel.field(1, "pool").findData("avg"))
    exp = w.current_experiment()
    block = exp.model.blocks[1]
    assert (block.channels, block.kernel, block.padding, block.pool) == (48, 3, 1, "avg")
    assert exp.model.blocks[0] == cfg.ConvBlock()  # conv1 is as it was
    assert panel.builder.item(1).text() == "conv2 · 48 filters 3×3, stride 1, pad 1 · avg-pool 2 / 2"
    panel.field(1, "pool").setCurrentIndex(panel.field(1, "pool").findData("none"))
    assert panel.builder.item(1).text().endswith("pad 1 · no pooling")
    # the dense layer's form: its width
    panel.select(3)
    assert list(panel.forms[3].fields) == ["width"] and panel.layer_box.title() == "fc1"
    type_into(qtbot, panel.field(3, "width"), "500")
    assert w.current_experiment().model.fc == [500]
    assert panel.builder.item(3).text() == "fc1 · 500 units"
    assert w.training_panel.start.isEnabled()
    # the field's help, as the table's headers had it
    assert "Side of each filter" in panel.field(1, "kernel").toolTip()
    label = panel.forms[1].layout().labelForField(panel.field(1, "kernel"))
    assert "Side of each filter" in label.toolTip()


# -- (3) an invalid kernel: its field and its row, the reason, Train disabled ----------------
def assert_flagged(w, panel, i, key, *words) -> None:
    field, row = panel.field(i, key), panel.builder.flagged(i)
    assert field.property("invalid") is True
    assert panel.selected() == i and field.isVisible(), "the flagged field is not in view"
    assert row is not None and panel.builder.item(i).text().startswith("⚠ ")
    assert panel.problem.isVisible()
    form = field.parentWidget().layout()  # the reason in the row right under the field
    assert form.getWidgetPosition(panel.problem)[0] == form.getWidgetPosition(field)[0] + 1
    for text in (panel.problem.text(), row, w.training_panel.problem.text()):
        for word in words:
            assert word in text, text
        assert not PATH_WORDS.search(text), f"a config name in the window: {text}"
    assert not w.training_panel.start.isEnabled() and not w.start_action.isEnabled()
    assert w.start_training() is False and not w.is_training()
    others = [(j, k) for j, form in enumerate(panel.forms) for k, f in form.fields.items()
              if f.property("invalid") and (j, k) != (i, key)]
    assert others == [], "other fields outlined too"


def assert_clear(w, panel) -> None:
    assert all(panel.builder.flagged(i) is None for i in range(panel.builder.count()))
    assert not any(f.property("invalid") for form in panel.forms for f in form.fields.values())
    assert not panel.problem.isVisible()
    assert w.training_panel.start.isEnabled() and not w.training_panel.problem.isVisible()


def test_an_invalid_kernel_typed_in_the_form_flags_its_field_and_its_row(qtbot, window):
    w = window(shapes_cnn())
    panel, _area = model_tab(w)
    panel.select(1)
    kernel = panel.field(1, "kernel")
    type_into(qtbot, kernel, "0")
    assert kernel.lineEdit().text() == "0" and kernel.value() == 0  # as typed, never clamped
    assert_flagged(w, panel, 1, "kernel", "conv2 kernel", "at least 1", "got 0")
    type_into(qtbot, kernel, "40")  # conv2's input is 16×16, padded 20×20
    assert_flagged(w, panel, 1, "kernel", "conv2", "kernel 40 is larger than its padded input 20×20")
    assert panel.table.item(0, 0).text() == "conv2"  # the layer table says so too
    type_into(qtbot, kernel, "5x")  # half-typed: not a number yet
    assert_flagged(w, panel, 1, "kernel", "conv2 kernel", "'5x' is not a whole number")
    panel.select(0)  # it stays flagged in its row while another layer is shown
    assert panel.builder.flagged(1) and not w.training_panel.start.isEnabled()
    panel.select(1)
    assert kernel.lineEdit().text() == "5x"
    type_into(qtbot, kernel, "5")
    assert_clear(w, panel)
    assert w.current_experiment().model.blocks[1].kernel == 5


def test_a_layer_the_engine_flags_is_selected_so_its_field_shows(qtbot, window):
    w = window(shapes_cnn())
    panel, _area = model_tab(w)
    w.activateWindow()  # the keyboard goes to the window, as on a desktop
    qtbot.waitUntil(w.isActiveWindow)
    panel.select(1)
    stride = panel.field(1, "stride")
    # conv2 with stride 9 leaves conv3 a 1×1 map, smaller than its pooling window
    type_into(qtbot, stride, "9", finish=False)
    qtbot.waitUntil(lambda: panel.builder.flagged(2) is not None)
    assert QApplication.focusWidget() in (stride, stride.lineEdit())
    assert panel.selected() == 1  # not taken away while the user types in conv2
    qtbot.keyClick(stride.lineEdit(), Qt.Key.Key_Return)  # done typing: conv3 is shown
    assert_flagged(w, panel, 2, "pool_size", "conv3", "pooling window 2 is larger than its input 1×1")
    panel.select(1)
    type_into(qtbot, stride, "1")
    assert_clear(w, panel)
    # a convolution in an MLP: the list shows conv1's row, the first one that does not fit
    panel.select(3)
    panel.kind.setCurrentIndex(panel.kind.findData("mlp"))
    assert panel.selected() == 0 and "an MLP has no convolutions" in panel.builder.flagged(0)
    assert panel.builder.item(3).text() == "hidden1 · 1000 units"
    assert not w.training_panel.start.isEnabled()


def test_a_dense_width_of_zero_flags_its_field_and_its_row(qtbot, window):
    w = window(shapes_cnn())
    panel, _area = model_tab(w)
    panel.select(3)
    type_into(qtbot, panel.field(3, "width"), "0")
    assert_flagged(w, panel, 3, "width", "fc1 width", "at least 1", "got 0")
    type_into(qtbot, panel.field(3, "width"), "1000")
    assert_clear(w, panel)


# -- (4) add, remove, move ---------------------------------------------------------------
def names(panel) -> list[str]:
    return [panel.builder.item(i).text().removeprefix("⚠ ").split(" · ")[0]
            for i in range(panel.builder.count())]


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_layers_are_added_removed_and_moved_with_their_fields(qtbot, window):
    w = window(shapes_cnn())
    panel, _area = model_tab(w)
    params = panel.table.total
    panel.select(0)
    click(qtbot, panel.add_conv)  # after conv1, with twice its filters
    assert names(panel) == ["conv1", "conv2", "conv3", "conv4", "fc1"]
    assert panel.selected() == 1 and panel.layer_box.title() == "conv2"
    assert panel.field(1, "channels").value() == 64 and panel.field(1, "channels").isVisible()
    assert [b.channels for b in w.current_experiment().model.blocks] == [32, 64, 64, 64]
    assert panel.table.total != params
    # the new conv2 moves down: its own editors go with it
    moved = panel.field(1, "kernel")
    type_into(qtbot, moved, "3")
    click(qtbot, panel.down)
    assert panel.selected() == 2 and panel.field(2, "kernel") is moved and moved.isVisible()
    assert [b.kernel for b in w.current_experiment().model.blocks] == [5, 5, 3, 5]
    assert panel.builder.item(2).text().startswith("conv3 · 64 filters 3×3")
    click(qtbot, panel.up)
    assert panel.field(1, "kernel") is moved
    type_into(qtbot, moved, "0")  # flagged, its reason under it: then the layer goes
    assert_flagged(w, panel, 1, "kernel", "conv2 kernel", "at least 1")
    click(qtbot, panel.remove)
    assert_clear(w, panel)  # the reason line outlives the layer it was under
    assert names(panel) == ["conv1", "conv2", "conv3", "fc1"] and panel.table.total == params
    assert w.current_experiment().model.blocks == shapes_cnn().model.blocks
    # a dense layer after fc1, then removed
    panel.select(3)
    click(qtbot, panel.add_dense)
    assert names(panel) == ["conv1", "conv2", "conv3", "fc1", "fc2"] and panel.selected() == 4
    assert w.current_experiment().model.fc == [1000, 100]
    click(qtbot, panel.remove)
    assert w.current_experiment().model.fc == [1000] and panel.selected() == 3
    # a convolution moved below the dense layer is flagged in its row
    panel.select(2)
    click(qtbot, panel.down)
    assert names(panel) == ["conv1", "conv2", "fc1", "conv3"]
    assert "cannot follow a fully-connected" in panel.builder.flagged(3)
    assert panel.problem.isVisible() and "conv3" in panel.problem.text()  # under the list
    assert not w.training_panel.start.isEnabled()
    click(qtbot, panel.up)
    assert_clear(w, panel)


def test_removing_every_layer_leaves_no_form(qtbot, window):
    w = window(cfg.with_overrides(presets.load("circles-mlp"), ["train.device=cpu"]))
    panel, _area = model_tab(w)
    assert names(panel) == ["hidden1"] and not panel.add_conv.isEnabled()
    click(qtbot, panel.remove)
    assert panel.builder.count() == 0 and not panel.layer_box.isVisible()
    assert w.current_experiment().model.hidden == []
    click(qtbot, panel.add_dense)
    assert names(panel) == ["hidden1"] and panel.field(0, "width").isVisible()
    assert w.current_experiment().model.hidden == [100]
