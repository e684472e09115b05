"""Training a study: its folder in the run store, one run folder per rung, and study.json.

`<out>/<study slug>/` holds study.toml (the study as run), `rung-01-<label>/`… (each written by
core.store.runs.RunWriter) and study.json, the results table, rewritten atomically whenever a rung
starts or ends. Running a study whose folder exists resumes it: a rung that ended done or
diverged with the same settings is kept (its run folder too), any other one trains again in a
fresh folder. With parallel=K, K rungs train at once in spawned processes, each with its share
of the CPU's threads; the parent alone writes study.json.

Nothing a kill can lose: each rung's result is also written into its own run folder
(rung.json) the moment it ends, by the process that trained it, and a resume reads it back
when study.json had no time to say so. Workers end with their parent (a parent-death signal on
Linux, and a watch on the parent elsewhere), and one lock per study folder (core.files.folder_lock)
keeps a second start from training the same rungs beside the first.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable

from core.experiment import config as cfg
from core import study as studies
from core.files.atomic import atomic_write_text
from core import ConfigError
from core.files.folder_lock import FolderLock
from core.store.reader import default_root, read_json
from core.store.runs import json_safe  # NaN/inf -> null: study.json is always valid JSON

STATUSES = ("pending", "running", "done", "diverged", "stopped", "failed")
KEPT = ("done", "diverged")   # a resumed study keeps these rungs
STALL_POINTS = 2.0            # a final test accuracy this close to chance is a stalled rung
RUNG_FILE = "rung.json"       # a rung's result, in its own run folder (written as it ends)
WATCH_PARENT_S = 0.5          # how often a worker checks that its parent still lives


def study_folder(study: studies.Study, out: Path | str | None = None) -> Path:
    """out/<the study's name as a folder>; ConfigError naming study.name if it cannot be one."""
    return Path(out or default_root()) / studies.folder_name(study)


def fresh_folder(study: studies.Study, out: Path | str | None = None) -> Path:
    """Return a study folder of its own, stamped with the time (`<slug>-20261201-085040`,
    then -2, -3…): a study that must not resume an earlier one (Part 1's shortcuts, whose
    every press trains anew)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = study_folder(study, out)
    folder, n = base.with_name(f"{base.name}-{stamp}"), 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{stamp}-{n}")
    return folder


class _Watch:
    """Observer: the number of classes and every epoch's record (for the best test accuracy)."""

    def __init__(self):
        self.classes, self.records = 0, []

    def on_fit_start(self, info) -> None:
        self.classes = len(info.classes)

    def on_epoch_end(self, record) -> None:
        self.records.append(record)


def measure(result, records, classes: int, seconds: float) -> dict:
    """Return what a rung's row needs (plain values) from its FitResult, its epoch records in
    order, its number of classes (0 if unknown) and its wall time: the CLI's train_rung and
    the window's Part 2 tab (app.study) both end a rung with it."""
    # the best epoch by the validation accuracy where the run has a validation split (model
    # selection never looks at the test set, question 1); without one, by the test accuracy
    by = "val" if any(r.split("val") is not None for r in records) else "test"
    best = best_epoch = None
    for record in records:
        m = record.split(by)
        if m is not None and (best is None or m.accuracy > best):
            best, best_epoch = m.accuracy, record.epoch
    last = result.last

    def acc(split):
        m = last.split(split) if last is not None else None
        return None if m is None else m.accuracy
    return {"status": result.status, "message": result.message, "epochs": result.epochs,
            "train_accuracy": acc("train"), "test_accuracy": acc("test"),
            "best_test": best, "best_epoch": best_epoch, "best_by": by, "classes": classes,
            "seconds": round(seconds, 2)}


def train_rung(exp: cfg.Experiment, folder: Path | str, threads: int | None = None,
               on_trainer: Callable | None = None, stop_event=None) -> dict:
    """Train one rung into folder; return what its row of the table needs (measure)."""
    import torch

    from core.engine.train import Trainer
    from core.store.writers import recorded
    if threads:
        torch.set_num_threads(threads)
    watch = _Watch()
    trainer = recorded(Trainer(exp, [watch]), folder=folder)
    if on_trainer is not None:
        on_trainer(trainer)
    ended = threading.Event()
    if stop_event is not None:  # a worker process: the parent's stop arrives as an event
        def watch_stop():
            while not ended.is_set():
                if stop_event.wait(0.2):
                    trainer.stop()
                    return
        threading.Thread(target=watch_stop, daemon=True).start()
    t0 = time.perf_counter()
    result = trainer.fit()
    ended.set()
    return measure(result, watch.records, watch.classes, time.perf_counter() - t0)


def record_rung(folder: Path | str, measured: dict) -> None:
    """Write a rung's result (measure()'s dict) into its own run folder, atomically: a kill
    between the rung's end and study.json's rewrite loses nothing (see _recorded)."""
    atomic_write_text(Path(folder) / RUNG_FILE, _json(measured))


_WORKER_STOP = None


def _die_with_parent(parent: int) -> None:
    """End this worker when its parent ends, however the parent ends (kill -9 included)."""
    if sys.platform.startswith("linux"):  # the kernel's signal, at once
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # a libc without prctl: the watch below still ends us

    def watch() -> None:  # every OS: an orphan is adopted by another process
        while os.getppid() == parent:
            time.sleep(WATCH_PARENT_S)
        os._exit(1)
    if os.getppid() != parent:  # the parent died before the signal was set
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="watch-parent").start()


def _init_worker(event, parent: int) -> None:
    global _WORKER_STOP
    _die_with_parent(parent)
    _WORKER_STOP = event
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the parent, which stops us


def _worker(exp: cfg.Experiment, folder: str, threads: int) -> dict:
    measured = train_rung(exp, folder, threads, stop_event=_WORKER_STOP)
    if measured["status"] in KEPT:
        record_rung(folder, measured)  # by the worker itself: the parent may be gone
    return measured


def _same_settings(folder: Path, exp: cfg.Experiment) -> bool:
    """Whether a stored rung was trained with exp's settings (where it ran and where its
    TensorBoard events went aside: they change no number)."""
    try:
        old = cfg.to_dict(cfg.load(folder / "config.toml"))
    except (ConfigError, OSError):
        return False
    new = cfg.to_dict(exp)
    for d in (old, new):
        for where in ("device", "tensorboard"):
            d["train"].pop(where, None)
    return old == new


class StudyRunner:
    """Trains a study's rungs into its folder: run() trains them all (blocking; stop() from a
    signal). A caller that trains the rungs itself (the window's Part 2 tab) does the same
    bookkeeping step by step: begin() → the rungs still to train, then for each
    start_rung(k) → its reserved run folder and end_rung(k, measure(…)) → its row."""

    def __init__(self, study: studies.Study, out: Path | str | None = None, parallel: int = 1,
                 extra: tuple[str, ...] | list[str] = (), on_rung: Callable | None = None,
                 folder: Path | str | None = None, executor: Callable | None = None):
        self.rungs = studies.check(study, extra)
        self.study, self.parallel, self.on_rung = study, max(1, int(parallel)), on_rung
        self.extra = list(extra)
        self.executor = executor  # executor(runner, todo) trains elsewhere (core.study.cluster)
        # folder: the study's own (Part 1's shortcuts: a fresh one per press), else out/slug
        self.folder = Path(folder) if folder is not None else study_folder(study, out)
        self.rows: list[dict] = []
        self.stopped = False
        self._trainer = None
        self.lock = FolderLock(self.folder)

    def stop(self) -> None:
        self.stopped = True
        if self._trainer is not None:
            self._trainer.stop()

    def _set_trainer(self, trainer) -> None:
        self._trainer = trainer
        if self.stopped:
            trainer.stop()

    # -- the table
    def _fresh_row(self, k: int, v: studies.Variant, exp: cfg.Experiment) -> dict:
        return {"index": k + 1, "label": v.label, "question": v.question, "text": v.text,
                "status": "pending", "stalled": False, "train_accuracy": None,
                "test_accuracy": None, "best_test": None, "best_epoch": None, "epochs": 0,
                "change": None, "seconds": None, "effective_step": studies.effective_step(exp),
                "chance": None, "message": "", "run_folder": None}

    def _resumed_rows(self) -> list[dict]:
        old, _problem = read_json(self.folder / "study.json")
        old_rows = old.get("rungs", []) if isinstance(old, dict) else []
        rows = []
        for k, (v, exp) in enumerate(self.rungs):
            row = self._fresh_row(k, v, exp)
            prev = old_rows[k] if k < len(old_rows) and isinstance(old_rows[k], dict) else {}
            name = prev.get("run_folder")
            if (prev.get("label") == v.label and prev.get("status") in KEPT
                    and isinstance(name, str) and _same_settings(self.folder / name, exp)):
                row.update({f: prev.get(f) for f in row if f in prev and f != "text"})
            else:
                recorded = self._recorded(k, exp)
                if recorded is not None:
                    row["run_folder"] = recorded[0]
                    _fill(row, recorded[1])
            rows.append(row)
        return rows

    def _recorded(self, k: int, exp: cfg.Experiment) -> tuple[str, dict] | None:
        """Rung k's newest run folder whose rung.json says it ended (done or diverged) with
        exp's settings, and that result: a rung whose end study.json never heard of."""
        base = studies.rung_folder_name(k, self.rungs[k][0].label)
        found = []
        for folder in self.folder.glob(f"{base}*"):
            suffix = folder.name[len(base):]
            if suffix and not (suffix[0] == "-" and suffix[1:].isdigit()):
                continue  # another rung whose label starts the same way
            measured, _problem = read_json(folder / RUNG_FILE)
            if (isinstance(measured, dict) and measured.get("status") in KEPT
                    and _same_settings(folder, exp)):
                found.append((int(suffix[1:] or 1), folder.name, measured))
        return max(found)[1:] if found else None

    def _write(self) -> None:
        rows = self.rows
        for i, row in enumerate(rows):
            before = rows[i - 1]["test_accuracy"] if i else None
            now = row["test_accuracy"]
            row["change"] = None if before is None or now is None else round(now - before, 2)
        table = {"name": self.study.name, "kind": self.study.kind, "text": self.study.text,
                 "updated": time.strftime("%Y-%m-%dT%H:%M:%S"), "rungs": rows}
        atomic_write_text(self.folder / "study.json", _json(table))

    def begin(self) -> list[int]:
        """Lock the study's folder (FolderBusy: another process trains it now), write
        study.toml and study.json with the rungs kept from an earlier attempt (each reported
        to on_rung as ended); return the indices of the rungs still to train, in order.
        finish() lets the folder go."""
        self.lock.acquire()
        try:
            shown = studies.Study(self.study.name, self.study.kind,
                                  cfg.with_overrides(self.study.base, self.extra),
                                  self.study.variants, self.study.text)
            atomic_write_text(self.folder / "study.toml", studies.dumps(shown))
            self.rows = self._resumed_rows()
            self._write()
        except BaseException:
            self.lock.release()
            raise
        for row in self.rows:  # kept from an earlier attempt: reported as ended
            if row["status"] in KEPT and self.on_rung is not None:
                self.on_rung(row, self.rows)
        return [k for k, row in enumerate(self.rows) if row["status"] not in KEPT]

    def finish(self) -> None:
        """Let the study's folder go (another start may now resume it)."""
        self.lock.release()

    def start_rung(self, k: int) -> Path:
        """Reserve rung k's run folder (a new one: an interrupted attempt keeps its own), mark
        its row running; return the folder, for Trainer(run_folder=…)."""
        row = self.rows[k]
        base = studies.rung_folder_name(k, row["label"])
        folder, n = self.folder / base, 1
        while folder.exists():
            n += 1
            folder = self.folder / f"{base}-{n}"
        folder.mkdir(parents=True)  # reserved now: a later attempt never reuses the name
        row.update(status="running", run_folder=folder.name, message="")
        self._write()
        return folder

    def end_rung(self, k: int, measured: dict) -> dict:
        """Write rung k's row from what was measured (measure(): the status, accuracies, …;
        a rung at chance is flagged stalled, with the reason), into its run folder first
        (rung.json) and then into study.json; return the row."""
        row = self.rows[k]
        if measured.get("status") in KEPT and row["run_folder"]:
            record_rung(self.folder / row["run_folder"], measured)
        _fill(row, measured)
        self._write()
        if self.on_rung is not None:
            self.on_rung(row, self.rows)
        return row

    # -- the run
    def run(self) -> list[dict]:
        """Train every rung not already kept; return the table's rows."""
        todo = self.begin()
        try:
            if self.executor is not None:
                self.executor(self, todo)
            elif self.parallel == 1 or len(todo) <= 1:
                self._sequential(todo)
            else:
                self._in_parallel(todo)
        finally:
            self.finish()
        return self.rows

    def _sequential(self, todo: list[int]) -> None:
        for k in todo:
            if self.stopped:
                return
            folder = self.start_rung(k)
            measured = train_rung(self.rungs[k][1], folder, on_trainer=self._set_trainer)
            self._trainer = None
            self.end_rung(k, measured)

    def _in_parallel(self, todo: list[int]) -> None:
        ctx = multiprocessing.get_context("spawn")
        event = ctx.Event()
        threads = max(1, (os.cpu_count() or 1) // self.parallel)
        queue, running = list(todo), {}
        # the workers are started from this thread (submit): Linux's parent-death signal
        # follows the thread that started them, and run() is called from the main thread
        with ProcessPoolExecutor(self.parallel, mp_context=ctx, initializer=_init_worker,
                                 initargs=(event, os.getpid())) as pool:
            while queue or running:
                while queue and len(running) < self.parallel and not self.stopped:
                    k = queue.pop(0)
                    folder = self.start_rung(k)
                    running[pool.submit(_worker, self.rungs[k][1], str(folder), threads)] = k
                if self.stopped:
                    queue.clear()
                    event.set()
                done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for f in done:
                    k = running.pop(f)
                    try:
                        measured = f.result()
                    except Exception as e:  # noqa: BLE001 - a worker that died: a failed rung
                        measured = {"status": "failed",
                                    "message": f"The rung's process ended: {type(e).__name__}: {e}"}
                    self.end_rung(k, measured)


def _fill(row: dict, measured: dict) -> None:
    """Put what was measured into a rung's row; a rung that ended at chance is flagged
    stalled, with the reason."""
    measured = dict(measured)
    classes = measured.pop("classes", 0)
    row.update({f: v for f, v in measured.items() if f in row})
    test = row["test_accuracy"]
    if classes:
        row["chance"] = round(100.0 / classes, 2)
    if row["status"] == "done" and classes and test is not None:
        chance = 100.0 / classes
        if test - chance <= STALL_POINTS:
            row["stalled"] = True
            row["message"] = (f"stalled: test accuracy {test:.1f} % is chance ({chance:.1f} % "
                              f"for {classes} classes), training did not learn; effective "
                              f"step η/(1 − m) = {row['effective_step']:.3g}")


def _json(table: dict) -> str:
    return json.dumps(json_safe(table), indent=2, ensure_ascii=False)


def run_study(study: studies.Study, out: Path | str | None = None, parallel: int = 1,
              extra: tuple[str, ...] | list[str] = (), on_rung: Callable | None = None,
              executor: Callable | None = None) -> list[dict]:
    """Train a study (resuming its folder if it exists); return the table's rows."""
    return StudyRunner(study, out, parallel, extra, on_rung, executor=executor).run()
