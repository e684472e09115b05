"""The Model panel's layer builder: a list of the layers, one line each in the lab's words,
and the selected layer's fields in a form below it."""

from __future__ import annotations

import dataclasses
import re

from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (QAbstractItemView, QAbstractSpinBox, QApplication, QFormLayout,
                               QLabel, QListView, QListWidget, QListWidgetItem,
                               QStyledItemDelegate, QStyleOptionViewItem, QWidget)

from app.form import make_editor, set_invalid, tooltip, write
from app.layout import compact_forms
from app.spinbox import IntSpinBox
from core.experiment import config as cfg

CONV_FIELDS = [f.name for f in dataclasses.fields(cfg.ConvBlock)]
CELLS = ["channels", "kernel", "stride", "padding", "pool", "pool_size", "pool_stride", "ceil_mode"]
DENSE_CELLS = ["width"]
FIELD_LABELS = {key: cfg.field_label("block", key).capitalize() for key in CELLS} | {"width": "Units"}
INVALID_ROLE = Qt.ItemDataRole.UserRole + 1   # a builder row's reason, when it is flagged
ROW_TIP = "Select the layer to edit its fields below; Remove it, or move it with ▲ ▼."
ROW_PADDING = 6     # px above and below a row's lines together: wrapped rows stay apart
MAX_ROWS_SHOWN = 12  # the layer list grows with its layers up to this many, then scrolls


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(row: dict) -> str:
    """One layer in the lab's words: 'conv1 · 32 filters 5×5, stride 1, pad 2 · max-pool 2 / 2'."""
    if row["type"] == "dense":
        return f"{row['name']} · {_count(row['width'], 'unit')}"
    k = row["kernel"]
    text = (f"{row['name']} · {_count(row['channels'], 'filter')} {k}×{k}, "
            f"stride {row['stride']}, pad {row['padding']}")
    if row["pool"] == "none":
        return text + " · no pooling"
    return (text + f" · {row['pool']}-pool {row['pool_size']} / {row['pool_stride']}"
            + (", ceil" if row["ceil_mode"] else ""))


def rows_of(m: cfg.ModelConfig) -> list[dict]:
    """The builder's rows for a model config: its conv blocks (a CNN's), then its dense layers."""
    widths = m.hidden if m.kind == "mlp" else m.fc
    rows = [{"type": "conv", **cfg.to_dict(b)} for b in m.blocks] if m.kind == "cnn" else []
    return rows + [{"type": "dense", "width": w} for w in widths]


def store_rows(rows: list[dict], m: cfg.ModelConfig) -> None:
    """Write the builder's rows into a model config (in place)."""
    m.blocks = [cfg.ConvBlock(**{k: r[k] for k in CONV_FIELDS}) for r in rows if r["type"] == "conv"]
    widths = [r["width"] for r in rows if r["type"] == "dense"]
    if m.kind == "mlp":
        m.hidden = widths
    else:
        m.fc = widths


def insert_at(rows: list[dict], selected: int, row: dict) -> int:
    """Return where a new row goes: a conv after the selected conv, else after the last conv
    (before the dense layers), with twice the filters of the conv before it, as the lab's CNN
    has; a dense layer after the selected layer, else last."""
    if row["type"] == "conv":
        convs = [k for k, r in enumerate(rows) if r["type"] == "conv"]
        i = selected
        at = (i + 1) if 0 <= i and rows[i]["type"] == "conv" else (convs[-1] + 1 if convs else 0)
    else:
        at = selected + 1 if selected >= 0 else len(rows)
    if row["type"] == "conv" and rows[at - 1:at] and rows[at - 1]["type"] == "conv":
        row["channels"] = min(512, rows[at - 1]["channels"] * 2)
    return at


def row_of(rows: list[dict], message: str) -> int:
    """Return the row a message's model.blocks[k] / model.hidden[k] / model.fc[k] names (-1: none)."""
    m = re.search(r"model\.blocks\[(\d+)\]", message)
    kind = "conv"
    if m is None:
        m, kind = re.search(r"model\.(?:hidden|fc)\[(\d+)\]", message), "dense"
    if m is None:
        return -1
    found = [i for i, r in enumerate(rows) if r["type"] == kind]
    k = int(m.group(1))
    return found[k] if k < len(found) else -1


class _RowDelegate(QStyledItemDelegate):
    """Wraps a row's line to the list's width, and outlines a flagged row in red (as the
    style sheet outlines an invalid editor)."""

    def sizeHint(self, option, index):  # noqa: N802
        opt = QStyleOptionViewItem(option)
        # the style wraps the text only in a rect it is given: the list's visible width
        opt.rect = QRect(0, 0, max(1, self.parent().viewport().width()), 1 << 16)
        size = super().sizeHint(opt, index)
        return QSize(size.width(), size.height() + ROW_PADDING)

    def paint(self, painter, option, index) -> None:
        bad = index.data(INVALID_ROLE)
        if bad:
            painter.fillRect(option.rect, QColor("#fdecea"))
        super().paint(painter, option, index)
        if bad:
            painter.save()
            painter.setPen(QPen(QColor("#d32f2f"), 2))
            painter.drawRect(option.rect.adjusted(1, 1, -1, -1))
            painter.restore()


class LayerList(QListWidget):
    """The builder's list of layers: one word-wrapped line each, as tall as its lines (the
    panel scrolls up and down), never wider than the dock."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("builder")
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)  # where one wrapped row ends and the next begins
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setResizeMode(QListView.ResizeMode.Adjust)  # lines re-wrap when the dock resizes
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setItemDelegate(_RowDelegate(self))

    def set_rows(self, lines: list[str]) -> None:
        while self.count() > len(lines):
            self.takeItem(self.count() - 1)
        while self.count() < len(lines):
            item = QListWidgetItem("", self)
            item.setToolTip(ROW_TIP)
        for i, line in enumerate(lines):
            self.set_line(i, line)
        self.fit_height()

    def set_line(self, i: int, line: str) -> None:
        item = self.item(i)
        text = f"⚠ {line}" if item.data(INVALID_ROLE) else line
        if item.text() != text:
            item.setText(text)
            self.fit_height()

    def flag(self, i: int, reason: str | None) -> None:
        """Outline row i in red with reason in its tooltip (None: clear it)."""
        item = self.item(i)
        if item.data(INVALID_ROLE) == reason:
            return
        line = item.text().removeprefix("⚠ ")
        item.setData(INVALID_ROLE, reason)
        item.setData(Qt.ItemDataRole.ForegroundRole, QColor("#b00020") if reason else None)
        item.setToolTip(f"<p style='color:#b00020'><b>{reason}</b></p>{ROW_TIP}" if reason else ROW_TIP)
        self.set_line(i, line)

    def flagged(self, i: int) -> str | None:
        """The reason row i is flagged, or None."""
        return self.item(i).data(INVALID_ROLE)

    def fit_height(self) -> None:
        shown = [self.sizeHintForRow(i) for i in range(min(self.count(), MAX_ROWS_SHOWN))]
        line = self.fontMetrics().height() + 4
        self.setFixedHeight(max(sum(shown), line) + 2 * self.frameWidth())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.fit_height()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        # the style sheet's font, presentation mode's zoom: taller lines
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.fit_height()

    def sizeHint(self) -> QSize:  # noqa: N802
        # Qt's hint is its unwrapped lines' width: the dock, not the longest line, sets it
        return QSize(self.minimumSizeHint().width(), self.height())


class LayerForm(QWidget):
    """The fields of one layer (a conv block's, or a dense layer's width), shown under the
    list while the layer is selected. Each layer keeps its own editors, so a half-typed
    number stays with its layer when another is selected."""

    def __init__(self, row: dict, parent=None):
        super().__init__(parent)
        self.row = row
        self.fields: dict[str, QWidget] = {}
        self.tips: dict[str, str] = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for key in CELLS if row["type"] == "conv" else DENSE_CELLS:
            if key == "width":  # a width of 0 or less is shown and flagged, never clamped
                w = IntSpinBox(self)
                w.size_for(1, 100000)
                w.setObjectName("width")
            else:
                w = make_editor("block", key, self)
            write(w, row[key])
            label = QLabel(FIELD_LABELS[key], self)
            label.setBuddy(w)
            form.addRow(label, w)
            self.fields[key] = w
        self.set_tips("hidden")
        compact_forms(self)  # labels above the fields when the dock is narrow

    def set_tips(self, dense: str) -> None:
        """Give each field (and its label) its tooltip; dense is 'hidden' or 'fc'."""
        form = self.layout()
        for key, w in self.fields.items():
            self.tips[key] = tooltip("model", dense) if key == "width" else tooltip("block", key)
            if w.property("invalid") is not True:
                w.setToolTip(self.tips[key])
            form.labelForField(w).setToolTip(self.tips[key])

    def flag(self, keys, reason: str | None) -> None:
        """Outline the fields named in keys with reason in their tooltips; clear the others."""
        for key, w in self.fields.items():
            bad = reason is not None and key in keys
            set_invalid(w, bad)
            w.setToolTip(f"<p style='color:#b00020'><b>{reason}</b></p>{self.tips[key]}"
                         if bad else self.tips[key])

    def has_typing(self) -> bool:
        """Whether a number box of this layer has the keyboard: the user is typing in it."""
        focus = QApplication.focusWidget()
        return (focus is not None and self.isAncestorOf(focus)
                and any(isinstance(w, QAbstractSpinBox) and (w is focus or w.isAncestorOf(focus))
                        for w in self.fields.values()))
