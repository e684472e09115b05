"""The data-set registry: the built-in entries, and a data set added from a test with one entry."""

import pytest
import torch

import lab

from app import experiment
from core.experiment import config as cfg
from core.engine import memory
from core.data import loader, registry
from core.data.registry import DataSet, Loaded
from core import ConfigError
from core.engine.train import Trainer

STRIPES = ("horizontal", "vertical", "diagonal", "checks")


def stripes(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return n grey 8×8 uint8 images of four stripe patterns, with a random phase and noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    r = torch.arange(8).view(1, 8, 1).expand(1, 8, 8)
    c = torch.arange(8).view(1, 1, 8).expand(1, 8, 8)
    phase = torch.randint(0, 4, (n, 1, 1), generator=g)
    waves = torch.stack([(r + phase) // 2 % 2, (c + phase) // 2 % 2, (r + c + phase) // 2 % 2,
                         ((r + phase) // 2 + (c + phase) // 2) % 2], 1)  # n×4×8×8
    x = waves[torch.arange(n), y].float() * 150 + 50
    x += 30 * torch.randn(x.shape, generator=g)
    order = torch.randperm(n, generator=g)
    return x.clamp(0, 255).to(torch.uint8)[order].unsqueeze(1), y[order]


def load_stripes(dc, seed, ctx):
    """The loader, as docs/extending.md shows it."""
    n_train, n_test = (dc.n_train or 400), (dc.n_test or 200)
    x, y = stripes(n_train, 2 * seed)
    xt, yt = stripes(n_test, 2 * seed + 1)
    return Loaded(x, y, xt, yt, STRIPES)


@pytest.fixture
def stripes_set():
    ds = registry.register(DataSet("stripes", "Stripes (test)", "images", load_stripes, side=8,
                                   channels=1, classes=4, sizes=(400, 200), known_train=400))
    yield ds
    registry.unregister("stripes")


def test_a_data_set_registered_from_a_test_trains(stripes_set):
    exp = cfg.from_dict({"data": {"dataset": "stripes", "n_train": 0, "n_test": 0,
                                  "val_fraction": 0.1, "standardize": "channel"},
                         "model": {"kind": "mlp", "hidden": [32], "activation": "relu"},
                         "optim": {"lr": 0.1, "momentum": 0.9},
                         "train": {"epochs": 2, "batch_size": 20, "device": "cpu", "seed": 3}})
    assert exp.is_points is False
    assert memory.input_shape(exp) == experiment.input_shape(exp) == ((1, 8, 8), 4)
    assert memory.split_sizes(exp) == (400, 200)
    start = lab.Recorder()
    result = Trainer(exp, [start]).fit()
    assert result.status == "done", result.message
    assert start.info.classes == STRIPES and start.info.input_shape == (1, 8, 8)
    assert (start.info.n_train, start.info.n_val, start.info.n_test) == (360, 40, 200)
    assert result.last.test.accuracy > 60  # chance is 25 %


def test_an_unregistered_data_set_is_refused_by_the_config(stripes_set):
    registry.unregister("stripes")
    assert "stripes" not in registry.names()
    with pytest.raises(ConfigError, match="data.dataset: must be one of"):
        cfg.from_dict({"data": {"dataset": "stripes"}})


def test_the_loader_calls_the_entry_with_a_seeded_context(stripes_set):
    seen = []

    def spy(dc, seed, ctx):
        seen.append((seed, ctx.root))
        x, y = stripes(50, seed)
        # take() shuffles with the context's generator: the same seed, the same order
        return Loaded(*ctx.take(x, y, 40), *ctx.take(x, y, 0), STRIPES)

    registry.register(DataSet("stripes", "Stripes (test)", "images", spy, side=8, channels=1,
                              classes=4))
    dc = cfg.DataConfig(dataset="stripes", root="~/somewhere", val_fraction=0.25)
    a, b = loader.load(dc, seed=7), loader.load(dc, seed=7)
    assert seen[0][0] == 7 and not seen[0][1].startswith("~")
    assert (len(a.train), len(a.val), len(a.test)) == (30, 10, 50)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.val.y, b.val.y)
    assert not torch.equal(a.train.x, loader.load(dc, seed=8).train.x)


def test_the_built_in_entries():
    assert registry.names() == ("circles", "moons", "xor", "spiral", "blobs", "shapes10", "mnist",
                                "fashion-mnist", "cifar10", "folder")
    assert [n for n in registry.names() if registry.is_points(n)] == ["circles", "moons", "xor",
                                                                       "spiral", "blobs"]
    assert not registry.is_points("imagenet")
    assert registry.get("cifar10").label == "CIFAR-10"
    assert [n for n in registry.names() if registry.get(n).needs_root] == [
        "mnist", "fashion-mnist", "cifar10", "folder"]
    assert [n for n in registry.names() if registry.get(n).can_download] == [
        "mnist", "fashion-mnist", "cifar10"]
    for name in registry.names():  # every lazy "module:function" names a real loader
        assert callable(registry.get(name).loader()), name
    with pytest.raises(ConfigError, match="data.dataset: must be one of 'circles'"):
        registry.get("imagenet")


@pytest.mark.parametrize("data,shape", [
    ({"dataset": "circles"}, ((2,), 2)),
    ({"dataset": "mnist"}, ((1, 28, 28), 10)),
    ({"dataset": "fashion-mnist", "image_size": 64}, ((1, 28, 28), 10)),
    ({"dataset": "cifar10", "crop": 28}, ((3, 28, 28), 10)),
    ({"dataset": "shapes10", "image_size": 24}, ((3, 24, 24), 10)),
    ({"dataset": "folder", "image_size": 40, "crop": 32}, ((3, 32, 32), 10)),
])
def test_input_shapes_come_from_the_entries(data, shape):
    assert registry.input_shape(cfg.DataConfig(**data)) == shape


def test_loaded_shapes_match_what_the_registry_promises():
    for dc in (cfg.DataConfig(dataset="moons", n_train=20, n_test=10),
               cfg.DataConfig(dataset="shapes10", n_train=20, n_test=10, image_size=16, crop=12)):
        d = loader.load(dc, seed=0)
        shape, classes = registry.input_shape(dc)
        assert d.input_shape == shape and len(d.classes) == classes
        assert tuple(d.train.x.shape[1:]) == registry.example_shape(dc)


def test_full_sizes_cap_the_memory_estimate_but_generated_sets_do_not():
    big = {"data": {"n_train": 10 ** 6, "n_test": 10 ** 6}}
    mnist = cfg.Experiment(data=cfg.DataConfig(dataset="mnist", root="x", **big["data"]))
    assert memory.split_sizes(mnist) == (60000, 10000)
    shapes = cfg.Experiment(data=cfg.DataConfig(dataset="shapes10", n_train=0, n_test=0))
    assert memory.split_sizes(shapes) == (10000, 2000)
    moons = cfg.Experiment(data=cfg.DataConfig(dataset="moons", **big["data"]))
    assert memory.split_sizes(moons) == (10 ** 6, 10 ** 6)
    folder = cfg.Experiment(data=cfg.DataConfig(dataset="folder", n_train=0, n_test=0))
    assert memory.split_sizes(folder) == (0, 0)


def test_registering_again_replaces_an_entry_in_its_place():
    old = registry.get("moons")
    try:
        registry.register(DataSet("moons", "Half moons", "points", old.load, known_train=200))
        assert registry.names().index("moons") == 1 and registry.get("moons").label == "Half moons"
    finally:
        registry.register(old)
    assert registry.get("moons") == old
    with pytest.raises(ValueError, match="kind"):
        registry.register(DataSet("odd", "Odd", "sounds", old.load))
