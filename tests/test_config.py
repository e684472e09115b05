import dataclasses

import pytest

from core.experiment import config as cfg
from core.experiment import presets
from core import ConfigError


@pytest.mark.parametrize("name", presets.names())
def test_every_preset_round_trips_through_toml_exactly(name):
    exp = presets.load(name)
    text = cfg.dumps(exp)
    again = cfg.loads(text)
    assert again == exp
    assert cfg.dumps(again) == text


def test_round_trip_keeps_awkward_values(tmp_path):
    exp = presets.load("cifar-cnn")
    exp.name = 'quote " and \\ slash'
    exp.optim.lr = 0.1 + 0.2  # a float whose shortest repr has many digits
    exp.model.blocks[1].pool = "avg"
    path = tmp_path / "exp.toml"
    cfg.save(exp, path)
    assert cfg.load(path) == exp


def test_missing_fields_take_the_defaults():
    exp = cfg.loads('[optim]\nlr = 0.5\n')
    assert exp.optim.lr == 0.5
    assert exp.train == cfg.TrainConfig()


@pytest.mark.parametrize("text, message", [
    ("[optim]\nlr = -0.1", "optim.lr: must be > 0.0, got -0.1"),
    ("[optim]\nlr = 0", "optim.lr: must be > 0.0, got 0.0"),
    ("[optim]\nlrr = 0.1", "optim.lrr: unknown setting"),
    ("[optimizer]\nlr = 0.1", "optimizer: unknown section"),
    ("[data]\ndataset = 'imagenet'", "data.dataset: must be one of"),
    ("[data]\nval_fraction = 0.95", "data.val_fraction: must be <= 0.9, got 0.95"),
    ("[train]\nbatch_size = 0", "train.batch_size: must be >= 1, got 0"),
    ("[train]\nbatch_size = 2.5", "train.batch_size: must be a whole number, got 2.5"),
    ("[train]\nepochs = 'ten'", "train.epochs: must be a whole number, got 'ten'"),
    ("[model]\nhidden = [10, 0]", "model.hidden[1]: must be >= 1, got 0"),
    ("[model]\nbatch_norm = 1", "model.batch_norm: must be true or false, got 1"),
    ("[model]\nkind = 'cnn'\n[data]\ndataset = 'shapes10'", "model.blocks: a CNN needs at least one"),
    ("[model]\nkind = 'cnn'\n[[model.blocks]]\nchannels = 8", "model.kind: 'cnn' needs an image data set"),
    ("[data]\ndataset = 'shapes10'\n[[model.blocks]]\nkernel = 0", "model.blocks[0].kernel: must be >= 1, got 0"),
    ("[data]\ndataset = 'shapes10'\n[[model.blocks]]\nsize = 3", "model.blocks[0].size: unknown setting"),
    ("[optim]\nnesterov = true", "optim.nesterov: needs optim.momentum > 0"),
    ("[data]\ndataset = 'cifar10'", "data.root: cifar10 needs the folder"),
    ("[data]\nflip = true", "ZCA, crops and flips apply to images"),
    ("[optim]\nlr = nan", "optim.lr: must be"),
    ("name = 3", "name: must be text, got 3"),
    ("[optim\nlr = 1", "config: not valid TOML"),
])
def test_bad_values_are_rejected_with_field_value_and_rule(text, message):
    with pytest.raises(ConfigError) as e:
        cfg.loads(text)
    assert message in str(e.value)


def test_overrides_are_typed_by_toml_and_validated():
    exp = cfg.with_overrides(presets.load("circles-mlp"), [
        "optim.lr=0.5", "model.hidden=[8, 8]", "data.dataset=moons", "model.batch_norm=true"])
    assert exp.optim.lr == 0.5 and exp.model.hidden == [8, 8]
    assert exp.data.dataset == "moons" and exp.model.batch_norm is True
    with pytest.raises(ConfigError, match="optim.lr: must be > 0.0, got -1"):
        cfg.with_overrides(exp, ["optim.lr=-1"])
    with pytest.raises(ConfigError, match="expected section.field=value"):
        cfg.with_overrides(exp, ["lr=0.1"])


def test_validate_catches_fields_edited_in_place():
    exp = presets.load("circles-mlp")
    exp.optim.momentum = 2.0
    with pytest.raises(ConfigError, match="optim.momentum: must be <= 0.999, got 2.0"):
        cfg.validate(exp)


def test_every_field_has_help_text_for_its_tooltip():
    for section, cls in list(cfg.SECTIONS.items()) + [("block", cfg.ConvBlock)]:
        for f in dataclasses.fields(cls):
            assert len(cfg.field_help(section, f.name)) > 15, (section, f.name)
