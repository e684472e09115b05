"""Experiment config: data, model, optimisation and training settings; TOML in and out.

Every field carries its rule, its help text in the practical's words and where a panel shows
it (core.experiment.schema.setting), so one place validates the CLI's TOML, `--set` and the GUI's
widgets, and a field given a group appears in that panel's box. Choices are the field's
`Literal` type, or for data sets, optimisers and schedules their registry's names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from core.experiment import optimizers, rules, schema
from core.files.atomic import atomic_write_text
from core.data import registry as datasets
from core import ConfigError
from core.experiment.schema import as_dict as to_dict, build, key, show, setting as _f


@dataclass
class DataConfig:
    dataset: str = _f("circles", "Which data set to learn: 2D points (circles, moons, xor, spiral, "
                      "blobs), the embedded Shapes-10 images, MNIST, Fashion-MNIST, CIFAR-10, "
                      "or an image folder.", label="Data set", group="Data set", order=1,
                      choices=lambda: {n: datasets.get(n) for n in datasets.names()})
    root: str = _f("", "Folder of MNIST / Fashion-MNIST / CIFAR-10 files, or of an image folder "
                   "(one sub-folder per class).", label="Data folder", group="Data set", order=2)
    test_root: str = _f("", "Optional separate image folder for the test split (one sub-folder "
                        "per class); empty = split the test set off the training folder.",
                        label="Test folder", group="Data set", order=4)
    download: bool = _f(False, "Download MNIST / Fashion-MNIST / CIFAR-10 into root when missing. "
                        "Off by default: LearnScope never uses the network unless asked.",
                        label="Download when missing", group="Data set", order=3)
    n_train: int = _f(200, "N, the number of training examples (0 = all available). "
                      "Question 2: the influence of N on generalisation.", min=0,
                      label="Train size N", group="Size and noise", order=1, special="all")
    n_test: int = _f(200, "Number of test examples (0 = all available).", min=0,
                     label="Test size", group="Size and noise", order=2, special="all")
    val_fraction: float = _f(0.0, "Fraction of the training examples held out for validation "
                             "(question 1: what is the validation set for?).", min=0.0, max=0.9,
                             label="Validation fraction", group="Size and noise", order=3,
                             step=0.05)
    noise: float = _f(1.0, "Spread of the 2D points relative to the lab's data (1.0 = as in the "
                      "lab, 0 = no noise).", min=0.0, max=5.0, label="Noise (2D)",
                      group="Size and noise", order=4)
    image_size: int = _f(32, "Side in pixels that image-folder images are resized to.", min=8,
                         max=512, label="Image side", group="Data set", order=5)
    standardize: Literal["none", "channel", "zca"] = _f(
        "none", "Input standardisation (question 20): 'channel' subtracts each channel's mean "
        "and divides by its std, both computed on the training split only; 'zca' also "
        "decorrelates the pixels (question 21).", label="Standardise", group="Preprocessing",
        order=1, shown={"none": "none", "channel": "per-channel mean/std", "zca": "ZCA whitening"})
    crop: int = _f(0, "Data augmentation: train on a random crop of this side (0 = off); "
                   "test on the centre crop. The lab uses 28 on 32×32 images (question 22).",
                   min=0, label="Random crop", group="Preprocessing", order=2, special="off")
    crop_padding: int = _f(0, "Zero padding added around the image before the random crop.",
                           min=0, max=16, label="Crop padding", group="Preprocessing", order=3)
    flip: bool = _f(False, "Data augmentation: flip training images left-right with "
                    "probability 0.5. Question 23: where is that not valid? (try the arrows of "
                    "Shapes-10)", label="Flip", group="Preprocessing", order=4,
                    check_text="horizontal flip (p 0.5)")
    flip_test: bool = _f(False, "Test-time flip averaging: each held-out image is classified "
                         "from the average of the network's outputs for it and for its mirror "
                         "image. Valid where a flip is (not for arrows).", label="Test-time flip",
                         group="Preprocessing", order=5, check_text="average with the mirror")


@dataclass
class ConvBlock:
    plural: ClassVar[str] = "conv blocks"  # how messages name a list of them
    channels: int = _f(32, "Number of filters of this convolution.", min=1, label="filters")
    kernel: int = _f(5, "Side of each filter (k×k).", min=1, label="kernel")
    stride: int = _f(1, "Step between two filter positions (question 8).", min=1, label="stride")
    padding: int = _f(2, "Zeros added around the input; k=5, stride 1 and padding 2 keep the "
                      "size (question 8).", min=0, label="padding")
    pool: Literal["max", "avg", "none"] = _f("max", "Pooling after the activation (question 9).",
                                             label="pool")
    pool_size: int = _f(2, "Side of the pooling window.", min=1, label="pool size")
    pool_stride: int = _f(2, "Step of the pooling window; 2 halves the size (question 9).", min=1,
                          label="pool stride")
    ceil_mode: bool = _f(False, "Round the pooled size up, so a 7×7 map pools to 4×4 "
                         "(keeps the lab's head at 1024 inputs with 28×28 crops).", label="ceil")


@dataclass
class ModelConfig:
    kind: Literal["mlp", "cnn"] = _f(
        "mlp", "Multi-layer perceptron (Part 1) or convolutional network (Part 2).",
        label="Network kind", group="Network", order=1,
        shown={"mlp": "MLP (Part 1)", "cnn": "CNN (Part 2)"})
    hidden: list[int] = _f([10], "MLP: width of each hidden layer, n_h (question 4).", each_min=1,
                           label="Hidden layers")
    activation: Literal["tanh", "relu", "sigmoid"] = _f(
        "tanh", "Non-linearity between layers (question 3: why is one needed?).",
        label="Activation", group="Network", order=2)
    init_std: float = _f(0.0, "Initialise weights from N(0, init_std) and biases at 0, as the "
                         "lab does with 0.3; 0 = PyTorch's default initialisation.", min=0.0,
                         label="Init σ", group="Network", order=3, step=0.1,
                         special="PyTorch default")
    blocks: list[ConvBlock] = _f([], "CNN: the convolution blocks, each conv → (batch norm) → "
                                 "activation → pool.", label="Conv layers")
    fc: list[int] = _f([], "Widths of the hidden fully-connected layers after the convolutions "
                       "(the lab's CNN: 1000).", each_min=1, label="Dense layers")
    batch_norm: bool = _f(False, "Batch normalisation right after each convolution (or hidden "
                          "linear layer), before its activation (question 34). It needs 2 or more "
                          "examples a batch: when N leaves a last batch of one, that example is "
                          "left out of the epoch (another each epoch, as the shuffle changes).",
                          label="Batch norm", group="Regularisation", order=3,
                          check_text="after conv / hidden layers")
    dropout: float = _f(0.0, "Dropout probability p (0 = off); questions 29-33.", min=0.0,
                        max=0.95, label="Dropout p", group="Regularisation", order=1, step=0.1,
                        special="off")
    implementation: Literal["optim", "nn", "autograd", "manual"] = _f(
        "optim", "How an MLP takes its SGD step (Part 1): 'manual' writes the forward and "
        "backward passes out by hand (questions 7, 14-17), 'autograd' keeps the hand forward but "
        "lets loss.backward() find the gradients, 'nn' uses torch.nn layers, 'optim' adds "
        "torch.optim.SGD. All four give the same numbers.", label="Implementation")
    dropout_place: Literal["fc", "conv", "all"] = _f(
        "fc", "Where dropout goes: between the fully-connected layers ('fc', as in the lab), "
        "after each conv block ('conv'), or both ('all').", label="Dropout after",
        group="Regularisation", order=2)


@dataclass
class OptimConfig:
    loss: Literal["cross_entropy", "mse"] = _f(
        "cross_entropy", "Loss: cross-entropy on the softmax, or squared error between the "
        "softmax and the one-hot target (questions 8-9).", label="Loss",
        group="Loss and optimiser", order=1)
    reduction: Literal["mean", "sum"] = _f(
        "mean", "How a batch's losses combine into the gradient: 'sum', as in the lab's "
        "hand-written backward (∇W_y = ∇ỹᵀh sums over the batch), or 'mean', torch.nn's "
        "default (steps B times smaller for the same η).", label="Batch reduction",
        group="Loss and optimiser", order=2)
    optimizer: str = _f("sgd", "Gradient descent (SGD, with optional momentum) or Adam.",
                        label="Optimiser", group="Loss and optimiser", order=3,
                        choices=lambda: optimizers.OPTIMIZERS)
    lr: float = _f(0.03, "Learning rate η (question 11). With momentum m the effective step is "
                   "about η/(1−m): 10× larger at m = 0.9.", min=0.0, min_open=True,
                   label="Learning rate η", group="Loss and optimiser", order=4)
    momentum: float = _f(0.0, "SGD momentum (the lab uses 0.9, question 26).", min=0.0, max=0.999,
                         label="Momentum", group="Loss and optimiser", order=5, step=0.1)
    nesterov: bool = _f(False, "Nesterov momentum (needs momentum > 0).", label="Nesterov",
                        group="Loss and optimiser", order=6)
    weight_decay: float = _f(0.0, "L2 penalty on the weights (a regulariser, question 30).",
                             min=0.0, label="Weight decay", group="Loss and optimiser", order=7)
    label_smoothing: float = _f(
        0.0, "Share of the target spread evenly over the other classes (0 = off).",
        min=0.0, max=0.5, label="Label smoothing", group="Loss and optimiser", order=8,
        step=0.05, special="off")
    scheduler: str = _f("none", "Learning-rate schedule, stepped once per epoch: exponential "
                        "(η·γ^epoch, the lab's γ = 0.95), step, cosine, or warm-up + cosine.",
                        label="Schedule",
                        group="Learning-rate schedule", order=1,
                        choices=lambda: optimizers.SCHEDULES)
    gamma: float = _f(0.95, "Decay factor γ of the exponential and step schedules.",
                      min=0.0, max=1.0, min_open=True, label="γ", group="Learning-rate schedule",
                      order=2, step=0.01)
    step_size: int = _f(10, "Step schedule: multiply η by γ every this many epochs.", min=1,
                        label="Step (epochs)", group="Learning-rate schedule", order=3)
    warmup: int = _f(0, "Warm-up + cosine schedule: η grows linearly over this many first "
                     "epochs (from η/(w+1)), then falls along a cosine to 0 at the last epoch. "
                     "A large η from the first step can throw the network out of its start.",
                     min=0, label="Warm-up", group="Learning-rate schedule", order=4)


@dataclass
class TrainConfig:
    batch_size: int = _f(10, "Examples per gradient step: 1 = online, N = full batch, in between "
                         "mini-batch (question 10).", min=1, label="Batch size", group="Batch",
                         order=1)
    epochs: int = _f(150, "Passes over the training set.", min=1, max=100000, label="Epochs")
    seed: int = _f(0, "Seed of the data, the initial weights, the shuffles and the augmentation: "
                   "the same seed gives the same run.", min=0, max=2**63 - 1, label="Seed")
    device: str = _f("auto", "Where to train: auto (a GPU when there is one), cpu, cuda, cuda:N "
                     "or mps.", label="Device")
    dtype: Literal["float32", "float64"] = _f(
        "float32", "Number precision of the weights and inputs; float64 makes the hand-written "
        "and autograd runs agree to 1e-10.", label="Weights dtype")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = _f(
        "auto", "Number format of the convolutions and matrix products. 'auto': bf16 autocast "
        "(with channels-last for a CNN) where the device computes bf16 natively — a CPU with AMX "
        "or AVX-512 BF16, a recent GPU — else fp32. Weights, loss and metrics stay fp32; 'fp16' "
        "needs a CUDA GPU.", label="Precision")
    compile: Literal["auto", "on", "off"] = _f(
        "auto", "Compile the network with torch.compile before it trains. 'auto' leaves it off: "
        "on a 2-core CPU a compiled run was slower even once compiled (benchmarks/"
        "compile_cpu.py), and it has not been measured on a GPU yet; 'on' compiles it. The run's "
        "first line says which: 'eager' or 'compiled'.", label="Compile")
    cuda_graphs: Literal["auto", "on", "off"] = _f(
        "auto", "Capture the training step once as a CUDA graph and replay it: on a GPU a small "
        "network's step then costs one launch instead of hundreds. 'auto' captures on a CUDA "
        "device where the step allows (not with fp16, train.compile or Part 1's hand-written "
        "steps); the run's first line says 'CUDA graphs', or why not. Nothing changes on a CPU.",
        label="CUDA graphs")
    sync_every: int = _f(25, "Read the metrics back from the device every this many steps "
                         "(a NaN loss is caught at the next read).", min=1,
                         label="Metrics read-back (steps)")
    tensorboard: str = _f("", "Folder for TensorBoard (empty = off): each run writes its curves and "
                          "first-layer filters, each epoch, to a sub-folder named after its run "
                          "folder (`tensorboard --logdir FOLDER`).", label="TensorBoard folder")
    snapshots: Literal["auto", "every", "none"] = _f(
        "auto", "Keep the network after every epoch (and its initial weights) so a finished run "
        "can be replayed epoch by epoch: every = all of them; auto = all while they fit in 64 MB, "
        "else evenly spread epochs with the first and the last; none = only the final weights.",
        label="Snapshots")


@dataclass
class Experiment:
    name: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def is_points(self) -> bool:
        return datasets.is_points(self.data.dataset)


SECTIONS = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "train": TrainConfig}


# what panels read: each field's type, choices, words, tooltip and box ('block': a conv block)
_SCHEMA = schema.Schema(SECTIONS, {"block": ConvBlock})
section_class, field_of, field_type = _SCHEMA.section_class, _SCHEMA.field_of, _SCHEMA.field_type
choices, choice_words, fields_of = _SCHEMA.choices, _SCHEMA.choice_words, _SCHEMA.fields_of
field_help, field_label = _SCHEMA.field_help, _SCHEMA.field_label


# ---------------------------------------------------------------- validation
def from_dict(d: dict) -> Experiment:
    """Return a validated Experiment from nested dicts (as read from TOML)."""
    if not isinstance(d, dict):
        raise ConfigError(f"config: must be a table of sections, got {show(d)}")
    unknown = sorted(set(d) - set(SECTIONS) - {"name"})
    if unknown:
        raise ConfigError(f"{key(unknown[0])}: unknown section (allowed: name, {', '.join(SECTIONS)})")
    name = d.get("name", "")
    if not isinstance(name, str):
        raise ConfigError(f"name: must be text, got {show(name)}")
    try:
        exp = Experiment(name=name, **{s: build(s, cls, d.get(s, {})) for s, cls in SECTIONS.items()})
    except RecursionError:
        raise ConfigError("config: values are nested too deeply to read; a setting holds at "
                          "most a list of numbers or a list of conv-block tables") from None
    validate(exp)
    return exp


def check_fields(section: str, table: Any) -> None:
    """Check each field of one section (a config dataclass or its dict) against its own rule."""
    build(section, SECTIONS[section], table)


def validate(exp: Experiment) -> Experiment:
    """Check every field, then the rules that tie several together (core.experiment.rules);
    return exp unchanged."""
    for s in SECTIONS:  # fields edited in place (GUI) are re-checked here
        check_fields(s, getattr(exp, s))
    rules.check(exp)
    return exp


# ---------------------------------------------------------------- TOML in / out
def loads(text: str, source: str = "config") -> Experiment:
    """Return the Experiment described by TOML text; every failure is a ConfigError whose
    message starts with source (the file's name, or 'config')."""
    d = schema.read_toml(text, source)
    if source == "config":
        return from_dict(d)
    try:
        return from_dict(d)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def load(path: str | Path) -> Experiment:
    """Return the Experiment in a TOML file (a ConfigError names the file)."""
    p = Path(path)
    return loads(schema.read_text(p), str(p))


def dumps(exp: Experiment) -> str:
    """Return TOML text that loads() turns back into an equal Experiment."""
    return schema.write_toml(to_dict(exp))


def save(exp: Experiment, path: str | Path) -> None:
    """Write exp as TOML, atomically (a temporary file renamed over the target)."""
    atomic_write_text(Path(path), dumps(exp))


# ---------------------------------------------------------------- overrides
def parse_override(text: str) -> tuple[str, str, Any]:
    """Return (section, field, value) from 'section.field=value' (value read as TOML)."""
    return schema.parse_override(text, SECTIONS)


def with_overrides(exp: Experiment, overrides: list[str]) -> Experiment:
    """Return a copy of exp with 'section.field=value' overrides applied and validated."""
    return from_dict(schema.override_table(to_dict(exp), overrides, SECTIONS))
