"""The Runs panel: every stored run (GUI or CLI) with its key settings and final metrics.

Ticking runs overlays their curves on the plots, labelled by what differs between them;
double-clicking one inspects its trained network; its context menu also loads its settings,
renames, deletes and opens its folder. The row of the run training now follows its epochs; a
run another process trains is seen to end within a second. A study's runs are grouped under a
header row (app.panels.runs_groups).
"""

from __future__ import annotations

import os
import time
from contextlib import suppress
from pathlib import Path

from PySide6.QtCore import QEvent, QFileSystemWatcher, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QMenu, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.layout import FlowLayout
from core.engine.pacing import Pacer
from app.panels import runs_edit, runs_groups, runs_table
from app.panels.runs_elsewhere import RunsElsewhere
from app.panels.runs_table import HEADERS
from core.store import reader as run_reader
from core.engine.records import EpochRecord


LIVE_EVERY_S = 1.0  # the running run's row shows a new epoch at most this often


class RunsPanel(QWidget):
    """Table of stored runs; emits overlays_changed when the ticked set changes."""

    overlays_changed = Signal()
    load_requested = Signal(object)     # core.experiment.config.Experiment
    inspect_requested = Signal(object)  # core.store.reader.Run
    message = Signal(str, str, str)     # kind ("error", "warning", "info"), title, sentence

    def __init__(self, root: Path | None = None, parent=None):
        super().__init__(parent)
        self.root = Path(root) if root else run_reader.default_root()
        self.table = self._make_table()
        # the dialogs and the file manager, replaceable (tests answer them without a person)
        self.confirm = lambda title, text: runs_edit.ask_confirm(self, title, text)
        self.ask_name = lambda current: runs_edit.ask_name(self, current)
        self.open_url = QDesktopServices.openUrl
        self._build_actions()
        col = QVBoxLayout(self)
        col.setContentsMargins(4, 4, 4, 4)
        col.addLayout(self._buttons())
        col.addWidget(self.table)

        self.runs: list[run_reader.Run] = []  # every run, in the table's order (set_checked's index)
        self.shown: list = []   # what each table row shows: a Run, or a study's Group (header)
        self.owners: list = []  # the study (Group) each row belongs to, None for a run's own
        self._rows: list[int] = []  # the table row of each of self.runs
        self.groups = runs_groups.StudyGroups(self)
        #: callables (run) -> [QAction] whose actions the context menu of a run ends with
        self.extra_menu_actions: list = []
        self._configs: dict = {}  # parsed run configs, kept between refreshes (run_reader.open_run)
        self._filling = False
        self.running_folder: Path | None = None  # the window's run being written now
        self._live_row: int | None = None
        self._live_record: EpochRecord | None = None  # the newest epoch not yet shown in its row
        self._live_pace = Pacer(LIVE_EVERY_S, share=1.0)
        self._live_timer = QTimer(self, singleShot=True, timeout=self._show_live_now)
        self._debounce = QTimer(self, singleShot=True, interval=400, timeout=self.refresh)
        self.root.mkdir(parents=True, exist_ok=True)
        self._watcher = QFileSystemWatcher([str(self.root)], self)
        self._watcher.directoryChanged.connect(lambda *_: self._debounce.start())
        self._elsewhere = RunsElsewhere(self._configs, self)  # runs other processes train
        self._elsewhere.ended.connect(self.refresh)
        self.refresh()

    def _make_table(self) -> QTableWidget:
        table = QTableWidget(0, len(HEADERS), self)
        table.setObjectName("runs")
        table.setHorizontalHeaderLabels(HEADERS)
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setAlternatingRowColors(True)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(runs_table.SETTINGS, QHeaderView.ResizeMode.Stretch)
        table.setToolTip("Tick runs to overlay their curves; double-click one to inspect its "
                         "trained network; right-click to load its settings, rename, delete "
                         "or open its folder. Click a study's header to fold its rungs.")
        table.itemChanged.connect(self._item_changed)
        table.cellDoubleClicked.connect(lambda r, _c: self._inspect(r))
        table.cellClicked.connect(lambda r, _c: self.groups.clicked(r))
        return table

    def _buttons(self) -> FlowLayout:
        def button(text: str, tip: str, fn) -> QPushButton:
            b = QPushButton(text, self)
            b.setToolTip(tip)
            b.clicked.connect(fn)
            return b

        bar = FlowLayout()  # wraps under narrow plots (the window fits 1280×720)
        bar.addWidget(button("Refresh", "Read the runs folder again (runs from the CLI appear "
                             "here too).", self.refresh))
        bar.addWidget(button("Untick all", "", self.untick_all))
        bar.addWidget(button("Inspect", "Show the selected run's trained network in the Inspect "
                             "views (its saved weights; nothing is trained again). Double-click "
                             "does it too.", lambda: self._inspect(self.table.currentRow())))
        bar.addWidget(button("Load settings", "Put the selected run's settings in the panels, to "
                             "change one switch and train again.",
                             lambda: self._load(self.table.currentRow())))
        return bar

    def refresh(self) -> None:
        """Re-read every run, newest first (a study's under its header), keeping the ticks."""
        ticked = {str(r.folder) for r in self.checked_runs()}
        entries = runs_groups.arrange(run_reader.list_runs(self.root, self._configs))
        self.shown, self.owners, self.runs, self._rows = runs_groups.rows_of(entries)
        self._watch_studies()
        self._elsewhere.follow([r.folder for r in self.runs if r.summary.get("status") == "running"
                                and not self._is_running(r)])
        self._live_row = None
        self._filling = True
        header = self.table.horizontalHeader()
        # sized once after the fill: sizing to contents at every new cell took 0.5 ms a cell
        modes = [header.sectionResizeMode(j) for j in range(len(HEADERS))]
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        try:
            self.table.setRowCount(len(self.shown))
            for i, entry in enumerate(self.shown):
                folded = self.groups.is_folded(entry)
                for j, item in enumerate(runs_groups.row_items(entry, ticked, folded)):
                    self.table.setItem(i, j, item)
                if isinstance(entry, run_reader.Run) and self._is_running(entry):
                    self._live_row = i
        finally:
            for j, mode in enumerate(modes):
                header.setSectionResizeMode(j, mode)
            self._filling = False
        self.groups.show_folds()
        self._colour_ticks()
        self._update_actions()
        self._fit_columns()
        if ticked:
            self.overlays_changed.emit()

    def _watch_studies(self) -> None:
        """Watch each study folder too: a study trained elsewhere adds its rungs in there. So
        is each folder of the root that is not a run yet: a study another process starts is a
        bare folder (its lock) for a moment before it holds study.toml."""
        folders = {str(g.study.folder) for g in self.shown if isinstance(g, runs_groups.Group)}
        runs = {str(r.folder) for r in self.runs}
        with suppress(OSError), os.scandir(self.root) as entries:
            folders |= {e.path for e in entries if e.is_dir() and e.path not in runs
                        and not e.name.startswith(".")}
        watched = set(self._watcher.directories()) - {str(self.root)}
        if watched - folders:
            self._watcher.removePaths(sorted(watched - folders))
        if folders - watched:
            self._watcher.addPaths(sorted(folders - watched))

    def checked_runs(self) -> list[run_reader.Run]:
        out = []
        for run, row in zip(self.runs, self._rows):
            item = self.table.item(row, 0)
            if item is not None and item.checkState() == Qt.CheckState.Checked:
                out.append(run)
        return out

    def set_checked(self, i: int, on: bool) -> None:
        """Tick or untick self.runs[i] (its row: self.row_of(i); a study's header follows)."""
        self.table.item(self._rows[i], 0).setCheckState(Qt.CheckState.Checked if on
                                                        else Qt.CheckState.Unchecked)

    def row_of(self, i: int) -> int:
        """The table row of self.runs[i]."""
        return self._rows[i]

    def untick_all(self) -> None:
        for i in range(len(self.runs)):
            self.set_checked(i, False)

    def overlays(self) -> list[tuple[str, list[EpochRecord]]]:
        """Return (label, epoch records) of each ticked run, in the plots' colour order."""
        runs = self.checked_runs()
        out = [(label, r.metrics()) for label, r in zip(runs_table.overlay_labels(runs), runs)]
        left_out = [f"{r.name}: {r.metrics_problem}" for r in runs if r.metrics_problem]
        if left_out:
            self.message.emit("warning", "Some epoch records could not be read.",
                              "; ".join(left_out) + ".")
        return out

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if not self._filling and item.column() == 0:
            if self.groups.at(item.row()) is not None:
                self.groups.header_ticked(item.row())
            else:
                self.groups.follow_rung(item.row())
            self.ticks_changed()

    def ticks_changed(self) -> None:
        self._colour_ticks()
        self.overlays_changed.emit()

    def _colour_ticks(self) -> None:
        self._filling = True
        try:
            runs_table.colour_ticks(self.table, [self._run_at(i) for i in range(len(self.shown))])
        finally:
            self._filling = False

    def _run_at(self, row: int) -> run_reader.Run | None:
        """The run a table row shows (None: a study's header, or no row)."""
        entry = self.shown[row] if 0 <= row < len(self.shown) else None
        return entry if isinstance(entry, run_reader.Run) else None

    def _load(self, row: int) -> None:
        run = self._run_at(row)
        if run is not None and run.experiment is not None:
            self.load_requested.emit(run.experiment)

    # -- the context menu
    def _build_actions(self) -> None:
        def action(text: str, fn) -> QAction:
            a = QAction(text, self)
            a.triggered.connect(fn)
            return a

        # (the keys, Delete and F2, are read by eventFilter: pressed on the table they act
        # on its selection, and a refused one says why instead of nothing)
        self.inspect_action = action("Inspect", lambda: self._inspect(self.table.currentRow()))
        self.load_action = action("Load settings", lambda: self._load(self.table.currentRow()))
        self.rename_action = action("Rename…\tF2", lambda: runs_edit.rename(self))
        self.delete_action = action("Delete…\tDel", lambda: runs_edit.delete(self))
        self.open_action = action("Open folder", lambda: runs_edit.open_folder(self))
        self.table.installEventFilter(self)
        self.table.viewport().installEventFilter(self)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_menu)
        self.table.itemSelectionChanged.connect(self._update_actions)

    def context_menu(self) -> QMenu:
        """Return the menu for the selected runs, each action enabled or saying why not (on a
        study's header: the study's menu); a run's ends with extra_menu_actions' actions."""
        group = self.groups.current()
        if group is not None:
            return self.groups.menu(group)
        self._update_actions()
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        for a in (self.inspect_action, self.load_action):
            menu.addAction(a)
        menu.addSeparator()
        for a in (self.rename_action, self.delete_action, self.open_action):
            menu.addAction(a)
        run = self._current()
        extra = [a for make in self.extra_menu_actions for a in make(run)] if run else []
        if extra:
            menu.addSeparator()
            menu.addActions(extra)
        return menu

    def _show_menu(self, pos) -> None:
        row = self.table.rowAt(pos.y())
        if row < 0:
            return
        model = self.table.selectionModel()
        if row not in {i.row() for i in model.selectedRows()}:
            self.table.selectRow(row)
        # the single-run actions act on the row clicked, a multi-row selection stays for Delete
        model.setCurrentIndex(self.table.model().index(row, 0),
                              QItemSelectionModel.SelectionFlag.NoUpdate)
        self.context_menu().exec(self.table.viewport().mapToGlobal(pos))

    def selected_runs(self) -> list[run_reader.Run]:
        """The runs of the selected rows (top to bottom), or the current row's."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        if not rows:
            rows = [self.table.currentRow()]
        return [r for r in map(self._run_at, rows) if r is not None]

    def _current(self) -> run_reader.Run | None:
        return self._run_at(self.table.currentRow())

    def _is_running(self, run: run_reader.Run) -> bool:
        # the folder's name and its parent's: rungs of two studies share names (rung-01-baseline)
        f = self.running_folder
        return f is not None and (run.folder.name, run.folder.parent.name) == (f.name, f.parent.name)

    def _enable(self, a: QAction, reason: str | None, tip: str) -> None:
        a.setEnabled(reason is None)
        a.setToolTip(reason or tip)
        a.setStatusTip(reason or tip)

    def _update_actions(self) -> None:
        run, chosen = self._current(), self.selected_runs()
        none = ("A study's header: right-click it for the study's actions." if
                self.groups.current() is not None else "Select a run first.")
        training = "Inspect follows the run training now; inspect a stored run once it ends."
        busy = "This run is training now; stop it or let it end first."
        self._enable(self.inspect_action, none if run is None else
                     "Its config.toml cannot be read." if run.experiment is None else
                     training if self.running_folder is not None else None,
                     "Show this run's trained network in the Inspect views (its saved weights).")
        self._enable(self.load_action, none if run is None else
                     "Its config.toml cannot be read." if run.experiment is None else None,
                     "Put this run's settings in the panels, to change one switch and train again.")
        self._enable(self.rename_action, none if run is None else busy if self._is_running(run)
                     else None, "Give this run the name the list and the plots show (F2).")
        self._enable(self.delete_action, none if not chosen else
                     busy if any(self._is_running(r) for r in chosen) else None,
                     "Delete the selected run(s) and their files (Delete).")
        self._enable(self.open_action, none if run is None else None,
                     "Open this run's folder in the file manager.")
        if len(chosen) > 1:
            self.delete_action.setText(f"Delete {len(chosen)} runs…\tDel")
        else:
            self.delete_action.setText("Delete…\tDel")

    def _inspect(self, row: int) -> None:
        run = self._run_at(row)
        if run is None:
            return
        if run.experiment is None:
            self.message.emit("error", "Cannot inspect that run.", run.problem or
                              "Its config.toml cannot be read.")
        elif self.running_folder is not None:
            self.message.emit("info", "A run is training.", "Inspect follows the run training "
                              "now; inspect a stored run once it ends.")
        else:
            self.inspect_requested.emit(run)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()  # the viewport's own size: the table's comes before it
        if obj is self.table and event.type() == QEvent.Type.KeyPress \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            key = event.key()
            if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self.groups.folding_key(
                    key == Qt.Key.Key_Left):
                return True
            header = self.groups.current() is not None
            action = {Qt.Key.Key_Delete: self.groups.delete_action if header else self.delete_action,
                      Qt.Key.Key_F2: self.rename_action}.get(key)
            if action is not None:
                self._key_pressed(action)
                return True
        return super().eventFilter(obj, event)

    def _fit_columns(self) -> None:
        runs_table.fit_columns(self.table)

    def _key_pressed(self, action: QAction) -> None:
        self._update_actions()
        group = self.groups.current()
        if group is not None:
            self.groups.update(group)
        if action.isEnabled():
            action.trigger()
        elif self.selected_runs() or group is not None:
            self.message.emit("info", "Not now.", action.toolTip())

    # -- the run training now
    def set_running(self, folder) -> None:
        """Mark the window's run being written now (None: none); its row follows show_live."""
        self.running_folder = Path(folder) if folder else None
        self._live_record = None
        self._live_timer.stop()
        self.refresh()

    def show_live(self, record: EpochRecord) -> None:
        """Show a finished epoch of the running run in its row, at most every LIVE_EVERY_S
        (the rest waits for the next, or for a timer): only that row's cells change, and a
        small network finishes a hundred epochs a second."""
        self._live_record = record
        if self._live_pace.due():
            self._show_live_now()
        elif not self._live_timer.isActive():
            self._live_timer.start(max(1, int(1000 * (self._live_pace.next - time.perf_counter()))))

    def _show_live_now(self) -> None:
        record, row = self._live_record, self._live_row
        self._live_record = None
        if record is None or row is None or row >= self.table.rowCount():
            return
        self._live_pace.spent(0.0)
        run = self._run_at(row)
        exp = run.experiment if run is not None else None
        self._filling = True
        try:
            for col, text in runs_table.live_cells(record, exp.train.epochs if exp else None):
                item = self.table.item(row, col)
                if item is not None:
                    item.setText(text)
        finally:
            self._filling = False
