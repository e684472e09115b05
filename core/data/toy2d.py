"""2D point sets of Part 1: circles (as in the lab), moons, XOR, spiral, Gaussian blobs.

Each generator returns (points float32 n×2, labels int64 n), balanced, deterministic for a
seed, with `noise` scaling the spread relative to the lab's (1.0 = as in the lab).
"""

from __future__ import annotations

import math

import torch

from core.data import registry
from core.data.registry import Loaded, LoadContext

def _angles(g: torch.Generator, n: int) -> torch.Tensor:
    return torch.rand(n, generator=g, dtype=torch.float64) * 2 * math.pi


def _circles(g, counts, noise):
    # The lab's file: class 0 a ring of radius 1.03 ± 0.22, class 1 a disc of radius 0.39 ± 0.16.
    out = []
    for c, (mean, std) in enumerate([(1.03, 0.22), (0.39, 0.16)]):
        r = (mean + std * noise * torch.randn(counts[c], generator=g, dtype=torch.float64)).abs()
        t = _angles(g, counts[c])
        out.append(torch.stack([r * t.cos(), r * t.sin()], 1))
    return out


def _moons(g, counts, noise):
    t0 = torch.rand(counts[0], generator=g, dtype=torch.float64) * math.pi
    t1 = torch.rand(counts[1], generator=g, dtype=torch.float64) * math.pi
    a = torch.stack([t0.cos(), t0.sin()], 1) - torch.tensor([0.5, 0.25], dtype=torch.float64)
    b = torch.stack([1 - t1.cos(), 0.5 - t1.sin()], 1) - torch.tensor([0.5, 0.25], dtype=torch.float64)
    return [p * 1.2 + 0.12 * noise * torch.randn(p.shape, generator=g, dtype=torch.float64)
            for p in (a, b)]


def _xor(g, counts, noise):
    out = []
    for c in (0, 1):
        p = torch.rand(counts[c], 2, generator=g, dtype=torch.float64) * 1.6 + 0.1
        signs = torch.randint(0, 2, (counts[c],), generator=g) * 2 - 1
        # class 0 in quadrants 1 and 3, class 1 in quadrants 2 and 4
        p = p * torch.stack([signs, signs * (1 if c == 0 else -1)], 1)
        out.append(p + 0.08 * noise * torch.randn(p.shape, generator=g, dtype=torch.float64))
    return out


def _spiral(g, counts, noise):
    out = []
    for c in (0, 1):
        s = torch.rand(counts[c], generator=g, dtype=torch.float64)
        r = 0.15 + 1.6 * s
        t = 3.5 * math.pi * s + c * math.pi
        p = torch.stack([r * t.cos(), r * t.sin()], 1)
        out.append(p + 0.06 * noise * torch.randn(p.shape, generator=g, dtype=torch.float64))
    return out


def _blobs(g, counts, noise):
    centres = torch.tensor([[-0.8, -0.6], [0.8, 0.6]], dtype=torch.float64)
    return [centres[c] + 0.45 * noise * torch.randn(counts[c], 2, generator=g, dtype=torch.float64)
            for c in (0, 1)]


_MAKERS = {"circles": _circles, "moons": _moons, "xor": _xor, "spiral": _spiral, "blobs": _blobs}
NAMES = tuple(_MAKERS)


def make_points(name: str, n: int, seed: int, noise: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (points float32 n×2, labels int64 n) of the named 2D set, shuffled."""
    if name not in _MAKERS:
        raise ValueError(f"unknown 2D data set {name!r} (known: {', '.join(NAMES)})")
    if n < 2:
        raise ValueError(f"a 2D data set needs at least 2 points, got {n}")
    g = torch.Generator().manual_seed(seed)
    counts = (n - n // 2, n // 2)
    parts = _MAKERS[name](g, counts, noise)
    x = torch.cat(parts).float()
    y = torch.cat([torch.full((k,), c, dtype=torch.int64) for c, k in enumerate(counts)])
    order = torch.randperm(n, generator=g)
    return x[order], y[order]


def load(dc, seed: int, ctx: LoadContext) -> Loaded:
    """The registry's loader for the 2D sets (see core.data.registry for the contract)."""
    sizes = registry.get(dc.dataset).sizes
    # separate streams, so that changing N (question 2) keeps the same test points
    x, y = make_points(dc.dataset, dc.n_train or sizes[0], 2 * seed, dc.noise)
    xt, yt = make_points(dc.dataset, dc.n_test or sizes[1], 2 * seed + 1, dc.noise)
    return Loaded(x, y, xt, yt, ("class 0", "class 1"))
