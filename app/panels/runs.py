"""The Runs panel: every stored run (GUI or CLI) with its key settings and final metrics.

Ticking runs overlays their curves on the plots, labelled by what differs between them;
double-clicking one inspects its trained network; its context menu also loads its settings,
renames, deletes and opens its folder. The row of the run training now follows its epochs.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QEvent, QFileSystemWatcher, QItemSelectionModel, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QInputDialog, QMenu,
                               QMessageBox, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from app.layout import FlowLayout
from app.pacing import Pacer
from app.panels import runs_table
from app.panels.runs_table import HEADERS
from core import runs as store
from core.records import EpochRecord


LIVE_EVERY_S = 1.0  # the running run's row shows a new epoch at most this often


def _ask_confirm(parent: QWidget, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes
                                  | QMessageBox.StandardButton.Cancel,
                                  QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Yes


def _ask_name(parent: QWidget, current: str) -> str | None:
    text, ok = QInputDialog.getText(parent, "Rename run",
                                    "Name shown in the runs list and on the plots:", text=current)
    return text if ok else None


class RunsPanel(QWidget):
    """Table of stored runs; emits overlays_changed when the ticked set changes."""

    overlays_changed = Signal()
    load_requested = Signal(object)     # core.config.Experiment
    inspect_requested = Signal(object)  # core.runs.Run
    message = Signal(str, str, str)     # kind ("error", "warning", "info"), title, sentence

    def __init__(self, root: Path | None = None, parent=None):
        super().__init__(parent)
        self.root = Path(root) if root else store.default_root()
        self.table = self._make_table()
        # the dialogs and the file manager, replaceable (tests answer them without a person)
        self.confirm = lambda title, text: _ask_confirm(self, title, text)
        self.ask_name = lambda current: _ask_name(self, current)
        self.open_url = QDesktopServices.openUrl
        self._build_actions()
        col = QVBoxLayout(self)
        col.setContentsMargins(4, 4, 4, 4)
        col.addLayout(self._buttons())
        col.addWidget(self.table)

        self.runs: list[store.Run] = []
        self._configs: dict = {}  # parsed run configs, kept between refreshes (store.open_run)
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
                         "or open its folder.")
        table.itemChanged.connect(self._item_changed)
        table.cellDoubleClicked.connect(lambda r, _c: self._inspect(r))
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
        """Re-read every run, newest first, keeping the ticks."""
        ticked = {str(r.folder) for r in self.checked_runs()}
        self.runs = list(reversed(store.list_runs(self.root, self._configs)))
        self._live_row = None
        self._filling = True
        header = self.table.horizontalHeader()
        # sized once after the fill: sizing to contents at every new cell took 0.5 ms a cell
        modes = [header.sectionResizeMode(j) for j in range(len(HEADERS))]
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        try:
            self.table.setRowCount(len(self.runs))
            for i, run in enumerate(self.runs):
                for j, item in enumerate(runs_table.row_items(run, str(run.folder) in ticked)):
                    self.table.setItem(i, j, item)
                if self._is_running(run):
                    self._live_row = i
        finally:
            for j, mode in enumerate(modes):
                header.setSectionResizeMode(j, mode)
            self._filling = False
        self._colour_ticks()
        self._update_actions()
        self._fit_columns()
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
            self._colour_ticks()
            self.overlays_changed.emit()

    def _colour_ticks(self) -> None:
        self._filling = True
        try:
            runs_table.colour_ticks(self.table, self.runs)
        finally:
            self._filling = False

    def _load(self, row: int) -> None:
        if 0 <= row < len(self.runs) and self.runs[row].experiment is not None:
            self.load_requested.emit(self.runs[row].experiment)

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
        self.rename_action = action("Rename…\tF2", self._rename)
        self.delete_action = action("Delete…\tDel", self._delete)
        self.open_action = action("Open folder", self._open_folder)
        self.table.installEventFilter(self)
        self.table.viewport().installEventFilter(self)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_menu)
        self.table.itemSelectionChanged.connect(self._update_actions)

    def context_menu(self) -> QMenu:
        """Return the menu for the selected runs, each action enabled or saying why not."""
        self._update_actions()
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        for a in (self.inspect_action, self.load_action):
            menu.addAction(a)
        menu.addSeparator()
        for a in (self.rename_action, self.delete_action, self.open_action):
            menu.addAction(a)
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

    def selected_runs(self) -> list[store.Run]:
        """The runs of the selected rows (top to bottom), or the current row's."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        if not rows and 0 <= self.table.currentRow() < len(self.runs):
            rows = [self.table.currentRow()]
        return [self.runs[r] for r in rows if 0 <= r < len(self.runs)]

    def _current(self) -> store.Run | None:
        row = self.table.currentRow()
        return self.runs[row] if 0 <= row < len(self.runs) else None

    def _is_running(self, run: store.Run) -> bool:
        return self.running_folder is not None and run.folder.name == self.running_folder.name

    def _enable(self, a: QAction, reason: str | None, tip: str) -> None:
        a.setEnabled(reason is None)
        a.setToolTip(reason or tip)
        a.setStatusTip(reason or tip)

    def _update_actions(self) -> None:
        run, chosen = self._current(), self.selected_runs()
        none = "Select a run first."
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
        if not 0 <= row < len(self.runs):
            return
        run = self.runs[row]
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
            action = {Qt.Key.Key_Delete: self.delete_action, Qt.Key.Key_F2: self.rename_action}.get(event.key())
            if action is not None:
                self._key_pressed(action)
                return True
        return super().eventFilter(obj, event)

    def _fit_columns(self) -> None:
        runs_table.fit_columns(self.table)

    def _key_pressed(self, action: QAction) -> None:
        self._update_actions()
        if action.isEnabled():
            action.trigger()
        elif self.selected_runs():
            self.message.emit("info", "Not now.", action.toolTip())

    def _delete(self) -> None:
        runs = [r for r in self.selected_runs() if not self._is_running(r)]
        if not runs:
            return
        if len(runs) == 1:
            what = f"the run “{runs[0].name}” ({runs[0].folder.name})"
        else:
            what = f"these {len(runs)} runs"
        # a run training in another process (the CLI, another window) would lose its files;
        # one whose process is gone reads "interrupted" (core.runs.run_is_gone)
        elsewhere = (" One of them says it is still running: if `python -m core train` is "
                     "training it now, stop that first." if any(r.summary.get("status") == "running"
                                                               for r in runs) else "")
        if not self.confirm("Delete runs", f"Delete {what} and their files (metrics, weights)? "
                            f"This cannot be undone.{elsewhere}"):
            return
        problems = []
        for run in runs:
            try:
                store.delete_run(run.folder, self.root)
            except store.RunError as e:
                problems.append(str(e))
        self.refresh()
        if problems:
            self.message.emit("error", "Not every run was deleted.", " ".join(problems))

    def _rename(self) -> None:
        run = self._current()
        if run is None or self._is_running(run):
            return
        name = self.ask_name(run.name)
        if name is None:
            return
        try:
            store.rename_run(run.folder, name, self.root)
        except store.RunError as e:
            self.message.emit("error", "Cannot rename the run.", str(e))
            return
        self.refresh()

    def _open_folder(self) -> None:
        run = self._current()
        if run is not None and not self.open_url(QUrl.fromLocalFile(str(run.folder))):
            self.message.emit("error", "Cannot open the folder.",
                              f"No file manager opened {run.folder}; open it by hand.")

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
        exp = self.runs[row].experiment
        self._filling = True
        try:
            for col, text in runs_table.live_cells(record, exp.train.epochs if exp else None):
                item = self.table.item(row, col)
                if item is not None:
                    item.setText(text)
        finally:
            self._filling = False
