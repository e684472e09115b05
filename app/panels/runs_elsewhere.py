"""Runs that other processes train (a CLI run, a study from a terminal): their end, seen
within a second.

A run ends inside its own folder (its summary.json replaced), which the Runs panel's watcher of
the runs root and of study folders does not see. The summaries of the runs shown running are
read every OTHERS_EVERY_MS instead of watched: a watch per folder would spend the system's
watches and still need a read per change (a summary is rewritten every second while a run
trains), and reading the status, not comparing a time stamp, also tells a killed writer
("interrupted") and never misses an end written between the list's read and a stamp.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from core.store import reader as run_reader
OTHERS_EVERY_MS = 500


class RunsElsewhere(QObject):
    """Emits ended when one of the followed runs no longer reads running."""

    ended = Signal()

    def __init__(self, configs: dict, parent=None):
        super().__init__(parent)
        self._configs = configs  # the panel's parsed configs, shared (run_reader.open_run)
        self._folders: list[Path] = []
        self._timer = QTimer(self, interval=OTHERS_EVERY_MS, timeout=self._check)

    def follow(self, folders: list[Path]) -> None:
        """Read these runs' summaries until one ends; none: stop reading."""
        self._folders = list(folders)
        if not self._folders:
            self._timer.stop()
        elif not self._timer.isActive():
            self._timer.start()

    def _check(self) -> None:
        # a small summary.json per run shown running (under 0.1 ms, its liveness check included)
        if any(run_reader.open_run(f, self._configs).summary.get("status") != "running"
               for f in self._folders):
            self.ended.emit()
