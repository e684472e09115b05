"""Side by side: two stored runs at the same epoch in one window — two ladder rungs' filters
(with and without standardisation), two learning rates' decision boundaries — with one
timeline over the epochs both kept, and the pair exported as an animated GIF.

The pictures are core.report.replay's (the ones `python -m core inspect` draws), so each is
titled with its run and epoch, and what is compared here is what a GIF or the report shows.
Both runs are read back (data and network) in a background thread, as the Inspect panel reads
one; each step of the timeline then draws two small pictures in the GUI thread.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from app.views.timeline import Timeline
from app.wheel_guard import ComboBox
from core import LearnScopeError
from core.report import replay
from core.store import snapshots

CHOOSE_TWO = ("Tick two runs in the Runs list — two rungs of a study, two learning rates — "
              "to see them side by side at the same epoch.")


class Picture(QLabel):
    """An RGB picture scaled to the room it has, its aspect kept, its pixels sharp."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(160, 160)
        self.image: np.ndarray | None = None

    def show_image(self, image: np.ndarray) -> None:
        self.image = np.ascontiguousarray(image)
        self._scale()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._scale()

    def _scale(self) -> None:
        if self.image is None:
            return
        h, w = self.image.shape[:2]
        q = QImage(self.image.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        self.setPixmap(QPixmap.fromImage(q).scaled(
            self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))


class _Loaded(QObject):
    done = Signal(object)  # [RestoredRun, RestoredRun] or a sentence


def _restore_both(folders, loaded: _Loaded) -> None:
    from core.store import reader, restore
    try:
        result = [restore.restore(reader.open_run(f), device="cpu") for f in folders]
    except LearnScopeError as e:
        result = str(e)
    except Exception as e:  # noqa: BLE001 - a sentence, never a traceback
        result = f"Reading the runs failed unexpectedly: {type(e).__name__}: {e}"
    loaded.done.emit(result)


class SideBySide(QWidget):
    """Two runs' view at one epoch; `ready` once both are read (or could not be)."""

    ready = Signal()

    def __init__(self, folders: list[Path], say, parent=None, labels: list[str] | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.folders, self.say = [Path(f) for f in folders], say
        self.restored: list | None = None
        self.setWindowTitle(f"Side by side — {self.folders[0].name} and {self.folders[1].name}")
        self.view = ComboBox()
        self.view.setSizeAdjustPolicy(ComboBox.SizeAdjustPolicy.AdjustToContents)
        self.view.setToolTip("The picture compared: the first layer's filters (images) or the "
                             "decision boundary (2D points).")
        self.view.currentIndexChanged.connect(lambda _=0: self.draw())
        self.gif = QPushButton("Export GIF…")
        self.gif.setToolTip("Both runs side by side at each epoch, as an animated GIF.")
        self.gif.clicked.connect(self.export_gif)
        self.timeline = Timeline(self)
        self.timeline.keys(self)
        self.timeline.moved.connect(lambda _e: self.draw())
        self.pictures = [Picture(self), Picture(self)]
        self.message = QLabel("Reading both runs (their data and networks)…", self)
        self.message.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("View:"))
        top.addWidget(self.view)
        top.addWidget(self.timeline, 1)
        top.addWidget(self.gif)
        row = QHBoxLayout()
        # what tells the two apart ("η = 0.5", "3. + augmentation"), as the curves' key names them
        self.labels = [QLabel(text, self) for text in labels or [f.name for f in self.folders]]
        for label, p in zip(self.labels, self.pictures):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("font-weight: bold")
            one = QVBoxLayout()
            one.addWidget(label)
            one.addWidget(p, 1)
            row.addLayout(one, 1)
        col = QVBoxLayout(self)
        col.addLayout(top)
        col.addWidget(self.message)
        col.addLayout(row, 1)
        self._loaded = _Loaded(self)
        self._loaded.done.connect(self._show)
        threading.Thread(target=_restore_both, args=(self.folders, self._loaded),
                         name="learnscope-side-by-side", daemon=True).start()
        self.ask_file = lambda start: QFileDialog.getSaveFileName(
            self, "Export side by side as GIF", start, "GIF (*.gif)")[0]

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(900, 520)

    def _show(self, result) -> None:
        if isinstance(result, str):
            self.message.setText(result)
            self.ready.emit()
            return
        self.restored = result
        points = [r.data.input_shape == (2,) for r in result]
        views = (["decision-boundary"] if all(points) else
                 ["filters"] if not any(points) else [])
        if not views:
            self.message.setText("One run learns from images and the other from 2D points: "
                                 "they share no picture. Choose two runs of the same data.")
            self.ready.emit()
            return
        both = sorted(set(snapshots.epochs(self.folders[0])) & set(snapshots.epochs(self.folders[1])))
        self.timeline.set_epochs(both)
        self.timeline.setVisible(bool(both))
        self.message.setText("" if both else "These runs kept no epoch in common (an older run "
                             "keeps no snapshots): their final networks are shown.")
        self.message.setVisible(not both)
        for name in views:  # the first one added draws
            self.view.addItem(replay.VIEWS[name].capitalize(), name)
        self.ready.emit()

    def frames(self, epochs: list[int]) -> list[list[replay.Frame]]:
        """Each run's frames at these epochs ([]: the final networks)."""
        return [replay.frames(f, self.view.currentData(), epochs, restored=r)
                for f, r in zip(self.folders, self.restored)]

    def draw(self) -> None:
        if not self.restored or self.view.currentData() is None:
            return
        epoch = self.timeline.epoch()
        try:
            pair = self.frames([] if epoch is None else [epoch])
        except LearnScopeError as e:
            self.say("warning", "Cannot draw that epoch.", str(e))
            return
        for picture, (frame,) in zip(self.pictures, pair):
            picture.show_image(frame.image)

    def export_gif(self) -> Path | None:
        """Ask where, and write both runs side by side at each common epoch as a GIF."""
        if not self.restored or not self.timeline.epochs:
            self.say("info", "Nothing to animate.", "These runs share no kept epoch.")
            return None
        chosen = self.ask_file(str(Path.home() / "side-by-side.gif"))
        if not chosen:
            return None
        left, right = self.frames(self.timeline.epochs)
        pairs = [replay.Frame(a.epoch, f"{a.title} | {b.title}", replay.strip([a, b], gap=12))
                 for a, b in zip(left, right)]
        try:
            path = replay.write_gif(pairs, chosen)
        except OSError as e:
            self.say("error", "Cannot export.", f"Could not write {chosen} ({e.strerror or e}); "
                     "choose a folder you can write to.")
            return None
        self.say("info", "Exported.", f"{path}.")
        return path


def open_for(lab, runs_panel, parent) -> SideBySide | None:
    """Open side by side on the two ticked runs of the Runs list (a sentence otherwise)."""
    ticked = runs_panel.checked_runs()
    if len(ticked) != 2:
        lab.say("info", "Side by side needs two runs.", CHOOSE_TWO
                + (f" Now {len(ticked)} are ticked." if ticked else ""))
        return None
    from app.panels.runs_table import overlay_labels
    shown = SideBySide([r.folder for r in ticked], lab.say, parent, overlay_labels(ticked))
    shown.resize(shown.sizeHint())
    shown.show()
    return shown
