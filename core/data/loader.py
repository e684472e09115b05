"""Splits on the training device, batches, augmentation and standardisation as tensor ops.

Each split is decoded once into one tensor on the device (uint8 images or float32 points);
shuffles, random crops, flips and standardisation then happen there, batch by batch, with
no DataLoader and no worker process. Standardisation and ZCA statistics come from the
training split only and are applied to every split (question 20).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import torch
import torch.nn.functional as F

from core.data import registry
from core.data.registry import LoadContext
from core import ConfigError, DataError
from core.data.units import gb

if TYPE_CHECKING:
    from core.experiment.config import DataConfig

@dataclass
class Split:
    x: torch.Tensor   # uint8 N×C×H×W (images) or float32 N×D (points), on the device
    y: torch.Tensor   # int64 N, on the device

    def __len__(self) -> int:
        return int(self.y.shape[0])


class Data:
    """The train / val / test splits of an experiment, and the batches the network sees."""

    def __init__(self, dc: DataConfig, train: Split, val: Split, test: Split,
                 classes: tuple[str, ...], skipped: int = 0, dtype: torch.dtype = torch.float32,
                 skipped_files: tuple[str, ...] = (), note: Callable[[str], None] | None = None):
        self.config, self.train, self.val, self.test = dc, train, val, test
        #: note(text) announces a long preparation step (ZCA); an exception from it stops it
        self._note = note or (lambda text: None)
        self.dtype = dtype  # of the batches the network sees
        self.classes, self.skipped = classes, skipped
        self.skipped_files = skipped_files  # the first of them, relative to their folder
        self.is_images = train.x.dim() == 4
        self.device = train.x.device
        self._stats()

    # -- statistics from the training split only
    def _stats(self) -> None:
        x, dc = self.train.x, self.config
        c = x.shape[1]
        mean = torch.zeros(c, dtype=torch.float64, device=x.device)
        sq = torch.zeros(c, dtype=torch.float64, device=x.device)
        dims = (0, 2, 3) if self.is_images else (0,)
        count = 0
        for chunk in x.split(4096):  # float64 chunks: exact sums without a float copy of the set
            v = chunk.double() / 255 if self.is_images else chunk.double()
            mean += v.sum(dims)
            sq += (v * v).sum(dims)
            count += v.numel() // c
        mean /= max(count, 1)
        std = (sq / max(count, 1) - mean * mean).clamp_min(1e-12).sqrt()
        #: per-channel mean and std of the training split, in [0, 1] units for images
        self.mean, self.std = mean.float(), std.float()
        on = dc.standardize in ("channel", "zca")
        s = (1 / self.std) if on else torch.ones_like(self.std)
        b = (-self.mean / self.std) if on else torch.zeros_like(self.mean)
        if self.is_images:  # fuse uint8 → [0, 1] → standardised into one multiply-add
            s, b = s / 255, b
            self._scale, self._shift = s.view(1, c, 1, 1), b.view(1, c, 1, 1)
        else:
            self._scale, self._shift = s.view(1, c), b.view(1, c)
        self.zca = self._zca() if dc.standardize == "zca" else None

    def _zca(self, eps: float = 1e-2) -> torch.Tensor:
        """Return the ZCA whitening matrix U·diag(1/√(λ+ε))·Uᵀ of the standardised train split."""
        d, n = self.train.x[0].numel(), len(self.train)
        shape = "×".join(map(str, self.train.x.shape[1:]))
        slow = " (minutes on a CPU)" if d >= 4096 and self.device.type == "cpu" else ""
        self._note(f"ZCA whitening: a {d:,} × {d:,} covariance of {n:,} training images of "
                   f"{shape} pixels ({gb(d * d * 8)} in float64){slow}")
        cov = torch.zeros(d, d, dtype=torch.float64, device=self.device)
        done = 0
        for chunk in self.train.x.split(2048):
            v = self._standardise(chunk).flatten(1).double()
            cov += v.T @ v
            done += len(chunk)
            if done < n:
                self._note(f"ZCA whitening: covariance {done:,}/{n:,} images")
        cov /= max(n, 1)
        self._note(f"ZCA whitening: eigendecomposition of the {d:,} × {d:,} covariance{slow}")
        lam, u = torch.linalg.eigh(cov.cpu())
        w = (u * (1 / (lam.clamp_min(0) + eps).sqrt())) @ u.T
        return w.float().to(self.device)

    def _standardise(self, xb: torch.Tensor) -> torch.Tensor:
        # cast, then scale and shift in place: on the CPU a fused addcmul that casts uint8
        # on the fly runs unvectorised, ten times slower than these three passes; copy=True:
        # float points already in self.dtype would otherwise be scaled in place, in the store
        return xb.to(self.dtype, copy=True).mul_(self._scale.to(self.dtype)).add_(self._shift.to(self.dtype))

    # -- what the network sees
    @property
    def input_shape(self) -> tuple[int, ...]:
        shape = tuple(self.train.x.shape[1:])
        if self.is_images and self.config.crop:
            shape = (shape[0], self.config.crop, self.config.crop)
        return shape

    def prepare(self, xb: torch.Tensor, train: bool, g: torch.Generator | None = None) -> torch.Tensor:
        """Return raw examples as the network sees them: standardised, and for training
        randomly cropped and flipped (test and validation: the centre crop)."""
        v = self._standardise(xb)
        if self.zca is not None:
            v = (v.flatten(1) @ self.zca.to(v.dtype)).view_as(v)
        if not self.is_images:
            return v
        dc = self.config
        n, c, h, w = v.shape
        if train and dc.crop:
            p = dc.crop_padding
            if p:  # pad after standardising, so the padding is the training mean, not black
                v = F.pad(v, (p, p, p, p))
            k = dc.crop
            oy = torch.randint(0, h + 2 * p - k + 1, (n,), device=v.device, generator=g)
            ox = torch.randint(0, w + 2 * p - k + 1, (n,), device=v.device, generator=g)
            r = torch.arange(k, device=v.device)
            rows = (oy[:, None] + r).view(n, 1, k, 1).expand(n, c, k, v.shape[3])
            v = v.gather(2, rows)
            cols = (ox[:, None] + r).view(n, 1, 1, k).expand(n, c, k, k)
            v = v.gather(3, cols)
        elif dc.crop and dc.crop < h:
            top, left = (h - dc.crop) // 2, (w - dc.crop) // 2
            v = v[:, :, top:top + dc.crop, left:left + dc.crop]
        if train and dc.flip:
            mask = torch.rand(n, device=v.device, generator=g) < 0.5
            v = torch.where(mask.view(n, 1, 1, 1), v.flip(3), v)
        return v.contiguous()

    def unstandardise(self, v: torch.Tensor) -> torch.Tensor:
        """Return prepared images back in [0, 1] for display (ZCA output is shown rescaled)."""
        if self.zca is not None:
            lo, hi = v.amin(dim=(1, 2, 3), keepdim=True), v.amax(dim=(1, 2, 3), keepdim=True)
            return (v - lo) / (hi - lo).clamp_min(1e-8)
        return ((v - self._shift) / (self._scale * 255)).clamp(0, 1)

    def batches(self, split: Split, batch_size: int, train: bool,
                g: torch.Generator | None = None,
                drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield (inputs, labels) batches; training batches are reshuffled each epoch.

        drop_last leaves out a last batch of one example (batch norm cannot normalise it);
        the shuffle leaves out another example each epoch."""
        n = len(split)
        order = torch.randperm(n, device=self.device, generator=g) if train else None
        for i in range(0, n, batch_size):
            if drop_last and n - i < 2:
                return
            if order is None:
                xb, yb = split.x[i:i + batch_size], split.y[i:i + batch_size]
            else:
                idx = order[i:i + batch_size]
                xb, yb = split.x[idx], split.y[idx]
            yield self.prepare(xb, train, g), yb


def load(dc: DataConfig, seed: int, device: torch.device | str = "cpu",
         progress: Callable[[int, int], None] | None = None, dtype: torch.dtype = torch.float32,
         between: Callable[[], None] | None = None,
         note: Callable[[str], None] | None = None) -> Data:
    """Return the experiment's splits, decoded once and moved to the training device.

    The data set's registry entry loads it (core.data.registry says how a loader is called);
    progress(done, total) reports an image folder's decoding; between() is called between
    pieces of drawing Shapes-10; note(text) announces a long step (ZCA whitening). An exception
    raised by any of them stops the load (a Stop)."""
    g = torch.Generator().manual_seed(seed)
    got = registry.get(dc.dataset).loader()(dc, seed, LoadContext.of(dc, g, progress, between))
    n_val = _validation_size(dc, len(got.y))
    _check_crop(dc, got.x)
    dev = torch.device(device)
    # every loader returns its training pool in random order, so its last examples are a fair
    # validation split
    to = lambda a, b: Split(a.to(dev), b.to(dev))  # noqa: E731
    cut = len(got.y) - n_val
    return Data(dc, to(got.x[:cut], got.y[:cut]), to(got.x[cut:], got.y[cut:]), to(got.xt, got.yt),
                tuple(got.classes), got.skipped, dtype, tuple(got.skipped_files), note)


def _validation_size(dc: DataConfig, n: int) -> int:
    """Return how many of the n training examples data.val_fraction holds out."""
    n_val = int(round(dc.val_fraction * n))
    if n - n_val < 1:
        raise ConfigError(f"data.val_fraction: {dc.val_fraction} of {n} examples leaves none "
                          "to train on; lower it or raise data.n_train")
    return n_val


def _check_crop(dc: DataConfig, x: torch.Tensor) -> None:
    """Refuse a crop larger than the loaded images plus their padding."""
    if dc.crop and x.dim() == 4 and dc.crop > min(x.shape[2:]) + 2 * dc.crop_padding:
        raise DataError(f"data.crop: a {dc.crop}×{dc.crop} crop does not fit in "
                        f"{x.shape[2]}×{x.shape[3]} images padded by {dc.crop_padding}")
