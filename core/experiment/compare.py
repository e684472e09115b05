"""What differs between experiments, in the lab's short words ("η = 0.3", "+ dropout", "batch 1").

Overlaid runs are told apart by the settings they do not share: six ticked runs of one
preset all carry the preset's name, and only the switch that was flipped tells them apart.
"""

from __future__ import annotations

import math
from pathlib import PurePath

from core.experiment import config as cfg

#: fields written as "symbol = value", as in the practical's equations
SYMBOLS = {"optim.lr": "η", "optim.momentum": "m", "data.n_train": "N", "optim.gamma": "γ",
           "model.init_std": "init σ"}
#: fields written as "word value"
WORDS = {"train.batch_size": "batch", "optim.loss": "loss", "optim.reduction": "loss",
         "data.n_test": "test set", "train.epochs": "epochs", "train.seed": "seed",
         "data.noise": "noise", "data.val_fraction": "validation", "model.hidden": "hidden",
         "model.fc": "fc", "optim.scheduler": "schedule", "optim.step_size": "step every",
         "optim.weight_decay": "weight decay", "data.standardize": "standardise",
         "data.crop": "crop", "data.crop_padding": "crop padding", "data.image_size": "images",
         "model.dropout": "dropout", "model.dropout_place": "dropout in",
         "train.sync_every": "sync every", "data.root": "folder", "data.test_root": "test folder"}
#: fields whose value alone says it ("manual", "adam", "relu", "float64")
VALUES = ("model.implementation", "optim.optimizer", "model.activation", "data.dataset",
          "model.kind", "train.dtype", "train.device")
#: switches: on reads "+ BN", off "no BN"
TOGGLES = {"model.batch_norm": "BN", "data.flip": "flip", "optim.nesterov": "Nesterov",
           "data.download": "download"}
#: the order labels name fields in: what a lab question changes first
PRIORITY = ("data.dataset", "model.kind", "model.implementation", "optim.loss", "optim.lr",
            "optim.momentum", "train.batch_size", "data.n_train", "model.dropout",
            "model.batch_norm", "model.hidden", "model.blocks", "model.fc", "model.activation",
            "optim.optimizer", "optim.scheduler", "data.standardize", "data.flip", "data.crop")
MAX_PARTS = 4  # a label longer than this stops being readable in a legend
OFF_WORDS = {"data.standardize": "no standardisation", "data.root": "default folder",
             "data.test_root": "no test folder"}
VALUE_WORDS = {"cross_entropy": "cross-entropy", "optim": "torch.optim", "nn": "torch.nn"}


def _flatten(d: dict, prefix: str = "") -> dict[str, object]:
    """Return {"section.field": value}; conv blocks become "model.blocks[i].field" plus their count."""
    out: dict[str, object] = {}
    for key, value in d.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, path + "."))
        elif key == "blocks" and isinstance(value, list):
            out[path] = len(value)
            for i, v in enumerate(value):
                out.update(_flatten(v, f"{path}[{i}]."))
        else:
            out[path] = tuple(value) if isinstance(value, list) else value
    return out


def _fmt(path: str, v) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return ", ".join(_fmt(path, x) for x in v) or "none"
    if path in ("data.n_train", "data.n_test") and v == 0:
        return "all"
    if path in ("data.root", "data.test_root") and isinstance(v, str):
        return PurePath(v).name or v or "default"
    if isinstance(v, str):
        return VALUE_WORDS.get(v, v)
    return str(v)


def _is_off(v) -> bool:
    return v in (0, 0.0, False, "none", "", ()) and not (isinstance(v, float) and math.isnan(v))


def _word(path: str, value, values: list) -> str:
    """The words for one field's value, given every experiment's value of it."""
    if path in SYMBOLS:
        return f"{SYMBOLS[path]} = {_fmt(path, value)}"
    if path in TOGGLES:
        return f"+ {TOGGLES[path]}" if value else f"no {TOGGLES[path]}"
    if path in VALUES:
        return _fmt(path, value)
    if path == "model.blocks":
        return f"{value} conv block{'s' * (value != 1)}"
    if path.startswith("model.blocks["):
        i, field = path[len("model.blocks["):].split("].", 1)
        return f"conv {int(i) + 1} {field.replace('_', ' ')} {_fmt(path, value)}"
    word = WORDS.get(path, path.rsplit(".", 1)[-1].replace("_", " "))
    if _is_off(value) and path not in ("train.seed", "data.n_test"):
        return OFF_WORDS.get(path, f"no {word}")
    on = {repr(v) for v in values if not _is_off(v)}
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if numeric and len(on) == 1 and any(_is_off(v) for v in values):
        return f"+ {word}"  # on against off: the switch itself is the difference
    return f"{word} {_fmt(path, value)}"


def _order(path: str) -> tuple[int, str]:
    base = path.split("[", 1)[0]
    return (PRIORITY.index(base) if base in PRIORITY else len(PRIORITY), path)


def differing_fields(experiments: list[cfg.Experiment | None]) -> list[str]:
    """Return the config paths ("optim.lr") whose values are not all equal, most telling first."""
    flat = [_flatten(cfg.to_dict(e)) for e in experiments if e is not None]
    if len(flat) < 2:
        return []
    paths = {p for f in flat for p in f} - {"name"}
    blocks_differ = len({f.get("model.blocks") for f in flat}) > 1
    out = []
    for p in paths:
        if blocks_differ and p.startswith("model.blocks["):
            continue  # a different number of blocks says it; their fields would only add noise
        if len({repr(f.get(p)) for f in flat}) > 1:
            out.append(p)
    return sorted(out, key=_order)


def _mode(values: list) -> object:
    """The value most experiments share (held by two or more and by more than any other), or a
    marker that none is."""
    counts: dict[str, list] = {}
    for v in values:
        counts.setdefault(repr(v), []).append(v)
    ranked = sorted(counts.values(), key=len, reverse=True)
    if len(ranked[0]) >= 2 and (len(ranked) == 1 or len(ranked[0]) > len(ranked[1])):
        return ranked[0][0]
    return _NO_MODE


_NO_MODE = object()


def differences(experiments: list[cfg.Experiment | None]) -> list[str]:
    """Return, for each experiment, the words for the settings in which it differs from the
    others ("η = 0.3", "+ dropout", "batch 1 · loss mse"); "" where nothing differs or the
    experiment is None (its config could not be read).

    A setting most of the experiments share is named only in the labels of those that differ
    from it: four runs, the base and three that each change one switch, read "baseline",
    "batch 1", "loss mse", "manual"."""
    paths = differing_fields(experiments)
    flat = [None if e is None else _flatten(cfg.to_dict(e)) for e in experiments]
    values = {p: [g.get(p) for g in flat if g is not None] for p in paths}
    modes = {p: _mode(values[p]) for p in paths}
    out = []
    for f in flat:
        if f is None or not paths:
            out.append("")
            continue
        own = [p for p in paths if modes[p] is _NO_MODE or repr(f.get(p)) != repr(modes[p])]
        if not own:  # it holds every value most of the others share: the one they vary from
            out.append("baseline")
            continue
        parts = [_word(p, f.get(p), values[p]) for p in own if f.get(p) is not None]
        if len(parts) > MAX_PARTS:
            parts = parts[:MAX_PARTS] + ["…"]
        out.append(" · ".join(parts))
    return out
