import pytest
import torch

from core.experiment import config as cfg
from core.nets import models
from core.experiment import presets
from core import ConfigError


def net_of(name, shape, classes=10):
    return models.build(presets.load(name).model, shape, classes)


def count(net):
    return sum(p.numel() for p in net.parameters())


def test_practical_cnn_has_1191170_parameters_and_the_lab_receptive_fields():
    net = net_of("cifar-cnn", (3, 32, 32))
    assert count(net) == 1_191_170
    rf = {t.name: t.rf for t in net.table}
    assert [rf[k] for k in ("conv1", "pool1", "conv2", "pool2", "conv3", "pool3")] == [5, 6, 14, 16, 32, 36]
    jump = {t.name: t.jump for t in net.table}
    assert [jump[k] for k in ("conv1", "pool1", "conv2", "pool2", "conv3", "pool3")] == [1, 2, 2, 4, 4, 8]
    assert sum(t.params for t in net.table) == 1_191_170
    fc1 = next(t for t in net.table if t.name == "fc1")
    assert (fc1.weights, fc1.biases) == (1024 * 1000, 1000)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_28_pixel_crops_keep_the_same_head_thanks_to_ceil_mode():
    net = net_of("cifar-cnn", (3, 28, 28))
    assert count(net) == 1_191_170
    assert next(t for t in net.table if t.name == "pool3").out_shape == (64, 4, 4)
    assert net(torch.zeros(2, 3, 28, 28)).shape == (2, 10)


def test_table_shapes_match_a_real_forward_pass():
    net = net_of("lenet-mnist", (1, 28, 28))
    x = torch.zeros(1, 1, 28, 28)
    for (name, module), row in zip(net.named_children(), net.table[1:]):
        x = module(x)
        assert tuple(x.shape[1:]) == row.out_shape, name
    assert count(net) == 61_706  # LeNet-5 with padding 2 on 28×28 MNIST


@pytest.mark.parametrize("name, shape, classes, params", [
    ("circles-mlp", (2,), 2, 2 * 10 + 10 + 10 * 2 + 2),
    ("circles-mlp-figure", (2,), 2, 2 * 4 + 4 + 4 * 2 + 2),
    ("mnist-mlp", (1, 28, 28), 10, 784 * 100 + 100 + 100 * 10 + 10),
])
def test_mlp_parameter_counts(name, shape, classes, params):
    assert count(net_of(name, shape, classes)) == params


def test_lab_initialisation_is_normal_03_with_zero_biases():
    torch.manual_seed(0)
    net = models.build(cfg.with_overrides(presets.load("mnist-mlp"), ["model.init_std=0.3"]).model, (784,), 10)
    w = net.hidden1.weight
    assert abs(w.std().item() - 0.3) < 0.01 and abs(w.mean().item()) < 0.01
    assert torch.count_nonzero(net.hidden1.bias) == 0


def test_batch_norm_goes_after_each_conv_before_its_relu_and_dropout_between_fcs():
    exp = cfg.with_overrides(presets.load("cifar-cnn"), ["model.batch_norm=true", "model.dropout=0.5"])
    names = [t.name for t in models.build(exp.model, (3, 32, 32), 10).table]
    assert names.index("conv1") + 1 == names.index("bn1") == names.index("relu1") - 1
    assert names.index("relu_fc1") + 1 == names.index("dropout_fc1") == names.index("output") - 1


def test_impossible_layers_are_rejected_with_the_layer_and_the_reason():
    exp = presets.load("cifar-cnn")
    exp.model.blocks[2].kernel = 11
    exp.model.blocks[2].padding = 0
    with pytest.raises(ConfigError, match=r"model.blocks\[2\] \(conv3\): kernel 11 is larger than its padded input 8×8"):
        models.build(exp.model, (3, 32, 32), 10)
    exp = presets.load("cifar-cnn")
    exp.model.blocks += [cfg.ConvBlock(channels=8, kernel=1, padding=0)] * 3
    with pytest.raises(ConfigError, match=r"conv6\): pooling window 2 is larger than its input 1×1"):
        models.layer_table(exp.model, (3, 32, 32), 10)


def test_layer_table_text_lists_every_layer_and_the_totals():
    table = models.layer_table(presets.load("cifar-cnn").model, (3, 32, 32), 10)
    lines = models.format_table(table).splitlines()
    assert len(lines) == len(table) + 2
    assert lines[-1].split() == ["total", "1190000", "1170"]
    assert lines[[l.split()[0] for l in lines].index("pool3")].split()[-3:] == ["36", "8", "4"]  # centre of pool3 unit 0: between conv3 units at 2 and 6


@pytest.mark.parametrize("name", sorted(models.ACTIVATIONS))
def test_each_activation_s_layer_function_and_derivative_agree(name):
    """The table the network's layers and Part 1's hand-written passes both read: its layer
    computes its function, and its derivative written from the output is autograd's."""
    act = models.ACTIVATIONS[name]
    x = torch.linspace(-3, 3, 61, dtype=torch.float64).requires_grad_()
    h = act.fn(x)
    (grad,) = torch.autograd.grad(h.sum(), x)
    assert torch.equal(act.module()(x), h)
    assert torch.allclose(act.grad(h.detach()), grad, atol=1e-12)
    net = models.build(cfg.with_overrides(presets.load("circles-mlp"),
                                          [f"model.activation={name}"]).model, (2,), 2)
    layers = [m for m in net if isinstance(m, models.ACTIVATION_TYPES)]
    assert layers and all(models.activation_of(m) is act for m in layers)


def test_the_configs_activation_choices_are_the_table_s():
    """core.experiment.config stays torch-free, so it names the choices itself: they must be these."""
    assert set(cfg.choices("model", "activation")) == set(models.ACTIVATIONS)
