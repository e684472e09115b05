import json
import math
import threading

import numpy as np
import pytest
import torch

from core.experiment import config as cfg
from core.nets import models
from core.experiment import presets
from core.store import runs
from core.store import reader as run_reader
from core.data import loader
from core.engine.devices import cpu_threads_for
from core.engine.losses import loss_fn
from core.engine.records import EpochRecord, SplitMetrics
from core.engine.train import Observer, Trainer
from core.store.writers import recorded
from lab import Recorder


def circles(*overrides, epochs=3):
    return cfg.with_overrides(presets.load("circles-mlp"),
                              [f"train.epochs={epochs}", "train.device=cpu", *overrides])


def test_circles_preset_reaches_the_students_accuracy():
    rec = Recorder()
    result = recorded(Trainer(circles(epochs=150), [rec])).fit()
    assert result.status == "done" and result.epochs == 150
    assert result.last.test.accuracy >= 93.0
    assert rec.steps == list(range(1, 150 * 20 + 1))  # every step reported once, in order


def test_observers_get_floats_and_small_numpy_arrays_never_tensors():
    rec = Recorder()
    recorded(Trainer(circles("train.sync_every=7"), [rec])).fit()
    assert rec.info.steps_per_epoch == 20 and rec.info.params == 52
    assert max(len(c.steps) for c in rec.chunks) == 7  # read back in chunks, not per step
    for c in rec.chunks:
        assert not any(isinstance(v, torch.Tensor) for v in vars(c).values())
        assert c.loss.dtype.kind == "f" and c.images_per_s > 0
    for r in rec.epochs:
        assert isinstance(r, EpochRecord) and isinstance(r.train, SplitMetrics)
        assert all(type(v) is float for v in (r.lr, r.seconds, r.images_per_s, r.train.loss,
                                               r.train.accuracy, r.test.loss, r.test.accuracy))
        assert r.val is None and set(r.confusion) == {"test"}
        assert all(isinstance(c, np.ndarray) for c in r.confusion.values())


def test_epoch_metrics_are_averaged_over_samples_not_batches():
    # 95 examples in batches of 10: the last batch has 5, so a mean of batch means is wrong.
    exp = circles("data.n_train=95", "train.batch_size=10", "optim.lr=1e-12", epochs=1)
    trainer = Trainer(exp)
    record = trainer.fit().last
    model, data = trainer.model.eval(), trainer.data
    with torch.no_grad():
        out = model(data.prepare(data.train.x, False))
        direct = torch.nn.functional.cross_entropy(out, data.train.y).item()
        acc = 100 * (out.argmax(1) == data.train.y).float().mean().item()
        test_out = model(data.prepare(data.test.x, False))
        test_loss = torch.nn.functional.cross_entropy(test_out, data.test.y).item()
    assert math.isclose(record.train.loss, direct, rel_tol=1e-5)
    assert math.isclose(record.train.accuracy, acc, abs_tol=1e-4)
    assert math.isclose(record.test.loss, test_loss, rel_tol=1e-5)


def test_same_config_and_seed_give_identical_metrics_on_the_cpu():
    def run():
        rec = Recorder()
        Trainer(circles("data.val_fraction=0.2"), [rec]).fit()
        losses = [float(x) for c in rec.chunks for x in c.loss]
        return losses, [(r.train, r.val, r.test, r.lr) for r in rec.epochs]
    assert run() == run()
    other = Recorder()
    Trainer(circles("train.seed=1"), [other]).fit()
    assert [float(x) for c in other.chunks for x in c.loss] != run()[0]


def test_top5_and_validation_are_reported_for_ten_classes():
    exp = cfg.with_overrides(presets.load("shapes-cnn"), [
        "data.n_train=60", "data.n_test=30", "data.val_fraction=0.5", "train.epochs=1",
        "train.batch_size=16", "model.fc=[16]", "train.device=cpu"])
    exp.model.blocks = [cfg.ConvBlock(channels=4)]
    result = Trainer(exp).fit()
    assert result.status == "done"
    for split in ("train", "val", "test"):
        m = result.last.split(split)
        assert 0 <= m.accuracy <= m.top5 <= 100


def test_a_tie_with_the_true_class_counts_as_argmax_breaks_it():
    from core.engine.metrics import step_metrics
    out = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 2.0, 2.0], [3.0, 0.0, 3.0]])
    y = torch.tensor([0, 1, 2, 0])
    _loss, correct, top5 = step_metrics(torch.tensor(0.0), out, y).tolist()
    assert correct == (out.argmax(1) == y).sum().item() == 2 and top5 == 4


def test_a_bf16_runs_accuracy_is_its_confusion_matrixs():
    """bf16 logits tie: the accuracy an epoch reports and the counts it keeps must agree."""
    exp = cfg.with_overrides(presets.load("shapes-cnn"), [
        "data.n_train=256", "data.n_test=400", "train.epochs=1", "train.batch_size=64",
        "model.fc=[16]", "train.device=cpu", 'train.precision="bf16"'])
    exp.model.blocks = [cfg.ConvBlock(channels=4)]
    rec = Recorder()
    Trainer(exp, [rec]).fit()
    counts = rec.epochs[-1].confusion["test"]
    assert rec.epochs[-1].test.accuracy == pytest.approx(100 * np.trace(counts) / counts.sum())


def test_stop_takes_effect_within_one_batch_and_keeps_finished_epochs(tmp_path):
    class StopAt(Recorder):
        def on_batch_end(self, chunk):
            super().on_batch_end(chunk)
            if self.steps[-1] >= 45:
                trainer.stop()
    rec = StopAt()
    trainer = recorded(Trainer(circles("train.sync_every=1", epochs=50), [rec]), tmp_path)
    result = trainer.fit()
    assert result.status == "stopped" and result.epochs == 2
    assert rec.steps[-1] == 45  # the batch after the stop request never ran
    run = run_reader.open_run(result.run_folder)
    assert run.summary["status"] == "stopped" and run.summary["epochs"] == 2
    assert [m.epoch for m in run.metrics()] == [1, 2]


def test_pause_holds_at_a_batch_boundary_and_resume_continues():
    paused, moved = threading.Event(), threading.Event()

    class PauseAt(Recorder):
        def on_batch_end(self, chunk):
            super().on_batch_end(chunk)
            if self.steps[-1] == 10 and not paused.is_set():
                trainer.pause()
                paused.set()
            elif paused.is_set():
                moved.set()
    rec = PauseAt()
    trainer = Trainer(circles("train.sync_every=1", epochs=2), [rec])
    thread = threading.Thread(target=trainer.fit)
    thread.start()
    assert paused.wait(30)
    assert not moved.wait(0.5)  # no step runs while paused
    assert trainer.paused and trainer.parked and rec.steps[-1] == 10
    trainer.resume()
    thread.join(30)
    assert rec.result.status == "done" and rec.steps == list(range(1, 41))


def test_stop_while_paused_ends_the_run():
    class PauseAt(Recorder):
        def on_batch_end(self, chunk):
            super().on_batch_end(chunk)
            trainer.pause()
            threading.Thread(target=trainer.stop).start()
    rec = PauseAt()
    trainer = Trainer(circles("train.sync_every=1"), [rec])
    assert trainer.fit().status == "stopped"


def test_a_stop_during_evaluation_ends_the_run_before_the_next_evaluation_batch(tmp_path):
    """Closing the window waits for the run to end, and a CNN's evaluation on a CPU takes
    seconds: a stop asked for while the epoch's training ends is seen before evaluating, the
    unfinished epoch is not kept, and the finished ones are."""

    class StopAtEpochTwoEnd(Recorder):
        def on_batch_end(self, chunk):
            super().on_batch_end(chunk)
            if chunk.epoch == 2 and chunk.steps[-1] == 2 * self.info.steps_per_epoch:
                trainer.stop()  # the last step of epoch 2: its evaluation comes next

    rec = StopAtEpochTwoEnd()
    trainer = recorded(Trainer(circles(epochs=5), [rec]), tmp_path)
    result = trainer.fit()
    # without the check, epoch 2 would be evaluated and kept, and the stop seen in epoch 3
    assert result.status == "stopped" and result.epochs == 1
    assert [r.epoch for r in rec.epochs] == [1]
    run = run_reader.open_run(result.run_folder)
    assert [m.epoch for m in run.metrics()] == [1] and trainer.model.training


def test_a_nan_loss_stops_the_run_with_step_lr_and_last_finite_loss(tmp_path):
    rec = Recorder()
    exp = circles("optim.lr=1e20", "model.activation=relu", "model.init_std=1.0", epochs=5)
    result = recorded(Trainer(exp, [rec]), tmp_path).fit()
    assert result.status == "diverged"
    assert "at step 2 (epoch 1, batch 2)" in result.message
    assert "learning rate 1e+20" in result.message and "last finite loss was" in result.message
    assert all(math.isfinite(x) for c in rec.chunks for x in c.loss)  # nothing NaN is plotted
    summary = json.loads((tmp_path / next(tmp_path.iterdir()).name / "summary.json").read_text())
    assert summary["status"] == "diverged" and "nan" not in json.dumps(summary).lower().replace("became nan", "")


def test_divergence_is_caught_within_sync_every_steps():
    rec = Recorder()
    exp = circles("optim.lr=1e6", "model.activation=relu", "model.init_std=1.0", "train.sync_every=4")
    result = Trainer(exp, [rec]).fit()
    assert result.status == "diverged"
    bad_step = int(result.message.split("at step ")[1].split()[0])
    assert rec.steps == list(range(1, bad_step))


def test_run_folder_holds_config_metrics_summary_and_safe_weights(tmp_path):
    exp = circles(epochs=4)
    trainer = recorded(Trainer(exp), tmp_path)
    result = trainer.fit()
    run = run_reader.open_run(result.run_folder)
    assert run.experiment == exp
    assert [m.epoch for m in run.metrics()] == [1, 2, 3, 4]
    assert run.summary["status"] == "done" and run.summary["epochs"] == 4
    assert run.summary["test"] == result.last.test.to_dict()
    state = run_reader.load_weights(run.folder)
    fresh = models.build(exp.model, (2,), 2)
    fresh.load_state_dict(state)
    data = loader.load(exp.data, exp.train.seed)
    with torch.no_grad():
        acc = (fresh(data.test.x).argmax(1) == data.test.y).float().mean().item() * 100
    assert math.isclose(acc, result.last.test.accuracy, abs_tol=1e-6)
    assert not list(run.folder.glob(".*.tmp"))


def test_listing_runs_again_parses_only_new_or_changed_configs(tmp_path, monkeypatch):
    """The runs list is re-read at every run's start and end: a config already parsed (and
    unchanged on disk) is not parsed again, while summaries are always read afresh."""
    for _ in range(2):
        recorded(Trainer(circles(epochs=1)), tmp_path).fit()
    parsed = []
    real_load = runs.cfg.load
    monkeypatch.setattr(runs.cfg, "load", lambda p: parsed.append(p) or real_load(p))
    configs: dict = {}
    first = run_reader.list_runs(tmp_path, configs)
    assert len(parsed) == 2 and all(r.experiment == circles(epochs=1) for r in first)
    recorded(Trainer(circles(epochs=2)), tmp_path).fit()
    summary = first[0].folder / "summary.json"
    summary.write_text(json.dumps({**first[0].summary, "status": "stopped"}))
    again = run_reader.list_runs(tmp_path, configs)
    assert len(parsed) == 3 and len(again) == 3  # only the new run's config
    assert again[0].summary["status"] == "stopped" and again[2].experiment.train.epochs == 2
    (first[1].folder / "config.toml").write_text("not = [valid")  # edited by hand
    assert run_reader.list_runs(tmp_path, configs)[1].experiment is None and len(parsed) == 4


def test_missing_data_fails_with_a_sentence_and_no_traceback(tmp_path):
    rec = Recorder()
    exp = cfg.with_overrides(presets.load("cifar-cnn"), [f"data.root='{tmp_path}'"])
    result = recorded(Trainer(exp, [rec])).fit()
    assert result.status == "failed" and result.error_kind == "data"
    assert str(tmp_path) in result.message and "download" in result.message
    assert rec.errors == [result.message] and rec.result is result


def test_unavailable_device_is_a_config_failure(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = Trainer(circles("train.device=cuda")).fit()
    assert result.status == "failed" and result.error_kind == "config"
    assert "train.device: 'cuda' is not available" in result.message


def test_out_of_memory_becomes_a_sentence(monkeypatch):
    def boom(*a, **k):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")
    monkeypatch.setattr(loader, "load", boom)
    result = Trainer(circles()).fit()
    assert result.status == "failed" and result.error_kind == "memory"
    assert "ran out of memory" in result.message and "batch_size" in result.message


def test_mse_loss_compares_softmax_with_one_hot():
    out = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    y = torch.tensor([0, 1])
    p = out.softmax(1)
    expect = ((p[0] - torch.tensor([1.0, 0])) ** 2).sum() + ((p[1] - torch.tensor([0, 1.0])) ** 2).sum()
    assert torch.isclose(loss_fn("mse")(out, y), expect / 2)
    result = Trainer(circles("optim.loss=mse", epochs=2)).fit()
    assert result.status == "done" and result.last.train.loss < 1


def test_a_registered_optimiser_and_schedule_are_what_the_run_trains_with():
    """docs/extending.md's example: one registry entry each, and a run can choose them."""
    from core.experiment import optimizers
    built = []

    def rmsprop(params, oc):
        built.append(torch.optim.RMSprop(params, lr=oc.lr, momentum=oc.momentum,
                                         weight_decay=oc.weight_decay))
        return built[-1]

    def halve(opt, oc, tc):
        return torch.optim.lr_scheduler.MultiplicativeLR(opt, lambda epoch: 0.5)

    optimizers.register_optimizer(optimizers.Optimizer("rmsprop", "RMSprop", rmsprop,
                                                       uses=("momentum", "weight_decay")))
    optimizers.register_schedule(optimizers.Schedule("halve", "Halve", halve))
    try:
        rec = Recorder()
        exp = circles("optim.optimizer=rmsprop", "optim.scheduler=halve", "optim.lr=0.01")
        result = Trainer(exp, [rec]).fit()
        assert result.status == "done", result.message
        assert len(built) == 1 and built[0].state  # it took the steps
        assert [r.lr for r in rec.epochs] == [0.01, 0.005, 0.0025]
    finally:
        optimizers.unregister_optimizer("rmsprop")
        optimizers.unregister_schedule("halve")
    with pytest.raises(cfg.ConfigError, match="optim.optimizer"):
        circles("optim.optimizer=rmsprop")


@pytest.mark.parametrize("sched, lrs", [
    ("exponential", [1.0, 0.5, 0.25]),
    ("step", [1.0, 1.0, 0.5]),
])
def test_learning_rate_schedules_step_once_per_epoch(sched, lrs):
    exp = circles(f"optim.scheduler={sched}", "optim.lr=1.0", "optim.gamma=0.5", "optim.step_size=2",
                  "optim.reduction=mean")
    rec = Recorder()
    Trainer(exp, [rec]).fit()
    assert [r.lr for r in rec.epochs] == lrs


def test_sum_reduction_takes_batch_size_times_larger_steps():
    def first_step(reduction):
        t = Trainer(circles(f"optim.reduction={reduction}", "data.n_train=10", epochs=1))
        torch.manual_seed(0)
        t.fit()
        return t.model.output.bias.detach().clone()
    init = models.build(circles().model, (2,), 2).output.bias  # lab init: biases start at 0
    assert torch.count_nonzero(init) == 0
    assert torch.allclose(first_step("sum"), 10 * first_step("mean"), rtol=1e-4, atol=1e-7)


def test_an_unwritable_runs_folder_fails_with_a_sentence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = recorded(Trainer(circles()), blocker / "runs").fit()
    assert result.status == "failed" and result.error_kind == "io"
    assert "Could not write the run's files" in result.message


def test_each_epoch_record_holds_its_confusion_matrix_matching_a_direct_count():
    exp = circles("data.val_fraction=0.25", epochs=2)
    rec = Recorder()
    trainer = Trainer(exp, [rec])
    result = trainer.fit()
    from core.nets.inspect import confusion_matrix
    assert result.last is rec.epochs[-1]
    for name in ("val", "test"):
        counts = result.last.confusion[name]
        split = getattr(trainer.data, name)
        assert counts.sum() == len(split)
        assert (counts == confusion_matrix(trainer.model, trainer.data, split)).all()
        assert math.isclose(100 * counts.trace() / counts.sum(), result.last.split(name).accuracy)
        first = rec.epochs[0].confusion[name]  # the first epoch's own counts, kept with it
        assert math.isclose(100 * first.trace() / first.sum(), rec.epochs[0].split(name).accuracy)
    assert "confusion" not in json.dumps(result.last.to_dict())


def test_a_tiny_network_trains_on_one_cpu_thread_and_the_count_is_restored():
    """Extra intra-op threads only spin for the circles MLP (40 weights × batch 10); the
    practical CNN's convolutions need them."""
    circles_table = models.layer_table(presets.load("circles-mlp").model, (2,), 2)
    cnn = presets.load("shapes-cnn")
    cnn_table = models.layer_table(cnn.model, (3, 32, 32), 10)
    assert cpu_threads_for(circles_table, 10, 8) == 1
    assert cpu_threads_for(cnn_table, cnn.train.batch_size, 8) == 8
    assert sum(t.macs for t in cnn_table) > 100 * sum(t.params for t in cnn_table[-2:])

    seen = []

    class Threads(Observer):
        def on_epoch_end(self, record):
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        Trainer(circles(epochs=1), [Threads()]).fit()
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_a_fast_run_saves_weights_and_summary_at_most_once_a_second_and_all_at_the_end(tmp_path, monkeypatch):
    saves = []
    real = runs.RunWriter.save_weights
    monkeypatch.setattr(runs.RunWriter, "save_weights", lambda self, w: (saves.append(1), real(self, w)))
    result = recorded(Trainer(circles(epochs=40)), tmp_path).fit()  # ~0.2 s on a laptop CPU
    assert result.status == "done"
    assert 1 <= len(saves) < 40
    folder = next(tmp_path.iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["epochs"] == 40 and summary["status"] == "done"
    assert len((folder / "metrics.jsonl").read_text().splitlines()) == 40
    # the last epoch's weights, not the last save's
    net = models.build(circles().model, (2,), 2)
    net.load_state_dict(run_reader.load_weights(folder))
    data = loader.load(circles().data, 0)
    with torch.no_grad():
        acc = (net(data.test.x).argmax(1) == data.test.y).sum().item() / len(data.test.y) * 100
    assert acc == pytest.approx(result.last.test.accuracy, abs=1e-6)


def test_calls_between_steps_run_in_the_training_thread_without_changing_the_run():
    """The GUI's views compute on the live model this way; drawing random numbers there
    (dropout in train mode) must not change the training's own."""
    exp = circles("model.dropout=0.3", epochs=4)
    plain = Recorder()
    Trainer(exp, [plain]).fit()

    threads, results = [], []

    class Probe(Observer):
        def on_batch_end(self, chunk):
            def fn():
                threads.append(threading.get_ident())
                torch.rand(100)  # would shift every later dropout mask without fork_rng
                return int(chunk.steps[-1])
            results.append(trainer.call_between_steps(fn))

    probed = Recorder()
    trainer = Trainer(exp, [probed, Probe()])
    fit = threading.Thread(target=trainer.fit)
    fit.start()
    fit.join()
    done = [f for f in results if f.done() and not f.cancelled()]
    assert len(done) >= 3 and set(threads) == {fit.ident}
    assert results[-1].cancelled()  # queued after the last step: cancelled when the run ended
    assert [f.result() for f in done] == sorted(f.result() for f in done)
    assert [r.train for r in probed.epochs] == [r.train for r in plain.epochs]



def test_a_call_made_while_paused_runs_at_once_in_the_parked_training_thread():
    """Paused, the network is still the training thread's: it runs the views' calls while it
    holds, and only resume() lets the next step run."""
    asked = threading.Event()

    class PauseAt(Recorder):
        def on_batch_end(self, chunk):
            super().on_batch_end(chunk)
            if self.steps[-1] == 5:
                trainer.pause()
                asked.set()

    def probe():
        return threading.get_ident(), trainer.parked, rec.steps[-1]

    rec = PauseAt()
    trainer = Trainer(circles("train.sync_every=1", epochs=1), [rec])
    fit = threading.Thread(target=trainer.fit)
    fit.start()
    try:
        assert asked.wait(30)
        # the first calls may still run at the batch boundary before the loop parks there
        answers = [trainer.call_between_steps(probe).result(timeout=10)]
        while not answers[-1][1] and len(answers) < 100:
            answers.append(trainer.call_between_steps(probe).result(timeout=10))
        assert answers[-1][1] and all(a[::2] == (fit.ident, 5) for a in answers)
        for _ in range(3):  # each answered while parked, none waiting for a step
            assert trainer.call_between_steps(probe).result(timeout=10) == (fit.ident, True, 5)
    finally:
        trainer.resume()
        fit.join(30)
    assert rec.result.status == "done" and rec.steps == list(range(1, 21))


def test_a_call_runs_between_the_step_it_was_queued_after_and_the_next_one():
    """A view's call sees the weights the last reported step left, in train mode; a call that
    raises gives its error to its Future only: the run goes on and later calls still run."""
    futures = []

    def boom():
        raise ValueError("a view's bug")

    class Probe(Observer):
        def on_batch_end(self, chunk):  # sync_every=1: right after each step, in its thread
            model = trainer.model
            queued = model.output.bias.detach().clone()

            def fn():
                return int(chunk.steps[-1]), queued, model.output.bias.detach().clone(), model.training
            futures.append(trainer.call_between_steps(boom if len(futures) == 5 else fn))

    rec = Recorder()
    trainer = Trainer(circles("train.sync_every=1", epochs=2), [rec, Probe()])
    assert trainer.fit().status == "done" and rec.steps == list(range(1, 41))
    with pytest.raises(ValueError, match="a view's bug"):
        futures[5].result()
    assert futures[-1].cancelled()  # queued after the last step: nothing would ever run it
    ran = [f.result() for i, f in enumerate(futures[:-1]) if i != 5]
    assert [r[0] for r in ran] == [s for s in range(1, 40) if s != 6]  # each call, once, in order
    for step, queued, seen, training in ran:
        assert torch.equal(seen, queued) and training, step  # no step ran in between
    moved = sum(not torch.equal(a[1], b[1]) for a, b in zip(ran, ran[1:]))
    assert moved >= len(ran) - 2  # the steps do change the weights the calls look at
