"""A study's processes under attack: a killed `--parallel 2` study leaves no process behind
and its resume trains nothing that had finished; two starts of one study at once train each
rung once; a rung whose end study.json never heard of is kept from its own rung.json; the
lock on a study folder ends with the process that holds it."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import study as studies
from core.files.folder_lock import FolderBusy, FolderLock
from core.study.runner import RUNG_FILE, StudyRunner, record_rung, study_folder, train_rung

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="counts processes through /proc")

#: four rungs of a few seconds each, on the embedded Shapes-10 images
STUDY = """
[study]
name = "four"
kind = "cumulative"
preset = "shapes-cnn"
[data]
n_train = 64
n_test = 32
[train]
epochs = {epochs}
batch_size = 32
device = "cpu"
[model]
fc = [8]
blocks = [{{channels = 4, kernel = 3, padding = 1}}]
[[study.variant]]
label = "baseline"
[[study.variant]]
label = "+ standardisation"
set = ["data.standardize=\\"channel\\""]
[[study.variant]]
label = "+ dropout"
set = ["model.dropout=0.2"]
[[study.variant]]
label = "+ η = 0.01"
set = ["optim.lr=0.01"]
"""


def write_study(tmp_path: Path, epochs: int) -> Path:
    path = tmp_path / "four.toml"
    path.write_text(STUDY.format(epochs=epochs), encoding="utf-8")
    return path


def start(tmp_path: Path, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core", "study", "four.toml", "--out", "out",
                             *args], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def in_session(sid: int) -> list[int]:
    """The processes of a session (the study's parent started it): its workers and helpers."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[3]) == sid:  # state, ppid, pgrp, session
            out.append(int(entry))
    return out


def wait_for(condition, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def recorded(folder: Path) -> dict[str, float]:
    """The rung folders whose rung.json says they ended, with that file's time stamp."""
    return {p.parent.name: p.stat().st_mtime_ns for p in folder.glob(f"rung-*/{RUNG_FILE}")}


def resume_keeps(tmp_path: Path, folder: Path, finished: dict[str, float], *args) -> list[dict]:
    """Run the study again (with args); check it ends done everywhere, keeping the finished
    rungs as they were (not trained again); return its rows."""
    resumed = start(tmp_path, *args)
    _out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    after = recorded(folder)
    for name, stamp in finished.items():
        assert after[name] == stamp  # kept as it was, not trained again
    rows = json.loads((folder / "study.json").read_text())["rungs"]
    assert all(r["status"] == "done" for r in rows)
    return rows


def test_killed_parallel_study_leaves_no_process_and_its_resume_retrains_nothing_finished(tmp_path):
    write_study(tmp_path, epochs=6)
    folder = tmp_path / "out" / "four"
    parent = start(tmp_path, "--parallel", "2")
    try:
        # kill -9 once one rung has ended (recorded) while others still train
        wait_for(lambda: recorded(folder), 120, "a first finished rung")
        workers = [p for p in in_session(parent.pid) if p != parent.pid]
        assert len(workers) >= 2, "the two workers (and the resource tracker) should be there"
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
    finally:
        if parent.poll() is None:
            parent.kill()
    try:
        wait_for(lambda: not in_session(parent.pid), 10, "the workers to end with their parent")
    finally:  # a failed test leaves no process behind either
        for pid in in_session(parent.pid):
            os.kill(pid, signal.SIGKILL)
    finished = recorded(folder)
    assert finished
    rows_before = json.loads((folder / "study.json").read_text())["rungs"]
    rows = resume_keeps(tmp_path, folder, finished, "--parallel", "2")
    used = {r["run_folder"] for r in rows}
    assert set(finished) <= used  # the table takes the recorded rungs, even those it missed
    assert len(rows) == len(rows_before) == 4


def test_two_concurrent_starts_of_one_study_train_each_rung_once(tmp_path):
    write_study(tmp_path, epochs=2)
    first, second = start(tmp_path), start(tmp_path)
    results = [p.communicate(timeout=300) + (p.returncode,) for p in (first, second)]
    folder = tmp_path / "out" / "four"
    trained = sorted(p.parent.name for p in folder.glob("rung-*/summary.json"))
    assert trained == sorted({studies.rung_folder_name(k, label) for k, label in enumerate(
        ["baseline", "+ standardisation", "+ dropout", "+ η = 0.01"])})  # each once
    codes = sorted(code for _, _, code in results)
    assert codes in ([0, 0], [0, 1])  # the later one resumed a finished study, or was refused
    for _out, err, code in results:
        if code == 1:  # says so, and where
            assert "already running" in err and "in out/four" in err


def test_a_rung_its_worker_recorded_is_kept_when_study_json_missed_it(tmp_path):
    study = studies.loads(STUDY.format(epochs=1))
    runner = StudyRunner(study, tmp_path)
    runner.begin()
    folder = runner.start_rung(0)  # study.json: rung 1 running, as when a kill came
    measured = train_rung(runner.rungs[0][1], folder)
    record_rung(folder, measured)
    runner.finish()
    again = StudyRunner(study, tmp_path)
    todo = again.begin()
    again.finish()
    assert todo == [1, 2, 3]
    assert again.rows[0]["status"] == "done" and again.rows[0]["run_folder"] == folder.name
    assert again.rows[0]["test_accuracy"] == measured["test_accuracy"]


def test_a_second_runner_on_a_study_folder_is_refused_and_says_where(tmp_path):
    study = studies.loads(STUDY.format(epochs=1))
    first = StudyRunner(study, tmp_path)
    first.begin()
    try:
        with pytest.raises(FolderBusy, match=f"already running \\(process {os.getpid()} .*"
                                             f"in {study_folder(study, tmp_path)}"):
            StudyRunner(study, tmp_path).begin()
    finally:
        first.finish()
    StudyRunner(study, tmp_path).begin()  # free again once the first let go


def test_the_lock_of_a_killed_process_is_free_at_once(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from core.files.folder_lock import FolderLock; "
        f"FolderLock({str(tmp_path)!r}).acquire(); print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusy, match=f"process {holder.pid} "):
            FolderLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait(10)
    with FolderLock(tmp_path) as lock:  # no stale lock to clear by hand
        assert lock.held


def test_a_sequential_run_records_each_rung_in_its_own_folder(tmp_path):
    study = studies.loads(STUDY.format(epochs=1))
    study = dataclasses.replace(study, variants=study.variants[:2])
    rows = StudyRunner(study, tmp_path).run()
    for row in rows:
        rung = json.loads((study_folder(study, tmp_path) / row["run_folder"] / RUNG_FILE)
                          .read_text())
        assert rung["status"] == row["status"] == "done"
        assert rung["test_accuracy"] == row["test_accuracy"]


@pytest.mark.parametrize("damage", [b"\xff\xfe", b"[1, 2]", b'{"status": "done"', b"",
                                    b'{"status": "running"}', b'{"status": 7}'])
def test_a_damaged_rung_json_means_the_rung_trains_again(tmp_path, damage):
    study = studies.loads(STUDY.format(epochs=1))
    study = dataclasses.replace(study, variants=study.variants[:1])
    runner = StudyRunner(study, tmp_path)
    runner.begin()
    folder = runner.start_rung(0)  # killed before study.json heard of its end
    (folder / RUNG_FILE).write_bytes(damage)
    runner.finish()
    again = StudyRunner(study, tmp_path)
    assert again.begin() == [0]  # not kept on the word of a damaged file
    again.finish()
