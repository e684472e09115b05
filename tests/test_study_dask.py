"""Studies on Dask distributed (core.study.cluster): a LocalCluster of two worker processes
trains the same table as sequential, from workers that write nowhere near the study folder;
a worker killed mid-rung has its rung retried; Ctrl+C leaves no process and the resume keeps
the finished rungs; a scheduler that cannot be reached is one sentence before anything."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from core.study import cluster, sweeps  # noqa: E402
from core.study.runner import StudyRunner, run_study  # noqa: E402
from core.experiment import presets  # noqa: E402
from test_study_processes import (in_session, recorded, resume_keeps, start,  # noqa: E402
                                  wait_for, write_study)

FIELDS = ("label", "status", "stalled", "train_accuracy", "test_accuracy", "best_test",
          "best_epoch", "epochs", "change", "effective_step", "message")


def lr_study():
    return sweeps.study("lr", presets.load("circles-mlp"))


def files_of(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_study_on_dask_gives_the_sequential_table_and_the_same_folders(tmp_path):
    extra = ["train.epochs=4", "train.device=cpu"]
    alone = run_study(lr_study(), tmp_path / "alone", extra=extra)
    scratch = tmp_path / "elsewhere"  # the workers' own disk: nothing shared with the study
    said = []
    executor = cluster.DaskExecutor(workers=2, say=said.append, local_directory=str(scratch))
    runner = StudyRunner(lr_study(), tmp_path / "dask", extra=extra, executor=executor)
    try:
        rows = runner.run()
    finally:
        executor.close()
    assert [{f: r[f] for f in FIELDS} for r in rows] == [{f: r[f] for f in FIELDS} for r in alone]
    for a, d in zip(alone, rows):
        ours = runner.folder / d["run_folder"]
        theirs = tmp_path / "alone" / runner.folder.name / a["run_folder"]
        assert files_of(ours) == files_of(theirs)  # config, metrics, weights, snapshots, rung.json
        assert json.loads((ours / "summary.json").read_text())["status"] == a["status"]
    started = [line for line in said if " started on tcp://" in line]
    assert len(started) == len(rows) and len({line.rsplit(" ", 1)[1] for line in started}) == 2
    assert not list(scratch.rglob("metrics.jsonl"))  # the workers' temporary folders are gone


def test_a_rung_whose_worker_is_killed_is_retried_on_another(tmp_path):
    said, killed = [], threading.Event()
    executor = cluster.DaskExecutor(workers=2, say=said.append)

    def kill(address: str) -> None:
        pid = executor.client.run(os.getpid, workers=[address])[address]
        os.kill(pid, signal.SIGKILL)

    def kill_first(text: str) -> None:  # in the client's event loop: the kill in a thread
        said.append(text)
        if " started on " in text and not killed.is_set():
            killed.set()
            threading.Thread(target=kill, args=(text.rsplit(" ", 1)[1],)).start()
    executor.say = kill_first
    study = sweeps.study("lr", presets.load("circles-mlp"))
    study = type(study)(**{**study.__dict__, "variants": study.variants[:1]})
    try:
        rows = StudyRunner(study, tmp_path, extra=["train.epochs=300", "train.device=cpu"],
                           executor=executor).run()
    finally:
        executor.close()
    assert killed.is_set() and rows[0]["status"] == "done", rows[0]["message"]
    started = [line for line in said if " started on " in line]
    assert len(started) == 2 and started[0] != started[1]  # again, on the other worker


def test_ctrl_c_leaves_no_process_and_the_resume_keeps_the_finished_rungs(tmp_path):
    write_study(tmp_path, epochs=40)
    folder = tmp_path / "out" / "four"
    parent = start(tmp_path, "--executor", "dask", "--workers", "2")
    try:
        wait_for(lambda: recorded(folder), 180, "a first finished rung")
        assert len([p for p in in_session(parent.pid) if p != parent.pid]) >= 2  # the workers
        parent.send_signal(signal.SIGINT)
        out, err = parent.communicate(timeout=60)
    finally:
        if parent.poll() is None:
            parent.kill()
    try:
        wait_for(lambda: not in_session(parent.pid), 20, "the cluster's processes to end")
    finally:
        for pid in in_session(parent.pid):
            os.kill(pid, signal.SIGKILL)
    assert parent.returncode != 0 and "run the same command again to resume" in err
    assert "Traceback" not in err
    rows = resume_keeps(tmp_path, folder, recorded(folder), "--executor", "dask", "--workers", "2")
    assert len(rows) == 4


def test_a_scheduler_that_cannot_be_reached_is_one_sentence_and_nothing_starts(
        tmp_path, capsys, monkeypatch):
    from core.cli.main import main
    monkeypatch.setattr(cluster, "CONNECT_S", 1)
    code = main(["study", "lr", "--preset", "circles-mlp", "--executor", "dask",
                 "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: Cannot reach the Dask scheduler at "
                                        "tcp://127.0.0.1:9") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
    assert main(["study", "lr", "--preset", "circles-mlp", "--scheduler", "tcp://h:1"]) == 2
