"""The Trainer: one training loop for the CLI and the GUI, reporting through observers.

Observers receive plain floats, small CPU numpy arrays and dicts, never tensors. Metrics
stay on the device and are read back once every `train.sync_every` steps (and at each
epoch's end), so there is no `.item()` per step; the NaN check rides on that read.
Stop and pause are threading.Events checked at every batch boundary (a stop also between
evaluation batches and while the data is prepared); a pause after a stop is ignored.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core import config as cfg
from core import manual, memory, models
from core.data import loader
from core.errors import ConfigError, DataError, LearnScopeError
from core.runs import RunWriter


@dataclass(frozen=True)
class FitInfo:
    epochs: int
    steps_per_epoch: int
    n_train: int
    n_val: int
    n_test: int
    device: str
    params: int
    classes: tuple[str, ...]
    input_shape: tuple[int, ...]
    run_folder: str | None
    skipped: int = 0                # unreadable or non-image files left out of an image folder
    skipped_files: tuple[str, ...] = ()  # the first of them, relative to their folder


@dataclass(frozen=True)
class BatchChunk:
    """The training steps since the last read-back (global step numbers from 1)."""
    epoch: int
    steps: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    lr: float
    images_per_s: float


@dataclass
class FitResult:
    status: str                     # done | stopped | diverged | failed
    message: str = ""
    epochs: int = 0
    last: dict = field(default_factory=dict)   # the last finished epoch's record
    error_kind: str = ""            # config | data | memory | io | internal (when failed)
    run_folder: str | None = None


class Observer:
    """Hooks the Trainer calls; each does nothing unless overridden."""

    def on_data_progress(self, done: int, total: int) -> None: ...
    def on_data_note(self, text: str) -> None: ...  # a long preparation step (ZCA) begins
    def on_fit_start(self, info: FitInfo) -> None: ...
    def on_batch_end(self, chunk: BatchChunk) -> None: ...
    def on_epoch_end(self, record: dict) -> None: ...
    def on_fit_end(self, result: FitResult) -> None: ...
    def on_error(self, message: str) -> None: ...


def resolve_device(name: str) -> torch.device:
    """Return the torch device for 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(f"train.device: must be auto, cpu, cuda, cuda:N or mps, got {name!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device: {name!r} is not available on this machine (no CUDA "
                              "GPU found); use 'auto' or 'cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(f"train.device: {name!r} does not exist; this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError(f"train.device: 'mps' is not available on this machine; use 'auto' or 'cpu'")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"train.device: must be auto, cpu, cuda, cuda:N or mps, got {name!r}")
    return dev


#: below this many multiply-accumulates per training step (forward, one batch) torch's extra
#: CPU threads cannot help: each operation is a few microseconds of work, and the idle
#: threads spin between steps, taking a whole core from the GUI for nothing (the circles MLP)
TINY_STEP_MACS = 1_000_000


def cpu_threads_for(table: list[models.LayerInfo], batch_size: int, available: int) -> int:
    """Return how many intra-op threads a CPU training step of this network should use."""
    macs = sum(t.macs for t in table) * batch_size
    return 1 if macs < TINY_STEP_MACS else max(1, available)


def loss_fn(name: str):
    """Return loss(logits, labels): cross-entropy, or squared error of softmax vs one-hot."""
    if name == "mse":
        def mse(out, y):
            return (out.softmax(1) - F.one_hot(y, out.shape[1]).to(out.dtype)).pow(2).sum(1).mean()
        return mse
    return F.cross_entropy


class _Stopped(Exception):
    """Raised at a batch boundary once stop() was called."""


class _Diverged(Exception):
    """Raised when a read-back finds a NaN or infinite loss."""


class Trainer:
    """Trains one Experiment; call fit() (blocking) from any thread, stop()/pause() from another."""

    def __init__(self, exp: cfg.Experiment, observers=(), run_root: Path | str | None = None,
                 record: bool = True):
        self.exp = cfg.validate(exp)
        self.observers = list(observers)
        self.run_root, self.record = run_root, record
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._control = threading.Lock()  # stop() and pause() never interleave
        self._parked = threading.Event()  # set while the loop waits at a batch boundary
        self.model: torch.nn.Module | None = None
        self.data: loader.Data | None = None
        self.writer: RunWriter | None = None
        #: counts[true, predicted] per held-out split at the last epoch's end; replaced whole
        #: each epoch, so another thread may read it at any time (the GUI's confusion view)
        self.confusion: dict[str, np.ndarray] = {}
        self._calls: collections.deque[tuple[Future, object]] = collections.deque()

    # -- control, from any thread
    def stop(self) -> None:
        with self._control:
            self._stop.set()
            self._resume.set()  # wake a paused loop so it can see the stop

    def pause(self) -> None:
        """Hold at the next batch boundary; ignored once stop() was called (a pause after a
        stop would park the loop until someone resumed a run that is meant to end)."""
        with self._control:
            if not self._stop.is_set():
                self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

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
        """Run fn() in the training thread before the next step and return a Future of its result.

        For work on the live model from another thread (the GUI's views): done here, it needs no
        copy of the weights and does not fight the training thread for Python's GIL op by op.
        fn runs inside torch.random.fork_rng: it may draw random numbers (dropout in train
        mode) without changing the run's. A call still queued when the run ends is
        cancelled; an exception from fn goes into its Future, never into the training loop."""
        fut: Future = Future()
        self._calls.append((fut, fn))
        return fut

    def _run_calls(self) -> None:
        devices = [self.device] if self.device.type == "cuda" else []
        while self._calls:
            fut, fn = self._calls.popleft()
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                with torch.random.fork_rng(devices=devices):
                    fut.set_result(fn())
            except BaseException as e:  # the run goes on; the caller gets the error
                fut.set_exception(e)

    def _cancel_calls(self) -> None:
        while self._calls:
            self._calls.popleft()[0].cancel()

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Stopped

    def _data_progress(self, done: int, total: int) -> None:
        self._emit("on_data_progress", done, total)
        self._check_stop()  # the loader stops decoding an image folder at the exception

    def _out_of_memory(self, e: BaseException) -> str:
        """Return the sentence for a run that ran out of memory: where, the batch size, the
        largest layer, and what to try."""
        dev = getattr(self, "device", None)
        where = "the GPU" if dev is not None and dev.type == "cuda" else "the CPU"
        size = memory.failed_allocation(e)
        text = f"{where[0].upper()}{where[1:]} ran out of memory" + (
            f" (an allocation of {size} failed)" if size else "")
        try:  # the layer table of the built model, or else the config's (shapes only)
            table = self.model.table if self.model is not None else None
            parts = memory.needs(self.exp, table)
            layers = [p for p in parts if p.what.startswith(("model.", "the output"))]
            if layers:
                text += f"; the largest layer is {layers[0].what}, {memory.gb(layers[0].bytes)} with " \
                        "its gradients and the optimiser's state"
        except Exception:  # noqa: BLE001 - the sentence must come out whatever the config
            pass
        text += (f". train.batch_size is {self.exp.train.batch_size}: lower it, or use fewer units "
                 "or channels in the largest layer")
        if where == "the GPU":
            text += ", or train on the CPU (train.device = 'cpu')"
        return text + "."

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
            if result.status == "failed":
                self._emit("on_error", result.message)
            if self.writer is not None:
                result.run_folder = str(self.writer.folder)
                try:
                    self.writer.finish(result.status, result.message)
                except OSError as e:
                    result.message += f" (The run's summary could not be written: {e}.)"
            if self.model is not None and self.device.type == "cuda":
                torch.cuda.empty_cache()
            torch.set_num_threads(threads)
            self._cancel_calls()
            self._emit("on_fit_end", result)
        return result

    def _fit(self) -> FitResult:
        exp, tc, oc = self.exp, self.exp.train, self.exp.optim
        self.device = resolve_device(tc.device)
        torch.manual_seed(tc.seed)  # initial weights and dropout masks
        dtype = torch.float64 if tc.dtype == "float64" else torch.float32
        # refuse, naming the setting, what cannot fit before anything is allocated (exit 2)
        memory.check(exp, self.device)
        try:
            self.data = data = loader.load(exp.data, tc.seed, self.device, progress=self._data_progress,
                                           dtype=dtype, between=self._check_stop, note=self._data_note)
        except OSError as e:  # reading the data, not writing the run: fit() would say "free some disk space"
            where = f" {e.filename}" if e.filename else ""
            raise DataError(f"Could not read the data file{where} ({e.strerror or e}); check that it exists "
                            f"and can be read, or remove it from the data folder.") from e
        self._check_stop()
        model = models.build(exp.model, data.input_shape, len(data.classes)).to(self.device, dtype)
        self.model = model
        if self.device.type == "cpu":
            torch.set_num_threads(cpu_threads_for(model.table, min(tc.batch_size, len(data.train)),
                                                  torch.get_num_threads()))
        criterion = loss_fn(oc.loss)
        if oc.optimizer == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=oc.lr, weight_decay=oc.weight_decay)
        else:
            opt = torch.optim.SGD(model.parameters(), lr=oc.lr, momentum=oc.momentum,
                                  nesterov=oc.nesterov, weight_decay=oc.weight_decay)
        schedulers = {
            "exponential": lambda: torch.optim.lr_scheduler.ExponentialLR(opt, oc.gamma),
            "step": lambda: torch.optim.lr_scheduler.StepLR(opt, oc.step_size, oc.gamma),
            "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(opt, tc.epochs),
        }
        sched = schedulers[oc.scheduler]() if oc.scheduler in schedulers else None
        if exp.model.implementation == "optim":
            def step(xb, yb):
                out = model(xb)
                loss = criterion(out, yb)  # the batch mean, which the metrics report
                opt.zero_grad(set_to_none=True)
                (loss * yb.shape[0] if oc.reduction == "sum" else loss).backward()
                opt.step()
                return loss, out
        else:  # Part 1's hand-written variants; the schedule still drives opt's learning rate
            step = manual.make_step(exp.model.implementation, model, oc.loss, oc.reduction,
                                    lambda: opt.param_groups[0]["lr"])
        g = torch.Generator(device=self.device).manual_seed(tc.seed)

        n = len(data.train)
        bs = min(tc.batch_size, n)
        # batch norm cannot normalise one example (one value per unit of a linear layer or per
        # channel of a 1×1 map): a last batch of one is left out of the epoch (each epoch's
        # shuffle leaves out another example); config.validate refuses batches of one
        single = exp.model.batch_norm and bs > 1 and n % bs == 1
        lone = models.single_value_norm(model.table) if bs == 1 else None
        if lone is not None:  # every batch is the one example
            raise ConfigError(f"{models.norm_setting(lone)}: batch norm needs at least 2 training "
                              f"examples here, but the training split holds {n}; raise "
                              "data.n_train (or lower data.val_fraction) or turn batch norm off")
        steps = n // bs if single else math.ceil(n / bs)
        used = min(n, steps * bs)  # the examples an epoch trains on
        top5 = len(data.classes) >= 10
        if self.record:
            self.writer = RunWriter(exp, self.run_root)
        info = FitInfo(tc.epochs, steps, n, len(data.val), len(data.test), _device_name(self.device),
                       sum(p.numel() for p in model.parameters()), data.classes, data.input_shape,
                       str(self.writer.folder) if self.writer else None, data.skipped, data.skipped_files)
        self._emit("on_fit_start", info)

        # per-step metrics stay on the device: loss, correct, top-5 correct, batch size
        buf = torch.zeros(steps, 4, device=self.device, dtype=dtype)
        buf[:, 3] = bs
        buf[-1, 3] = used - (steps - 1) * bs  # the last batch may be smaller
        self._last = {}
        self._last_loss = float("nan")
        epoch = 0
        try:
            for epoch in range(1, tc.epochs + 1):
                model.train()
                lr = opt.param_groups[0]["lr"]
                sync = _Reader(self, buf, epoch, (epoch - 1) * steps, lr, bs, used)
                for k, (xb, yb) in enumerate(data.batches(data.train, bs, True, g, drop_last=single)):
                    if self._stop.is_set():  # before the views' calls: a stop waits for nothing
                        sync.read(k)
                        raise _Stopped
                    if self._calls:
                        self._run_calls()
                    if not self._resume.is_set():
                        sync.read(k)  # the GUI shows the latest values while paused
                        self._parked.set()
                        self._resume.wait()  # stop() sets it too, and pause() cannot clear it after
                        self._parked.clear()
                        self._check_stop()
                    loss, out = step(xb, yb)
                    with torch.no_grad():  # few kernels: small nets on a GPU are launch-bound
                        buf[k, :3] = _step_metrics(loss, out, yb)
                    if k + 1 - sync.done >= tc.sync_every:
                        sync.read(k + 1)
                sync.read(steps)
                train_seconds = time.perf_counter() - sync.t0
                tr = torch.cat([(buf[:, 0] * buf[:, 3]).sum()[None], buf[:, 1:].sum(0)]).tolist()
                record = {"epoch": epoch, "lr": lr, "train": _metrics(*tr, top5)}
                confusion = {}
                for name in ("val", "test"):
                    split = getattr(data, name)
                    if len(split):
                        record[name], confusion[name] = self._evaluate(model, criterion, split, top5)
                        if not math.isfinite(record[name]["loss"]):
                            raise _Diverged(f"The {name} loss became {record[name]['loss']} after "
                                            f"epoch {epoch} (learning rate {lr:g}); lower "
                                            "optim.lr or standardise the inputs.")
                record["seconds"] = time.perf_counter() - sync.t0
                record["images_per_s"] = used / max(train_seconds, 1e-9)
                if sched:
                    sched.step()
                self._last, self.confusion = record, confusion
                if self.writer:
                    self.writer.epoch(record, model)
                self._emit("on_epoch_end", record)
        except _Stopped:
            done = epoch - 1
            return FitResult("stopped", f"Stopped by the user during epoch {epoch}; "
                             f"{done} finished epoch(s) kept.", done, self._last)
        except _Diverged as e:
            return FitResult("diverged", str(e), epoch - 1, self._last)
        return FitResult("done", f"Trained {tc.epochs} epochs.", tc.epochs, self._last)

    @torch.no_grad()
    def _evaluate(self, model, criterion, split: loader.Split, top5: bool) -> tuple[dict, np.ndarray]:
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
                out = model(xb)
                m = _step_metrics(criterion(out, yb), out, yb)
                sums[0] += m[0] * yb.shape[0]
                sums[1:3] += m[1:]
                sums[3] += yb.shape[0]
                counts += torch.bincount(yb * k + out.argmax(1), minlength=k * k)
        finally:
            model.train()
        return _metrics(*sums.tolist(), top5), counts.view(k, k).cpu().numpy()


class _Reader:
    """Reads one epoch's step metrics back from the device in chunks and reports them."""

    def __init__(self, trainer: Trainer, buf, epoch: int, first_step: int, lr: float, bs: int, n: int):
        self.trainer, self.buf, self.epoch, self.first_step = trainer, buf, epoch, first_step
        self.lr, self.bs, self.n = lr, bs, n
        self.done = 0
        self.t0 = time.perf_counter()

    def read(self, upto: int) -> None:
        a, t = self.done, self.trainer
        if upto <= a:
            return
        rows = self.buf[a:upto].cpu().numpy()  # the one device→host copy of these steps
        self.done = upto
        bad = ~np.isfinite(rows[:, 0])
        good = rows[: int(np.argmax(bad))] if bad.any() else rows
        if len(good):
            elapsed = max(time.perf_counter() - self.t0, 1e-9)
            t._emit("on_batch_end", BatchChunk(
                self.epoch, np.arange(self.first_step + a + 1, self.first_step + a + 1 + len(good)),
                good[:, 0].copy(), good[:, 1] / np.maximum(good[:, 3], 1), self.lr,
                min(upto * self.bs, self.n) / elapsed))
            t._last_loss = float(good[-1, 0])
        if bad.any():
            i = a + len(good)
            last = f"{t._last_loss:.4g}" if math.isfinite(t._last_loss) else "none"
            raise _Diverged(
                f"The loss became {rows[len(good), 0]} at step {self.first_step + i + 1} (epoch "
                f"{self.epoch}, batch {i + 1}) with learning rate {self.lr:g}; the last finite "
                f"loss was {last}. Training stopped there: try a smaller learning rate "
                "(optim.lr), or add batch norm or a learning-rate schedule.")


def _step_metrics(loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return [loss, correct, top-5 correct] of one batch, as one tensor on the device.

    The true class's rank (how many classes score above it) gives top-1 and top-5 at once."""
    rank = (out > out.gather(1, y[:, None])).sum(1)
    return torch.stack((loss.detach().to(out.dtype), (rank == 0).sum().to(out.dtype),
                        (rank < 5).sum().to(out.dtype)))


def _metrics(loss_sum: float, correct: float, correct5: float, count: float, top5: bool) -> dict:
    """Return sample-averaged loss and accuracy (%) from sums over a split."""
    count = max(count, 1.0)
    m = {"loss": loss_sum / count, "accuracy": 100.0 * correct / count}
    if top5:
        m["top5"] = 100.0 * correct5 / count
    return m


def _device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return f"{dev} ({torch.cuda.get_device_name(dev)})"
    return str(dev)
