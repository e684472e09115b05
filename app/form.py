"""Editors bound to config fields: each widget takes its type, range, choices, words and
tooltip from the field (core.experiment.config), and a panel box is built from the fields of its group.

A FormPanel keeps a map (section, name) → editor, loads an Experiment into its editors,
stores them back, and can mark one editor with a validation message next to it.
"""

from __future__ import annotations

import re
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QAbstractButton, QCheckBox, QComboBox, QFormLayout, QGroupBox,
                               QLabel, QLineEdit, QSizePolicy, QWidget)

from app.spinbox import FloatSpinBox, IntSpinBox, _NumberBox
from app.wheel_guard import ComboBox
from core.experiment import config as cfg

BIG = 1_000_000_000      # a whole-number box without a maximum is sized for this many digits


def tooltip(section: str, name: str, extra: str = "") -> str:
    """Return the rich-text tooltip of a field: its help text and its config path."""
    text = cfg.field_help(section, name)
    path = f"{section}.{name}" if section != "block" else f"model.blocks[].{name}"
    return f"<p style='max-width:28em'>{text}{(' ' + extra) if extra else ''}<br><i>{path}</i></p>"


# The engine's messages name config paths (the CLI keeps them); the window's messages name
# each field by its label (core.experiment.config), as its panel shows it
_PATH = re.compile(r"(?<![\w./\\])(data|model|optim|train)\.(\w+)"
                   r"(?:\[(\d+)\](?:\.(\w+))?(?: \((?:conv|fc|hidden)\d+\))?)?")
_BOUND = re.compile(r"must be (>=|<=|>|<) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)")
_GOT = re.compile(r"\bgot (-?\d+\.\d+(?:e[-+]?\d+)?)\b")
_BOUND_WORDS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}


def _label(section: str, name: str, default: str) -> str:
    try:
        return cfg.field_of(section, name).metadata.get("label") or default
    except KeyError:  # not a field: the message's words stay
        return default


def _words_for_path(m: re.Match) -> str:
    section, name, index, key = m.groups()
    if index is not None and name == "blocks":
        return f"conv{int(index) + 1}" + (f" {_label('block', key, key)}" if key else "")
    if index is not None:  # model.hidden[i] / model.fc[i]: the builder's rows hidden1, fc1, …
        return f"{'hidden' if name == 'hidden' else 'fc'}{int(index) + 1} width"
    return _label(section, name, m[0])


def in_words(message: str) -> str:
    """Return an engine message as the window says it: field labels, not config paths, and
    bounds in words ('optim.lr: must be > 0.0, got -0.1' → 'Learning rate η: must be more
    than 0, got -0.1')."""
    text = _PATH.sub(_words_for_path, message)
    text = _BOUND.sub(lambda m: f"must be {_BOUND_WORDS[m[1]]} {float(m[2]):g}", text)
    return _GOT.sub(lambda m: f"got {float(m[1]):.10g}", text)


def _number_box(kind: type, m, parent) -> QWidget:
    """A box that never clamps: a value out of the rule's range is shown and flagged."""
    lo, hi = m.get("min"), m.get("max")
    if kind is int:
        w = IntSpinBox(parent)
        w.size_for(int(lo) if lo is not None else 0, int(hi) if hi is not None else BIG)
        w.setAccelerated(True)
    else:
        w = FloatSpinBox(parent)
        w.size_for(float(lo) if lo is not None else -1e15, float(hi) if hi is not None else 1e15)
    if m.get("step"):
        w.setSingleStep(m["step"])
    if m.get("special"):
        w.setSpecialValueText(m["special"])
    return w


def make_editor(section: str, name: str, parent: QWidget | None = None) -> QWidget:
    """Return the editor widget for a config field, with its tooltip, range and choices:
    a choice box for a field with choices, a check box for a bool, a number box for an int
    or a float, a line edit for text."""
    kind, m = cfg.field_type(section, name), cfg.field_of(section, name).metadata
    if cfg.choices(section, name):
        w = ComboBox(parent)
        for value, words in cfg.choice_words(section, name).items():
            w.addItem(words, value)
    elif kind is bool:
        w = QCheckBox(parent)
    elif kind in (int, float):
        w = _number_box(kind, m, parent)
    elif kind is str:
        w = QLineEdit(parent)
    else:
        raise TypeError(f"no editor for {section}.{name} ({kind})")
    w.setToolTip(tooltip(section, name))
    w.setObjectName(f"{section}.{name}")
    return w


def read(w: QWidget):
    """Return the value an editor holds."""
    if isinstance(w, QComboBox):
        return w.currentData()
    if isinstance(w, QAbstractButton):  # a check box, or a checkable button
        return w.isChecked()
    if isinstance(w, QLineEdit):
        return w.text().strip()
    return w.value()


def write(w: QWidget, value) -> None:
    if isinstance(w, QComboBox):
        w.setCurrentIndex(max(0, w.findData(value)))
    elif isinstance(w, QAbstractButton):
        w.setChecked(bool(value))
    elif isinstance(w, QLineEdit):
        w.setText(value)
    else:
        w.setValue(value)


def changed_signal(w: QWidget):
    if isinstance(w, QComboBox):
        return w.currentIndexChanged
    if isinstance(w, QAbstractButton):
        return w.toggled
    if isinstance(w, QLineEdit):
        return w.textChanged
    return w.valueChanged


def connect_edits(w: QWidget, slot) -> None:
    """Call slot when the editor's value changes, and when a number box's text starts or stops
    being something that is not a number (its value stays, the window must say why)."""
    changed_signal(w).connect(slot)
    if isinstance(w, _NumberBox):
        w.typed.connect(slot)


def typed_problem(w: QWidget) -> str | None:
    """Return why the text an editor shows is not a value it holds (None for a value)."""
    return w.typed_problem() if isinstance(w, _NumberBox) else None


def set_invalid(w: QWidget, invalid: bool) -> None:
    """Outline w in red (style.QSS) or not."""
    if w.property("invalid") is not invalid:
        w.setProperty("invalid", invalid)
        w.style().unpolish(w)
        w.style().polish(w)


def _form_row(w: QWidget, top: QWidget) -> tuple[QFormLayout, int] | None:
    """Return the form layout and row that hold w (or the widget that holds w), below top."""
    def forms(layout):
        if isinstance(layout, QFormLayout):
            yield layout
        for i in range(layout.count()):
            child = layout.itemAt(i).layout()
            if child is not None:
                yield from forms(child)

    a = w
    while a is not None and a is not top:
        parent = a.parentWidget()
        if parent is not None and parent.layout() is not None:
            for form in forms(parent.layout()):
                row, _role = form.getWidgetPosition(a)
                if row >= 0:
                    return form, row
        a = parent
    return None


class FormPanel(QWidget):
    """Base of the panels whose editors map one-to-one onto config fields."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.editors: dict[tuple[str, str], QWidget] = {}
        # config path → (an editor the panel loads and stores itself, its usual tooltip)
        self.bound: dict[str, tuple[QWidget, str]] = {}
        self._loading = False
        # the reason an editor is outlined, shown in the row below it (moved there by mark)
        self.reason = QLabel(self)
        self.reason.setObjectName("problem")
        self.reason.setWordWrap(True)
        # wraps to the width it is given: a long folder path in it must not widen the dock
        self.reason.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.reason.hide()
        self._reason_form: QFormLayout | None = None

    def editor(self, section: str, name: str) -> QWidget:
        """Return a new editor of section.name that load / store / mark handle."""
        return self.adopt(section, name, make_editor(section, name, self))

    def adopt(self, section: str, name: str, w: QWidget) -> QWidget:
        """Let load / store / mark handle w, a panel's own editor of section.name (a folder
        field, a toggle button); return it."""
        self.editors[(section, name)] = w
        connect_edits(w, self._edited)
        return w

    def add_field(self, form: QFormLayout, section: str, name: str) -> QWidget:
        """Add a row for section.name to form: its label, then its editor. A check box shows
        the field's check_text beside it, or else its label (and the row's label is empty)."""
        w = self.editor(section, name)
        label = cfg.field_label(section, name)
        if isinstance(w, QCheckBox):
            text = cfg.field_of(section, name).metadata.get("check_text")
            w.setText(text or label)
            label = label if text else ""
        form.addRow(label, w)
        return w

    def field_box(self, group: str, place: dict[str, Callable[[QFormLayout], object]] | None = None,
                  ) -> tuple[QGroupBox, QFormLayout]:
        """Return a box titled group with a row for each of the group's fields, in their order
        (core.experiment.config.fields_of). place maps 'section.name' to a function that adds the panel's
        own row for that field instead (a folder field with Browse…); rows the panel adds
        after, such as hints, go below."""
        box = QGroupBox(group, self)
        form = QFormLayout(box)
        for section, name in cfg.fields_of(group):
            own = (place or {}).get(f"{section}.{name}")
            if own is not None:
                own(form)
            else:
                self.add_field(form, section, name)
        return box, form

    def bind(self, path: str, w: QWidget) -> None:
        """Let mark flag w, an editor of path that the panel loads and stores itself."""
        self.bound[path] = (w, w.toolTip())

    def _flaggable(self):
        """Yield (config path, editor, its usual tooltip) for every editor mark can flag."""
        for (section, name), w in self.editors.items():
            yield f"{section}.{name}", w, tooltip(section, name)
        for path, (w, tip) in self.bound.items():
            yield path, w, tip

    def typed_problem(self) -> str | None:
        """Return 'path: why' for the first editor whose text is not a number, else None."""
        for path, w, _tip in self._flaggable():
            why = typed_problem(w)
            if why:
                return f"{path}: {why}"
        return None

    def _edited(self, *_):
        if not self._loading:
            self.changed.emit()

    def load(self, exp: cfg.Experiment) -> None:
        """Show exp's values in the editors (without emitting changed)."""
        self._loading = True
        try:
            for (section, name), w in self.editors.items():
                write(w, getattr(getattr(exp, section), name))
            self.loaded(exp)
        finally:
            self._loading = False

    def loaded(self, exp: cfg.Experiment) -> None:
        """Hook: subclasses load what is not a plain field."""

    def store(self, exp: cfg.Experiment) -> None:
        """Write the editors' values into exp (in place)."""
        for (section, name), w in self.editors.items():
            setattr(getattr(exp, section), name, read(w))

    def mark(self, path: str | None, message: str = "") -> bool:
        """Flag the editor of 'section.name' with message (None clears all); return if found.

        The editor is outlined in red, the message in the window's words shows in the row
        below it and in its tooltip (which keeps the config path)."""
        words = in_words(message)
        flagged = None
        for p, w, tip in self._flaggable():
            hit = p == path
            set_invalid(w, hit)
            w.setToolTip(f"<p style='color:#b00020'><b>{words}</b></p>{tip}" if hit else tip)
            if hit and flagged is None:
                flagged = w
        self._show_reason(flagged, words)
        return flagged is not None

    def _show_reason(self, w: QWidget | None, words: str) -> None:
        """Show words in the form row under w; hide them when w is None or not in a form."""
        text = f"⚠ {words}"
        form = self._reason_form
        if form is not None:
            at = _form_row(w, self) if w is not None else None
            if at is not None and at[0] is form and form.getWidgetPosition(self.reason)[0] == at[1] + 1:
                self.reason.setText(text)  # already under w
                return
            form.takeRow(self.reason)
            self._reason_form = None
        at = _form_row(w, self) if w is not None else None
        if at is None:
            self.reason.hide()
            return
        at[0].insertRow(at[1] + 1, self.reason)
        self._reason_form = at[0]
        self.reason.setText(text)
        self.reason.show()
