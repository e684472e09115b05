"""Part 1's experiment shortcuts: several runs that differ in one setting, to overlay.

Each returns the experiments to run, named after what changes (questions 2, 8-11).
"""

from __future__ import annotations

import copy

from core import config as cfg

KINDS = ("batch", "lr", "loss", "n")


def _variant(exp: cfg.Experiment, label: str, **changes) -> cfg.Experiment:
    new = copy.deepcopy(exp)
    for key, value in changes.items():
        section, name = key.split("__")
        setattr(getattr(new, section), name, value)
    new.name = f"{exp.name or exp.data.dataset} · {label}"
    return cfg.validate(new)


def batch_sizes(exp: cfg.Experiment) -> list[cfg.Experiment]:
    """Full batch (N), mini-batch (the experiment's, or 10) and online (1): question 10."""
    n = round(exp.data.n_train * (1 - exp.data.val_fraction))
    full = n or 10**9  # N unknown before loading (all of a data set): the trainer caps it at N
    mini = exp.train.batch_size if 1 < exp.train.batch_size < full else min(10, full)
    return [_variant(exp, f"full batch ({n or 'N'})", train__batch_size=full),
            _variant(exp, f"mini-batch ({mini})", train__batch_size=mini),
            _variant(exp, "online (1)", train__batch_size=1)]


def learning_rates(exp: cfg.Experiment, rates=(0.003, 0.03, 0.3, 3.0)) -> list[cfg.Experiment]:
    """The same run at several learning rates η: question 11."""
    return [_variant(exp, f"η = {lr:g}", optim__lr=lr) for lr in rates]


def losses(exp: cfg.Experiment) -> list[cfg.Experiment]:
    """Cross-entropy against squared error on the softmax: questions 8-9."""
    return [_variant(exp, "cross-entropy", optim__loss="cross_entropy"),
            _variant(exp, "squared error", optim__loss="mse")]


def train_sizes(exp: cfg.Experiment, sizes=(10, 20, 50, 100, 200, 500, 1000)) -> list[cfg.Experiment]:
    """The same run for several training-set sizes N, same test set: question 2."""
    return [_variant(exp, f"N = {n}", data__n_train=n) for n in sizes]


def sweep(kind: str, exp: cfg.Experiment) -> list[cfg.Experiment]:
    """Return the experiments of the named shortcut: batch, lr, loss or n."""
    makers = {"batch": batch_sizes, "lr": learning_rates, "loss": losses, "n": train_sizes}
    if kind not in makers:
        raise cfg.ConfigError(f"sweep: unknown shortcut {kind!r} (known: {', '.join(KINDS)})")
    return makers[kind](exp)
