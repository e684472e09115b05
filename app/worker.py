"""The training worker: runs core.train.Trainer in a QThread and turns its events into signals.

The only place where threads and Qt meet. The worker never touches a widget: batch chunks
(plain numpy arrays) go into a lock-protected LiveBuffer that the GUI drains on its own
timer, and so do epoch records; the rare events (fit start, failure, fit end) cross as
queued signals carrying frozen records.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from PySide6.QtCore import QObject, QThread, Signal, Slot

from core import config as cfg
from core.inspect import LayerHealth
from core.train import BatchChunk, FitResult, Observer, Trainer, resolve_device

HEALTH_EVERY_S = 0.25  # seconds between two layer-health samples, at least
HEALTH_SHARE = 0.005   # and their statistics take at most this share of the training thread's
                       # time (the recorded forward's slower path costs about as much again)


class LiveBuffer:
    """Batch chunks and epoch records written by the worker thread, drained by the GUI timer.

    Records travel here rather than as one signal each: a small network finishes a hundred
    epochs a second, and every queued signal makes the GUI thread take Python's GIL from
    the training thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chunks: list[BatchChunk] = []
        self._records: list[dict] = []
        self._health: list[tuple[int, dict]] = []

    def push(self, chunk: BatchChunk) -> None:
        with self._lock:
            self._chunks.append(chunk)

    def push_record(self, record: dict) -> None:
        with self._lock:
            self._records.append(record)

    def push_health(self, step: int, layers: dict[str, tuple[float, float, float, float]]) -> None:
        with self._lock:
            self._health.append((step, layers))

    def drain_health(self) -> list[tuple[int, dict[str, tuple[float, float, float, float]]]]:
        """Return the layer-health samples (step, {layer: (act mean, act std, dead, grad norm)})
        that arrived since the last drain, oldest first."""
        with self._lock:
            out, self._health = self._health, []
        return out

    def drain(self) -> list[BatchChunk]:
        """Return the chunks that arrived since the last drain, oldest first."""
        with self._lock:
            out, self._chunks = self._chunks, []
        return out

    def drain_records(self) -> list[dict]:
        """Return the epoch records that arrived since the last drain, oldest first."""
        with self._lock:
            out, self._records = self._records, []
        return out


class _Relay(Observer):
    """Observer running in the worker thread: buffers chunks, emits the rare events.

    Layer health is measured here too, in the worker thread, so the GUI never touches the
    training model: every HEALTH_EVERY_S (or less often, if samples are costly) a snapshot
    (plain floats) of the last recorded training forward and the gradients goes into the
    buffer, and the next forward is recorded (core.inspect.LayerHealth.record_once: no hooks
    in between)."""

    def __init__(self, worker: "TrainingWorker", buffer: LiveBuffer):
        self.worker, self.buffer = worker, buffer
        self.health: LayerHealth | None = None
        self._next_health = 0.0

    def on_data_progress(self, done: int, total: int) -> None:
        self.worker.data_progressed.emit(int(done), int(total))

    def on_data_note(self, text: str) -> None:  # a long preparation step (ZCA) and its progress
        self.worker.data_noted.emit(str(text))

    def on_fit_start(self, info) -> None:
        model = self.worker.trainer.model
        if model is not None:
            self.health = LayerHealth(model)
            self.health.record_once()
        self.worker.fit_started.emit(info)

    def on_batch_end(self, chunk: BatchChunk) -> None:
        self.buffer.push(chunk)
        h = self.health
        now = time.perf_counter()
        # (Part 1's hand-written forwards bypass the hooks: then only the gradients move)
        if h is not None and now >= self._next_health:
            stats = h.snapshot()  # the armed forward's activations, the last step's gradients
            self.buffer.push_health(int(chunk.steps[-1]), {
                name: (s.act_mean, s.act_std, s.dead, s.grad_norm) for name, s in stats.items()})
            h.record_once()
            # a sample costs its statistics over a batch of activations: for the practical
            # CNN on a CPU 7 ms, plus as much again for the hooked forward (4 samples a second
            # took 8 % of its training); paced by what the last one cost, they take ~1 %
            self._next_health = now + max(HEALTH_EVERY_S, h.spent / HEALTH_SHARE)
            h.spent = 0.0

    def on_fit_end(self, result) -> None:
        if self.health is not None:
            self.health.detach()
            self.health = None

    def on_epoch_end(self, record: dict) -> None:
        self.buffer.push_record(record)

    def on_error(self, message: str) -> None:
        self.worker.failed.emit(message)


def _lower_priority() -> None:
    """Lower this thread's scheduling priority (Linux: per-thread nice), so the GUI thread
    wins the CPU whenever it needs it; torch's compute threads, started from here, inherit it."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


def cpu_threads() -> int:
    """Return torch's thread count for CPU training from the GUI: every core.

    The GUI still gets a core whenever it needs one because the training threads run at a
    lower priority (_lower_priority); idling a whole core instead would halve training on a
    2-core laptop for a GUI that needs the CPU a few percent of the time."""
    return os.cpu_count() or 1


class TrainingWorker(QObject):
    """Lives in the worker thread; run() trains once and then ends the thread's event loop."""

    data_progressed = Signal(int, int)
    data_noted = Signal(str)           # a long preparation step's sentence (ZCA whitening: …)
    fit_started = Signal(object)       # core.train.FitInfo
    failed = Signal(str)
    fit_finished = Signal(object)      # core.train.FitResult

    def __init__(self, trainer: Trainer, buffer: LiveBuffer, threads: int | None = None):
        super().__init__()
        self.trainer, self.buffer, self.threads = trainer, buffer, threads
        trainer.observers.append(_Relay(self, buffer))

    @Slot()
    def run(self) -> None:
        try:
            try:
                on_cpu = resolve_device(self.trainer.exp.train.device).type == "cpu"
            except Exception:  # fit() reports a bad device with a sentence
                on_cpu = False
            if on_cpu:
                import torch
                _lower_priority()
                torch.set_num_threads(self.threads or cpu_threads())
            result = self.trainer.fit()
        except BaseException as e:  # fit() already turns errors into results; belt and braces
            result = FitResult("failed", f"Training failed unexpectedly: {type(e).__name__}: {e}",
                               error_kind="internal")
        self.fit_finished.emit(result)
        QThread.currentThread().quit()  # so that QThread.wait() returns without the GUI loop


class TrainingSession(QObject):
    """One training run in its own QThread, owned by the GUI thread.

    Signals are re-emitted in the GUI thread; `finished` comes once with the FitResult.
    """

    data_progressed = Signal(int, int)
    data_noted = Signal(str)           # a long preparation step's sentence (ZCA whitening: …)
    fit_started = Signal(object)
    failed = Signal(str)
    finished = Signal(object)

    def __init__(self, exp: cfg.Experiment, run_root=None, record: bool = True,
                 threads: int | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.buffer = LiveBuffer()
        self.trainer = Trainer(exp, [], run_root=run_root, record=record)  # raises ConfigError
        self.worker = TrainingWorker(self.trainer, self.buffer, threads)
        self.thread = QThread()
        self.thread.setObjectName("learnscope-training")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.data_progressed.connect(self.data_progressed)
        self.worker.data_noted.connect(self.data_noted)
        self.worker.fit_started.connect(self.fit_started)
        self.worker.failed.connect(self.failed)
        self.worker.fit_finished.connect(self._on_fit_finished)
        self.result: FitResult | None = None

    def start(self) -> None:
        # the GUI thread gets the GIL back within 2 ms when the worker runs Python between ops
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.002))
        self.thread.start()

    def stop(self) -> None:
        self.trainer.stop()

    def pause(self) -> None:
        self.trainer.pause()

    def resume(self) -> None:
        self.trainer.resume()

    @property
    def paused(self) -> bool:
        return self.trainer.paused

    @property
    def stopping(self) -> bool:
        return self.trainer.stopping

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, ms: int) -> bool:
        """Block up to ms milliseconds for the thread to end; return whether it did."""
        return self.thread.wait(ms)

    @Slot(object)
    def _on_fit_finished(self, result: FitResult) -> None:
        self.result = result
        self.thread.wait(2000)  # the worker has quit its loop; this returns at once
        self.finished.emit(result)
