"""The live layer table: output shape, weights, biases and receptive field of every layer."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from core.models import LayerInfo

HEADERS = ["layer", "output", "weights", "biases", "parameters", "receptive field", "jump"]
TIPS = ["The layer, in the order the data flows.",
        "Output shape without the batch dimension: channels×height×width, or features.",
        "Number of weights (question 7).", "Number of biases.", "Weights + biases.",
        "Side, in input pixels, of the patch one output unit sees (questions 10-11).",
        "Distance in input pixels between two neighbouring output units."]


class LayerTableView(QTableWidget):
    """Read-only table of core.models.layer_table rows with a total."""

    def __init__(self, parent=None):
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        for i, tip in enumerate(TIPS):
            self.horizontalHeaderItem(i).setToolTip(tip)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.verticalHeader().hide()
        self.setAlternatingRowColors(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.total = 0

    def show_rows(self, rows: list[LayerInfo]) -> None:
        self.setRowCount(len(rows) + 1)
        for i, r in enumerate(rows):
            self._row(i, [r.name, "×".join(map(str, r.out_shape)), f"{r.weights:,}", f"{r.biases:,}",
                          f"{r.params:,}", "" if r.rf is None else f"{r.rf}×{r.rf}",
                          "" if r.jump is None else str(r.jump)])
        self.total = sum(r.params for r in rows)
        self._row(len(rows), ["total", "", f"{sum(r.weights for r in rows):,}",
                              f"{sum(r.biases for r in rows):,}", f"{self.total:,}", "", ""], bold=True)

    def show_error(self, layer: str, reason: str) -> None:
        """Replace the table by one flagged row naming the layer and the reason."""
        self.setRowCount(1)
        self.total = 0
        self._row(0, [layer, reason, "", "", "", "", ""], error=True)
        self.setSpan(0, 1, 1, len(HEADERS) - 1)

    def _row(self, i: int, values: list[str], bold: bool = False, error: bool = False) -> None:
        self.clearSpans() if i == 0 else None
        for j, v in enumerate(values):
            item = QTableWidgetItem(v)
            if j >= 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if bold:
                f = QFont(item.font())
                f.setBold(True)
                item.setFont(f)
            if error:
                item.setForeground(QBrush(QColor("#b00020")))
                item.setBackground(QBrush(QColor("#fdecea")))
                item.setToolTip(values[1])
            self.setItem(i, j, item)
