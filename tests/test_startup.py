"""Start-up: a window before PyTorch loads, the probe benchmarks/startup.py reads, and the
check `make run` makes for the X libraries Qt's xcb plugin needs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)

ROOT = Path(__file__).resolve().parents[1]
THREE = ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1")


# -- the X libraries (app/xlibs.py): no Qt, the lookup injected

def test_missing_x_libraries_are_named_in_one_apt_get_line():
    from app import xlibs
    absent = xlibs.missing(lambda name: name not in THREE)
    assert absent == list(THREE)
    text = xlibs.message(absent)
    installs = [line.strip() for line in text.splitlines() if "apt-get install" in line]
    assert installs == ["sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"]
    assert "libxcb-keysyms.so.1" in text  # the file too, for other systems


def test_make_run_stops_before_launching_when_a_library_is_missing(monkeypatch, capsys):
    from app import xlibs
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(xlibs, "not_found_by_ldd", lambda plugin: [])
    monkeypatch.setattr(xlibs.sys, "platform", "linux")
    assert xlibs.main(lambda name: name != "libxcb-icccm.so.4") == 1
    err = capsys.readouterr().err
    assert "1 X library that is not installed: libxcb-icccm.so.4" in err
    assert "sudo apt-get install libxcb-icccm4\n" in err
    assert xlibs.main(lambda name: True) == 0
    assert capsys.readouterr().err == ""


def test_a_library_the_plugin_reports_beyond_the_list_is_named_by_its_file():
    from app import xlibs
    text = xlibs.message(xlibs.missing(lambda name: True, extra=["libxcb-future.so.2"]))
    assert "libxcb-future.so.2" in text and "apt-get" not in text


@pytest.mark.skipif(not (sys.platform.startswith("linux") and shutil.which("gcc") and shutil.which("ldd")),
                    reason="builds a small shared library with gcc and asks ldd")
def test_ldd_names_a_library_the_plugin_cannot_find(tmp_path):
    """A plugin linked against a library that is then removed, as libqxcb.so on a bare system."""
    from app import xlibs
    (tmp_path / "gone.c").write_text("int gone(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text("int gone(void); int plugin(void) { return gone(); }\n")
    for args in (["-o", "libgone.so", "-Wl,-soname,libgone-learnscope.so.1", "gone.c"],
                 ["-o", "plugin.so", "plugin.c", "-L.", "-lgone"]):
        subprocess.run(["gcc", "-shared", "-fPIC", *args], cwd=tmp_path, check=True, timeout=60)
    (tmp_path / "libgone.so").unlink()
    assert xlibs.not_found_by_ldd(tmp_path / "plugin.so") == ["libgone-learnscope.so.1"]


def test_the_check_runs_only_where_qt_uses_xcb():
    from app.xlibs import needs_check
    assert needs_check("linux", {}) and needs_check("linux", {"QT_QPA_PLATFORM": "xcb"})
    assert not needs_check("linux", {"QT_QPA_PLATFORM": "offscreen"})
    assert not needs_check("darwin", {}) and not needs_check("win32", {})


def test_the_default_lookup_finds_the_c_library_and_not_a_made_up_one():
    from app import xlibs
    found = xlibs.default_lookup()
    assert found("libc.so.6") and not found("libno-such-learnscope-lib.so.9")


def test_make_run_checks_the_libraries_before_it_launches_the_app():
    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "-m app.xlibs" in recipe and "learnscope" in recipe
    assert recipe.index("-m app.xlibs") < recipe.index("/learnscope")


def test_the_check_imports_no_qt():
    done = subprocess.run([sys.executable, "-c", "import sys, app.xlibs; "
                           "print(sorted(m for m in sys.modules if m.startswith('PySide6')))"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- the first window

def test_first_window_says_pytorch_is_loading_and_hands_over(qtbot):
    from PySide6.QtWidgets import QApplication, QLabel, QWidget

    from app.settings import open_settings
    from app.startup import MESSAGE, FirstWindow
    first = FirstWindow(open_settings())
    qtbot.addWidget(first)
    assert not first.had_geometry  # a first launch: nothing saved
    assert first.show_now(QApplication.instance())
    assert first.isVisible() and first.windowTitle() == "LearnScope"
    assert MESSAGE in [label.text() for label in first.findChildren(QLabel)]
    main = QWidget()
    qtbot.addWidget(main)
    first.hand_over(main)
    assert main.isVisible() and not first.isVisible()


def test_first_window_takes_the_main_windows_saved_geometry(qtbot):
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QWidget

    from app.settings import open_settings
    from app.startup import FirstWindow
    before = QWidget()
    qtbot.addWidget(before)
    before.setGeometry(30, 20, 600, 400)  # inside the offscreen screen (800×600)
    settings = open_settings()
    settings.setValue("window/geometry", before.saveGeometry())
    settings.setValue("window/size", before.size())
    first = FirstWindow(settings)
    qtbot.addWidget(first)
    assert first.had_geometry and first.size() == before.size()
    settings.setValue("window/size", QSize(3000, 2000))  # saved on a larger screen: dropped
    again = FirstWindow(settings)
    qtbot.addWidget(again)
    assert not again.had_geometry and again.size() != before.size()


def test_first_window_opens_where_the_main_window_will(qtbot):
    from app.settings import open_settings
    from app.startup import FirstWindow
    from app.window import MainWindow
    first = FirstWindow(open_settings())
    qtbot.addWidget(first)
    main = MainWindow(persist=False)
    qtbot.addWidget(main)
    assert main.windowState() == first.windowState()
    if not first.isMaximized():
        assert (main.pos(), main.size()) == (first.pos(), first.size())


PLACES = """
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.settings import open_settings
from app.startup import FirstWindow
first = FirstWindow(open_settings())
from app.window import MainWindow
main = MainWindow(persist=False)
for w in (first, main):
    print(w.isMaximized(), w.pos().toTuple(), w.size().toTuple())
"""


def test_on_a_1920x1080_screen_the_first_window_has_the_main_windows_place(tmp_path):
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"screens": [{"name": "hd", "x": 0, "y": 0, "width": 1920,
                                               "height": 1080, "logicalDpi": 96, "dpr": 1}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={screen}",
               LEARNSCOPE_SETTINGS=str(tmp_path / "s.ini"))
    done = subprocess.run([sys.executable, "-c", PLACES], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    first, main = done.stdout.strip().splitlines()[-2:]
    assert first.startswith("False (") and first == main  # not maximised: a size of its own


def probe_env(tmp_path, **extra) -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path),
                XDG_DATA_HOME=str(tmp_path / "data"), LEARNSCOPE_SETTINGS=str(tmp_path / "s.ini"),
                LEARNSCOPE_STARTUP_PROBE=str(tmp_path / "probe.jsonl"), **extra)


def test_the_window_is_on_screen_before_torch_is_imported_then_train_plots(tmp_path):
    """`learnscope` in its own process, as benchmarks/startup.py runs it, pressing Train at once."""
    done = subprocess.run([sys.executable, "-m", "app.main", "--preset", "circles-mlp"],
                          env=probe_env(tmp_path, LEARNSCOPE_STARTUP_TRAIN="0"), cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    marks = [json.loads(line) for line in (tmp_path / "probe.jsonl").read_text().splitlines()]
    assert [m["event"] for m in marks] == ["window", "main", "train", "first_point"]
    window, main, train, point = marks
    assert not window["torch"] and main["torch"]
    assert window["t"] <= main["t"] <= train["t"] <= point["t"]
    assert not any(m["torchvision"] for m in marks)  # only image datasets need it


def test_without_train_the_probe_quits_after_the_main_window(tmp_path):
    done = subprocess.run([sys.executable, "-m", "app.main", "--preset", "circles-mlp"],
                          env=probe_env(tmp_path), cwd=ROOT, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line)["event"] for line in (tmp_path / "probe.jsonl").read_text().splitlines()]
    assert events == ["window", "main"]


def test_a_wrong_preset_is_answered_before_any_window(tmp_path):
    done = subprocess.run([sys.executable, "-m", "app.main", "--preset", "no-such-preset"],
                          env=probe_env(tmp_path), cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "no-such-preset" in done.stderr
    assert not (tmp_path / "probe.jsonl").exists()


# -- what the main window's build imports

def test_the_layer_table_does_not_import_torch_dynamo():
    """layer_table builds on the meta device; normal_ there would import torch._dynamo (2 s)."""
    code = ("import sys; from app.experiment import input_shape; from core.experiment import presets; "
            "from core.nets.models import layer_table; e = presets.load('circles-mlp'); "
            "assert e.model.init_std > 0; rows = layer_table(e.model, *input_shape(e)); "
            "print(len(rows), 'torch._dynamo' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    n, dynamo = done.stdout.split()
    assert int(n) > 2 and dynamo == "False"


def test_a_real_network_still_gets_the_labs_initialisation():
    import torch

    from app.experiment import input_shape
    from core.experiment import presets
    from core.nets.models import build
    e = presets.load("circles-mlp")
    net = build(e.model, *input_shape(e))
    w = torch.cat([m.weight.flatten() for m in net.modules() if isinstance(m, torch.nn.Linear)])
    assert w.std().item() == pytest.approx(e.model.init_std, rel=0.35)
    assert all(m.bias.abs().max() == 0 for m in net.modules() if isinstance(m, torch.nn.Linear))
