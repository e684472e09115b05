"""Snapshots: the network at epoch 0 (its initial weights) and after each epoch, kept with the
run so that every view can be replayed at any epoch after the run has ended.

    <run>/snapshots/epoch-0000.safetensors, epoch-0001.safetensors, …

Each file holds tensors only — the state dict in half precision (float16 draws the same
filters, boundaries and histograms at half the bytes), the epoch's confusion counts as
`confusion.<split>`, and its layer health as `health.<layer>` (activations' mean, std, dead
fraction over the epoch's first batch, the last step's gradient norm) with `health.step` — in
the safetensors layout (an 8-byte length, a JSON header, the raw bytes), written and read here
with numpy: nothing in it can run, and writing one costs tens of microseconds where
torch.save's zip took most of a millisecond (a circles MLP ends a hundred epochs a second). The
training thread only copies the weights; a thread of the writer's own encodes them and puts the
bytes on the disk (the open and rename took 200 µs an epoch, a 3 % share of a circles run). Each
is written atomically, so a killed run keeps every snapshot it finished writing.
`train.snapshots` sets how many: `every`, `none`, or `auto`, every epoch while the run's
snapshots stay under BUDGET bytes, else evenly spread epochs with the first and the last.
"""

from __future__ import annotations

import json
import math
import os
import re
import queue
import struct
import threading
import time
from pathlib import Path

import numpy as np
import torch

from core import LearnScopeError, files
from core.engine.records import EpochRecord, FitResult
from core.engine.pacing import Pacer
from core.engine.train import Observer
from core.nets.inspect import LayerHealth
from core.store.runs import SNAPSHOTS as FOLDER

BUDGET = 64 * 2**20  # bytes of snapshots a run keeps with train.snapshots = "auto"
# layer health is sampled at kept epochs while its hooked forward and statistics stay under this
# share of the run: every epoch of the practical CNN on CIFAR, every third of the circles MLP
HEALTH_SHARE = 0.01
NAME = re.compile(r"^epoch-(\d{4,})\.safetensors$")
#: safetensors' dtype names for the tensors a snapshot holds
DTYPES = {torch.float16: "F16", torch.float32: "F32", torch.float64: "F64", torch.int64: "I64",
          torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}
NUMPY = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I64": np.int64,
         "I32": np.int32, "U8": np.uint8, "BOOL": np.bool_}
HEADER_LIMIT = 16 * 2**20  # a header longer than this is not a snapshot's


def encode(tensors: dict[str, torch.Tensor]) -> bytes:
    """Tensors (on the CPU) in the safetensors layout."""
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)  # the data starts 8-byte aligned, as the layout asks
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def decode(raw: bytes, only: tuple[str, ...] = ("",)) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file (those whose names start with one of `only`);
    ValueError for anything else."""
    if len(raw) < 8:
        raise ValueError("too short")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > min(HEADER_LIMIT, len(raw) - 8):
        raise ValueError("header length out of range")
    header, body = json.loads(raw[8:8 + n].decode("utf-8")), memoryview(raw)[8 + n:]
    if not isinstance(header, dict):
        raise ValueError("header is not a table")
    out = {}
    for name, spec in header.items():
        if name == "__metadata__" or not name.startswith(only):
            continue
        start, end = spec["data_offsets"]
        kind = np.dtype(NUMPY[spec["dtype"]])
        shape = tuple(int(d) for d in spec["shape"])
        if not 0 <= start <= end <= len(body) or end - start != kind.itemsize * math.prod(shape):
            raise ValueError(f"{name}: its bytes do not match its shape")
        out[name] = torch.from_numpy(np.frombuffer(body[start:end], kind).reshape(shape).copy())
    return out


def _half(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state on the CPU, floating tensors as float16 (encoded at once: no copy kept)."""
    return {k: v.detach().to("cpu", torch.float16 if v.is_floating_point() else v.dtype)
            for k, v in state.items()}


def snapshot_bytes(model: torch.nn.Module) -> int:
    """A snapshot's size: its floating tensors at 2 bytes, the others at their own size."""
    return sum(v.numel() * (2 if v.is_floating_point() else v.element_size())
               for v in model.state_dict().values())


def kept_epochs(epochs: int, size: int, mode: str, budget: int = BUDGET) -> set[int] | None:
    """The epochs (0 = the initial weights) a run keeps; None: all of them."""
    if mode == "none":
        return set()
    fits = max(2, budget // max(size, 1))
    if mode == "every" or epochs + 1 <= fits:
        return None
    return {int(round(x)) for x in np.linspace(0, epochs, fits)}  # 0 and epochs included


def _replace(path: Path, data: bytes) -> None:
    """Write data to path through a temporary file and a rename, as core.files.atomic does but
    with four system calls: a snapshot after every epoch of a network that trains a hundred
    epochs a second must cost little. The temporary name is fixed (a run has one writer), and
    nothing is forced to the disk: a file a power cut tears is named and skipped by load()."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:  # a write may take part of it
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, path)


class SnapshotWriter(Observer):
    """Writes a run's snapshots (see the module); attached after the run folder's writer, whose
    folder it writes into."""

    def __init__(self, recorder):
        self.recorder, self.model, self.keep, self.folder = recorder, None, set(), None
        self.health: LayerHealth | None = None
        self._pace, self._armed = Pacer(0.0, HEALTH_SHARE), False
        self.step = 0
        self.seconds = 0.0  # the training thread's time in the writer (snapshot_cost reports it)
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._failed: tuple[int, str] | None = None  # (the epoch, why) of a write that failed
        # every snapshot is on the disk before the run's summary says the run has ended
        recorder.before_finish.append(self._close)

    def on_run_start(self, exp, model, precision) -> None:
        if self.recorder.writer is None or exp.train.snapshots == "none":
            return
        self.model, self.folder = model, self.recorder.writer.folder / FOLDER
        self.keep = kept_epochs(exp.train.epochs, snapshot_bytes(model), exp.train.snapshots)
        self.folder.mkdir(exist_ok=True)
        # a few snapshots in flight at most: a slow disk slows the run rather than fill memory
        self._queue, self._failed = queue.Queue(maxsize=4), None
        self._thread = threading.Thread(target=self._put_on_disk, name="snapshots", daemon=True)
        self._thread.start()
        self.health = LayerHealth(model)
        self._write(0, {})

    def on_batch_end(self, chunk) -> None:
        self.step = int(chunk.steps[-1]) if len(chunk.steps) else self.step

    def on_epoch_end(self, record: EpochRecord) -> None:
        if self.model is not None:
            self._write(record.epoch, record.confusion)

    def _close(self, result: FitResult) -> None:
        if self.health is not None:
            self.health.detach()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
        if self._failed is not None:
            result.message += (f" (Snapshots from epoch {self._failed[0]} on could not be kept: "
                               f"{self._failed[1]}; the run's final weights are.)")
        self.model = self.health = self._thread = self._queue = None
        self._armed = False

    def _write(self, epoch: int, confusion) -> None:
        """Take what the snapshot holds (copies: training goes on); the writer's thread
        encodes and writes it."""
        if self.keep is not None and epoch not in self.keep:
            return
        t0 = time.perf_counter()
        # the layers as this epoch left them: its first batch's activations, its last gradients
        health, h = {}, self.health
        if self._armed:
            health, self._armed = h.snapshot(), False
            self._pace.spent(h.spent)
            self.seconds, h.spent = self.seconds + h.spent, 0.0
        if (self.keep is None or epoch + 1 in self.keep) and self._pace.due():
            h.record_once()  # the next epoch's first training forward
            self._armed = True
        item = (epoch, _half(self.model.state_dict()), health, self.step, confusion or {})
        self._queue.put(item)
        self.seconds += time.perf_counter() - t0

    def _put_on_disk(self) -> None:
        while (item := self._queue.get()) is not None:
            epoch, state, health, step, confusion = item
            if self._failed is not None:  # after a failure (a full disk) the rest are dropped
                continue
            tensors = {f"health.{name}": torch.tensor([s.act_mean, s.act_std, s.dead, s.grad_norm],
                                                      dtype=torch.float32)
                       for name, s in health.items()}
            if health:
                tensors["health.step"] = torch.tensor([step], dtype=torch.int64)
            tensors.update(state)
            for split, counts in confusion.items():
                tensors[f"confusion.{split}"] = torch.as_tensor(np.asarray(counts))
            try:
                _replace(self.folder / f"epoch-{epoch:04d}.safetensors", encode(tensors))
            except OSError as e:
                self._failed = (epoch, e.strerror or str(e))


class SnapshotError(LearnScopeError):
    """A snapshot that cannot be read: its message names the file."""


def epochs(run_folder: Path | str) -> list[int]:
    """The epochs a run kept snapshots of, in order ([] for a run without: an older one)."""
    folder = Path(run_folder) / FOLDER
    if not folder.is_dir():
        return []
    found = (NAME.match(p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def load(run_folder: Path | str, epoch: int) -> tuple[dict[str, torch.Tensor], dict]:
    """(state dict in float32, confusion counts by split) of one snapshot; SnapshotError names
    a damaged one (the views then skip it)."""
    path = Path(run_folder) / FOLDER / f"epoch-{epoch:04d}.safetensors"
    try:
        raw = decode(files.read_bytes(path, files.LOG_LIMIT))
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise SnapshotError(f"The snapshot {path.name} of {Path(run_folder).name} cannot be read "
                            f"({type(e).__name__}); epoch {epoch} is skipped.") from None
    state = {k: v.float() if v.is_floating_point() else v for k, v in raw.items()
             if not k.startswith(("confusion.", "health."))}
    confusion = {k.split(".", 1)[1]: v.numpy() for k, v in raw.items() if k.startswith("confusion.")}
    return state, confusion


def health(run_folder: Path | str) -> list[tuple[int, int, dict[str, tuple[float, ...]]]]:
    """The layer health each kept epoch recorded: [(epoch, step, {layer: (act mean, act std,
    dead, grad norm)})], damaged snapshots and older ones without health left out."""
    out = []
    for epoch in epochs(run_folder):
        path = Path(run_folder) / FOLDER / f"epoch-{epoch:04d}.safetensors"
        try:
            raw = decode(files.read_bytes(path, files.LOG_LIMIT), only=("health.",))
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
            continue
        step = raw.pop("health.step", None)
        if step is not None and raw:
            out.append((epoch, int(step[0]), {k.split(".", 1)[1]: tuple(float(x) for x in v)
                                              for k, v in raw.items()}))
    return out
