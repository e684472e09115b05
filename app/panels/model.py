"""The Model panel: an MLP / CNN builder and its live layer table.

The builder fits the Experiment dock (≈ 320 px): a list of the layers, one line each in the
lab's words ("conv1 · 32 filters 5×5, stride 1, pad 2 · max-pool 2 / 2"), and below it a form
with the selected layer's fields. A table of every field side by side needed ≈ 780 px and
scrolled sideways."""

from __future__ import annotations

import re

from PySide6.QtWidgets import (QAbstractSpinBox, QFormLayout, QGroupBox, QLabel, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from app.experiment import input_shape
from app.form import FormPanel, connect_edits, in_words, read, typed_problem
from app.layout import FlowLayout
from app.panels.layer_list import (CELLS, LayerForm, LayerList, insert_at, row_of, rows_of,
                                   store_rows, summary)
from app.views.layers import LayerTableView
from core.experiment import config as cfg
from core import ConfigError
from core.nets.models import layer_table

# a layer's problem that the layer table found names the field it comes from (the messages of
# core.nets.models.layer_table); one that names none outlines all of the layer's fields
NAMED_FIELDS = [("pooling window", "pool_size"), ("kernel", "kernel")]


class ModelPanel(FormPanel):
    """Editors for [model] (except dropout and batch norm, which live with optimisation)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        top, _ = self.field_box("Network", place={
            "model.kind": lambda f: f.addRow("Kind", self.editor("model", "kind"))})
        self.kind = self.editors[("model", "kind")]
        build = self._layers_box()
        table = self._table_box()
        main = QVBoxLayout(self)
        main.addWidget(top)
        main.addWidget(build)
        main.addWidget(table, 1)
        self.forms: list[LayerForm] = []   # one per layer, in the list's order
        self._flagged_now = self._flagged_before = -1  # the flagged layer, this refresh and the last
        self._pending = -1  # a flagged layer to select once the user stops typing in another
        self.kind.currentIndexChanged.connect(self._kind_changed)

    def _layers_box(self) -> QGroupBox:
        """The builder: the list of layers, its buttons, and the selected layer's fields."""
        build = QGroupBox("Layers", self)
        self.builder = LayerList(build)
        self.builder.currentRowChanged.connect(self._show_form)
        # the selected layer's fields: a short title (a group box's title sets its minimum width)
        self.layer_box = QGroupBox("Layer", build)
        self.layer_box.setObjectName("layerFields")
        self.forms_column = QVBoxLayout(self.layer_box)
        # the reason a layer is flagged: under its outlined field, else under the list
        self.problem = QLabel(build)
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.problem.hide()
        self._problem_form: QFormLayout | None = None  # the layer form it is in, if any
        self._build_box = build
        self._build_col = col = QVBoxLayout(build)
        col.addWidget(self.builder)
        col.addLayout(self._builder_buttons(build))
        col.addWidget(self.problem)
        col.addWidget(self.layer_box)
        return build

    def _builder_buttons(self, build: QWidget) -> FlowLayout:
        buttons = FlowLayout()  # wraps in a narrow dock
        self.add_conv = QPushButton("+ Conv", build)
        self.add_conv.setToolTip("Add a convolution block (conv → activation → pool).")
        self.add_dense = QPushButton("+ Dense", build)
        self.add_dense.setToolTip("Add a hidden fully-connected layer (n_h, question 4).")
        self.remove = QPushButton("Remove", build)
        self.remove.setToolTip("Remove the selected layer.")
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
        return buttons

    def _table_box(self) -> QGroupBox:
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
        return table

    @property
    def rows(self) -> list[dict]:
        """The layers, in order: {'type': 'conv' | 'dense', 'name': 'conv1', its fields}."""
        return [form.row for form in self.forms]

    # -- config in / out
    def loaded(self, exp: cfg.Experiment) -> None:
        for form in self.forms:
            self._drop(form)
        self.forms = [self._form(r) for r in rows_of(exp.model)]
        self._rebuild(select=0)

    def store(self, exp: cfg.Experiment) -> None:
        super().store(exp)
        store_rows(self.rows, exp.model)

    # -- the builder: the list of layers and the selected layer's form
    def select(self, i: int) -> None:
        """Select layer i: its line in the list, its fields in the form below."""
        self.builder.setCurrentRow(i)

    def selected(self) -> int:
        """The selected layer's index (-1: none)."""
        return self.builder.currentRow()

    def field(self, i: int, key: str) -> QWidget:
        """The editor of layer i's field key ('kernel', …; 'width' for a dense layer)."""
        return self.forms[i].fields[key]

    def _form(self, row: dict) -> LayerForm:
        form = LayerForm(row, self.layer_box)
        form.hide()
        self.forms_column.addWidget(form)
        for key, w in form.fields.items():
            connect_edits(w, lambda *_, form=form, key=key: self._field_edited(form, key))
            if isinstance(w, QAbstractSpinBox):
                w.editingFinished.connect(self._select_pending)
        return form

    def _drop(self, form: LayerForm) -> None:
        if self._problem_form is form.layout():  # the reason line is not the layer's to take
            self._place_problem(None)
            self.problem.hide()
        form.hide()
        self.forms_column.removeWidget(form)
        form.deleteLater()

    def _kind_changed(self, *_) -> None:
        self.add_conv.setEnabled(self.kind.currentData() == "cnn")
        self._name_layers()

    def _name_layers(self) -> None:
        """Name the layers as the layer table does (conv1, …, hidden1 / fc1, …) and show them."""
        dense = "hidden" if self.kind.currentData() == "mlp" else "fc"
        n = {"conv": 0, "dense": 0}
        for form in self.forms:
            r = form.row
            n[r["type"]] += 1
            r["name"] = f"{'conv' if r['type'] == 'conv' else dense}{n[r['type']]}"
            form.set_tips(dense)
        self.builder.set_rows([summary(r) for r in self.rows])
        self._title()

    def _title(self) -> None:
        i = self.selected()
        self.layer_box.setTitle(self.rows[i]["name"] if 0 <= i < len(self.forms) else "Layer")

    def _insert(self, row: dict) -> None:
        at = insert_at(self.rows, self.selected(), row)
        self.forms.insert(at, self._form(row))
        self._rebuild(select=at)
        self._edited()

    def _remove(self) -> None:
        i = self.selected()
        if 0 <= i < len(self.forms):
            self._drop(self.forms.pop(i))
            self._rebuild(select=min(i, len(self.forms) - 1))
            self._edited()

    def _move(self, step: int) -> None:
        i = self.selected()
        j = i + step
        if 0 <= i < len(self.forms) and 0 <= j < len(self.forms):
            self.forms[i], self.forms[j] = self.forms[j], self.forms[i]
            self._rebuild(select=j)
            self._edited()

    def _rebuild(self, select: int = -1) -> None:
        self._kind_changed()  # names the layers and fills the list
        for i in range(len(self.forms)):
            self.builder.flag(i, None)
        self._flagged_now = self._flagged_before = self._pending = -1  # the rows moved
        i = select if 0 <= select < len(self.forms) else (0 if self.forms else -1)
        self.builder.setCurrentRow(i)
        self._show_form(i)

    def _show_form(self, i: int) -> None:
        for k, form in enumerate(self.forms):
            form.setVisible(k == i)
        self.layer_box.setVisible(0 <= i < len(self.forms))
        self._title()

    def _field_edited(self, form: LayerForm, key: str) -> None:
        form.row[key] = read(form.fields[key])
        self.builder.set_line(self.forms.index(form), summary(form.row))
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
        self._name_layers()  # the kind may have just changed: hidden1 is now fc1
        problem, fields = self.structural_problem(), ()  # the order of the layers: no field
        if problem is None:
            try:  # each field's own rule first: a stride of 0 has no layer table to show
                cfg.check_fields("model", exp.model)
            except ConfigError as e:
                return self._field_problem(str(e))
            try:
                rows = layer_table(exp.model, *input_shape(exp))
            except ConfigError as e:
                problem = (self._row_of(str(e)), str(e))
                fields = self._fields_named(problem[0], str(e))
            else:
                self.table.show_rows(rows)
                self.total.setText(f"<b>{self.table.total:,}</b> parameters · input "
                                   f"{'×'.join(map(str, input_shape(exp)[0]))} → {input_shape(exp)[1]} classes")
        if problem is not None:
            row, reason = problem
            name = self.rows[row]["name"] if 0 <= row < len(self.rows) else "model"
            self.table.show_error(name, in_words(reason))
            self.total.setText("")
        self._flag(problem, fields)
        return None if problem is None else problem[1]

    def _row_of(self, message: str) -> int:
        return row_of(self.rows, message)

    def _fields_named(self, row: int, message: str) -> list[str]:
        """The fields of layer row that a layer problem names ('kernel 40 is larger …')."""
        if not 0 <= row < len(self.forms):
            return []
        why = message.split(":", 1)[-1]
        named = [key for words, key in NAMED_FIELDS if words in why]
        return named[:1] or list(self.forms[row].fields)

    def _field_problem(self, message: str) -> str | None:
        """Show a model field's broken rule; return it when it is the builder's (a field)."""
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

    def _flag(self, problem: tuple[int, str] | None, fields=()) -> None:
        """Flag layer problem[0]'s row and the fields named, with the reason in words (None
        clears every layer)."""
        bad = problem[0] if problem else -2
        words = in_words(problem[1]) if problem else None
        for i, form in enumerate(self.forms):
            self.builder.flag(i, words if i == bad else None)
            form.flag(fields if i == bad else (), words if i == bad else None)
        self._show_problem(words, fields[0] if len(fields) == 1 and 0 <= bad < len(self.forms) else None,
                           bad)
        self._flagged_now = bad if 0 <= bad < len(self.forms) else -1
        self._bring_forward(self._flagged_now)

    def _flag_cell(self, cell: QWidget, message: str) -> None:
        words = in_words(message)
        for i, form in enumerate(self.forms):
            key = next((k for k, w in form.fields.items() if w is cell), None)
            if key is not None:
                form.flag([key], words)
                self.builder.flag(i, words)
                self._flagged_now = i
                self._show_problem(words, key, i)
        self._bring_forward(self._flagged_now)

    def _show_problem(self, words: str | None, key: str | None, i: int) -> None:
        """Show words under layer i's field key (None: under the list); hide them for None."""
        self._place_problem(self.forms[i].fields[key] if words and key else None)
        self.problem.setText(f"⚠ {words}" if words else "")
        self.problem.setVisible(words is not None)

    def _place_problem(self, field: QWidget | None) -> None:
        """Move the reason line into the row under field, or back under the list."""
        form = field.parentWidget().layout() if field is not None else None
        if form is not None and form is self._problem_form:
            if form.getWidgetPosition(self.problem)[0] == form.getWidgetPosition(field)[0] + 1:
                return
        if self._problem_form is not None:
            self._problem_form.takeRow(self.problem)
            self._problem_form = None
        elif form is None:
            return  # under the list already
        else:
            self._build_col.removeWidget(self.problem)
        if form is None:
            self._build_col.insertWidget(2, self.problem)  # list, buttons, this line
        else:
            form.insertRow(form.getWidgetPosition(field)[0] + 1, self.problem)
            self._problem_form = form

    def _bring_forward(self, i: int) -> None:
        """Select a newly flagged layer so that its outlined field shows, unless the user is
        typing in the selected layer's form (then once they leave the field)."""
        if i < 0 or i == self.selected():
            self._pending = -1
            return
        if i == self._flagged_before:
            return  # flagged already: the user may have chosen to look at another layer
        current = self.selected()
        if 0 <= current < len(self.forms) and self.forms[current].has_typing():
            self._pending = i
        else:
            self.select(i)

    def _select_pending(self) -> None:
        i, self._pending = self._pending, -1
        if 0 <= i < len(self.forms) and self.builder.flagged(i):
            self.select(i)

    def _cell_at(self, path: str | None) -> QWidget | None:
        """Return the builder field a config path names: model.blocks[0].kernel, model.hidden[1]."""
        m = re.fullmatch(r"model\.(blocks|hidden|fc)\[(\d+)\](?:\.(\w+))?", path or "")
        if m is None:
            return None
        kind = "conv" if m[1] == "blocks" else "dense"
        rows = [i for i, r in enumerate(self.rows) if r["type"] == kind]
        k = int(m[2])
        if k >= len(rows) or (kind == "conv" and m[3] not in CELLS):
            return None
        return self.forms[rows[k]].fields[m[3] if kind == "conv" else "width"]

    def typed_problem(self) -> str | None:
        """Return 'path: why' for an editor or builder field whose text is not a number."""
        why = super().typed_problem()
        if why:
            return why
        dense = "hidden" if self.kind.currentData() == "mlp" else "fc"
        n = {"conv": 0, "dense": 0}
        for form in self.forms:
            r = form.row
            for key, w in form.fields.items():
                why = typed_problem(w)
                if why:
                    where = (f"model.blocks[{n['conv']}].{key}" if r["type"] == "conv"
                             else f"model.{dense}[{n['dense']}]")
                    return f"{where}: {why}"
            n[r["type"]] += 1
        return None

    def mark(self, path: str | None, message: str = "") -> bool:
        """Flag a plain field's editor, or the builder field the path names."""
        found = super().mark(path, message)
        cell = self._cell_at(path)
        if cell is not None:
            self._flag_cell(cell, message)
        # the window marks last in each refresh: a layer still flagged next time is not new
        self._flagged_before = self._flagged_now
        return found or cell is not None
