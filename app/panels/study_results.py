"""A study's results: the table of its rungs and a bar chart of their test accuracies.

One row per rung (study.json's: rung, question, effective step η/(1−m), train and test
accuracy, best test and its epoch, the change against the previous rung in points, time,
status), a stalled or diverged rung flagged with the reason in its tooltip. Each rung has the
colour its curves have in the main plots: the colour the Runs dock gives its run while it is
ticked there (grey while it is not), so the table, the bars and the curves agree. A click on a
rung (its row or its bar) opens it in the Lab: its settings, shows its trained network in the
Inspect views and ticks its run in the Runs dock.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QMenu, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from app.views.curves import RUN_COLOURS
from core.experiment import config as cfg
from core.store import reader as run_reader

# what a narrow dock shows first leads: the rung, its test accuracy, the change, the status
HEADERS = ["rung", "test", "change", "status", "train", "best (ep)", "step", "Q", "time"]
#: the headers' tooltips: what a number means, and where the practical's settings hide a cause
HEADER_TIPS = {
    "best (ep)": "The best epoch: by the validation accuracy (\"val\") when the run has a "
                 "validation split — model selection never looks at the test set (question 1) "
                 "— else by the test accuracy (\"test\").",
    "step": "The step along the batch's mean gradient: η/(1−m) with momentum m, times the "
            "batch size B when the loss sums over the batch (optim.reduction = \"sum\"), where "
            "a full batch of N steps N/B times further than a mini-batch (question 10)."}
COLUMN = {name: j for j, name in enumerate(HEADERS)}
UNTICKED = "#b0b7bf"  # a rung whose run is not ticked in the Runs dock (no curve drawn)
UP, DOWN = "#2e7d32", "#c62828"
STATUS_COLOURS = {"done": "#2e7d32", "running": "#1565c0", "stopped": "#8d6e00",
                  "pending": "#57606a", "diverged": "#c62828", "failed": "#c62828",
                  "stalled": "#c62828"}
FLAGGED = ("stalled", "diverged", "failed")


def run_colours(runs_panel) -> dict[Path, str]:
    """The colour of each ticked run's curves, by folder: the i-th ticked run of the Runs dock
    gets RUN_COLOURS[i], as app.views.overlays draws them."""
    return {Path(r.folder).resolve(): RUN_COLOURS[i % len(RUN_COLOURS)]
            for i, r in enumerate(runs_panel.checked_runs())}


def status_of(row: dict) -> str:
    return "stalled" if row.get("stalled") else str(row.get("status", ""))


def _num(v, fmt: str = "{:.1f}") -> str:
    return "" if v is None else fmt.format(v)


def cells(row: dict) -> list[str]:
    """The texts of one rung's row."""
    best = ("" if row.get("best_test") is None else
            f"{row.get('best_by', 'test')} {row['best_test']:.1f} ({row['best_epoch']})")
    change = row.get("change")
    arrow = "" if change is None else ("▲ " if change > 0 else "▼ " if change < 0 else "")
    status = status_of(row)
    texts = {"rung": f"{row['index']}. {row['label']}", "test": _num(row.get("test_accuracy")),
             "change": "" if change is None else f"{arrow}{change:+.1f}",
             "status": f"⚠ {status}" if status in FLAGGED else status,
             "train": _num(row.get("train_accuracy")), "best (ep)": best,
             "step": _num(row.get("effective_step"), "{:.3g}"),
             "Q": _num(row.get("question"), "{}"), "time": _num(row.get("seconds"), "{:.0f} s")}
    return [texts[h] for h in HEADERS]


class StudyResults(QWidget):
    """The results table and bar chart of one study (show_rows), for Part 1 and Part 2."""

    rung_opened = Signal(dict)  # the row of the rung clicked, once its settings are loaded
    shown = Signal()            # show_rows filled the table (the Results page shows it)

    def __init__(self, lab, runs_panel, parent=None):
        super().__init__(parent)
        self.lab, self.runs_panel = lab, runs_panel
        self.rows: list[dict] = []
        self.folder: Path | None = None
        self.opened: int | None = None  # the rung opened last (side by side compares with it)
        self.experiments: list[cfg.Experiment] = []
        self.table = self._make_table()
        self.chart = self._make_chart()
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.table)
        col.addWidget(self.chart)
        runs_panel.overlays_changed.connect(self._recolour)

    def _make_table(self) -> QTableWidget:
        table = QTableWidget(0, len(HEADERS), self)
        table.setObjectName("study_table")
        table.setHorizontalHeaderLabels(HEADERS)
        for name, tip in HEADER_TIPS.items():
            table.horizontalHeaderItem(COLUMN[name]).setToolTip(tip)
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setWordWrap(False)  # one line a rung: a wrapped label was cut to "2. + …"
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # on the Results page's full width: every number whole, the rung's label gets the rest
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.setToolTip("One row per rung: accuracies in %, change = test accuracy against the "
                         "rung above, in points. Click a rung to load its settings and inspect "
                         "its network.")
        table.cellClicked.connect(lambda r, _c: self.open_rung(r))
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._menu)
        return table

    def _menu(self, pos) -> None:
        """Right-click a rung: see it side by side with the rung opened last."""
        row = self.table.rowAt(pos.y())
        if row < 0:
            return
        menu = QMenu(self.table)
        other = self.opened
        action = menu.addAction("Side by side with the rung opened" if other is not None
                                else "Side by side (open a rung first)")
        action.setEnabled(other is not None and other != row)
        action.triggered.connect(lambda: self.side_by_side(other, row))
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def side_by_side(self, i: int, j: int):
        """Rungs i and j at the same epoch (app.side_by_side), or a sentence why not."""
        from app.side_by_side import SideBySide
        folders = [self._folder_of(self.rows[k]) for k in (i, j)]
        if not all(f is not None and f.is_dir() for f in folders):
            self.lab.say("info", "Side by side needs two trained rungs.",
                         "One of these rungs has no run yet: train it first.")
            return None
        labels = [f"{k + 1}. {self.rows[k]['label']}" for k in (i, j)]
        shown = SideBySide(folders, self.lab.say, self.window(), labels)
        shown.resize(shown.sizeHint())
        shown.show()
        return shown

    def _make_chart(self) -> pg.PlotWidget:
        chart = pg.PlotWidget(self)
        chart.setObjectName("study_chart")
        chart.setBackground("w")
        chart.setMinimumHeight(160)
        chart.setMenuEnabled(False)
        chart.setMouseEnabled(x=False, y=False)
        chart.hideButtons()
        chart.setLabel("left", "test accuracy (%)")
        chart.setLabel("bottom", "rung")
        chart.setYRange(0, 100, padding=0.02)
        chart.getPlotItem().setContentsMargins(2, 10, 6, 2)  # room for the "100" tick label
        chart.setToolTip("Test accuracy per rung; the dashed line is chance (one class in N). "
                         "Click a bar to load that rung.")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6)
        chart.addItem(self.bars)
        self.chance = pg.InfiniteLine(angle=0, pen=pg.mkPen("#555555", width=1,
                                                            style=Qt.PenStyle.DashLine),
                                      label="chance", labelOpts={
                                          "position": 0.0, "anchors": [(0, 1), (0, 1)],
                                          "color": "#555555", "fill": (255, 255, 255, 200)})
        self.chance.hide()
        chart.addItem(self.chance)
        chart.scene().sigMouseClicked.connect(self._chart_clicked)
        return chart

    # -- the rows
    def show_rows(self, rows: list[dict], folder: Path | str | None,
                  experiments: list[cfg.Experiment] | None = None) -> None:
        """Show a study's rows (study.json's "rungs") stored in folder; experiments: its rungs'
        settings, loaded on a click when a rung has no run yet."""
        self.rows = [dict(r) for r in rows]
        if (Path(folder) if folder is not None else None) != self.folder:
            self.opened = None  # another study: its rungs are numbered afresh
        self.folder = Path(folder) if folder is not None else None
        if experiments is not None:
            self.experiments = list(experiments)
        t = self.table
        t.setRowCount(len(self.rows))
        for i, row in enumerate(self.rows):
            for j, text in enumerate(cells(row)):
                t.setItem(i, j, self._item(row, j, text))
        self._recolour()
        self._fit_height()
        self.shown.emit()

    def _item(self, row: dict, column: int, text: str) -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        name = HEADERS[column]
        if name not in ("rung", "status"):
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if name == "rung":
            item.setToolTip(row.get("text") or row["label"])
        elif name == "change" and row.get("change"):
            item.setForeground(QBrush(QColor(UP if row["change"] > 0 else DOWN)))
        elif name == "status":
            status = status_of(row)
            item.setForeground(QBrush(QColor(STATUS_COLOURS.get(status, "#57606a"))))
            item.setToolTip(row.get("message") or status)
        return item

    def changeEvent(self, event) -> None:  # noqa: N802
        """Presentation's larger text makes taller rows: the table is fitted to them again."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            QTimer.singleShot(0, self._fit_height)

    def _fit_height(self) -> None:
        """Tall enough for every rung (up to 8) without a scroll bar of its own."""
        t = self.table
        t.resizeRowsToContents()  # rows as tall as the text now is
        shown = min(max(t.rowCount(), 1), 8)
        rows = sum(t.rowHeight(i) for i in range(min(t.rowCount(), shown))) or 24 * shown
        t.setFixedHeight(t.horizontalHeader().sizeHint().height() + rows
                         + t.horizontalScrollBar().sizeHint().height() + 2 * t.frameWidth())

    def colours(self) -> list[str]:
        """Each rung's colour: its curves' colour while its run is ticked, else grey."""
        ticked = run_colours(self.runs_panel)
        return [ticked.get(self._folder_of(r), UNTICKED) if self._folder_of(r) else UNTICKED
                for r in self.rows]

    def _folder_of(self, row: dict) -> Path | None:
        name = row.get("run_folder")
        return (self.folder / name).resolve() if name and self.folder is not None else None

    def _recolour(self) -> None:
        colours = self.colours()
        for i, colour in enumerate(colours):
            item = self.table.item(i, 0)
            if item is not None:
                item.setForeground(QBrush(QColor(colour)))
                item.setData(Qt.ItemDataRole.DecorationRole, QColor(colour))
        self._draw_bars(colours)

    def _draw_bars(self, colours: list[str]) -> None:
        xs = [i + 1 for i in range(len(self.rows))]
        heights = [r.get("test_accuracy") or 0.0 for r in self.rows]
        # (no rows: no lists of pens and brushes, which pyqtgraph 0.14 cannot take empty)
        self.bars.setOpts(x=xs, height=heights, width=0.6,
                          brushes=[pg.mkBrush(c) for c in colours] if colours else None,
                          pens=[pg.mkPen(c) for c in colours] if colours else None)
        self.chart.getAxis("bottom").setTicks([[(x, str(x)) for x in xs]])
        self.chart.setXRange(0.4, max(len(xs), 1) + 0.6, padding=0)
        chances = [r["chance"] for r in self.rows if r.get("chance")]
        if chances:
            self.chance.setValue(max(chances))
            self.chance.label.setFormat(f"chance {max(chances):.0f} %")
        self.chance.setVisible(bool(chances))

    # -- a click on a rung
    def bar_position(self, i: int):
        """Where rung i's bar is, in the chart's scene (tests click it there)."""
        from PySide6.QtCore import QPointF
        height = self.rows[i].get("test_accuracy") or 0.0
        return self.chart.plotItem.vb.mapViewToScene(QPointF(i + 1, max(height / 2, 1.0)))

    def _chart_clicked(self, event) -> None:
        vb = self.chart.plotItem.vb
        if event.button() != Qt.MouseButton.LeftButton or \
                not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        x = vb.mapSceneToView(event.scenePos()).x()
        i = round(x) - 1
        if 0 <= i < len(self.rows) and abs(x - (i + 1)) <= 0.4:
            self.table.selectRow(i)
            self.open_rung(i)

    def open_rung(self, i: int) -> None:
        """Open rung i in the Lab: its run (its settings, curves and trained network), else
        its settings from the study; its run is ticked in the Runs dock."""
        if not 0 <= i < len(self.rows):
            return
        lab, row = self.lab, self.rows[i]
        if lab.is_training():
            lab.say("info", "A run is training.", "Click a rung once the study has ended to "
                    "load its settings and inspect its network.")
            return
        folder = self._folder_of(row)
        run = run_reader.open_run(folder) if folder is not None and folder.is_dir() else None
        if run is not None and run.experiment is not None:
            lab.show_overlays({folder}, keep=True)
            lab.open_run(run)
        elif i < len(self.experiments):
            lab.load_experiment(self.experiments[i])
        else:
            lab.say("error", "Cannot load that rung.",
                    f"Its run's settings could not be read ({run.problem})."
                    if run is not None else "It has no run yet.")
            return
        self.opened = i
        self.rung_opened.emit(row)
