"""Experiment config: data, model, optimisation and training settings; TOML in and out.

Every field carries its rule and a help text in the practical's words, so one place
validates the CLI's TOML, the GUI's widgets (the help text is their tooltip) and `--set`.
"""

from __future__ import annotations

import dataclasses
import math
import reprlib
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ConfigError

POINT_SETS = ("circles", "moons", "xor", "spiral", "blobs")
IMAGE_SETS = ("shapes10", "mnist", "fashion-mnist", "cifar10", "folder")


def rule(help: str, *, choices: tuple = (), min: float | None = None, max: float | None = None,
         min_open: bool = False, each_min: int | None = None) -> dict:
    """Field metadata: allowed values and the tooltip text."""
    return {"help": help, "choices": choices, "min": min, "max": max,
            "min_open": min_open, "each_min": each_min}


def _f(default, help, **kw):
    if isinstance(default, list):
        return field(default_factory=lambda d=default: list(d), metadata=rule(help, **kw))
    return field(default=default, metadata=rule(help, **kw))


@dataclass
class DataConfig:
    dataset: str = _f("circles", "Which data set to learn: 2D points (circles, moons, xor, spiral, "
                      "blobs), the embedded Shapes-10 images, MNIST, Fashion-MNIST, CIFAR-10, "
                      "or an image folder.", choices=POINT_SETS + IMAGE_SETS)
    root: str = _f("", "Folder of MNIST / Fashion-MNIST / CIFAR-10 files, or of an image folder "
                   "(one sub-folder per class).")
    test_root: str = _f("", "Optional separate image folder for the test split (one sub-folder "
                        "per class); empty = split the test set off the training folder.")
    download: bool = _f(False, "Download MNIST / Fashion-MNIST / CIFAR-10 into root when missing. "
                        "Off by default: LearnScope never uses the network unless asked.")
    n_train: int = _f(200, "N, the number of training examples (0 = all available). "
                      "Question 2: the influence of N on generalisation.", min=0)
    n_test: int = _f(200, "Number of test examples (0 = all available).", min=0)
    val_fraction: float = _f(0.0, "Fraction of the training examples held out for validation "
                             "(question 1: what is the validation set for?).", min=0.0, max=0.9)
    noise: float = _f(1.0, "Spread of the 2D points relative to the lab's data (1.0 = as in the "
                      "lab, 0 = no noise).", min=0.0, max=5.0)
    image_size: int = _f(32, "Side in pixels that image-folder images are resized to.", min=8,
                         max=512)
    standardize: str = _f("none", "Input standardisation (question 20): 'channel' subtracts each "
                          "channel's mean and divides by its std, both computed on the training "
                          "split only; 'zca' also decorrelates the pixels (question 21).",
                          choices=("none", "channel", "zca"))
    crop: int = _f(0, "Data augmentation: train on a random crop of this side (0 = off); "
                   "test on the centre crop. The lab uses 28 on 32×32 images (question 22).",
                   min=0)
    crop_padding: int = _f(0, "Zero padding added around the image before the random crop.",
                           min=0, max=16)
    flip: bool = _f(False, "Data augmentation: flip training images left-right with "
                    "probability 0.5. Question 23: where is that not valid? (try the arrows of "
                    "Shapes-10)")


@dataclass
class ConvBlock:
    channels: int = _f(32, "Number of filters of this convolution.", min=1)
    kernel: int = _f(5, "Side of each filter (k×k).", min=1)
    stride: int = _f(1, "Step between two filter positions (question 8).", min=1)
    padding: int = _f(2, "Zeros added around the input; k=5, stride 1 and padding 2 keep the "
                      "size (question 8).", min=0)
    pool: str = _f("max", "Pooling after the activation (question 9).",
                   choices=("max", "avg", "none"))
    pool_size: int = _f(2, "Side of the pooling window.", min=1)
    pool_stride: int = _f(2, "Step of the pooling window; 2 halves the size (question 9).", min=1)
    ceil_mode: bool = _f(False, "Round the pooled size up, so a 7×7 map pools to 4×4 "
                         "(keeps the lab's head at 1024 inputs with 28×28 crops).")


@dataclass
class ModelConfig:
    kind: str = _f("mlp", "Multi-layer perceptron (Part 1) or convolutional network (Part 2).",
                   choices=("mlp", "cnn"))
    hidden: list[int] = _f([10], "MLP: width of each hidden layer, n_h (question 4).", each_min=1)
    activation: str = _f("tanh", "Non-linearity between layers (question 3: why is one needed?).",
                         choices=("tanh", "relu", "sigmoid"))
    init_std: float = _f(0.0, "Initialise weights from N(0, init_std) and biases at 0, as the "
                         "lab does with 0.3; 0 = PyTorch's default initialisation.", min=0.0)
    blocks: list[ConvBlock] = field(default_factory=list, metadata=rule(
        "CNN: the convolution blocks, each conv → (batch norm) → activation → pool."))
    fc: list[int] = _f([], "Widths of the hidden fully-connected layers after the convolutions "
                       "(the lab's CNN: 1000).", each_min=1)
    batch_norm: bool = _f(False, "Batch normalisation right after each convolution (or hidden "
                          "linear layer), before its activation (question 34). It needs 2 or more "
                          "examples a batch: when N leaves a last batch of one, that example is "
                          "left out of the epoch (another each epoch, as the shuffle changes).")
    dropout: float = _f(0.0, "Dropout probability p (0 = off); questions 29-33.", min=0.0,
                        max=0.95)
    implementation: str = _f("optim", "How an MLP takes its SGD step (Part 1): 'manual' writes the "
                             "forward and backward passes out by hand (questions 7, 14-17), "
                             "'autograd' keeps the hand forward but lets loss.backward() find the "
                             "gradients, 'nn' uses torch.nn layers, 'optim' adds torch.optim.SGD. "
                             "All four give the same numbers.",
                             choices=("optim", "nn", "autograd", "manual"))
    dropout_place: str = _f("fc", "Where dropout goes: between the fully-connected layers ('fc', "
                            "as in the lab), after each conv block ('conv'), or both ('all').",
                            choices=("fc", "conv", "all"))


@dataclass
class OptimConfig:
    loss: str = _f("cross_entropy", "Loss: cross-entropy on the softmax, or squared error between "
                   "the softmax and the one-hot target (questions 8-9).",
                   choices=("cross_entropy", "mse"))
    reduction: str = _f("mean", "How a batch's losses combine into the gradient: 'sum', as in the "
                        "lab's hand-written backward (∇W_y = ∇ỹᵀh sums over the batch), or "
                        "'mean', torch.nn's default (steps B times smaller for the same η).",
                        choices=("mean", "sum"))
    optimizer: str = _f("sgd", "Gradient descent (SGD, with optional momentum) or Adam.",
                        choices=("sgd", "adam"))
    lr: float = _f(0.03, "Learning rate η (question 11). With momentum m the effective step is "
                   "about η/(1−m): 10× larger at m = 0.9.", min=0.0, min_open=True)
    momentum: float = _f(0.0, "SGD momentum (the lab uses 0.9, question 26).", min=0.0, max=0.999)
    nesterov: bool = _f(False, "Nesterov momentum (needs momentum > 0).")
    weight_decay: float = _f(0.0, "L2 penalty on the weights (a regulariser, question 30).",
                             min=0.0)
    scheduler: str = _f("none", "Learning-rate schedule, stepped once per epoch: exponential "
                        "(η·γ^epoch, the lab's γ = 0.95), step, or cosine.",
                        choices=("none", "exponential", "step", "cosine"))
    gamma: float = _f(0.95, "Decay factor γ of the exponential and step schedules.",
                      min=0.0, max=1.0, min_open=True)
    step_size: int = _f(10, "Step schedule: multiply η by γ every this many epochs.", min=1)


@dataclass
class TrainConfig:
    batch_size: int = _f(10, "Examples per gradient step: 1 = online, N = full batch, in between "
                         "mini-batch (question 10).", min=1)
    epochs: int = _f(150, "Passes over the training set.", min=1, max=100000)
    seed: int = _f(0, "Seed of the data, the initial weights, the shuffles and the augmentation: "
                   "the same seed gives the same run.", min=0, max=2**63 - 1)
    device: str = _f("auto", "Where to train: auto (a GPU when there is one), cpu, cuda, cuda:N "
                     "or mps.")
    dtype: str = _f("float32", "Number precision of the weights and inputs; float64 makes the "
                    "hand-written and autograd runs agree to 1e-10.", choices=("float32", "float64"))
    sync_every: int = _f(25, "Read the metrics back from the device every this many steps "
                         "(a NaN loss is caught at the next read).", min=1)


@dataclass
class Experiment:
    name: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def is_points(self) -> bool:
        return self.data.dataset in POINT_SETS


SECTIONS = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "train": TrainConfig}
IMAGE_SIDE = {"mnist": 28, "fashion-mnist": 28, "cifar10": 32}  # the others: data.image_size


# ---------------------------------------------------------------- validation
INT_MAX = 2**63 - 1  # TOML's integers are 64-bit: a larger one would not load back elsewhere
FLOAT32_MAX = 3.4028234663852886e38
_SHOW = reprlib.Repr()
_SHOW.maxstring, _SHOW.maxother, _SHOW.maxlist, _SHOW.maxdict, _SHOW.maxlevel = 60, 60, 6, 6, 3


def _show(value: Any) -> str:
    """Return a short repr of a value for an error message (long or deep values are cut)."""
    try:
        return _SHOW.repr(value)
    except (RecursionError, ValueError):  # e.g. int too large to write out
        return f"a {type(value).__name__}"


def check_text(path: str, value: str) -> None:
    """Refuse control characters (tabs and line breaks included) and lone surrogates in a
    text field: they make the saved config.toml and the runs list unreadable."""
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in ("Cc", "Cs"):
            raise ConfigError(f"{path}: contains the control character U+{ord(ch):04X} at "
                              f"position {i + 1}; remove it (text settings are one line of "
                              "printable characters)")


def _check_value(path: str, f: dataclasses.Field, value: Any) -> None:
    m = f.metadata
    if m.get("choices") and value not in m["choices"]:
        allowed = ", ".join(repr(c) for c in m["choices"])
        raise ConfigError(f"{path}: must be one of {allowed}, got {_show(value)}")
    lo, hi = m.get("min"), m.get("max")
    if lo is not None and (value <= lo if m.get("min_open") else value < lo):
        raise ConfigError(f"{path}: must be {'>' if m.get('min_open') else '>='} {lo}, "
                          f"got {_show(value)}")
    if hi is not None and value > hi:
        raise ConfigError(f"{path}: must be <= {hi}, got {_show(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{path}: must be a finite number, got {value!r}")
    if type(value) is int and not -INT_MAX - 1 <= value <= INT_MAX:
        raise ConfigError(f"{path}: must be at most {INT_MAX} (a 64-bit whole number), got "
                          f"{_show(value)}")
    if isinstance(value, str):
        check_text(path, value)
    if m.get("each_min") is not None:
        for i, v in enumerate(value):
            if v < m["each_min"]:
                raise ConfigError(f"{path}[{i}]: must be >= {m['each_min']}, got {_show(v)}")
            if v > INT_MAX:
                raise ConfigError(f"{path}[{i}]: must be at most {INT_MAX}, got {_show(v)}")


def _coerce(path: str, f: dataclasses.Field, value: Any) -> Any:
    """Return value converted to the field's type, or raise ConfigError naming the field."""
    kind = f.type
    if kind == "list[ConvBlock]":
        if not isinstance(value, list):
            raise ConfigError(f"{path}: must be a list of conv blocks, got {_show(value)}")
        return [_build(f"{path}[{i}]", ConvBlock, v) for i, v in enumerate(value)]
    if kind == "list[int]":
        if not isinstance(value, list) or not all(type(v) is int for v in value):
            raise ConfigError(f"{path}: must be a list of whole numbers, got {_show(value)}")
        return list(value)
    if kind == "bool":
        if type(value) is not bool:
            raise ConfigError(f"{path}: must be true or false, got {_show(value)}")
        return value
    if kind == "int":
        if type(value) is not int:
            raise ConfigError(f"{path}: must be a whole number, got {_show(value)}")
        return value
    if kind == "float":
        if type(value) not in (int, float):
            raise ConfigError(f"{path}: must be a number, got {_show(value)}")
        try:
            return float(value)
        except OverflowError:  # a whole number with hundreds of digits
            raise ConfigError(f"{path}: must be a finite number, got a whole number of "
                              f"{len(str(abs(value)))} digits") from None
    if not isinstance(value, str):
        raise ConfigError(f"{path}: must be text, got {_show(value)}")
    return value


def _build(path: str, cls: type, table: Any):
    if isinstance(table, cls):
        table = to_dict(table)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: must be a table of settings, got {_show(table)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"{path}.{_key(unknown[0])}: unknown setting (allowed: {', '.join(fields)})")
    values = {}
    for name, value in table.items():
        f = fields[name]
        values[name] = _coerce(f"{path}.{name}", f, value)
        _check_value(f"{path}.{name}", f, values[name])
    return cls(**values)


def _key(key: str) -> str:
    """Return a TOML key as it is written in a config (quoted when it is not a bare key)."""
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else _show(key)


def from_dict(d: dict) -> Experiment:
    """Return a validated Experiment from nested dicts (as read from TOML)."""
    if not isinstance(d, dict):
        raise ConfigError(f"config: must be a table of sections, got {_show(d)}")
    unknown = sorted(set(d) - set(SECTIONS) - {"name"})
    if unknown:
        raise ConfigError(f"{_key(unknown[0])}: unknown section (allowed: name, {', '.join(SECTIONS)})")
    name = d.get("name", "")
    if not isinstance(name, str):
        raise ConfigError(f"name: must be text, got {_show(name)}")
    try:
        exp = Experiment(name=name, **{s: _build(s, cls, d.get(s, {})) for s, cls in SECTIONS.items()})
    except RecursionError:
        raise ConfigError("config: values are nested too deeply to read; a setting holds at "
                          "most a list of numbers or a list of conv-block tables") from None
    validate(exp)
    return exp


def check_fields(section: str, table: Any) -> None:
    """Check each field of one section (a config dataclass or its dict) against its own rule."""
    _build(section, SECTIONS[section], table)


def validate(exp: Experiment) -> Experiment:
    """Check the rules that tie several fields together; return exp unchanged."""
    for s in SECTIONS:  # fields edited in place (GUI) are re-checked here
        check_fields(s, getattr(exp, s))
    if exp.optim.nesterov and exp.optim.momentum <= 0:
        raise ConfigError("optim.nesterov: needs optim.momentum > 0, got momentum "
                          f"{exp.optim.momentum}")
    m, o = exp.model, exp.optim
    if m.implementation != "optim":
        needs = [("model.kind", m.kind, "mlp"), ("optim.optimizer", o.optimizer, "sgd"),
                 ("optim.momentum", o.momentum, 0.0), ("optim.nesterov", o.nesterov, False),
                 ("optim.weight_decay", o.weight_decay, 0.0), ("model.batch_norm", m.batch_norm, False),
                 ("model.dropout", m.dropout, 0.0)]
        for name, value, want in needs:
            if value != want:
                raise ConfigError(f"model.implementation: {m.implementation!r} is plain SGD on an "
                                  f"MLP and needs {name} = {want!r}, got {value!r} (use 'optim')")
    if exp.model.kind == "cnn" and exp.is_points:
        raise ConfigError(f"model.kind: 'cnn' needs an image data set, got data.dataset "
                          f"{exp.data.dataset!r} (use 'mlp' for 2D points)")
    if exp.model.kind == "cnn" and not exp.model.blocks:
        raise ConfigError("model.blocks: a CNN needs at least one conv block, got none")
    if exp.data.dataset == "folder" and not exp.data.root:
        raise ConfigError("data.root: an image-folder data set needs the folder that holds one "
                          "sub-folder of images per class, got an empty path")
    if exp.data.dataset in ("mnist", "fashion-mnist", "cifar10") and not exp.data.root:
        raise ConfigError(f"data.root: {exp.data.dataset} needs the folder that holds its files, "
                          "got an empty path")
    d = exp.data
    side = IMAGE_SIDE.get(d.dataset, d.image_size)
    if not exp.is_points and d.crop > side + 2 * d.crop_padding:
        raise ConfigError(f"data.crop: a {d.crop}×{d.crop} crop does not fit in {side}×{side} "
                          f"images padded by {d.crop_padding}")
    image_only = [name for name, on in (("standardize", d.standardize == "zca"), ("crop", d.crop),
                                        ("flip", d.flip)) if on]
    if exp.is_points and image_only:  # the path names the field that is set
        raise ConfigError(f"data.{image_only[0]}: ZCA, crops and flips apply to images, "
                          f"not to the 2D set {exp.data.dataset!r}")
    _validate_sizes(exp)
    _validate_batch_norm(exp)
    return exp


def _validate_batch_norm(exp: Experiment) -> None:
    """Refuse batch norm on batches of one example where a layer would see a single value.

    A linear layer's batch norm, or a convolution's whose map is 1×1, normalises each unit
    over the batch alone: with train.batch_size 1 that is one value (no variance). A conv
    block's batch norm over a larger map still has the map's pixels, so it is allowed."""
    m = exp.model
    if not m.batch_norm or exp.train.batch_size > 1:
        return
    if m.kind == "mlp":
        raise ConfigError("model.batch_norm: batch norm normalises each hidden unit over the batch, "
                          "and train.batch_size 1 (online learning) gives it one value, from which "
                          "it cannot compute a variance; use a batch size of 2 or more, or turn "
                          "batch norm off")
    from core import memory, models  # torch: only for a CNN with batch norm on batches of one
    in_shape, k = memory.input_shape(exp)
    table = models.layer_table(m, in_shape, k)
    t = models.single_value_norm(table)
    if t is not None:
        raise ConfigError(f"{models.norm_setting(t)}: batch norm over a "
                          f"{'×'.join(map(str, t.out_shape[1:])) or '1×1'} feature map with "
                          "train.batch_size 1 sees one value per channel, from which it cannot "
                          "compute a variance; use a batch size of 2 or more, more pixels before "
                          "this block (less stride or pooling), or turn batch norm off")


def _validate_sizes(exp: Experiment) -> None:
    """Refuse, by name, what the loader and the trainer would otherwise fail on later."""
    if not isinstance(exp.name, str):
        raise ConfigError(f"name: must be text, got {_show(exp.name)}")
    check_text("name", exp.name)
    d = exp.data
    if exp.is_points:
        for path, n in (("data.n_train", d.n_train), ("data.n_test", d.n_test)):
            if n == 1:
                raise ConfigError(f"{path}: a 2D data set needs at least 2 points (one of each "
                                  "class), got 1; use 2 or more, or 0 for the default")
    if d.dataset == "shapes10" and d.image_size < 16:
        raise ConfigError(f"data.image_size: Shapes-10 images must be at least 16 pixels wide, "
                          f"got {d.image_size}")
    known = {"shapes10": 10000}.get(d.dataset, 200 if exp.is_points else None)
    if known is not None:  # the size of the training set is known before loading
        n = d.n_train or known
        if n - int(round(d.val_fraction * n)) < 1:
            raise ConfigError(f"data.val_fraction: {d.val_fraction} of {n} training examples "
                              "leaves none to train on; lower it or raise data.n_train")
    if exp.train.dtype == "float32":  # a float64 value beyond float32's range overflows in torch
        for s in SECTIONS:
            for f in dataclasses.fields(SECTIONS[s]):
                v = getattr(getattr(exp, s), f.name)
                if type(v) is float and abs(v) > FLOAT32_MAX:
                    raise ConfigError(f"{s}.{f.name}: {v:g} does not fit in float32 (at most "
                                      f"{FLOAT32_MAX:.4g}); lower it, or set train.dtype = "
                                      "'float64'")


def check_folders(exp: Experiment) -> None:
    """Check that an image-folder data set's folders exist (validate leaves the disk alone)."""
    d = exp.data
    if d.dataset != "folder":
        return
    for path, folder, what in (("data.root", d.root, "images"), ("data.test_root", d.test_root, "test images")):
        p = Path(folder).expanduser() if folder else None
        if p is not None and not p.is_dir():
            reason = "is a file, not a folder" if p.exists() else "does not exist"
            raise ConfigError(f"{path}: {p} {reason}; choose the folder that holds one sub-folder "
                              f"of {what} per class")


# ---------------------------------------------------------------- TOML in / out
def to_dict(obj) -> Any:
    """Return plain nested dicts/lists (what TOML holds) for a config dataclass."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return [to_dict(v) for v in obj]
    return obj


def loads(text: str, source: str = "config") -> Experiment:
    """Return the Experiment described by TOML text; every failure is a ConfigError whose
    message starts with source (the file's name, or 'config')."""
    if not isinstance(text, str):
        raise ConfigError(f"{source}: must be TOML text, got {type(text).__name__}")
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:  # its message names the line and column
        raise ConfigError(f"{source}: not valid TOML ({e}); fix that line") from None
    except RecursionError:
        raise ConfigError(f"{source}: not a config LearnScope can read (arrays or tables are "
                          "nested hundreds deep); a setting holds at most a list of numbers or "
                          "a list of conv-block tables") from None
    except (ValueError, TypeError, OverflowError) as e:  # tomllib's own limits on odd input
        raise ConfigError(f"{source}: not valid TOML ({e})") from None
    if source == "config":
        return from_dict(d)
    try:
        return from_dict(d)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def load(path: str | Path) -> Experiment:
    """Return the Experiment in a TOML file (a ConfigError names the file)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"config: cannot read {p} ({e.strerror or e})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ConfigError(f"{p} is not UTF-8 text (byte 0x{data[e.start]:02x} on line {line} "
                          "cannot be decoded); save it as UTF-8") from None
    return loads(text, str(p))


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


def _toml_string(v: str) -> str:
    """Return v as a TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in v:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif unicodedata.category(ch) == "Cc":  # TOML forbids them raw (U+0000-001F, U+007F, C1)
            out.append(f"\\u{ord(ch):04X}")
        elif unicodedata.category(ch) == "Cs":  # a lone surrogate cannot be written as UTF-8
            raise ValueError(f"cannot write the lone surrogate U+{ord(ch):04X} as TOML")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def dumps(exp: Experiment) -> str:
    """Return TOML text that loads() turns back into an equal Experiment."""
    d = to_dict(exp)
    lines = [f"name = {_toml_value(d.pop('name'))}"]
    for section, table in d.items():
        lines += ["", f"[{section}]"]
        tables = {k: v for k, v in table.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
        for k, v in table.items():
            if k not in tables:
                lines.append(f"{k} = {_toml_value(v)}")
        for k, rows in tables.items():
            for row in rows:
                lines += ["", f"[[{section}.{k}]]"] + [f"{a} = {_toml_value(b)}" for a, b in row.items()]
    return "\n".join(lines) + "\n"


def save(exp: Experiment, path: str | Path) -> None:
    """Write exp as TOML, atomically (a temporary file renamed over the target)."""
    from core.runs import atomic_write_text  # runs imports config; import here breaks the cycle
    atomic_write_text(Path(path), dumps(exp))


# ---------------------------------------------------------------- overrides
def parse_override(text: str) -> tuple[str, str, Any]:
    """Return (section, field, value) from 'section.field=value' (value read as TOML)."""
    shown = _show(text)
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in ("Cc", "Cs") and ch != "\t":
            what = "a line break" if ch in "\n\r" else f"the control character U+{ord(ch):04X}"
            raise ConfigError(f"--set {shown}: contains {what} at position {i + 1}; give one "
                              "setting on one line, e.g. --set optim.lr=0.01")
    key, sep, raw = text.partition("=")
    section, dot, name = (part.strip() for part in key.strip().partition("."))
    if not sep or not dot:
        raise ConfigError(f"--set {shown}: expected section.field=value, e.g. optim.lr=0.01")
    if not section or not name:
        missing = "a section before the dot" if not section else "a field after the dot"
        raise ConfigError(f"--set {shown}: the key {key.strip()!r} lacks {missing}; write "
                          f"section.field=value with a section of {', '.join(SECTIONS)}, e.g. "
                          "optim.lr=0.01")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        value = raw  # bare words such as cifar10 or cuda are text
    return section, name, value


def with_overrides(exp: Experiment, overrides: list[str]) -> Experiment:
    """Return a copy of exp with 'section.field=value' overrides applied and validated."""
    d = to_dict(exp)
    for text in overrides:
        section, name, value = parse_override(text)
        if section == "name" or section not in SECTIONS:
            raise ConfigError(f"--set {_show(text)}: unknown section {section!r} (allowed: "
                              f"{', '.join(SECTIONS)})")
        d[section][name] = value
    return from_dict(d)


def field_help(section: str, name: str) -> str:
    """Return the tooltip text of a config field."""
    cls = SECTIONS.get(section, ConvBlock if section == "block" else None)
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}[name]
