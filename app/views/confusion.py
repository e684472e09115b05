"""Confusion matrix on the validation or test split with per-class accuracy; clicking a cell
lists that cell's examples with their predicted probabilities. Refreshed at epoch ends and on
demand from the counts the trainer made as it evaluated the epoch (the last EpochRecord's
`confusion`, from the live buffer: no extra pass over the split); a stored run's, from the
snapshot of the epoch shown (app.views.inspect_dock). The training split is not evaluated, and
a run without snapshots kept no counts: those are counted through compute()."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from app.layout import FlowLayout, ignore_width
from app.views.common import InspectView
from app.wheel_guard import ComboBox
from core.nets import inspect as ins

ICON = 64
GRID_MARGIN = 6  # pixels around an example's text in the list's grid
CELL_PAD = 1     # px either side of a count: ten columns and the names share a 370 px dock
MIN_PT = 7.0     # the smallest text a count is drawn in, in a narrow dock
GROW = 1.6       # on a large page the counts grow up to this many times the window's text
# the accuracy column's header: over named columns, over indexed ones in a wide table, in the dock
ACCURACY, ACC_SHORT, ACC_TINY = "accuracy %", "acc %", "%"
ROOMY = 500      # px of cells from which indexed columns can spare the room for ACC_SHORT
ACC_PAD = 3      # px either side of a class's accuracy: its column is as narrow as that allows
# headers tighter than the window's: a bold, padded row name alone took 135 px of a 370 px dock
HEADER_STYLE = ("QHeaderView::section:horizontal { padding: 3px 1px; }"
                "QHeaderView::section:vertical { padding: 1px 4px; font-weight: normal; }")
ROW_PAD = 12     # px beside a row name: HEADER_STYLE's padding, the section's border and a margin


def pixmap(image: np.ndarray, size: int = ICON) -> QPixmap:
    """Return a uint8 H×W×C image as a pixmap scaled to size (nearest neighbour)."""
    a = np.ascontiguousarray(image if image.shape[2] == 3 else np.repeat(image, 3, 2))
    h, w = a.shape[:2]
    q = QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(q).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio)


class MatrixTable(QTableWidget):
    """counts[true, predicted] fitted to the room it has, from a narrow dock to a full page:
    the class columns share what the row names and the accuracy column leave (no sideways
    scroll bar), the counts' text shrinks to fit their cells and grows on a large page, and
    columns too narrow for "→ name" are headed by the class index instead, which the row
    names then start with (every header's tooltip keeps the full name)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.classes: list[str] = []
        self.wide: bool | None = None  # whether the columns are headed by name (None: not yet)
        self.cell_pt = 0.0             # the counts' text size now (0: to be set)
        self.setStyleSheet(HEADER_STYLE)
        # a count a pixel wider than the style's margins is drawn whole in its cell, not "1…"
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.horizontalHeader().setMinimumSectionSize(1)  # _fit_text keeps the counts whole
        # rows share the height too: on a large page the matrix fills it
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

    def show_classes(self, classes) -> None:
        k = len(classes)
        self.classes = list(classes)
        self.setRowCount(k)
        self.setColumnCount(k + 1)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(k, QHeaderView.ResizeMode.Fixed)  # sized by _fit_text
        self.wide = None

    def refit(self) -> None:
        """Fit again after the cells were filled anew."""
        self.cell_pt = 0.0
        self.fit()

    def fit(self) -> None:
        if not self.classes:
            return
        wide = self._names_fit()
        if wide != self.wide:
            self.wide = wide
            self._head(wide)
        self._fit_text()

    def _head(self, wide: bool) -> None:
        k, rows = len(self.classes), QFontMetricsF(self.verticalHeader().font())
        for j, c in enumerate(self.classes):
            self.setHorizontalHeaderItem(j, QTableWidgetItem(f"→ {c}" if wide else str(j)))
            self.horizontalHeaderItem(j).setToolTip(f"Predicted {c}")
            self.setVerticalHeaderItem(j, QTableWidgetItem(c if wide else f"{j}  {c}"))
            self.verticalHeaderItem(j).setToolTip(f"True class {c}")
        self.setHorizontalHeaderItem(k, QTableWidgetItem(ACCURACY if wide else ACC_TINY))
        self.horizontalHeaderItem(k).setToolTip("Each true class's accuracy (%): its diagonal "
                                                "count over its row's total.")
        # Qt sizes row names in bold whatever the style says: as wide as they are drawn
        self.verticalHeader().setFixedWidth(math.ceil(ROW_PAD + max(
            rows.horizontalAdvance(self.verticalHeaderItem(j).text()) for j in range(k))))
        self.updateGeometries()  # the row names' width, before the cells are measured

    def _names_fit(self) -> bool:
        """Whether every "→ name" fits its column. Measured against the table's own width
        with the indexed row names (the wider ones), so that the choice does not flip back
        and forth as the row names it makes change the columns' room."""
        bold = QFont(self.horizontalHeader().font())
        bold.setWeight(QFont.Weight.DemiBold)  # the window's headers: never under-measured
        heads, rows = QFontMetricsF(bold), QFontMetricsF(self.verticalHeader().font())
        pad = 2 * CELL_PAD + 8  # HEADER_STYLE's padding, the section's border and a margin
        bar = self.verticalScrollBar().width() if self.verticalScrollBar().isVisible() else 0
        room = (self.width() - 2 * self.frameWidth() - bar - heads.horizontalAdvance(ACCURACY) - pad
                - max(rows.horizontalAdvance(f"{j}  {c}") for j, c in enumerate(self.classes)) - ROW_PAD)
        widest = max(heads.horizontalAdvance(f"→ {c}") for c in self.classes)
        return len(self.classes) * (widest + pad) <= room

    def _fit_text(self) -> None:
        """The largest text (up to GROW times the window's, down to MIN_PT) in which every
        count fits its cell; the accuracy column as wide as its header or its numbers."""
        k = len(self.classes)
        counts = [self.item(r, c).text() for r in range(k) for c in range(k) if self.item(r, c)]
        accs = [self.item(r, k).text() for r in range(k) if self.item(r, k)]
        if not counts or not accs:
            return
        if not self.wide:  # never "accuracy %": that would take a class's column's room
            self.horizontalHeaderItem(k).setText(ACC_SHORT if self.viewport().width() >= ROOMY else ACC_TINY)
        header_w = self.horizontalHeader().sectionSizeFromContents(k).width()
        row_h = max(self.viewport().height() / k, self.verticalHeader().minimumSectionSize())
        font = QFont(self.font())
        pt = (font.pointSizeF() if font.pointSizeF() > 0 else 11.0) * GROW
        while True:
            font.setPointSizeF(pt)
            fm = QFontMetricsF(font)
            acc_w = max(header_w, max(map(fm.horizontalAdvance, accs)) + 2 * ACC_PAD)
            column = (self.viewport().width() - acc_w) / k
            if pt <= MIN_PT or (max(map(fm.horizontalAdvance, counts)) + 2 * CELL_PAD <= column
                                and fm.height() + 2 <= row_h):
                break
            pt = max(MIN_PT, pt - 0.5)
        self.horizontalHeader().resizeSection(k, int(acc_w + 0.999))
        if pt != self.cell_pt:
            self.cell_pt = pt
            for r in range(k):
                for c in range(k + 1):
                    if self.item(r, c):
                        self.item(r, c).setFont(font)

    def viewportEvent(self, event) -> bool:  # noqa: N802
        # the viewport changes with the table, its vertical scroll bar and its row names
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return super().viewportEvent(event)

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        # the style sheet's font, presentation mode's larger text: measure again
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.wide = None
            self.refit()


class ConfusionView(InspectView):
    """counts[true, predicted] as a table (rows: true class), last column the class accuracy."""

    interval_s = 0.5
    live_refresh = False
    placeholder = "Train a model (Ctrl+Enter) to see its confusion matrix."

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        col = QVBoxLayout(self.body)
        row = FlowLayout()  # wraps in a narrow dock
        row.addWidget(QLabel("Split:"))
        self.split = ComboBox()
        self.split.addItems(["validation", "test"])
        self.split.setCurrentIndex(1)  # the presets hold out no validation split
        self.split.currentIndexChanged.connect(lambda _=0: self.tick(force=True))
        row.addWidget(self.split)
        self.update_button = QPushButton("Update now")
        self.update_button.clicked.connect(lambda: self.tick(force=True))
        row.addWidget(self.update_button)
        self.summary = QLabel()
        ignore_width(self.summary)  # below the controls, word-wrapped: never clipped
        col.addLayout(row)
        col.addWidget(self.summary)
        self.table = MatrixTable()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.cellClicked.connect(self.show_cell)
        self.table.setToolTip("Rows: true class; columns: predicted class. Click a cell to see its examples.")
        below = QWidget()
        bcol = QVBoxLayout(below)
        bcol.setContentsMargins(0, 0, 0, 0)
        self.cell_title = QLabel("Click a cell to list its examples.")
        ignore_width(self.cell_title)
        bcol.addWidget(self.cell_title)
        self.examples = QListWidget()
        self.examples.setViewMode(QListWidget.ViewMode.IconMode)
        self.examples.setIconSize(QSize(ICON, ICON))
        self.examples.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.examples.setGridSize(QSize(ICON + 70, ICON + 44))
        bcol.addWidget(self.examples)
        self.examples.hide()  # until a cell is clicked: the matrix has the room
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(below)
        # the matrix first: all its rows in sight (presentation's 18 pt at 720 px), the list
        # of a cell's examples under it takes a fifth
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([800, 200])
        col.addWidget(split, 1)
        self.counts: np.ndarray | None = None
        self.listed: np.ndarray = np.zeros(0, int)
        self.cell: tuple[int, int] | None = None  # the cell whose examples are listed

    def epoch_ended(self) -> None:
        self.stale = True

    def _split(self):
        data = self.source.data
        if self.split.currentText() == "validation" and len(data.val):
            return data.val, "validation"
        return (data.test, "test") if len(data.test) else (data.train, "train")

    def _counts(self, split, name: str) -> np.ndarray | None:
        """counts[true, predicted] on the split: the last epoch's, as the trainer counted them
        while it evaluated, or (no epoch record, or the training split) counted by compute()."""
        record = self.source.progress.record
        key = {"validation": "val", "test": "test"}.get(name)
        counts = record.confusion.get(key) if record is not None and key else None
        if counts is not None:
            return counts
        return self.computed(f"confusion-{name}", lambda m, d: ins.confusion_matrix(m, d, split))

    def figure(self):
        return self.table  # the matrix, without the split chooser and the examples

    def refresh(self) -> None:
        self.split_used, name = self._split()
        counts = self._counts(self.split_used, name)
        if counts is None:  # being counted between two training steps
            return
        self.say(None)
        self.counts = counts
        self._fill_table(counts, name)
        if self.cell is not None:
            self._list_cell()

    def _fill_table(self, counts: np.ndarray, name: str) -> None:
        classes = list(self.source.data.classes)
        acc = ins.per_class_accuracy(counts)
        k = len(classes)
        t = self.table
        if t.classes != classes:
            t.show_classes(classes)
        top = max(int(counts.max()), 1)
        for r in range(k):
            for c in range(k):
                v = int(counts[r, c])
                item = QTableWidgetItem(str(v))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                # the full names: a narrow matrix heads its columns by index
                item.setToolTip(f"True {classes[r]}, predicted {classes[c]}: {v}")
                shade = int(255 - 150 * v / top)
                item.setBackground(QBrush(QColor(shade, shade + (30 if r == c else 0) if shade < 226 else shade,
                                                 255 if r == c else shade)))
                t.setItem(r, c, item)
            item = QTableWidgetItem(f"{acc[r]:.0f}")  # whole percents: a narrow column
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            item.setToolTip(f"{classes[r]}: {acc[r]:.1f} % of its examples predicted right")
            t.setItem(r, k, item)
        t.refit()
        total = int(counts.sum())
        fallback = " (no validation split)" if name != self.split.currentText() else ""
        self.summary.setText(f"{name}{fallback}: {total} examples, accuracy "
                             f"{100 * np.trace(counts) / max(total, 1):.1f} %")

    def show_cell(self, true_class: int, predicted: int) -> None:
        """List the examples of cell [true_class, predicted] with their probabilities."""
        if self.counts is None or predicted >= self.counts.shape[1]:
            return
        self.cell = (true_class, predicted)
        self.pending = False
        self.examples.show()
        self._list_cell()
        if self.pending:  # listed between two training steps: at the next tick
            self.stale = True
            self.pacer.now()

    def run_started(self) -> None:
        super().run_started()
        self.cell = None

    def _list_cell(self) -> None:
        """List the clicked cell's examples (again after each refresh: the same weights as
        the matrix, as far as a run that trains on allows)."""
        true_class, predicted = self.cell
        data, split = self.source.data, self.split_used
        found = self.computed(f"cell-{true_class}-{predicted}-{id(split)}", lambda m, d:
                              ins.misclassified(m, d, split, true_class, predicted, limit=64))
        if found is None:
            return
        idx, examples, probs = found
        self.listed = idx
        self.examples.clear()
        t, p = data.classes[true_class], data.classes[predicted]
        n = int(self.counts[true_class, predicted])
        self.cell_title.setText(f"True {t}, predicted {p}: {n} example(s)"
                                + (f", the first {len(idx)} shown" if n > len(idx) else ""))
        texts = []
        for k, i in enumerate(idx):
            text = f"#{i}\nP({p}) {probs[k, predicted]:.2f}"
            if predicted != true_class:
                text += f"\nP({t}) {probs[k, true_class]:.2f}"
            if not data.is_images:
                text += f"\n({examples[k][0]:.2f}, {examples[k][1]:.2f})"
            texts.append(text)
        self._fit_grid(texts, with_icon=data.is_images)
        for k, text in enumerate(texts):
            item = QListWidgetItem(text)
            if data.is_images:
                item.setIcon(QIcon(pixmap(examples[k])))
            self.examples.addItem(item)

    def _fit_grid(self, texts: list[str], with_icon: bool) -> None:
        """Size the example cells to their longest line: an icon view elides whatever is
        wider than its grid (\"P(arrow-left) 0.…\"), and class names vary in length."""
        fm = self.examples.fontMetrics()
        lines = [line for text in texts for line in text.split("\n")] or [""]
        width = max(fm.horizontalAdvance(line) for line in lines) + 2 * GRID_MARGIN
        rows = max(text.count("\n") + 1 for text in texts) if texts else 1
        height = (ICON if with_icon else 0) + rows * fm.lineSpacing() + 2 * GRID_MARGIN
        self.examples.setGridSize(QSize(max(width, ICON + 2 * GRID_MARGIN), height))
