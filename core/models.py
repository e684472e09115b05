"""Build the MLP or CNN of a config, and its layer table (shapes, parameters, receptive fields).

The table answers questions 7, 10 and 11 of the practical: per layer, the output shape, the
number of weights and biases, and the receptive field (size, jump between neighbouring
units, centre of the first unit) computed with the usual recurrences
    rf_out = rf_in + (k − 1)·jump_in,  jump_out = jump_in·s,  start_out = start_in + ((k − 1)/2 − p)·jump_in.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from core.config import ModelConfig
from core.errors import ConfigError

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str
    out_shape: tuple[int, ...]      # without the batch dimension
    weights: int = 0
    biases: int = 0
    rf: int | None = None           # receptive field side in input pixels; None after flatten
    jump: int | None = None
    start: float | None = None

    @property
    def params(self) -> int:
        return self.weights + self.biases

    @property
    def macs(self) -> int:
        """Multiply-accumulates of this layer's forward pass for one example: a convolution
        applies its weights at every output position, a linear layer once."""
        return self.weights * (math.prod(self.out_shape[1:]) if self.kind == "conv" else 1)


class Network(nn.Sequential):
    """An nn.Sequential that keeps its layer table (`table`) alongside."""

    table: list[LayerInfo]


def _pooled(size: int, k: int, s: int, p: int, ceil: bool) -> int:
    v = (size + 2 * p - k) / s + 1
    out = math.ceil(v) if ceil else math.floor(v)
    if ceil and (out - 1) * s >= size + p:  # PyTorch drops a last window that starts in padding
        out -= 1
    return out


def build(mc: ModelConfig, in_shape: tuple[int, ...], n_classes: int) -> Network:
    """Return the network for input shape (C, H, W) or (D,); ConfigError names a bad layer."""
    layers: list[tuple[str, nn.Module]] = []
    # an input pixel i covers [i, i + 1), so the first unit's centre is at 0.5
    table = [LayerInfo("input", "input", tuple(in_shape), rf=1, jump=1, start=0.5)
             if len(in_shape) == 3 else LayerInfo("input", "input", tuple(in_shape))]
    act = ACTIVATIONS[mc.activation]
    drop_conv = mc.dropout > 0 and mc.dropout_place in ("conv", "all")
    drop_fc = mc.dropout > 0 and mc.dropout_place in ("fc", "all")

    def add(name: str, module: nn.Module, kind: str, shape, **rf):
        w = sum(p.numel() for n, p in module.named_parameters() if n == "weight")
        b = sum(p.numel() for n, p in module.named_parameters() if n == "bias")
        prev = table[-1]
        rf = rf or {"rf": prev.rf, "jump": prev.jump, "start": prev.start}
        layers.append((name, module))
        table.append(LayerInfo(name, kind, tuple(shape), w, b, **rf))

    shape = tuple(in_shape)
    if mc.kind == "cnn":
        if len(shape) != 3:
            raise ConfigError(f"model.kind: a CNN needs image input, got input of shape {shape}")
        for i, blk in enumerate(mc.blocks, 1):
            c, h, w = shape
            where = f"model.blocks[{i - 1}] (conv{i})"
            if blk.kernel > min(h, w) + 2 * blk.padding:
                raise ConfigError(f"{where}: kernel {blk.kernel} is larger than its padded input "
                                  f"{h + 2 * blk.padding}×{w + 2 * blk.padding}")
            oh = (h + 2 * blk.padding - blk.kernel) // blk.stride + 1
            ow = (w + 2 * blk.padding - blk.kernel) // blk.stride + 1
            prev = table[-1]
            add(f"conv{i}", nn.Conv2d(c, blk.channels, blk.kernel, blk.stride, blk.padding),
                "conv", (blk.channels, oh, ow), rf=prev.rf + (blk.kernel - 1) * prev.jump,
                jump=prev.jump * blk.stride,
                start=prev.start + ((blk.kernel - 1) / 2 - blk.padding) * prev.jump)
            shape = (blk.channels, oh, ow)
            if mc.batch_norm:
                add(f"bn{i}", nn.BatchNorm2d(blk.channels), "batchnorm", shape)
            add(f"{mc.activation}{i}", act(), "activation", shape)
            if blk.pool != "none":
                k, s = blk.pool_size, blk.pool_stride
                if k > min(oh, ow):
                    raise ConfigError(f"{where}: pooling window {k} is larger than its input "
                                      f"{oh}×{ow}")
                ph, pw = (_pooled(v, k, s, 0, blk.ceil_mode) for v in (oh, ow))
                pool = (nn.MaxPool2d(k, s, ceil_mode=blk.ceil_mode) if blk.pool == "max"
                        else nn.AvgPool2d(k, s, ceil_mode=blk.ceil_mode))
                prev = table[-1]
                shape = (blk.channels, ph, pw)
                add(f"pool{i}", pool, "pool", shape, rf=prev.rf + (k - 1) * prev.jump,
                    jump=prev.jump * s, start=prev.start + (k - 1) / 2 * prev.jump)
            if drop_conv:
                add(f"dropout{i}", nn.Dropout(mc.dropout), "dropout", shape)
    flat = math.prod(shape)
    if len(shape) > 1:
        add("flatten", nn.Flatten(), "flatten", (flat,), rf=None, jump=None, start=None)
    widths = mc.hidden if mc.kind == "mlp" else mc.fc
    for j, width in enumerate(widths, 1):
        name = "hidden" if mc.kind == "mlp" else "fc"
        add(f"{name}{j}", nn.Linear(flat, width), "linear", (width,), rf=None, jump=None, start=None)
        if mc.batch_norm and mc.kind == "mlp":
            add(f"bn_{name}{j}", nn.BatchNorm1d(width), "batchnorm", (width,))
        add(f"{mc.activation}_{name}{j}", act(), "activation", (width,))
        if drop_fc:
            add(f"dropout_{name}{j}", nn.Dropout(mc.dropout), "dropout", (width,))
        flat = width
    add("output", nn.Linear(flat, n_classes), "linear", (n_classes,), rf=None, jump=None, start=None)

    net = Network(OrderedDict(layers))
    net.table = table
    # the lab's initialisation: weights N(0, σ), biases 0. Not on the meta device (layer_table):
    # there is nothing to fill, and normal_ there imports torch._dynamo, 2 s of the window's start
    if mc.init_std > 0 and not any(p.is_meta for p in net.parameters()):
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, (nn.Linear, nn.Conv2d)):
                    m.weight.normal_(0.0, mc.init_std)
                    m.bias.zero_()
    return net


def layer_table(mc: ModelConfig, in_shape: tuple[int, ...], n_classes: int) -> list[LayerInfo]:
    """Return the layer table of the network a config describes."""
    with torch.device("meta"):  # shapes and counts only: allocate nothing
        return build(mc, in_shape, n_classes).table


def format_table(table: list[LayerInfo]) -> str:
    """Return the layer table as aligned text (the CLI prints it)."""
    rows = [("layer", "output", "weights", "biases", "RF", "jump", "start")]
    for t in table:
        rows.append((t.name, "×".join(map(str, t.out_shape)), str(t.weights), str(t.biases),
                     "" if t.rf is None else str(t.rf), "" if t.jump is None else str(t.jump),
                     "" if t.start is None else f"{t.start:g}"))
    rows.append(("total", "", str(sum(t.weights for t in table)),
                 str(sum(t.biases for t in table)), "", "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))) for r in rows)


def single_value_norm(table: list[LayerInfo]) -> LayerInfo | None:
    """Return the first batch-norm layer that sees one value per channel of an example (the
    units of a linear layer, a 1×1 feature map), or None: a batch of one example gives such
    a layer a single value, from which it cannot compute a variance."""
    for t in table:
        if t.kind == "batchnorm" and math.prod(t.out_shape[1:]) == 1:
            return t
    return None


def norm_setting(t: LayerInfo) -> str:
    """Return the config setting behind a batch-norm row: 'model.blocks[2] (bn3)'."""
    if t.name.startswith("bn") and t.name[2:].isdigit():
        return f"model.blocks[{int(t.name[2:]) - 1}] ({t.name})"
    return f"model.batch_norm ({t.name})"
