"""The modern recipe's new settings: the warm-up + cosine schedule's η epoch by epoch, and the
test-time flip's averaged outputs, checked against a computation written out here."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import lab
from core.data import loader
from core.engine.train import Trainer
from core.experiment import config as cfg
from core.store.writers import recorded


def test_warm_up_then_cosine_sets_each_epochs_learning_rate():
    rec = lab.Recorder()
    exp = cfg.with_overrides(lab.circles(6), ['optim.scheduler="warmup-cosine"', "optim.warmup=2",
                                              "optim.lr=0.3"])
    Trainer(exp, [rec]).fit()
    cosine = [0.5 * (1 + math.cos(math.pi * k / 4)) for k in range(4)]
    assert [r.lr for r in rec.epochs] == pytest.approx([0.3 * f for f in [1 / 3, 2 / 3] + cosine])


def test_the_test_time_flip_averages_each_images_outputs_with_its_mirrors(tmp_path):
    rec = lab.Recorder()
    exp = cfg.with_overrides(lab.tiny_shapes(2), ["data.flip_test=true"])
    folder = recorded(Trainer(exp, [rec]), tmp_path).fit().run_folder
    from core.store import reader, restore
    model = restore.restore(reader.open_run(folder), device="cpu").model.eval()
    data = loader.load(exp.data, exp.train.seed, "cpu")
    right, loss, n = 0, 0.0, 0
    with torch.no_grad():
        for x, y in data.batches(data.test, 128, train=False):
            plain = model(x)
            out = (plain + model(x.flip(3))) / 2
            loss += F.cross_entropy(out, y, reduction="sum").item()
            right += (out.argmax(1) == y).sum().item()
            n += len(y)
    test = rec.epochs[-1].test
    # (the weights read back from weights.pt and the trainer's own differ in the sixth digit)
    assert test.loss == pytest.approx(loss / n, abs=2e-4)
    assert test.accuracy == pytest.approx(100 * right / n, abs=100 / n)
    assert not torch.allclose(plain, out)  # the mirror changed the outputs: a real average
    plain_rec = lab.Recorder()
    Trainer(cfg.with_overrides(exp, ["data.flip_test=false"]), [plain_rec]).fit()
    assert abs(plain_rec.epochs[-1].test.loss - test.loss) > 10 * 2e-4  # and not the plain one
