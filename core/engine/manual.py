"""Part 1 of the practical: the MLP's forward and backward passes written by hand.

Four ways to take one SGD step on the same network, from the most explicit to torch's:
  manual    forward and backward as plain tensor operations (questions 7, 14–17), no autograd;
  autograd  the same hand-written forward, gradients from loss.backward();
  nn        torch.nn layers and loss.backward(), the update W ← W − η∇W written out;
  optim     torch.nn layers and the run's torch.optim optimiser (the engine's usual step).
All four read and update the parameters of one core.nets.models network, so the same seed gives the
same run, and evaluation, run files and inspection views work the same for each.

    h̃ = xW_hᵀ + b_h,  h = tanh h̃,  ỹ = hW_yᵀ + b_y,  ŷ = softmax ỹ
    ∇ỹ = ŷ − y,  ∇W_y = ∇ỹᵀh,  ∇b_y = Σ∇ỹ,  ∇h̃ = (1 − h²) ⊙ (∇ỹ W_y),  ∇W_h = ∇h̃ᵀx,  ∇b_h = Σ∇h̃
"""

from __future__ import annotations

import copy
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from core.nets import models
from core.engine.losses import loss_fn, softmax_mse

IMPLEMENTATIONS = ("optim", "nn", "autograd", "manual")
#: a gradient check passes when every relative difference between the hand-written, autograd
#: and numeric gradients is below this (float64; the CLI and the Gradient check view use it)
GRADCHECK_TOLERANCE = 1e-6


def layers(model: nn.Module) -> list[tuple[nn.Linear, str | None]]:
    """Return the MLP's linear layers, each with the activation that follows it (None for the output)."""
    out: list[tuple[nn.Linear, str | None]] = []
    for name, m in model.named_children():
        if isinstance(m, nn.Linear):
            out.append((m, None))
        elif isinstance(m, models.ACTIVATION_TYPES) and out:
            out[-1] = (out[-1][0], models.activation_of(m).name)
        elif not isinstance(m, nn.Flatten):
            raise ValueError(f"the hand-written MLP has no rule for layer {name} ({type(m).__name__})")
    return out


def forward(params: list[tuple[torch.Tensor, torch.Tensor, str | None]], x: torch.Tensor):
    """Return (inputs of each layer, logits ỹ): h̃ = xWᵀ + b, h = σ(h̃), layer after layer."""
    seen, v = [], x.flatten(1)
    for w, b, act in params:
        seen.append(v)
        v = v @ w.T + b
        if act:
            v = models.ACTIVATIONS[act].fn(v)
    return seen, v


def loss_from_logits(logits: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Return the batch-mean loss: cross-entropy −Σ y log ŷ, or Σ (ŷ − y)² on the softmax."""
    if loss == "mse":
        return softmax_mse(logits, y)
    onehot = F.one_hot(y, logits.shape[1]).to(logits.dtype)
    return -(onehot * logits.log_softmax(1)).sum(1).mean()


def backward(params, seen: list[torch.Tensor], logits: torch.Tensor, y: torch.Tensor,
             loss: str = "cross_entropy", reduction: str = "sum") -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Return [(∇W, ∇b)] for every layer, by backpropagation written out (no autograd)."""
    yhat = logits.softmax(1)
    onehot = F.one_hot(y, logits.shape[1]).to(logits.dtype)
    if loss == "mse":  # ∂/∂ỹ of Σ(ŷ − y)² through the softmax's Jacobian
        g = 2 * (yhat - onehot)
        delta = yhat * (g - (g * yhat).sum(1, keepdim=True))
    else:
        delta = yhat - onehot  # ∇ỹ = ŷ − y (question 15)
    if reduction == "mean":
        delta = delta / y.shape[0]
    grads = []
    for i in range(len(params) - 1, -1, -1):
        w, _, _ = params[i]
        grads.append((delta.T @ seen[i], delta.sum(0)))  # ∇W = ∇ᵀ·input, ∇b = Σ∇ (question 16)
        if i:
            delta = (delta @ w) * models.ACTIVATIONS[params[i - 1][2]].grad(seen[i])  # ∇h̃ (question 17)
    return grads[::-1]


def _params(model: nn.Module):
    return [(lin.weight, lin.bias, act) for lin, act in layers(model)]


def _optim_step(model: nn.Module, loss: str, reduction: str, opt: torch.optim.Optimizer,
                fmt=None, device=None, criterion=None):
    """fmt (a core.engine.precision.Precision) runs the forward pass in bf16 / fp16 autocast; the
    loss and the optimiser's step stay in fp32. criterion: the run's loss (the trainer's, with
    its label smoothing), else optim.loss's plain one."""
    criterion = criterion or loss_fn(loss)
    plain = fmt is None or fmt.plain
    scaler = None if plain else fmt.scaler(device)

    def step(x, y):
        out = model(x) if plain else fmt.forward(model, x, device)
        batch_loss = criterion(out, y)  # the batch mean, which the metrics report
        opt.zero_grad(set_to_none=True)
        total = batch_loss * y.shape[0] if reduction == "sum" else batch_loss
        if scaler is None:
            total.backward()
            opt.step()
        else:
            scaler.scale(total).backward()
            scaler.step(opt)
            scaler.update()
        return batch_loss, out
    return step


def make_step(kind: str, model: nn.Module, loss: str, reduction: str, opt: torch.optim.Optimizer,
              fmt=None, device=None, criterion=None
              ) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Return step(x, y) -> (batch-mean loss, logits) that updates the model.

    "optim" steps opt on autograd's gradients, its forward pass in fmt's number format; the
    hand-written kinds (always fp32 or float64) take a plain SGD step at opt's current
    learning rate (a schedule may change it between epochs)."""
    if kind == "optim":
        return _optim_step(model, loss, reduction, opt, fmt, device, criterion)
    params = _params(model)
    scale = (lambda n: n) if reduction == "sum" else (lambda n: 1)

    def sgd_update(grads):
        with torch.no_grad():
            eta = opt.param_groups[0]["lr"]
            for (w, b, _), (gw, gb) in zip(params, grads):
                w.sub_(eta * gw)
                b.sub_(eta * gb)

    if kind == "manual":
        def step(x, y):
            with torch.no_grad():
                data = [(w.detach(), b.detach(), a) for w, b, a in params]
                seen, logits = forward(data, x)
                sgd_update(backward(data, seen, logits, y, loss, reduction))
                return loss_from_logits(logits, y, loss), logits
        return step

    def autograd_step(x, y, logits):
        batch_loss = loss_from_logits(logits, y, loss)
        for w, b, _ in params:
            w.grad = b.grad = None
        (batch_loss * scale(y.shape[0])).backward()
        sgd_update([(w.grad, b.grad) for w, b, _ in params])
        return batch_loss.detach(), logits.detach()

    if kind == "autograd":
        return lambda x, y: autograd_step(x, y, forward(params, x)[1])
    if kind == "nn":
        return lambda x, y: autograd_step(x, y, model(x))
    raise ValueError(f"unknown implementation {kind!r} (known: {', '.join(IMPLEMENTATIONS)})")


def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """Return max|a − b| / max(max|a|, max|b|): the largest difference relative to the tensor's scale."""
    scale = max(a.abs().max().item(), b.abs().max().item(), 1e-300)
    return (a - b).abs().max().item() / scale


def gradcheck(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy",
              reduction: str = "sum", eps: float = 1e-6, max_entries: int = 400) -> list[dict]:
    """Return, per parameter tensor, the relative differences between the hand-written,
    autograd and central finite-difference gradients of the loss on one batch (float64).

    Finite differences cost two forward passes per entry, so a tensor with more than
    max_entries entries is checked on a seeded random sample of them."""
    model = copy.deepcopy(model).to("cpu", torch.float64)  # the caller's network stays as it was
    x = x.double()
    params = _params(model)
    names = {id(p): n for n, p in model.named_parameters()}
    plain = [(w.detach(), b.detach(), a) for w, b, a in params]
    seen, logits = forward(plain, x)
    manual = backward(plain, seen, logits, y, loss, reduction)

    def total_loss(p):
        value = loss_from_logits(forward(p, x)[1], y, loss)
        return value * y.shape[0] if reduction == "sum" else value

    for w, b, _ in params:
        w.grad = b.grad = None
    total_loss(params).backward()
    rows = []
    for (w, b, _), (gw, gb) in zip(params, manual):
        for tensor, hand in ((w, gw), (b, gb)):
            flat = tensor.detach().view(-1)
            picks = torch.arange(flat.numel())
            if flat.numel() > max_entries:
                picks = torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(0))[:max_entries]
            out = torch.zeros(len(picks), dtype=flat.dtype)
            with torch.no_grad():
                for j, k in enumerate(picks.tolist()):  # central differences, one entry at a time
                    keep = flat[k].item()
                    flat[k] = keep + eps
                    up = total_loss(plain).item()
                    flat[k] = keep - eps
                    down = total_loss(plain).item()
                    flat[k] = keep
                    out[j] = (up - down) / (2 * eps)
            hand_s, auto_s = hand.reshape(-1)[picks], tensor.grad.reshape(-1)[picks]
            rows.append({"name": names[id(tensor)], "shape": tuple(tensor.shape),
                         "checked": len(picks),
                         "manual_vs_autograd": relative_difference(hand, tensor.grad),
                         "manual_vs_numeric": relative_difference(hand_s, out),
                         "autograd_vs_numeric": relative_difference(auto_s, out)})
    return rows


def unsupported(exp) -> str | None:
    """Return why the hand-written backward cannot check an experiment, or None if it can."""
    m = exp.model
    if m.kind != "mlp":
        return ("The hand-written backward covers MLPs (Part 1): this experiment is a CNN, so "
                "there is no gradient check for it.")
    if m.batch_norm or m.dropout:
        return ("The hand-written backward covers plain MLPs: turn batch norm and dropout off to "
                "check its gradients.")
    return None


def check_experiment(exp, data, model: nn.Module | None = None) -> tuple[list[dict], int]:
    """Return (gradcheck rows, batch size) on the experiment's first training batch, for the
    given network's weights or, without one, the experiment's seeded initial weights.

    data must be the experiment's splits loaded in float64 (core.data.loader.load(...,
    dtype=torch.float64)); torch's global random state is left as it was."""
    xb, yb = next(data.batches(data.train, exp.train.batch_size, train=True,
                               g=torch.Generator().manual_seed(exp.train.seed)))
    if model is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(exp.train.seed)
            model = models.build(exp.model, data.input_shape, len(data.classes))
    return gradcheck(model, xb.cpu(), yb.cpu(), exp.optim.loss, exp.optim.reduction), len(yb)
