import pytest
import torch

from core.data.toy2d import NAMES, make_points


@pytest.mark.parametrize("name", NAMES)
def test_points_are_float32_balanced_and_seeded(name):
    x, y = make_points(name, 200, seed=3)
    assert x.shape == (200, 2) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert y.sum().item() == 100
    x2, y2 = make_points(name, 200, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(make_points(name, 200, seed=4)[0], x)


def test_circles_match_the_lab_radii():
    x, y = make_points("circles", 20000, seed=0)
    r = x.norm(dim=1)
    ring, disc = r[y == 0], r[y == 1]
    assert abs(ring.mean().item() - 1.03) < 0.02 and abs(ring.std().item() - 0.22) < 0.02
    assert abs(disc.mean().item() - 0.39) < 0.02 and abs(disc.std().item() - 0.16) < 0.03


def test_noise_scales_the_spread():
    x0, y0 = make_points("circles", 2000, seed=0, noise=0.0)
    assert torch.allclose(x0[y0 == 0].norm(dim=1), torch.tensor(1.03), atol=1e-5)
    assert make_points("blobs", 2000, 0, noise=2.0)[0].std() > make_points("blobs", 2000, 0, noise=0.5)[0].std()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown 2D data set"):
        make_points("helix", 10, 0)
    with pytest.raises(ValueError, match="at least 2 points"):
        make_points("circles", 1, 0)


def test_every_registered_point_set_has_a_generator():
    from core.data import registry
    assert {n for n in registry.names() if registry.is_points(n)} == set(NAMES)
