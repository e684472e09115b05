"""PySide6 6.12.0 dropped a reference to True on every Signal.emit() and aborted the interpreter
after a few hundred emits (bool_dealloc); pyproject excludes it and this test catches a release
that does it again: 10,000 emits must leave True's refcount where it was."""

import sys

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot


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


def test_queued_emits_from_a_thread_keep_the_refcount_of_true(qapp, qtbot):
    """The worker's signals cross threads (queued): the same guard on that path."""
    emitter, counter = _Emitter(), _Counter()
    emitter.fired.connect(counter.count)  # counter lives in the GUI thread: queued delivery
    thread = QThread()
    emitter.moveToThread(thread)

    def burst():
        for _ in range(10_000):
            emitter.fired.emit(True)
        thread.quit()

    thread.started.connect(burst)
    before = sys.getrefcount(True)
    thread.start()
    qtbot.waitUntil(lambda: counter.n == 10_000, timeout=20_000)
    assert thread.wait(5000)
    QCoreApplication.processEvents()
    assert abs(sys.getrefcount(True) - before) < 50
