"""The Trainer: one training loop for the CLI and the GUI, reporting through observers.

Observers receive plain floats, small CPU numpy arrays and frozen records, never tensors.
Metrics stay on the device and are read back once every `train.sync_every` steps (and at
each epoch's end), so there is no `.item()` per step; the NaN check rides on that read
(core.engine.metrics). Stop and pause are threading.Events checked at every batch boundary (a stop
also between evaluation batches and while the data is prepared); a pause after a stop is
ignored.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from core.experiment import config as cfg
from core.engine import batching, compiling, graphs, manual, memory, precision
from core.nets import models
from core.engine.calls import StepCalls
from core.data import loader
from core.engine.devices import cpu_threads_for, device_name, out_of_memory_message, resolve_device
from core import ConfigError, DataError, LearnScopeError
from core.engine.losses import loss_fn
from core.engine.metrics import Diverged, StepReader, split_metrics, step_metrics
from core.experiment.optimizers import make_optimizer, make_schedule
from core.engine.records import BatchChunk, EpochRecord, FitInfo, FitResult, SplitMetrics


class Observer:
    """Hooks the Trainer calls; each does nothing unless overridden.

    The Trainer writes nothing itself: whatever keeps the run (its folder, TensorBoard events)
    is an observer the caller attaches (core.store.writers), with three hooks of its own —
    on_prepare, before anything is loaded (a writer that cannot write says so at once);
    on_run_start, once the network is built (a writer opens its files, and one that keeps
    the run in a folder returns it: FitInfo.run_folder); on_run_end, before on_fit_end (a
    writer closes its files, adding to result.message what it could not keep)."""

    def on_prepare(self, exp: cfg.Experiment) -> None: ...
    def on_run_start(self, exp: cfg.Experiment, model: models.Network,
                     precision: precision.Precision) -> str | None: ...
    def on_run_end(self, result: FitResult) -> None: ...
    def on_data_progress(self, done: int, total: int) -> None: ...
    def on_data_note(self, text: str) -> None: ...  # a long preparation step (ZCA) begins
    def on_fit_start(self, info: FitInfo) -> None: ...
    def on_batch_end(self, chunk: BatchChunk) -> None: ...
    def on_epoch_end(self, record: EpochRecord) -> None: ...
    def on_fit_end(self, result: FitResult) -> None: ...
    def on_error(self, message: str) -> None: ...


class _Stopped(Exception):
    """Raised at a batch boundary once stop() was called."""


@dataclass
class _Setup:
    """What a fit trains with, built before its first epoch."""
    model: models.Network
    criterion: Callable
    opt: torch.optim.Optimizer
    sched: object | None            # the learning-rate schedule, stepped once per epoch
    step: Callable                  # step(x, y) -> (batch-mean loss, logits), updating model
    shuffle: torch.Generator
    batch_size: int
    steps: int                      # per epoch
    used: int                       # the examples an epoch trains on
    drop_last: bool
    top5: bool
    reader: StepReader | None = None


class Trainer:
    """Trains one Experiment; call fit() (blocking) from any thread, stop()/pause() from another."""

    def __init__(self, exp: cfg.Experiment, observers=()):
        self.exp = cfg.validate(exp)
        self.observers = list(observers)
        self.run_folder: str | None = None  # where a writer keeps the run (on_run_start)
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._control = threading.Lock()  # stop() and pause() never interleave
        self._parked = threading.Event()  # set while the loop waits at a batch boundary
        self._wake = threading.Event()    # a parked loop's: resume, stop or a call arrived
        self.device: torch.device | None = None
        self.model: models.Network | None = None
        self.data: loader.Data | None = None
        self._last: EpochRecord | None = None
        self._calls = StepCalls(self._wake)

    # -- control, from any thread
    def stop(self) -> None:
        with self._control:
            self._stop.set()
            self._resume.set()  # a paused loop sees the stop
            self._wake.set()

    def pause(self) -> None:
        """Hold at the next batch boundary; ignored once stop() was called (a pause after a
        stop would park the loop until someone resumed a run that is meant to end)."""
        with self._control:
            if not self._stop.is_set():
                self._resume.clear()

    def resume(self) -> None:
        self._resume.set()
        self._wake.set()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    @property
    def stopping(self) -> bool:
        """Whether stop() was called (the run ends at the next batch boundary)."""
        return self._stop.is_set()

    @property
    def parked(self) -> bool:
        """Whether the loop is holding at a batch boundary (paused, its last steps reported)."""
        return self._parked.is_set()

    def call_between_steps(self, fn) -> Future:
        """Run fn() in the training thread before the next step (while paused, at once) and
        return a Future of its result.

        For work on the live model from another thread (the GUI's views). fn runs inside
        torch.random.fork_rng: it may draw random numbers (dropout in train mode) without
        changing the run's. A call still queued when the run ends is cancelled; an exception
        from fn goes into its Future, never into the training loop (core.engine.calls)."""
        return self._calls.add(fn)

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Stopped

    def _data_progress(self, done: int, total: int) -> None:
        self._emit("on_data_progress", done, total)
        self._check_stop()  # the loader stops decoding an image folder at the exception

    def _data_note(self, text: str) -> None:
        self._emit("on_data_note", text)
        self._check_stop()

    def _emit(self, hook: str, *args) -> None:
        for o in self.observers:
            fn = getattr(o, hook, None)  # an observer need not define every hook
            if fn is not None:
                fn(*args)

    # -- the run
    def fit(self) -> FitResult:
        """Train to the end, a stop, a divergence or an error; return how it ended."""
        result = FitResult("failed")
        threads = torch.get_num_threads()  # _fit may lower it for a tiny network; restored below
        try:
            result = self._fit()
        except _Stopped:  # while the data loaded, before the first epoch began
            result = FitResult("stopped", "Stopped by the user before the first epoch; nothing "
                               "was trained.")
        except ConfigError as e:
            result = FitResult("failed", str(e), error_kind="config")
        except DataError as e:
            result = FitResult("failed", str(e), error_kind="data")
        except (MemoryError, torch.OutOfMemoryError) as e:
            result = FitResult("failed", self._out_of_memory(e), error_kind="memory")
        except LearnScopeError as e:
            result = FitResult("failed", str(e), error_kind="internal")
        except OSError as e:  # the run folder could not be written (disk full, permissions)
            result = FitResult("failed", f"Could not write the run's files ({e}); free some disk "
                               "space or choose another runs folder.", error_kind="io")
        except Exception as e:  # the run must end with a sentence, never a traceback
            if memory.is_out_of_memory(e):  # the CPU allocator's RuntimeError
                result = FitResult("failed", self._out_of_memory(e), error_kind="memory")
            else:
                result = FitResult("failed", f"Training failed unexpectedly: {type(e).__name__}: {e}",
                                   error_kind="internal")
        finally:
            self._finish(result, threads)
        return result

    def _finish(self, result: FitResult, threads: int) -> None:
        if result.status == "failed":
            self._emit("on_error", result.message)
        result.run_folder = self.run_folder
        self._emit("on_run_end", result)
        if self.model is not None and self.device.type == "cuda":
            torch.cuda.empty_cache()
        torch.set_num_threads(threads)
        self._calls.cancel()
        self._emit("on_fit_end", result)

    def _out_of_memory(self, e: BaseException) -> str:
        return out_of_memory_message(e, self.exp, self.device, self.model)

    def _fit(self) -> FitResult:
        s = self._build()
        self._start(s)
        epoch, epochs = 0, self.exp.train.epochs
        try:
            for epoch in range(1, epochs + 1):
                self._epoch(s, epoch)
        except _Stopped:
            return FitResult("stopped", f"Stopped by the user during epoch {epoch}; "
                             f"{epoch - 1} finished epoch(s) kept.", epoch - 1, self._last)
        except Diverged as e:
            return FitResult("diverged", str(e), epoch - 1, self._last)
        return FitResult("done", f"Trained {epochs} epochs.", epochs, self._last)

    def _build(self) -> _Setup:
        """Choose the device, load the data, build the network, its optimiser, schedule and
        step; refuse, naming the setting, what cannot fit before anything is allocated."""
        exp, tc, oc = self.exp, self.exp.train, self.exp.optim
        self._emit("on_prepare", exp)  # first: a writer that cannot write says so at once
        self.device = resolve_device(tc.device)
        self.precision = precision.choose(tc.precision, self.device, cnn=exp.model.kind == "cnn",
                                          dtype=tc.dtype, implementation=exp.model.implementation)
        torch.manual_seed(tc.seed)  # initial weights and dropout masks
        dtype = torch.float64 if tc.dtype == "float64" else torch.float32
        memory.check(exp, self.device)
        self.data = data = self._load_data(dtype)
        self._check_stop()
        model = models.build(exp.model, data.input_shape, len(data.classes)).to(self.device, dtype)
        if self.precision.channels_last:  # oneDNN's and cuDNN's low-precision kernels want it
            model = model.to(memory_format=torch.channels_last)
        compiled, compile_note = compiling.choose(tc.compile, exp.model.implementation)
        if compiled:  # in place: the state dict keeps its names (weights.pt, the views)
            model.compile()
        self.model = model
        if self.device.type == "cpu":
            torch.set_num_threads(cpu_threads_for(model.table, min(tc.batch_size, len(data.train)),
                                                  torch.get_num_threads()))
        graphed, graph_note = graphs.choose(tc.cuda_graphs, self.device, exp.model.implementation,
                                            self.precision, compiled)
        if graphed:
            self.precision = self.precision.for_capture()
        criterion = loss_fn(oc.loss, oc.label_smoothing)
        opt = make_optimizer(model.parameters(), oc)
        if graphed:
            opt, graph_note = graphs.capturable(opt, self.device)
        sched = make_schedule(opt, oc, tc)
        step = manual.make_step(exp.model.implementation, model, oc.loss, oc.reduction, opt,
                                self.precision, self.device, criterion)
        shuffle = torch.Generator(device=self.device).manual_seed(tc.seed)
        bs, steps, used, drop_last = batching.plan(exp, model, len(data.train))
        if graphed and not graph_note:
            step, graph_note = graphs.prime(step, model, opt, *next(data.batches(
                data.train, bs, train=False)), self.device)
        self._how = ", ".join(filter(None, (self.precision.describe(), compile_note, graph_note)))
        return _Setup(model, criterion, opt, sched, step, shuffle, bs, steps, used, drop_last,
                      top5=len(data.classes) >= 10)

    def _load_data(self, dtype: torch.dtype) -> loader.Data:
        try:
            return loader.load(self.exp.data, self.exp.train.seed, self.device,
                               progress=self._data_progress, dtype=dtype, between=self._check_stop,
                               note=self._data_note)
        except OSError as e:  # reading the data, not writing the run: fit() would say "free some disk space"
            where = f" {e.filename}" if e.filename else ""
            raise DataError(f"Could not read the data file{where} ({e.strerror or e}); check that it exists "
                            f"and can be read, or remove it from the data folder.") from e

    def _start(self, s: _Setup) -> None:
        """Let the writers open the run, announce it, and set up the per-step metrics on the device."""
        data = self.data
        for o in self.observers:
            start = getattr(o, "on_run_start", None)
            folder = start(self.exp, s.model, self.precision) if start is not None else None
            self.run_folder = self.run_folder or folder
        info = FitInfo(self.exp.train.epochs, s.steps, len(data.train), len(data.val),
                       len(data.test), device_name(self.device),
                       sum(p.numel() for p in s.model.parameters()), data.classes, data.input_shape,
                       self.run_folder, data.skipped,
                       data.skipped_files, self._how)
        self._emit("on_fit_start", info)
        # per-step metrics stay on the device: loss, correct, top-5 correct, batch size
        buf = torch.zeros(s.steps, 4, device=self.device, dtype=data.dtype)
        buf[:, 3] = s.batch_size
        buf[-1, 3] = s.used - (s.steps - 1) * s.batch_size  # the last batch may be smaller
        s.reader = StepReader(buf, s.batch_size, s.used, self._batch_end)

    def _batch_end(self, chunk: BatchChunk) -> None:
        self._emit("on_batch_end", chunk)

    def _epoch(self, s: _Setup, epoch: int) -> None:
        """Train one epoch, evaluate the held-out splits, and record and report the epoch."""
        s.model.train()
        lr = float(s.opt.param_groups[0]["lr"])  # a tensor where the step is captured
        reader = s.reader
        reader.begin(epoch, lr)
        self._train_steps(s)
        reader.read(s.steps)
        train_seconds = time.perf_counter() - reader.t0
        train = reader.epoch_totals(s.top5)
        held, confusion = self._evaluate_held_out(s, epoch, lr)
        record = EpochRecord(epoch, lr, train, time.perf_counter() - reader.t0,
                             s.used / max(train_seconds, 1e-9), held.get("val"), held.get("test"),
                             confusion)
        if s.sched:
            s.sched.step()
        self._last = record
        self._emit("on_epoch_end", record)

    def _train_steps(self, s: _Setup) -> None:
        """The epoch's batches: a stop, the views' calls and a pause are seen between them."""
        reader, sync_every = s.reader, self.exp.train.sync_every
        data = self.data
        for k, (xb, yb) in enumerate(data.batches(data.train, s.batch_size, True, s.shuffle,
                                                  drop_last=s.drop_last)):
            if self._stop.is_set():  # before the views' calls: a stop waits for nothing
                reader.read(k)
                raise _Stopped
            if self._calls:
                self._calls.run(self.device)
            if not self._resume.is_set():
                self._park(reader, k)
            loss, out = s.step(xb, yb)
            with torch.no_grad():  # few kernels: small nets on a GPU are launch-bound
                reader.buf[k, :3] = step_metrics(loss, out, yb)
            if k + 1 - reader.done >= sync_every:
                reader.read(k + 1)

    def _park(self, reader: StepReader, k: int) -> None:
        """Hold at a batch boundary until resume() or stop(), running the views' calls as
        they come: the network stays the training thread's while paused."""
        reader.read(k)  # the GUI shows the latest values while paused
        self._parked.set()
        while True:
            self._wake.clear()  # before looking: a call, resume or stop after this ends the wait
            if self._resume.is_set():  # stop() sets it too, and pause() cannot clear it after
                break
            if self._calls:
                self._calls.run(self.device)
            else:
                self._wake.wait()
        self._parked.clear()
        self._check_stop()

    def _evaluate_held_out(self, s: _Setup, epoch: int, lr: float):
        """Return ({split: metrics}, {split: confusion counts}) of val and test, where present."""
        held, confusion = {}, {}
        for name in ("val", "test"):
            split = getattr(self.data, name)
            if len(split):
                held[name], confusion[name] = self._evaluate(s.model, s.criterion, split, s.top5)
                if not math.isfinite(held[name].loss):
                    raise Diverged(f"The {name} loss became {held[name].loss} after epoch {epoch} "
                                   f"(learning rate {lr:g}); lower optim.lr or standardise the "
                                   "inputs.")
        return held, confusion

    @torch.no_grad()
    def _evaluate(self, model, criterion, split: loader.Split,
                  top5: bool) -> tuple[SplitMetrics, np.ndarray]:
        """Return loss and accuracy on a split, and its confusion counts[true, predicted];
        model in eval mode, no optimiser (question 14)."""
        model.eval()
        k = len(self.data.classes)
        sums = torch.zeros(4, device=self.device, dtype=self.data.dtype)
        counts = torch.zeros(k * k, device=self.device, dtype=torch.int64)
        # a stop is seen between batches and ends the run with this epoch unfinished: on a CPU
        # a CNN's evaluation takes seconds and Stop must answer within half a second, so images
        # go 128 a batch there (the practical CNN: 40-60 ms each on 2 cores; 1024 on a GPU)
        size = (1024 if self.device.type != "cpu" else 128) if self.data.is_images else 8192
        try:
            for xb, yb in self.data.batches(split, size, train=False):
                if self._stop.is_set():
                    raise _Stopped
                out = self.precision.forward(model, xb, self.device)
                if self.exp.data.flip_test:  # the average with the mirror image's outputs
                    out = (out + self.precision.forward(model, xb.flip(3), self.device)) / 2
                m = step_metrics(criterion(out, yb), out, yb)
                sums[0] += m[0] * yb.shape[0]
                sums[1:3] += m[1:]
                sums[3] += yb.shape[0]
                counts += torch.bincount(yb * k + out.argmax(1), minlength=k * k)
        finally:
            model.train()
        return split_metrics(*sums.tolist(), top5), counts.view(k, k).cpu().numpy()
