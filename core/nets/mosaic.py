"""Mosaics: many small tiles (kernels, feature maps, images) laid out as one image.

One layout for every view that shows tiles: row by row on a grid of `cols` columns (by
default the near-square one, ceil(√n) columns), `pad` pixels of `fill` between tiles. The
views draw one image per mosaic (never a widget per tile) and map a click back to its tile
with cell_at. numpy only: no torch, no Qt."""

from __future__ import annotations

import math

import numpy as np


def grid(n: int, cols: int | None = None) -> tuple[int, int]:
    """Return (rows, cols) of n tiles: on `cols` columns, or the near-square grid."""
    cols = max(1, math.ceil(math.sqrt(n)) if cols is None else cols)
    return max(1, math.ceil(n / cols)), cols


def tile(tiles: np.ndarray, cols: int | None = None, pad: int = 1, fill: float = 1.0) -> np.ndarray:
    """Return tiles n×h×w (grey) or n×h×w×C as one float32 mosaic, row by row."""
    tiles = np.asarray(tiles)
    n, h, w = tiles.shape[:3]
    rows, cols = grid(n, cols)
    out = np.full((rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad) + tiles.shape[3:],
                  fill, dtype=np.float32)
    for k in range(n):
        r, c = divmod(k, cols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = tiles[k]
    return out


def image_mosaic(images: np.ndarray, pad: int = 1, fill: float = 1.0) -> np.ndarray:
    """Return N×H×W×C images in [0, 1] (or uint8) as one near-square mosaic (grey if C = 1)."""
    x = np.asarray(images)
    x = x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32)
    return tile(x[..., 0] if x.shape[-1] == 1 else x, pad=pad, fill=fill)


def cell_at(n: int, size: tuple[int, int], x: float, y: float, pad: int = 1,
            cols: int | None = None) -> tuple[int, int, int] | None:
    """Return (tile, row, col) under mosaic pixel (x, y) of tile()'s layout of n tiles of
    size (h, w), or None over a gap or outside."""
    h, w = size
    _, cols = grid(n, cols)
    c, r = int(x // (w + pad)), int(y // (h + pad))
    j, i = int(x - c * (w + pad)), int(y - r * (h + pad))
    k = r * cols + c
    if x < 0 or y < 0 or c >= cols or k >= n or not (0 <= i < h and 0 <= j < w):
        return None
    return k, i, j


def origin(n: int, size: tuple[int, int], k: int, pad: int = 1,
           cols: int | None = None) -> tuple[int, int]:
    """Return mosaic (x, y) of the top-left pixel of tile k."""
    h, w = size
    r, c = divmod(k, grid(n, cols)[1])
    return c * (w + pad), r * (h + pad)
