import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from core.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_presets_lists_every_lab_preset(capsys):
    code, out, _ = run_cli(capsys, "presets")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == ["circles-mlp", "circles-mlp-figure", "mnist-mlp", "lenet-mnist", "shapes-cnn", "cifar-cnn"]


def test_train_preset_prints_the_final_table_and_writes_the_run(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "--preset", "circles-mlp", "--epochs", "2",
                             "--device", "cpu", "--out", str(tmp_path), "--layers")
    assert code == 0
    assert "after epoch 2:" in out and "train" in out and "test" in out
    assert "hidden1" in out and "total" in out
    folder = Path(out.split("run written to ")[1].strip())
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "done" and summary["epochs"] == 2
    assert set(summary["test"]) == {"loss", "accuracy"}
    assert "epoch 2/2" in err  # progress, a line per epoch when stderr is not a terminal


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
    from core import runs
    assert runs.load_weights(folder)["output.weight"].shape == (2, 10)
    assert runs.open_run(folder).experiment.train.epochs == 100000


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
