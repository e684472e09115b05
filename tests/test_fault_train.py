"""Training that cannot go as configured ends in a sentence: batch norm on a batch of one,
running out of memory; and a long preparation step (ZCA) says what it computes.

Without the handling these guard, the batch-norm runs end in "Training failed unexpectedly:
ValueError: Expected more than 1 value per channel", the huge MLP in "RuntimeError: [enforce
fail at alloc_cpu.cpp:127]" (exit 1), and ZCA says nothing while it runs.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest_qt import *  # noqa: F401,F403  (window; no dangling QThread, temp settings)
from core.experiment import config as cfg
from core.engine import memory
from core.experiment import presets
from core.engine import train as train_mod
from core.cli.main import Progress
import lab
from core.engine.train import Observer, Trainer

ROOT = Path(__file__).resolve().parents[1]


def _circles(*overrides: str) -> cfg.Experiment:
    return cfg.with_overrides(presets.load("circles-mlp"),
                              ["train.epochs=1", "train.device=cpu", *overrides])


# ---------------------------------------------------------------- batch norm, batch of one
def test_batch_norm_with_a_last_batch_of_one_trains():
    exp = _circles("model.batch_norm=true", "data.n_train=21")  # 21 = 2 × 10 + 1
    rec = lab.Recorder()
    result = Trainer(exp, [rec]).fit()
    assert result.status == "done", result.message
    assert rec.info.n_train == 21 and rec.info.steps_per_epoch == 2  # the batch of one is left out
    assert "last batch of one" in cfg.field_help("model", "batch_norm")


def test_loader_drops_only_a_last_batch_of_one():
    from core.data import loader
    data = loader.load(exp := _circles("data.n_train=21").data, 0)
    assert exp.dataset == "circles"
    sizes = [len(y) for _, y in data.batches(data.train, 10, True, torch.Generator().manual_seed(0),
                                              drop_last=True)]
    assert sizes == [10, 10]
    sizes = [len(y) for _, y in data.batches(data.train, 10, True, torch.Generator().manual_seed(0))]
    assert sizes == [10, 10, 1]


def _cnn_1x1(batch_size: int) -> dict:
    # 16 → conv, pool → 8 → conv, pool → 4 → 4×4 kernel, no padding → a 1×1 map before bn3
    blocks = [dict(channels=4, kernel=3, padding=1, pool="max"),
              dict(channels=4, kernel=3, padding=1, pool="max"),
              dict(channels=4, kernel=4, padding=0, pool="none")]
    return {"data": {"dataset": "shapes10", "image_size": 16, "n_train": 21, "n_test": 10},
            "model": {"kind": "cnn", "blocks": blocks, "batch_norm": True},
            "train": {"batch_size": batch_size, "epochs": 1, "device": "cpu"}}


def test_batch_norm_on_a_1x1_map_with_batches_of_one_is_refused_by_name():
    with pytest.raises(cfg.ConfigError, match=r"^model\.blocks\[2\] \(bn3\): batch norm over a 1×1"):
        cfg.from_dict(_cnn_1x1(1))
    exp = cfg.from_dict(_cnn_1x1(2))
    exp.train.batch_size = 1  # edited in place, as the GUI does: validate sees it too
    with pytest.raises(cfg.ConfigError, match=r"model\.blocks\[2\] \(bn3\)"):
        cfg.validate(exp)


def test_batch_norm_on_a_1x1_map_trains_when_n_leaves_a_batch_of_one():
    result = Trainer(cfg.from_dict(_cnn_1x1(10))).fit()
    assert result.status == "done", result.message


def test_online_learning_with_batch_norm_is_refused_with_a_sentence():
    with pytest.raises(cfg.ConfigError, match=r"^model\.batch_norm: .*train\.batch_size 1 \(online"):
        _circles("model.batch_norm=true", "train.batch_size=1")


# ---------------------------------------------------------------- memory
def test_memory_estimate_refuses_a_huge_mlp_before_allocating(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 8 * 10**9)
    exp = _circles("model.hidden=[100000,100000]")
    t0 = time.perf_counter()
    trainer = Trainer(exp)
    result = trainer.fit()
    assert time.perf_counter() - t0 < 5
    assert result.status == "failed" and result.error_kind == "config"
    assert result.message.startswith("model.hidden[1] (hidden2, 100,000 → 100,000) needs 40.0 GB "
                                     "for its weights alone"), result.message
    assert "8.0 GB free" in result.message and result.message.endswith("use fewer units.")
    assert trainer.model is None and trainer.data is None  # refused before the data and the model


def test_memory_estimate_leaves_the_presets_alone():
    for name in presets.names():
        memory.check(presets.load(name), torch.device("cpu"))  # raises if refused
        need = sum(p.bytes for p in memory.needs(presets.load(name)))
        assert need < 2e9, (name, need)


def test_cli_refuses_a_run_that_cannot_fit_with_exit_2(tmp_path):
    # 10¹² weights (4 TB) fit no machine this runs on; the old code tried and exited 1
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "core", "train", "--preset", "circles-mlp",
                        "--set", "model.hidden=[1000000,1000000]", "--set", "train.epochs=1",
                        "--device", "cpu", "--out", str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert p.returncode == 2, p.stderr
    assert "model.hidden[1] (hidden2, 1,000,000 → 1,000,000) needs 4,000.0 GB" in p.stderr
    assert "Traceback" not in p.stderr and "enforce fail" not in p.stderr


@pytest.mark.parametrize("error", [
    RuntimeError("[enforce fail at alloc_cpu.cpp:127] data. DefaultCPUAllocator: not enough "
                 "memory: you tried to allocate 40000000000 bytes."),
    torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
])
def test_out_of_memory_during_training_ends_in_a_memory_sentence(monkeypatch, error):
    def boom(*args):
        raise error
    monkeypatch.setattr(train_mod, "step_metrics", boom)  # the first training step runs out
    result = Trainer(_circles("model.hidden=[30]")).fit()
    assert result.status == "failed" and result.error_kind == "memory"
    assert result.message.startswith("The CPU ran out of memory (an allocation of "), result.message
    assert "40.0 GB" in result.message or "2.00 GiB" in result.message
    assert "largest layer is model.hidden[0] (hidden1, 2 → 30)" in result.message
    assert "train.batch_size is 10: lower it" in result.message
    assert "Traceback" not in result.message and "enforce fail" not in result.message


def test_an_unrelated_runtime_error_stays_unexpected(monkeypatch):
    def boom(*args):
        raise RuntimeError("shape mismatch")
    monkeypatch.setattr(train_mod, "step_metrics", boom)
    result = Trainer(_circles()).fit()
    assert result.error_kind == "internal"


def test_the_window_banner_does_not_blame_the_gpu():
    from app.messages import BANNERS
    assert BANNERS["memory"] == ("error", "Out of memory.")


# ---------------------------------------------------------------- ZCA, a long step
def _zca(size: int) -> cfg.Experiment:
    return cfg.from_dict({"data": {"dataset": "shapes10", "image_size": size, "n_train": 20,
                                   "n_test": 10, "standardize": "zca"},
                          "model": {"kind": "mlp", "hidden": [4]},
                          "train": {"epochs": 1, "device": "cpu"}})


def test_zca_says_what_it_computes_before_it_starts():
    notes = []

    class Notes(Observer):
        def on_data_note(self, text):
            notes.append(text)

    result = Trainer(_zca(16), [Notes()]).fit()
    assert result.status == "done", result.message
    assert notes[0].startswith("ZCA whitening: a 768 × 768 covariance of 20 training images of "
                               "3×16×16 pixels (5 MB in float64)"), notes
    assert any("eigendecomposition" in n for n in notes)
    out = io.StringIO()
    Progress(out).on_data_note(notes[0])  # the CLI prints it, tty or not
    assert out.getvalue() == notes[0] + "\n"


def test_the_window_shows_what_zca_computes_while_it_prepares(qtbot, window):
    """The window's status line carries the same sentences as the CLI's lines."""
    w = window(_zca(16))
    shown = []
    show = w.training_panel.show_message
    w.training_panel.show_message = lambda text: (shown.append(text), show(text))
    with qtbot.waitSignal(w.run_finished, timeout=60_000):
        assert w.start_training()
    assert any(t.startswith("ZCA whitening: a 768 × 768 covariance") for t in shown), shown


def test_zca_that_cannot_fit_is_refused_by_name():
    t0 = time.perf_counter()
    result = Trainer(_zca(512)).fit()  # a 786,432² covariance: 4.9 TB
    assert time.perf_counter() - t0 < 5
    assert result.status == "failed" and result.error_kind == "config", result.message
    assert result.message.startswith("data.standardize = 'zca' at data.image_size 512 (a 786,432 × "
                                     "786,432 covariance"), result.message
    assert "lower data.image_size, or use data.standardize = 'channel'" in result.message
