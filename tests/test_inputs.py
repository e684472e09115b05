"""Honest inputs: every editor shows a bad value as typed, outlined in red, with the engine's
reason in the window's words next to it, and Train disabled; nothing is clamped silently."""

from __future__ import annotations

import dataclasses
import os
import re
import stat

import pytest
from PySide6.QtCore import Qt

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from core.experiment import config as cfg
from core.experiment import presets
from core.data import registry
from core import ConfigError

PATH_WORDS = re.compile(r"\b(data|model|optim|train)\.\w+")  # 'optim.lr': a config name


def circles(**sets) -> cfg.Experiment:
    return lab.circles(150, **sets)


def tiny_shapes() -> cfg.Experiment:
    return lab.tiny_shapes(blocks=1)




def show_tab(w, panel) -> None:
    """Bring the Experiment tab that holds panel to the front (its labels become visible)."""
    for i in range(w.tabs.count()):
        if w.tabs.widget(i).widget() is panel:
            w.tabs.setCurrentIndex(i)
            return
    raise AssertionError("panel not in a tab")


def type_into(qtbot, editor, text: str, finish: bool = True) -> None:
    """Select everything in the editor, type text as a person does, and (finish) leave it."""
    editor.setFocus()
    line = editor.lineEdit() if hasattr(editor, "lineEdit") else editor
    qtbot.keyClick(line, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(line, text)
    if finish:  # Enter, then focus elsewhere: where Qt used to clamp or revert the text
        qtbot.keyClick(line, Qt.Key.Key_Return)
        editor.clearFocus()


def shown(editor) -> str:
    return (editor.lineEdit() if hasattr(editor, "lineEdit") else editor).text()


def assert_flagged(w, editor, reason_label, *words) -> None:
    """The editor is outlined, the label beside it says why in words, Train is off."""
    assert editor.property("invalid") is True
    assert reason_label.isVisible(), "the reason is not shown next to the editor"
    text = reason_label.text()
    for word in words:
        assert word in text, text
    assert not PATH_WORDS.search(text), f"a config name in the window: {text}"
    assert not PATH_WORDS.search(w.training_panel.problem.text()), w.training_panel.problem.text()
    assert w.training_panel.problem.isVisible()
    assert not w.training_panel.start.isEnabled() and not w.start_action.isEnabled()
    assert w.start_training() is False and not w.is_training()


def assert_clear(w, editor, reason_label) -> None:
    assert editor.property("invalid") is False
    assert not reason_label.isVisible()
    assert not w.training_panel.problem.isVisible()
    assert w.training_panel.start.isEnabled()


def test_a_negative_learning_rate_is_shown_flagged_and_blocks_train(qtbot, window):
    w = window(circles())
    panel, lr = w.optim_panel, w.optim_panel.lr
    show_tab(w, panel)
    type_into(qtbot, lr, "-0.1")
    assert shown(lr) == "-0.1" and lr.value() == -0.1  # as typed: no 1e-08
    assert_flagged(w, lr, panel.reason, "Learning rate η", "more than 0", "-0.1")
    assert "optim.lr" in lr.toolTip()  # the config name stays in the tooltip
    type_into(qtbot, lr, "0.05")
    assert lr.value() == 0.05 and w.current_experiment().optim.lr == 0.05
    assert_clear(w, lr, panel.reason)


def test_a_batch_size_of_zero_is_kept_and_flagged(qtbot, window):
    w = window(circles())
    panel, batch = w.optim_panel, w.optim_panel.batch
    show_tab(w, panel)
    type_into(qtbot, batch, "0")
    assert shown(batch) == "0" and batch.value() == 0  # it used to revert to 10
    assert_flagged(w, batch, panel.reason, "Batch size", "at least 1", "got 0")
    assert panel.steps.text() == "—"  # the hint waits rather than dividing by zero
    type_into(qtbot, batch, "20")
    assert w.current_experiment().train.batch_size == 20
    assert_clear(w, batch, panel.reason)


def test_dropout_one_is_not_turned_into_095(qtbot, window):
    w = window(circles())
    panel, dropout = w.optim_panel, w.optim_panel.dropout
    show_tab(w, panel)
    type_into(qtbot, dropout, "1")
    assert shown(dropout) == "1" and dropout.value() == 1.0
    assert_flagged(w, dropout, panel.reason, "Dropout p", "at most 0.95", "got 1")
    type_into(qtbot, dropout, "0")
    assert shown(dropout) == "off" and w.current_experiment().model.dropout == 0.0
    assert_clear(w, dropout, panel.reason)


@pytest.mark.parametrize("value, words", [("1", "at most 0.999"), ("-0.5", "at least 0")])
def test_momentum_out_of_its_range_is_flagged(qtbot, window, value, words):
    w = window(circles())
    panel = w.optim_panel
    show_tab(w, panel)
    type_into(qtbot, panel.momentum, value)
    assert shown(panel.momentum) == value
    assert_flagged(w, panel.momentum, panel.reason, "Momentum", words)
    assert panel.step.text() == "—"


def test_a_negative_train_size_is_flagged_on_the_data_tab(qtbot, window):
    w = window(circles())
    panel = w.data_panel
    n = panel.editors[("data", "n_train")]
    show_tab(w, panel)
    type_into(qtbot, n, "-5")
    assert shown(n) == "-5"
    assert_flagged(w, n, panel.reason, "Train size N", "at least 0")
    type_into(qtbot, n, "0")
    assert shown(n) == "all"
    assert_clear(w, n, panel.reason)


def test_half_typed_text_stays_shown_and_never_changes_the_value(qtbot, window):
    w = window(circles())
    panel, lr = w.optim_panel, w.optim_panel.lr
    show_tab(w, panel)
    type_into(qtbot, lr, "1e")  # Enter and focus out: Qt used to put the old value back silently
    # the box holds the last number typed ("1"), flagged until the text is a number again
    assert shown(lr) == "1e" and lr.value() == 1.0
    assert_flagged(w, lr, panel.reason, "Learning rate η", "'1e' is not a number")
    type_into(qtbot, lr, "-")
    assert shown(lr) == "-" and lr.value() == 1.0
    assert_flagged(w, lr, panel.reason, "'-' is not a number")
    # typing on to a number takes it, and the flag goes
    type_into(qtbot, lr, "1e-3")
    assert lr.value() == 0.001 and shown(lr) == "0.001"  # the same number, written plainly
    assert_clear(w, lr, panel.reason)
    # loading an experiment replaces half-typed text
    type_into(qtbot, lr, "2.")
    assert lr.value() == 2.0
    type_into(qtbot, lr, "abc")
    w.load_experiment(circles())
    assert shown(lr) == "0.03" and lr.property("invalid") is False


def test_half_typed_whole_number_is_flagged(qtbot, window):
    w = window(circles())
    panel, batch = w.optim_panel, w.optim_panel.batch
    show_tab(w, panel)
    type_into(qtbot, batch, "2.5")
    assert shown(batch) == "2.5" and batch.value() == 2  # the last whole number typed
    assert_flagged(w, batch, panel.reason, "Batch size", "not a whole number")
    qtbot.keyClick(batch, Qt.Key.Key_Up)  # the arrows step from the value the box holds
    assert batch.value() == 3 and shown(batch) == "3"
    assert_clear(w, batch, panel.reason)


def test_a_missing_data_folder_is_flagged_in_words(qtbot, window, tmp_path):
    w = window(tiny_shapes())
    panel = w.data_panel
    show_tab(w, panel)
    panel.dataset.setCurrentIndex(panel.dataset.findData("folder"))
    edit = panel.root.edit
    # an empty folder path: the engine's rule for an image-folder data set
    assert_flagged(w, edit, panel.reason, "Data folder", "needs the folder")
    missing = tmp_path / "no-such-folder"
    type_into(qtbot, edit, str(missing))
    assert edit.text() == str(missing)
    assert_flagged(w, edit, panel.reason, "Data folder", "does not exist")
    assert "data.root" in edit.toolTip()
    (tmp_path / "imgs" / "a").mkdir(parents=True)
    type_into(qtbot, edit, str(tmp_path / "imgs"))
    assert_clear(w, edit, panel.reason)
    # the optional test folder too
    type_into(qtbot, panel.test_root.edit, str(missing))
    assert_flagged(w, panel.test_root.edit, panel.reason, "Test folder", "does not exist")
    panel.test_root.edit.clear()
    assert_clear(w, panel.test_root.edit, panel.reason)


def test_a_dense_width_of_zero_is_flagged_in_its_cell(qtbot, window):
    w = window(circles())
    model = w.model_panel
    show_tab(w, model)
    model.select(0)
    cell = model.field(0, "width")
    type_into(qtbot, cell, "0")
    assert shown(cell) == "0" and cell.value() == 0  # the cell used to stop at 1
    assert_flagged(w, cell, model.problem, "hidden1", "at least 1", "got 0")
    type_into(qtbot, cell, "x")
    assert_flagged(w, cell, model.problem, "hidden1", "'x' is not a whole number")
    type_into(qtbot, cell, "12")
    assert w.current_experiment().model.hidden == [12]
    assert_clear(w, cell, model.problem)


def test_a_conv_kernel_larger_than_its_input_is_flagged_in_its_row(qtbot, window):
    w = window(tiny_shapes())
    model = w.model_panel
    show_tab(w, model)
    model.select(0)
    kernel = model.field(0, "kernel")
    type_into(qtbot, kernel, "40")
    assert shown(kernel) == "40"
    assert_flagged(w, kernel, model.problem, "conv1", "kernel 40 is larger than its padded input")
    type_into(qtbot, kernel, "0")  # the field's own rule, before any layer table
    assert_flagged(w, kernel, model.problem, "conv1 kernel", "at least 1")
    stride = model.field(0, "stride")
    type_into(qtbot, kernel, "3")
    type_into(qtbot, stride, "0")  # no layer table can be built: no ZeroDivisionError either
    assert_flagged(w, stride, model.problem, "conv1 stride", "at least 1")
    assert kernel.property("invalid") is False
    type_into(qtbot, stride, "1")
    assert_clear(w, stride, model.problem)


def test_a_model_field_problem_is_flagged_on_its_own_editor(qtbot, window):
    w = window(circles())
    panel = w.model_panel
    show_tab(w, panel)
    init = panel.editors[("model", "init_std")]
    type_into(qtbot, init, "-1")
    assert_flagged(w, init, panel.reason, "Init σ", "at least 0")
    assert not panel.problem.isVisible()  # the builder's own line stays for the builder
    type_into(qtbot, init, "0.3")
    assert_clear(w, init, panel.reason)


def test_a_crop_larger_than_the_images_is_flagged_before_training(qtbot, window):
    w = window(tiny_shapes())
    panel = w.data_panel
    show_tab(w, panel)
    type_into(qtbot, panel.crop, "40")
    assert_flagged(w, panel.crop, panel.reason, "Random crop", "does not fit in 32×32")
    type_into(qtbot, panel.crop, "28")
    assert_clear(w, panel.crop, panel.reason)


def test_epochs_in_the_training_bar_are_flagged(qtbot, window):
    w = window(circles())
    epochs = w.training_panel.epochs
    type_into(qtbot, epochs, "0")
    assert shown(epochs) == "0" and epochs.property("invalid") is True
    text = w.training_panel.problem.text()
    assert "Epochs: must be at least 1" in text and not PATH_WORDS.search(text)
    assert w.start_training() is False
    type_into(qtbot, epochs, "3")
    assert w.training_panel.start.isEnabled()


def test_every_config_field_has_a_label_for_messages():
    from app.form import in_words
    for section, cls in list(cfg.SECTIONS.items()) + [("block", cfg.ConvBlock)]:
        for f in dataclasses.fields(cls):
            assert f.metadata.get("label"), f"{section}.{f.name} has no label"
    for section, cls in cfg.SECTIONS.items():
        for f in dataclasses.fields(cls):  # a message names the field by it, not by its path
            said = in_words(f"{section}.{f.name}: must be >= 1, got 0")
            assert said.startswith(cfg.field_label(section, f.name) + ":"), said


def test_messages_read_in_words_and_keep_the_cli_path():
    from app.form import in_words
    with pytest.raises(ConfigError) as e:
        cfg.with_overrides(presets.load("circles-mlp"), ["optim.lr=-0.1"])
    assert str(e.value) == "optim.lr: must be > 0.0, got -0.1"  # the CLI's sentence
    assert in_words(str(e.value)) == "Learning rate η: must be more than 0, got -0.1"
    assert (in_words("optim.nesterov: needs optim.momentum > 0, got momentum 0.0")
            .startswith("Nesterov: needs Momentum > 0"))
    assert in_words("model.blocks[1].pool_size: must be >= 1, got 0") == \
        "conv2 pool size: must be at least 1, got 0"
    assert in_words("data.root: /home/me/data.root/x does not exist") == \
        "Data folder: /home/me/data.root/x does not exist"  # a path's own dots stay


def test_an_image_only_setting_on_2d_points_flags_that_editor(qtbot, window):
    w = window(circles())
    panel = w.data_panel
    exp = circles()
    exp.data.standardize = "zca"  # as an old settings file may hold; the combo disables zca
    w.load_experiment(exp)
    std, crop = panel.editors[("data", "standardize")], panel.editors[("data", "crop")]
    assert std.property("invalid") is True and crop.property("invalid") is False
    assert w.training_panel.problem.text().startswith("⚠ Standardise: ZCA")


def test_space_pauses_and_resumes_while_a_number_field_has_focus(qtbot, window):
    w = window(circles())
    lr = w.optim_panel.lr
    show_tab(w, w.optim_panel)
    before = lr.value()
    assert w.start_training()
    qtbot.waitUntil(lambda: len(w.plots.records) >= 1, timeout=20_000)
    lr.setFocus()
    qtbot.waitUntil(lr.hasFocus, timeout=2000)
    qtbot.keyClick(lr, Qt.Key.Key_Space)
    assert w.session.paused
    qtbot.keyClick(lr, Qt.Key.Key_Space)
    assert not w.session.paused
    assert lr.value() == before and shown(lr) == "0.03"  # no space typed into the number
    with qtbot.waitSignal(w.run_finished, timeout=10_000):
        w.stop_training()


def test_a_saved_experiment_honours_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "exp.toml"
        cfg.save(presets.load("circles-mlp"), target)
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        os.umask(0o077)
        cfg.save(presets.load("circles-mlp"), target)  # a new file replaces the old one
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    finally:
        os.umask(old)
    assert cfg.load(target) == presets.load("circles-mlp")
    assert [p.name for p in tmp_path.iterdir()] == ["exp.toml"]  # no temporary left behind


def test_the_engine_rejects_a_crop_larger_than_the_images():
    shapes = presets.load("shapes-cnn")
    with pytest.raises(ConfigError, match=r"data\.crop: a 40×40 crop does not fit in 32×32 images"):
        cfg.with_overrides(shapes, ["data.crop=40"])
    assert cfg.with_overrides(shapes, ["data.crop=36", "data.crop_padding=2"]).data.crop == 36


def test_the_engine_names_a_missing_image_folder(tmp_path):
    exp = cfg.with_overrides(presets.load("shapes-cnn"),
                             ["data.dataset=folder", f"data.root='{tmp_path / 'nowhere'}'"])
    with pytest.raises(ConfigError, match=r"^data\.root: .*nowhere does not exist"):
        registry.check_folders(exp.data)
    (tmp_path / "imgs").mkdir()
    (tmp_path / "file.txt").write_text("x")
    exp.data.root, exp.data.test_root = str(tmp_path / "imgs"), str(tmp_path / "file.txt")
    with pytest.raises(ConfigError, match=r"^data\.test_root: .*file\.txt is a file, not a folder"):
        registry.check_folders(exp.data)
    exp.data.test_root = ""
    registry.check_folders(exp.data)  # no error: the folder is there
    with pytest.raises(ConfigError, match="image-folder data set needs the folder"):
        cfg.with_overrides(presets.load("shapes-cnn"), ["data.dataset=folder"])
