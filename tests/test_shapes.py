"""Shapes-10: shapes and dtypes, determinism, balance, and that the drawings mean what the labels say."""

import math

import pytest
import torch
import torch.nn.functional as F

from core.data import shapes
from core.data.shapes import CLASSES, make_shapes

LEFT, RIGHT = CLASSES.index("arrow-left"), CLASSES.index("arrow-right")


def _foreground(images: torch.Tensor) -> torch.Tensor:
    """Float masks (n x S x S): Otsu-threshold each image's brightness, and call the side that owns most of the border the background."""
    lum = images.float().mean(1)
    n = lum.shape[0]
    flat = lum.round().long().view(n, -1)
    hist = torch.zeros(n, 256).scatter_add_(1, flat, torch.ones(flat.shape))
    p = hist / hist.sum(1, keepdim=True)
    w0, mu = p.cumsum(1), (p * torch.arange(256.0)).cumsum(1)
    between = (mu[:, -1:] * w0 - mu) ** 2 / (w0 * (1 - w0)).clamp(min=1e-9)
    above = lum > between.argmax(1).view(n, 1, 1)
    border = torch.cat([above[:, 0], above[:, -1], above[:, :, 0], above[:, :, -1]], 1).float().mean(1)
    return torch.where((border > 0.5).view(n, 1, 1), ~above, above).float()


def _skew_x(m: torch.Tensor) -> torch.Tensor:
    """Horizontal skewness of each mask: an arrow's long shaft trails away from its heavy head."""
    c = torch.arange(m.shape[-1], dtype=torch.float32)
    mx = m.sum(1)
    tot = mx.sum(1).clamp(min=1)
    d = c - ((mx * c).sum(1) / tot).unsqueeze(1)
    var = (mx * d ** 2).sum(1) / tot
    return (mx * d ** 3).sum(1) / tot / var.clamp(min=1e-6) ** 1.5


def _layout(m: torch.Tensor) -> torch.Tensor:
    """Rotation- and scale-free layout: angular spectrum of the mask on rings around its centroid, plus x-skew."""
    n, s, _ = m.shape
    c = (torch.arange(s) + 0.5) * 2 / s - 1
    tot = m.sum((1, 2)).clamp(min=1)
    cx, cy = (m.sum(1) * c).sum(1) / tot, (m.sum(2) * c).sum(1) / tot
    r2 = (c.view(1, 1, s) - cx.view(n, 1, 1)) ** 2 + (c.view(1, s, 1) - cy.view(n, 1, 1)) ** 2
    rg = ((m * r2).sum((1, 2)) / tot).sqrt()
    rho = torch.tensor([0.25, 0.5, 0.75, 1.0, 1.25, 1.5]).view(1, -1, 1) * rg.view(n, 1, 1)
    theta = torch.arange(32) * (2 * math.pi / 32)
    grid = torch.stack([cx.view(n, 1, 1) + rho * theta.cos(), cy.view(n, 1, 1) + rho * theta.sin()], -1)
    polar = F.grid_sample(m.unsqueeze(1), grid, align_corners=False).squeeze(1)
    spectrum = torch.fft.rfft(polar, dim=-1).abs()[..., :7] / 32
    return torch.cat([spectrum.flatten(1), _skew_x(m).unsqueeze(1)], 1)


@pytest.fixture(scope="module")
def sets():
    """Two independent 1,000-image sets (100 per class) with their foreground masks."""
    out = []
    for seed in (1, 2):
        x, y = make_shapes(1000, seed)
        out.append((x, y, _foreground(x)))
    return out


def test_classes_are_the_documented_ten():
    assert CLASSES == ("circle", "ring", "square", "diamond", "triangle",
                       "cross", "star", "stripes", "arrow-left", "arrow-right")


@pytest.mark.parametrize("size", [16, 20, 32, 48])
def test_shape_and_dtype(size):
    x, y = make_shapes(37, seed=0, size=size)
    assert x.shape == (37, 3, size, size) and x.dtype == torch.uint8
    assert y.shape == (37,) and y.dtype == torch.int64
    assert int(y.min()) >= 0 and int(y.max()) < 10


def test_same_seed_same_data_other_seed_other_data():
    a, la = make_shapes(50, seed=7)
    b, lb = make_shapes(50, seed=7)
    c, _ = make_shapes(50, seed=8)
    assert torch.equal(a, b) and torch.equal(la, lb)
    assert not torch.equal(a, c)


def test_global_rng_is_left_alone():
    state = torch.get_rng_state()
    make_shapes(20, seed=3)
    assert torch.equal(state, torch.get_rng_state())


def test_classes_balanced_and_order_shuffled():
    _, y = make_shapes(103, seed=5)
    assert torch.bincount(y, minlength=10).tolist() == [11, 11, 11] + [10] * 7
    assert not torch.equal(y, torch.sort(y).values)


@pytest.mark.parametrize("kwargs, word", [({"n": 0, "seed": 0}, "n = 0"),
                                          ({"n": -3, "seed": 0}, "n = -3"),
                                          ({"n": 10, "seed": 0, "size": 15}, "size = 15")])
def test_bad_arguments_raise_value_error(kwargs, word):
    with pytest.raises(ValueError, match=word):
        make_shapes(**kwargs)


def test_images_vary_and_are_not_constant(sets):
    x, _, _ = sets[0]
    flat = x.float().flatten(1)
    assert flat.std(1).min() > 8  # every image has a visible shape on it
    assert len(torch.unique(x.flatten(1), dim=0)) == len(x)


def test_shape_is_visible_but_does_not_fill_the_image(sets):
    _, _, m = sets[0]
    area = m.mean((1, 2))
    assert ((area > 0.03) & (area < 0.75)).float().mean() > 0.97


def test_arrow_right_is_arrow_left_mirrored_pixel_for_pixel():
    # Same generator state, so both calls draw the same arrow-left before arrow-right mirrors it.
    left = shapes._draw_chunk(LEFT, 8, 32, torch.Generator().manual_seed(11))
    right = shapes._draw_chunk(RIGHT, 8, 32, torch.Generator().manual_seed(11))
    assert torch.equal(right, left.flip(-1))


def test_horizontal_flip_turns_arrow_left_into_arrow_right(sets):
    _, y, m = sets[0]
    left, right = _skew_x(m[y == LEFT]), _skew_x(m[y == RIGHT])
    assert (left > 0).float().mean() > 0.9 and (right < 0).float().mean() > 0.9
    flipped = _skew_x(m[y == LEFT].flip(-1))
    nearer_right = (flipped - right.mean()).abs() < (flipped - left.mean()).abs()
    assert nearer_right.float().mean() > 0.9


def test_every_class_has_its_own_layout(sets):
    # Nearest class mean, fitted on one seed and scored on another: two classes drawn alike would split their votes.
    (_, ya, ma), (_, yb, mb) = sets
    fa, fb = _layout(ma), _layout(mb)
    means = torch.stack([fa[ya == k].mean(0) for k in range(10)])
    scale = fa.std(0).clamp(min=1e-3)
    pred = torch.cdist(fb / scale, means / scale).argmin(1)
    recall = {CLASSES[k]: round((pred[yb == k] == k).float().mean().item(), 2) for k in range(10)}
    assert min(recall.values()) > 0.7, recall
