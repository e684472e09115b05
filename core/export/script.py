"""An experiment as one plain PyTorch script: `export(source, out_file)`.

The script needs torch, numpy and (for torchvision sets and image folders) torchvision, and
nothing of LearnScope's. It trains the same experiment the same way: the same network layer
for layer (core.export.script_model), the same data, standardisation and augmentation
(core.export.script_data, core.export.script_prepare), the same loss, optimiser, schedule, batches and
seeding order, in the practical's epoch() loop (core.export.script_train); it prints one line per
epoch as `python -m core train` does. Its settings sit at the top, each with the config field
it comes from and the practical's question where the setting is one of its experiments.
"""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata
from pathlib import Path

from core.experiment import config as cfg
from core.experiment import optimizers
from core import files
from core.export import script_data as script_data
from core.export import script_model as script_model
from core.export import script_prepare as script_prepare
from core.export import script_train as script_train
from core.files.atomic import atomic_write_text
from core.data import registry
from core import ConfigError, ExportError

#: (what a script's body uses, the import it needs), in the order the imports are written
IMPORTS = ((r"\bmath\.", "import math"), (r"\btime\.", "import time"),
           (r"\bOrderedDict\b", "from collections import OrderedDict"),
           (r"\bPath\(", "from pathlib import Path"), ("", ""), (r"\bnp\.", "import numpy as np"),
           (r"\btorch\.", "import torch"), (r"\bF\.", "import torch.nn.functional as F"),
           (r"\bnn\.", "from torch import nn"), (r"\btorchvision\.", "import torchvision"),
           (r"\btransforms\.", "from torchvision import transforms"))


def experiment_of(source) -> tuple[cfg.Experiment, str]:
    """Return the experiment of a run folder, an experiment TOML or an Experiment, and words
    naming where it came from; ExportError says why there is none."""
    if isinstance(source, cfg.Experiment):
        try:
            return cfg.validate(source), f"the experiment {source.name or source.data.dataset}"
        except ConfigError as e:
            raise ExportError(f"The experiment cannot be exported: {e}.") from None
    path = Path(source)
    if path.is_dir():
        kind = files.kind_of(path)
        if kind != files.RUN:
            hint = (" (a study folder: export one of its rung-… folders)"
                    if kind == files.STUDY else "")
            raise ExportError(f"{path} is not a run folder: it holds no config.toml{hint}.")
        path = path / "config.toml"
        origin = f"the run {path.parent.name}"
    elif not path.exists():
        raise ExportError(f"{path} does not exist; give a run folder or an experiment .toml file.")
    else:
        origin = f"the experiment file {path.name}"
    try:
        return cfg.load(path), origin
    except ConfigError as e:
        raise ExportError(f"Cannot read the experiment: {e}.") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ExportError(f"Cannot read the experiment {path} ({e}).") from None


def check_exportable(exp: cfg.Experiment) -> None:
    """Refuse, with a sentence, what the script does not know how to write."""
    o = exp.optim
    for setting, table, name in (("optim.optimizer", optimizers.OPTIMIZERS, o.optimizer),
                                 ("optim.scheduler", optimizers.SCHEDULES, o.scheduler)):
        if not table[name].script:  # validate() has checked the name is in the table
            known = ", ".join(n for n, entry in table.items() if entry.script)
            raise ExportError(f"The script export does not know how to write {setting} = "
                              f"{name!r} (its entry has no script line); choose one of {known} "
                              "to export the experiment.")


class Code(str):
    """Source the generator itself wrote (`torch.float32`), written as it is; any other text
    (a name, a folder, a label: a user's) is written as a literal."""


def literal(value) -> str:
    """Return a setting's value as Python source: text in double quotes, numbers as repr.
    User text is never code: JSON's escapes are Python's for printable text, and repr()
    escapes anything else (a C1 control, a lone surrogate from a file name)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if value.isprintable() else repr(str(value))
    return repr(value)


def in_docstring(text: str) -> str:
    """Return text as it may stand inside the script's triple-quoted docstring and read back
    as itself: a quote, a backslash, a line break or another unprintable character in a name
    or a folder cannot end the string early or start an escape."""
    def escaped(ch: str) -> str:
        if ch in '\\"':
            return "\\" + ch
        if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
            return repr(ch)[1:-1]
        return ch
    return "".join(escaped(ch) for ch in text)


def _setting(name: str, value, comment: str) -> str:
    code = str(value) if isinstance(value, Code) else literal(value)
    text = f"{name} = {code}"
    return f"{text:<24} # {comment}" if len(text) < 24 else f"{text}  # {comment}"


def _data_settings(exp: cfg.Experiment, npz: str) -> list[str]:
    d, ds = exp.data, registry.get(exp.data.dataset)
    n_help = "data.n_train, N (Part 1, question 2: the influence of N)"
    out = []
    if ds.kind == "points":
        out += [_setting("N_TRAIN", d.n_train or ds.sizes[0], n_help),
                _setting("N_TEST", d.n_test or ds.sizes[1], "data.n_test"),
                _setting("NOISE", d.noise, "data.noise: the points' spread (1.0: as in the lab)")]
    elif d.dataset == "shapes10":
        sizes = f"data.n_train {d.n_train or ds.sizes[0]}, n_test {d.n_test or ds.sizes[1]}"
        out.append(_setting("SHAPES_FILE", npz, f"the images ({sizes}, image_size "
                            f"{d.image_size})"))
    else:
        out += [_setting("ROOT", d.root, "data.root: the folder LearnScope reads the images from")]
        if d.dataset == "folder":
            out += [_setting("TEST_ROOT", d.test_root, "data.test_root (empty: held out of ROOT)"),
                    _setting("IMAGE_SIZE", d.image_size, "data.image_size: images resized to it")]
        else:
            out.append(_setting("DOWNLOAD", d.download, "data.download: fetch missing files"))
        out += [_setting("N_TRAIN", d.n_train, n_help.replace("N (", "N, 0 = all (")),
                _setting("N_TEST", d.n_test, "data.n_test, 0 = all")]
    out.append(_setting("VAL_FRACTION", d.val_fraction, "data.val_fraction (Part 1, question 1)"))
    if d.crop:
        out += [_setting("CROP", d.crop, "data.crop: a random crop while training (Part 2, "
                         "question 22)"),
                _setting("CROP_PADDING", d.crop_padding, "data.crop_padding")]
    return out


def _optim_settings(exp: cfg.Experiment, part2: bool) -> list[str]:
    o = exp.optim
    q = "Part 2, question 16" if part2 else "Part 1, question 11"
    why = ("(Part 2, question 26): steps of about LR / (1 − m)" if part2 or o.momentum
           else "(0: plain SGD, as in Part 1)")
    every = "every epoch" if o.scheduler == "exponential" else "every STEP_SIZE epochs"
    notes = {"momentum": f"optim.momentum m {why}",
             "weight_decay": "optim.weight_decay, an L2 penalty (Part 2, question 30)",
             "gamma": f"optim.gamma: LR is multiplied by it {every} (Part 2, question 26)"}
    out = [_setting("LR", o.lr, f"optim.lr, the learning rate η ({q})")]
    # the fields the chosen optimiser and schedule read (their registry entries' `uses`)
    used = (optimizers.OPTIMIZERS[o.optimizer].uses + optimizers.SCHEDULES[o.scheduler].uses)
    for field in dict.fromkeys(used):
        out.append(_setting(field.upper(), getattr(o, field), notes.get(field, f"optim.{field}")))
    if o.label_smoothing:
        out.append(_setting("LABEL_SMOOTHING", o.label_smoothing, "optim.label_smoothing: the "
                            "share of the target spread over the other classes"))
    return out


def _baked(exp: cfg.Experiment) -> list[str]:
    """Comment lines for the settings written into the code rather than held in a name."""
    d, o, m = exp.data, exp.optim, exp.model
    loss = ("cross-entropy" if o.loss == "cross_entropy" else
            "squared error between the softmax and the one-hot target")
    lines = [f"# optim.loss = {literal(o.loss)}: {loss} (Part 1, questions 8-9);",
             f"# optim.reduction = {literal(o.reduction)}: see epoch()"]
    if not exp.is_points or d.standardize != "none":
        lines.append(f"# data.standardize = {literal(d.standardize)} (Part 2, questions 20-21)"
                     + ("" if exp.is_points else
                        f", data.flip = {str(d.flip).lower()} (question 23)") + ": see Inputs")
    if m.implementation != "optim":
        lines += [f"# model.implementation = {literal(m.implementation)}: LearnScope takes this "
                  "SGD step with hand-written",
                  "# code (Part 1, questions 7 and 14-17); torch.optim.SGD here makes the same "
                  "update (to about 1e-5)"]
    return lines


def settings_code(exp: cfg.Experiment, npz: str, autocast: bool) -> str:
    """Return the block of settings at the top of the script."""
    part2 = exp.model.kind == "cnn"
    t = exp.train
    q10 = "Part 2, question 16" if part2 else "Part 1, question 10: online to full batch"
    lines = ["# The experiment's settings: each names its config field ([section] field) and the",
             "# practical's question where the setting is one of its experiments.",
             _setting("SEED", t.seed, "train.seed: data, weights, batch order, augmentation"),
             _setting("EPOCHS", t.epochs, "train.epochs"),
             _setting("BATCH_SIZE", t.batch_size, f"train.batch_size ({q10})"),
             _setting("DEVICE", t.device, "train.device: auto, cpu, cuda, cuda:N or mps"),
             _setting("DTYPE", Code(f"torch.{t.dtype}"), "train.dtype of the weights and inputs")]
    if autocast:
        lines.append(_setting("PRECISION", t.precision, "train.precision (see number_format)"))
    lines += _data_settings(exp, npz) + _optim_settings(exp, part2) + _baked(exp)
    return "\n".join(lines) + "\n"


def needs_autocast(exp: cfg.Experiment) -> bool:
    """Whether the script may compute in bf16 / fp16, as LearnScope's precision would."""
    t = exp.train
    if t.precision in ("bf16", "fp16"):
        return True
    return (t.precision == "auto" and exp.model.kind == "cnn" and t.dtype == "float32"
            and exp.model.implementation == "optim")


def _imports(body: str) -> str:
    lines = [line for token, line in IMPORTS if not token or re.search(token, body)]
    text = "\n".join(lines).replace("\n\n\n", "\n\n")
    return text.strip("\n") + "\n"


def _docstring(exp: cfg.Experiment, origin: str, script: Path, npz: Path | None,
               body: str) -> str:
    name = in_docstring(exp.name or exp.data.dataset)
    libs = [lib for lib, token in (("torch", r"\btorch\."), ("numpy", r"\bnp\."),
                                   ("torchvision", r"\btorchvision\.")) if re.search(token, body)]
    needs = " and ".join(libs) if len(libs) < 3 else "torch, numpy and torchvision"
    ds = registry.get(exp.data.dataset)
    net = "the lab's CNN (Part 2)" if exp.model.kind == "cnn" else "the lab's MLP (Part 1)"
    beside = f", and {in_docstring(npz.name)} beside it (the images)" if npz else ""
    crops = ", crops" if exp.data.crop else ""
    about = textwrap.fill(
        f"Written by LearnScope (python -m core export … --script) from {in_docstring(origin)}. "
        f"It needs "
        f"{needs} only{beside}: no LearnScope. It trains as LearnScope does, in the same order: "
        f"the same initial weights, batches{crops} and updates for the same seed, so on the "
        "same device it prints the same numbers (a loss may differ in its last digit: "
        "LearnScope sums the batches' losses in float32, this script in Python floats).", 92,
        break_on_hyphens=False, break_long_words=False)  # never inside an escape
    return f'''"""{name}: {net} on {ds.label}, as one plain PyTorch script.

{about}

    python {in_docstring(script.name)}
"""
'''


def script_text(exp: cfg.Experiment, origin: str, script: Path, npz: Path | None,
                n_classes: int | None = None) -> str:
    """Return the whole script for exp (npz: the Shapes-10 file beside it, if any)."""
    check_exportable(exp)
    autocast = needs_autocast(exp)
    loss_fns, _ = script_train.criterion_code(exp)
    parts = [settings_code(exp, npz.name if npz else "", autocast),
             "# ---------------------------------------------------------------- the data",
             script_data.load_code(exp), script_prepare.inputs_code(exp),
             "# ---------------------------------------------------------------- the network",
             script_model.network_code(exp, n_classes),
             "# ---------------------------------------------------------------- the training",
             loss_fns, script_train.precision_code(autocast),
             script_train.epoch_code(exp, autocast),
             script_train.main_code(exp, autocast, script_model.is_tiny(exp)),
             'if __name__ == "__main__":\n    main()\n']
    body = "\n\n".join(p.rstrip("\n") + "\n" for p in parts if p)
    return _docstring(exp, origin, script, npz, body) + "\n" + _imports(body) + "\n\n" + body


def _classes_of_run(source) -> int | None:
    """The number of classes a trained run's output layer has (an image folder's), or None."""
    folder = Path(source) if not isinstance(source, cfg.Experiment) else None
    if folder is None or not (folder / "weights.pt").is_file():
        return None
    try:
        from core.store.reader import load_weights
        bias = load_weights(folder).get("output.bias")
        return int(bias.shape[0]) if bias is not None else None
    except Exception:  # noqa: BLE001 - unreadable weights: the data set's count is used
        return None


def export(source, out_file: Path | str) -> list[Path]:
    """Write the plain PyTorch script of a run folder, an experiment TOML or an Experiment to
    out_file (and, for Shapes-10, its images beside it); return the paths written."""
    exp, origin = experiment_of(source)
    script = Path(out_file)
    npz = script_data.shapes_file(script) if exp.data.dataset == "shapes10" else None
    for target in (script, npz) if npz else (script,):
        files.refuse_own_input(source, target, "the script")
    classes = _classes_of_run(source) if exp.data.dataset == "folder" else None
    text = script_text(exp, origin, script, npz, classes)
    written = []
    try:
        if npz is not None:
            written.append(script_data.write_shapes(exp, npz))
        atomic_write_text(script, text)
    except OSError as e:
        raise ExportError(f"Could not write the script into {script.parent} "
                          f"({e.strerror or e}); choose a folder you can write to.") from None
    return [script] + written
