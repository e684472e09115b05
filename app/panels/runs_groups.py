"""The Runs dock's study groups: a header row per study folder, its rungs' rows under it.

A study (core.study.runner's folder: study.toml, study.json and a run folder per rung) shows as
one header — its name, kind, rungs done of all and best test accuracy — above its rungs,
indented and labelled "rung 3 · + augmentation", newest first among the runs. A click on a
header (or ← / →) folds its rungs away or back; ticking it ticks every rung, so their curves
overlay; its context menu ticks its runs, opens its folder, offers extra_menu_actions' (the
window's exports) or deletes the study.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import QMenu, QTableWidgetItem

from app.panels import runs_table
from core.store import runs as store

from core.store import reader as run_reader
ENDED = ("done", "diverged")  # a rung that ended (a stalled one ends "done")
INDENT = "    "
_STAMP = re.compile(r"(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)")


@dataclass
class Group:
    """One study of the runs list and its rungs' runs, in rung order."""
    study: run_reader.StudyInfo
    runs: list[run_reader.Run]


def _when(run: run_reader.Run) -> str:
    """When the run started ("2026-12-01T08:50:40"), from its summary or its folder's name."""
    started = run.summary.get("started")
    if isinstance(started, str):
        return started
    m = _STAMP.match(run.folder.name)
    return f"{m[1]}-{m[2]}-{m[3]}T{m[4]}:{m[5]}:{m[6]}" if m else ""


def _newest(entry) -> str:
    return max((_when(r) for r in entry.runs), default="") if isinstance(entry, Group) \
        else _when(entry)


def arrange(runs: list[run_reader.Run]) -> list:
    """Return the table's entries, newest first: runs of their own and studies (a Group, shown
    as its header then its rungs); a study is as new as its newest rung. runs: oldest first."""
    entries, groups = [], {}
    for run in runs:
        if run.study is None:
            entries.append(run)
            continue
        key = str(run.study.folder)
        if key not in groups:
            groups[key] = Group(run.study, [])
            entries.append(groups[key])
        groups[key].runs.append(run)
    for g in groups.values():
        g.runs.sort(key=lambda r: (r.rung if r.rung is not None else 1 << 30, r.folder.name))
    entries.sort(key=_newest)  # stable: runs started in the same second keep their order
    return entries[::-1]


def rows_of(entries: list) -> tuple[list, list, list[run_reader.Run], list[int]]:
    """Return what each table row shows (a Group for a header, else a Run), the study each row
    belongs to (None: a run of its own), every run in row order, and the row of each run."""
    shown, owners, runs, rows = [], [], [], []
    for entry in entries:
        group = entry if isinstance(entry, Group) else None
        for item in ([entry, *entry.runs] if group else [entry]):
            if isinstance(item, run_reader.Run):
                runs.append(item)
                rows.append(len(shown))
            shown.append(item)
            owners.append(group)
    return shown, owners, runs, rows


def rung_text(run: run_reader.Run) -> str:
    """A rung's name cell: "rung 3 · + augmentation" (or the name given by renaming it)."""
    renamed = run.experiment is not None and run.name != (run.experiment.name or run.folder.name)
    number = f"rung {run.rung}" if run.rung is not None else "rung"
    return f"{INDENT}{number} · {run.name if renamed else run.rung_label}"


def progress(group: Group) -> tuple[int, int]:
    """Return (rungs ended, rungs in all): study.json's table (a rung whose run was deleted
    is not done), else the rung folders'."""
    rows, kept = group.study.rows, {r.folder.name for r in group.runs}
    if rows:
        return sum(r.get("status") in ENDED and r.get("run_folder") in kept for r in rows), len(rows)
    latest = {r.rung: r.summary.get("status") for r in group.runs}  # rung order: last attempt
    return sum(s in ENDED for s in latest.values()), len(latest)


def best_test(group: Group) -> tuple[float | None, int | None]:
    """Return the best final test (or validation) accuracy of the rungs that ended, and its rung."""
    best, rung = None, None
    for run in group.runs:
        held = run.summary.get("test") or run.summary.get("val") or {}
        acc = held.get("accuracy")
        if run.summary.get("status") in ENDED and acc is not None and (best is None or acc > best):
            best, rung = acc, run.rung
    return best, rung


def _status(group: Group, done: int, total: int) -> str:
    if any(r.summary.get("status") == "running" for r in group.runs):
        return "running"
    return "done" if total and done == total else "unfinished"


def header_items(group: Group, ticked: set[str], folded: bool) -> list[QTableWidgetItem]:
    """The cells of a study's header row; ticked: the folders of the ticked runs."""
    done, total = progress(group)
    best, rung = best_test(group)
    on = [str(r.folder) in ticked for r in group.runs]
    name = QTableWidgetItem(f"{'▸' if folded else '▾'} {group.study.name}")
    name.setFlags(name.flags() | Qt.ItemFlag.ItemIsUserCheckable)
    name.setCheckState(Qt.CheckState.Checked if on and all(on) else
                       Qt.CheckState.PartiallyChecked if any(on) else Qt.CheckState.Unchecked)
    font = name.font()
    font.setBold(True)
    name.setFont(font)
    name.setToolTip(f"{group.study.folder}<br>Click to fold or unfold its rungs (← →); tick it "
                    "to overlay all of them; right-click for the study's actions.")
    kind = f"{group.study.kind} study" if group.study.kind else "study"
    best_text = "" if best is None else f" · best test {runs_table.figure(best)} (rung {rung})"
    settings = f"{kind} · {done}/{total} rungs done{best_text}"
    if group.study.problem:
        settings = f"(unreadable: {group.study.problem}) · {settings}"
    cell = QTableWidgetItem(settings)
    cell.setData(runs_table.BASE_TEXT, settings)  # colour_ticks rewrites a cell from this
    cell.setToolTip(settings)
    status = _status(group, done, total)
    started = max((_when(r) for r in group.runs), default="")
    items = [name, QTableWidgetItem(runs_table.started_text(started)), cell,
             QTableWidgetItem(f"{done}/{total}"), QTableWidgetItem(status), QTableWidgetItem(""),
             QTableWidgetItem(runs_table.figure(best)), QTableWidgetItem("")]
    items[4].setForeground(QBrush(QColor(runs_table.STATUS_COLOURS.get(status, "#555555"))))
    return items


def row_items(entry, ticked: set[str], folded: bool) -> list[QTableWidgetItem]:
    """The cells of one table row: a study's header, one of its rungs, or a run of its own."""
    if isinstance(entry, Group):
        return header_items(entry, ticked, folded)
    items = runs_table.row_items(entry, str(entry.folder) in ticked)
    if entry.study is not None:
        items[0].setText(rung_text(entry))
    return items


class StudyGroups:
    """A RunsPanel's study headers: folding them, ticking a study's rungs at once, its menu."""

    def __init__(self, panel):
        self.panel = panel
        self.folded: set[str] = set()  # the folders of the studies shown folded
        self._just_ticked: int | None = None  # a header whose box the click just ticked

        def action(text: str, fn) -> QAction:
            a = QAction(text, panel)
            a.triggered.connect(lambda: self._act(fn))
            return a
        self.tick_action = action("Tick all its runs", lambda g: self.tick(g, True))
        self.open_action = action("Open its folder", self.open_folder)
        self.delete_action = action("Delete the study…\tDel", self.delete)
        #: callables (core.store.reader.StudyInfo) -> [QAction] the study's menu also offers
        self.extra_menu_actions: list = []

    # -- where the headers are
    def at(self, row: int) -> Group | None:
        shown = self.panel.shown
        return shown[row] if 0 <= row < len(shown) and isinstance(shown[row], Group) else None

    def current(self) -> Group | None:
        return self.at(self.panel.table.currentRow())

    def of_row(self, row: int) -> Group | None:
        """The study of a row: its header's, or the one a rung's row belongs to."""
        owners = self.panel.owners
        return owners[row] if 0 <= row < len(owners) else None

    def header_row(self, group: Group) -> int:
        return next(i for i, e in enumerate(self.panel.shown) if e is group)

    # -- folding
    def fold(self, group: Group, folded: bool | None = None) -> None:
        """Fold a study's rungs away (or back: folded False; None: the other way)."""
        key = str(group.study.folder)
        folded = key not in self.folded if folded is None else folded
        (self.folded.add if folded else self.folded.discard)(key)
        row = self.header_row(group)
        name = self.panel.table.item(row, 0)
        panel = self.panel
        panel._filling = True
        try:
            name.setText(f"{'▸' if folded else '▾'} {group.study.name}")
        finally:
            panel._filling = False
        for i in range(row + 1, row + 1 + len(group.runs)):
            panel.table.setRowHidden(i, folded)

    def is_folded(self, entry) -> bool:
        return isinstance(entry, Group) and str(entry.study.folder) in self.folded

    def show_folds(self) -> None:
        """Hide the rungs of the folded studies (after a refresh: rows are reused)."""
        for i in range(self.panel.table.rowCount()):
            self.panel.table.setRowHidden(i, False)
        for entry in self.panel.shown:
            if isinstance(entry, Group):
                self.fold(entry, str(entry.study.folder) in self.folded)

    def clicked(self, row: int) -> None:
        """A click on a header's row folds or unfolds it, unless it ticked the header's box."""
        group, ticked, self._just_ticked = self.at(row), self._just_ticked, None
        if group is not None and ticked != row:
            self.fold(group)

    def folding_key(self, fold: bool) -> bool:
        """← (fold) or → (unfold) on a study's row; False if the row is not a study's."""
        row = self.panel.table.currentRow()
        group = self.of_row(row)
        if group is None:
            return False
        if fold and self.at(row) is None:
            self.panel.table.selectRow(self.header_row(group))  # its rung is about to hide
        self.fold(group, fold)
        return True

    # -- ticking
    def header_ticked(self, row: int) -> None:
        """The person ticked or unticked a header: every rung follows."""
        group = self.at(row)
        self._just_ticked = row
        QTimer.singleShot(0, self._forget_tick)  # the click that ticked it ends before this
        on = self.panel.table.item(row, 0).checkState() != Qt.CheckState.Unchecked
        self.tick(group, on, emit=False)

    def _forget_tick(self) -> None:
        self._just_ticked = None

    def tick(self, group: Group, on: bool, emit: bool = True) -> None:
        """Tick (or untick) every rung of a study, then its header, as one change."""
        panel, rows = self.panel, range(self.header_row(group) + 1,
                                        self.header_row(group) + 1 + len(group.runs))
        state = Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
        panel._filling = True
        try:
            for i in rows:
                panel.table.item(i, 0).setCheckState(state)
            panel.table.item(self.header_row(group), 0).setCheckState(state)
        finally:
            panel._filling = False
        if emit:
            panel.ticks_changed()

    def follow_rung(self, row: int) -> None:
        """A rung was ticked or unticked: its header reads all, some or none of them."""
        group = self.of_row(row)
        if group is None or self.at(row) is not None:
            return
        head = self.header_row(group)
        states = {self.panel.table.item(i, 0).checkState()
                  for i in range(head + 1, head + 1 + len(group.runs))}
        state = states.pop() if len(states) == 1 else Qt.CheckState.PartiallyChecked
        self.panel._filling = True
        try:
            self.panel.table.item(head, 0).setCheckState(state)
        finally:
            self.panel._filling = False

    # -- the menu
    def busy(self, group: Group) -> str | None:
        """Why the study cannot be deleted now (a rung training), or None."""
        if any(self.panel._is_running(r) for r in group.runs):
            return "This study is training now; stop it or let it end first."
        if any(r.summary.get("status") == "running" for r in group.runs):
            return ("A rung of this study says it is still training: if `python -m core study` "
                    "is training it now, stop that first.")
        return None

    def update(self, group: Group) -> None:
        """Enable the study's actions, or say why not."""
        reason = self.busy(group)
        self.delete_action.setEnabled(reason is None)
        self.delete_action.setToolTip(reason or "Delete the study's folder: every rung's run and "
                                      "the study's table (Delete).")

    def menu(self, group: Group) -> QMenu:
        self.update(group)
        menu = QMenu(self.panel)
        menu.setToolTipsVisible(True)
        for a in (self.tick_action, self.open_action):
            menu.addAction(a)
        extra = [a for make in self.extra_menu_actions for a in make(group.study)]
        if extra:
            menu.addSeparator()
            menu.addActions(extra)
        menu.addSeparator()
        menu.addAction(self.delete_action)
        return menu

    def _act(self, fn) -> None:
        group = self.current()
        if group is not None:
            fn(group)

    def open_folder(self, group: Group) -> None:
        folder = group.study.folder
        if not self.panel.open_url(QUrl.fromLocalFile(str(folder))):
            self.panel.message.emit("error", "Cannot open the folder.",
                                    f"No file manager opened {folder}; open it by hand.")

    def delete(self, group: Group) -> None:
        if self.busy(group) is not None:
            return
        n = len(group.runs)
        if not self.panel.confirm("Delete the study", f"Delete the study “{group.study.name}” "
                                  f"({group.study.folder.name}): its {n} run{'s' * (n != 1)} "
                                  "and their files (metrics, weights) and its table? This "
                                  "cannot be undone."):
            return
        try:
            store.delete_study(group.study.folder, self.panel.root)
        except store.RunError as e:
            self.panel.message.emit("error", "The study was not deleted.", str(e))
        self.folded.discard(str(group.study.folder))
        self.panel.refresh()
