"""Shapes-10: a synthetic 10-class image set drawn from a seed (no files, no network).

Each shape is a signed-distance function evaluated on a pixel grid for a whole
chunk of images at once, so 10,000 images take a fraction of a second on a CPU.
Nuisance factors (position, scale, rotation, thickness, colours, background
texture, pixel noise) are random so that a small training set can be
memorised without being learned: overfitting is visible at small N.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from core.data import registry
from core.data.registry import Loaded, LoadContext
from core import ConfigError

CLASSES: tuple[str, ...] = (
    "circle", "ring", "square", "diamond", "triangle",
    "cross", "star", "stripes", "arrow-left", "arrow-right",
)

# Caps the float temporaries of one chunk (~2 M pixels: about 100 MB at peak) whatever n and size are.
_PIXELS_PER_CHUNK = 2_000_000

# Rotation limits in radians: full turns only where a turn cannot change the class.
_FULL = math.pi
_SMALL = math.radians(12)  # a 45 degree turn would make a square a diamond and a cross an x
_ARROW = math.radians(15)  # arrows must keep pointing left or right


def _box(x, y, bx, by):
    qx, qy = x.abs() - bx, y.abs() - by
    outside = torch.sqrt(qx.clamp(min=0) ** 2 + qy.clamp(min=0) ** 2)
    return outside + torch.maximum(qx, qy).clamp(max=0)


def _rhombus(x, y, bx, by):
    # Inigo Quilez's exact rhombus distance, half-diagonals bx (across) and by (up).
    x, y = x.abs(), y.abs()
    h = (((bx - 2 * x) * bx - (by - 2 * y) * by) / (bx * bx + by * by)).clamp(-1, 1)
    dx, dy = x - 0.5 * bx * (1 - h), y - 0.5 * by * (1 + h)
    return torch.sqrt(dx * dx + dy * dy) * torch.sign(x * by + y * bx - bx * by)


def _triangle(x, y):
    # Equilateral triangle with circumradius 1 (Quilez), centred on its centroid.
    k, r = math.sqrt(3.0), math.sqrt(3.0) / 2
    x, y = x.abs() - r, y + 0.5
    fold = x + k * y > 0
    x, y = torch.where(fold, (x - k * y) / 2, x), torch.where(fold, (-k * x - y) / 2, y)
    x = x - x.clamp(-2 * r, 0)
    return -torch.sqrt(x * x + y * y) * torch.sign(y)


def _star(x, y, inner):
    # Five-pointed star, outer radius 1 (Quilez's sdStar5); reflections fold it into one spike.
    k1x, k1y = 0.809016994375, -0.587785252292
    x = x.abs()
    for kx in (k1x, -k1x):
        dot = (kx * x + k1y * y).clamp(min=0)
        x, y = x - 2 * dot * kx, y - 2 * dot * k1y
    x, y = x.abs(), y - 1
    bax, bay = -k1y * inner, k1x * inner - 1
    h = ((x * bax + y * bay) / (bax * bax + bay * bay)).clamp(0, 1)
    dx, dy = x - bax * h, y - bay * h
    return torch.sqrt(dx * dx + dy * dy) * torch.sign(y * bax - x * bay)


def _arrow_left(x, y, w, head_len, head_half):
    # Head: the wedge between two slanted edges meeting at the tip (-1, 0), cut at its back.
    back = -1 + head_len
    slope = head_half / head_len
    edge = (y.abs() - slope * (x + 1)) / torch.sqrt(1 + slope * slope)
    head = torch.maximum(edge, x - back)
    shaft = _box(x - (back + 1) / 2 + 0.05, y, (1 - back) / 2 + 0.05, w)
    return torch.minimum(head, shaft)


def _sdf(label: int, x, y, u, w):
    """Signed distance in shape units for class `label`; `u` is uniform [0,1) per image, `w` a thickness."""
    name = CLASSES[label]
    if name == "circle":
        return torch.sqrt(x * x + y * y) - 1
    if name == "ring":
        return (torch.sqrt(x * x + y * y) - (1 - w)).abs() - w
    if name == "square":
        side = 0.72 + 0.08 * u  # aspect 0.9-1: a square to the eye, but not one exact template
        return _box(x, y, side, 0.8)
    if name == "diamond":
        # Always clearly taller than wide, so a diamond never passes for a slightly turned square.
        return _rhombus(x, y, 0.5 + 0.25 * u, torch.ones_like(u))
    if name == "triangle":
        return _triangle(x, y)
    if name == "cross":
        return torch.minimum(_box(x, y, 1.0, w), _box(x, y, w, 1.0))
    if name == "star":
        return _star(x, y, 0.38 + 0.14 * u)
    if name == "stripes":
        period = 0.5 + 0.2 * u  # three to four bars across the patch
        bars = ((x + 1) % period - period / 2).abs() - period * 0.27
        return torch.maximum(bars, _box(x, y, 0.85, 0.85))
    # arrow-right is drawn as arrow-left and mirrored afterwards (see _draw_chunk).
    return _arrow_left(x, y, w * 0.8, 0.45 + 0.2 * u, 0.5 + 0.3 * (1 - u))


def _draw_chunk(label: int, m: int, size: int, g: torch.Generator) -> torch.Tensor:
    """Return m uint8 images (m x 3 x size x size) of class `label`."""

    def uni(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(m, *shape, generator=g)

    def col(v):  # per-image scalar -> broadcastable over (m, size, size)
        return v.view(m, 1, 1)

    name = CLASSES[label]
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) * (2.0 / size) - 1.0
    gy, gx = coords.view(1, size, 1), coords.view(1, 1, size)

    scale = uni(0.38, 0.85)  # half-extent in image half-widths: the shape spans ~35-85 % of the image
    room = (1.0 - scale).clamp(min=0.0) + 0.08  # shapes may touch or slightly cross the border
    cx, cy = uni(-1, 1) * room, uni(-1, 1) * room
    limit = {"square": _SMALL, "diamond": _SMALL, "cross": _SMALL,
             "arrow-left": _ARROW, "arrow-right": _ARROW}.get(name, _FULL)
    theta = uni(-limit, limit)
    cos, sin = col(torch.cos(theta)), col(torch.sin(theta))
    dx, dy = gx - col(cx), gy - col(cy)
    x = (cos * dx + sin * dy) / col(scale)
    y = (-sin * dx + cos * dy) / col(scale)
    u, w = col(uni(0, 1)), col(uni(0.16, 0.3))

    # Anti-aliased coverage: distance converted to pixels, one-pixel ramp across the edge.
    dist_px = _sdf(label, x, y, u, w) * col(scale) * (size / 2)
    alpha = (0.5 - dist_px).clamp(0, 1).unsqueeze(1)

    # Colours: one side dark, the other light, so the shape always stands out whatever the hues.
    dark, light = uni(0.0, 0.42, 3), uni(0.58, 1.0, 3)
    fg_light = torch.rand(m, 1, generator=g) < 0.5
    fg = torch.where(fg_light, light, dark).view(m, 3, 1, 1)
    bg = torch.where(fg_light, dark, light).view(m, 3, 1, 1)

    # Low-contrast background texture: gradient + faint stripes + blurry blobs. The blobs are a
    # random mix of smooth cosine bumps built by two small matmuls, far cheaper than upsampling.
    phi, psi = uni(0, 2 * math.pi), uni(0, 2 * math.pi)
    ramp = col(uni(0, 0.1) * torch.cos(phi)) * gx + col(uni(0, 0.1) * torch.sin(phi)) * gy
    waves = torch.sin(math.pi * col(uni(1.5, 5)) * (col(torch.cos(psi)) * gx + col(torch.sin(psi)) * gy)
                      + col(uni(0, 2 * math.pi)))
    basis = torch.cos(math.pi * torch.arange(1, 4, dtype=torch.float32).view(3, 1) * (coords + 1) / 2)
    coeff = torch.randn(m, 3, 3, generator=g) * col(uni(0, 0.03))
    texture = (basis.T @ coeff @ basis).add_(ramp).addcmul_(waves, col(uni(0, 0.06)))

    # (1 - alpha) * (bg + texture) + alpha * (fg + texture / 2), i.e. the shape shows half the
    # texture, written to build as few full-size 3-channel temporaries as possible.
    texture = (texture * (1 - 0.5 * alpha.squeeze(1))).unsqueeze(1)
    img = torch.addcmul(bg + texture, alpha, fg - bg)
    img.addcmul_(uni(0.015, 0.07).view(m, 1, 1, 1), torch.randn(m, 3, size, size, generator=g))
    # Scale to 0..255 and add 0.5 so that the truncating uint8 cast rounds to nearest.
    out = img.mul_(255).add_(0.5).clamp_(0, 255).to(torch.uint8)
    if name == "arrow-right":
        out = out.flip(-1)  # exact mirror of arrow-left's construction, background and noise included
    return out


def _integer(name: str, value) -> int:
    # bool is an int to Python, but make_shapes(True, ...) is surely a mistake; numpy integers are fine.
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ConfigError(f"Shapes-10 needs a whole number for {name}, but {name} = {value!r} was given.")
    return value.__index__()


def make_shapes(n: int, seed: int, size: int = 32,
                between: Callable[[], None] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (images uint8 n x 3 x size x size, labels int64 n) of Shapes-10, class-balanced and shuffled.

    The result depends only on (n, seed, size); the global RNG is never touched.
    Class k gets n // 10 images, plus one more for the first n % 10 classes.
    between() is called before each chunk of drawing; an exception from it stops the drawing
    (the trainer's Stop while the data is prepared).
    """
    n, seed, size = _integer("n", n), _integer("seed", seed), _integer("size", size)
    if n < 1:
        raise ConfigError(f"Shapes-10 needs at least one image, but n = {n} was asked for.")
    if size < 16:
        raise ConfigError(f"Shapes-10 images must be at least 16 pixels wide, but size = {size} was asked for.")
    if not -(2**63) <= seed < 2**64:
        raise ConfigError(f"The Shapes-10 seed must fit in 64 bits, but seed = {seed} was given.")

    g = torch.Generator().manual_seed(seed)
    k = len(CLASSES)
    counts = [n // k + (1 if c < n % k else 0) for c in range(k)]
    labels = torch.repeat_interleave(torch.arange(k), torch.tensor(counts))
    images = torch.empty(n, 3, size, size, dtype=torch.uint8)
    chunk = max(1, _PIXELS_PER_CHUNK // (size * size))
    start = 0
    for c, count in enumerate(counts):
        for lo in range(0, count, chunk):
            if between is not None:
                between()
            m = min(chunk, count - lo)
            images[start:start + m] = _draw_chunk(c, m, size, g)
            start += m

    order = torch.randperm(n, generator=g)
    return images[order], labels[order]


def load(dc, seed: int, ctx: LoadContext) -> Loaded:
    """The registry's loader for Shapes-10 (see core.data.registry for the contract)."""
    sizes = registry.get(dc.dataset).sizes
    x, y = make_shapes(dc.n_train or sizes[0], 2 * seed, dc.image_size, ctx.between)
    xt, yt = make_shapes(dc.n_test or sizes[1], 2 * seed + 1, dc.image_size, ctx.between)
    return Loaded(x, y, xt, yt, CLASSES)
