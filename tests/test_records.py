"""core.engine.records: the epoch record the trainer reports, the run store writes as a metrics.jsonl
line and reads back."""

import json
import math

import numpy as np
import pytest

from core.experiment import config as cfg
from core.experiment import presets
from core.store import runs as store
from core.store import reader as run_reader
from core.engine.records import EpochRecord, SplitMetrics
import lab
from core.engine.train import Trainer
from core.store.writers import recorded


def small_cnn_run(tmp_path):
    """Two epochs of a tiny CNN on ten classes, with a validation split: every field is there."""
    exp = cfg.with_overrides(presets.load("shapes-cnn"), [
        "data.n_train=60", "data.n_test=30", "data.val_fraction=0.5", "train.epochs=2",
        "train.batch_size=16", "model.fc=[8]", "train.device=cpu"])
    exp.model.blocks = [cfg.ConvBlock(channels=2)]
    rec = lab.Recorder()
    result = recorded(Trainer(exp, [rec]), tmp_path).fit()
    assert result.status == "done", result.message
    return result, rec.epochs


def test_the_trainers_records_are_the_lines_of_metrics_jsonl_and_read_back_equal(tmp_path):
    result, seen = small_cnn_run(tmp_path)
    run = run_reader.open_run(result.run_folder)
    text = (run.folder / "metrics.jsonl").read_text()
    lines = text.splitlines()
    assert [json.dumps(r.to_dict()) for r in seen] == lines  # byte for byte, key order too
    first = json.loads(lines[0])
    assert list(first) == ["epoch", "lr", "train", "val", "test", "seconds", "images_per_s"]
    assert list(first["train"]) == ["loss", "accuracy", "top5"]
    assert run.metrics() == seen and run.metrics_problem == ""
    assert [EpochRecord.from_dict(json.loads(line)).to_dict() for line in lines] == \
        [json.loads(line) for line in lines]
    # the confusion counts ride with the record in memory only
    assert set(seen[-1].confusion) == {"val", "test"} and "confusion" not in text
    assert seen[-1].confusion["test"].sum() == 30
    assert run.summary["test"] == seen[-1].test.to_dict()


def test_a_two_class_record_has_no_top5_and_a_missing_split_stays_out():
    r = EpochRecord(3, 0.1, SplitMetrics(0.5, 80.0), 0.2, 1000.0, test=SplitMetrics(0.6, 75.0))
    d = r.to_dict()
    assert d == {"epoch": 3, "lr": 0.1, "train": {"loss": 0.5, "accuracy": 80.0},
                 "test": {"loss": 0.6, "accuracy": 75.0}, "seconds": 0.2, "images_per_s": 1000.0}
    assert EpochRecord.from_dict(d) == r and EpochRecord.from_dict(d).val is None


@pytest.mark.parametrize("line", [
    [1, 2], "text", None, 3,
    {}, {"train": {"loss": 1.0}},                      # no epoch
    {"epoch": "1"}, {"epoch": True}, {"epoch": None},  # an epoch that is no number
    {"epoch": 1.5}, {"epoch": float("nan")}, {"epoch": float("inf")}, {"epoch": 10 ** 400},
])
def test_a_line_that_is_not_an_epoch_record_is_refused(line):
    with pytest.raises(ValueError):
        EpochRecord.from_dict(line)


def test_fields_that_are_not_numbers_read_as_nan_and_splits_that_are_not_tables_as_absent():
    r = EpochRecord.from_dict({"epoch": 2.0, "lr": None, "train": {"loss": "x", "accuracy": 50},
                               "val": [1], "test": {"loss": 0.3, "top5": 10 ** 400},
                               "seconds": 10 ** 400})
    assert r.epoch == 2 and type(r.epoch) is int
    assert math.isnan(r.lr) and math.isnan(r.seconds) and math.isnan(r.images_per_s)
    assert math.isnan(r.train.loss) and r.train.accuracy == 50.0
    assert r.val is None and r.test.loss == 0.3 and math.isnan(r.test.accuracy)
    assert r.test.top5 is None


def test_held_is_the_test_split_else_validation():
    train, val, test = SplitMetrics(1.0, 50.0), SplitMetrics(0.9, 60.0), SplitMetrics(0.8, 70.0)
    both = EpochRecord(1, 0.1, train, 1.0, 10.0, val=val, test=test)
    assert both.held() is test
    assert EpochRecord(1, 0.1, train, 1.0, 10.0, val=val).held() is val
    assert EpochRecord(1, 0.1, train, 1.0, 10.0).held() is None
    assert [both.split(s) for s in ("train", "val", "test")] == [train, val, test]
    with pytest.raises(ValueError):
        both.split("confusion")


def test_records_are_frozen_and_compare_without_their_confusion_counts():
    a = EpochRecord(1, 0.1, SplitMetrics(1.0, 50.0), 1.0, 10.0,
                    confusion={"test": np.eye(2, dtype=np.int64)})
    b = EpochRecord(1, 0.1, SplitMetrics(1.0, 50.0), 1.0, 10.0)
    assert a == b and "confusion" not in repr(a)
    with pytest.raises(AttributeError):
        a.lr = 0.2
