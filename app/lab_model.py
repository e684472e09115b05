"""The Lab: what the window shows and trains, without a widget (the role napari's ViewerModel
plays for its Qt viewer).

It owns the experiment the panels edit, the *subject* on screen (the experiment not trained
yet, the run training now, or a finished run — a study's rung is one), the training session
and the run store's folder, and says what changed through signals. Panels, views, studies,
sweeps, files, exports and the report talk to the Lab, never to the window; the window lays
things out and connects the Lab's signals to its widgets. Every view, the plots' caption, the
status line and the title name `lab.subject`, so they cannot disagree about it.
"""

from __future__ import annotations

import copy
import gc
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.form import in_words
from core.experiment import config as cfg
from core.data import registry as datasets
from core import ConfigError


@dataclass(frozen=True)
class Subject:
    """What is on screen: kind "experiment" (the panels' settings, not trained), "live" (the
    run training now) or "run" (a finished run read back from its folder)."""
    kind: str
    name: str
    epoch: int = 0
    epochs: int = 0
    folder: Path | None = None

    def words(self) -> str:
        """The subject as every view names it: "shapes-cnn · epoch 3/16"."""
        if self.kind == "experiment":
            return f"{self.name} · not trained yet"
        return f"{self.name} · epoch {self.epoch}/{self.epochs}"


def broken_rule(exp: cfg.Experiment) -> str | None:
    """Return the engine's sentence for the first rule exp breaks ('path: why'), or None."""
    try:
        cfg.validate(exp)
        datasets.check_folders(exp.data)
    except ConfigError as e:
        return str(e)
    return None


def _name(exp: cfg.Experiment) -> str:
    return exp.name or exp.data.dataset


class Lab(QObject):
    """The lab's state and its one way in for every action (see the module)."""

    experiment_loaded = Signal(object)  # core.experiment.config.Experiment: the panels show it
    subject_changed = Signal(object)    # Subject
    session_opened = Signal(object)     # app.worker.TrainingSession, before its thread starts
    run_started = Signal(object)        # the session, once its thread has started
    session_closed = Signal(object)     # core.engine.train.FitResult: the window's widgets first…
    run_finished = Signal(object)       # …then everyone else (studies, views, exports)
    message = Signal(str, str, str)     # kind ("error", "warning", "info"; "clear"), title, text
    run_opened = Signal(object)         # a stored core.store.reader.Run to show (plots, Inspect views)
    overlays_requested = Signal(object, bool)  # run folders to overlay; keep the others too

    def __init__(self, settings, run_root=None, persist: bool = True, parent=None):
        super().__init__(parent)
        self.settings, self.run_root, self.persist = settings, run_root, persist
        self.experiment = cfg.Experiment()
        self.session = None
        self.problem: str | None = None   # why the panels' settings cannot train, or None
        self.last_run: Path | None = None  # the folder of the last run that finished an epoch
        self.subject = Subject("experiment", _name(self.experiment))
        #: what the panels say now (the window's): the experiment with their edits
        self.read_panels = lambda: copy.deepcopy(self.experiment)
        #: the window's question box: ask(title, text, yes, no, then(bool))
        self.asker = None

    # -- the experiment
    def current_experiment(self) -> cfg.Experiment:
        """The Experiment the panels describe (not validated)."""
        return self.read_panels()

    def load_experiment(self, exp: cfg.Experiment, subject: Subject | None = None) -> None:
        """Show exp in the panels (the base of the next run); the subject becomes exp not
        trained yet, or subject (a finished run whose settings these are)."""
        self.experiment = copy.deepcopy(exp)
        self.experiment_loaded.emit(self.experiment)
        if not self.is_training():
            self.set_subject(subject or Subject("experiment", _name(self.experiment)))

    # -- the subject
    def set_subject(self, subject: Subject) -> None:
        if subject != self.subject:
            self.subject = subject
            self.subject_changed.emit(subject)

    def advance(self, epoch: int) -> None:
        """The live run finished an epoch."""
        s = self.subject
        if s.kind == "live" and epoch != s.epoch:
            self.set_subject(Subject("live", s.name, epoch, s.epochs, s.folder))

    def open_run(self, run) -> None:
        """Show a stored run (core.store.reader.Run): its settings in the panels, its curves and its
        trained network in the views. Refused, with a sentence, while a run trains."""
        if self.is_training():
            self.say("info", "A run is training.", "Open a finished run once this one ends: "
                     "the views follow the run training now.")
            return
        subject = Subject("run", run.name, int(run.summary.get("epochs") or len(run.metrics())),
                          int(run.experiment.train.epochs) if run.experiment else 0,
                          Path(run.folder))
        if run.experiment is not None:
            self.load_experiment(run.experiment, subject)
        else:
            self.set_subject(subject)
        self.run_opened.emit(run)

    # -- training
    def is_training(self) -> bool:
        return self.session is not None

    def start_training(self, run_folder=None, exp: cfg.Experiment | None = None) -> bool:
        """Start a run; return whether one started. exp: train exactly this experiment (a
        study's rung; the panels show it), else the panels' settings. run_folder: a folder
        reserved for it (a study's rung), else a new one in the run store."""
        from app.worker import TrainingSession  # torch and the trainer, when a run starts
        if self.session is not None:
            return False
        if exp is not None:
            self.load_experiment(exp)
        elif self.problem:
            return False
        else:  # a run of its own, not a study's rung: earlier runs' curves leave its axes
            self.show_overlays(set())
        exp = exp if exp is not None else self.current_experiment()
        try:
            session = TrainingSession(exp, run_root=self.run_root, parent=self,
                                      run_folder=run_folder)
        except ConfigError as e:
            self.say("error", "Invalid settings.", in_words(str(e)))
            return False
        self.experiment, self.session = exp, session
        session.finished.connect(self._finished)
        self.set_subject(Subject("live", _name(exp), 0, exp.train.epochs,
                                 Path(run_folder) if run_folder else None))
        self.session_opened.emit(session)
        # Python's full garbage collections walk every object of Qt, pyqtgraph and torch and
        # stall both threads for 100 ms or more; objects alive now are exempt from them
        gc.freeze()
        session.start()
        self.run_started.emit(session)
        return True

    def _finished(self, result) -> None:
        self.session = None
        folder = Path(result.run_folder) if getattr(result, "run_folder", None) else None
        if folder is not None and result.epochs:
            self.last_run = folder
        s = self.subject
        self.set_subject(Subject("run", s.name, result.epochs, s.epochs, folder or s.folder))
        self.session_closed.emit(result)
        self.run_finished.emit(result)

    # A stop is final: pause and resume are ignored once it was asked, so quick clicks never
    # leave a run parked that is meant to end, and Train waits for the end.
    def pause_training(self) -> bool:
        s = self.session
        if s is None or s.stopping or s.paused:
            return False
        s.pause()
        return True

    def resume_training(self) -> bool:
        s = self.session
        if s is None or s.stopping or not s.paused:
            return False
        s.resume()
        return True

    def stop_training(self) -> bool:
        s = self.session
        if s is None or s.stopping:
            return False
        s.stop()
        return True

    # -- the run store
    def show_overlays(self, folders: set[Path], keep: bool = False) -> None:
        """Overlay these runs' curves on the plots (ticked in the run list): exactly these,
        or these as well as those overlaid already (keep)."""
        self.overlays_requested.emit(set(folders), keep)

    # -- words for the person
    def say(self, kind: str, title: str, text: str) -> None:
        self.message.emit(kind, title, text)

    def ask(self, title: str, text: str, yes: str, no: str, then) -> None:
        """Ask a yes/no question without blocking; then(True) if yes was chosen."""
        if self.asker is None:
            then(False)
        else:
            self.asker(title, text, yes, no, then)
