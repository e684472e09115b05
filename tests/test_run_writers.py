"""The Trainer writes nothing itself; the command line, a study and the window attach the same
writers (core.store.writers) and get the same run folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
import lab
from core.cli.main import main
from core.engine.train import Observer, Trainer
from core.store.writers import RunRecorder, recorded
from core.study import Study, Variant
from core.study.runner import run_study

SMALL = {"data.n_train": 40, "data.n_test": 20}


def everything_under(*roots: Path) -> set[Path]:
    return {p for root in roots if root.exists() for p in root.rglob("*")}


def test_a_trainer_with_only_a_watching_observer_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    watched = []

    class Watch(Observer):
        def on_epoch_end(self, record):
            watched.append(record.epoch)

    before = everything_under(tmp_path)
    result = Trainer(lab.circles(2, **SMALL), [Watch()]).fit()
    assert result.status == "done" and watched == [1, 2]
    assert result.run_folder is None
    assert everything_under(tmp_path) == before  # no run folder, no cache, nothing


def test_writers_come_first_so_a_run_holds_an_epoch_before_anyone_is_told(tmp_path):
    seen = []

    class Look(Observer):
        def on_epoch_end(self, record):
            lines = (Path(trainer.run_folder) / "metrics.jsonl").read_text().splitlines()
            seen.append(len(lines) == record.epoch)

    trainer = recorded(Trainer(lab.circles(2, **SMALL), [Look()]), tmp_path)
    assert isinstance(trainer.observers[0], RunRecorder)
    assert trainer.fit().status == "done" and seen == [True, True]


def shape_of(folder: Path) -> dict:
    """What a run folder holds, without what differs from run to run (times, names, numbers):
    its files, the summary's fields, each metrics line's fields, the weights' tensors."""
    summary = json.loads((folder / "summary.json").read_text())
    lines = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    weights = torch.load(folder / "weights.pt", weights_only=True)
    return {"files": sorted(p.name for p in folder.iterdir()),
            "summary": sorted(k for k in summary if k not in ("pid", "host", "boot", "started")),
            "status": summary["status"], "epochs": summary["epochs"],
            "metrics": [sorted(line) for line in lines],
            "batches": len((folder / "batches.jsonl").read_text().splitlines()),
            "weights": {k: tuple(v.shape) for k, v in weights.items()}}


def test_the_cli_a_study_and_the_window_write_the_same_run_folder(qtbot, tmp_path):
    exp = lab.circles(2, **SMALL)
    sets = [f"{k}={v}" for k, v in SMALL.items()]
    assert main(["train", "--preset", "circles-mlp", "--epochs", "2", "--out",
                 str(tmp_path / "cli"), *sum((["--set", s] for s in sets), [])]) == 0
    (cli,) = (tmp_path / "cli").iterdir()

    run_study(Study("one", "independent", exp, (Variant("baseline"),)), tmp_path / "study")
    (rung,) = [p for p in (tmp_path / "study" / "one").iterdir() if p.is_dir()]

    from app.worker import TrainingSession
    session = TrainingSession(exp, run_root=tmp_path / "window")
    with qtbot.waitSignal(session.finished, timeout=60_000) as ended:
        session.start()
    assert ended.args[0].status == "done"
    (window,) = (tmp_path / "window").iterdir()

    shapes = [shape_of(f) for f in (cli, rung, window)]
    files = {name for s in shapes for name in s["files"]}
    assert {"config.toml", "metrics.jsonl", "batches.jsonl", "summary.json", "weights.pt"} <= files
    rung_only = {"rung.json"}  # the rung's row of the study's table, kept in its own folder
    for s in shapes:
        s["files"] = [f for f in s["files"] if f not in rung_only]
    assert shapes[0] == shapes[1] == shapes[2]
    assert shapes[0]["status"] == "done" and shapes[0]["epochs"] == 2


def test_kind_of_is_the_only_test_of_a_folders_kind():
    """A run folder holds config.toml, a study folder study.toml or study.json: only
    core.files.kind_of looks for them to tell (a second test would drift from it)."""
    root = Path(__file__).resolve().parents[1]
    probe = re.compile(r"""["'](config\.toml|study\.json|study\.toml)["']\)\.(is_file|exists)\(""")
    found = []
    for folder in ("core", "app"):
        for path in (root / folder).rglob("*.py"):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if probe.search(line):
                    found.append(f"{path.relative_to(root)}:{n}")
    assert found == [f"core/files/__init__.py:{n}" for n in _kind_of_lines(root)], found


def _kind_of_lines(root: Path) -> list[int]:
    text = (root / "core" / "files" / "__init__.py").read_text().splitlines()
    start = next(i for i, line in enumerate(text) if line.startswith("def kind_of("))
    end = next(i for i in range(start + 1, len(text)) if text[i].startswith("def "))
    return [i + 1 for i in range(start, end)
            if re.search(r"(config\.toml|study\.json|study\.toml)[\"']\)\.is_file", text[i])]
