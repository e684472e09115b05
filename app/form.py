"""Editors bound to config fields: each widget takes its range, choices and tooltip from the field.

A FormPanel keeps a map (section, name) → editor, loads an Experiment into its editors,
stores them back, and can mark one editor with a validation message next to it.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox,
                               QWidget)

from core import config as cfg

BIG = 1_000_000_000


def _field(section: str, name: str) -> dataclasses.Field:
    cls = cfg.SECTIONS.get(section, cfg.ConvBlock)
    return {f.name: f for f in dataclasses.fields(cls)}[name]


def tooltip(section: str, name: str, extra: str = "") -> str:
    """Return the rich-text tooltip of a field: its help text and its config path."""
    text = cfg.field_help(section, name)
    path = f"{section}.{name}" if section != "block" else f"model.blocks[].{name}"
    return f"<p style='max-width:28em'>{text}{(' ' + extra) if extra else ''}<br><i>{path}</i></p>"


class FloatSpinBox(QDoubleSpinBox):
    """A spin box that shows floats compactly (0.03, 1e-05) and steps adaptively."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDecimals(8)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return self.value()

    def validate(self, text, pos):
        from PySide6.QtGui import QValidator
        t = text.strip().replace(",", ".")
        try:
            float(t)
            return QValidator.State.Acceptable, text, pos
        except ValueError:
            ok = all(c in "0123456789.eE-+" for c in t)
            return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos


def make_editor(section: str, name: str, parent: QWidget | None = None) -> QWidget:
    """Return the editor widget for a config field, with its tooltip, range and choices."""
    f = _field(section, name)
    m, kind = f.metadata, f.type
    if m.get("choices"):
        w = QComboBox(parent)
        for c in m["choices"]:
            w.addItem(str(c), c)
    elif kind == "bool":
        w = QCheckBox(parent)
    elif kind == "int":
        w = QSpinBox(parent)
        w.setRange(int(m["min"]) if m.get("min") is not None else 0,
                   int(m["max"]) if m.get("max") is not None else BIG)
        w.setAccelerated(True)
    elif kind == "float":
        w = FloatSpinBox(parent)
        w.setRange(float(m["min"]) if m.get("min") is not None else -1e15,
                   float(m["max"]) if m.get("max") is not None else 1e15)
    else:
        raise TypeError(f"no editor for {section}.{name} ({kind})")
    w.setToolTip(tooltip(section, name))
    w.setObjectName(f"{section}.{name}")
    return w


def read(w: QWidget):
    """Return the value an editor holds."""
    if isinstance(w, QComboBox):
        return w.currentData()
    if isinstance(w, QCheckBox):
        return w.isChecked()
    return w.value()


def write(w: QWidget, value) -> None:
    if isinstance(w, QComboBox):
        w.setCurrentIndex(max(0, w.findData(value)))
    elif isinstance(w, QCheckBox):
        w.setChecked(bool(value))
    else:
        w.setValue(value)


def changed_signal(w: QWidget):
    if isinstance(w, QComboBox):
        return w.currentIndexChanged
    if isinstance(w, QCheckBox):
        return w.toggled
    return w.valueChanged


class FormPanel(QWidget):
    """Base of the panels whose editors map one-to-one onto config fields."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.editors: dict[tuple[str, str], QWidget] = {}
        self._loading = False

    def editor(self, section: str, name: str) -> QWidget:
        w = make_editor(section, name, self)
        self.editors[(section, name)] = w
        changed_signal(w).connect(self._edited)
        return w

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
        """Flag the editor of 'section.name' with message (None clears all); return if found."""
        found = False
        for (section, name), w in self.editors.items():
            hit = path == f"{section}.{name}"
            w.setProperty("invalid", hit)
            w.style().unpolish(w)
            w.style().polish(w)
            if hit:
                w.setToolTip(f"<p style='color:#b00020'><b>{message}</b></p>" + tooltip(section, name))
                found = True
            else:
                w.setToolTip(tooltip(section, name))
        return found
