"""The optimisers and learning-rate schedules a run can choose (optim.optimizer, optim.scheduler).

One entry each: the config's choices, the optimisation panel (which fields an entry `uses`),
the trainer and the script export all read these tables, so adding an optimiser is one
register_optimizer call.
Torch is imported inside the builders only: the config validates choices before torch loads.

    build(params, oc) -> torch.optim.Optimizer           (oc: the experiment's OptimConfig)
    build(opt, oc, tc) -> torch.optim.lr_scheduler.LRScheduler   (tc: its TrainConfig)

Every optimiser gets oc.lr; `uses` names the other optim fields it reads, so the panel can
grey out the ones it ignores. `script` is the same in the plain PyTorch script the export
writes: an expression over `model.parameters()` (an optimiser) or `optimizer` (a schedule), in
which LR, EPOCHS and each field of `uses` in capitals (MOMENTUM, GAMMA, …) are the script's
settings. An entry without one is refused by the export with a sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Optimizer:
    name: str                       # the config value
    label: str                      # shown in the optimisation panel
    build: Callable                 # build(params, optim_config) -> torch.optim.Optimizer
    uses: tuple[str, ...] = ()      # optim fields it reads besides lr
    script: str = ""                # the exported script's expression (see the module)


@dataclass(frozen=True)
class Schedule:
    name: str
    label: str
    build: Callable | None          # build(opt, optim_config, train_config) -> LRScheduler; None: constant
    uses: tuple[str, ...] = ()
    script: str = ""                # the exported script's expression (see the module)


OPTIMIZERS: dict[str, Optimizer] = {}
SCHEDULES: dict[str, Schedule] = {}


def register_optimizer(o: Optimizer) -> Optimizer:
    """Add (or replace) an optimiser; return it."""
    OPTIMIZERS[o.name] = o
    return o


def register_schedule(s: Schedule) -> Schedule:
    """Add (or replace) a schedule; return it."""
    SCHEDULES[s.name] = s
    return s


def unregister_optimizer(name: str) -> None:
    """Remove an optimiser (a test removes its toy entry)."""
    OPTIMIZERS.pop(name, None)


def unregister_schedule(name: str) -> None:
    SCHEDULES.pop(name, None)


def _entry(table: dict, name: str, setting: str):
    try:
        return table[name]
    except KeyError:
        from core import ConfigError
        raise ConfigError(f"{setting}: must be one of {', '.join(table)}, got {name!r}") from None


def make_optimizer(params, oc):
    """Return the torch optimiser oc.optimizer names, over params."""
    return _entry(OPTIMIZERS, oc.optimizer, "optim.optimizer").build(params, oc)


def make_schedule(opt, oc, tc):
    """Return the schedule oc.scheduler names for opt (stepped once per epoch), or None."""
    build = _entry(SCHEDULES, oc.scheduler, "optim.scheduler").build
    return None if build is None else build(opt, oc, tc)


def _sgd(params, oc):
    import torch
    return torch.optim.SGD(params, lr=oc.lr, momentum=oc.momentum, nesterov=oc.nesterov,
                           weight_decay=oc.weight_decay)


def _adam(params, oc):
    import torch
    return torch.optim.Adam(params, lr=oc.lr, weight_decay=oc.weight_decay)


def _exponential(opt, oc, tc):
    import torch
    return torch.optim.lr_scheduler.ExponentialLR(opt, oc.gamma)


def _step(opt, oc, tc):
    import torch
    return torch.optim.lr_scheduler.StepLR(opt, oc.step_size, oc.gamma)


def _cosine(opt, oc, tc):
    import torch
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, tc.epochs)


def warmup_cosine(epoch: int, warmup: int, epochs: int) -> float:
    """The warm-up + cosine schedule's factor of η for the epoch after `epoch` steps."""
    if epoch < warmup:
        return (epoch + 1) / (warmup + 1)
    return 0.5 * (1 + math.cos(math.pi * (epoch - warmup) / max(epochs - warmup, 1)))


def _warmup_cosine(opt, oc, tc):
    import torch
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda e: warmup_cosine(e, oc.warmup, tc.epochs))


register_optimizer(Optimizer(
    "sgd", "SGD", _sgd, uses=("momentum", "nesterov", "weight_decay"),
    script="torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, nesterov=NESTEROV,\n"
           "                weight_decay=WEIGHT_DECAY)"))
register_optimizer(Optimizer(
    "adam", "Adam", _adam, uses=("weight_decay",),
    script="torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)"))

register_schedule(Schedule("none", "None", None,
                           script='None  # optim.scheduler = "none": a constant learning rate'))
register_schedule(Schedule("exponential", "Exponential", _exponential, uses=("gamma",),
                           script="torch.optim.lr_scheduler.ExponentialLR(optimizer, GAMMA)"))
register_schedule(Schedule("step", "Step", _step, uses=("gamma", "step_size"),
                           script="torch.optim.lr_scheduler.StepLR(optimizer, STEP_SIZE, GAMMA)"))
register_schedule(Schedule("cosine", "Cosine", _cosine,
                           script="torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, EPOCHS)"))
register_schedule(Schedule(
    "warmup-cosine", "Warm-up + cosine", _warmup_cosine, uses=("warmup",),
    script="torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: (e + 1) / (WARMUP + 1) if "
           "e < WARMUP\n    else 0.5 * (1 + math.cos(math.pi * (e - WARMUP) / max(EPOCHS - "
           "WARMUP, 1))))"))
