"""TensorBoard event files of a run: its curves and its first layer's filters.

Two ways in, with the same tags, so a run watched live and one exported later read alike:
EventWriter, the observer the Trainer attaches when train.tensorboard names a folder (every
epoch as it ends, and the training loss of every batch), and export_run, which writes the same
from a finished run's metrics.jsonl, batches.jsonl and saved weights. Each run writes to
`<folder>/<its run folder's name>/`, so a study's rungs land side by side and
`tensorboard --logdir <folder>` overlays them. Writing goes through
torch.utils.tensorboard, which needs the optional package tensorboard; without it both say
how to install it. A write that fails (a full disk) is one sentence naming the folder.
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np
import torch

from core import config as cfg
from core import files
from core import inspect as ins
from core import run_reader
from core.data import registry as datasets
from core.errors import ConfigError, ExportError, LearnScopeError
from core.records import SPLITS, BatchChunk, EpochRecord, FitInfo, FitResult, is_number

INSTALL = "pip install 'learnscope[tensorboard]'"
EVENT_PREFIX = "events.out.tfevents."
#: (metrics.jsonl key, TensorBoard tag) of the numbers beside the splits' metrics
_OTHERS = (("lr", "learning_rate"), ("seconds", "time/epoch_seconds"),
           ("images_per_s", "time/images_per_s"))
_SMALL_SIDE = 128  # a filter mosaic smaller than this is enlarged (TensorBoard shows pixels 1:1)


def _summary_writer(error: type[Exception], prefix: str):
    """Return torch's SummaryWriter class; error(sentence) when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch.utils.tensorboard raises it itself when the package is missing
        raise error(f"{prefix}needs the tensorboard package, which is not installed here; "
                    f"install it with {INSTALL}") from None
    _quiet_writer_threads()
    return SummaryWriter


def _quiet_writer_threads() -> None:
    """Keep the SummaryWriter's own thread from printing a failed write (a full disk) as an
    "Exception in thread" traceback. That thread keeps the error and the writer raises it again
    at its next add, flush or close, in the thread that uses it, where it becomes this module's
    one sentence; the traceback would only follow that sentence. Other threads print as before."""
    previous = threading.excepthook
    if getattr(previous, "learnscope_quiet_writers", False):
        return

    def hook(args) -> None:
        thread = args.thread
        kept = getattr(thread, "exception", None) is args.exc_value  # raised again elsewhere
        if not (kept and type(thread).__module__.startswith("tensorboard.")):
            previous(args)

    hook.learnscope_quiet_writers = True
    threading.excepthook = hook


# ---------------------------------------------------------------- what is written
def scalars(line: Mapping) -> dict[str, float]:
    """Return {tag: value} of one epoch (a metrics.jsonl line, EpochRecord.to_dict()):
    'loss/train', 'accuracy/test', 'top5/val', …, 'learning_rate', 'time/…'. A value the file
    holds as null (or that is not finite) is left out, as the plots leave it out."""
    out = {}
    for split in SPLITS:
        m = line.get(split)
        if isinstance(m, Mapping):
            for metric in ("loss", "accuracy", "top5"):
                v = m.get(metric)
                if is_number(v) and math.isfinite(v):
                    out[f"{metric}/{split}"] = float(v)
    for key, tag in _OTHERS:
        v = line.get(key)
        if is_number(v) and math.isfinite(v):
            out[tag] = float(v)
    return out


def first_layer(state: Mapping[str, torch.Tensor]) -> tuple[str, torch.Tensor] | None:
    """Return (name, weight) of the network's first convolution or linear layer: the first
    weight of 2 or 4 dimensions in a state dict (batch norm's are 1-D), in layer order."""
    for key, w in state.items():
        if key.endswith(".weight") and w.dim() in (2, 4):
            return key.removesuffix(".weight"), w
    return None


def _matrix(w: np.ndarray) -> np.ndarray:
    """A weight matrix as a grey image on one scale (row = unit, column = input)."""
    lo, hi = float(w.min()), float(w.max())
    return ((w - lo) / (hi - lo) if hi > lo else np.full_like(w, 0.5)).astype(np.float32)


def filter_image(state: Mapping[str, torch.Tensor],
                 input_shape: tuple[int, ...] | None) -> tuple[str, np.ndarray] | None:
    """Return (tag, H×W or H×W×3 image in [0, 1]) of the first layer's weights: a CNN's kernels
    as the Filters view tiles them, an MLP's on images as one image-shaped tile per hidden
    unit, else (2D points) the weight matrix itself; None for a network without weights."""
    found = first_layer(state)
    if found is None:
        return None
    name, w = found
    w = w.detach().float().cpu()
    if w.dim() == 4:
        img = ins.filter_mosaic(w, rgb=w.shape[1] == 3)
    elif (input_shape and len(input_shape) == 3 and input_shape[0] in (1, 3)
          and w.shape[1] == math.prod(input_shape)):
        img = ins.mlp_weight_tiles(w, tuple(input_shape))
    else:
        img = _matrix(w.numpy())
    factor = max(1, min(16, _SMALL_SIDE // max(img.shape[:2])))  # pixels stay sharp squares
    img = img.repeat(factor, 0).repeat(factor, 1)
    return f"filters/{name}", np.ascontiguousarray(img)


def _write_image(writer, found: tuple[str, np.ndarray] | None, step: int) -> None:
    if found is not None:
        tag, img = found
        writer.add_image(tag, img, step, dataformats="HWC" if img.ndim == 3 else "HW")


def _write_epoch(writer, line: Mapping, step: int) -> None:
    for tag, value in scalars(line).items():
        writer.add_scalar(tag, value, step)


def _write_steps(writer, steps, loss, accuracy) -> None:
    """The training loss and accuracy of each batch, at its step (numbered across epochs); a
    value that is not finite (a stored run's damaged line) is left out."""
    for step, lo, acc in zip(np.asarray(steps).tolist(), np.asarray(loss).tolist(),
                             np.asarray(accuracy).tolist()):
        if math.isfinite(lo):
            writer.add_scalar("batch/loss", lo, step)
        if math.isfinite(acc):
            writer.add_scalar("batch/accuracy", acc, step)


def _experiment_text(exp: cfg.Experiment) -> str:
    """The experiment's TOML, indented so TensorBoard's Text tab shows it as code."""
    return "    " + cfg.dumps(exp).rstrip("\n").replace("\n", "\n    ")


# ---------------------------------------------------------------- live, from the Trainer
class EventWriter:
    """A Trainer observer writing the run's events as it trains; its hooks run in the training
    thread, so the filters are read from the model between steps, never while it changes."""

    def __init__(self, exp: cfg.Experiment, model: Callable[[], torch.nn.Module | None]):
        self._class = _summary_writer(ConfigError, "train.tensorboard: writing TensorBoard "
                                      "event files ")
        self.exp, self.folder, self._model = exp, Path(exp.train.tensorboard).expanduser(), model
        self.writer = None
        self.log_dir: Path | None = None
        self.input_shape: tuple[int, ...] | None = None

    def on_fit_start(self, info: FitInfo) -> None:
        name = Path(info.run_folder).name if info.run_folder else \
            f"{time.strftime('%Y%m%d-%H%M%S')}-{files.slug(self.exp.name, 'run')}"  # no run folder
        self.log_dir, self.input_shape = self.folder / name, info.input_shape
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"train.tensorboard: cannot write TensorBoard event files in "
                              f"{self.log_dir} ({e.strerror or e}); choose a folder you can "
                              "write to, or leave it empty") from None
        with self._writing():
            self.writer = self._class(log_dir=str(self.log_dir))
            self.writer.add_text("experiment", _experiment_text(self.exp), 0)

    def _cannot_write(self, e: OSError) -> str:
        return (f"train.tensorboard: cannot write TensorBoard event files in {self.log_dir} "
                f"({e.strerror or e}); free some disk space, choose another folder, or leave "
                "it empty")

    @contextmanager
    def _writing(self):
        """Write events; when that fails (a full disk), end the run with one sentence
        (LearnScopeError, which the Trainer makes the run's message: an OSError would be
        taken for the run folder's). The writer is closed first, quietly: it would raise the
        same error again, at on_fit_end."""
        try:
            yield
        except OSError as e:
            writer, self.writer = self.writer, None
            if writer is not None:
                with suppress(OSError):
                    writer.close()
            raise LearnScopeError(self._cannot_write(e) + ".") from None

    def on_batch_end(self, chunk: BatchChunk) -> None:
        if self.writer is not None:
            with self._writing():
                _write_steps(self.writer, chunk.steps, chunk.loss, chunk.accuracy)

    def on_epoch_end(self, record: EpochRecord) -> None:
        if self.writer is None:
            return
        with self._writing():
            _write_epoch(self.writer, record.to_dict(), record.epoch)
            model = self._model()
            if model is not None:
                with torch.no_grad():
                    _write_image(self.writer, filter_image(model.state_dict(), self.input_shape),
                                 record.epoch)
            self.writer.flush()  # TensorBoard, if open, shows each epoch as it ends

    def on_fit_end(self, result: FitResult) -> None:
        writer, self.writer = self.writer, None
        if writer is None:
            return
        try:  # the run has ended: its message says what the last events could not keep
            writer.close()
        except OSError as e:
            result.message += f" ({self._cannot_write(e)}.)"


def for_training(exp: cfg.Experiment, model: Callable[[], torch.nn.Module | None]) -> EventWriter:
    """Return the observer of train.tensorboard (ConfigError without the tensorboard package)."""
    return EventWriter(exp, model)


# ---------------------------------------------------------------- from a stored run
def _run_state(run: run_reader.Run) -> dict[str, torch.Tensor] | None:
    """The run's saved weights, or None when it has none; ExportError when they are damaged."""
    if not (run.folder / "weights.pt").is_file():
        return None
    try:
        state = run_reader.load_weights(run.folder)
    except Exception as e:  # refused pickles, truncated files: weights_only=True reads tensors only
        raise ExportError(f"The run {run.name}'s weights.pt cannot be read ({type(e).__name__}); "
                          "train the run again to export its filters.") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ExportError(f"The run {run.name}'s weights.pt does not hold a network's weights.")
    return state


def _place(tmp: Path, out: Path) -> None:
    """Move the new event file from tmp into out, replacing an earlier export's."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(EVENT_PREFIX + "*"):
        old.unlink()
    for new in tmp.iterdir():
        os.replace(new, out / new.name)
    tmp.rmdir()


def export_run(run_folder: Path | str, log_dir: Path | str) -> Path:
    """Write a stored run's curves (metrics.jsonl), the loss and accuracy of each of its
    batches (batches.jsonl, where it has one; damaged lines left out) and its saved weights'
    first-layer filters (once, at its last epoch) as TensorBoard events in
    `<log_dir>/<run folder's name>/`;
    return that folder. An earlier export there is replaced. A run without weights gets its
    curves only. ExportError says why nothing could be written."""
    summary_writer = _summary_writer(ExportError, "Exporting to TensorBoard ")
    folder = Path(run_folder).resolve()  # `export .` from inside a run: "." has no name
    if not (folder / "metrics.jsonl").is_file():
        raise ExportError(f"{folder} is not a run folder (it has no metrics.jsonl); give a "
                          "folder from the runs list.")
    run = run_reader.open_run(folder)
    records = run.metrics()
    if not records:
        raise ExportError(f"The run {run.name} has no finished epoch: there are no curves to "
                          "export.")
    state = _run_state(run)
    shape = datasets.input_shape(run.experiment.data)[0] if run.experiment else None
    out = Path(log_dir).expanduser() / folder.name
    files.refuse_own_input(folder, out, "--tensorboard")
    if files.inside(folder, out):  # out is replaced whole: it must not hold the run
        raise ExportError(f"--tensorboard: {out} holds the run it exports ({folder}) and would "
                          "be replaced; choose a folder outside it.")
    tmp = out.parent / f".{out.name}.{secrets.token_hex(4)}.tmp"  # never half an export in out
    try:
        tmp.mkdir(parents=True)
        writer = summary_writer(log_dir=str(tmp))
        try:
            if run.experiment is not None:
                writer.add_text("experiment", _experiment_text(run.experiment), 0)
            for r in records:
                _write_epoch(writer, r.to_dict(), r.epoch)
            steps = run.batches()
            _write_steps(writer, steps.steps, steps.loss, steps.accuracy)
            if state is not None:
                _write_image(writer, filter_image(state, shape), records[-1].epoch)
        finally:
            writer.close()
        _place(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"Cannot write TensorBoard event files in {out} ({e.strerror or e}); "
                          "choose a folder you can write to, or free some disk space.") from None
    return out
