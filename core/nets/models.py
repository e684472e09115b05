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
from typing import TYPE_CHECKING, Callable

import torch
from torch import nn

from core import ConfigError

if TYPE_CHECKING:  # config refuses some layouts by building them (models): no import back
    from core.experiment.config import ModelConfig


@dataclass(frozen=True)
class Activation:
    """A non-linearity (model.activation): its layer, and the same function and its derivative
    on tensors for the hand-written passes of Part 1 (core.engine.manual)."""
    name: str
    module: type[nn.Module]                       # the layer build() puts in
    fn: Callable[[torch.Tensor], torch.Tensor]    # h = σ(h̃)
    grad: Callable[[torch.Tensor], torch.Tensor]  # σ'(h̃) written from the output h (tanh: 1 − h²)


ACTIVATIONS = {a.name: a for a in (
    Activation("tanh", nn.Tanh, torch.tanh, lambda h: 1 - h * h),
    Activation("relu", nn.ReLU, torch.relu, lambda h: (h > 0).to(h.dtype)),
    Activation("sigmoid", nn.Sigmoid, torch.sigmoid, lambda h: h * (1 - h)),
)}
#: the layer types that are activations (the views find the hidden layers' outputs by them)
ACTIVATION_TYPES = tuple(a.module for a in ACTIVATIONS.values())


def activation_of(layer: nn.Module) -> Activation | None:
    """The activation a layer is, or None if it is none of ACTIVATIONS."""
    return next((a for a in ACTIVATIONS.values() if isinstance(layer, a.module)), None)


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


class _Layers:
    """The layers of a network being built, each with its row of the layer table."""

    def __init__(self, in_shape: tuple[int, ...]):
        self.modules: list[tuple[str, nn.Module]] = []
        # an input pixel i covers [i, i + 1), so the first unit's centre is at 0.5
        self.table = [LayerInfo("input", "input", tuple(in_shape), rf=1, jump=1, start=0.5)
                      if len(in_shape) == 3 else LayerInfo("input", "input", tuple(in_shape))]

    @property
    def last(self) -> LayerInfo:
        return self.table[-1]

    def add(self, name: str, module: nn.Module, kind: str, shape, **rf) -> None:
        """Append a layer; without rf/jump/start it keeps the previous layer's."""
        w = sum(p.numel() for n, p in module.named_parameters() if n == "weight")
        b = sum(p.numel() for n, p in module.named_parameters() if n == "bias")
        prev = self.last
        rf = rf or {"rf": prev.rf, "jump": prev.jump, "start": prev.start}
        self.modules.append((name, module))
        self.table.append(LayerInfo(name, kind, tuple(shape), w, b, **rf))

    def add_dense(self, name: str, module: nn.Module, kind: str, shape) -> None:
        """Append a layer after which units have no receptive field in the image."""
        self.add(name, module, kind, shape, rf=None, jump=None, start=None)


def _conv_block(net: _Layers, mc: ModelConfig, i: int, blk, act: type[nn.Module]) -> None:
    """Append conv{i}, its batch norm, activation, pooling and dropout (model.blocks[i - 1])."""
    c, h, w = net.last.out_shape
    where = f"model.blocks[{i - 1}] (conv{i})"
    if blk.kernel > min(h, w) + 2 * blk.padding:
        raise ConfigError(f"{where}: kernel {blk.kernel} is larger than its padded input "
                          f"{h + 2 * blk.padding}×{w + 2 * blk.padding}")
    oh = (h + 2 * blk.padding - blk.kernel) // blk.stride + 1
    ow = (w + 2 * blk.padding - blk.kernel) // blk.stride + 1
    prev = net.last
    shape = (blk.channels, oh, ow)
    net.add(f"conv{i}", nn.Conv2d(c, blk.channels, blk.kernel, blk.stride, blk.padding), "conv",
            shape, rf=prev.rf + (blk.kernel - 1) * prev.jump, jump=prev.jump * blk.stride,
            start=prev.start + ((blk.kernel - 1) / 2 - blk.padding) * prev.jump)
    if mc.batch_norm:
        net.add(f"bn{i}", nn.BatchNorm2d(blk.channels), "batchnorm", shape)
    net.add(f"{mc.activation}{i}", act(), "activation", shape)
    if blk.pool != "none":
        k, s = blk.pool_size, blk.pool_stride
        if k > min(oh, ow):
            raise ConfigError(f"{where}: pooling window {k} is larger than its input {oh}×{ow}")
        ph, pw = (_pooled(v, k, s, 0, blk.ceil_mode) for v in (oh, ow))
        pool = (nn.MaxPool2d(k, s, ceil_mode=blk.ceil_mode) if blk.pool == "max"
                else nn.AvgPool2d(k, s, ceil_mode=blk.ceil_mode))
        prev = net.last
        shape = (blk.channels, ph, pw)
        net.add(f"pool{i}", pool, "pool", shape, rf=prev.rf + (k - 1) * prev.jump,
                jump=prev.jump * s, start=prev.start + (k - 1) / 2 * prev.jump)
    if mc.dropout > 0 and mc.dropout_place in ("conv", "all"):
        net.add(f"dropout{i}", nn.Dropout(mc.dropout), "dropout", shape)


def _dense_layers(net: _Layers, mc: ModelConfig, n_classes: int, act: type[nn.Module]) -> None:
    """Append the flatten, the hidden (MLP) or fully connected (CNN) layers and the output."""
    shape = net.last.out_shape
    flat = math.prod(shape)
    if len(shape) > 1:
        net.add_dense("flatten", nn.Flatten(), "flatten", (flat,))
    name = "hidden" if mc.kind == "mlp" else "fc"
    for j, width in enumerate(mc.hidden if mc.kind == "mlp" else mc.fc, 1):
        net.add_dense(f"{name}{j}", nn.Linear(flat, width), "linear", (width,))
        if mc.batch_norm and mc.kind == "mlp":
            net.add(f"bn_{name}{j}", nn.BatchNorm1d(width), "batchnorm", (width,))
        net.add(f"{mc.activation}_{name}{j}", act(), "activation", (width,))
        if mc.dropout > 0 and mc.dropout_place in ("fc", "all"):
            net.add(f"dropout_{name}{j}", nn.Dropout(mc.dropout), "dropout", (width,))
        flat = width
    net.add_dense("output", nn.Linear(flat, n_classes), "linear", (n_classes,))


def _initialise(net: nn.Module, std: float) -> None:
    """The lab's initialisation: weights N(0, σ), biases 0 (σ = 0: torch's default).

    Not on the meta device (layer_table): there is nothing to fill, and normal_ there imports
    torch._dynamo, 2 s of the window's start."""
    if std > 0 and not any(p.is_meta for p in net.parameters()):
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, (nn.Linear, nn.Conv2d)):
                    m.weight.normal_(0.0, std)
                    m.bias.zero_()


def build(mc: ModelConfig, in_shape: tuple[int, ...], n_classes: int) -> Network:
    """Return the network for input shape (C, H, W) or (D,); ConfigError names a bad layer."""
    layers = _Layers(in_shape)
    act = ACTIVATIONS[mc.activation].module
    if mc.kind == "cnn":
        if len(in_shape) != 3:
            raise ConfigError(f"model.kind: a CNN needs image input, got input of shape "
                              f"{tuple(in_shape)}")
        for i, blk in enumerate(mc.blocks, 1):
            _conv_block(layers, mc, i, blk, act)
    _dense_layers(layers, mc, n_classes, act)
    net = Network(OrderedDict(layers.modules))
    net.table = layers.table
    _initialise(net, mc.init_std)
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
