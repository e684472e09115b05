import pytest
import torch

from core.experiment import config as cfg
from core.engine import manual
from core.nets import models
from core.experiment import presets
from core.study import sweeps
from core.cli.main import main
from core import ConfigError
from core.engine.train import Observer, Trainer


def mlp(hidden, activation="tanh", n_in=2, n_out=2, seed=0):
    torch.manual_seed(seed)
    mc = cfg.ModelConfig(kind="mlp", hidden=hidden, activation=activation, init_std=0.3)
    return models.build(mc, (n_in,), n_out).double()


@pytest.mark.parametrize("hidden, activation, loss, reduction, n_in, n_out", [
    ([10], "tanh", "cross_entropy", "sum", 2, 2),
    ([4], "tanh", "mse", "sum", 2, 2),
    ([7, 5], "relu", "cross_entropy", "mean", 6, 4),
    ([3, 3, 3], "sigmoid", "mse", "mean", 5, 3),
    ([], "tanh", "cross_entropy", "sum", 3, 3),
])
def test_hand_written_gradients_equal_autograd_and_finite_differences(hidden, activation, loss, reduction, n_in, n_out):
    model = mlp(hidden, activation, n_in, n_out)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(13, n_in, generator=g, dtype=torch.float64)
    y = torch.randint(0, n_out, (13,), generator=g)
    rows = manual.gradcheck(model, x, y, loss, reduction)
    assert len(rows) == 2 * (len(hidden) + 1)
    for r in rows:
        assert r["manual_vs_autograd"] < 1e-12, r
        tol = manual.GRADCHECK_TOLERANCE
        assert r["manual_vs_numeric"] < tol and r["autograd_vs_numeric"] < tol, r


def test_gradcheck_notices_a_wrong_backward(monkeypatch):
    real = manual.backward
    monkeypatch.setattr(manual, "backward", lambda *a, **k: [(gw * 1.001, gb) for gw, gb in real(*a, **k)])
    rows = manual.gradcheck(mlp([4]), torch.randn(8, 2, dtype=torch.float64), torch.randint(0, 2, (8,)))
    assert max(r["manual_vs_autograd"] for r in rows) > 1e-4


def run(impl, dtype, epochs=8):
    exp = cfg.with_overrides(presets.load("circles-mlp"), [
        f"model.implementation={impl}", f"train.dtype={dtype}", f"train.epochs={epochs}",
        "train.device=cpu", "train.sync_every=5"])

    class Losses(Observer):
        losses = []

        def on_batch_end(self, chunk):
            self.losses.extend(float(v) for v in chunk.loss)
    obs = Losses()
    obs.losses = []
    trainer = Trainer(exp, [obs])
    result = trainer.fit()
    assert result.status == "done", result.message
    weights = torch.cat([p.detach().double().flatten() for p in trainer.model.parameters()])
    return torch.tensor(obs.losses, dtype=torch.float64), weights, result.last


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-5)])
def test_the_four_implementations_train_to_the_same_numbers(dtype, tol):
    ref_losses, ref_weights, ref_last = run("optim", dtype)
    assert len(ref_losses) == 8 * 20
    for impl in ("nn", "autograd", "manual"):
        losses, weights, last = run(impl, dtype)
        assert (losses - ref_losses).abs().max() < tol, impl
        assert (weights - ref_weights).abs().max() < tol, impl
        assert abs(last.test.accuracy - ref_last.test.accuracy) < 1e-9, impl


def test_circles_preset_reaches_93_percent_with_the_manual_implementation():
    exp = cfg.with_overrides(presets.load("circles-mlp"), ["model.implementation=manual", "train.device=cpu"])
    result = Trainer(exp).fit()
    assert result.status == "done" and result.last.test.accuracy >= 93.0


def test_hand_written_variants_refuse_what_they_do_not_implement():
    base = presets.load("circles-mlp")
    for override, field in [("optim.momentum=0.9", "optim.momentum"), ("model.dropout=0.5", "model.dropout"),
                            ("optim.optimizer=adam", "optim.optimizer"), ("model.batch_norm=true", "model.batch_norm")]:
        with pytest.raises(ConfigError, match=f"model.implementation: 'manual' .* needs {field}"):
            cfg.with_overrides(base, ["model.implementation=manual", override])
    with pytest.raises(ConfigError, match="needs model.kind = 'mlp'"):
        cfg.with_overrides(presets.load("shapes-cnn"), ["model.implementation=autograd",
                                                         "optim.momentum=0.0"])


def test_sweep_shortcuts_make_the_expected_runs():
    exp = presets.load("circles-mlp")
    batch = sweeps.sweep("batch", exp)
    assert [e.train.batch_size for e in batch] == [200, 10, 1]
    assert [e.name for e in batch] == ["circles-mlp · batch · full batch (200)",
                                       "circles-mlp · batch · mini-batch (10)",
                                       "circles-mlp · batch · online (1)"]
    study = sweeps.study("batch", exp)  # the shortcut is an independent study on exp
    assert study.kind == "independent" and study.base is exp
    assert [v.question for v in study.variants] == [10, 10, 10]
    lrs = sweeps.sweep("lr", exp)
    assert [e.optim.lr for e in lrs] == [0.003, 0.03, 0.3, 3.0]
    assert [e.optim.loss for e in sweeps.sweep("loss", exp)] == ["cross_entropy", "mse"]
    sizes = sweeps.sweep("n", exp)
    assert [e.data.n_train for e in sizes] == [10, 20, 50, 100, 200, 500, 1000]
    for e in batch + lrs + sizes:  # only the swept setting differs
        assert e.model == exp.model and e.data.dataset == exp.data.dataset and e.train.seed == exp.train.seed
    assert exp.train.batch_size == 10 and exp.name == "circles-mlp"  # the original is untouched
    with pytest.raises(ConfigError, match="unknown shortcut"):
        sweeps.sweep("momentum", exp)


def test_full_batch_of_a_whole_data_set_is_capped_by_the_trainer():
    exp = presets.load("cifar-cnn")  # n_train = 0: all of it
    full = sweeps.sweep("batch", exp)[0]
    assert full.name.endswith("full batch (N)") and full.train.batch_size >= 10**9


def test_gradcheck_command_passes_on_the_lab_mlp_and_fails_on_a_cnn(capsys, monkeypatch):
    assert main(["gradcheck", "--preset", "circles-mlp"]) == 0
    out = capsys.readouterr().out
    assert "hidden1.weight" in out and "10×2" in out and "PASS" in out
    assert main(["gradcheck", "--preset", "shapes-cnn"]) == 2
    assert "hand-written backward covers MLPs" in capsys.readouterr().err
    real = manual.backward
    monkeypatch.setattr(manual, "backward", lambda *a, **k: [(gw, gb + 1e-3) for gw, gb in real(*a, **k)])
    assert main(["gradcheck", "--preset", "circles-mlp"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_gradcheck_command_judges_by_the_shared_tolerance(capsys, monkeypatch):
    monkeypatch.setattr(manual, "GRADCHECK_TOLERANCE", 1e-30)  # no float64 check gets this close
    assert main(["gradcheck", "--preset", "circles-mlp"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and ">= 1e-30)" in out


def test_sweep_command_trains_each_variant(capsys, tmp_path):
    assert main(["sweep", "loss", "--preset", "circles-mlp", "--epochs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "cross-entropy" in out and "squared error" in out
    (study,) = tmp_path.iterdir()  # a sweep is an independent study: one folder, a rung per run
    assert len(list(study.glob("rung-*"))) == 2
