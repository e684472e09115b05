"""What a fit reports to its observers: FitInfo at its start, a BatchChunk per read-back of
step metrics, an EpochRecord per finished epoch (one line of metrics.jsonl in the run store),
FitResult at its end.

All but FitResult are frozen, so an observer in another thread can keep them without a
copy. Losses are sample means, accuracies percentages; top5 is measured only where there
are at least 10 classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    import numpy as np

SPLITS = ("train", "val", "test")


def is_number(v) -> bool:
    """Whether v is a number a plot can draw (an int of hundreds of digits is no float)."""
    if isinstance(v, float):
        return True
    if isinstance(v, int) and not isinstance(v, bool):
        return -1e308 < v < 1e308
    return False


def _float(v) -> float:
    """A stored number as a float; NaN for anything else (null, text, a huge int): a plot
    leaves a NaN point out, as it left out a missing one."""
    return float(v) if is_number(v) else math.nan


@dataclass(frozen=True)
class SplitMetrics:
    loss: float
    accuracy: float
    top5: float | None = None

    def to_dict(self) -> dict:
        d = {"loss": self.loss, "accuracy": self.accuracy}
        if self.top5 is not None:
            d["top5"] = self.top5
        return d

    @classmethod
    def from_dict(cls, d) -> SplitMetrics:
        if not isinstance(d, Mapping):
            raise ValueError(f"a split's metrics must be a table, not {type(d).__name__}")
        top5 = d.get("top5")
        return cls(_float(d.get("loss")), _float(d.get("accuracy")),
                   float(top5) if is_number(top5) else None)


_NO_SPLIT = SplitMetrics(math.nan, math.nan)


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    lr: float
    train: SplitMetrics
    seconds: float                  # the whole epoch: training and evaluation
    images_per_s: float             # training examples per second of the training part
    val: SplitMetrics | None = None
    test: SplitMetrics | None = None
    #: counts[true, predicted] per held-out split at this epoch's end; not written to metrics.jsonl
    confusion: Mapping[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def held(self) -> SplitMetrics | None:
        """The held-out split the lab reports: test, else val (None when there is neither)."""
        return self.test if self.test is not None else self.val

    def split(self, name: str) -> SplitMetrics | None:
        """The metrics of "train", "val" or "test" (None for a split this run does not have)."""
        if name not in SPLITS:
            raise ValueError(f"no split named {name!r}; one of {', '.join(SPLITS)}")
        return getattr(self, name)

    def to_dict(self) -> dict:
        """The metrics.jsonl line, in its key order (the confusion counts stay out)."""
        d = {"epoch": self.epoch, "lr": self.lr, "train": self.train.to_dict()}
        for name in ("val", "test"):
            m = getattr(self, name)
            if m is not None:
                d[name] = m.to_dict()
        d["seconds"] = self.seconds
        d["images_per_s"] = self.images_per_s
        return d

    @classmethod
    def from_dict(cls, d) -> EpochRecord:
        """Read a metrics.jsonl line. ValueError when it is not a table or has no whole epoch
        number; a field that is missing or not a number reads as NaN (a split that is not a
        table, as absent), so a hand-edited or older line still draws what it holds."""
        if not isinstance(d, Mapping):
            raise ValueError(f"an epoch record must be a table, not {type(d).__name__}")
        epoch = d.get("epoch")
        if not is_number(epoch) or not math.isfinite(epoch) or epoch != int(epoch):
            raise ValueError(f"an epoch record needs a whole epoch number, not {epoch!r:.40}")
        splits = {name: SplitMetrics.from_dict(d[name]) for name in SPLITS
                  if isinstance(d.get(name), Mapping)}
        return cls(int(epoch), _float(d.get("lr")), splits.get("train", _NO_SPLIT),
                   _float(d.get("seconds")), _float(d.get("images_per_s")),
                   splits.get("val"), splits.get("test"))


@dataclass(frozen=True)
class BatchChunk:
    """The training steps since the last read-back (global step numbers from 1)."""
    epoch: int
    steps: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    lr: float
    images_per_s: float


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
    precision: str = "fp32, contiguous"  # number and memory format (core.engine.precision.describe)


@dataclass
class FitResult:
    status: str                     # done | stopped | diverged | failed
    message: str = ""
    epochs: int = 0
    last: EpochRecord | None = None  # the last finished epoch's record
    error_kind: str = ""            # config | data | memory | io | internal (when failed)
    run_folder: str | None = None
