"""The Model panel: an MLP / CNN builder (add, remove, reorder, edit layers) and its live layer table."""

from __future__ import annotations

import dataclasses
import re

from PySide6.QtWidgets import (QAbstractItemView, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QVBoxLayout, QWidget)

from app.experiment import input_shape
from app.form import (FormPanel, IntSpinBox, connect_edits, in_words, make_editor, read,
                      set_invalid, tooltip, typed_problem, write)
from app.layout import FlowLayout
from app.views.layers import LayerTableView
from core import config as cfg
from core.errors import ConfigError
from core.models import layer_table

CONV_FIELDS = [f.name for f in dataclasses.fields(cfg.ConvBlock)]
CELLS = ["channels", "kernel", "stride", "padding", "pool", "pool_size", "pool_stride", "ceil_mode"]
COLUMNS = ["layer", "width / filters", "kernel", "stride", "padding", "pool", "pool size",
           "pool stride", "ceil"]


class ModelPanel(FormPanel):
    """Editors for [model] (except dropout and batch norm, which live with optimisation)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        top = QGroupBox("Network", self)
        f = QFormLayout(top)
        self.kind = self.editor("model", "kind")
        self.kind.setItemText(0, "MLP (Part 1)")
        self.kind.setItemText(1, "CNN (Part 2)")
        f.addRow("Kind", self.kind)
        f.addRow("Activation", self.editor("model", "activation"))
        init = self.editor("model", "init_std")
        init.setSpecialValueText("PyTorch default")
        init.setSingleStep(0.1)
        f.addRow("Init σ", init)

        build = QGroupBox("Layers", self)
        self.builder = QTableWidget(0, len(COLUMNS), build)
        self.builder.setObjectName("builder")
        self.builder.setHorizontalHeaderLabels(COLUMNS)
        self.builder.verticalHeader().hide()
        self.builder.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.builder.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.builder.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for j, name in enumerate(["channels", "kernel", "stride", "padding", "pool", "pool_size",
                                  "pool_stride", "ceil_mode"], 1):
            self.builder.horizontalHeaderItem(j).setToolTip(tooltip("block", name))
        buttons = FlowLayout()  # wraps in a narrow dock
        self.add_conv = QPushButton("+ Conv", build)
        self.add_conv.setToolTip("Add a convolution block (conv → activation → pool).")
        self.add_dense = QPushButton("+ Dense", build)
        self.add_dense.setToolTip("Add a hidden fully-connected layer (n_h, question 4).")
        self.remove = QPushButton("Remove", build)
        self.up = QPushButton("▲", build)
        self.down = QPushButton("▼", build)
        self.up.setToolTip("Move the selected layer up.")
        self.down.setToolTip("Move the selected layer down.")
        for b in (self.add_conv, self.add_dense, self.remove, self.up, self.down):
            buttons.addWidget(b)
        self.add_conv.clicked.connect(lambda: self._insert({"type": "conv", **cfg.to_dict(cfg.ConvBlock())}))
        self.add_dense.clicked.connect(lambda: self._insert({"type": "dense", "width": 100}))
        self.remove.clicked.connect(self._remove)
        self.up.clicked.connect(lambda: self._move(-1))
        self.down.clicked.connect(lambda: self._move(1))
        self.problem = QLabel(build)
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.hide()
        col = QVBoxLayout(build)
        col.addWidget(self.builder)
        col.addLayout(buttons)
        col.addWidget(self.problem)

        # a short title: a group box's title sets its minimum width (the dock fits 1280×720)
        table = QGroupBox("Layer table", self)
        table.setToolTip("Each layer's output shape, parameters and receptive field.")
        self.table = LayerTableView(table)
        self.total = QLabel(table)
        self.total.setObjectName("total")
        self.total.setWordWrap(True)  # wraps in a narrow dock
        t = QVBoxLayout(table)
        t.addWidget(self.table)
        t.addWidget(self.total)

        main = QVBoxLayout(self)
        main.addWidget(top)
        main.addWidget(build, 2)
        main.addWidget(table, 3)
        self.rows: list[dict] = []
        self.kind.currentIndexChanged.connect(self._kind_changed)

    # -- config in / out
    def loaded(self, exp: cfg.Experiment) -> None:
        m = exp.model
        widths = m.hidden if m.kind == "mlp" else m.fc
        self.rows = ([{"type": "conv", **cfg.to_dict(b)} for b in m.blocks] if m.kind == "cnn" else [])
        self.rows += [{"type": "dense", "width": w} for w in widths]
        self._rebuild()

    def store(self, exp: cfg.Experiment) -> None:
        super().store(exp)
        m = exp.model
        m.blocks = [cfg.ConvBlock(**{k: r[k] for k in CONV_FIELDS}) for r in self.rows if r["type"] == "conv"]
        widths = [r["width"] for r in self.rows if r["type"] == "dense"]
        if m.kind == "mlp":
            m.hidden = widths
        else:
            m.fc = widths

    # -- the builder table
    def _kind_changed(self, *_) -> None:
        self.add_conv.setEnabled(self.kind.currentData() == "cnn")

    def _insert(self, row: dict) -> None:
        i = self.builder.currentRow()
        if row["type"] == "conv":  # a new conv goes after the last conv, before the dense layers
            convs = [k for k, r in enumerate(self.rows) if r["type"] == "conv"]
            at = (i + 1) if 0 <= i and self.rows[i]["type"] == "conv" else (convs[-1] + 1 if convs else 0)
        else:
            at = i + 1 if i >= 0 else len(self.rows)
        if row["type"] == "conv" and self.rows[at - 1:at] and self.rows[at - 1]["type"] == "conv":
            prev = self.rows[at - 1]  # double the filters, as the lab's CNN does
            row["channels"] = min(512, prev["channels"] * 2)
        self.rows.insert(at, row)
        self._rebuild(select=at)
        self._edited()

    def _remove(self) -> None:
        i = self.builder.currentRow()
        if 0 <= i < len(self.rows):
            del self.rows[i]
            self._rebuild(select=min(i, len(self.rows) - 1))
            self._edited()

    def _move(self, step: int) -> None:
        i = self.builder.currentRow()
        j = i + step
        if 0 <= i < len(self.rows) and 0 <= j < len(self.rows):
            self.rows[i], self.rows[j] = self.rows[j], self.rows[i]
            self._rebuild(select=j)
            self._edited()

    def _rebuild(self, select: int = -1) -> None:
        b = self.builder
        b.setRowCount(len(self.rows))
        conv_n = dense_n = 0
        for i, row in enumerate(self.rows):
            for j in range(len(COLUMNS)):
                b.removeCellWidget(i, j)
            if row["type"] == "conv":
                conv_n += 1
                name = f"conv{conv_n}"
                for j, key in enumerate(CELLS, 1):
                    w = make_editor("block", key, b)
                    write(w, row[key])
                    connect_edits(w, lambda *_, r=row, k=key, w=w: self._cell(r, k, w))
                    b.setCellWidget(i, j, w)
            else:
                dense_n += 1
                name = f"{'hidden' if self.kind.currentData() == 'mlp' else 'fc'}{dense_n}"
                w = IntSpinBox(b)  # a width of 0 or less is shown and flagged, never clamped
                w.size_for(1, 100000)
                w.setValue(row["width"])
                w.setToolTip(tooltip("model", "hidden" if self.kind.currentData() == "mlp" else "fc"))
                connect_edits(w, lambda *_, r=row, w=w: self._cell(r, "width", w))
                b.setCellWidget(i, 1, w)
            label = QLabel(f"  {name}", b)
            label.setToolTip("Select the row, then Remove or move it with ▲ ▼.")
            b.setCellWidget(i, 0, label)
            row["name"] = name
        if select >= 0:
            b.selectRow(select)
        self._kind_changed()

    def _cell(self, row: dict, key: str, w: QWidget | None, value=None) -> None:
        row[key] = read(w) if w is not None else value
        self._edited()

    # -- the live table and problems flagged in place
    def structural_problem(self) -> tuple[int, str] | None:
        """Return (row, reason) for a layer the builder itself can tell is impossible."""
        kind = self.kind.currentData()
        seen_dense = False
        for i, r in enumerate(self.rows):
            if r["type"] == "conv" and kind == "mlp":
                return i, f"{r['name']}: an MLP has no convolutions; remove this layer or choose CNN"
            if r["type"] == "conv" and seen_dense:
                return i, (f"{r['name']}: a convolution cannot follow a fully-connected layer; "
                           "move it above the dense layers")
            seen_dense |= r["type"] == "dense"
        return None

    def show_layers(self, exp: cfg.Experiment) -> str | None:
        """Refresh the layer table for exp; flag and return the problem, if any."""
        problem = self.structural_problem()
        if problem is None:
            try:  # each field's own rule first: a stride of 0 has no layer table to show
                cfg.check_fields("model", exp.model)
            except ConfigError as e:
                return self._field_problem(str(e))
            try:
                rows = layer_table(exp.model, *input_shape(exp))
            except ConfigError as e:
                problem = (self._row_of(str(e)), str(e))
            else:
                self.table.show_rows(rows)
                self.total.setText(f"<b>{self.table.total:,}</b> parameters · input "
                                   f"{'×'.join(map(str, input_shape(exp)[0]))} → {input_shape(exp)[1]} classes")
        if problem is not None:
            row, reason = problem
            name = self.rows[row]["name"] if 0 <= row < len(self.rows) else "model"
            self.table.show_error(name, in_words(reason))
            self.total.setText("")
        self._flag(problem)
        return None if problem is None else problem[1]

    def _row_of(self, message: str) -> int:
        m = re.search(r"model\.blocks\[(\d+)\]", message)
        if m:
            convs = [i for i, r in enumerate(self.rows) if r["type"] == "conv"]
            k = int(m.group(1))
            return convs[k] if k < len(convs) else -1
        m = re.search(r"model\.(?:hidden|fc)\[(\d+)\]", message)
        if m:
            dense = [i for i, r in enumerate(self.rows) if r["type"] == "dense"]
            k = int(m.group(1))
            return dense[k] if k < len(dense) else -1
        return -1

    def _field_problem(self, message: str) -> str | None:
        """Show a model field's broken rule; return it when it is the builder's (a cell)."""
        row = self._row_of(message)
        self.table.show_error(self.rows[row]["name"] if 0 <= row < len(self.rows) else "model",
                              in_words(message))
        self.total.setText("")
        self._flag(None)
        cell = self._cell_at(message.split(":", 1)[0])
        if cell is None:
            return None  # a plain field (dropout, init σ): the window flags its editor
        self._flag_cell(cell, message)
        return message

    def _flag(self, problem: tuple[int, str] | None) -> None:
        bad = problem[0] if problem else -2
        for i in range(self.builder.rowCount()):
            for j in range(len(COLUMNS)):
                w = self.builder.cellWidget(i, j)
                if w is not None:
                    set_invalid(w, i == bad)
        self.problem.setText(f"⚠ {in_words(problem[1])}" if problem else "")
        self.problem.setVisible(problem is not None)

    def _flag_cell(self, cell: QWidget, message: str) -> None:
        set_invalid(cell, True)
        self.problem.setText(f"⚠ {in_words(message)}")
        self.problem.setVisible(True)

    def _cell_at(self, path: str | None) -> QWidget | None:
        """Return the builder cell a config path names: model.blocks[0].kernel, model.hidden[1]."""
        m = re.fullmatch(r"model\.(blocks|hidden|fc)\[(\d+)\](?:\.(\w+))?", path or "")
        if m is None:
            return None
        kind = "conv" if m[1] == "blocks" else "dense"
        rows = [i for i, r in enumerate(self.rows) if r["type"] == kind]
        k = int(m[2])
        if k >= len(rows) or (kind == "conv" and m[3] not in CELLS):
            return None
        return self.builder.cellWidget(rows[k], CELLS.index(m[3]) + 1 if kind == "conv" else 1)

    def typed_problem(self) -> str | None:
        """Return 'path: why' for an editor or builder cell whose text is not a number."""
        why = super().typed_problem()
        if why:
            return why
        dense = "hidden" if self.kind.currentData() == "mlp" else "fc"
        n = {"conv": 0, "dense": 0}
        for i, r in enumerate(self.rows):
            keys = CELLS if r["type"] == "conv" else ["width"]
            for j, key in enumerate(keys, 1):
                cell = self.builder.cellWidget(i, j)
                why = typed_problem(cell) if cell is not None else None
                if why:
                    where = (f"model.blocks[{n['conv']}].{key}" if r["type"] == "conv"
                             else f"model.{dense}[{n['dense']}]")
                    return f"{where}: {why}"
            n[r["type"]] += 1
        return None

    def mark(self, path: str | None, message: str = "") -> bool:
        """Flag a plain field's editor, or the builder cell the path names."""
        found = super().mark(path, message)
        cell = self._cell_at(path)
        if cell is not None:
            self._flag_cell(cell, message)
        return found or cell is not None
