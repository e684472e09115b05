"""Confusion matrix on the validation or test split with per-class accuracy; clicking a cell
lists that cell's examples with their predicted probabilities. Refreshed at epoch ends and on
demand from the counts the trainer made as it evaluated the epoch (the last EpochRecord's
`confusion`, from the live buffer: no extra pass over the split). A stored run keeps no
counts, and the training split is not evaluated: those are counted through compute()."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from app.layout import FlowLayout, ignore_width
from app.views.common import InspectView
from core import inspect as ins

ICON = 64
GRID_MARGIN = 6  # pixels around an example's text in the list's grid


def pixmap(image: np.ndarray, size: int = ICON) -> QPixmap:
    """Return a uint8 H×W×C image as a pixmap scaled to size (nearest neighbour)."""
    a = np.ascontiguousarray(image if image.shape[2] == 3 else np.repeat(image, 3, 2))
    h, w = a.shape[:2]
    q = QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(q).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio)


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
        self.split = QComboBox()
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
        self.table = QTableWidget()
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
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(below)
        split.setSizes([500, 250])
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
        data = self.source.data
        acc = ins.per_class_accuracy(counts)
        k = len(data.classes)
        t = self.table
        t.setRowCount(k)
        t.setColumnCount(k + 1)
        t.setHorizontalHeaderLabels([f"→ {c}" for c in data.classes] + ["accuracy"])
        t.setVerticalHeaderLabels(list(data.classes))
        top = max(int(counts.max()), 1)
        for r in range(k):
            for c in range(k):
                v = int(counts[r, c])
                item = QTableWidgetItem(str(v))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                shade = int(255 - 150 * v / top)
                item.setBackground(QBrush(QColor(shade, shade + (30 if r == c else 0) if shade < 226 else shade,
                                                 255 if r == c else shade)))
                t.setItem(r, c, item)
            item = QTableWidgetItem(f"{acc[r]:.1f} %")
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            t.setItem(r, k, item)
        t.resizeColumnsToContents()
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
