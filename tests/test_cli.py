import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from core.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_presets_lists_every_lab_preset(capsys):
    code, out, _ = run_cli(capsys, "presets")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == ["circles-mlp", "circles-mlp-figure", "mnist-mlp", "lenet-mnist", "shapes-cnn",
                     "cifar-cnn", "cifar-cnn-best"]


def test_train_preset_prints_the_final_table_and_writes_the_run(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "--preset", "circles-mlp", "--epochs", "2",
                             "--device", "cpu", "--out", str(tmp_path))
    assert code == 0
    assert "after epoch 2:" in out and "train" in out and "test" in out
    folder = Path(out.split("run written to ")[1].strip())
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "done" and summary["epochs"] == 2
    assert set(summary["test"]) == {"loss", "accuracy"}
    assert "epoch 2/2" in err  # progress, a line per epoch when stderr is not a terminal


def no_loading(monkeypatch):
    """Make loading data fail the test: --layers must not need any."""
    def load(*_args, **_kwargs):
        raise AssertionError("--layers loaded data")
    monkeypatch.setattr("core.data.loader.load", load)


def test_layers_prints_the_table_without_data_and_trains_nothing(capsys, tmp_path, monkeypatch):
    import torch
    from core.nets import models
    from core.experiment import presets

    no_loading(monkeypatch)
    empty = tmp_path / "data"  # CIFAR-10 is not on disk
    empty.mkdir()
    code, out, err = run_cli(capsys, "train", "--preset", "cifar-cnn", "--layers",
                             "--set", f"data.root={empty}", "--out", str(tmp_path / "runs"))
    assert code == 0 and err == ""
    with torch.device("meta"):  # CIFAR-10's 3×32×32 images and 10 classes: counts, no memory
        net = models.build(presets.load("cifar-cnn").model, (3, 32, 32), 10)
    total = sum(p.numel() for p in net.parameters())
    assert total == 1_191_170  # the figure the preset's description promises
    assert f"{total:,} parameters to learn" in out and "conv3" in out and "fc1" in out
    assert "after epoch" not in out and "run written" not in out
    assert not (tmp_path / "runs").exists() and not any(empty.iterdir())


def test_layers_of_an_image_folder_count_its_class_folders(capsys, tmp_path, monkeypatch):
    no_loading(monkeypatch)
    for name in ("cats", "dogs", "owls", ".hidden"):  # a hidden folder is no class, as in loading
        (tmp_path / name).mkdir()
    code, out, err = run_cli(capsys, "train", "--preset", "shapes-cnn", "--layers",
                             "--set", "data.dataset=folder", "--set", f"data.root={tmp_path}")
    assert code == 0 and err == ""
    assert [line.split()[1] for line in out.splitlines() if line.startswith("output")] == ["3"]
    code, out, err = run_cli(capsys, "train", "--preset", "shapes-cnn", "--layers",
                             "--set", "data.dataset=folder", "--set", f"data.root={tmp_path / 'no'}")
    assert code == 0 and "assumes 10 classes" in err and len(err.splitlines()) == 1


def test_train_from_a_file_with_overrides(capsys, tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text((ROOT / "resources/presets/circles-mlp-figure.toml").read_text())
    code, out, _ = run_cli(capsys, "train", str(path), "--set", "train.epochs=1",
                           "--set", "data.dataset=moons", "--set", "model.hidden=[3]", "--out", str(tmp_path / "o"))
    assert code == 0
    folder = Path(out.split("run written to ")[1].strip())
    written = tomllib.loads((folder / "config.toml").read_text())
    assert written["data"]["dataset"] == "moons" and written["model"]["hidden"] == [3]
    assert written["train"]["epochs"] == 1


@pytest.mark.parametrize("args, message", [
    (["--set", "optim.lr=-0.1"], "optim.lr: must be > 0.0, got -0.1"),
    (["--set", "optim.lr"], "expected section.field=value"),
    (["--set", "train.colour=3"], "train.colour: unknown setting"),
    (["--epochs", "0"], "train.epochs: must be >= 1, got 0"),
])
def test_invalid_config_exits_2_with_the_field_and_value(capsys, args, message):
    code, out, err = run_cli(capsys, "train", "--preset", "circles-mlp", *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_bad_files_and_names_exit_2(capsys, tmp_path):
    assert run_cli(capsys, "train", "--preset", "nope")[0] == 2
    assert run_cli(capsys, "train", str(tmp_path / "missing.toml"))[0] == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[optim\n")
    code, _, err = run_cli(capsys, "train", str(bad))
    assert code == 2 and "not valid TOML" in err
    assert run_cli(capsys, "train")[0] == 2


def test_divergence_exits_3(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "--preset", "circles-mlp", "--out", str(tmp_path),
                             "--set", "optim.lr=1e20", "--set", "model.activation=relu",
                             "--set", "model.init_std=1.0")
    assert code == 3 and "diverged: The loss became nan" in err


def test_missing_data_exits_1_with_where_and_how(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "--preset", "cifar-cnn", "--set", f"data.root='{tmp_path}'")
    assert code == 1 and str(tmp_path) in err and "download" in err and "Traceback" not in err


def test_a_run_killed_mid_way_keeps_every_finished_epoch(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "core", "train", "--preset", "circles-mlp",
                             "--epochs", "100000", "--device", "cpu", "--out", str(tmp_path)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        metrics = None
        while time.monotonic() < deadline:  # a subprocess: nothing to wait on but its files
            found = list(tmp_path.glob("*/metrics.jsonl"))
            if found and found[0].read_text().count("\n") >= 3:
                metrics = found[0]
                break
            time.sleep(0.05)
        assert metrics is not None, proc.stderr.read() if proc.poll() is not None else "no epochs"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    folder = metrics.parent
    lines = metrics.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.endswith("}")]
    assert len(records) >= 3 and [r["epoch"] for r in records] == list(range(1, len(records) + 1))
    summary = json.loads((folder / "summary.json").read_text())  # always whole, never torn
    # refreshed at most every runs.SAVE_EVERY_S (the first epoch at once): never ahead of metrics
    assert summary["status"] == "running" and 1 <= summary["epochs"] <= len(records)
    from core.store import runs
    from core.store import reader as run_reader
    assert run_reader.load_weights(folder)["output.weight"].shape == (2, 10)
    assert run_reader.open_run(folder).experiment.train.epochs == 100000


def test_ctrl_c_stops_cleanly_and_exits_0(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "core", "train", "--preset", "circles-mlp",
                             "--epochs", "100000", "--device", "cpu", "--out", str(tmp_path)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(tmp_path.glob("*/metrics.jsonl")):
        time.sleep(0.05)
    while time.monotonic() < deadline and not list(tmp_path.glob("*/metrics.jsonl"))[0].read_text():
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Stopped by the user" in err and "after epoch" in out
    summary = json.loads(next(tmp_path.glob("*/summary.json")).read_text())
    assert summary["status"] == "stopped"


def test_an_image_folder_with_broken_files_trains_and_warns(capsys, tmp_path):
    from PIL import Image
    for c, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (20 + i, 16), colour).save(tmp_path / "imgs" / c / f"{i}.png")
    (tmp_path / "imgs" / "red" / "broken.jpg").write_bytes(b"not a jpeg")
    code, out, err = run_cli(capsys, "train", "--preset", "shapes-cnn", "--epochs", "1", "--out", str(tmp_path / "runs"),
                             "--set", "data.dataset=folder", "--set", f"data.root='{tmp_path / 'imgs'}'",
                             "--set", "data.n_train=0", "--set", "data.n_test=2", "--set", "data.image_size=16",
                             "--set", "model.blocks=[]", "--set", "model.kind=mlp", "--set", "model.hidden=[4]")
    assert code == 0, err
    assert "warning: 1 unreadable or non-image files were skipped" in err
    assert "10 train / 0 val / 2 test" in err


# -- Part 1's shortcuts as independent studies: `study KIND` and its older spelling `sweep KIND`
def _flat(exp) -> dict:
    from core.experiment import config as cfg
    return {f"{s}.{k}": v for s, t in cfg.to_dict(exp).items() if isinstance(t, dict)
            for k, v in t.items()}


def test_an_independent_study_gives_one_run_per_variant_differing_in_its_own_field(capsys, tmp_path):
    from core.experiment import config as cfg
    from core.experiment import presets
    from core.study import sweeps
    sets = ["optim.lr=0.1", "train.seed=7", "data.n_train=40", "data.n_test=20"]  # no rung's η
    code, out, err = run_cli(capsys, "study", "lr", "--preset", "circles-mlp", "--epochs", "1",
                             "--out", str(tmp_path), *[a for s in sets for a in ("--set", s)])
    assert code == 0, err
    base = cfg.with_overrides(presets.load("circles-mlp"), sets + ["train.epochs=1"])
    variants = sweeps.study("lr", base).variants
    (folder,) = tmp_path.iterdir()
    rungs = sorted(p for p in folder.iterdir() if p.is_dir())
    assert len(rungs) == len(variants) == 4
    table = json.loads((folder / "study.json").read_text())
    assert table["kind"] == "independent" and [r["status"] for r in table["rungs"]] == ["done"] * 4
    for variant, rung in zip(variants, rungs):
        exp = cfg.load(rung / "config.toml")
        changed = {k for k, v in _flat(exp).items() if _flat(base)[k] != v}
        own = {o.split("=")[0] for o in variant.overrides}
        assert changed == own == {"optim.lr"}, rung.name
        assert exp.optim.lr == float(variant.overrides[0].split("=")[1])
        assert exp.train.seed == 7 and variant.label in out


def test_sweep_is_the_same_study_its_folder_resumed_by_study_kind(capsys, tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text((ROOT / "resources/presets/circles-mlp.toml").read_text(), encoding="utf-8")
    common = ["--epochs", "1", "--out", str(tmp_path / "o"), "--set", "data.n_train=30"]
    code, out, err = run_cli(capsys, "sweep", "batch", str(exp), *common)
    assert code == 0, err
    assert "rung" in out and "full batch (30)" in out and "online (1)" in out  # the study table
    (folder,) = (tmp_path / "o").iterdir()
    before = {p.name: (p / "metrics.jsonl").read_text() for p in folder.iterdir() if p.is_dir()}
    assert len(before) == 3
    code, out, err = run_cli(capsys, "study", "batch", "--experiment", str(exp), *common)
    assert code == 0, err
    after = {p.name: (p / "metrics.jsonl").read_text() for p in folder.iterdir() if p.is_dir()}
    assert after == before and "online (1)" in out  # resumed: the same rungs, none trained again


@pytest.mark.parametrize("args, message", [
    (["study", "lr"], "study lr: give the experiment whose runs differ in lr with --preset"),
    (["study", "lr", "--preset", "circles-mlp", "--experiment", "x.toml"], "(not both;"),
    (["study", "batch", "--preset", "nope"], "--preset: unknown preset 'nope'"),
    (["study", "momentum", "--preset", "circles-mlp"],
     "'momentum' is not a built-in study (known: ladder, recipe), a Part 1 shortcut (batch, lr, "
     "loss, n)"),
    (["study", "ladder"], "study ladder: needs --preset; give --preset NAME, one of cifar-cnn"),
    (["study", "ladder", "--preset", "circles-mlp"], "has no version for --preset circles-mlp"),
    (["study", "ladder", "--preset", "shapes-cnn", "--experiment", "x.toml"],
     "--experiment goes with a Part 1 shortcut"),
    (["sweep", "loss"], "sweep loss: give the experiment whose runs differ in loss with --preset "
                        "NAME or a CONFIG.toml file"),
    (["study", "lr", "--preset", "circles-mlp", "--parallel", "0"], "--parallel: must be 1 or more"),
])
def test_bad_study_kinds_and_presets_exit_2_with_a_sentence(capsys, args, message):
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and err.startswith("error: ") and message in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["train", "--preset", "circles-mlp"],
                                     ["study", "loss", "--preset", "circles-mlp"],
                                     ["sweep", "loss", "--preset", "circles-mlp"]])
def test_tensorboard_is_the_set_of_train_tensorboard(capsys, tmp_path, command):
    logs = tmp_path / "tb 1"
    code, out, err = run_cli(capsys, *command, "--epochs", "1", "--out", str(tmp_path / "o"),
                             "--set", "data.n_train=20", "--tensorboard", str(logs))
    assert code == 0, err
    configs = list((tmp_path / "o").rglob("config.toml"))
    assert len(configs) == (1 if command[0] == "train" else 2)
    assert {tomllib.loads(p.read_text())["train"]["tensorboard"] for p in configs} == {str(logs)}
    # the trainer writes each run's events beside the others, named as its run folder
    assert {p.parent.name for p in logs.glob("*/events.out.tfevents*")} == {
        p.parent.name for p in configs}


def test_ctrl_c_stops_a_sweep_cleanly_exits_0_and_keeps_its_table(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "core", "sweep", "loss", "--preset",
                             "circles-mlp", "--epochs", "100000", "--set", "data.n_train=40",
                             "--out", str(tmp_path)], cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    table = tmp_path / "circles-mlp-loss" / "study.json"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # a subprocess: nothing to wait on but its files
            rungs = json.loads(table.read_text())["rungs"] if table.exists() else []
            metrics = tmp_path / "circles-mlp-loss" / "rung-01-cross-entropy" / "metrics.jsonl"
            if rungs and rungs[0]["status"] == "running" and metrics.exists() \
                    and metrics.read_text():
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "resume" in err and "Traceback" not in err and "stopped" in out
    assert [r["status"] for r in json.loads(table.read_text())["rungs"]] == ["stopped", "pending"]
