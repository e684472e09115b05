"""Pictures for the lab report: a small PNG encoder (zlib only) and the first layer's filters
drawn from a run's saved weights, tiled as the Filters view tiles them (core.nets.inspect)."""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np
import torch

from core.nets import inspect as ins

#: the filters picture is enlarged to about this many pixels across (a 5×5 kernel is tiny)
FILTERS_WIDTH = 480


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png(image: np.ndarray) -> bytes:
    """Return an H×W (grey) or H×W×3 (RGB) image as PNG bytes: uint8, or floats in [0, 1]."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = (np.clip(np.nan_to_num(a.astype(np.float64)), 0, 1) * 255 + 0.5).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3) or 0 in a.shape:
        raise ValueError(f"a PNG needs an H×W or H×W×3 image, not shape {a.shape}")
    h, w = a.shape[:2]
    colour = 0 if a.ndim == 2 else 2  # PNG colour types: grey, truecolour
    rows = np.ascontiguousarray(a).reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()  # filter 0 per row
    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))


def enlarge(image: np.ndarray, width: int = FILTERS_WIDTH) -> np.ndarray:
    """Return the image repeated pixel by pixel (nearest neighbour) to about `width` across:
    a kernel's pixels stay sharp squares in any viewer."""
    factor = max(1, width // max(1, image.shape[1]))
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def first_layer(state: dict[str, torch.Tensor], input_shape: tuple[int, ...]
                ) -> tuple[str, np.ndarray, str] | None:
    """Return (layer name, mosaic in [0, 1], what a tile is) of the first layer with
    image-shaped weights — a convolution, or an MLP's first layer on images — or None."""
    names = [k[:-len(".weight")] for k, v in state.items() if k.endswith(".weight")]
    for name in names:
        w = state[f"{name}.weight"]
        if w.dim() == 4:
            rgb = w.shape[1] == 3
            what = ("each tile is one kernel in colour" if rgb else
                    "row = output channel, column = input channel")
            return name, ins.filter_mosaic(w, rgb), what
    if len(input_shape) == 3 and input_shape[0] in (1, 3) and names:
        w = state[f"{names[0]}.weight"]
        if w.dim() == 2 and w.shape[1] == math.prod(input_shape):
            tiles = ins.mlp_weight_tiles(w, input_shape)
            return names[0], tiles, "each tile is one hidden unit's weights over the image"
    return None


def filters_png(state: dict[str, torch.Tensor], input_shape: tuple[int, ...]
                ) -> tuple[bytes, str] | None:
    """Return (PNG bytes, caption) of the first layer's filters, or None when it has none."""
    found = first_layer(state, input_shape)
    if found is None:
        return None
    name, mosaic, what = found
    shape = "×".join(map(str, state[f"{name}.weight"].shape))
    return encode_png(enlarge(mosaic)), f"{name}: weights {shape}; {what}, scaled to its own range."
