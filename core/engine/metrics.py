"""Training metrics kept on the device and read back in chunks.

Each step writes its loss, correct and top-5 correct counts into one row of a device tensor
(a few kernels, no `.item()`); a StepReader copies the rows since its last read to the host
every `train.sync_every` steps and at the epoch's end, reports them as a BatchChunk, and
stops the run at the first NaN or infinite loss among them.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np
import torch

from core.engine.records import BatchChunk, SplitMetrics


class Diverged(Exception):
    """Raised when a read-back finds a NaN or infinite loss; the message says where and why."""


def step_metrics(loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return [loss, correct, top-5 correct] of one batch, as one tensor on the device.

    The true class's rank (how many classes score above it) gives top-1 and top-5 at once. A
    class that ties with the true one ranks above it when it comes first, as argmax breaks the
    tie: bf16 logits tie often, and the accuracy must be the confusion matrix's (its argmax)."""
    true = out.gather(1, y[:, None])
    first = torch.arange(out.shape[1], device=out.device) < y[:, None]
    rank = ((out > true) | ((out == true) & first)).sum(1)
    return torch.stack((loss.detach().to(out.dtype), (rank == 0).sum().to(out.dtype),
                        (rank < 5).sum().to(out.dtype)))


def split_metrics(loss_sum: float, correct: float, correct5: float, count: float,
                  top5: bool) -> SplitMetrics:
    """Return sample-averaged loss and accuracy (%) from sums over a split."""
    count = max(count, 1.0)
    return SplitMetrics(loss_sum / count, 100.0 * correct / count,
                        100.0 * correct5 / count if top5 else None)


class StepReader:
    """Reads a run's step metrics back from the device, epoch by epoch, and reports them.

    buf holds one row per step of an epoch: loss, correct, top-5 correct, batch size."""

    def __init__(self, buf: torch.Tensor, batch_size: int, used: int,
                 report: Callable[[BatchChunk], None]):
        self.buf, self.bs, self.n, self.report = buf, batch_size, used, report
        self.epoch, self.first_step, self.lr = 0, 0, math.nan
        self.done = 0
        self.t0 = time.perf_counter()
        self.last_loss = math.nan  # the last finite loss read, across epochs

    def begin(self, epoch: int, lr: float) -> None:
        """Start an epoch's reads (and its clock) at learning rate lr."""
        self.epoch, self.lr = epoch, lr
        self.first_step = (epoch - 1) * len(self.buf)
        self.done = 0
        self.t0 = time.perf_counter()

    def read(self, upto: int) -> None:
        """Report this epoch's steps up to `upto` not reported yet; Diverged at a bad loss."""
        a = self.done
        if upto <= a:
            return
        rows = self.buf[a:upto].cpu().numpy()  # the one device→host copy of these steps
        self.done = upto
        bad = ~np.isfinite(rows[:, 0])
        good = rows[: int(np.argmax(bad))] if bad.any() else rows
        if len(good):
            elapsed = max(time.perf_counter() - self.t0, 1e-9)
            first = self.first_step + a + 1
            self.report(BatchChunk(
                self.epoch, np.arange(first, first + len(good)), good[:, 0].copy(),
                good[:, 1] / np.maximum(good[:, 3], 1), self.lr, min(upto * self.bs, self.n) / elapsed))
            self.last_loss = float(good[-1, 0])
        if bad.any():
            i = a + len(good)
            last = f"{self.last_loss:.4g}" if math.isfinite(self.last_loss) else "none"
            raise Diverged(
                f"The loss became {rows[len(good), 0]} at step {self.first_step + i + 1} (epoch "
                f"{self.epoch}, batch {i + 1}) with learning rate {self.lr:g}; the last finite "
                f"loss was {last}. Training stopped there: try a smaller learning rate "
                "(optim.lr), or add batch norm or a learning-rate schedule.")

    def epoch_totals(self, top5: bool) -> SplitMetrics:
        """The training metrics of the epoch, averaged over its examples."""
        buf = self.buf
        sums = torch.cat([(buf[:, 0] * buf[:, 3]).sum()[None], buf[:, 1:].sum(0)]).tolist()
        return split_metrics(*sums, top5)
