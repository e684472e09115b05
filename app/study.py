"""Training a study in the Lab: its rungs one at a time, through the Lab's own path.

Each rung's experiment is trained as it is by Lab.start_training(run_folder=…, exp=…) (the
panels show it; nothing is read back from them) into the folder core.study.runner reserved for
it, so its curves grow live in the main plots and its run lands in the study's folder;
study.json is rewritten as each rung starts and ends (core.study.runner.StudyRunner keeps the
books, as for the CLI). The rungs that ended are overlaid (Lab.show_overlays) under the live
one. A rung that ends "stopped" (Stop, Esc, the training bar's ■) cancels the rest; the
finished rungs stay, and running the same study again resumes it.
"""

from __future__ import annotations

import time
import weakref
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.form import in_words
from core.experiment import config as cfg
from core.store import reader as run_reader
from core import study as studies
from core import ConfigError
from core.files.folder_lock import FolderBusy
from core.study.runner import KEPT, StudyRunner, measure

PROGRESS_MS = 1000  # the progress line (epoch, ETA) is refreshed this often
_TRAINERS: weakref.WeakSet = weakref.WeakSet()  # every StudyTrainer (one study per Lab)


def ended_folders(folder: Path, rows: list[dict]) -> set[Path]:
    """The run folders of a study's rungs that have ended (kept, done, diverged, stopped…)."""
    return {(Path(folder) / r["run_folder"]).resolve() for r in rows
            if r.get("run_folder") and r.get("status") not in ("pending", "running")}


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class StudyTrainer(QObject):
    """Trains a core Study's rungs through a MainWindow, one at a time (start, cancel)."""

    rung_started = Signal(dict, list)  # the rung's row (status "running"), every row
    rung_ended = Signal(dict, list)    # the rung's row as it ended or was kept, every row
    finished = Signal(list)            # every row, once the last rung ended or Stop cancelled
    progressed = Signal(str)           # a line for a progress label

    def __init__(self, lab, parent=None, noun: str = "rung", restore: bool = True):
        super().__init__(parent)
        self.lab, self.noun = lab, noun  # noun: "rung" (Part 2) or "run" (Part 1)
        # restore: the panels go back to the experiment they showed before (Part 1's base);
        # else they keep the last rung trained, which the plots and Inspect views show (Part 2)
        self.restore = restore
        self.runner: StudyRunner | None = None
        self.rows: list[dict] = []          # the last study's rows (kept after its end)
        self.folder: Path | None = None     # the last study's folder
        self.experiments: list[cfg.Experiment] = []  # the last study's rungs, in order
        self.results: list[tuple[cfg.Experiment, object]] = []  # (rung, FitResult) trained
        self.queue: list[int] = []
        self.total = 0
        self.current: int | None = None
        self.cancelled = False
        self._base: cfg.Experiment | None = None
        self._classes = 0
        self._t0 = self._rung_t0 = 0.0
        self._epochs_before = 0  # epochs trained by this study's earlier rungs (for the ETA)
        self._timer = QTimer(self, interval=PROGRESS_MS, timeout=self._report)
        lab.run_started.connect(self._run_started)
        lab.run_finished.connect(self._run_finished)
        _TRAINERS.add(self)

    def running(self) -> bool:
        return self.runner is not None

    def busy(self) -> bool:
        """Whether the Lab trains now: a run, or a study (Part 1's or Part 2's) between two
        of its rungs."""
        return self.lab.is_training() or any(
            t.running() for t in list(_TRAINERS) if t.lab is self.lab)

    def start(self, study: studies.Study, extra: list[str] | tuple[str, ...] = (),
              only: set[int] | None = None, folder: Path | None = None) -> bool:
        """Train the study's rungs still to train (only: the indices ticked; a kept rung is
        not trained again) in its folder (folder: one of its own, else the runs folder's
        <study>/, resumed); return whether it started."""
        w = self.lab
        if self.busy():
            return False
        try:
            runner = StudyRunner(study, w.run_root, extra=extra, folder=folder,
                                 on_rung=self.rung_ended.emit)
            self.runner, self.folder = runner, runner.folder
            self.experiments = [exp for _, exp in runner.rungs]
            todo = runner.begin()  # the kept rungs come as rung_ended
        except ConfigError as e:
            self.runner = None
            w.say("error", "Cannot run that study.", in_words(str(e)))
            return False
        except FolderBusy as e:  # the CLI (or another window) trains it now
            self.runner = None
            w.say("error", "Cannot run that study.", str(e))
            return False
        except OSError as e:
            self.runner = None
            w.say("error", "Cannot write the study's folder.",
                                  f"{e}. Free some disk space or choose another runs folder.")
            return False
        self.rows = runner.rows
        self.queue = [k for k in todo if only is None or k in only]
        self.total, self.results, self.cancelled = len(self.queue), [], False
        self._base, self._t0, self._epochs_before = w.current_experiment(), time.monotonic(), 0
        kept = len(runner.rows) - len(todo)
        if kept:
            self.progressed.emit(f"Kept {kept} finished {self.noun}{'s' * (kept != 1)} with the "
                                 f"same settings from {runner.folder.name}; training "
                                 f"{self.total}.")
        w.show_overlays(ended_folders(runner.folder, runner.rows))
        if self.queue:
            self._timer.start()
            self._next()
        else:  # nothing to train: the end comes once the caller is listening
            QTimer.singleShot(0, self._end)
        return True

    def cancel(self) -> None:
        """Stop the rung in progress and drop the rungs still to come."""
        if self.running():
            self.cancelled = True
            self.queue = []
            self.lab.stop_training()

    # -- one rung after the other
    def _next(self) -> None:
        if not self.running():
            return
        if self.cancelled or not self.queue:
            self._end()
            return
        runner, w = self.runner, self.lab
        k = self.queue.pop(0)
        try:
            folder = runner.start_rung(k)
        except OSError as e:
            w.say("error", "Cannot write the study's folder.", f"{e}.")
            self._end()
            return
        self.current, self._classes, self._rung_t0 = k, 0, time.monotonic()
        if not w.start_training(run_folder=folder, exp=runner.rungs[k][1]):
            why = in_words(w.problem or "see the banner")
            self.current = None
            runner.end_rung(k, {"status": "failed", "message": f"Could not start: {why}"})
            self._end()
            self.progressed.emit(f"Could not start {self.noun} {k + 1} "  # the line left shown
                                 f"({runner.rows[k]['label']}): {why}")
            return
        self.rung_started.emit(runner.rows[k], runner.rows)
        self._report()

    def _run_started(self, session) -> None:
        if self.running() and self.current is not None:
            session.fit_started.connect(self._fit_started)

    def _fit_started(self, info) -> None:
        self._classes = len(info.classes)

    def _run_finished(self, result) -> None:
        if not self.running() or self.current is None:
            return
        runner, k = self.runner, self.current
        self.current = None
        folder = runner.folder / runner.rows[k]["run_folder"]
        records = run_reader.open_run(folder).metrics()  # what the run wrote, epoch by epoch
        self._epochs_before += len(records)
        self.results.append((runner.rungs[k][1], result))
        if result.status == "stopped":
            self.cancelled = True
        try:
            runner.end_rung(k, measure(result, records, self._classes,
                                       time.monotonic() - self._rung_t0))
        except OSError as e:
            self.lab.say("error", "Cannot write study.json.", f"{e}.")
            self.cancelled = True
        self.lab.show_overlays(ended_folders(runner.folder, runner.rows))
        QTimer.singleShot(0, self._next)  # let the window finish handling this run first

    def _end(self) -> None:
        if self.runner is None:
            return
        runner = self.runner
        self.runner, self.queue, self.current = None, [], None
        runner.finish()  # another start (the CLI, this tab) may resume the folder now
        self._timer.stop()
        if self.restore and self._base is not None:  # the panels as before the study
            self.lab.load_experiment(self._base)
        self.lab.show_overlays(ended_folders(runner.folder, runner.rows))
        trained, left = len(self.results), self.total - len(self.results)
        self.progressed.emit(
            f"Done: {trained} {self.noun}{'s' * (trained != 1)} trained"
            + (f", {left} cancelled" if left else "")
            + f" · {sum(r['status'] in KEPT for r in runner.rows)}/{len(runner.rows)} "
            f"{self.noun}s finished in {runner.folder.name}.")
        self.finished.emit(runner.rows)

    # -- the progress line
    def _report(self) -> None:
        k, runner, session = self.current, self.runner, self.lab.session
        if k is None or runner is None:
            return
        epochs = runner.rungs[k][1].train.epochs
        done = session.buffer.progress().epochs if session is not None else 0
        position = self.total - len(self.queue)
        line = (f"{self.noun.capitalize()} {position}/{self.total}: {runner.rows[k]['label']}"
                f" · epoch {done}/{epochs}")
        trained = self._epochs_before + done
        if trained:
            left = (epochs - done) + sum(runner.rungs[j][1].train.epochs for j in self.queue)
            rate = (time.monotonic() - self._t0) / trained
            line += f" · ETA {_clock(rate * max(left, 0))}"
        self.progressed.emit(line)
