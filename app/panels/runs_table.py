"""The Runs panel's table: one row of cells per stored run, the ticked runs in their curves'
colours with what differs between them, the live row of the run training now, and columns
left out when the table is too narrow."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

from app.experiment import summary
from app.views.curves import RUN_COLOURS
from core.store import reader as run_reader
from core.experiment.compare import differences
from core.engine.records import EpochRecord

HEADERS = ["run", "started", "settings", "epochs", "status", "train acc", "test acc", "test loss"]
STATUS_COLOURS = {"done": "#2e7d32", "stopped": "#8d6e00", "diverged": "#c62828", "failed": "#c62828",
                  "running": "#1565c0", "interrupted": "#8d6e00"}
SETTINGS = 2  # the settings column, which stretches
# columns left out, in this order, when the table is too narrow for the settings to read
# (a 1280×720 screen gives the Runs dock about 580 px); the name's tooltip keeps their values
OPTIONAL_COLUMNS = [1, 7, 3]   # started, test loss, epochs
SETTINGS_MIN = 180             # the settings column gets at least this many pixels, if it can
BASE_TEXT = Qt.ItemDataRole.UserRole + 1  # a settings cell's text without the differences


def figure(v, key: str = "accuracy") -> str:
    """An accuracy as '97.50 %', a loss as '0.1234'; '' when there is none."""
    return "" if v is None else (f"{v:.2f} %" if key == "accuracy" else f"{v:.4f}")


def _stored(split: dict | None, key: str = "accuracy") -> str:
    """A figure of a split in a run's summary.json (a table of numbers, or absent)."""
    return figure((split or {}).get(key), key)


def started_text(text: str) -> str:
    """'2026-12-01T08:50:40' as '12-01 08:50' (the full time is in the name's tooltip)."""
    return text[5:16].replace("T", " ") if len(text) >= 16 else text


def row_items(run: run_reader.Run, ticked: bool) -> list[QTableWidgetItem]:
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
    values = [name, started_text(started), settings_item,
              str(s.get("epochs", 0)), status, _stored(s.get("train")), _stored(held),
              _stored(held, "loss")]
    name.setToolTip(f"{run.folder}<br>started {started.replace('T', ' ')} · "
                    f"{values[3]} epochs · test loss {values[7] or '—'}")
    items = [v if isinstance(v, QTableWidgetItem) else QTableWidgetItem(v) for v in values]
    items[4].setForeground(QBrush(QColor(STATUS_COLOURS.get(status, "#555555"))))
    items[4].setToolTip(s.get("message", "") or run.problem)
    return items


def live_cells(record: EpochRecord, epochs: int | None) -> list[tuple[int, str]]:
    """(column, text) of the running run's row after the epoch of record (of epochs, if known)."""
    held = record.held()
    return [(3, f"{record.epoch}" + (f"/{epochs}" if epochs else "")),
            (5, figure(record.train.accuracy)),
            (6, figure(held.accuracy if held else None)),
            (7, figure(held.loss if held else None, "loss"))]


def overlay_labels(runs: list[run_reader.Run]) -> list[str]:
    """Name each run by what differs between them ("η = 0.3", "+ dropout"); a run renamed
    by hand keeps its name in front; runs that do not differ are told apart by their start.
    The rungs of one study are named by their rungs ("3. + augmentation"): a ladder's rungs
    differ in everything the rungs below them added."""
    studies = {r.study.folder for r in runs if r.study is not None}
    if len(studies) == 1 and all(r.study is not None and r.rung_label for r in runs):
        return [f"{r.rung}. {r.rung_label}" if r.rung else r.rung_label for r in runs]
    diffs = differences([r.experiment for r in runs])
    labels = []
    for run, diff in zip(runs, diffs):
        renamed = run.experiment is None or run.name != (run.experiment.name or run.folder.name)
        labels.append(f"{run.name}: {diff}" if diff and renamed else diff or run.name)
    for i, label in enumerate(labels):
        if labels.count(label) > 1:
            labels[i] = f"{label} ({runs[i].summary.get('started', runs[i].folder.name)[-8:]})"
    return labels


def colour_ticks(table: QTableWidget, runs: list[run_reader.Run | None]) -> None:
    """Give each ticked run the colour its curves get, so the table is the legend too, and
    lead the settings of two or more ticked runs with what differs between them (bold).
    runs: each row's run (None: a study's header, which keeps its colour)."""
    k, ticked = 0, []
    for i in range(table.rowCount()):
        item = table.item(i, 0)
        if runs[i] is None:
            continue
        on = item.checkState() == Qt.CheckState.Checked
        item.setForeground(QBrush(QColor(RUN_COLOURS[k % len(RUN_COLOURS)] if on else "#222222")))
        k += on
        if on:
            ticked.append(i)
    diffs = (differences([runs[i].experiment for i in ticked]) if len(ticked) > 1
             else [""] * len(ticked))
    shown = dict(zip(ticked, diffs))
    for i in range(table.rowCount()):
        cell = table.item(i, SETTINGS)
        base, diff = cell.data(BASE_TEXT) or "", shown.get(i, "")
        text = f"{diff}  |  {base}" if diff else base
        if cell.text() != text:
            cell.setText(text)
        if cell.font().bold() != bool(diff):
            font = cell.font()
            font.setBold(bool(diff))
            cell.setFont(font)


def fit_columns(table: QTableWidget) -> None:
    """Leave out started, test loss, then epochs while the settings column would get less
    than SETTINGS_MIN pixels, rather than scroll the table sideways."""
    header = table.horizontalHeader()
    room = table.viewport().width()

    def width(j: int) -> int:
        return max(header.sectionSizeFromContents(j).width(), table.sizeHintForColumn(j))

    hidden = []
    others = sum(width(j) for j in range(len(HEADERS)) if j != SETTINGS)
    for j in OPTIONAL_COLUMNS:
        if room - others >= SETTINGS_MIN:
            break
        hidden.append(j)
        others -= width(j)
    for j in OPTIONAL_COLUMNS:
        table.setColumnHidden(j, j in hidden)
