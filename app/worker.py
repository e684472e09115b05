"""The training session: core.engine.train.Trainer in a QThread, its events turned into Qt signals.

The only place where threads and Qt meet. The training thread never touches a widget: batch
chunks (plain numpy arrays), epoch records and layer-health samples go into a lock-protected
LiveBuffer that the GUI drains on its own timer; the rare events (data progress, fit start,
fit end) cross as queued signals carrying frozen records.

Who owns the network: while the run trains (or is paused) its model is the training
thread's alone; the GUI asks for numbers with Trainer.call_between_steps (see
app.views.common.ModelSource). As its last act the training thread copies the final weights
into a state dict (`final_state`); from the end signal on, `final_model()` is a network the
GUI thread owns and nobody trains.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from core.engine.pacing import Pacer
from core.experiment import config as cfg
from core.nets.inspect import LayerHealth
from core.engine.train import BatchChunk, FitResult, Observer, Trainer, resolve_device
from core.store.writers import recorded

HEALTH_EVERY_S = 0.25  # seconds between two layer-health samples, at least
HEALTH_SHARE = 0.005   # and their statistics take at most this share of the training thread's
                       # time (the recorded forward's slower path costs about as much again)


@dataclass(frozen=True)
class Progress:
    """Where a run is: what the views say beside their figures."""
    epochs: int = 0        # finished epochs
    steps: int = 0         # training steps taken
    record: object = None  # the last core.engine.records.EpochRecord (its confusion counts), or None


class LiveBuffer:
    """Batch chunks, epoch records and layer-health samples written by the training thread,
    drained by the GUI timer; `progress()` reads where the run is without draining.

    Records travel here rather than as one signal each: a small network finishes a hundred
    epochs a second, and every queued signal makes the GUI thread take Python's GIL from
    the training thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chunks: list[BatchChunk] = []
        self._records: list = []
        self._health: list[tuple[int, dict]] = []
        self._steps = 0         # the last training step pushed
        self._epochs = 0        # epoch records pushed
        self._last = None       # the last epoch record pushed

    def push(self, chunk: BatchChunk) -> None:
        with self._lock:
            self._chunks.append(chunk)
            self._steps = int(chunk.steps[-1])

    def push_record(self, record) -> None:
        with self._lock:
            self._records.append(record)
            self._epochs += 1
            self._last = record

    def push_health(self, step: int, layers: dict[str, tuple[float, float, float, float]]) -> None:
        with self._lock:
            self._health.append((step, layers))

    def progress(self) -> Progress:
        """Where the run is, as pushed so far (whatever has been drained)."""
        with self._lock:
            return Progress(self._epochs, self._steps, self._last)

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

    def drain_records(self) -> list:
        """Return the epoch records that arrived since the last drain, oldest first."""
        with self._lock:
            out, self._records = self._records, []
        return out


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


def copy_state(model) -> dict:
    """Return a copy of model's weights and buffers (call it in the thread that trains it)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def model_from(state: dict, exp: cfg.Experiment, input_shape, n_classes: int):
    """Return a network of exp's architecture holding a copy of `state`'s values (a state
    dict): the caller's own, which shares no tensor with the network the state came from.

    Built on the meta device, so that building draws nothing from torch's random generator
    (a training thread's dropout uses it), then given the state's device and dtype."""
    import torch

    from core.nets import models
    with torch.device("meta"):
        model = models.build(exp.model, input_shape, n_classes)
    first = next(v for v in state.values() if v.is_floating_point())
    model = model.to_empty(device=first.device).to(first.dtype)
    model.load_state_dict(state)  # a network nobody else holds
    return model.eval()


class TrainingSession(QObject, Observer):
    """One training run in its own QThread, owned by the GUI thread.

    It is the trainer's observer: its on_* methods run in the training thread and only fill
    the buffer or emit signals, which reach the GUI thread queued. `finished` comes once,
    with the FitResult (a failure's sentence is its message)."""

    data_progressed = Signal(int, int)
    data_noted = Signal(str)           # a long preparation step's sentence (ZCA whitening: …)
    fit_started = Signal(object)       # core.engine.train.FitInfo
    finished = Signal(object)          # core.engine.train.FitResult
    _ended = Signal(object)            # from the training thread: the FitResult

    def __init__(self, exp: cfg.Experiment, run_root=None, record: bool = True,
                 threads: int | None = None, parent: QObject | None = None, run_folder=None):
        super().__init__(parent)
        self.buffer = LiveBuffer()
        # run_folder: a folder reserved for this run (a study's rung), else a new one in run_root
        self.trainer = Trainer(exp, [self])  # raises ConfigError
        if record:
            recorded(self.trainer, run_root, run_folder)
        self.threads = threads
        self.result: FitResult | None = None
        self.final_state: dict | None = None  # the trained weights, copied as the run ended
        self._final_model = None
        self.health: LayerHealth | None = None
        self.health_pace = Pacer(HEALTH_EVERY_S, HEALTH_SHARE)
        self.thread = QThread()
        self.thread.setObjectName("learnscope-training")
        # the training runs in the new thread itself (a direct call from its `started`)
        self.thread.started.connect(self._train, Qt.ConnectionType.DirectConnection)
        self._ended.connect(self._on_fit_finished)  # queued: emitted in the training thread

    # -- control, from the GUI thread
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

    def weights(self) -> Future:
        """A Future of the live weights as a state dict, copied in the training thread
        between two steps (no torn reads; the copy is the caller's)."""
        return self.trainer.call_between_steps(lambda: copy_state(self.trainer.model))

    def final_model(self):
        """The trained network as the run left it, owned by the GUI thread (None before the
        run has ended, or when it ended before its network was built)."""
        if self._final_model is None and self.final_state is not None and self.result is not None:
            data = self.trainer.data
            self._final_model = model_from(self.final_state, self.trainer.exp, data.input_shape,
                                           len(data.classes))
        return self._final_model

    # -- the training thread
    @Slot()
    def _train(self) -> None:
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
        self._ended.emit(result)
        QThread.currentThread().quit()  # so that QThread.wait() returns without the GUI loop

    def on_data_progress(self, done: int, total: int) -> None:
        self.data_progressed.emit(int(done), int(total))

    def on_data_note(self, text: str) -> None:  # a long preparation step (ZCA) and its progress
        self.data_noted.emit(str(text))

    def on_fit_start(self, info) -> None:
        model = self.trainer.model
        if model is not None:
            self.health = LayerHealth(model)
            self.health.record_once()
        self.fit_started.emit(info)

    def on_batch_end(self, chunk: BatchChunk) -> None:
        self.buffer.push(chunk)
        now = time.perf_counter()
        if self.health is not None and self.health_pace.due(now):
            self._sample_health(int(chunk.steps[-1]), now)

    def _sample_health(self, step: int, now: float) -> None:
        """Put a layer-health sample into the buffer and arm the next one.

        The sample is the armed forward's activations and the last step's gradients (plain
        floats: the GUI never touches the model); Part 1's hand-written forwards bypass the
        hooks, so there only the gradients move. A sample costs its statistics over a batch
        of activations (for the practical CNN on a CPU 7 ms, plus as much again for the
        hooked forward), so samples are paced by what the last one cost."""
        h = self.health
        stats = h.snapshot()
        self.buffer.push_health(step, {name: (s.act_mean, s.act_std, s.dead, s.grad_norm)
                                       for name, s in stats.items()})
        h.record_once()
        self.health_pace.spent(h.spent, now)
        h.spent = 0.0

    def on_epoch_end(self, record) -> None:
        self.buffer.push_record(record)

    def on_fit_end(self, result) -> None:
        if self.health is not None:
            self.health.detach()
            self.health = None
        if self.trainer.model is not None:  # the hand-over: nobody trains it from here on
            self.final_state = copy_state(self.trainer.model)

    # -- the GUI thread
    @Slot(object)
    def _on_fit_finished(self, result: FitResult) -> None:
        self.result = result
        self.thread.wait(2000)  # the worker has quit its loop; this returns at once
        self.finished.emit(result)
