"""PySide6 6.12.0 dropped a reference to True on every Signal.emit() and aborted the interpreter
after a few hundred emits (bool_dealloc); pyproject excludes it and this test catches a release
that does it again: 10,000 emits must leave True's refcount where it was."""

import sys

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot


class _Emitter(QObject):
    fired = Signal(bool)
    fired_object = Signal(object)


class _Counter(QObject):
    def __init__(self):
        super().__init__()
        self.n = 0

    @Slot(bool)
    def count(self, value):
        self.n += 1


def test_10000_emits_keep_the_refcount_of_true(qapp):
    emitter, counter = _Emitter(), _Counter()
    emitter.fired.connect(counter.count)
    emitter.fired_object.connect(counter.count)
    for _ in range(100):  # warm up caches that legitimately hold a reference
        emitter.fired.emit(True)
    before = sys.getrefcount(True)
    for _ in range(10_000):
        emitter.fired.emit(True)
        emitter.fired_object.emit(True)
    after = sys.getrefcount(True)
    assert counter.n == 20_100
    assert abs(after - before) < 50, f"refcount of True went from {before} to {after}"


QUEUED = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal, Slot
app = QCoreApplication([])
class Burst(QThread):
    fired = Signal(bool)
    def run(self):
        for _ in range(10_000):
            self.fired.emit(True)
class Counter(QObject):
    n = 0
    @Slot(bool)
    def count(self, v):
        Counter.n += 1
        if Counter.n == 10_000:
            app.quit()
c, b = Counter(), Burst()
b.fired.connect(c.count, Qt.ConnectionType.QueuedConnection)
before = sys.getrefcount(True)
QTimer.singleShot(0, b.start)
QTimer.singleShot(20_000, app.quit)
app.exec()
b.wait(5000)
print(Counter.n, sys.getrefcount(True) - before)
"""


def test_queued_emits_from_a_thread_keep_the_refcount_of_true():
    """The worker's signals cross threads (queued): the same guard on that path, in a fresh
    process so that a crash (bool_dealloc aborts the interpreter) is reported, not fatal."""
    import subprocess
    done = subprocess.run([sys.executable, "-c", QUEUED], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    n, delta = map(int, done.stdout.split())
    assert n == 10_000 and abs(delta) < 50, done.stdout
