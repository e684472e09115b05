"""Metrics as CSV (core.export.csv_files): read back with the csv module, every cell is the value of
metrics.jsonl (a run's epochs), batches.jsonl (its training steps) or study.json (a study)."""

import csv
import json
import re
from pathlib import Path

import pytest

from core.export import csv_files as export_csv
from core import study as studies
from core import ExportError
from core.study.runner import StudyRunner
from core.engine.train import Trainer
from core.store.writers import recorded
from tests import lab


def train(exp, root):
    result = recorded(Trainer(exp), root).fit()
    assert result.status == "done", result.message
    return Path(result.run_folder)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def metrics_lines(folder):
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def batch_steps(folder):
    """[(step, epoch, loss, accuracy, lr)] as batches.jsonl holds them, one line an epoch."""
    out = []
    for line in (folder / "batches.jsonl").read_text().splitlines():
        d = json.loads(line)
        out += [(s, d["epoch"], lo, acc, d["lr"])
                for s, lo, acc in zip(d["steps"], d["loss"], d["accuracy"])]
    return out


def assert_cells_are(rows, lines):
    """Each row's cells against its metrics.jsonl line: the same numbers, exactly."""
    assert len(rows) == len(lines)
    for row, line in zip(rows, lines):
        assert int(row["epoch"]) == line["epoch"]
        for column, text in row.items():
            if column == "epoch":
                continue
            split, _, field = column.partition("_")
            value = line[split][field] if split in ("train", "val", "test") else line[column]
            assert float(text) == value, (column, text, value)


def test_a_run_gives_one_row_per_epoch_with_the_values_of_metrics_jsonl(tmp_path):
    folder = train(lab.circles(3, **{"data.val_fraction": 0.2}), tmp_path / "runs")
    out = tmp_path / "out" / "circles.csv"
    batches = tmp_path / "out" / "circles-batches.csv"
    assert export_csv.export_run(folder, out) == [out, batches]
    rows = read_csv(out)
    assert list(rows[0]) == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                             "test_loss", "test_accuracy", "lr", "seconds", "images_per_s"]
    assert_cells_are(rows, metrics_lines(folder))
    steps = read_csv(batches)
    assert list(steps[0]) == ["step", "epoch", "loss", "accuracy", "lr"]
    got = [(int(r["step"]), int(r["epoch"]), float(r["loss"]), float(r["accuracy"]),
            float(r["lr"])) for r in steps]
    assert got == batch_steps(folder)  # exactly: the shortest text of each float
    epochs = [e for _, e, *_ in got]  # every step of the three epochs, numbered across them
    assert [s for s, *_ in got] == list(range(1, len(got) + 1))
    assert epochs == sorted(epochs) and [epochs.count(e) for e in (1, 2, 3)] == [len(got) // 3] * 3


def test_a_run_without_batches_jsonl_gets_the_epoch_table_only(tmp_path):
    folder = train(lab.circles(1), tmp_path / "runs")
    (folder / "batches.jsonl").unlink()  # a run of an older LearnScope
    out = tmp_path / "m.csv"
    assert export_csv.export_run(folder, out) == [out]
    assert not (tmp_path / "m-batches.csv").exists()


def test_ten_classes_add_top5_columns(tmp_path):
    folder = train(lab.tiny_shapes(2), tmp_path / "runs")
    rows = read_csv(export_csv.export_run(folder, tmp_path / "shapes.csv")[0])
    assert {"train_top5", "test_top5"} <= set(rows[0])
    assert_cells_are(rows, metrics_lines(folder))


def test_a_null_is_an_empty_cell_and_a_torn_line_is_left_out(tmp_path):
    folder = train(lab.circles(2), tmp_path / "runs")
    lines = metrics_lines(folder)
    lines[1]["test"]["loss"] = None  # as the run store writes a NaN
    text = "".join(json.dumps(d) + "\n" for d in lines) + '{"epoch": 3, "lr": 0.0'
    (folder / "metrics.jsonl").write_text(text)
    rows = read_csv(export_csv.export_run(folder, tmp_path / "m.csv")[0])
    assert len(rows) == 2 and rows[1]["test_loss"] == ""
    assert float(rows[1]["test_accuracy"]) == lines[1]["test"]["accuracy"]


def tiny_study():
    base = lab.circles(1)
    variants = (studies.Variant("lr 0.01", ("optim.lr=0.01",), 11, "a small step"),
                studies.Variant("lr 1", ("optim.lr=1.0",), 11,
                                'a large one, "quoted", with a comma'))
    return studies.Study("csv, study", "independent", base, variants, "two learning rates")


def test_a_study_gives_one_row_per_rung_with_the_values_of_study_json(tmp_path):
    runner = StudyRunner(tiny_study(), out=tmp_path)
    runner.run()
    table = json.loads((runner.folder / "study.json").read_text())
    out = tmp_path / "study.csv"
    assert export_csv.export_study(runner.folder, out) == [out]
    rows = read_csv(out)
    assert list(rows[0]) == list(table["rungs"][0])
    assert len(rows) == len(table["rungs"]) == 2
    for row, rung in zip(rows, table["rungs"]):
        for key, value in rung.items():
            cell = row[key]
            if value is None:
                assert cell == ""
            elif isinstance(value, bool):
                assert cell == str(value).lower()
            elif isinstance(value, (int, float)):
                assert float(cell) == value
            else:
                assert cell == value
    assert rows[1]["text"] == 'a large one, "quoted", with a comma'


def test_what_cannot_be_exported_is_said(tmp_path):
    with pytest.raises(ExportError, match="not a run folder"):
        export_csv.export_run(tmp_path, tmp_path / "x.csv")
    folder = train(lab.circles(1), tmp_path / "runs")
    (folder / "metrics.jsonl").unlink()
    with pytest.raises(ExportError, match="finished no epoch"):
        export_csv.export_run(folder, tmp_path / "x.csv")
    with pytest.raises(ExportError, match="not a study folder"):
        export_csv.export_study(tmp_path, tmp_path / "x.csv")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "study.json").write_text('{"rungs": 3}')
    with pytest.raises(ExportError, match="no table of rungs"):
        export_csv.export_study(tmp_path / "s", tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_a_folder_that_cannot_be_written_is_named(tmp_path):
    folder = train(lab.circles(1), tmp_path / "runs")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ExportError, match=f"in {re.escape(str(blocker))} .*folder you can write"):
        export_csv.export_run(folder, blocker / "m.csv")
