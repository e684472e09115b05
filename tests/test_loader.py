import pytest
import torch

from core.experiment.config import DataConfig
from core.data import loader
from core.data.loader import Data, Split
from core import DataError


def images(n, seed, lo=0, hi=256, side=8, channels=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(lo, hi, (n, channels, side, side), generator=g, dtype=torch.uint8)


def make(dc, train_x, test_x=None):
    y = torch.arange(len(train_x)) % 10
    test_x = train_x if test_x is None else test_x
    empty = Split(train_x[:0], y[:0])
    return Data(dc, Split(train_x, y), empty, Split(test_x, torch.arange(len(test_x)) % 10),
                tuple(str(i) for i in range(10)))


def test_standardisation_statistics_come_from_the_training_split_only():
    train = images(500, 0, 0, 128)          # dark training images
    test = images(500, 1, 128, 256)         # bright test images
    data = make(DataConfig(dataset="shapes10", standardize="channel"), train, test)
    expect = (train.double() / 255).mean((0, 2, 3))
    assert torch.allclose(data.mean.double(), expect, atol=1e-6)
    xb = data.prepare(train, train=False)
    assert torch.allclose(xb.mean((0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(xb.std((0, 2, 3)), torch.ones(3), atol=1e-2)
    tb = data.prepare(test, train=False)  # standardised with the train statistics: far from 0
    assert (tb.mean((0, 2, 3)) > 2).all()


def test_without_standardisation_images_are_scaled_to_unit_range():
    x = images(20, 0)
    xb = make(DataConfig(dataset="shapes10"), x).prepare(x, train=False)
    assert torch.allclose(xb, x.float() / 255)


def test_zca_whitens_the_training_split():
    x = images(2000, 0, side=4, channels=1)
    x[:, :, :, 1] = x[:, :, :, 0] // 2 + x[:, :, :, 1] // 2  # correlated pixels ZCA must decorrelate
    data = make(DataConfig(dataset="shapes10", standardize="zca"), x)
    v = data.prepare(x, train=False).flatten(1).double()
    cov = v.T @ v / len(v)
    off_diagonal = cov - torch.diag(torch.diag(cov))
    assert off_diagonal.abs().max() < 0.05


def test_zca_whitening_comes_from_the_training_split_only():
    x = images(600, 0, side=4, channels=1)
    x[:, :, :, 1] = x[:, :, :, 0] // 2 + x[:, :, :, 1] // 2
    other = images(600, 1, 100, 160, side=4, channels=1)  # a test split unlike the training one
    dc = DataConfig(dataset="shapes10", standardize="zca")
    data = make(dc, x, other)
    assert torch.allclose(data.zca, make(dc, x).zca)
    assert not torch.allclose(data.zca, make(dc, other).zca, atol=1e-2)
    v = data.prepare(other, train=False).flatten(1).double()  # whitened with the training matrix
    assert (v.T @ v / len(v) - torch.eye(16, dtype=torch.float64)).abs().max() > 0.5


@pytest.mark.parametrize("standardize", ["none", "channel"])
def test_unstandardise_gives_back_the_source_pixels(standardize):
    # the views show prepared batches through unstandardise: it must undo the fused scale and shift
    x = images(64, 0, 0, 128)
    x[:, 1] += 100  # channels with different means, so a swapped mean or std shows
    data = make(DataConfig(dataset="shapes10", standardize=standardize), x)
    shown = data.unstandardise(data.prepare(x, train=False))
    assert torch.allclose(shown, x.float() / 255, atol=1e-5)


def test_augmentation_changes_pixels_but_never_labels():
    x = images(256, 0, side=32)
    data = make(DataConfig(dataset="shapes10", crop=28, flip=True), x)
    g = torch.Generator().manual_seed(0)
    seen_x, seen_y = [], []
    for xb, yb in data.batches(data.train, 64, train=True, g=g):
        assert xb.shape[1:] == (3, 28, 28)
        seen_x.append(xb)
        seen_y.append(yb)
    order_y = torch.cat(seen_y)
    assert sorted(order_y.tolist()) == sorted(data.train.y.tolist())
    # each augmented image is a 28×28 window of its own source image, maybe mirrored
    xb, yb = data.prepare(x[:64], train=True, g=g), data.train.y[:64]
    src = x[:64].float() / 255
    for i in range(64):
        windows = src[i].unfold(1, 28, 1).unfold(2, 28, 1)  # 3×5×5×28×28
        hit = ((windows - xb[i][:, None, None]).abs().amax((0, 3, 4)) < 1e-6).any()
        hit_flip = ((windows - xb[i].flip(2)[:, None, None]).abs().amax((0, 3, 4)) < 1e-6).any()
        assert hit or hit_flip
    centre = data.prepare(x[:64], train=False)
    assert torch.allclose(centre, src[:, :, 2:30, 2:30])
    assert not torch.equal(xb, centre)


def test_flip_mirrors_about_half_the_batch():
    x = images(1000, 0, side=8)
    data = make(DataConfig(dataset="shapes10", flip=True), x)
    xb = data.prepare(x, train=True, g=torch.Generator().manual_seed(1))
    src = x.float() / 255
    flipped = ((xb - src.flip(3)).abs() < 1e-6).flatten(1).all(1)
    same = ((xb - src).abs() < 1e-6).flatten(1).all(1)
    assert bool((flipped | same).all()) and 400 < int(flipped.sum()) < 600


def test_padding_then_crop_keeps_the_size_and_pads_with_the_training_mean():
    x = torch.full((64, 3, 8, 8), 200, dtype=torch.uint8)
    x[:32] = 100
    data = make(DataConfig(dataset="shapes10", standardize="channel", crop=8, crop_padding=4), x)
    xb = data.prepare(x, train=True, g=torch.Generator().manual_seed(0))
    assert xb.shape == (64, 3, 8, 8)
    assert (xb == 0).any()  # padding is 0 after standardising: the mean colour
    assert torch.equal(data.prepare(x, train=False), data._standardise(x))  # eval: no crop


def test_points_splits_and_n_sweep_keeps_the_test_points():
    a = loader.load(DataConfig(dataset="circles", n_train=100, n_test=50, val_fraction=0.2), seed=0)
    assert (len(a.train), len(a.val), len(a.test)) == (80, 20, 50)
    assert a.train.x.dtype == torch.float32 and a.input_shape == (2,)
    b = loader.load(DataConfig(dataset="circles", n_train=300, n_test=50), seed=0)
    assert torch.equal(a.test.x, b.test.x)
    c = loader.load(DataConfig(dataset="circles", n_train=100, n_test=50), seed=1)
    assert not torch.equal(a.test.x, c.test.x)


def test_shapes_splits_are_uint8_images_on_the_device():
    d = loader.load(DataConfig(dataset="shapes10", n_train=200, n_test=100, crop=28), seed=0)
    assert d.train.x.dtype == torch.uint8 and d.train.x.shape == (200, 3, 32, 32)
    assert d.input_shape == (3, 28, 28) and len(d.classes) == 10
    assert d.train.x.device.type == "cpu"


def test_impossible_splits_are_refused_with_a_sentence(tmp_path):
    with pytest.raises(DataError, match="does not fit"):
        loader.load(DataConfig(dataset="shapes10", n_train=20, n_test=10, crop=40), seed=0)
    with pytest.raises(DataError, match="missing|not exist|does not"):
        loader.load(DataConfig(dataset="folder", root=str(tmp_path / "nowhere")), seed=0)


def test_standardising_float_points_leaves_the_stored_split_unchanged():
    # float32 points are already in the network's dtype: a cast that made no copy scaled the
    # stored test split in place, so every evaluation standardised it once more
    a = loader.load(DataConfig(dataset="circles", n_train=100, n_test=50, standardize="channel"), seed=0)
    before = a.test.x.clone()
    first = a.prepare(a.test.x[:20], train=False)
    second = a.prepare(a.test.x[:20], train=False)
    assert torch.equal(a.test.x, before) and torch.equal(first, second)
