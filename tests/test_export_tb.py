"""TensorBoard: the live writer of train.tensorboard and the export of a stored run, read back
with TensorBoard's own EventAccumulator against metrics.jsonl; without the package, a sentence."""

import errno
import json
import sys
import threading
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.summary.writer.record_writer import RecordWriter

import lab
from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
from core.export import tensorboard_logs as export_tb
from core.store import tensorboard as store_tb
from core.nets import inspect as ins
from core.store import reader as run_reader
from core.cli.main import main
from core import ExportError
from core.engine.train import Trainer
from core.store.writers import recorded

INSTALL = "pip install 'learnscope[tensorboard]'"


def _events(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def _expected(run_folder: Path) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(epoch, value)]} as metrics.jsonl holds them, one line an epoch."""
    out: dict[str, list[tuple[int, float]]] = {}
    for line in (run_folder / "metrics.jsonl").read_text().splitlines():
        d = json.loads(line)
        pairs = [(f"{m}/{split}", d[split][m]) for split in ("train", "val", "test")
                 if split in d for m in ("loss", "accuracy", "top5") if m in d[split]]
        pairs += [("learning_rate", d["lr"]), ("time/epoch_seconds", d["seconds"]),
                  ("time/images_per_s", d["images_per_s"])]
        for tag, v in pairs:
            out.setdefault(tag, []).append((d["epoch"], v))
    return out


def _assert_same_scalars(acc: EventAccumulator, run_folder: Path) -> None:
    expected = _expected(run_folder)
    epoch_tags = {t for t in acc.Tags()["scalars"] if not t.startswith("batch/")}
    assert epoch_tags == set(expected)
    for tag, pairs in expected.items():
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        assert [s for s, _ in got] == [s for s, _ in pairs], tag
        assert [v for _, v in got] == pytest.approx([v for _, v in pairs], rel=1e-6), tag  # float32


def _batch_steps(run_folder: Path) -> dict[str, list[tuple[int, float]]]:
    """{"batch/loss": [(step, loss)], "batch/accuracy": …} as batches.jsonl holds them."""
    out: dict[str, list[tuple[int, float]]] = {"batch/loss": [], "batch/accuracy": []}
    for line in (run_folder / "batches.jsonl").read_text().splitlines():
        d = json.loads(line)
        out["batch/loss"] += list(zip(d["steps"], d["loss"]))
        out["batch/accuracy"] += list(zip(d["steps"], d["accuracy"]))
    return out


def _assert_same_batches(acc: EventAccumulator, run_folder: Path) -> None:
    for tag, pairs in _batch_steps(run_folder).items():
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        assert pairs and [s for s, _ in got] == [s for s, _ in pairs], tag
        assert [v for _, v in got] == pytest.approx([v for _, v in pairs], rel=1e-6), tag


def _train(exp, tmp_path) -> Path:
    result = recorded(Trainer(exp), tmp_path / "runs").fit()
    assert result.status == "done", result.message
    return Path(result.run_folder)


def test_training_writes_every_metric_and_the_filters_each_epoch(tmp_path):
    tb = tmp_path / "tb"
    exp = lab.circles(2, **{"train.tensorboard": json.dumps(str(tb))})
    run = _train(exp, tmp_path)
    acc = _events(tb / run.name)  # <folder>/<run folder's name>/
    _assert_same_scalars(acc, run)
    assert {"loss/train", "accuracy/test", "learning_rate"} <= set(acc.Tags()["scalars"])
    steps = [e.step for e in acc.Scalars("batch/loss")]  # every batch, numbered across epochs
    per_epoch = -(-exp.data.n_train // exp.train.batch_size)
    assert steps == list(range(1, 2 * per_epoch + 1))
    _assert_same_batches(acc, run)  # what the run folder keeps is what TensorBoard was given
    [image_tag] = acc.Tags()["images"]
    assert image_tag == "filters/hidden1"
    assert [e.step for e in acc.Images(image_tag)] == [1, 2]
    assert "experiment" in " ".join(acc.Tags()["tensors"])  # the settings, in the Text tab


def test_export_of_a_stored_cnn_run_reads_back_like_its_metrics(tmp_path):
    exp = lab.tiny_shapes(2)
    exp.data.val_fraction = 0.25  # a third split's curves
    run = _train(exp, tmp_path)
    out = export_tb.export_run(run, tmp_path / "tb")
    assert out == tmp_path / "tb" / run.name
    acc = _events(out)
    _assert_same_scalars(acc, run)
    _assert_same_batches(acc, run)  # every batch, as the live writer writes them
    assert {"loss/val", "top5/test"} <= set(acc.Tags()["scalars"])  # Shapes-10: ten classes
    [image] = acc.Images("filters/conv1")  # once, from the saved weights, at the last epoch
    assert image.step == 2
    weight = run_reader.load_weights(run)["conv1.weight"]
    mosaic = ins.filter_mosaic(weight, rgb=weight.shape[1] == 3)
    factor = max(1, min(16, 128 // max(mosaic.shape[:2])))
    assert (image.height, image.width) == (mosaic.shape[0] * factor, mosaic.shape[1] * factor)


def test_a_second_export_replaces_the_first(tmp_path):
    run = _train(lab.circles(1), tmp_path)
    export_tb.export_run(run, tmp_path / "tb")
    out = export_tb.export_run(run, tmp_path / "tb")
    assert len(list(out.glob("events.out.tfevents.*"))) == 1
    assert [e.step for e in _events(out).Scalars("loss/train")] == [1]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def _event_files(folder: Path) -> list[Path]:
    return list(folder.glob("events.out.tfevents.*"))


def _export_from_inside(run: Path, log_dir: Path, monkeypatch) -> int:
    """`cd RUN; python -m core export . --tensorboard DIR`: "." names no run by itself."""
    monkeypatch.chdir(run)
    return main(["export", ".", "--tensorboard", str(log_dir)])


def test_tensorboard_export_from_inside_run_goes_to_run_subfolder(tmp_path, monkeypatch, capsys):
    run = _train(lab.circles(1), tmp_path)
    tb = tmp_path / "tb"
    assert _export_from_inside(run, tb, monkeypatch) == 0
    assert capsys.readouterr().out == f"wrote {tb / run.name}\n"
    assert [p.name for p in tb.iterdir()] == [run.name]  # nothing written into DIR itself
    _assert_same_scalars(_events(tb / run.name), run)


def test_second_tensorboard_export_keeps_first_runs_events(tmp_path, monkeypatch):
    first = _train(lab.circles(1), tmp_path)
    second_exp = lab.circles(2)
    second_exp.name = "second"
    second = _train(second_exp, tmp_path)
    tb = tmp_path / "tb"
    assert _export_from_inside(first, tb, monkeypatch) == 0
    kept = _event_files(tb / first.name)
    assert _export_from_inside(second, tb, monkeypatch) == 0
    assert _event_files(tb / first.name) == kept and len(kept) == 1
    _assert_same_scalars(_events(tb / first.name), first)
    _assert_same_scalars(_events(tb / second.name), second)


def _full_disk(monkeypatch) -> None:
    """Every event write fails as on a full disk, in the SummaryWriter's own thread; that
    thread's exceptions print as a plain `python` prints them (not pytest's hook), to stderr."""
    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(RecordWriter, "write", write)
    monkeypatch.setattr(threading, "excepthook", threading.__excepthook__)


def _stderr_after_writer_threads(capsys) -> str:
    """stderr once the writers' threads have ended: a failed one prints, if at all, before."""
    for t in threading.enumerate():
        if type(t).__module__.startswith("tensorboard."):
            t.join(timeout=30)
    return capsys.readouterr().err


def test_tensorboard_full_disk_is_one_sentence(tmp_path, monkeypatch, capsys):
    run = _train(lab.circles(1), tmp_path)
    _full_disk(monkeypatch)
    assert _export_from_inside(run, tmp_path / "tb", monkeypatch) == 1
    err = _stderr_after_writer_threads(capsys)
    assert err.startswith("error: Cannot write TensorBoard event files in ")
    assert err.count("\n") == 1 and "No space left on device" in err and "free some" in err
    assert not _event_files(tmp_path / "tb" / run.name)

    code = main(["train", "--preset", "circles-mlp", "--epochs", "2", "--device", "cpu",
                 "--out", str(tmp_path / "runs"), "--tensorboard", str(tmp_path / "tb2")])
    err = _stderr_after_writer_threads(capsys)
    assert code == 1 and "Traceback" not in err and "Exception in thread" not in err
    [said] = [line for line in err.splitlines() if line.startswith("error:")]
    assert said.startswith("error: train.tensorboard: cannot write TensorBoard event files")
    assert "No space left on device" in said and "free some disk space" in said


def test_export_errors_are_sentences(tmp_path):
    with pytest.raises(ExportError, match="not a run folder"):
        export_tb.export_run(tmp_path, tmp_path / "tb")
    run = _train(lab.circles(1), tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError, match="Cannot write TensorBoard event files in .*a-file"):
        export_tb.export_run(run, blocker)


def _without_tensorboard(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if absent


def test_export_without_the_package_says_how_to_install_it(tmp_path, monkeypatch):
    run = _train(lab.circles(1), tmp_path)
    _without_tensorboard(monkeypatch)
    with pytest.raises(ExportError, match=r"pip install 'learnscope\[tensorboard\]'"):
        export_tb.export_run(run, tmp_path / "tb")
    assert not (tmp_path / "tb").exists()


def test_training_without_the_package_fails_before_the_first_epoch(tmp_path, monkeypatch):
    _without_tensorboard(monkeypatch)
    exp = lab.circles(1, **{"train.tensorboard": json.dumps(str(tmp_path / "tb"))})
    result = recorded(Trainer(exp), tmp_path / "runs").fit()
    assert (result.status, result.error_kind, result.epochs) == ("failed", "config", 0)
    assert result.message.startswith("train.tensorboard:") and INSTALL in result.message
    assert not (tmp_path / "runs").exists()  # nothing was started


def test_cli_train_without_the_package_prints_the_sentence(tmp_path, monkeypatch, capsys):
    _without_tensorboard(monkeypatch)
    code = main(["train", "--preset", "circles-mlp", "--epochs", "1", "--device", "cpu",
                 "--out", str(tmp_path / "runs"),
                 "--set", f"train.tensorboard={json.dumps(str(tmp_path / 'tb'))}"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: train.tensorboard:") and INSTALL in err
    assert "Traceback" not in err


def test_window_without_the_package_shows_a_banner(window, qtbot, tmp_path, monkeypatch):
    _without_tensorboard(monkeypatch)
    w = window(lab.circles(1))
    w.training_panel.tensorboard.setText(str(tmp_path / "tb"))  # the Training bar's field
    assert w.current_experiment().train.tensorboard == str(tmp_path / "tb")
    with qtbot.waitSignal(w.run_finished, timeout=60_000) as finished:
        assert w.start_training()
    assert finished.args[0].status == "failed"
    assert INSTALL in w.banner.message() and "TensorBoard folder" in w.banner.message()
    assert not w.is_training() and w.training_panel.start.isEnabled()


def test_first_layer_is_the_first_conv_or_linear_weight():
    state = {"bn.weight": torch.ones(3), "conv1.weight": torch.zeros(4, 3, 3, 3),
             "output.weight": torch.zeros(2, 4)}
    assert store_tb.first_layer(state)[0] == "conv1"
    assert store_tb.first_layer({"bn.weight": torch.ones(3)}) is None
