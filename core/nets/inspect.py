"""What a network sees and has learned, computed without Qt (the GUI's views only draw it).

Everything returned is plain numpy (float32 or uint8, on the CPU) or small dataclasses of it;
no function leaves the model in another mode, or with other buffers, than it found it.
The receptive-field functions live in core.nets.receptive and are re-exported here.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.nets import mosaic
from core.data.loader import Data, Split
from core.nets.models import ACTIVATION_TYPES


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@contextmanager
def _mode(model: nn.Module, train: bool = False):
    """Run the block with the model in train or eval mode, then restore its mode and, after
    train mode, its buffers (batch norm's running statistics would otherwise move)."""
    was_training = model.training
    saved = {k: b.detach().clone() for k, b in model.named_buffers()} if train else {}
    model.train(train)
    try:
        yield
    finally:
        model.train(was_training)
        with torch.no_grad():
            for k, b in model.named_buffers():
                if k in saved:
                    b.copy_(saved[k])


# ---------------------------------------------------------------- predictions and confusion
@torch.no_grad()
def predict(model: torch.nn.Module, data: Data, split: Split, batch: int = 1024) -> torch.Tensor:
    """Return the predicted class of every example of a split (model in eval mode)."""
    was_training = model.training
    model.eval()
    out = torch.cat([model(xb).argmax(1) for xb, _ in data.batches(split, batch, train=False)])
    model.train(was_training)
    return out


def confusion_matrix(model: torch.nn.Module, data: Data, split: Split) -> np.ndarray:
    """Return counts[true class, predicted class] over a split."""
    k = len(data.classes)
    pred = predict(model, data, split)
    counts = torch.bincount(split.y * k + pred, minlength=k * k).view(k, k)
    return counts.cpu().numpy()


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Return each class's accuracy in % (the diagonal over the row sums)."""
    return 100.0 * np.diag(confusion) / np.maximum(confusion.sum(1), 1)


@torch.no_grad()
def misclassified(model: nn.Module, data: Data, split: Split, true_class: int,
                  predicted_class: int, limit: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (indices, examples, probabilities) of up to `limit` examples of confusion cell
    [true_class, predicted_class]: raw images uint8 N×H×W×C (or points float32 N×D), and the
    softmax float32 N×classes."""
    pred = predict(model, data, split)  # the same predictions as confusion_matrix
    idx = torch.nonzero((split.y == true_class) & (pred == predicted_class)).flatten()[:limit]
    raw = split.x[idx]
    with _mode(model):
        probs = torch.softmax(model(data.prepare(raw, train=False)), 1) if len(idx) else \
            torch.zeros(0, len(data.classes))
    examples = raw.permute(0, 2, 3, 1) if data.is_images else raw
    return (idx.cpu().numpy(), examples.cpu().numpy(),
            probs.float().cpu().numpy())


# ---------------------------------------------------------------- filters
def conv_layers(model: nn.Module) -> list[str]:
    """Return the names of the model's convolution layers, input side first."""
    return [n for n, m in model.named_children() if isinstance(m, nn.Conv2d)]


def _scaled(tiles: np.ndarray, scale: str) -> np.ndarray:
    """Min-max scale to [0, 1] each tile (scale="each": shapes show) or all together
    (scale="all": magnitudes compare); a constant tile becomes 0.5."""
    if scale not in ("each", "all"):
        raise ValueError(f"scale must be 'each' or 'all', not {scale!r}")
    axes = tuple(range(1, tiles.ndim)) if scale == "each" else None
    lo, hi = tiles.min(axis=axes, keepdims=True), tiles.max(axis=axes, keepdims=True)
    span = hi - lo
    out = np.where(span > 0, (tiles - lo) / np.where(span > 0, span, 1), 0.5)
    return out.astype(np.float32)


def filter_mosaic(weight: torch.Tensor, rgb: bool, pad: int = 1, scale: str = "each",
                  fill: float = 1.0) -> np.ndarray:
    """Return a conv layer's kernels as one image: rgb=True (3 input channels) an H×W×3 mosaic
    of the out kernels on a near-square grid; otherwise an H×W grey mosaic with one row per
    output channel and one column per input channel. Float32 in [0, 1], separators = fill."""
    w = weight.detach().float().cpu().numpy()
    n_out, n_in = w.shape[:2]
    if rgb:
        if n_in != 3:
            raise ValueError(f"an RGB mosaic needs 3 input channels, this layer has {n_in}")
        tiles = _scaled(w.transpose(0, 2, 3, 1), scale)  # out×k×k×3: the colour a filter likes
        return mosaic.tile(tiles, pad=pad, fill=fill)
    tiles = _scaled(w.reshape(n_out * n_in, *w.shape[2:]), scale)
    return mosaic.tile(tiles, cols=n_in, pad=pad, fill=fill)  # a row per output channel


def mlp_weight_tiles(weight: torch.Tensor, image_shape: tuple[int, int, int], pad: int = 1,
                     scale: str = "each", fill: float = 1.0) -> np.ndarray:
    """Return an MLP's first-layer weights, one input-shaped tile per hidden unit, as a
    near-square mosaic: H×W grey for 1-channel images, H×W×3 for RGB (float32 in [0, 1])."""
    c, h, w = image_shape
    if c not in (1, 3):
        raise ValueError(f"images of {c} channels cannot be shown as grey or RGB tiles")
    v = weight.detach().float().cpu().numpy().reshape(-1, c, h, w)
    tiles = v[:, 0] if c == 1 else v.transpose(0, 2, 3, 1)
    return mosaic.tile(_scaled(tiles, scale), pad=pad, fill=fill)


# ---------------------------------------------------------------- feature maps
@torch.no_grad()
def feature_maps(model: nn.Sequential, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Return {layer name: float32 channels×h×w} for every layer with a spatial output (conv,
    batch norm, activation, pool), for one prepared image (1×C×H×W or C×H×W), in eval mode."""
    x = x.to(_device(model), torch.float32)
    out = x[None] if x.dim() == 3 else x[:1]
    maps = {}
    with _mode(model):
        for name, m in model.named_children():
            if out.dim() != 4:  # after flatten nothing is spatial any more
                break
            out = m(out)
            if out.dim() == 4:
                maps[name] = out[0].float().cpu().numpy()
    return maps


def map_mosaic(maps: np.ndarray, pad: int = 1, scale: str = "each", fill: float = 1.0,
               cols: int | None = None) -> np.ndarray:
    """Return the channels×h×w maps of one layer as a near-square H×W grey mosaic in [0, 1]
    (or one on `cols` columns)."""
    return mosaic.tile(_scaled(np.asarray(maps, np.float32), scale), cols=cols, pad=pad, fill=fill)


# ---------------------------------------------------------------- 2D decision boundary
@dataclass
class Grid:
    xs: np.ndarray        # float32 steps: the grid's x coordinates (raw data units)
    ys: np.ndarray        # float32 steps: its y coordinates
    probs: np.ndarray     # float32 steps×steps×classes: probs[r, c] = P(class | (xs[c], ys[r]))
    inputs: np.ndarray    # float32 steps²×2: the grid points as the network sees them


def _grid_inputs(model, data, bounds, steps, margin):
    if bounds is None:
        if data is None:
            raise ValueError("give the data or explicit bounds (x0, x1, y0, y1)")
        pts = torch.cat([data.train.x, data.test.x]).float()
        lo, hi = pts.amin(0).tolist(), pts.amax(0).tolist()
        mx, my = margin * (hi[0] - lo[0]), margin * (hi[1] - lo[1])
        bounds = (lo[0] - mx, hi[0] + mx, lo[1] - my, hi[1] + my)
    dev = _device(model)
    xs = torch.linspace(bounds[0], bounds[1], steps, device=dev)
    ys = torch.linspace(bounds[2], bounds[3], steps, device=dev)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")  # row r ↔ ys[r], column c ↔ xs[c]
    pts = torch.stack([xx.flatten(), yy.flatten()], 1)
    inputs = data.prepare(pts, train=False) if data is not None else pts
    return xs, ys, inputs


@torch.no_grad()
def decision_grid(model: nn.Module, data: Data | None = None, steps: int = 40,
                  margin: float = 0.1, bounds: tuple[float, float, float, float] | None = None,
                  train_mode: bool = False) -> Grid:
    """Return the Grid of P(class) over the 2D data's range widened by `margin` (a fraction of
    it) or over bounds (x0, x1, y0, y1) — the lab: steps=40, bounds=(-2, 2, -2, 2).

    The points go through data.prepare like the training points (standardisation); all
    steps² points are one batch. train_mode=True shows dropout / batch-norm training behaviour
    (question 33) and then restores the model's mode and running statistics."""
    xs, ys, inputs = _grid_inputs(model, data, bounds, steps, margin)
    with _mode(model, train_mode):
        probs = torch.softmax(model(inputs).float(), 1)
    return Grid(xs.cpu().numpy(), ys.cpu().numpy(),
                probs.view(steps, steps, -1).cpu().numpy(), inputs.float().cpu().numpy())


@torch.no_grad()
def hidden_maps(model: nn.Sequential, grid: Grid, layer: str | None = None,
                train_mode: bool = False) -> np.ndarray:
    """Return float32 n_hidden×steps×steps: each hidden neuron's output after its activation
    (default: the first activation layer) over a decision_grid's points."""
    names = [n for n, m in model.named_children() if isinstance(m, ACTIVATION_TYPES)]
    layer = layer or (names[0] if names else None)
    if layer not in dict(model.named_children()):
        raise ValueError(f"no layer named {layer!r} (activations: {names})")
    out = torch.from_numpy(grid.inputs).to(_device(model))
    with _mode(model, train_mode):
        for name, m in model.named_children():
            out = m(out)
            if name == layer:
                break
    steps = len(grid.xs)
    return out.float().T.reshape(-1, len(grid.ys), steps).cpu().numpy()


# ---------------------------------------------------------------- what the network sees
@torch.no_grad()
def seen_batch(data: Data, n: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return (raw uint8 N×H×W×C, shown float32 N×h×w×C in [0, 1]): the same training images
    before and after standardisation and augmentation, de-standardised for display.
    The per-channel statistics used are data.mean and data.std."""
    if not data.is_images:
        raise ValueError("seen_batch shows images; these data are 2D points")
    g = torch.Generator(device=data.device).manual_seed(seed)
    idx = torch.randperm(len(data.train), device=data.device, generator=g)[:n]
    raw = data.train.x[idx]
    shown = data.unstandardise(data.prepare(raw, train=True, g=g))
    return (raw.permute(0, 2, 3, 1).cpu().numpy(),
            shown.permute(0, 2, 3, 1).float().cpu().numpy())


# ---------------------------------------------------------------- layer health
@dataclass
class LayerStats:
    act_mean: float      # mean of the layer's output after its activation
    act_std: float
    dead: float          # fraction of units (each output element) at 0 for every example
    grad_norm: float     # ‖∂loss/∂weights‖ as last left in .grad; nan when there is none


class LayerHealth:
    """Watches each weight layer (conv, linear): its activations while recording (or at its
    next training forward after record_once()) and its weight gradient on snapshot().

    Hooks are attached only while they are needed: a module with a forward hook takes
    PyTorch's slower call path and a Python call per forward, for nothing between samples."""

    def __init__(self, model: nn.Module):
        self.model = model
        self._acts: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self._weights: dict[str, nn.Module] = {}
        self._watched: dict[str, nn.Module] = {}  # weight-layer name → module whose output we watch
        self._handles: dict[str, torch.utils.hooks.RemovableHandle] = {}
        self.spent = 0.0  # seconds taken by the statistics (hooks and snapshots): callers pace by it
        current = None
        for name, m in model.named_children():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                current = name
                self._weights[name] = self._watched[name] = m
            elif current and isinstance(m, ACTIVATION_TYPES):
                self._watched[current] = m  # the output after the non-linearity (after batch norm)

    @property
    def recording(self) -> bool:
        """Whether forwards are being recorded; set True to record every forward."""
        return bool(self._handles)

    @recording.setter
    def recording(self, on: bool) -> None:
        if on:
            self._attach(once=False)
        else:
            self.detach()

    def record_once(self) -> None:
        """Record each layer's next training-mode forward, then take its hook off again."""
        self._attach(once=True)

    def _attach(self, once: bool) -> None:
        self.detach()
        self._handles = {name: m.register_forward_hook(self._hook(name, once))
                         for name, m in self._watched.items()}

    def _hook(self, name: str, once: bool):
        def hook(module, inputs, out):
            if once:
                if not module.training:  # an evaluation pass: wait for the next training step
                    return
                handle = self._handles.pop(name, None)
                if handle is not None:
                    handle.remove()
            t0 = time.perf_counter()
            o = out.detach().float()
            if o.dim() == 4 and not o.is_contiguous() and o.permute(0, 2, 3, 1).is_contiguous():
                o = o.permute(0, 2, 3, 1)  # channels_last: a max over dim 0 of its NCHW view
                # strides across the whole batch at each step, fifty times slower (20 ms)
            n = o.numel()
            # tensors stay on the device: no synchronisation until snapshot(). These run in
            # the training step, over a whole batch of activations (16 MB for the practical
            # CNN's first layer), so each is one pass without temporaries: Σx²
            # (vector_norm) instead of std's passes, and min/max over the batch instead of
            # a batch-sized boolean tensor for "0 for every example" (about twice as fast)
            mean = o.mean()
            square = torch.linalg.vector_norm(o).square() / n
            std = ((square - mean * mean).clamp_min(0) * (n / max(n - 1, 1))).sqrt()
            dead = ((o.amax(0) == 0) & (o.amin(0) == 0)).float().mean()
            self._acts[name] = (mean, std, dead)
            self.spent += time.perf_counter() - t0
        return hook

    def snapshot(self) -> dict[str, LayerStats]:
        """Return {weight layer: LayerStats} from the last recorded forward and current .grad."""
        t0 = time.perf_counter()
        out = {}
        for name, m in self._weights.items():
            a = [float(v) for v in self._acts[name]] if name in self._acts else [math.nan] * 3
            g = m.weight.grad
            out[name] = LayerStats(*a, float(g.norm()) if g is not None else math.nan)
        self.spent += time.perf_counter() - t0
        return out

    def detach(self) -> None:
        for h in self._handles.values():
            h.remove()
        self._handles = {}
