"""The Training panel: epochs, seed, device, Start / Pause / Stop and the progress bar."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from app.caption import Caption
from app.experiment import devices
from app.form import FormPanel, tooltip
from app.layout import FlowLayout, LinesLabel, ignore_width
from app.wheel_guard import ComboBox
from core.experiment import config as cfg


def clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _row(parent, *widgets) -> QWidget:
    """widgets side by side, kept together when the bar wraps."""
    box = QWidget(parent)
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        row.addWidget(w)
    return box


class TrainingPanel(FormPanel):
    """Run controls; emits start/pause/resume/stop requests, shows progress it is given."""

    start_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.epochs = self.editor("train", "epochs")
        self.seed = self.editor("train", "seed")
        self.device = ComboBox(self)
        self.device.setObjectName("train.device")
        self.device.setToolTip(tooltip("train", "device"))
        for label, value in devices():
            self.device.addItem(label, value)
        self.device.currentIndexChanged.connect(self._edited)
        self.bind("train.device", self.device)
        self.precision = self.editor("train", "precision")
        self.tensorboard = self.editor("train", "tensorboard")  # a folder; empty = off
        self.tensorboard.setPlaceholderText("off (a folder)")

        self.start = QPushButton("▶  Train", self)
        self.start.setObjectName("start")
        self.start.setToolTip("Start training with these settings (Ctrl+Return).")
        self.pause = QPushButton("❚❚  Pause", self)
        self.pause.setToolTip("Pause at the next batch; the curves keep the latest values (Space).")
        self.stop = QPushButton("■  Stop", self)
        self.stop.setToolTip("Stop at the next batch; the finished epochs stay on disk (Esc).")
        self.start.clicked.connect(self.start_requested)
        self.pause.clicked.connect(self._pause_clicked)
        self.stop.clicked.connect(self.stop_requested)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(True)
        self.progress.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.problem = QLabel(self)
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.hide()

        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        # the controls wrap onto a second row and the status line word-wraps when the window
        # is narrow: neither sets its minimum width (it fits a 1280×720 projector)
        bar = FlowLayout(spacing=10)
        self.run_settings = []  # the run's settings, hidden in presentation mode
        for label, w in (("Epochs", self.epochs), ("Seed", self.seed), ("Device", self.device),
                         ("Precision", self.precision), ("TensorBoard", self.tensorboard)):
            self.run_settings.append(_row(self, QLabel(label, self), w))
            self.run_settings[-1].layout().itemAt(0).widget().setBuddy(w)
        for b in (self.start, self.pause, self.stop):
            b.setMinimumWidth(90)
        self.buttons = _row(self, self.start, self.pause, self.stop)
        for w in [self.buttons] + self.run_settings:  # Train / Pause / Stop first: on the top row
            bar.addWidget(w)
        grid.addLayout(bar, 0, 0)
        grid.addWidget(self.progress, 1, 0)
        ignore_width(self.problem)
        grid.addLayout(self._status_line(), 2, 0)
        grid.addWidget(self.problem, 3, 0)
        self.set_running(False)

    def _status_line(self) -> QVBoxLayout:
        """What the line is about (the Lab's subject, in bold), and under it what happens."""
        self.subject = Caption("subject", bold=True, parent=self)  # changes every epoch
        self.status = LinesLabel("Ready.", 2, self)  # a run's first line takes two
        self.status.setObjectName("status")
        lines = QVBoxLayout()
        lines.setContentsMargins(0, 0, 0, 0)
        lines.setSpacing(0)
        lines.addWidget(self.subject)
        lines.addWidget(self.status)
        return lines

    def loaded(self, exp: cfg.Experiment) -> None:
        i = self.device.findData(exp.train.device)
        if i < 0:  # a device this machine lacks stays selectable, the engine will say why
            self.device.addItem(exp.train.device, exp.train.device)
            i = self.device.count() - 1
        self.device.setCurrentIndex(i)

    def store(self, exp: cfg.Experiment) -> None:
        super().store(exp)
        exp.train.device = self.device.currentData()

    def set_compact(self, compact: bool) -> None:
        """Show only Train / Pause / Stop, the progress and the status (presentation mode)."""
        for w in self.run_settings:
            w.setVisible(not compact)

    def _pause_clicked(self) -> None:
        (self.resume_requested if self._paused else self.pause_requested).emit()

    # -- state shown
    def set_ready(self, problem: str | None) -> None:
        """Enable Train when the config is valid, else show why not next to it."""
        self._problem = problem
        self.problem.setText(f"⚠ {problem}" if problem else "")
        self.problem.setVisible(bool(problem))
        self.start.setEnabled(not self._running and not problem)
        self.start.setToolTip(problem or "Start training with these settings (Ctrl+Return).")

    def set_running(self, running: bool) -> None:
        self._running = running
        self._paused = False
        self.start.setEnabled(not running and not getattr(self, "_problem", None))
        self.pause.setEnabled(running)
        self.stop.setEnabled(running)
        self.pause.setText("❚❚  Pause")
        for w in (self.epochs, self.seed, self.device, self.precision):
            w.setEnabled(not running)

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        self.pause.setText("▶  Resume" if paused else "❚❚  Pause")

    def set_stopping(self) -> None:
        """A stop was asked: nothing to pause or stop any more, and Train waits for the end."""
        self.set_paused(False)
        for b in (self.start, self.pause, self.stop):
            b.setEnabled(False)

    def reset_progress(self, epochs: int) -> None:
        """An empty bar for a run of this many epochs (the last run's stays otherwise)."""
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(f"epoch 0/{epochs} · %p%")

    def show_progress(self, epoch: int, epochs: int, done: int, total: int, elapsed: float,
                      images_per_s: float, paused: bool = False, fmt: str = "") -> None:
        """fmt: how the run computes, its first line's words ('bf16 autocast, channels-last,
        eager, CUDA graphs')."""
        self.progress.setMaximum(max(1, total))
        if fmt:
            self.progress.setToolTip(f"Computing in {fmt} (train.precision, train.compile, "
                                     "train.cuda_graphs).")
        self.progress.setValue(done)
        eta = elapsed / done * (total - done) if done else 0.0
        self.progress.setFormat(f"epoch {epoch}/{epochs} · %p%")
        number = f" in {fmt.split(',')[0]}" if fmt else ""  # 'bf16 autocast'; the tooltip has all
        self.status.setText(f"Epoch {epoch}/{epochs}   ·   step {done:,}/{total:,}   ·   "
                            f"{images_per_s:,.0f} images/s{number}   ·   elapsed {clock(elapsed)}"
                            "   ·   " + ("paused" if paused else f"ETA {clock(eta)}"))

    def show_message(self, text: str) -> None:
        self.status.setText(text)

    def show_subject(self, words: str) -> None:
        """Name what the line is about (the Lab's subject: "shapes-cnn · epoch 3/16")."""
        self.subject.setText(words)

    def show_finished(self, epoch: int, epochs: int) -> None:
        """A full bar for a finished run opened from its folder."""
        self.progress.setRange(0, max(1, epochs))
        self.progress.setValue(min(epoch, max(1, epochs)))
        self.progress.setFormat(f"epoch {epoch}/{epochs} · %p%")
