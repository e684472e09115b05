"""Where a number would mislead a student, the tables say what it is: the best epoch is chosen
on the validation split when there is one, a summed loss shows its real step, a short study
says it is short."""

from __future__ import annotations

from types import SimpleNamespace

import lab
from app.panels.study_results import HEADER_TIPS, cells
from core.engine.records import EpochRecord, SplitMetrics
from core.experiment import presets
from core.study import builtin, effective_step, experiments, too_short
from core.study.runner import measure
from core.study.sweeps import study


def record(epoch: int, val: float | None, test: float) -> EpochRecord:
    return EpochRecord(epoch, 0.1, SplitMetrics(1.0, 90.0), seconds=1.0, images_per_s=1e3,
                       val=None if val is None else SplitMetrics(1.0, val),
                       test=SplitMetrics(1.0, test))


def test_the_best_epoch_is_chosen_on_validation_when_there_is_one():
    done = SimpleNamespace(status="done", message="", epochs=3, last=None)
    # the test accuracy peaks at epoch 2, the validation accuracy at epoch 3
    with_val = measure(done, [record(1, 50, 60), record(2, 55, 80), record(3, 70, 70)], 10, 1.0)
    assert (with_val["best_by"], with_val["best_epoch"], with_val["best_test"]) == ("val", 3, 70)
    without = measure(done, [record(1, None, 60), record(2, None, 80)], 10, 1.0)
    assert (without["best_by"], without["best_epoch"]) == ("test", 2)
    row = {**with_val, "index": 1, "label": "x", "train_accuracy": 90.0, "test_accuracy": 70.0}
    assert "val 70.0 (3)" in cells(row)  # the table says which split chose it
    assert "validation" in HEADER_TIPS["best (ep)"] and "question 1" in HEADER_TIPS["best (ep)"]


def test_a_summed_full_batch_shows_its_real_step_and_why_it_swings():
    exp = presets.load("circles-mlp")  # the practical's Part 1: the loss sums over the batch
    assert exp.optim.reduction == "sum" and exp.optim.lr == 0.03
    shortcut = study("batch", exp)
    steps = [effective_step(e) for _v, e in experiments(shortcut)]
    assert steps == [0.03 * 200, 0.03 * 10, 0.03]  # N/B times a mini-batch step
    full = shortcut.variants[0]
    assert "sums its gradients" in full.text and "200/10 = 20 times" in full.text
    mean = lab.circles(2, **{"optim.reduction": '"mean"'})
    assert {effective_step(e) for _v, e in experiments(study("batch", mean))} == {0.03}
    assert not study("batch", mean).variants[0].text


def test_a_short_study_says_how_many_epochs_it_needs_and_why():
    ladder = builtin("ladder-shapes-cnn")
    assert too_short(ladder, ladder.base.train.epochs) is None and too_short(ladder, 0) is None
    sentence = too_short(ladder, 2)
    assert "trained 2 epochs; ladder-shapes-cnn asks for 16" in sentence and "stalled" in sentence
