"""No clipped text, and every failure the CLI reports appears in the window: the
confusion examples, the gradient-check and layer tables in their narrow docks, the N sweep's
log axis, a corrupt JPEG in an image folder, a corrupt image opened in Feature maps, and
layer health under Part 1's hand-written implementations."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QImage, QPainter
from PySide6.QtWidgets import QStyle, QVBoxLayout, QWidget

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from core.experiment import config as cfg
from core.experiment import presets

CLASSES = ("arrow-left", "arrow-right", "circle")  # long names, as Shapes-10 has


def image_folder(root: Path) -> Path:
    """Three classes of eight small random images (PNG and JPEG) and one corrupt JPEG."""
    rng = np.random.default_rng(0)
    for c in CLASSES:
        (root / c).mkdir(parents=True)
        for k in range(8):
            pixels = rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / c / (f"{k}.png" if k % 2 else f"{k}.jpg"))
    (root / "circle" / "broken.jpg").write_bytes(os.urandom(600))
    return root


def folder_cnn(root: Path) -> cfg.Experiment:
    exp = cfg.with_overrides(presets.load("shapes-cnn"), [
        "data.dataset=folder", f"data.root='{root}'", "data.image_size=16", "data.n_train=0",
        "data.n_test=9", "train.epochs=1", "train.batch_size=8", "train.device=cpu", "model.fc=[8]"])
    exp.model.blocks = [cfg.ConvBlock(channels=4, kernel=3, padding=1),
                        cfg.ConvBlock(channels=8, kernel=3, padding=1)]
    return cfg.validate(exp)


def circles(**sets) -> cfg.Experiment:
    return lab.circles(2, **sets)


@pytest.fixture(scope="module")
def folder_window(qapp, request, tmp_path_factory):
    """One window that trained a tiny CNN on an image folder holding a corrupt JPEG."""
    import pytestqt.qtbot
    from app.window import MainWindow
    saved = {k: os.environ.get(k) for k in ("LEARNSCOPE_SETTINGS", "LEARNSCOPE_CACHE")}
    os.environ["LEARNSCOPE_SETTINGS"] = str(tmp_path_factory.mktemp("settings") / "settings.ini")
    os.environ["LEARNSCOPE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    root = image_folder(tmp_path_factory.mktemp("data") / "imgs")
    w = MainWindow(folder_cnn(root), persist=False, run_root=tmp_path_factory.mktemp("runs"))
    w.show()
    bot = pytestqt.qtbot.QtBot(request)
    with bot.waitSignal(w.run_finished, timeout=60_000) as blocker:
        assert w.start_training()
    assert blocker.args[0].status == "done", blocker.args[0].message
    w.folder = root
    yield w
    w.shutdown(5000)
    w.close()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v




def text_margin(widget) -> int:
    """Pixels an item view keeps on each side of an item's text (Qt's item text margin)."""
    return widget.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1


def in_width(qtbot, widget, width: int, height: int = 480) -> QWidget:
    host = QWidget()
    QVBoxLayout(host).addWidget(widget)
    qtbot.addWidget(host)
    host.resize(width, height)
    host.show()
    qtbot.waitExposed(host)
    return host


# -- unreported failures -------------------------------------------------------------------------

def test_a_corrupt_jpeg_in_the_folder_is_named_in_a_warning(folder_window):
    w = folder_window
    assert w.fit_info.skipped == 1 and w.fit_info.skipped_files == (os.path.join("circle", "broken.jpg"),)
    assert w.banner.isVisible() and w.banner.kind == "warning"
    text = w.banner.message()
    assert "1 file in the image folder is not a readable image and was skipped" in text
    assert "circle/broken.jpg" in text


def test_the_loader_names_the_skipped_files_and_its_cache_keeps_them(tmp_path, monkeypatch):
    from core.data import vision
    root = image_folder(tmp_path / "imgs")
    (root / "circle" / "notes.txt").write_text("not an image")
    first = vision.load_image_folder(root, 8, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(vision, "_decode_all", lambda *a: pytest.fail("decoded again"))
    again = vision.load_image_folder(root, 8, cache_dir=tmp_path / "cache")  # from the cache
    for s in (first, again):
        assert s.skipped == 2
        assert s.skipped_files == (os.path.join("circle", "broken.jpg"), os.path.join("circle", "notes.txt"))


def test_several_skipped_files_are_counted_and_the_first_named():
    from app.messages import skipped_files
    title, text = skipped_files(12, ("a/x.jpg", "a/y.jpg", "b/z.txt", "b/w.txt"))
    assert title == "Some files were left out."
    assert "12 files in the image folder are not readable images and were skipped" in text
    assert "a/x.jpg, a/y.jpg, b/z.txt and 9 more" in text


def test_feature_maps_say_why_a_corrupt_image_cannot_be_opened(qtbot, folder_window, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog
    w = folder_window
    w.inspect.select("feature-maps")
    v = w.inspect.views["feature-maps"]
    v.tick(force=True)
    qtbot.waitUntil(lambda: v._stack.currentWidget() is v.body, timeout=5_000)
    good = tmp_path / "mine.png"
    Image.fromarray(np.full((30, 30, 3), 90, np.uint8)).save(good)
    assert v.open_image(str(good))
    mine = v.file_image
    assert v.raw_image()[1] == "mine.png"
    broken = w.folder / "circle" / "broken.jpg"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(broken), ""))
    qtbot.mouseClick(v.open, Qt.MouseButton.LeftButton)
    caption = v.caption.text()
    assert "Cannot open broken.jpg: it could not be decoded as an image" in caption
    assert "Still showing mine.png" in caption
    assert v.file_image is mine  # not silently back to test #0
    assert v.open_image(str(tmp_path / "gone.png")) is False
    assert "Cannot open gone.png: there is no such file" in v.caption.text()
    v.index.setValue(1)  # picking an example of a split clears the sentence
    assert v.caption.text().startswith("Click a unit")


def test_layer_health_explains_why_manual_shows_nothing(qtbot, window):
    w = window(circles(**{"model.implementation": "manual"}))
    w.inspect.select("health")
    v = w.inspect.views["health"]
    with qtbot.waitSignal(w.run_finished, timeout=30_000):
        assert w.start_training()
    v.tick(force=True)
    assert v._stack.currentWidget() is v.message
    assert "hand-written implementation (Part 1: 'manual')" in v.message.text()
    assert "Switch Part 1's implementation to 'nn' or 'optim'" in v.message.text()


def test_layer_health_under_autograd_says_only_gradients_are_measured(qtbot, window):
    w = window(circles(**{"model.implementation": "autograd"}))
    w.inspect.select("health")
    v = w.inspect.views["health"]
    with qtbot.waitSignal(w.run_finished, timeout=30_000):
        assert w.start_training()
    v.tick(force=True)
    assert v._stack.currentWidget() is v.body
    assert not v.note.isHidden() and "only the gradient norms are measured" in v.note.text()
    per = v.values["hidden1"]
    assert np.isfinite(per["grad_norm"]).all() and np.isnan(per["act_mean"]).all()


def test_layer_health_under_nn_has_no_note(qtbot, window):
    w = window(circles(**{"model.implementation": "nn"}))
    w.inspect.select("health")
    v = w.inspect.views["health"]
    with qtbot.waitSignal(w.run_finished, timeout=30_000):
        assert w.start_training()
    v.tick(force=True)
    assert v._stack.currentWidget() is v.body and v.note.isHidden()


@pytest.mark.parametrize("images", [False, True])
def test_receptive_field_of_an_mlp_says_why_in_words(qtbot, window, images):
    exp = circles() if not images else cfg.with_overrides(presets.load("shapes-cnn"), [
        "model.kind=mlp", "model.hidden=[8]", "model.fc=[]", "data.n_train=32", "data.n_test=32",
        "train.epochs=1", "train.batch_size=32", "train.device=cpu", "optim.momentum=0"])
    if images:
        exp.model.blocks = []
        exp = cfg.validate(exp)
    w = window(exp)
    w.inspect.select("receptive-field")
    v = w.inspect.views["receptive-field"]
    with qtbot.waitSignal(w.run_finished, timeout=30_000):
        assert w.start_training()
    v.tick(force=True)
    assert v._stack.currentWidget() is v.message
    assert v.message.text() == (
        "Receptive fields are drawn for the units of convolution layers, and this network has "
        "none: every unit of an MLP sees the whole image." if images else
        "Receptive fields are patches of an input image; these data are 2D points.")


# -- no clipped text -----------------------------------------------------------------------------

def test_confusion_examples_show_their_whole_probabilities(qtbot, folder_window):
    w = folder_window
    w.inspect.select("confusion")
    v = w.inspect.views["confusion"]
    v.tick(force=True)
    qtbot.waitUntil(lambda: v._stack.currentWidget() is v.body, timeout=5_000)
    # the Inspect dock's width, and a larger font (as on a projector), where a fixed grid elided
    # "P(arrow-left) 0.87" to "P(arrow-left) 0…."
    font = QFont(v.examples.font())
    font.setPointSize(12)
    v.examples.setFont(font)
    dock = w.inspect.width()
    try:
        w.inspect.resize(480, w.inspect.height())
        wrong = v.counts - np.diag(np.diag(v.counts))  # a wrong cell lists two probabilities
        r, c = np.unravel_index(np.argmax(wrong if wrong.any() else v.counts), v.counts.shape)
        v.show_cell(int(r), int(c))
        assert v.examples.count() == v.counts[r, c] > 0
        fm = v.examples.fontMetrics()
        for k in range(v.examples.count()):
            item = v.examples.item(k)
            lines = item.text().split("\n")
            assert len(lines) == (3 if r != c else 2)
            assert all(re.fullmatch(r"P\((arrow-left|arrow-right|circle)\) [01]\.\d\d", line)
                       for line in lines[1:]), lines
            rect = v.examples.visualRect(v.examples.indexFromItem(item))
            need = max(fm.horizontalAdvance(line) for line in lines) + 2 * text_margin(v.examples)
            assert rect.width() >= need, (item.text(), rect.width(), need)
            assert rect.height() >= 64 + len(lines) * fm.height()
    finally:
        v.examples.setFont(QFont())
        w.inspect.resize(dock, w.inspect.height())


@pytest.mark.parametrize("styled", [False, True])
def test_gradcheck_table_fits_the_experiment_dock_unclipped(qtbot, styled):
    from app.style import QSS
    from app.views import gradcheck as gc
    rows, _, _ = gc.check(circles(**{"model.hidden": "[10, 10]"}))
    table = gc.GradcheckTable()
    table.show_rows(rows)
    host = QWidget()
    QVBoxLayout(host).addWidget(table)
    if styled:  # the window's style sheet: 11 pt text, bold padded headers
        host.setStyleSheet(QSS)
    qtbot.addWidget(host)
    host.resize(320, 400)  # the Part 1 panel's table in an Experiment dock 320-400 px wide
    host.show()
    qtbot.waitExposed(host)
    h = table.horizontalHeader()
    assert h.length() <= table.viewport().width()
    for j in range(table.columnCount()):
        assert h.sectionSizeFromContents(j).width() <= h.sectionSize(j), gc.HEADERS[j]
        assert table.sizeHintForColumn(j) <= h.sectionSize(j), gc.HEADERS[j]
    fm = table.fontMetrics()
    for i in range(table.rowCount()):
        for j in (1, 2, 3):
            item = table.item(i, j)
            assert re.fullmatch(r"\de-\d\d", item.text())
            assert re.fullmatch(r"\d\.\d\de-\d\d", item.toolTip())  # the exact value on hover
            assert fm.horizontalAdvance(item.text()) + 2 * text_margin(table) <= h.sectionSize(j)
    assert [table.item(i, 0).text() for i in range(table.rowCount())] == \
        ["W_1", "b_1", "W_2", "b_2", "W_y", "b_y"]  # as the equations write them
    assert table.item(0, 0).toolTip() == "hidden1.weight, 10×2: all 20 entries checked"
    assert table.marks() == ["✔"] * 6


def test_gradcheck_symbols_follow_the_equations():
    from app.views.gradcheck import symbol
    assert symbol("hidden1.weight", 1) == "W_h" and symbol("hidden1.bias", 1) == "b_h"
    assert symbol("hidden2.weight", 2) == "W_2" and symbol("output.bias", 2) == "b_y"
    assert symbol("odd.thing", 1) == "odd.thing"


@pytest.mark.parametrize("styled", [False, True])
def test_the_layer_table_of_the_practical_cnn_fits_360_px(qtbot, styled):
    from app.panels.model import ModelPanel
    from app.style import QSS
    from app.views.layers import HEADERS
    exp = presets.load("shapes-cnn")
    panel = ModelPanel()
    panel.load(exp)
    assert panel.show_layers(exp) is None
    table = panel.table
    table.setFixedSize(360, 300)  # short enough to need its vertical scroll bar, as in the dock
    host = QWidget()
    QVBoxLayout(host).addWidget(panel)
    if styled:  # the window's style sheet: 11 pt text, bold headers
        host.setStyleSheet(QSS)
    qtbot.addWidget(host)
    host.resize(400, 700)
    host.show()
    qtbot.waitExposed(host)
    assert table.verticalScrollBar().isVisible()
    for _ in range(2):  # the widest numbers (fc1's, the total) are in the last rows
        assert table.horizontalScrollBar().maximum() == 0
        assert table.horizontalHeader().length() <= table.viewport().width()
        table.scrollToBottom()
    shown = [h for j, h in enumerate(HEADERS) if not table.isColumnHidden(j)]
    # at 11 pt the jump steps aside (it is in each row's tooltip), never the counts
    assert shown == (["layer", "output", "weights", "biases", "RF"] if styled else HEADERS)
    rf = [table.item(i, 4).text() for i in range(table.rowCount())]
    assert rf[:4] == ["1", "5", "5", "6"]  # input, conv1, relu1, pool1: sides in pixels
    assert "2,400 weights + 32 biases = 2,432 parameters" in table.item(1, 0).toolTip()
    assert table.total == 1_191_170


def test_a_narrower_layer_table_leaves_out_jump_and_output_rather_than_the_counts(qtbot):
    from app.views.layers import HEADERS, LayerTableView
    from app.experiment import input_shape
    from core.nets.models import layer_table
    exp = presets.load("shapes-cnn")
    table = LayerTableView()
    table.show_rows(layer_table(exp.model, *input_shape(exp)))
    host = in_width(qtbot, table, 360, 300)  # noqa: F841  (kept alive while it is measured)
    shown = lambda: [h for j, h in enumerate(HEADERS) if not table.isColumnHidden(j)]  # noqa: E731
    assert shown() == HEADERS
    slack = table.viewport().width() - table.horizontalHeader().length()
    host.resize(host.width() - slack - 10, 300)  # a few pixels short of all six
    qtbot.waitUntil(lambda: "jump" not in shown())
    assert shown() == ["layer", "output", "weights", "biases", "RF"]
    table.scrollToBottom()
    assert table.horizontalScrollBar().maximum() == 0
    assert "conv1: 2,400 weights + 32 biases" in table.item(1, 0).toolTip()
    assert "jump 1" in table.item(1, 0).toolTip()  # still there
    host.resize(250, 300)  # the Model tab's table in a 1280×720 window: the counts stay
    qtbot.waitUntil(lambda: "output" not in shown())
    assert shown() == ["layer", "weights", "biases", "RF"]
    assert table.horizontalScrollBar().maximum() == 0
    assert f"output {table.item(1, 1).text()}" in table.item(1, 0).toolTip()
    host.resize(420, 300)
    qtbot.waitUntil(lambda: shown() == HEADERS)


# -- the N sweep's log axis ----------------------------------------------------------------------

def drawn_labels(axis) -> list[tuple[float, float, str]]:
    """Return the (left, right, text) of every tick label the axis draws, left to right."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return sorted((r.left(), r.right(), text) for r, _, text in specs[2] if text)


@pytest.mark.parametrize("width", [300, 420, 700])
def test_the_n_sweep_labels_its_log_axis_at_the_sizes_without_overlap(qtbot, window, width):
    from core.study import sweeps
    from core.engine.records import EpochRecord, SplitMetrics
    from core.engine.train import FitResult
    w = window(circles())
    p = w.part1_panel
    w.tabs.setCurrentIndex(next(i for i in range(w.tabs.count()) if w.tabs.tabText(i) == "Part 1"))
    sizes = (10, 20, 50, 100, 200, 500, 1000)
    runs = sweeps.sweep("n", w.current_experiment())  # N = 10 … 1000
    assert [e.data.n_train for e in runs] == list(sizes)
    results = [(e, FitResult("done", last=EpochRecord(
        e.train.epochs, e.optim.lr, SplitMetrics(0.5, 60.0 + k), 0.1, 1e3, test=SplitMetrics(0.6, 55.0 + k))))
        for k, e in enumerate(runs)]
    p._sweep_finished("n", results)
    p.n_plot.setFixedWidth(width)
    qtbot.waitUntil(lambda: p.n_plot.isVisible() and p.n_plot.width() == width)
    labels = drawn_labels(p.n_plot.getAxis("bottom"))
    texts = [t for _, _, t in labels]
    assert texts[0] == "10" and texts[-1] == "1,000", texts
    assert set(texts) <= {f"{n:,}" for n in sizes}
    for (_, right, a), (left, _, b) in zip(labels, labels[1:]):
        assert right < left, (a, b)
    if width >= 420:
        assert len(texts) == len(sizes)
