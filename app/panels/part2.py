"""The Part 2 tab: pick a study (the practical's ladder, or a study file), tick its rungs, Run.

The rungs train one after the other in the Lab (app.study.StudyTrainer): each one's
curves grow live in the main plots while the rungs already finished are ticked in the Runs
dock, so their test-accuracy and loss curves overlay the live one. The results table and bar
chart (app.panels.study_results) fill in as rungs end. Running a study again resumes its
folder in the runs folder: rungs done with the same settings are kept.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, Signal
from PySide6.QtWidgets import (QFileDialog, QFormLayout, QGroupBox, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from app.layout import FlowLayout
from app.panels.study_results import StudyResults
from app.study import StudyTrainer
from app.wheel_guard import ComboBox, SpinBox
from core.store import reader as run_reader
from core import study as studies
from core import ConfigError
from core.study.runner import study_folder

OPEN = "open:"  # the study choice's last item: a file dialog


def builtin_order(names: list[str]) -> list[str]:
    """The built-in studies, shapes-cnn's first (it runs on a laptop in minutes)."""
    return sorted(names, key=lambda n: (not n.endswith("shapes-cnn"), n))


def rung_text(k: int, v: studies.Variant, step: float) -> str:
    """A rung's line in the list: its number and label, then its question and η/(1−m)."""
    question = f"Q{v.question} · " if v.question else ""
    return f"{k + 1}. {v.label}\n     {question}η/(1−m) = {step:.3g}"


class Part2Panel(QWidget):
    """The study picker, its rungs, Run / Stop, the progress line and the results."""

    results_requested = Signal()  # Show the results: the window turns to its Results page

    def __init__(self, lab, runs_panel, parent=None):
        super().__init__(parent)
        self.lab, self.runs_panel = lab, runs_panel
        self.trainer = StudyTrainer(lab, self, restore=False)
        self.study: studies.Study | None = None
        self._shown = 0  # the study choice's index now shown (a failed open goes back to it)
        # the study's folder watched: rungs trained elsewhere (the command line, a Dask cluster)
        # arrive in its study.json while the tab shows it; study.json is replaced by a rename,
        # which the folder's watch sees (a watch on the file would end with its first rename)
        self._watch = QFileSystemWatcher(self)
        self._reread = QTimer(self, singleShot=True, interval=300,
                              timeout=lambda: self._show_stored(only_news=True))
        self._watch.directoryChanged.connect(lambda _path: self._reread.start())
        # the file dialog, replaceable (tests answer it without a person)
        self.ask_file = lambda: QFileDialog.getOpenFileName(
            self, "Open study", "", "Study (*.toml)")[0]
        col = QVBoxLayout(self)
        for box in (self._study_box(), self._run_box(), self._results_box()):
            col.addWidget(box)
        col.addStretch(1)
        t = self.trainer
        for signal in (t.rung_started, t.rung_ended):
            signal.connect(self._show_rows)
        t.finished.connect(self._finished)
        t.progressed.connect(self.progress.setText)
        self._fill_choices()
        self.study_choice.currentIndexChanged.connect(self._chosen)
        self._chosen(0)

    def _study_box(self) -> QGroupBox:
        box = QGroupBox("Study", self)
        box.setToolTip("Matched runs: every rung has the same seed, so a difference between "
                       "two rungs is the switch's doing, not luck.")
        self.study_choice = ComboBox(box)
        self.study_choice.setObjectName("study_choice")
        self.study_choice.setToolTip("A built-in study (the practical's ladder on a preset), or "
                                     "a study file of your own ([study] and [[study.variant]]).")
        self.study_text = QLabel(box)
        self.study_text.setObjectName("hint")
        self.study_text.setWordWrap(True)
        self.rung_list = QListWidget(box)
        self.rung_list.setObjectName("rung_list")
        self.rung_list.setWordWrap(True)
        self.rung_list.setToolTip("The rungs to train: untick one to leave it out (a ladder's "
                                  "later rungs still get its switches).")
        col = QVBoxLayout(box)
        for w in (self.study_choice, self.study_text, self.rung_list):
            col.addWidget(w)
        return box

    def _run_box(self) -> QGroupBox:
        box = QGroupBox("Run", self)
        self.epochs = SpinBox(box)
        self.epochs.setObjectName("study_epochs")
        self.epochs.setRange(0, 10_000)
        self.epochs.setToolTip("Train every rung for this many epochs instead of the study's "
                               "own (0: as the study says).")
        form = QFormLayout()
        form.addRow("Epochs per rung", self.epochs)
        self.run_button = QPushButton("▶ Run study", box)
        self.run_button.setObjectName("run_study")
        self.run_button.setToolTip("Train the ticked rungs one after the other; rungs already "
                                   "done with the same settings are kept.")
        self.run_button.clicked.connect(self.run)
        self.stop_button = QPushButton("■ Stop", box)
        self.stop_button.setObjectName("stop_study")
        self.stop_button.setToolTip("Stop the rung in progress and cancel the rest (the "
                                    "finished rungs are kept; Run resumes).")
        self.stop_button.clicked.connect(self.trainer.cancel)
        self.stop_button.setEnabled(False)
        buttons = FlowLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        self.progress = QLabel("Tick the rungs, then Run.", box)
        self.progress.setObjectName("study_progress")
        self.progress.setWordWrap(True)
        col = QVBoxLayout(box)
        col.addLayout(form)
        col.addLayout(buttons)
        col.addWidget(self.progress)
        return box

    def _results_box(self) -> QGroupBox:
        """The table and chart live on the window's Results page (full width); here, the way
        to it."""
        box = QGroupBox("Results", self)
        self.results = StudyResults(self.lab, self.runs_panel)  # placed by the window
        self.results_button = QPushButton("Show the results (Ctrl+2)", box)
        self.results_button.setObjectName("show_results")
        self.results_button.setToolTip("The study's table (test accuracy, change, η/(1−m), "
                                       "question…) and bar chart, at full width.")
        self.results_button.clicked.connect(self.results_requested)
        QVBoxLayout(box).addWidget(self.results_button)
        return box

    # -- choosing a study
    def _fill_choices(self) -> None:
        c = self.study_choice
        for name in builtin_order(studies.builtin_names()):
            c.addItem(name, f"builtin:{name}")
        c.addItem("Open study file…", OPEN)

    def _chosen(self, i: int) -> None:
        data = self.study_choice.itemData(i)
        if data == OPEN:
            path = self.ask_file()
            if not path or not self.open_file(path):
                self._select(self._shown)  # back to the study shown
            return
        kind, _, name = str(data).partition(":")
        try:
            study = studies.builtin(name) if kind == "builtin" else studies.load(name)
        except ConfigError as e:
            self.lab.say("error", "Cannot read that study.", str(e))
            self._select(self._shown)
            return
        self._shown = i
        self.set_study(study)

    def _select(self, i: int) -> None:
        c = self.study_choice
        c.blockSignals(True)
        c.setCurrentIndex(i)
        c.blockSignals(False)

    def open_file(self, path: str | Path) -> bool:
        """Read a study file into the choice (and show it); a bad one gets a banner naming the
        entry and the field. Return whether it was read."""
        try:
            study = studies.load(path)
        except ConfigError as e:
            self.lab.say("error", "Cannot open that study file.", str(e))
            return False
        c = self.study_choice
        i = c.findData(f"file:{path}")
        if i < 0:
            i = c.count() - 1  # before "Open study file…"
            c.insertItem(i, Path(path).name, f"file:{path}")
        c.setItemData(i, str(path), Qt.ItemDataRole.ToolTipRole)
        self._select(i)
        self._shown = i
        self.set_study(study)
        return True

    def set_study(self, study: studies.Study) -> None:
        """Show study: its text, its rungs (all ticked) and its last results, if it has any."""
        self.study = study
        self.study_text.setText(study.text)
        self.rung_list.clear()
        for k, (v, exp) in enumerate(studies.experiments(study)):
            item = QListWidgetItem(rung_text(k, v, studies.effective_step(exp)))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setToolTip(v.text or v.label)
            self.rung_list.addItem(item)
        self._fit_list()
        self.epochs.setSpecialValueText(f"as set ({study.base.train.epochs})")
        self._show_stored()

    def _show_stored(self, only_news: bool = False) -> None:
        """The study's last results from its folder (none yet: the tab says what to do), and
        that folder watched — or, before it exists, the runs folder it will appear in.
        only_news: a change in the folders, shown only when this study's table changed (a run
        of Part 1 landing in the runs folder must not turn the Results page to Part 2)."""
        study = self.study
        if study is None or self.trainer.running():  # the study trained here shows its own
            return
        folder = study_folder(study, self.lab.run_root)
        watched = [str(p) for p in (folder, folder.parent) if p.is_dir()][:1]
        if self._watch.directories() != watched:
            if self._watch.directories():
                self._watch.removePaths(self._watch.directories())
            if watched:
                self._watch.addPaths(watched)
        table, _problem = run_reader.read_json(folder / "study.json")
        rows = table.get("rungs") if isinstance(table, dict) else None
        rows = rows if isinstance(rows, list) else []
        if only_news and rows == self.results.rows and folder == self.results.folder:
            return
        self.results.show_rows(rows, folder, [e for _, e in studies.experiments(study)])
        self.progress.setText(f"Last results from {folder.name}: Run resumes it." if rows
                              else "Tick the rungs, then Run.")

    def _fit_list(self) -> None:
        """The rung list as tall as its rungs (up to 8), so the tab scrolls, not the list."""
        lst = self.rung_list
        shown = min(lst.count(), 8)
        rows = sum(lst.sizeHintForRow(i) for i in range(shown)) or 40
        lst.setFixedHeight(rows + 2 * lst.frameWidth() + 4)

    # -- running it
    def ticked(self) -> set[int]:
        return {k for k in range(self.rung_list.count())
                if self.rung_list.item(k).checkState() == Qt.CheckState.Checked}

    def run(self) -> bool:
        """Train the ticked rungs of the study shown; return whether it started."""
        if self.study is None:
            return False
        if self.trainer.busy():
            self.progress.setText("A run is training: let it end (or stop it), then Run.")
            return False
        only = self.ticked()
        if not only:
            self.progress.setText("Tick at least one rung to train.")
            return False
        # every rung where the training bar says: its device and TensorBoard folder (they
        # change no number, so resuming ignores them)
        train = self.lab.current_experiment().train
        extra = [f"train.device={train.device}"]
        if getattr(train, "tensorboard", ""):
            extra.append(f"train.tensorboard={json.dumps(train.tensorboard)}")
        if self.epochs.value():
            extra.append(f"train.epochs={self.epochs.value()}")
        started = self.trainer.start(self.study, extra, only)
        self._set_running(self.trainer.running())  # a first rung that could not start ended it
        return started

    def _set_running(self, on: bool) -> None:
        for w in (self.run_button, self.study_choice, self.rung_list, self.epochs):
            w.setEnabled(not on)
        self.stop_button.setEnabled(on)

    def _show_rows(self, _row: dict, rows: list) -> None:
        self.results.show_rows(rows, self.trainer.folder, self.trainer.experiments)

    def _finished(self, rows: list) -> None:
        self._set_running(False)
        self.results.show_rows(rows, self.trainer.folder, self.trainer.experiments)
