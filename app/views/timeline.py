"""The timeline beside the Inspect view: a run's epochs, scrubbed, stepped and played.

It lists the epochs the run kept snapshots of (core.store.snapshots; epoch 0 is the initial
weights) and says which one to show; the Inspect panel loads that epoch's weights into a
network the window owns and every view redraws it. While a run trains, the list grows with
each epoch: at its end the timeline follows the present, moved back it stays on the past
epoch while training goes on, and Live (or the last epoch) returns to the present. Keys,
while the Inspect panel has the focus: ←/→ a step, Home/End the first and the last epoch,
Space play or pause.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from app.wheel_guard import Slider

PLAY_MS = 400  # a frame of Play: slow enough to see each epoch's change


class Timeline(QWidget):
    moved = Signal(int)  # the epoch to show

    def __init__(self, parent=None):
        super().__init__(parent)
        self.epochs: list[int] = []
        self._keys: list[QShortcut] = []  # keys(): the arrows, Home and End
        self._space: QShortcut | None = None
        self.slider = Slider(Qt.Orientation.Horizontal, self)
        self.slider.setToolTip("The run's epochs: drag to see the network as it was then "
                               "(0 = its initial weights). ←/→ a step, Home/End, Space plays.")
        self.slider.valueChanged.connect(self._slid)
        self.slider.setMinimumWidth(40)
        # no ⏮/⏭ buttons: the slider's ends are one drag away, Home/End one key, and the row
        # shares its width with the view chooser at the 480 px the views are made for
        self.back, self.forward = QToolButton(self), QToolButton(self)
        for button, text, tip, step in ((self.back, "◀", "One epoch back (←)", -1),
                                        (self.forward, "▶", "One epoch on (→)", +1)):
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, s=step: self.step(s))
        self.play = QToolButton(self)
        self.play.setText("Play")
        self.play.setCheckable(True)
        self.play.setToolTip("Play the epochs one after the other (Space)")
        self.play.toggled.connect(self._playing)
        self.label = QLabel(self)
        self.live = QToolButton(self)  # shown while the run trains, enabled on a past epoch
        self.live.setText("Live")
        self.live.setToolTip("Back to the present: the network as it trains now (End)")
        self.live.clicked.connect(lambda _=False: self.step("last"))
        self.live.hide()
        self._timer = QTimer(self, interval=PLAY_MS, timeout=self._advance)
        for b in (self.back, self.forward, self.play, self.live):
            b.setAutoRaise(True)  # one slim row: the view above keeps its height
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 0, 6, 0)
        row.setSpacing(2)
        for w in (self.back, self.play, self.forward):
            row.addWidget(w)
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)
        row.addWidget(self.live)
        self.set_epochs([])

    def keys(self, owner: QWidget) -> None:
        """Let owner's focus drive the timeline with the arrow keys, Home, End and Space —
        only while the timeline shows, and Space only while no run trains: there it is the
        window's Pause, and two shortcuts on one key would leave Qt firing neither."""
        for key, step in ((Qt.Key.Key_Left, -1), (Qt.Key.Key_Right, +1),
                          (Qt.Key.Key_Home, "first"), (Qt.Key.Key_End, "last")):
            shortcut = QShortcut(QKeySequence(key), owner)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda s=step: self.step(s))
            self._keys.append(shortcut)
        self._space = QShortcut(QKeySequence(Qt.Key.Key_Space), owner)
        self._space.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._space.activated.connect(self.play.toggle)
        self._suit_keys(False)

    def _suit_keys(self, training: bool) -> None:
        shown = len(self.epochs) > 1
        for shortcut in self._keys:
            shortcut.setEnabled(shown)
        if self._space is not None:
            self._space.setEnabled(shown and not training)

    def set_epochs(self, epochs: list[int], training: bool = False) -> None:
        """The kept epochs (none: the timeline hides), without `moved`: at the last one, or
        while a run trains (the list grows) on the past epoch shown if one was."""
        shown, present = self.epoch(), self.at_present()
        if not training:
            self.play.setChecked(False)
        self.epochs = list(epochs)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.epochs) - 1))
        keep = training and not present and shown in self.epochs
        self.slider.setValue(self.epochs.index(shown) if keep else self.slider.maximum())
        self.slider.blockSignals(False)
        self.setVisible(len(self.epochs) > 1)
        self.live.setVisible(training)
        self.live.setEnabled(not self.at_present())
        self._suit_keys(training)
        self._label()

    def at_present(self) -> bool:
        """Whether the last kept epoch is shown (while a run trains: the present)."""
        return self.slider.value() == self.slider.maximum()

    def epoch(self) -> int | None:
        return self.epochs[self.slider.value()] if self.epochs else None

    def show_epoch(self, epoch: int) -> None:
        """Move to epoch (the nearest kept one at or before it)."""
        if self.epochs:
            index = max([i for i, e in enumerate(self.epochs) if e <= epoch], default=0)
            self.slider.setValue(index)

    def step(self, how) -> None:
        if not self.epochs:
            return
        value = {"first": 0, "last": self.slider.maximum()}.get(how)
        self.slider.setValue(self.slider.value() + how if value is None else value)

    def _slid(self, _value: int) -> None:
        self._label()
        self.live.setEnabled(not self.at_present())
        self.moved.emit(self.epoch())

    def _label(self) -> None:
        e = self.epoch()
        self.label.setText("" if e is None else f"{e}/{self.epochs[-1]}")
        self.label.setToolTip("" if e is None else f"Epoch {e} of {self.epochs[-1]}"
                              + (": the initial weights" if e == 0 else ""))

    def _playing(self, on: bool) -> None:
        if on and self.slider.value() == self.slider.maximum():
            self.slider.setValue(0)  # Play at the end starts again
        self._timer.start() if on else self._timer.stop()
        self.play.setText("Pause" if on else "Play")

    def _advance(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.play.setChecked(False)
        else:
            self.slider.setValue(self.slider.value() + 1)
