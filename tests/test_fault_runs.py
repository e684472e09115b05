"""The run store under attack: damaged run files, random bytes in every run
file (a hypothesis fuzz), runs whose process was killed (they read "interrupted", never
"running" for ever), kill -9 of a CLI run at random moments, and Ctrl+C / SIGTERM at any moment
of `python -m core` and `learnscope`."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.experiment import config as cfg
from core.experiment import presets
from core.store import runs as store
from core.store import liveness
from core.store import reader as run_reader
from core import LearnScopeError
from core.engine.records import EpochRecord, SplitMetrics
from core.report.notes import read_notes, write_notes

ROOT = Path(__file__).resolve().parents[1]


def tiny_circles(epochs: int = 1) -> cfg.Experiment:
    return cfg.with_overrides(presets.load("circles-mlp"), [
        f"train.epochs={epochs}", "train.device=cpu", "data.n_train=40", "data.n_test=20"])


def make_run(root: Path, epochs: int = 1) -> Path:
    from core.engine.train import Trainer
    from core.store.writers import recorded
    return Path(recorded(Trainer(tiny_circles(epochs)), root).fit().run_folder)


def read_all(root: Path) -> list[run_reader.Run]:
    """What the Runs panel and a notebook do with a runs folder: list, open, read metrics."""
    listed = run_reader.list_runs(root)
    for run in listed:
        assert isinstance(run.summary, dict) and isinstance(run.summary["status"], str)
        assert isinstance(run.name, str) and isinstance(run.problem, str)
        again = run_reader.open_run(run.folder)
        assert again.summary == run.summary
        for record in run.metrics():
            assert isinstance(record, EpochRecord) and type(record.epoch) is int
            float(record.epoch)  # a plot can draw it
            assert all(type(m.loss) is float and type(m.accuracy) is float
                       for m in (record.train, record.val, record.test) if m is not None)
        assert isinstance(run.metrics_problem, str)
        steps = run.batches()
        assert steps.steps.dtype.kind == "i" and steps.loss.dtype.kind == "f"
        assert all(len(a) == len(steps)
                   for a in (steps.epoch, steps.loss, steps.accuracy, steps.lr))
        assert isinstance(run.batches_problem, str)
        read_notes(run.folder)  # the lab report's notes: a damaged file reads as none
    return listed


# -- damaged files: what the runs panel's tests do not already cover
@pytest.fixture
def default_recursion_limit():
    """Python's own recursion limit for one test: torch's inductor raises it to 2,000 for the
    rest of the process when it first compiles, and how deep a file can be read or written
    back depends on it."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(before)


def test_deep_nesting_in_a_metrics_line_and_in_a_summary_field_is_left_out_or_refused(
        tmp_path, default_recursion_limit):
    folder = make_run(tmp_path)
    good = (folder / "metrics.jsonl").read_bytes()
    deep_line = b'{"epoch": 2, "train": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1000 + b"}\n"
    (folder / "metrics.jsonl").write_bytes(good + deep_line + b"[" * 1000 + b"]" * 1000 + b"\n")
    (run,) = read_all(tmp_path)
    assert [r.epoch for r in run.metrics()] == [1]
    assert run.metrics_problem.startswith("2 lines of metrics.jsonl are not epoch records")
    # readable but too deep to write back: renaming says so instead of a RecursionError
    summary = json.loads((folder / "summary.json").read_text())
    (folder / "summary.json").write_text(json.dumps(summary)[:-1] + ', "x": '
                                         + "[" * 950 + "]" * 950 + "}")
    (run,) = read_all(tmp_path)
    assert run.summary["status"] == "done" and not run.problem
    with pytest.raises(store.RunError, match="nested too deeply to rewrite"):
        store.rename_run(folder, "renamed", tmp_path)


def test_numbers_no_float_can_hold_are_left_out_of_the_plots(qtbot, tmp_path):
    from app.views.plots import PlotsView
    folder = make_run(tmp_path)
    huge = "9" * 400
    (folder / "metrics.jsonl").write_text(
        f'{{"epoch": {huge}, "train": {{"loss": 1}}}}\n'
        f'{{"epoch": 1e999, "train": {{"loss": 1}}}}\n'
        f'{{"epoch": 1, "lr": {huge}, "train": {{"loss": {huge}, "accuracy": NaN}}}}\n')
    (run,) = read_all(tmp_path)
    (record,) = run.metrics()  # the two lines without a float epoch are left out
    assert record.epoch == 1 and record.val is None and record.test is None
    assert all(math.isnan(v) for v in (record.lr, record.train.loss, record.train.accuracy,
                                       record.seconds, record.images_per_s))
    plots = PlotsView()
    qtbot.addWidget(plots)
    plots.set_overlays([("run", [record])])
    with pytest.raises(ValueError, match="whole epoch number"):
        EpochRecord.from_dict({"epoch": int(huge), "train": {"loss": int(huge)}})
    hand_made = EpochRecord.from_dict({"epoch": 2, "lr": int(huge), "test": {"loss": 0.5}})
    assert math.isnan(hand_made.lr) and hand_made.test.loss == 0.5
    plots.set_overlays([("hand-made", [hand_made])])


def test_a_damaged_batches_jsonl_never_stops_listing_or_exporting(tmp_path):
    from core.export import csv_files as export_csv
    from core.export import tensorboard_logs as export_tb
    folder = make_run(tmp_path / "runs", epochs=2)
    good = (folder / "batches.jsonl").read_text().splitlines(keepends=True)
    first = json.loads(good[0])
    wrong = [dict(first, steps=first["steps"][:-1]),          # a loss without its step
             dict(first, steps=[True] * len(first["steps"])), dict(first, epoch=10 ** 400)]
    (folder / "batches.jsonl").write_text(
        good[0] + "[" * 1000 + "]" * 1000 + "\nnot json\n" + "".join(
            json.dumps(d) + "\n" for d in wrong) + good[1] + '{"epoch": 3, "steps": [4')
    (run,) = read_all(tmp_path / "runs")
    steps = run.batches()
    assert run.batches_problem == ("5 lines of batches.jsonl are not records of training steps "
                                   "and were left out")  # the torn last line is no error
    assert steps.steps.tolist() == first["steps"] + json.loads(good[1])["steps"]
    assert steps.loss.tolist()[:len(first["loss"])] == first["loss"]
    out = export_csv.export_run(folder, tmp_path / "m.csv")
    assert out[1].read_text().count("\n") == len(steps) + 1  # a header and a row a step
    export_tb.export_run(folder, tmp_path / "tb")
    (folder / "batches.jsonl").write_bytes(b"\xff\x00" * 50 + b"\n")  # not text at all
    (run,) = read_all(tmp_path / "runs")
    assert len(run.batches()) == 0 and run.batches_problem.startswith("1 line of batches.jsonl")
    assert export_csv.export_run(folder, tmp_path / "n.csv") == [tmp_path / "n.csv"]


# -- the fuzz: random bytes in each run file
@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """One real run folder (1 epoch of a tiny circles run), copied for every example."""
    root = tmp_path_factory.mktemp("pristine")
    folder = make_run(root)
    write_notes(folder, {"curves": "the loss falls"})  # every file a run folder may hold
    return folder


def _json_ish():
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                        st.text(max_size=20), st.sampled_from([10 ** 400, -10 ** 400, 2 ** 63]))
    values = st.recursive(scalars, lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.sampled_from(
            ["status", "epoch", "epochs", "name", "started", "pid", "host", "heartbeat", "train",
             "test", "val", "loss", "accuracy", "message", "lr", "x"]), kids, max_size=5)),
        max_leaves=12)
    return values.map(lambda v: json.dumps(v, allow_nan=True).encode())


def _damage(original: bytes):
    """Random bytes, JSON-ish text, or the file's own bytes cut, overwritten or extended."""
    return st.one_of(
        st.binary(max_size=400),
        _json_ish(),
        st.lists(_json_ish(), max_size=4).map(lambda lines: b"\n".join(lines) + b"\n"),
        st.integers(0, len(original)).map(lambda n: original[:n]),
        st.tuples(st.integers(0, len(original)), st.binary(min_size=1, max_size=16)).map(
            lambda t: original[:t[0]] + t[1] + original[t[0] + len(t[1]):]),
        st.binary(max_size=64).map(lambda b: original + b),
    )


def _check_restore(run: run_reader.Run) -> None:
    from core.store.restore import restore
    try:
        restored = restore(run, device="cpu")
    except LearnScopeError as e:  # its own error, and a sentence
        text = str(e)
        assert text and "Traceback" not in text and text[0].isupper(), text
    else:
        assert restored.model is not None


# rung.json is a study's (core.study.runner reads it on resume: tests/test_study_processes.py)
@pytest.mark.parametrize("name", [f for f in store.RUN_FILES if f != "rung.json"])
def test_random_bytes_in_a_run_file_never_raise_from_the_store(pristine, tmp_path, name):
    original = (pristine / name).read_bytes()
    root = tmp_path / "runs"
    folder = root / pristine.name
    shutil.copytree(pristine, folder)
    seen = {"examples": 0}

    @settings(max_examples=500, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=_damage(original))
    def check(data: bytes) -> None:
        seen["examples"] += 1
        (folder / name).write_bytes(data)
        try:
            (run,) = read_all(root)
            _check_restore(run)
        finally:
            (folder / name).write_bytes(original)

    check()
    assert seen["examples"] >= 500


# -- runs whose process is gone read "interrupted"
def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def _write_summary(folder: Path, **fields) -> None:
    s = _summary(folder)
    s.update(fields)
    (folder / "summary.json").write_text(json.dumps(s))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: no process has this pid now (reuse within the test is unlikely)
    return proc.pid


def test_a_running_run_whose_process_is_gone_reads_interrupted(tmp_path):
    folder = make_run(tmp_path)
    assert {"pid", "host", "heartbeat"} <= set(_summary(folder))
    here = socket.gethostname()
    _write_summary(folder, status="running", pid=_dead_pid(), host=here, heartbeat=time.time())
    (run,) = read_all(tmp_path)
    assert run.summary["status"] == "interrupted"
    assert run.summary["message"].startswith("The process that trained it ended without finishing")
    assert [r.epoch for r in run.metrics()] == [1]
    # another host's run: alive while its summary is fresh, interrupted once it is old
    _write_summary(folder, pid=_dead_pid(), host=here + "-elsewhere", heartbeat=time.time())
    assert run_reader.open_run(folder).summary["status"] == "running"
    _write_summary(folder, heartbeat=time.time() - liveness.STALE_AFTER_S - 60)
    assert run_reader.open_run(folder).summary["status"] == "interrupted"
    # a summary of an older LearnScope (no pid): its file's age tells
    s = {k: v for k, v in _summary(folder).items() if k not in ("pid", "host", "heartbeat")}
    (folder / "summary.json").write_text(json.dumps(s))
    assert run_reader.open_run(folder).summary["status"] == "running"
    old = time.time() - liveness.STALE_AFTER_S - 60
    os.utime(folder / "summary.json", (old, old))
    assert run_reader.open_run(folder).summary["status"] == "interrupted"
    # wrong types in the new fields are left out and said, never raised
    _write_summary(folder, pid="12", host=5, heartbeat="now", boot=[1])
    run = run_reader.open_run(folder)
    assert run.problem == "summary.json: 'boot' is [1], not text (and 3 more)"
    assert "pid" not in run.summary and "heartbeat" not in run.summary


def test_the_run_this_process_writes_reads_running(tmp_path):
    writer = store.RunWriter(tiny_circles(), tmp_path)
    try:
        writer.epoch(EpochRecord(1, 0.03, SplitMetrics(0.5, 50.0), 0.1, 100.0))
        (run,) = run_reader.list_runs(tmp_path)
        assert run.summary["status"] == "running" and run.summary["pid"] == os.getpid()
    finally:
        writer.finish("stopped", "Stopped by the user.")
    assert run_reader.open_run(writer.folder).summary["status"] == "stopped"


def test_the_runs_panel_shows_an_interrupted_run(qtbot, tmp_path):
    from app.panels.runs import RunsPanel
    from app.panels.runs_table import STATUS_COLOURS
    folder = make_run(tmp_path)
    _write_summary(folder, status="running", pid=_dead_pid(), host=socket.gethostname())
    panel = RunsPanel(tmp_path)
    qtbot.addWidget(panel)
    item = panel.table.item(0, 4)
    assert item.text() == "interrupted" and "interrupted" in STATUS_COLOURS
    assert "killed or crashed" in item.toolTip()


# -- processes: kill -9, Ctrl+C, SIGTERM
def _env(root: Path) -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), LEARNSCOPE_RUNS=str(root),
                QT_QPA_PLATFORM="offscreen")


def _train(root: Path, *extra: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core", "train", "--preset", "circles-mlp",
                             "--device", "cpu", "--set", "train.epochs=100000",
                             "--set", "data.n_train=40", "--set", "data.n_test=20", *extra],
                            cwd=ROOT, env=_env(root), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def _wait_for_torch_import(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Poll the process's memory map until torch's library is loaded: a fixed delay sent the
    signal before Python had set up its handlers on a loaded machine (killed by SIGINT, -2)."""
    maps = Path(f"/proc/{proc.pid}/maps")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if "libtorch" in maps.read_text():
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise AssertionError("the CLI never started importing torch")


def _wait_for_epochs(root: Path, proc: subprocess.Popen, at_least: int, timeout: float = 30.0,
                     old=()) -> Path:
    """Poll the new run's metrics file (a subprocess gives nothing else to wait on), bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in root.glob("*/metrics.jsonl"):
            if m.parent not in old and m.read_bytes().count(b"\n") >= at_least:
                return m.parent
        if proc.poll() is not None:
            pytest.fail(f"the run ended early: {proc.communicate()[1]}")
        time.sleep(0.02)
    pytest.fail("no epoch was written in time")


def test_kill_9_at_random_moments_leaves_readable_interrupted_runs(tmp_path):
    """Three CLI runs side by side, each killed at a random moment after its first epoch."""
    rng = random.Random(13)
    procs = [_train(tmp_path) for _ in range(3)]
    folders: list[Path] = []
    try:
        for proc in procs:  # which folder is whose does not matter: each gets its epoch
            folders.append(_wait_for_epochs(tmp_path, proc, 1, old=folders))
        rng.shuffle(procs)
        for proc in procs:
            time.sleep(rng.uniform(0.0, 1.0))
            proc.send_signal(signal.SIGKILL)
    finally:
        for proc in procs:
            proc.kill()
            proc.communicate()
    assert all(proc.returncode == -signal.SIGKILL for proc in procs)
    runs = read_all(tmp_path)
    assert sorted(r.folder for r in runs) == sorted(folders) and len(runs) == 3
    for run in runs:
        assert run.summary["status"] == "interrupted", run.summary
        assert not run.problem and run.experiment.train.epochs == 100000
        epochs = [r.epoch for r in run.metrics()]
        assert epochs == list(range(1, len(epochs) + 1)) and run.summary["epochs"] <= len(epochs)
        assert run_reader.load_weights(run.folder)  # the last saved weights read


def test_ctrl_c_while_python_starts_prints_one_line_and_exits_130(tmp_path):
    proc = _train(tmp_path)
    _wait_for_torch_import(proc)  # Python runs and `import torch` (a second or more) has begun
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.strip() == "Interrupted." and "Traceback" not in err


def test_sigterm_stops_the_run_like_ctrl_c_and_exits_143(tmp_path):
    proc = _train(tmp_path)
    folder = _wait_for_epochs(tmp_path, proc, 1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "after epoch" in out
    run = run_reader.open_run(folder)
    assert run.summary["status"] == "stopped" and run.summary["epochs"] == len(run.metrics())


def _learnscope(root: Path, probe: Path, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import sys; from app.main import main; "
                             "sys.exit(main())"], cwd=ROOT,
                            env=dict(_env(root), LEARNSCOPE_STARTUP_PROBE=str(probe),
                                     LEARNSCOPE_SETTINGS=str(root / "settings.ini"), **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_mark(probe: Path, proc: subprocess.Popen, event: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe.exists() and f'"event": "{event}"' in probe.read_text():
            return
        if proc.poll() is not None:
            pytest.fail(f"learnscope ended early: {proc.communicate()[1]}")
        time.sleep(0.02)
    pytest.fail(f"learnscope did not reach {event!r} in time")


@pytest.mark.parametrize("moment", ["window", "main"])
def test_ctrl_c_quits_learnscope_with_one_line_and_130(tmp_path, moment):
    """window: the first window shows while torch imports; main: the main window waits."""
    probe = tmp_path / "probe.jsonl"
    proc = _learnscope(tmp_path, probe, LEARNSCOPE_STARTUP_TRAIN="60")
    try:
        _wait_for_mark(probe, proc, moment)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "Interrupted." and "Traceback" not in err


def test_ctrl_c_that_python_wrapped_while_torch_imports_is_still_130(monkeypatch, capsys):
    """A SIGINT landing in a class statement (platform.py, as torch imports) reaches main as
    the RuntimeError of __set_name__, its cause the KeyboardInterrupt."""
    import app.main as app_main

    def wrapped(_argv):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as e:
            raise RuntimeError("Error calling __set_name__ on 'cached_property'") from e
    monkeypatch.setattr(app_main, "_main", wrapped)
    assert app_main.main([]) == 130 and capsys.readouterr().err == "Interrupted.\n"

    def broken(_argv):
        raise RuntimeError("a real error")
    monkeypatch.setattr(app_main, "_main", broken)
    with pytest.raises(RuntimeError, match="a real error"):
        app_main.main([])
