"""How an epoch is cut into batches: the batch size, the steps, and a last batch of one left out."""

from __future__ import annotations

import math

from core import ConfigError
from core.experiment import config as cfg
from core.nets import models


def plan(exp: cfg.Experiment, model: models.Network, n: int) -> tuple[int, int, int, bool]:
    """Return (batch size, steps per epoch, examples an epoch trains on, drop the last batch).

    Batch norm cannot normalise one example (one value per unit of a linear layer or per
    channel of a 1×1 map): a last batch of one is left out of the epoch (each epoch's
    shuffle leaves out another example); config.validate refuses batches of one."""
    bs = min(exp.train.batch_size, n)
    single = exp.model.batch_norm and bs > 1 and n % bs == 1
    lone = models.single_value_norm(model.table) if bs == 1 else None
    if lone is not None:  # every batch is the one example
        raise ConfigError(f"{models.norm_setting(lone)}: batch norm needs at least 2 training "
                          f"examples here, but the training split holds {n}; raise "
                          "data.n_train (or lower data.val_fraction) or turn batch norm off")
    steps = n // bs if single else math.ceil(n / bs)
    return bs, steps, min(n, steps * bs), single
