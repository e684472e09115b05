"""TensorBoard event files of a run: its curves and its first layer's filters.

Two ways in, with the same tags, so a run watched live and one exported later read alike:
EventWriter here, the writer attached to a Trainer when train.tensorboard names a folder (every
epoch as it ends, and the training loss of every batch; core.store.writers), and
core.export.tensorboard_logs.export_run, which writes the same from a finished run's
metrics.jsonl, batches.jsonl and saved weights. Each run writes to
`<folder>/<its run folder's name>/`, so a study's rungs land side by side and
`tensorboard --logdir <folder>` overlays them. Writing goes through
torch.utils.tensorboard, which needs the optional package tensorboard; without it both say
how to install it. A write that fails (a full disk) is one sentence naming the folder.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np
import torch

from core.experiment import config as cfg
from core import files
from core.nets import inspect as ins
from core import ConfigError, LearnScopeError
from core.engine.records import SPLITS, BatchChunk, EpochRecord, FitInfo, FitResult, is_number

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

    def __init__(self, exp: cfg.Experiment):
        self.exp, self.folder = exp, Path(exp.train.tensorboard).expanduser()
        self._class = self.model = self.writer = None
        self.log_dir: Path | None = None
        self.input_shape: tuple[int, ...] | None = None

    def on_prepare(self, exp: cfg.Experiment) -> None:
        """Before anything is loaded: without the tensorboard package, a ConfigError at once."""
        self._class = _summary_writer(ConfigError, "train.tensorboard: writing TensorBoard "
                                      "event files ")

    def on_run_start(self, exp: cfg.Experiment, model: torch.nn.Module, precision) -> None:
        self.model = model

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
            if self.model is not None:
                with torch.no_grad():
                    _write_image(self.writer, filter_image(self.model.state_dict(),
                                                           self.input_shape), record.epoch)
            self.writer.flush()  # TensorBoard, if open, shows each epoch as it ends

    def on_run_end(self, result: FitResult) -> None:
        writer, self.writer = self.writer, None
        if writer is None:
            return
        try:  # the run has ended: its message says what the last events could not keep
            writer.close()
        except OSError as e:
            result.message += f" ({self._cannot_write(e)}.)"
