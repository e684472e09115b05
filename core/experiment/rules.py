"""The rules that tie several settings together; each refuses with a sentence that names the
setting to change, so the command line and the window refuse the same thing alike
(core.experiment.config.validate runs them after checking each field on its own)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from core import ConfigError, files
from core.data import registry as datasets
from core.experiment.schema import FLOAT32_MAX, check_text, show

if TYPE_CHECKING:
    from core.experiment.config import Experiment, ModelConfig, TrainConfig


def check(exp: Experiment) -> None:
    """ConfigError for the first rule exp breaks."""
    if exp.optim.label_smoothing and exp.optim.loss == "mse":
        raise ConfigError("optim.label_smoothing: smooths the cross-entropy's target, and "
                          "optim.loss is 'mse'; set it to 0, or use optim.loss = 'cross_entropy'")
    if exp.optim.label_smoothing and exp.model.implementation != "optim":
        raise ConfigError("optim.label_smoothing: Part 1's hand-written backward computes the "
                          "plain cross-entropy's gradient; set it to 0, or model.implementation "
                          "= 'optim'")
    if exp.optim.nesterov and exp.optim.momentum <= 0:
        raise ConfigError("optim.nesterov: needs optim.momentum > 0, got momentum "
                          f"{exp.optim.momentum}")
    _validate_implementation(exp)
    _validate_precision(exp.train, exp.model)
    if exp.model.kind == "cnn" and exp.is_points:
        raise ConfigError(f"model.kind: 'cnn' needs an image data set, got data.dataset "
                          f"{exp.data.dataset!r} (use 'mlp' for 2D points)")
    if exp.model.kind == "cnn" and not exp.model.blocks:
        raise ConfigError("model.blocks: a CNN needs at least one conv block, got none")
    _validate_data(exp)
    _validate_sizes(exp)
    _validate_batch_norm(exp)


def _validate_implementation(exp: Experiment) -> None:
    """The hand-written Part 1 implementations are plain SGD on an MLP: refuse the rest."""
    m, o = exp.model, exp.optim
    if m.implementation == "optim":
        return
    needs = [("model.kind", m.kind, "mlp"), ("optim.optimizer", o.optimizer, "sgd"),
             ("optim.momentum", o.momentum, 0.0), ("optim.nesterov", o.nesterov, False),
             ("optim.weight_decay", o.weight_decay, 0.0), ("optim.label_smoothing", o.label_smoothing, 0.0),
             ("model.batch_norm", m.batch_norm, False),
             ("model.dropout", m.dropout, 0.0)]
    for name, value, want in needs:
        if value != want:
            raise ConfigError(f"model.implementation: {m.implementation!r} is plain SGD on an "
                              f"MLP and needs {name} = {want!r}, got {value!r} (use 'optim')")


def _validate_precision(t: TrainConfig, m: ModelConfig) -> None:
    """Autocast lowers float32 torch.nn runs (what a device allows: core.engine.precision)."""
    if t.precision in ("auto", "fp32"):
        return
    if t.dtype != "float32":
        raise ConfigError(f"train.precision: {t.precision!r} autocasts float32 runs, and "
                          f"train.dtype is {t.dtype!r}; use 'fp32' or 'auto', or train.dtype = "
                          "'float32'")
    if m.implementation != "optim":
        raise ConfigError(f"train.precision: {t.precision!r} needs autograd through torch.nn "
                          f"layers, and model.implementation {m.implementation!r} writes its "
                          "backward pass by hand; use 'fp32' or 'auto'")


def _validate_data(exp: Experiment) -> None:
    """The data set's own needs: its folder, a crop that fits, image-only preprocessing."""
    d = exp.data
    ds = datasets.get(d.dataset)
    if ds.needs_root and not d.root:
        if ds.side is None:  # any images, resized to data.image_size: a folder of classes
            raise ConfigError("data.root: an image-folder data set needs the folder that holds "
                              "one sub-folder of images per class, got an empty path")
        raise ConfigError(f"data.root: {d.dataset} needs the folder that holds its files, "
                          "got an empty path")
    side = ds.side or d.image_size
    if not exp.is_points and d.crop > side + 2 * d.crop_padding:
        raise ConfigError(f"data.crop: a {d.crop}×{d.crop} crop does not fit in {side}×{side} "
                          f"images padded by {d.crop_padding}")
    image_only = [name for name, on in (("standardize", d.standardize == "zca"), ("crop", d.crop),
                                        ("flip", d.flip), ("flip_test", d.flip_test)) if on]
    if exp.is_points and image_only:  # the path names the field that is set
        raise ConfigError(f"data.{image_only[0]}: ZCA, crops and flips apply to images, "
                          f"not to the 2D set {d.dataset!r}")


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
    from core.nets import models  # torch: only for a CNN with batch norm on batches of one
    table = models.layer_table(m, *datasets.input_shape(exp.data))
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
        raise ConfigError(f"name: must be text, got {show(exp.name)}")
    check_text("name", exp.name)
    files.path_name(files.slug(exp.name, "run"), "name", files.STAMPED)  # its run's folder
    d = exp.data
    if exp.is_points:
        for path, n in (("data.n_train", d.n_train), ("data.n_test", d.n_test)):
            if n == 1:
                raise ConfigError(f"{path}: a 2D data set needs at least 2 points (one of each "
                                  "class), got 1; use 2 or more, or 0 for the default")
    if d.dataset == "shapes10" and d.image_size < 16:  # its shapes are drawn no smaller
        raise ConfigError(f"data.image_size: Shapes-10 images must be at least 16 pixels wide, "
                          f"got {d.image_size}")
    known = datasets.get(d.dataset).known_train
    if known is not None:  # the size of the training set is known before loading
        n = d.n_train or known
        if n - int(round(d.val_fraction * n)) < 1:
            raise ConfigError(f"data.val_fraction: {d.val_fraction} of {n} training examples "
                              "leaves none to train on; lower it or raise data.n_train")
    if exp.train.dtype == "float32":  # a float64 value beyond float32's range overflows in torch
        for s in ("data", "model", "optim", "train"):
            for f in dataclasses.fields(getattr(exp, s)):
                v = getattr(getattr(exp, s), f.name)
                if type(v) is float and abs(v) > FLOAT32_MAX:
                    raise ConfigError(f"{s}.{f.name}: {v:g} does not fit in float32 (at most "
                                      f"{FLOAT32_MAX:.4g}); lower it, or set train.dtype = "
                                      "'float64'")
