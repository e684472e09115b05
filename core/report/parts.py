"""The pieces a run's report and a study's report share: the experiment's settings (a table per
config section), the layer table (core.nets.models, as `python -m core train --layers` prints it)
and the curves per epoch of metrics.jsonl."""

from __future__ import annotations

import dataclasses
import math

import torch

from core.experiment import config as cfg
from core.nets import models
from core.report import questions as questions
from core.report import svg as svg
from core.data import registry as datasets
from core import LearnScopeError
from core.engine.records import SPLITS, EpochRecord
from core.report.model import Figure, Table, Text

SECTION_TITLES = {"data": "Data", "model": "Model", "optim": "Optimisation", "train": "Training"}


def _block(b: cfg.ConvBlock) -> str:
    pool = "" if b.pool == "none" else (f", {b.pool} pool {b.pool_size}/{b.pool_stride}"
                                        + (" ceil" if b.ceil_mode else ""))
    return f"{b.channels} filters {b.kernel}×{b.kernel} stride {b.stride} pad {b.padding}{pool}"


def _value(section: str, name: str, value) -> str:
    """A setting's value in the panels' words."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "blocks":
        return "; ".join(f"conv{i}: {_block(b)}" for i, b in enumerate(value, 1)) or "none"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    if value == "":
        return "—"
    try:
        words = cfg.choice_words(section, name)
    except (LookupError, ValueError, TypeError):
        words = {}
    shown = words.get(value)
    if shown and shown.lower() != str(value).lower():
        return f"{value} ({shown})"
    return f"{value:g}" if isinstance(value, float) else str(value)


def settings_tables(exp: cfg.Experiment) -> list[Table]:
    """Return one table per config section: each setting's label, value and config key."""
    out = []
    for section, title in SECTION_TITLES.items():
        part = getattr(exp, section)
        rows = [(cfg.field_label(section, f.name), _value(section, f.name, getattr(part, f.name)),
                 f"{section}.{f.name}") for f in dataclasses.fields(part)]
        out.append(Table(f"settings-{section}", title, ("setting", "value", "config key"), rows))
    return out


def layer_table(exp: cfg.Experiment, state: dict[str, torch.Tensor] | None) -> list:
    """Return the layer table (and a sentence when it cannot be made), with the run's class
    count from its weights when it has them (an image folder's is unknown before loading)."""
    try:
        shape, classes = datasets.input_shape(exp.data)
        bias = (state or {}).get("output.bias")
        if bias is not None:
            classes = int(bias.shape[0])
        table = models.layer_table(exp.model, shape, classes)
    except LearnScopeError as e:
        return [Text(f"The layer table cannot be made: {e}")]
    header = ("layer", "output", "weights", "biases", "RF", "jump", "start")  # as format_table
    rows = [(t.name, "×".join(map(str, t.out_shape)), f"{t.weights:,}", f"{t.biases:,}",
             "" if t.rf is None else str(t.rf), "" if t.jump is None else str(t.jump),
             "" if t.start is None else f"{t.start:g}") for t in table]
    weights, biases = sum(t.weights for t in table), sum(t.biases for t in table)
    rows.append(("total", "", f"{weights:,}", f"{biases:,}", "", "", ""))
    title = questions.title("layers", exp.model.kind)
    return [Table("layers", title, header, rows, (False, False, True, True, True, True, True)),
            Text(f"{weights + biases:,} parameters to learn. RF: the receptive field's side in "
                 "input pixels; jump: the distance in pixels between two neighbouring units; "
                 "start: the centre of the first unit.")]


def _series(records: list[EpochRecord], metric: str) -> tuple[svg.Series, ...]:
    epochs = tuple(float(r.epoch) for r in records)
    out = []
    for split in SPLITS:
        values = [getattr(r.split(split), metric) if r.split(split) is not None else math.nan
                  for r in records]
        if any(math.isfinite(v) for v in values):
            out.append(svg.Series(split, svg.COLOURS[split], epochs, tuple(values)))
    return tuple(out)


def curves(records: list[EpochRecord], kind: str) -> Figure:
    """Return the loss and the accuracy per epoch, each split a line, side by side (the lab's
    picture)."""
    drawing = svg.charts([svg.Panel("Loss", "loss", _series(records, "loss")),
                          svg.Panel("Accuracy", "accuracy (%)", _series(records, "accuracy"))])
    return Figure("curves", questions.title("curves", kind), svg=drawing,
                  caption=f"{len(records)} epochs from metrics.jsonl; each split is one line.")


def metrics_table(records: list[EpochRecord], kind: str) -> list:
    """Return the last epoch's loss and accuracy per split, and the best held-out epoch."""
    last = records[-1]
    rows = []
    for split in SPLITS:
        m = last.split(split)
        if m is not None:
            rows.append((split, f"{m.loss:.4f}", f"{m.accuracy:.2f} %",
                         "" if m.top5 is None else f"{m.top5:.2f} %"))
    table = Table("metrics", questions.title("metrics", kind) + f" (epoch {last.epoch})",
                  ("split", "loss", "accuracy", "top-5"), rows, (False, True, True, True))
    held = [(r.held().accuracy, r.epoch) for r in records
            if r.held() is not None and math.isfinite(r.held().accuracy)]
    if not held:
        return [table]
    best, epoch = max(held, key=lambda t: (t[0], -t[1]))
    which = "test" if last.test is not None else "validation"
    return [table, Text(f"Best {which} accuracy {best:.2f} % at epoch {epoch} of {last.epoch}; "
                        f"learning rate at the end {last.lr:.4g}.")]
