"""The Runs panel: every stored run (GUI or CLI) with its key settings and final metrics.

Ticking runs overlays their curves on the plots; double-clicking one loads its settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.experiment import summary
from app.views.plots import RUN_COLOURS
from core import runs as store

HEADERS = ["run", "started", "settings", "epochs", "status", "train acc", "test acc", "test loss"]
STATUS_COLOURS = {"done": "#2e7d32", "stopped": "#8d6e00", "diverged": "#c62828", "failed": "#c62828",
                  "running": "#1565c0"}


def _pct(split: dict | None, key: str = "accuracy") -> str:
    v = (split or {}).get(key)
    return "" if v is None else (f"{v:.2f} %" if key == "accuracy" else f"{v:.4f}")


class RunsPanel(QWidget):
    """Table of stored runs; emits overlays_changed when the ticked set changes."""

    overlays_changed = Signal()
    load_requested = Signal(object)   # core.config.Experiment

    def __init__(self, root: Path | None = None, parent=None):
        super().__init__(parent)
        self.root = Path(root) if root else store.default_root()
        self.table = QTableWidget(0, len(HEADERS), self)
        self.table.setObjectName("runs")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Tick runs to overlay their curves; double-click one to load its settings.")
        self.table.itemChanged.connect(self._item_changed)
        self.table.cellDoubleClicked.connect(lambda r, _c: self._load(r))

        refresh = QPushButton("Refresh", self)
        refresh.setToolTip("Read the runs folder again (runs from the CLI appear here too).")
        refresh.clicked.connect(self.refresh)
        clear = QPushButton("Untick all", self)
        clear.clicked.connect(self.untick_all)
        load = QPushButton("Load settings", self)
        load.setToolTip("Put the selected run's settings in the panels, to change one switch and "
                        "train again.")
        load.clicked.connect(lambda: self._load(self.table.currentRow()))
        bar = QHBoxLayout()
        for b in (refresh, clear, load):
            bar.addWidget(b)
        bar.addStretch(1)
        col = QVBoxLayout(self)
        col.setContentsMargins(4, 4, 4, 4)
        col.addLayout(bar)
        col.addWidget(self.table)

        self.runs: list[store.Run] = []
        self._configs: dict = {}  # parsed run configs, kept between refreshes (store.open_run)
        self._filling = False
        self._debounce = QTimer(self, singleShot=True, interval=400, timeout=self.refresh)
        self.root.mkdir(parents=True, exist_ok=True)
        self._watcher = QFileSystemWatcher([str(self.root)], self)
        self._watcher.directoryChanged.connect(lambda *_: self._debounce.start())
        self.refresh()

    def refresh(self) -> None:
        """Re-read every run, newest first, keeping the ticks."""
        ticked = {str(r.folder) for r in self.checked_runs()}
        self.runs = list(reversed(store.list_runs(self.root, self._configs)))
        self._filling = True
        try:
            self.table.setRowCount(len(self.runs))
            for i, run in enumerate(self.runs):
                s, exp = run.summary, run.experiment
                name = QTableWidgetItem(s.get("name") or run.folder.name)
                name.setFlags(name.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                name.setCheckState(Qt.CheckState.Checked if str(run.folder) in ticked
                                   else Qt.CheckState.Unchecked)
                name.setToolTip(str(run.folder))
                status = s.get("status", "unknown")
                values = [name, s.get("started", "").replace("T", " "),
                          summary(exp) if exp else "(config unreadable)", str(s.get("epochs", 0)),
                          status, _pct(s.get("train")), _pct(s.get("test") or s.get("val")),
                          _pct(s.get("test") or s.get("val"), "loss")]
                for j, v in enumerate(values):
                    item = v if isinstance(v, QTableWidgetItem) else QTableWidgetItem(v)
                    if j == 4:
                        item.setForeground(QBrush(QColor(STATUS_COLOURS.get(status, "#555555"))))
                        item.setToolTip(s.get("message", ""))
                    self.table.setItem(i, j, item)
        finally:
            self._filling = False
        self._colour_ticks()
        if ticked:
            self.overlays_changed.emit()

    def checked_runs(self) -> list[store.Run]:
        out = []
        for i, run in enumerate(self.runs):
            item = self.table.item(i, 0)
            if item is not None and item.checkState() == Qt.CheckState.Checked:
                out.append(run)
        return out

    def set_checked(self, row: int, on: bool) -> None:
        self.table.item(row, 0).setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def untick_all(self) -> None:
        for i in range(self.table.rowCount()):
            self.set_checked(i, False)

    def overlays(self) -> list[tuple[str, list[dict]]]:
        """Return (label, epoch records) of each ticked run, in the plots' colour order."""
        return [(r.summary.get("name") or r.folder.name, r.metrics()) for r in self.checked_runs()]

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if not self._filling and item.column() == 0:
            self._colour_ticks()
            self.overlays_changed.emit()

    def _colour_ticks(self) -> None:
        """Give each ticked run the colour its curves get, so the table is the legend too."""
        self._filling = True
        try:
            k = 0
            for i in range(self.table.rowCount()):
                item = self.table.item(i, 0)
                on = item.checkState() == Qt.CheckState.Checked
                item.setForeground(QBrush(QColor(RUN_COLOURS[k % len(RUN_COLOURS)] if on else "#222222")))
                k += on
        finally:
            self._filling = False

    def _load(self, row: int) -> None:
        if 0 <= row < len(self.runs) and self.runs[row].experiment is not None:
            self.load_requested.emit(self.runs[row].experiment)
