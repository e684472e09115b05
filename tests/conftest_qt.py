"""Fixtures for the app's Qt tests: no QThread may outlive its test; settings go to a temp file.

Test modules import them (`from conftest_qt import *`); adding
`pytest_plugins = ["conftest_qt"]` to tests/conftest.py would apply them everywhere.
"""

from __future__ import annotations

import traceback

import pytest

__all__ = ["_no_dangling_qthreads", "_isolated_settings"]


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
