"""Fixtures for the app's Qt tests: no QThread may outlive its test; settings go to a temp file;
`window` makes main windows that are shut down at the test's end.

Test modules import them (`from conftest_qt import *`); adding
`pytest_plugins = ["conftest_qt"]` to tests/conftest.py would apply them everywhere.
"""

from __future__ import annotations

import traceback

import pytest

__all__ = ["_no_dangling_qthreads", "_isolated_settings", "window", "open_runs_panel"]


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """The window's QSettings live in this test's temp folder, never the user's."""
    monkeypatch.setenv("LEARNSCOPE_SETTINGS", str(tmp_path / "settings.ini"))


@pytest.fixture(autouse=True)
def _no_dangling_qthreads(monkeypatch, qapp):
    """Fail the test if a QThread it started is still running when it ends (as napari does)."""
    from PySide6.QtCore import QThread

    started: list[tuple[QThread, str]] = []
    base_start = QThread.start

    def start(self, *args):
        started.append((self, "".join(traceback.format_stack(limit=6)[:-1])))
        base_start(self, *args)

    monkeypatch.setattr(QThread, "start", start)
    yield
    dangling = []
    for thread, where in started:
        try:
            if thread.isRunning():
                dangling.append(where)
                thread.wait(5000)  # let it end so the next test starts clean
        except RuntimeError:  # the C++ object is gone, so the thread is too
            pass
    if dangling:
        pytest.fail(f"{len(dangling)} QThread(s) still running at the end of the test, started at:\n"
                    + "\n".join(dangling))


@pytest.fixture
def window(qtbot):
    """window(exp=None, tab=None, **MainWindow options) → a shown MainWindow; its settings are
    not kept (persist=False) unless asked, its runs go to the test's folder (tests/conftest.py),
    and each window's run is stopped when the test ends."""
    from app.window import MainWindow
    made = []

    def make(exp=None, tab=None, **options):
        options.setdefault("persist", False)
        w = MainWindow(exp, **options)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        if tab is not None:
            w.tabs.setCurrentIndex(tab)
        made.append(w)
        return w

    yield make
    for w in made:
        w.shutdown(5000)


def open_runs_panel(qtbot, root):
    """A shown RunsPanel on root (900×300); the messages it emits are kept in p.messages."""
    from app.panels.runs import RunsPanel
    p = RunsPanel(root)
    qtbot.addWidget(p)
    p.resize(900, 300)
    p.show()
    p.messages = []
    p.message.connect(lambda *m: p.messages.append(m))
    return p
