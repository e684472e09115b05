"""The live layer table: output shape, weights, biases and receptive field of every layer.

It sits in the Experiment dock (250-400 px wide), so it has short headers (the full words in
their tooltips) and no column the others add up to: a layer's parameters are in its row's
tooltip, and the total below the table. The weight and bias counts are what Part 2 asks
for, so where the table is too narrow for every column, the jump, then the output shape,
then the receptive field step aside (each stays in the rows' tooltips), never the counts."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QStyleOptionViewItem, QTableWidget,
                               QTableWidgetItem)

from core.nets.models import LayerInfo

HEADERS = ["layer", "output", "weights", "biases", "RF", "jump"]
TIPS = ["The layer, in the order the data flows (hover over a row for its parameters).",
        "Output shape without the batch dimension: channels×height×width, or features.",
        "Number of weights (question 7).", "Number of biases.",
        "Receptive field: the side, in input pixels, of the square patch one output unit sees "
        "(questions 10-11); 5 means 5×5 pixels.",
        "Distance in input pixels between two neighbouring output units."]
OPTIONAL = (5, 1, 4)  # jump, output, then RF: hidden, in this order, when the table is too
                      # narrow (a 1366×768 screen gives it ~250 px); the row tooltips keep them
# headers less padded than the window's (6 px a side): the counts and the receptive field
# then fit the ~250 px the dock gives the table at 1366×768
HEADER_STYLE = "QHeaderView::section { padding: 3px 3px; }"


class LayerTableView(QTableWidget):
    """Read-only table of core.nets.models.layer_table rows with a total."""

    def __init__(self, parent=None):
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        self.setStyleSheet(HEADER_STYLE)
        for i, tip in enumerate(TIPS):
            self.horizontalHeaderItem(i).setToolTip(tip)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.verticalHeader().hide()
        self.setAlternatingRowColors(True)
        # widths set by _fit_columns from every row: Qt's ResizeToContents measures only the
        # rows in view (the widest numbers, fc1's and the total, are at the bottom), and a
        # stretched last column keeps at least 100 px, which alone made the table scroll
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.total = 0
        self.needed: list[int] = [0] * len(HEADERS)  # each column's width for its widest text

    def show_rows(self, rows: list[LayerInfo]) -> None:
        self.setRowCount(len(rows) + 1)
        for i, r in enumerate(rows):
            self._row(i, [r.name, "×".join(map(str, r.out_shape)), f"{r.weights:,}", f"{r.biases:,}",
                          "" if r.rf is None else str(r.rf), "" if r.jump is None else str(r.jump)],
                      tip=self._tip(r.name, r.weights, r.biases, r.rf, r.jump, r.out_shape))
        self.total = sum(r.params for r in rows)
        weights, biases = sum(r.weights for r in rows), sum(r.biases for r in rows)
        self._row(len(rows), ["total", "", f"{weights:,}", f"{biases:,}", "", ""], bold=True,
                  tip=self._tip("the network", weights, biases, None, None))
        self._measure()

    @staticmethod
    def _tip(name: str, weights: int, biases: int, rf: int | None, jump: int | None,
             shape: tuple = ()) -> str:
        tip = f"{name}: {weights:,} weights + {biases:,} biases = {weights + biases:,} parameters"
        tip += "" if rf is None else f"; receptive field {rf}×{rf} pixels, jump {jump}"
        return tip + (f"; output {'×'.join(map(str, shape))}" if shape else "")

    def _measure(self) -> None:
        """Find each column's width for its widest cell over all rows, as the item delegate
        sizes it (the table's font and margins; a spanned cell, the flagged
        reason, wraps instead), then fit the columns to the table."""
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        delegate, model, header = self.itemDelegate(), self.model(), self.horizontalHeader()
        grid = 1 if self.showGrid() else 0
        for j in range(self.columnCount()):
            widths = [header.sectionSizeFromContents(j).width(), header.minimumSectionSize()]
            for i in range(self.rowCount()):
                if self.columnSpan(i, j) == 1 and self.item(i, j) is not None and self.item(i, j).text():
                    widths.append(delegate.sizeHint(option, model.index(i, j)).width() + grid)
            self.needed[j] = max(widths)
        self._fit_columns()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        # the window's style sheet sets the font when the table is first polished
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange) and self.rowCount():
            self._measure()

    def _fit_columns(self) -> None:
        """Show every column at its needed width, leaving out the optional ones (jump, output,
        then RF) while they do not all fit the table's width."""
        room, hidden = self.viewport().width(), set()
        total = sum(self.needed)
        for j in OPTIONAL:
            if total <= room:
                break
            hidden.add(j)
            total -= self.needed[j]
        for j, width in enumerate(self.needed):
            self.setColumnHidden(j, j in hidden)
            if j not in hidden:
                self.horizontalHeader().resizeSection(j, width)

    def viewportEvent(self, event) -> bool:
        # the viewport narrows when the table does, and when its vertical scroll bar appears
        if event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return super().viewportEvent(event)

    def show_error(self, layer: str, reason: str) -> None:
        """Replace the table by one flagged row naming the layer and the reason."""
        self.setRowCount(1)
        self.total = 0
        self._row(0, [layer, reason] + [""] * (len(HEADERS) - 2), error=True)
        self.setSpan(0, 1, 1, len(HEADERS) - 1)
        self._measure()
        self.resizeRowToContents(0)  # the reason wraps in the narrow dock rather than being cut

    def _row(self, i: int, values: list[str], bold: bool = False, error: bool = False,
             tip: str = "") -> None:
        self.clearSpans() if i == 0 else None
        for j, v in enumerate(values):
            item = QTableWidgetItem(v)
            if j >= 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if bold and j == 0:  # "total" only: bold numbers would widen their columns
                f = QFont(item.font())
                f.setBold(True)
                item.setFont(f)
            if tip:
                item.setToolTip(tip)
            if error:
                item.setForeground(QBrush(QColor("#b00020")))
                item.setBackground(QBrush(QColor("#fdecea")))
                item.setToolTip(values[1])
            self.setItem(i, j, item)
