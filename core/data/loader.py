"""Splits on the training device, batches, augmentation and standardisation as tensor ops.

Each split is decoded once into one tensor on the device (uint8 images or float32 points);
shuffles, random crops, flips and standardisation then happen there, batch by batch, with
no DataLoader and no worker process. Standardisation and ZCA statistics come from the
training split only and are applied to every split (question 20).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from core.config import POINT_SETS, DataConfig
from core.errors import ConfigError, DataError

DEFAULT_SIZES = {"points": (200, 200), "shapes10": (10000, 2000)}


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
        from core.memory import gb
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
        # on the fly runs unvectorised, ten times slower than these three passes
        return xb.to(self.dtype).mul_(self._scale.to(self.dtype)).add_(self._shift.to(self.dtype))

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


def _take(x: torch.Tensor, y: torch.Tensor, n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Return n examples in a seeded random order (all of them when n is 0 or too large).

    Shuffling even when keeping all matters: image folders come sorted by class, and the
    validation split is cut from the end."""
    idx = torch.randperm(len(y), generator=g)
    if n:
        idx = idx[:n]
    return x[idx], y[idx]


def load(dc: DataConfig, seed: int, device: torch.device | str = "cpu",
         progress: Callable[[int, int], None] | None = None, dtype: torch.dtype = torch.float32,
         between: Callable[[], None] | None = None,
         note: Callable[[str], None] | None = None) -> Data:
    """Return the experiment's splits, decoded once and moved to the training device.

    progress(done, total) reports an image folder's decoding; between() is called between
    pieces of drawing Shapes-10; note(text) announces a long step (ZCA whitening). An exception
    raised by any of them stops the load (a Stop)."""
    g = torch.Generator().manual_seed(seed)
    skipped, skipped_files = 0, ()
    root, test_root = (os.path.expanduser(r) if r else r for r in (dc.root, dc.test_root))
    if dc.dataset in POINT_SETS:
        from core.data.toy2d import make_points
        n_train = dc.n_train or DEFAULT_SIZES["points"][0]
        n_test = dc.n_test or DEFAULT_SIZES["points"][1]
        # separate streams, so that changing N (question 2) keeps the same test points
        x, y = make_points(dc.dataset, n_train, 2 * seed, dc.noise)
        xt, yt = make_points(dc.dataset, n_test, 2 * seed + 1, dc.noise)
        classes = ("class 0", "class 1")
    elif dc.dataset == "shapes10":
        from core.data.shapes import CLASSES, make_shapes
        x, y = make_shapes(dc.n_train or DEFAULT_SIZES["shapes10"][0], 2 * seed, dc.image_size, between)
        xt, yt = make_shapes(dc.n_test or DEFAULT_SIZES["shapes10"][1], 2 * seed + 1, dc.image_size,
                             between)
        classes = CLASSES
    elif dc.dataset == "folder":
        from core.data.vision import load_image_folder
        s = load_image_folder(root, dc.image_size, progress, min_classes=2)
        skipped += s.skipped
        skipped_files = s.skipped_files
        x, y, classes = s.images, s.labels, s.classes
        if test_root:
            t = load_image_folder(test_root, dc.image_size, progress, min_classes=2)
            if t.classes != classes:
                raise DataError(f"The test folder {dc.test_root} has classes {list(t.classes)} but "
                                f"the training folder has {list(classes)}; give both the same "
                                "sub-folders.")
            skipped += t.skipped
            skipped_files += t.skipped_files
            xt, yt = _take(t.images, t.labels, dc.n_test, g)
        else:  # hold out a test split from the one folder, before N is applied
            order = torch.randperm(len(y), generator=g)
            k = dc.n_test or max(1, len(y) // 10)
            if k >= len(y):
                raise ConfigError(f"data.n_test: {k} test images leave none to train on; the "
                                  f"folder {dc.root} holds {len(y)} images")
            xt, yt = x[order[:k]], y[order[:k]]
            x, y = x[order[k:]], y[order[k:]]
        x, y = _take(x, y, dc.n_train, g)
    else:
        from core.data.vision import load_torchvision
        tr = load_torchvision(dc.dataset, root, train=True, download=dc.download)
        te = load_torchvision(dc.dataset, root, train=False, download=dc.download)
        x, y = _take(tr.images, tr.labels, dc.n_train, g)
        xt, yt = _take(te.images, te.labels, dc.n_test, g)
        classes = tr.classes
    n_val = int(round(dc.val_fraction * len(y)))
    if len(y) - n_val < 1:
        raise ConfigError(f"data.val_fraction: {dc.val_fraction} of {len(y)} examples leaves none "
                          "to train on; lower it or raise data.n_train")
    if dc.crop and x.dim() == 4 and dc.crop > min(x.shape[2:]) + 2 * dc.crop_padding:
        raise DataError(f"data.crop: a {dc.crop}×{dc.crop} crop does not fit in "
                        f"{x.shape[2]}×{x.shape[3]} images padded by {dc.crop_padding}")
    dev = torch.device(device)
    # every train set above is in random order, so its last examples are a fair validation split
    to = lambda a, b: Split(a.to(dev), b.to(dev))  # noqa: E731
    cut = len(y) - n_val
    return Data(dc, to(x[:cut], y[:cut]), to(x[cut:], y[cut:]), to(xt, yt), tuple(classes), skipped,
                dtype, skipped_files, note)
