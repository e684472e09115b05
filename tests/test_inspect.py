"""The inspection views' computations: filters, feature maps, receptive fields, the 2D
decision grid, the confusion cell, what the network sees and layer health (no Qt)."""

import math

import numpy as np
import pytest
import torch

from core.experiment import config as cfg
from core.nets import inspect, models
from core.experiment import presets
from core.data import loader
from core.nets.receptive import effective_rf, rf_coverage, theoretical_rf


def cnn_exp(*more):
    return cfg.with_overrides(presets.load("shapes-cnn"), [
        "data.n_train=64", "data.n_test=32", "train.epochs=1", "train.device=cpu",
        "train.batch_size=32", *more])


def built(exp, seed=0):
    data = loader.load(exp.data, seed)
    torch.manual_seed(seed)
    return models.build(exp.model, data.input_shape, len(data.classes)), data


def minmax(a):
    a = np.asarray(a, np.float32)
    return (a - a.min()) / (a.max() - a.min())


# ---------------------------------------------------------------- filters
def test_rgb_mosaic_of_32_5x5_kernels_is_a_6x6_grid_with_separators():
    w = torch.randn(32, 3, 5, 5)
    m = inspect.filter_mosaic(w, rgb=True)
    assert m.shape == (6 * 5 + 5, 6 * 5 + 5, 3) and m.dtype == np.float32
    assert 0 <= m.min() and m.max() <= 1
    # kernel 7 is row 1, column 1 of the grid; each is min-max scaled on its own, colours kept
    assert np.allclose(m[6:11, 6:11], minmax(w[7].permute(1, 2, 0).numpy()), atol=1e-6)
    assert (m[5, :] == 1).all() and (m[:, 5] == 1).all()   # separators
    assert (m[30:, 12:] == 1).all()                        # the 4 empty slots of 36
    with pytest.raises(ValueError):
        inspect.filter_mosaic(torch.randn(8, 4, 3, 3), rgb=True)


def test_grey_mosaic_has_a_row_per_output_and_a_column_per_input_channel():
    w = torch.randn(64, 32, 5, 5)
    m = inspect.filter_mosaic(w, rgb=False)
    assert m.shape == (64 * 6 - 1, 32 * 6 - 1)
    assert np.allclose(m[3 * 6:3 * 6 + 5, 10 * 6:10 * 6 + 5], minmax(w[3, 10]), atol=1e-6)
    g = inspect.filter_mosaic(w, rgb=False, scale="all")   # one scale for the whole layer
    assert np.allclose(g[:5, :5], (w[0, 0] - w.min()) / (w.max() - w.min()), atol=1e-6)


def test_mlp_weight_tiles_reshape_each_hidden_unit_to_the_image():
    w = torch.randn(100, 784)
    m = inspect.mlp_weight_tiles(w, (1, 28, 28))
    assert m.shape == (10 * 29 - 1, 10 * 29 - 1)
    assert np.allclose(m[29:57, 58:86], minmax(w[12].view(28, 28)), atol=1e-6)
    assert inspect.mlp_weight_tiles(torch.randn(10, 3 * 32 * 32), (3, 32, 32)).shape == (98, 131, 3)


def test_conv_layers_of_the_practical_cnn():
    net = models.build(presets.load("cifar-cnn").model, (3, 32, 32), 10)
    assert inspect.conv_layers(net) == ["conv1", "conv2", "conv3"]


# ---------------------------------------------------------------- feature maps
def test_feature_maps_match_the_layer_table_and_the_layers():
    net = models.build(presets.load("cifar-cnn").model, (3, 32, 32), 10)
    net.train()
    x = torch.randn(1, 3, 32, 32)
    maps = inspect.feature_maps(net, x)
    shapes = {t.name: t.out_shape for t in net.table}
    assert list(maps) == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3", "pool3"]
    for name, a in maps.items():
        assert a.shape == shapes[name] and a.dtype == np.float32
    with torch.no_grad():
        assert np.allclose(maps["conv1"], net.conv1(x)[0].numpy(), atol=1e-5)
    assert net.training
    mosaic = inspect.map_mosaic(maps["conv2"])    # 64 maps of 16×16 → 8×8 grid
    assert mosaic.shape == (8 * 17 - 1, 8 * 17 - 1) and 0 <= mosaic.min() <= mosaic.max() <= 1


# ---------------------------------------------------------------- receptive fields
def test_theoretical_rf_sizes_of_the_practical_cnn():
    net = models.build(presets.load("cifar-cnn").model, (3, 32, 32), 10)
    for name, side in zip(["conv1", "pool1", "conv2", "pool2", "conv3", "pool3"], [5, 6, 14, 16, 32, 36]):
        t = next(r for r in net.table if r.name == name)
        i = t.out_shape[1] // 2
        top, left, bottom, right = theoretical_rf(net.table, name, i, i, (32, 32), clip=False)
        assert (bottom - top, right - left) == (side, side)
    # conv1's corner unit: pixels −2..2 unclipped, 0..2 inside the image
    assert theoretical_rf(net.table, "conv1", 0, 0, (32, 32), clip=False) == (-2, -2, 3, 3)
    assert theoretical_rf(net.table, "conv1", 0, 0, (32, 32)) == (0, 0, 3, 3)
    assert theoretical_rf(net.table, "pool1", 0, 1, (32, 32)) == (0, 0, 4, 6)
    assert rf_coverage(net.table, "conv1", (32, 32)) == pytest.approx(25 / 1024)
    # pool3's 4×4 units sit 8 pixels apart, centres at 4, 12, 20, 28: none is centred, so even
    # the central one misses 2 rows and columns of the 32×32 image despite its 36-pixel field
    assert rf_coverage(net.table, "pool3", (32, 32)) == pytest.approx(30 * 30 / 1024)
    assert rf_coverage(net.table, "pool3", (32, 32), unit=(0, 0)) == pytest.approx(22 * 22 / 1024)
    with pytest.raises(ValueError):
        theoretical_rf(net.table, "fc1", 0, 0, (32, 32))


@pytest.mark.parametrize("variant", [[], ["model.activation=tanh"]])
def test_effective_rf_lies_inside_the_theoretical_one(variant):
    # the lab's CNN (ReLU, max pool: gradients reach only part of the field), and a tanh /
    # average-pool twin whose gradient fills the field exactly: both must stay inside it
    exp = cfg.with_overrides(presets.load("cifar-cnn"), variant)
    smooth = bool(variant)
    if smooth:
        for b in exp.model.blocks:
            b.pool = "avg"
    torch.manual_seed(0)
    net = models.build(exp.model, (3, 32, 32), 10)
    net.train()
    x = torch.randn(1, 3, 32, 32)
    spatial = [t for t in net.table[1:] if t.rf is not None]
    assert [t.kind for t in spatial] == ["conv", "activation", "pool"] * 3
    for t in spatial:
        name = t.name
        h = t.out_shape[1]
        reached = 0
        for i, j in [(0, 0), (0, h - 1), (h - 1, h - 1), (h // 2, h // 2), (1, h // 2)]:
            g = effective_rf(net, x, name, 3, i, j)
            assert g.shape == (32, 32) and g.dtype == np.float32
            top, left, bottom, right = theoretical_rf(net.table, name, i, j, (32, 32))
            inside = np.zeros((32, 32), bool)
            inside[top:bottom, left:right] = True
            assert not (g != 0)[~inside].any(), (name, i, j)
            if smooth:  # every pixel of the field matters
                assert (g != 0)[inside].all(), (name, i, j)
            reached += int((g != 0).any())
        assert reached > 0, name
    assert net.training and all(p.grad is None for p in net.parameters())


# ---------------------------------------------------------------- decision grid
def circles(*more):
    exp = cfg.with_overrides(presets.load("circles-mlp"), ["train.device=cpu", *more])
    return built(exp)


def test_decision_grid_is_the_networks_softmax_on_standardised_points():
    net, data = circles("data.standardize=channel", "data.noise=2")
    g = inspect.decision_grid(net, data, steps=40, bounds=(-2, 2, -2, 2))
    assert g.probs.shape == (40, 40, 2) and g.probs.dtype == np.float32
    assert np.allclose(g.probs.sum(2), 1, atol=1e-5)
    assert np.allclose(g.xs, np.linspace(-2, 2, 40)) and np.allclose(g.ys, np.linspace(-2, 2, 40))
    r, c = 5, 31  # row ↔ y, column ↔ x
    pt = torch.tensor([[g.xs[c], g.ys[r]]])
    with torch.no_grad():
        direct = torch.softmax(net((pt - data.mean) / data.std), 1)[0].numpy()
    assert np.allclose(g.probs[r, c], direct, atol=1e-5)
    # default bounds: the data's range, widened by the margin
    d = inspect.decision_grid(net, data, steps=20, margin=0.1)
    pts = torch.cat([data.train.x, data.test.x])
    lo, hi = pts.amin(0).numpy(), pts.amax(0).numpy()
    assert d.xs[0] == pytest.approx(lo[0] - 0.1 * (hi[0] - lo[0]), abs=1e-5)
    assert d.ys[-1] == pytest.approx(hi[1] + 0.1 * (hi[1] - lo[1]), abs=1e-5)
    assert d.probs.shape == (20, 20, 2)


def test_hidden_maps_give_each_hidden_neuron_over_the_grid():
    net, data = circles()
    g = inspect.decision_grid(net, data, steps=12, bounds=(-2, 2, -1, 1))
    h = inspect.hidden_maps(net, g)
    assert h.shape == (10, 12, 12) and h.dtype == np.float32
    r, c, k = 3, 8, 6
    with torch.no_grad():
        direct = torch.tanh(net.hidden1(torch.tensor([[g.xs[c], g.ys[r]]])))[0, k]
    assert h[k, r, c] == pytest.approx(float(direct), abs=1e-6)


@pytest.mark.parametrize("training", [False, True])
def test_train_mode_grid_keeps_batch_norm_statistics_and_mode(training):
    net, data = circles("model.batch_norm=true", "model.dropout=0.5")
    net.train(training)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    torch.manual_seed(1)
    train_grid = inspect.decision_grid(net, data, steps=10, train_mode=True)
    eval_grid = inspect.decision_grid(net, data, steps=10)
    inspect.hidden_maps(net, train_grid, train_mode=True)
    assert net.training == training
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not np.allclose(train_grid.probs, eval_grid.probs)  # dropout / batch statistics did act
    assert np.allclose(train_grid.probs.sum(2), 1, atol=1e-5)


# ---------------------------------------------------------------- confusion
@pytest.fixture(scope="module")
def small_cnn():
    exp = cfg.with_overrides(cnn_exp(), ["model.fc=[32]"])
    return built(exp, seed=3)


def test_confusion_matrix_equals_a_direct_count(small_cnn):
    net, data = small_cnn
    cm = inspect.confusion_matrix(net, data, data.test)
    assert cm.sum() == len(data.test)
    direct = np.zeros((10, 10), np.int64)
    net.eval()
    with torch.no_grad():
        for k in range(len(data.test)):
            p = int(net(data.prepare(data.test.x[k:k + 1], train=False)).argmax())
            direct[int(data.test.y[k]), p] += 1
    assert (cm == direct).all()


def test_misclassified_returns_only_the_cell(small_cnn):
    net, data = small_cnn
    cm = inspect.confusion_matrix(net, data, data.test)
    off = cm - np.diag(np.diag(cm))
    t, p = np.unravel_index(off.argmax(), off.shape)
    assert off[t, p] > 1
    idx, images, probs = inspect.misclassified(net, data, data.test, int(t), int(p))
    assert len(idx) == cm[t, p]
    assert (data.test.y[idx].numpy() == t).all() and (probs.argmax(1) == p).all()
    assert images.shape == (len(idx), 32, 32, 3) and images.dtype == np.uint8
    assert (images == data.test.x[idx].permute(0, 2, 3, 1).numpy()).all()
    assert np.allclose(probs.sum(1), 1, atol=1e-5)
    assert len(inspect.misclassified(net, data, data.test, int(t), int(p), limit=1)[0]) == 1


# ---------------------------------------------------------------- what the network sees
def test_seen_batch_shows_the_augmented_crops_in_0_1():
    data = loader.load(cnn_exp("data.crop=28", "data.flip=true").data, 0)
    raw, shown = inspect.seen_batch(data, n=16, seed=0)
    assert raw.shape == (16, 32, 32, 3) and raw.dtype == np.uint8
    assert shown.shape == (16, 28, 28, 3) and shown.dtype == np.float32
    assert 0 <= shown.min() and shown.max() <= 1
    # without augmentation, de-standardising gives back the image: the same examples, in order
    plain = loader.load(cnn_exp().data, 0)
    raw, shown = inspect.seen_batch(plain, n=8, seed=2)
    assert np.allclose(shown, raw / 255, atol=1e-5)
    assert not np.allclose(shown, raw / 255 - 0.5, atol=1e-2)  # images are not constant


# ---------------------------------------------------------------- layer health
def test_layer_health_dead_relus_and_gradients():
    torch.manual_seed(0)
    net = models.build(cnn_exp("model.fc=[16]").model, (3, 32, 32), 10)
    health = inspect.LayerHealth(net)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    net(x)
    assert math.isnan(health.snapshot()["conv1"].dead)  # not recording: nothing kept
    health.recording = True
    with torch.no_grad():
        net.conv1.bias.fill_(-100.0)
    net(x)
    s = health.snapshot()
    assert s["conv1"].dead == 1.0 and s["conv1"].act_mean == 0.0
    with torch.no_grad():
        net.conv1.bias.zero_()  # about half the outputs are 0, but few for all 8 examples
    net(x)
    assert 0.0 < 1 - health.snapshot()["conv1"].dead and health.snapshot()["conv1"].dead < 0.2
    with torch.no_grad():
        net.conv1.bias.fill_(100.0)
    torch.nn.functional.cross_entropy(net(x), y).backward()
    s = health.snapshot()
    assert s["conv1"].dead == 0.0 and s["conv1"].act_mean > 50 and s["conv1"].act_std > 0
    assert set(s) == {"conv1", "conv2", "conv3", "fc1", "output"}
    assert all(v.grad_norm > 0 for v in s.values())
    assert all(isinstance(v.act_mean, float) for v in s.values())
    health.detach()
    assert all(not m._forward_hooks for m in net.modules())


def test_layer_health_statistics_match_a_direct_count():
    """One-pass statistics (Σx² for the std, min/max over the batch for dead units) agree with
    torch's own std and a direct count of units at 0 for every example."""
    torch.manual_seed(1)
    net = models.build(cnn_exp("model.fc=[16]").model, (3, 32, 32), 10)
    with torch.no_grad():
        net.conv1.bias[:5].fill_(-100.0)  # 5 of 32 channels dead for every example
    seen = {}
    net.relu1.register_forward_hook(lambda m, i, o: seen.setdefault("out", o.detach()))
    health = inspect.LayerHealth(net)
    health.record_once()
    net(torch.randn(16, 3, 32, 32) + 0.5)
    o, s = seen["out"], health.snapshot()["conv1"]
    assert s.act_mean == pytest.approx(float(o.mean()), rel=1e-5)
    assert s.act_std == pytest.approx(float(o.std()), rel=1e-4)
    assert s.dead == pytest.approx(float((o == 0).all(0).float().mean()))
    assert s.dead >= 5 / 32
    assert health.spent > 0  # what the sample cost, for the caller's pacing


def test_layer_health_record_once_keeps_one_training_forward_then_unhooks():
    torch.manual_seed(0)
    net = models.build(cnn_exp("model.fc=[16]").model, (3, 32, 32), 10)
    health = inspect.LayerHealth(net)
    assert not any(m._forward_hooks for m in net.modules())  # no hooks until asked
    health.record_once()
    x = torch.randn(8, 3, 32, 32)
    net.eval()
    with torch.no_grad():
        net(x)  # an evaluation pass does not count
    assert health.recording and math.isnan(health.snapshot()["conv1"].act_mean)
    net.train()
    with torch.no_grad():
        net.conv1.bias.fill_(-100.0)
        net(x)
    assert health.snapshot()["conv1"].dead == 1.0
    assert not health.recording and not any(m._forward_hooks for m in net.modules())
    with torch.no_grad():
        net.conv1.bias.zero_()
        net(x)  # not recorded: the sample stays the one taken
    assert health.snapshot()["conv1"].dead == 1.0
