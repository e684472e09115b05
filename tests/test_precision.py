"""train.precision: auto picks bf16 only where the device computes it natively, autocast keeps
the weights, loss and metrics in fp32, and the run says what it computed in."""

from __future__ import annotations

import json
import math

import pytest
import torch

import lab
from core.experiment import config as cfg
from core.engine import precision
from core import ConfigError
from core.engine.train import Trainer
from core.store.writers import recorded

CPU = torch.device("cpu")


@pytest.mark.parametrize("native, cnn, dtype, want", [
    (False, True, "float32", ("fp32", False)),   # a laptop without bf16 is never slowed
    (True, True, "float32", ("bf16", True)),     # AMX / AVX-512 BF16: bf16 and channels-last
    (True, False, "float32", ("fp32", False)),   # the Part 1 MLP stays fp32
    (True, True, "float64", ("fp32", False)),    # float64 runs stay float64
])
def test_auto_picks_bf16_only_where_it_is_native(monkeypatch, native, cnn, dtype, want):
    monkeypatch.setattr(precision, "native_bf16", lambda device: native)
    p = precision.choose("auto", CPU, cnn=cnn, dtype=dtype)
    assert (p.name, p.channels_last) == want and p.reason


def test_native_bf16_is_read_from_torch_or_the_cpu_flags(monkeypatch):
    for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        monkeypatch.setattr(torch.cpu, name, lambda: False, raising=False)
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx2", "avx512f"}))
    assert not precision.cpu_has_native_bf16()
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx512f", "amx_bf16"}))
    assert precision.cpu_has_native_bf16()
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset())
    assert precision.cpu_has_native_bf16()


def test_the_config_refuses_autocast_where_it_cannot_apply():
    shapes = lab.tiny_shapes()
    with pytest.raises(ConfigError, match=r"^train\.precision: 'bf16' autocasts float32 runs"):
        cfg.with_overrides(shapes, ["train.precision=bf16", "train.dtype=float64"])
    circles = lab.circles()
    with pytest.raises(ConfigError, match=r"^train\.precision: 'bf16' needs autograd"):
        cfg.with_overrides(circles, ["train.precision=bf16", "model.implementation=manual"])
    with pytest.raises(ConfigError, match="must be one of 'auto', 'fp32', 'bf16', 'fp16'"):
        cfg.with_overrides(shapes, ["train.precision=int8"])


def test_fp16_on_a_cpu_ends_with_a_sentence():
    exp = cfg.with_overrides(lab.tiny_shapes(), ["train.precision=fp16"])
    result = Trainer(exp).fit()
    assert result.status == "failed" and result.error_kind == "config"
    assert result.message.startswith("train.precision: 'fp16' needs a CUDA device")


def test_a_bf16_run_keeps_fp32_weights_and_says_what_it_computed_in(tmp_path):
    exp = cfg.with_overrides(lab.tiny_shapes(epochs=2), ["train.precision=bf16"])
    seen = lab.Recorder()
    t = recorded(Trainer(exp, [seen]), tmp_path)
    result = t.fit()
    assert result.status == "done", result.message
    assert seen.info.precision == "bf16 autocast, channels-last, eager"
    assert all(p.dtype == torch.float32 for p in t.model.parameters())  # autocast, not a bf16 model
    conv = next(m for m in t.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert math.isfinite(result.last.train.loss)  # measured on fp32 logits
    summary = json.loads((tmp_path / next(p.name for p in tmp_path.iterdir()) / "summary.json").read_text())
    assert (summary["precision"], summary["memory_format"]) == ("bf16", "channels-last")


def test_bf16_and_fp32_agree_on_a_step_within_bf16s_precision():
    exp = lab.tiny_shapes()
    torch.manual_seed(0)
    from core.nets import models
    net = models.build(exp.model, (3, 32, 32), 10)
    x = torch.rand(16, 3, 32, 32)
    fp32 = precision.Precision("fp32").forward(net, x, CPU)
    bf16 = precision.Precision("bf16", channels_last=True).forward(net, x, CPU)
    assert bf16.dtype == torch.float32  # logits come back in fp32 for the loss and softmax
    assert torch.allclose(bf16, fp32, atol=0.05, rtol=0.05)
    assert not torch.equal(bf16, fp32)  # it did compute in bf16


def test_the_cli_first_line_names_the_number_format(tmp_path, capsys):
    from core.cli.main import main
    assert main(["train", "--preset", "circles-mlp", "--epochs", "1", "--device", "cpu",
                 "--out", str(tmp_path)]) == 0
    seen = capsys.readouterr()
    assert "training on cpu (fp32, contiguous, eager):" in seen.out + seen.err
