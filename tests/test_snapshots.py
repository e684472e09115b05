"""Snapshots: a run keeps its network at epoch 0 and after each epoch, within a budget; a killed
run keeps the finished ones; a damaged one is named and skipped; they are tensors only (the
safetensors layout, read without unpickling anything)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import lab
from core.engine.train import Observer, Trainer
from core.experiment import presets
from core.nets import models
from core.store import runs, snapshots
from core.store.writers import recorded

ROOT = Path(__file__).resolve().parents[1]


def test_auto_keeps_every_epoch_of_a_small_net_and_thins_the_practical_cnn_to_the_budget():
    circles = models.build(presets.load("circles-mlp").model, (2,), 2)
    assert snapshots.kept_epochs(150, snapshots.snapshot_bytes(circles), "auto") is None
    cnn = models.build(presets.load("shapes-cnn").model, (3, 32, 32), 10)
    size = snapshots.snapshot_bytes(cnn)
    assert size == 2 * 1_191_170  # the practical CNN's parameters, in half precision
    kept = snapshots.kept_epochs(30, size, "auto")
    # 30 epochs and the initial weights are 31 × 2.4 MB = 74 MB: 28 evenly spread epochs fit
    assert {0, 30} <= kept and len(kept) == snapshots.BUDGET // size == 28
    assert len(kept) * size <= snapshots.BUDGET
    assert snapshots.kept_epochs(30, size, "every") is None
    assert snapshots.kept_epochs(30, size, "none") == set()


def test_a_run_keeps_its_initial_and_every_epochs_network_and_confusion(tmp_path):
    result = recorded(Trainer(lab.circles(3, **{"data.n_train": 40})), tmp_path).fit()
    folder = Path(result.run_folder)
    assert snapshots.epochs(folder) == [0, 1, 2, 3]
    first, _ = snapshots.load(folder, 0)
    last, confusion = snapshots.load(folder, 3)
    final = torch.load(folder / "weights.pt", weights_only=True)
    assert all(v.dtype == torch.float32 for v in last.values())
    for k, v in final.items():  # float16 keeps what a picture shows
        assert torch.allclose(last[k], v, atol=2e-3, rtol=2e-3), k
    assert any(not torch.equal(first[k], last[k]) for k in last)  # it learned
    assert confusion["test"].shape == (2, 2) and confusion["test"].sum() > 0
    runs.delete_run(folder, tmp_path)  # a run with snapshots is still LearnScope's to delete
    assert not folder.exists()


def test_layer_health_is_kept_with_the_epochs_it_was_sampled_at(tmp_path):
    result = recorded(Trainer(lab.circles(4, **{"data.n_train": 40})), tmp_path).fit()
    kept = snapshots.health(result.run_folder)
    assert kept and kept[0][0] == 1  # epoch 0 has not trained: no activations, no gradients
    epochs_, steps = [e for e, _, _ in kept], [s for _, s, _ in kept]
    assert steps == sorted(steps) and steps[0] > 0 and set(epochs_) <= {1, 2, 3, 4}
    layers = kept[0][2]
    assert set(layers) == {"hidden1", "output"}, layers  # the circles MLP's weight layers
    _mean, std, dead, grad = layers["hidden1"]
    assert std > 0 and 0 <= dead <= 1 and grad > 0


def test_a_snapshot_that_cannot_be_written_is_said_and_the_run_ends(tmp_path, monkeypatch):
    def full(path, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(snapshots, "_replace", full)
    result = recorded(Trainer(lab.circles(2, **{"data.n_train": 40})), tmp_path).fit()
    assert result.status == "done"
    assert "Snapshots from epoch 0 on could not be kept: No space left on device" in result.message
    assert (Path(result.run_folder) / "weights.pt").is_file()


def test_none_keeps_only_the_final_weights(tmp_path):
    exp = lab.circles(2, **{"data.n_train": 40, "train.snapshots": '"none"'})
    folder = Path(recorded(Trainer(exp), tmp_path).fit().run_folder)
    assert snapshots.epochs(folder) == [] and (folder / "weights.pt").is_file()


def test_a_damaged_snapshot_is_named_and_code_is_never_run(tmp_path):
    folder = Path(recorded(Trainer(lab.circles(2, **{"data.n_train": 40})), tmp_path).fit()
                  .run_folder)
    (folder / "snapshots" / "epoch-0001.safetensors").write_bytes(b"not a snapshot")
    with pytest.raises(snapshots.SnapshotError, match=r"epoch-0001.safetensors of .* cannot be "
                                                      r"read.*epoch 1 is skipped"):
        snapshots.load(folder, 1)

    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))
    torch.save({"w": Boom()}, folder / "snapshots" / "epoch-0002.safetensors")  # a pickle
    with pytest.raises(snapshots.SnapshotError):
        snapshots.load(folder, 2)
    assert not (tmp_path / "pwned").exists()
    whole = (folder / "snapshots" / "epoch-0000.safetensors").read_bytes()
    (folder / "snapshots" / "epoch-0001.safetensors").write_bytes(whole[:-10])  # torn
    with pytest.raises(snapshots.SnapshotError, match="epoch 1 is skipped"):
        snapshots.load(folder, 1)
    assert snapshots.load(folder, 0)[0]  # the others still load


def test_a_foreign_file_among_the_snapshots_stops_a_delete(tmp_path):
    folder = Path(recorded(Trainer(lab.circles(1, **{"data.n_train": 40})), tmp_path).fit()
                  .run_folder)
    (folder / "snapshots" / "mine.txt").write_text("a student's note")
    with pytest.raises(runs.RunError, match="snapshots"):
        runs.delete_run(folder, tmp_path)
    assert (folder / "snapshots" / "mine.txt").exists()


def test_a_killed_run_keeps_every_snapshot_it_finished(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "core", "train", "--preset", "circles-mlp",
                             "--epochs", "100000", "--device", "cpu", "--out", str(tmp_path)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline, found = time.monotonic() + 60, []
        while time.monotonic() < deadline and len(found) < 4:  # a subprocess: only its files
            found = list(tmp_path.glob("*/snapshots/epoch-*.safetensors"))
            time.sleep(0.05)
        assert len(found) >= 4, proc.stderr.read() if proc.poll() is not None else "none"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    folder = found[0].parent.parent
    kept = snapshots.epochs(folder)
    assert kept[:4] == [0, 1, 2, 3]
    for epoch in kept:  # each one whole: written atomically
        state, _ = snapshots.load(folder, epoch)
        assert state


def test_the_headless_inspect_draws_any_kept_epoch_and_every_frame(tmp_path, capsys):
    from PIL import Image

    from core.cli.main import main
    from core.nets import inspect as ins
    from core.report import replay
    folder = Path(recorded(Trainer(lab.tiny_shapes(epochs=3)), tmp_path / "runs").fit().run_folder)
    assert main(["inspect", str(folder), "--view", "filters", "--frames", str(tmp_path / "f")]) == 0
    frames = sorted((tmp_path / "f").iterdir())
    assert [p.name for p in frames] == [f"epoch-{e:04d}.png" for e in range(4)]
    assert frames[0].read_bytes() != frames[-1].read_bytes()  # the filters moved
    state, _ = snapshots.load(folder, 2)
    assert main(["inspect", str(folder), "--epoch", "2", "--png", str(tmp_path / "e2.png")]) == 0
    drawn = np.asarray(Image.open(tmp_path / "e2.png").convert("RGB"))
    title, body = drawn[:replay.TITLE_PX], drawn[replay.TITLE_PX:]
    assert (title < 128).any()  # the run's name and the epoch, in black
    mosaic = ins.filter_mosaic(state["conv1.weight"], rgb=True)  # the Filters view's tiles
    factor = body.shape[1] // mosaic.shape[1]
    assert factor > 1 and np.abs(body[::factor, ::factor] - mosaic * 255).max() <= 1
    assert main(["inspect", str(folder), "--gif", str(tmp_path / "r.gif")]) == 0
    with Image.open(tmp_path / "r.gif") as gif:
        assert gif.n_frames == 4 and gif.info["loop"] == 0
    assert main(["inspect", str(folder), "--epoch", "7", "--png", str(tmp_path / "x.png")]) == 1
    assert "the run kept epochs 0, 1, 2, 3" in capsys.readouterr().err
    for p in (folder / "snapshots").iterdir():  # a run from before snapshots were kept
        p.unlink()
    (folder / "snapshots").rmdir()
    assert main(["inspect", str(folder), "--png", str(tmp_path / "final.png")]) == 0
    assert main(["inspect", str(folder), "--frames", str(tmp_path / "g")]) == 1
    assert "kept no snapshots" in capsys.readouterr().err


def test_the_layout_is_safetensors_and_round_trips_every_kept_dtype():
    import json
    import struct
    tensors = {"w": torch.randn(3, 4).half(), "n": torch.tensor([1, 2], dtype=torch.int64),
               "b": torch.tensor([True, False]), "e": torch.zeros(0, 5)}
    raw = snapshots.encode(tensors)
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert n % 8 == 0 and header["w"] == {"dtype": "F16", "shape": [3, 4], "data_offsets": [0, 24]}
    back = snapshots.decode(raw)
    assert all(torch.equal(back[k], v) and back[k].dtype == v.dtype for k, v in tensors.items())
    with pytest.raises(ValueError):
        snapshots.decode(raw[:8] + b"[" + raw[9:])  # a header that is not a table
