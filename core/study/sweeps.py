"""Part 1's experiment shortcuts: several runs that differ in one setting, to overlay.

Each returns the experiments to run, named after what changes (questions 2, 8-11).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from core.experiment import config as cfg
from core import study as studies


@dataclass(frozen=True)
class Shortcut:
    """One shortcut: what the CLI, the Run menu and Part 1's buttons call it, and what it makes."""
    kind: str                       # `python -m core sweep KIND`
    summary: str                    # the CLI's help: "full/mini/online (Q10)"
    title: str                      # the Run menu's item
    button: str                     # Part 1's button
    tip: str                        # what it does, in the menu's and the button's tooltip
    make: str                       # the function of this module that returns its experiments
    points_only: str | None = None  # why it does not fit a network trained on images
    question: int | None = None     # the practical's question it answers


#: in the order the menu and the buttons show them
SHORTCUTS: dict[str, Shortcut] = {s.kind: s for s in (
    Shortcut("batch", "full/mini/online (Q10)", "Batch size: full / mini / online (Q10)",
             "Batch size (Q10)", "Train full batch (N), mini-batch and online (1) one after the "
             "other, then overlay them.", "batch_sizes", question=10),
    Shortcut("lr", "learning rates (Q11)", "Learning-rate sweep (Q11)", "Learning rate η (Q11)",
             "Train at η = 0.003, 0.03, 0.3 and 3, then overlay them.", "learning_rates",
             "For Part 1's MLP on 2D points (question 11): η = 0.003 … 3 suit its summed "
             "gradients, not this network. Set η on the Optimisation tab and train instead.", question=11),
    Shortcut("loss", "cross-entropy vs MSE (Q8-9)", "Cross-entropy vs squared error (Q8–9)",
             "CE vs squared error (Q8–9)", "Train with each loss, then overlay them.", "losses",
             "For Part 1's MLP on 2D points (questions 8–9). For this network, choose the loss "
             "on the Optimisation tab, train each, and tick both runs in the Runs list.", question=8),
    Shortcut("n", "training-set sizes (Q2)", "Train size N sweep (Q2)", "Train size N (Q2)",
             "Train with N = 10 … 1000 training points (same test set), overlay them and plot "
             "the final accuracies against N.", "train_sizes",
             "For Part 1's MLP on 2D points (question 2: N = 10 … 1000 points). For images, set "
             "Train size N on the Data tab and train instead.", question=2),
)}
KINDS = tuple(SHORTCUTS)


def _set(label: str, *overrides: str) -> studies.Variant:
    return studies.Variant(label, tuple(overrides))


def batch_sizes(exp: cfg.Experiment) -> list[studies.Variant]:
    """Full batch (N), mini-batch (the experiment's, or 10) and online (1): question 10."""
    n = round(exp.data.n_train * (1 - exp.data.val_fraction))
    full = n or 10**9  # N unknown before loading (all of a data set): the trainer caps it at N
    mini = exp.train.batch_size if 1 < exp.train.batch_size < full else min(10, full)
    summed = exp.optim.reduction == "sum"
    why = (f"The loss sums its gradients over the batch (optim.reduction = \"sum\"), so each "
           f"full-batch step is {n or 'N'}/{mini} = {round((n or 0) / mini) or 'N/B'} times a "
           f"mini-batch step at the same η: the step column shows it, and a step that large "
           "overshoots, so the loss swings instead of falling. optim.reduction = \"mean\" "
           "gives every batch size the same step." if summed else "")
    return [studies.Variant(f"full batch ({n or 'N'})", (f"train.batch_size={full}",), text=why),
            _set(f"mini-batch ({mini})", f"train.batch_size={mini}"),
            _set("online (1)", "train.batch_size=1")]


def learning_rates(exp: cfg.Experiment, rates=(0.003, 0.03, 0.3, 3.0)) -> list[studies.Variant]:
    """The same run at several learning rates η: question 11."""
    return [_set(f"η = {lr:g}", f"optim.lr={lr!r}") for lr in rates]


def losses(exp: cfg.Experiment) -> list[studies.Variant]:
    """Cross-entropy against squared error on the softmax: questions 8-9."""
    return [_set("cross-entropy", 'optim.loss="cross_entropy"'),
            _set("squared error", 'optim.loss="mse"')]


def train_sizes(exp: cfg.Experiment, sizes=(10, 20, 50, 100, 200, 500, 1000)) -> list[studies.Variant]:
    """The same run for several training-set sizes N, same test set: question 2."""
    return [_set(f"N = {n}", f"data.n_train={n}") for n in sizes]


def study(kind: str, exp: cfg.Experiment) -> studies.Study:
    """Return the named shortcut (SHORTCUTS: batch, lr, loss or n) as an independent study on
    exp: one variant per run, each differing from exp in its own field, all on exp's seed.
    Its runs are named "<experiment> · <kind> · <label>"."""
    if kind not in SHORTCUTS:
        raise cfg.ConfigError(f"sweep: unknown shortcut {kind!r} (known: {', '.join(KINDS)})")
    s = SHORTCUTS[kind]
    made = globals()[s.make](exp)  # looked up at the call: a test may replace one
    variants = tuple(dataclasses.replace(v, question=s.question) for v in made)
    return studies.Study(f"{exp.name or exp.data.dataset} · {kind}", "independent", exp,
                         variants, s.tip)


def sweep(kind: str, exp: cfg.Experiment) -> list[cfg.Experiment]:
    """Return the experiments of the named shortcut: its study's runs."""
    return [e for _, e in studies.experiments(study(kind, exp))]
