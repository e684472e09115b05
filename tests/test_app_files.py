"""Experiment files in the window: File → Open / Save / Save as / Open recent, a dropped .toml,
the title's file name and `*`, and a bad file that changes nothing."""

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog

import lab
from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
from core.experiment import config as cfg

ROOT = Path(__file__).resolve().parents[1]


def _action(w, text: str):
    return next(a for a in w.actions() if a.text() == text)


def _no_dialog(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("no file dialog expected")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", refuse)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", refuse)


def _saved(tmp_path, name: str, exp) -> Path:
    path = tmp_path / name
    cfg.save(exp, path)
    return path


def _answer(w, starts: str) -> None:
    box = w._question
    assert box is not None and box.isVisible(), "no question is open"
    next(b for b in box.buttons() if b.text().startswith(starts)).click()


def _drop(w, path: Path) -> tuple[bool, bool]:
    """Drag path onto the window and drop it; return (drag accepted, drop accepted)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    at = QPoint(w.width() // 2, w.height() // 2)
    enter = QDragEnterEvent(at, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(w, enter)
    drop = QDropEvent(at.toPointF(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(w, drop)
    return enter.isAccepted(), drop.isAccepted()


def test_save_as_writes_a_file_that_reloads_equal_and_trains_headless(window, tmp_path, monkeypatch):
    w = window(lab.circles(2, **{"optim.lr": 0.1, "model.hidden": "[7]"}))
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "mine"), "Experiment (*.toml)"))
    _action(w, "Save experiment").trigger()  # no file yet: it asks where (the suffix is added)
    path = tmp_path / "mine.toml"
    assert cfg.load(path) == w.current_experiment()
    assert "mine.toml" in w.windowTitle() and not w.isWindowModified()
    assert w.files.recent() == [path.resolve()]
    done = subprocess.run([sys.executable, "-m", "core", "train", str(path), "--epochs", "1",
                           "--device", "cpu", "--out", str(tmp_path / "runs")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [run] = (tmp_path / "runs").iterdir()  # the file's experiment, one epoch of it
    assert cfg.load(run / "config.toml") == cfg.with_overrides(cfg.load(path), ["train.epochs=1"])
    assert "after epoch 1:" in done.stdout


def test_the_title_has_a_star_while_the_settings_differ_from_the_file(window, tmp_path, monkeypatch):
    path = _saved(tmp_path, "circles.toml", lab.circles(3))
    w = window(lab.circles(5))
    assert w.files.open(path)
    assert "circles.toml[*]" in w.windowTitle() and not w.isWindowModified()
    w.training_panel.epochs.setValue(9)
    assert w.isWindowModified()
    w.training_panel.epochs.setValue(3)  # back as the file has it
    assert not w.isWindowModified()
    w.training_panel.epochs.setValue(9)
    _no_dialog(monkeypatch)  # Save writes to the file it came from
    _action(w, "Save experiment").trigger()
    assert not w.isWindowModified() and cfg.load(path).train.epochs == 9


def test_the_title_has_a_star_while_the_settings_differ_from_the_preset(window):
    """A preset or a run loaded into the panels is what a change is measured against too:
    conv1's filters turned from 32 to 29 shows in the title."""
    from core.experiment import presets
    w = window(presets.load("shapes-cnn"))
    assert "shapes-cnn[*]" in w.windowTitle() and not w.isWindowModified()
    w.training_panel.epochs.setValue(w.training_panel.epochs.value() + 1)
    assert w.isWindowModified()
    w.training_panel.epochs.setValue(w.training_panel.epochs.value() - 1)
    assert not w.isWindowModified()


def test_dropping_a_toml_on_the_window_opens_it(window, tmp_path):
    path = _saved(tmp_path, "shapes.toml", lab.tiny_shapes(2))
    w = window(lab.circles(1))
    other = tmp_path / "notes.txt"
    other.write_text("not an experiment")
    assert _drop(w, other) == (False, False)  # only .toml files are taken
    assert w.current_experiment().model.kind == "mlp"
    assert _drop(w, path) == (True, True)
    assert w.current_experiment() == cfg.load(path)
    assert "shapes.toml" in w.windowTitle()


def test_recent_files_keep_eight_newest_first_and_forget_a_missing_one(window, tmp_path):
    paths = [_saved(tmp_path, f"e{i}.toml", lab.circles(i + 1)) for i in range(9)]
    w = window(lab.circles(1), persist=True)
    for p in paths:
        assert w.files.open(p)
    newest = [p.resolve() for p in reversed(paths)][:8]
    assert w.files.recent() == newest
    assert [a.text() for a in w.files.recent_menu.actions()] == [p.name for p in newest]
    w.settings.sync()
    again = window(lab.circles(1))  # a new window reads the list from the settings
    assert again.files.recent() == newest
    before = again.current_experiment()
    paths[5].unlink()
    next(a for a in again.files.recent_menu.actions() if a.text() == "e5.toml").trigger()
    assert again.banner.isVisible() and "e5.toml" in again.banner.message()
    assert "removed from the recent files" in again.banner.message()
    assert paths[5].resolve() not in again.files.recent() and len(again.files.recent()) == 7
    assert again.current_experiment() == before


@pytest.mark.parametrize("text, words", [("[optim]\nlr = -1\n", "Learning rate η"),
                                         ("[model\nkind = 'cnn'\n", "not valid TOML")])
def test_a_bad_file_leaves_the_settings_unchanged_and_says_why(window, tmp_path, monkeypatch,
                                                               text, words):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    w = window(lab.circles(4))
    before, title = w.current_experiment(), w.windowTitle()
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a, **k: (str(bad), "Experiment (*.toml)"))
    _action(w, "Open experiment…").trigger()
    message = w.banner.message()
    assert w.banner.kind == "error" and "bad.toml" in message and words in message
    assert str(tmp_path) not in message  # the file's name, not its whole path
    assert w.current_experiment() == before and w.windowTitle() == title
    assert w.files.recent() == []


def test_opening_another_file_with_unsaved_changes_asks_first(window, tmp_path):
    first = _saved(tmp_path, "first.toml", lab.circles(3))
    second = _saved(tmp_path, "second.toml", lab.tiny_shapes(2))
    w = window(lab.circles(1))
    assert w.files.open(first)
    w.training_panel.epochs.setValue(11)
    _drop(w, second)
    _answer(w, "Cancel")  # keeps the changes
    assert w.current_experiment().train.epochs == 11 and "first.toml" in w.windowTitle()
    _drop(w, second)
    _answer(w, "Open")
    assert w.current_experiment() == cfg.load(second) and not w.isWindowModified()


def test_a_preset_leaves_no_file_to_save_to(window, tmp_path, monkeypatch):
    path = _saved(tmp_path, "circles.toml", lab.circles(3))
    w = window(lab.circles(1))
    assert w.files.open(path)
    _action(w, "shapes-cnn").trigger()  # Presets menu
    assert w.files.path is None and "shapes-cnn" in w.windowTitle()
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: asked.append(a) or ("", ""))
    _action(w, "Save experiment").trigger()
    assert asked and cfg.load(path).model.kind == "mlp"  # the file was not overwritten
