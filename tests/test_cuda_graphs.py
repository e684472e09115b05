"""train.cuda_graphs: when a run captures its step, what it says, and that a captured run trains
as the eager one does.

This machine has no GPU, so the capture itself (torch.cuda.graph) is swapped for one that
records the step and reruns it at each replay: everything around it — the capturable
optimiser, the warm-up put back, the eager steps for an odd batch and for a watched forward,
the gradients .grad names, the fallback when capture fails — runs as on a GPU.
benchmarks/device_check.sh runs the real capture where a GPU is lent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import lab
from core.engine import graphs, manual
from core.engine.precision import Precision
from core.engine.train import Trainer
from core.experiment import config as cfg
from core.nets import inspect, models
from core.store.writers import recorded

CUDA = torch.device("cuda")  # a device object only: choose() runs nothing on it


def test_choose_captures_on_a_gpu_where_the_step_allows_and_says_why_not_elsewhere():
    fp32, fp16 = Precision("fp32"), Precision("fp16")
    assert graphs.choose("auto", CUDA, "optim", fp32, False) == (True, "")
    assert graphs.choose("on", CUDA, "optim", Precision("bf16", True), False) == (True, "")
    assert graphs.choose("off", CUDA, "optim", fp32, False) == (False, "")
    assert graphs.choose("auto", torch.device("cpu"), "optim", fp32, False) == (False, "")
    assert graphs.choose("on", torch.device("cpu"), "optim", fp32, False) == (
        False, "no CUDA graphs: they need a CUDA device")
    assert "fp16" in graphs.choose("auto", CUDA, "optim", fp16, False)[1]
    assert "Part 1" in graphs.choose("auto", CUDA, "manual", fp32, False)[1]
    assert "train.compile" in graphs.choose("on", CUDA, "optim", fp32, True)[1]


def test_a_cpu_run_is_untouched_by_auto_and_on_says_why_not_in_its_first_line():
    plain, asked = lab.Recorder(), lab.Recorder()
    Trainer(lab.circles(1), [plain]).fit()
    Trainer(cfg.with_overrides(lab.circles(1), ['train.cuda_graphs="on"']), [asked]).fit()
    assert "CUDA graphs" not in plain.info.precision
    assert asked.result.status == "done"
    assert asked.info.precision.endswith("no CUDA graphs: they need a CUDA device")


def test_the_capturable_optimiser_keeps_its_settings_and_its_schedule_moves_the_tensor():
    model = torch.nn.Linear(3, 2)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    opt, note = graphs.capturable(sgd, torch.device("cpu"))
    group = opt.param_groups[0]
    assert note == "" and group["fused"] and torch.is_tensor(group["lr"])
    assert (group["momentum"], group["nesterov"], group["weight_decay"]) == (0.9, True, 5e-4)
    assert group["params"] == list(model.parameters())
    lr = group["lr"]
    sched = torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] is lr and float(lr) == pytest.approx(0.05)  # filled in place
    adam, _ = graphs.capturable(torch.optim.Adam(model.parameters(), lr=0.01), torch.device("cpu"))
    assert adam.param_groups[0]["capturable"] and adam.param_groups[0]["fused"]
    rms = torch.optim.RMSprop(model.parameters(), lr=0.01)
    assert graphs.capturable(rms, torch.device("cpu")) == (
        rms, "no CUDA graphs: the RMSprop optimiser has no fused step")


class Rerun:
    """A stand-in for torch.cuda.graph: replay() runs the recorded step again, in Python."""

    def __init__(self):
        self.replays = 0

    def __call__(self, body, x, y):
        def replay():
            self.replays += 1
            return body(x, y)
        return replay


def _recipe(optimizer: str = "sgd") -> cfg.Experiment:
    """Batch norm, dropout, Nesterov, weight decay, a warm-up + cosine schedule, label
    smoothing, and 72 images in batches of 32: each epoch's last batch (8) is odd."""
    exp = lab.tiny_shapes(epochs=3)
    return cfg.with_overrides(exp, [
        "model.batch_norm=true", "model.dropout=0.3", f'optim.optimizer="{optimizer}"',
        "optim.momentum=0.9", "optim.nesterov=true", "optim.weight_decay=5e-4",
        'optim.scheduler="warmup-cosine"', "optim.warmup=1", "optim.label_smoothing=0.1",
        "data.n_train=72", "optim.lr=0.02" if optimizer == "sgd" else "optim.lr=0.003"])


def _fit(exp: cfg.Experiment, runs=None):
    rec = lab.Recorder()
    trainer = Trainer(exp, [rec])
    result = (recorded(trainer, runs) if runs else trainer).fit()
    assert result.status == "done", result.message
    return rec, trainer.model.state_dict()


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_captured_run_trains_as_the_eager_one(monkeypatch, optimizer):
    exp = _recipe(optimizer)
    eager, eager_state = _fit(exp)
    rerun = Rerun()
    monkeypatch.setattr(graphs, "choose", lambda *a: (True, ""))
    monkeypatch.setattr(graphs, "record", rerun)
    captured, state = _fit(exp)
    assert captured.info.precision.endswith("eager, CUDA graphs")
    steps = eager.info.steps_per_epoch
    assert rerun.replays == 3 * (steps - 1)  # every full batch replayed, the odd one eager
    assert [r.lr for r in captured.epochs] == pytest.approx([r.lr for r in eager.epochs])
    assert [r.lr for r in eager.epochs][0] < [r.lr for r in eager.epochs][1]  # the warm-up
    assert [r.train.loss for r in captured.epochs] == pytest.approx(
        [r.train.loss for r in eager.epochs], rel=1e-4)
    for name, value in eager_state.items():  # the warm-up steps were put back
        torch.testing.assert_close(state[name], value, rtol=1e-4, atol=1e-5, msg=name)


def test_a_failed_capture_trains_eagerly_from_the_same_start_and_says_why(monkeypatch, tmp_path):
    exp = _recipe()
    eager, eager_state = _fit(exp)

    def fail(body, x, y):
        raise RuntimeError("operation not permitted when stream is capturing\nmore")
    monkeypatch.setattr(graphs, "choose", lambda *a: (True, ""))
    monkeypatch.setattr(graphs, "record", fail)
    fallen, state = _fit(exp, tmp_path)
    assert fallen.info.precision.endswith(
        "no CUDA graphs: capture failed (RuntimeError: operation not permitted when stream is "
        "capturing)")
    summary = json.loads((Path(fallen.result.run_folder) / "summary.json").read_text())
    assert summary["execution"] == fallen.info.precision  # the run keeps how it ran
    for name, value in eager_state.items():
        torch.testing.assert_close(state[name], value, rtol=1e-4, atol=1e-5, msg=name)


def test_a_watched_forward_takes_the_eager_step_and_health_reads_its_gradients():
    exp = _recipe()
    model = models.build(exp.model, (3, 32, 32), 10)
    opt, _ = graphs.capturable(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                               torch.device("cpu"))
    step = manual.make_step("optim", model, "cross_entropy", "mean", opt)
    x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    rerun = Rerun()
    graphs_record = graphs.record
    try:
        graphs.record = rerun
        graphed, note = graphs.prime(step, model, opt, x, y, torch.device("cpu"))
    finally:
        graphs.record = graphs_record
    assert note == "CUDA graphs"
    graphed(x, y)
    assert rerun.replays == 1
    health = inspect.LayerHealth(model)
    health.record_once()  # a forward hook: a replay would run no Python
    graphed(x.flip(0), y.flip(0))
    assert rerun.replays == 1
    stats = health.snapshot()
    first = next(iter(stats))
    assert stats[first].act_mean == stats[first].act_mean  # recorded: not NaN
    weights = [p for p in model.parameters() if p.requires_grad]
    assert all(p.grad is g for p, g in zip(weights, graphed.grads))  # the graph's tensors
    graphed(x[:5], y[:5])  # an odd batch: eager too, its gradients in the graph's tensors
    assert rerun.replays == 1 and all(p.grad is g for p, g in zip(weights, graphed.grads))


def test_the_views_calls_and_a_stop_work_between_replays(monkeypatch):
    rerun = Rerun()
    monkeypatch.setattr(graphs, "choose", lambda *a: (True, ""))
    monkeypatch.setattr(graphs, "record", rerun)
    exp = cfg.with_overrides(_recipe(), ["train.sync_every=1", "train.epochs=4"])
    calls = []

    class View(lab.Recorder):
        def on_batch_end(self, chunk):  # a view asks for the live network's outputs
            calls.append(trainer.call_between_steps(
                lambda: trainer.model(trainer.data.test.x[:4].float()).shape))

        def on_epoch_end(self, record):
            if record.epoch == 2:
                trainer.stop()

    trainer = Trainer(exp, [View()])
    result = trainer.fit()
    assert result.status == "stopped" and result.epochs == 2
    answered = [f.result() for f in calls if not f.cancelled()]
    assert answered and all(shape == (4, 10) for shape in answered)
    assert rerun.replays >= 2 * 2  # the calls ran between replays, not instead of them
