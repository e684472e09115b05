"""The Runs panel: every stored run (GUI or CLI) with its key settings and final metrics.

Ticking runs overlays their curves on the plots, labelled by what differs between them;
double-clicking one inspects its trained network; its context menu also loads its settings,
renames, deletes and opens its folder. The row of the run training now follows its epochs.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QEvent, QFileSystemWatcher, QItemSelectionModel, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QInputDialog, QMenu,
                               QMessageBox, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from app.experiment import summary
from app.layout import FlowLayout
from app.views.plots import RUN_COLOURS
from core import runs as store
from core.compare import differences

HEADERS = ["run", "started", "settings", "epochs", "status", "train acc", "test acc", "test loss"]
STATUS_COLOURS = {"done": "#2e7d32", "stopped": "#8d6e00", "diverged": "#c62828", "failed": "#c62828",
                  "running": "#1565c0", "interrupted": "#8d6e00"}


# columns left out, in this order, when the table is too narrow for the settings to read
# (a 1280×720 screen gives the Runs dock about 580 px); the name's tooltip keeps their values
OPTIONAL_COLUMNS = [1, 7, 3]   # started, test loss, epochs
SETTINGS_MIN = 180             # the settings column gets at least this many pixels, if it can

LIVE_EVERY_S = 1.0  # the running run's row shows a new epoch at most this often
BASE_TEXT = Qt.ItemDataRole.UserRole + 1  # a settings cell's text without the differences


def _pct(split: dict | None, key: str = "accuracy") -> str:
    v = (split or {}).get(key)
    return "" if v is None else (f"{v:.2f} %" if key == "accuracy" else f"{v:.4f}")


def _started(text: str) -> str:
    """'2026-12-01T08:50:40' as '12-01 08:50' (the full time is in the name's tooltip)."""
    return text[5:16].replace("T", " ") if len(text) >= 16 else text


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
        self.table = QTableWidget(0, len(HEADERS), self)
        self.table.setObjectName("runs")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Tick runs to overlay their curves; double-click one to inspect its "
                              "trained network; right-click to load its settings, rename, delete "
                              "or open its folder.")
        self.table.itemChanged.connect(self._item_changed)
        self.table.cellDoubleClicked.connect(lambda r, _c: self._inspect(r))
        # the dialogs and the file manager, replaceable (tests answer them without a person)
        self.confirm = lambda title, text: _ask_confirm(self, title, text)
        self.ask_name = lambda current: _ask_name(self, current)
        self.open_url = QDesktopServices.openUrl
        self._build_actions()

        refresh = QPushButton("Refresh", self)
        refresh.setToolTip("Read the runs folder again (runs from the CLI appear here too).")
        refresh.clicked.connect(self.refresh)
        clear = QPushButton("Untick all", self)
        clear.clicked.connect(self.untick_all)
        load = QPushButton("Load settings", self)
        load.setToolTip("Put the selected run's settings in the panels, to change one switch and "
                        "train again.")
        load.clicked.connect(lambda: self._load(self.table.currentRow()))
        inspect = QPushButton("Inspect", self)
        inspect.setToolTip("Show the selected run's trained network in the Inspect views "
                           "(its saved weights; nothing is trained again). Double-click does it too.")
        inspect.clicked.connect(lambda: self._inspect(self.table.currentRow()))
        bar = FlowLayout()  # wraps under narrow plots (the window fits 1280×720)
        for b in (refresh, clear, inspect, load):
            bar.addWidget(b)
        col = QVBoxLayout(self)
        col.setContentsMargins(4, 4, 4, 4)
        col.addLayout(bar)
        col.addWidget(self.table)

        self.runs: list[store.Run] = []
        self._configs: dict = {}  # parsed run configs, kept between refreshes (store.open_run)
        self._filling = False
        self.running_folder: Path | None = None  # the window's run being written now
        self._live_row: int | None = None
        self._live_record: dict | None = None  # the newest epoch not yet shown in its row
        self._live_next = 0.0
        self._live_timer = QTimer(self, singleShot=True, timeout=self._show_live_now)
        self._debounce = QTimer(self, singleShot=True, interval=400, timeout=self.refresh)
        self.root.mkdir(parents=True, exist_ok=True)
        self._watcher = QFileSystemWatcher([str(self.root)], self)
        self._watcher.directoryChanged.connect(lambda *_: self._debounce.start())
        self.refresh()

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
                for j, item in enumerate(self._row_items(run, str(run.folder) in ticked)):
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

    def _row_items(self, run: store.Run, ticked: bool) -> list[QTableWidgetItem]:
        """The cells of one run's row; a part that cannot be read says why instead."""
        s, exp = run.summary, run.experiment
        name = QTableWidgetItem(run.name)
        name.setFlags(name.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        name.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
        status = s.get("status", "unknown")
        if run.problem and status == "unknown":
            status = "unreadable"
        settings = summary(exp) if exp else ""
        if run.problem:
            settings = f"(unreadable: {run.problem})" + (f" · {settings}" if settings else "")
        settings_item = QTableWidgetItem(settings)
        settings_item.setData(BASE_TEXT, settings)
        settings_item.setToolTip(settings)
        held = s.get("test") or s.get("val")
        started = str(s.get("started", ""))
        values = [name, _started(started), settings_item,
                  str(s.get("epochs", 0)), status, _pct(s.get("train")), _pct(held),
                  _pct(held, "loss")]
        name.setToolTip(f"{run.folder}<br>started {started.replace('T', ' ')} · "
                        f"{values[3]} epochs · test loss {values[7] or '—'}")
        items = [v if isinstance(v, QTableWidgetItem) else QTableWidgetItem(v) for v in values]
        items[4].setForeground(QBrush(QColor(STATUS_COLOURS.get(status, "#555555"))))
        items[4].setToolTip(s.get("message", "") or run.problem)
        return items

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

    def overlay_labels(self, runs: list[store.Run]) -> list[str]:
        """Name each run by what differs between them ("η = 0.3", "+ dropout"); a run renamed
        by hand keeps its name in front; runs that do not differ are told apart by their start."""
        diffs = differences([r.experiment for r in runs])
        labels = []
        for run, diff in zip(runs, diffs):
            renamed = run.experiment is None or run.name != (run.experiment.name or run.folder.name)
            labels.append(f"{run.name}: {diff}" if diff and renamed else diff or run.name)
        for i, label in enumerate(labels):
            if labels.count(label) > 1:
                labels[i] = f"{label} ({runs[i].summary.get('started', runs[i].folder.name)[-8:]})"
        return labels

    def overlays(self) -> list[tuple[str, list[dict]]]:
        """Return (label, epoch records) of each ticked run, in the plots' colour order."""
        runs = self.checked_runs()
        out = [(label, r.metrics()) for label, r in zip(self.overlay_labels(runs), runs)]
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
        """Give each ticked run the colour its curves get, so the table is the legend too, and
        lead the settings of two or more ticked runs with what differs between them (bold)."""
        self._filling = True
        try:
            k, ticked = 0, []
            for i in range(self.table.rowCount()):
                item = self.table.item(i, 0)
                on = item.checkState() == Qt.CheckState.Checked
                item.setForeground(QBrush(QColor(RUN_COLOURS[k % len(RUN_COLOURS)] if on else "#222222")))
                k += on
                if on:
                    ticked.append(i)
            diffs = (differences([self.runs[i].experiment for i in ticked]) if len(ticked) > 1
                     else [""] * len(ticked))
            shown = dict(zip(ticked, diffs))
            for i in range(self.table.rowCount()):
                cell = self.table.item(i, 2)
                base, diff = cell.data(BASE_TEXT) or "", shown.get(i, "")
                text = f"{diff}  |  {base}" if diff else base
                if cell.text() != text:
                    cell.setText(text)
                if cell.font().bold() != bool(diff):
                    font = cell.font()
                    font.setBold(bool(diff))
                    cell.setFont(font)
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
        """Leave out started, test loss, then epochs while the settings column would get less
        than SETTINGS_MIN pixels, rather than scroll the table sideways."""
        t, header = self.table, self.table.horizontalHeader()
        room = t.viewport().width()

        def width(j: int) -> int:
            return max(header.sectionSizeFromContents(j).width(), t.sizeHintForColumn(j))

        hidden = []
        others = sum(width(j) for j in range(len(HEADERS)) if j != 2)
        for j in OPTIONAL_COLUMNS:
            if room - others >= SETTINGS_MIN:
                break
            hidden.append(j)
            others -= width(j)
        for j in OPTIONAL_COLUMNS:
            t.setColumnHidden(j, j in hidden)

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

    def show_live(self, record: dict) -> None:
        """Show a finished epoch of the running run in its row, at most every LIVE_EVERY_S
        (the rest waits for the next, or for a timer): only that row's cells change, and a
        small network finishes a hundred epochs a second."""
        self._live_record = record
        now = time.perf_counter()
        if now >= self._live_next:
            self._show_live_now()
        elif not self._live_timer.isActive():
            self._live_timer.start(max(1, int(1000 * (self._live_next - now))))

    def _show_live_now(self) -> None:
        record, row = self._live_record, self._live_row
        self._live_record = None
        if record is None or row is None or row >= self.table.rowCount():
            return
        self._live_next = time.perf_counter() + LIVE_EVERY_S
        exp = self.runs[row].experiment
        epochs = f"{record.get('epoch', 0)}" + (f"/{exp.train.epochs}" if exp else "")
        held = record.get("test") or record.get("val")
        self._filling = True
        try:
            for col, text in ((3, epochs), (5, _pct(record.get("train"))), (6, _pct(held)),
                              (7, _pct(held, "loss"))):
                item = self.table.item(row, col)
                if item is not None:
                    item.setText(text)
        finally:
            self._filling = False
