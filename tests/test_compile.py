"""train.compile: auto leaves the network eager (measured slower compiled on a CPU), on compiles
it in place — the run's first line says so, and its weights keep their names."""

from __future__ import annotations

import torch

import lab
from core.engine.train import Trainer
from core.experiment import config as cfg
from core.nets import models
from core.store.writers import recorded


def test_auto_leaves_the_network_eager_and_says_so():
    rec = lab.Recorder()
    Trainer(lab.circles(1), [rec]).fit()
    assert rec.info.precision == "fp32, contiguous, eager"


def test_on_compiles_the_network_and_its_weights_read_back_uncompiled(tmp_path):
    rec = lab.Recorder()
    exp = cfg.with_overrides(lab.circles(2), ['train.compile="on"'])
    trainer = recorded(Trainer(exp, [rec]), tmp_path)
    result = trainer.fit()
    assert result.status == "done", result.message
    assert rec.info.precision == "fp32, contiguous, compiled"
    assert trainer.model._compiled_call_impl is not None  # nn.Module.compile's own mark
    state = torch.load(f"{result.run_folder}/weights.pt", weights_only=True)
    eager = models.build(exp.model, (2,), 2)
    eager.load_state_dict(state)  # the names of an uncompiled network: no _orig_mod prefix


def test_on_with_part_1s_hand_written_step_is_said_and_not_compiled():
    rec = lab.Recorder()
    exp = cfg.with_overrides(lab.circles(1), ['train.compile="on"',
                                              'model.implementation="manual"'])
    Trainer(exp, [rec]).fit()
    assert rec.info.precision.endswith("not compiled: Part 1's hand-written steps bypass the "
                                       "torch.nn layers")
