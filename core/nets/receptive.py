"""Receptive fields (question 7): the theoretical rectangle of a unit from the layer table, and
the effective one measured as the gradient of that unit with respect to the input pixels."""

from __future__ import annotations

import numpy as np
import torch

from core.nets.models import LayerInfo


def _row(table: list[LayerInfo], layer_name: str) -> LayerInfo:
    for t in table:
        if t.name == layer_name:
            if t.rf is None:
                raise ValueError(f"layer {layer_name!r} comes after flatten: its units see the "
                                 "whole image, it has no spatial receptive field")
            return t
    raise ValueError(f"no layer named {layer_name!r} (layers: {[t.name for t in table]})")


def theoretical_rf(table: list[LayerInfo], layer_name: str, i: int, j: int,
                   image_hw: tuple[int, int], clip: bool = True) -> tuple[int, int, int, int]:
    """Return (top, left, bottom, right) in input pixels of unit (i, j)'s receptive field,
    bottom/right exclusive, clipped to the image unless clip=False."""
    t = _row(table, layer_name)
    # `start` is the centre of unit 0 (pixel p covers [p, p + 1)), so the field of unit i
    # spans [centre − rf/2, centre + rf/2), whose ends are whole pixels
    cy, cx = t.start + i * t.jump, t.start + j * t.jump
    top, left = round(cy - t.rf / 2), round(cx - t.rf / 2)
    bottom, right = top + t.rf, left + t.rf
    if clip:
        h, w = image_hw
        top, left = min(max(top, 0), h), min(max(left, 0), w)
        bottom, right = min(max(bottom, 0), h), min(max(right, 0), w)
    return top, left, bottom, right


def rf_coverage(table: list[LayerInfo], layer_name: str, image_hw: tuple[int, int],
                unit: tuple[int, int] | None = None) -> float:
    """Return the fraction of the image inside one unit's receptive field (default: the central
    unit), clipped to the image: 1.0 means that unit sees the whole image."""
    t = _row(table, layer_name)
    if unit is None:
        unit = ((t.out_shape[1] - 1) // 2, (t.out_shape[2] - 1) // 2)
    top, left, bottom, right = theoretical_rf(table, layer_name, *unit, image_hw)
    return (bottom - top) * (right - left) / (image_hw[0] * image_hw[1])


def effective_rf(model: torch.nn.Sequential, x: torch.Tensor, layer_name: str, channel: int,
                 i: int, j: int) -> np.ndarray:
    """Return |∂ unit / ∂ input| summed over the input channels, float32 H×W, for unit
    (channel, i, j) of a layer (model in eval mode; its mode and gradients are left as they were)."""
    names = [n for n, _ in model.named_children()]
    if layer_name not in names:
        raise ValueError(f"no layer named {layer_name!r} (layers: {names})")
    dev = next(model.parameters()).device
    x = x.detach().to(dev, torch.float32)
    x = (x[None] if x.dim() == 3 else x[:1]).requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            out = x
            for name, m in model.named_children():  # stop at the layer: nothing after it matters
                out = m(out)
                if name == layer_name:
                    break
            # autograd.grad, not backward: the parameters' .grad stay untouched
            (g,) = torch.autograd.grad(out[0, channel, i, j], x)
    finally:
        model.train(was_training)
    return g[0].abs().sum(0).cpu().numpy().astype(np.float32)
