"""Editors bound to config fields: each widget takes its range, choices and tooltip from the field.

A FormPanel keeps a map (section, name) → editor, loads an Experiment into its editors,
stores them back, and can mark one editor with a validation message next to it.
"""

from __future__ import annotations

import dataclasses
import math
import re

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout,
                               QLabel, QSizePolicy, QSpinBox, QWidget)

from core import config as cfg

BIG = 1_000_000_000      # a whole-number box without a maximum is sized for this many digits
INT_BIG = 2**31 - 1      # the most a QSpinBox holds: whole-number boxes span -INT_BIG … INT_BIG
FLOAT_BIG = 1e300        # float boxes span ±FLOAT_BIG: the engine, not the box, sets the limits


def _field(section: str, name: str) -> dataclasses.Field:
    cls = cfg.SECTIONS.get(section, cfg.ConvBlock)
    return {f.name: f for f in dataclasses.fields(cls)}[name]


def tooltip(section: str, name: str, extra: str = "") -> str:
    """Return the rich-text tooltip of a field: its help text and its config path."""
    text = cfg.field_help(section, name)
    path = f"{section}.{name}" if section != "block" else f"model.blocks[].{name}"
    return f"<p style='max-width:28em'>{text}{(' ' + extra) if extra else ''}<br><i>{path}</i></p>"


# What the window calls each config field: the engine's messages name config paths (the CLI
# keeps them), the window's messages name the field as its panel shows it
LABELS = {
    "data.dataset": "Data set", "data.root": "Data folder", "data.test_root": "Test folder",
    "data.download": "Download when missing", "data.n_train": "Train size N",
    "data.n_test": "Test size", "data.val_fraction": "Validation fraction",
    "data.noise": "Noise (2D)", "data.image_size": "Image side", "data.standardize": "Standardise",
    "data.crop": "Random crop", "data.crop_padding": "Crop padding", "data.flip": "Flip",
    "model.kind": "Network kind", "model.hidden": "Hidden layers", "model.activation": "Activation",
    "model.init_std": "Init σ", "model.blocks": "Conv layers", "model.fc": "Dense layers",
    "model.batch_norm": "Batch norm", "model.dropout": "Dropout p",
    "model.implementation": "Implementation", "model.dropout_place": "Dropout after",
    "optim.loss": "Loss", "optim.reduction": "Batch reduction", "optim.optimizer": "Optimiser",
    "optim.lr": "Learning rate η", "optim.momentum": "Momentum", "optim.nesterov": "Nesterov",
    "optim.weight_decay": "Weight decay", "optim.scheduler": "Schedule", "optim.gamma": "γ",
    "optim.step_size": "Step (epochs)", "train.batch_size": "Batch size", "train.epochs": "Epochs",
    "train.seed": "Seed", "train.device": "Device", "train.dtype": "Precision",
    "train.sync_every": "Metrics read-back (steps)",
}
BLOCK_LABELS = {"channels": "filters", "kernel": "kernel", "stride": "stride", "padding": "padding",
                "pool": "pool", "pool_size": "pool size", "pool_stride": "pool stride",
                "ceil_mode": "ceil"}

_PATH = re.compile(r"(?<![\w./\\])(data|model|optim|train)\.(\w+)"
                   r"(?:\[(\d+)\](?:\.(\w+))?(?: \((?:conv|fc|hidden)\d+\))?)?")
_BOUND = re.compile(r"must be (>=|<=|>|<) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)")
_GOT = re.compile(r"\bgot (-?\d+\.\d+(?:e[-+]?\d+)?)\b")
_BOUND_WORDS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}


def _words_for_path(m: re.Match) -> str:
    section, name, index, key = m.groups()
    if index is not None and name == "blocks":
        return f"conv{int(index) + 1}" + (f" {BLOCK_LABELS.get(key, key)}" if key else "")
    if index is not None:  # model.hidden[i] / model.fc[i]: the builder's rows hidden1, fc1, …
        return f"{'hidden' if name == 'hidden' else 'fc'}{int(index) + 1} width"
    return LABELS.get(f"{section}.{name}", m[0])


def in_words(message: str) -> str:
    """Return an engine message as the window says it: field labels, not config paths, and
    bounds in words ('optim.lr: must be > 0.0, got -0.1' → 'Learning rate η: must be more
    than 0, got -0.1')."""
    text = _PATH.sub(_words_for_path, message)
    text = _BOUND.sub(lambda m: f"must be {_BOUND_WORDS[m[1]]} {float(m[2]):g}", text)
    return _GOT.sub(lambda m: f"got {float(m[1]):.10g}", text)


class _NumberBox:
    """What the lab's spin boxes share: a value is shown as typed and never clamped.

    Their range is as wide as the box can hold, so that the engine's rules (core.config) say
    what is wrong with a value instead of Qt silently changing it. Text that is not a number
    the box can hold ("1e", "-") stays shown and `typed_problem` says why; the value the box
    holds does not change until the text is a number. The special value text (Qt's 'shown at
    the minimum') is shown for 0 here, the fields' 'off' / 'all'. Space goes to the window's
    Pause / Resume shortcut: a number needs no space.
    """

    def _init_number(self) -> None:
        self._typed: str | None = None   # the text shown when it is not a number the box holds
        self._zero_text = ""
        self.lineEdit().textEdited.connect(self._text_edited)

    def _parse(self, text: str):
        raise NotImplementedError

    def _format(self, value) -> str:
        raise NotImplementedError

    def _number(self, text: str):
        """Return the number text means, or None when it is not one the box can hold."""
        t = text.strip()
        if self._zero_text and t.lower() == self._zero_text.lower():
            return 0
        v = self._parse(t)
        return v if v is not None and self.minimum() <= v <= self.maximum() else None

    def _text_edited(self, text: str) -> None:
        typed = None if self._number(text) is not None else text
        if typed != self._typed:
            self._typed = typed
            self.typed.emit()

    def _forget_typed(self) -> None:
        if self._typed is not None:
            self._typed = None
            self.typed.emit()

    def typed_problem(self) -> str | None:
        """Return why the text shown is not a value, or None when the box holds what it shows."""
        if self._typed is None:
            return None
        t = self._typed.strip()
        if not t:
            return "is empty: type a number"
        if self._parse(t) is not None:
            return f"{t} is beyond what this field can hold"
        return self._not_a_number(t)

    def _not_a_number(self, t: str) -> str:
        return f"'{t}' is not a number"

    def setSpecialValueText(self, text: str) -> None:
        self._zero_text = text
        self.updateGeometry()
        if self._typed is None:
            self.setValue(self.value())  # shows the text if the value is 0

    def specialValueText(self) -> str:
        return self._zero_text

    def textFromValue(self, value) -> str:
        if self._typed is not None:  # Qt rewrites the text on focus out: keep what was typed
            return self._typed
        return self._zero_text if value == 0 and self._zero_text else self._format(value)

    def valueFromText(self, text: str):
        v = self._number(text)
        return self.value() if v is None else v

    def validate(self, text, pos):
        ok = self._number(text) is not None
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos

    def fixup(self, text):
        return text  # Qt's fixup would rewrite what was typed

    def setValue(self, value) -> None:
        self._forget_typed()
        super().setValue(value)

    def stepBy(self, steps: int) -> None:
        self._forget_typed()  # the arrows step from the value the box holds
        super().stepBy(steps)

    def size_for(self, low, high) -> None:
        """Size the box for values from low to high (its range is far wider: sized for that,
        every box would be as wide as -2147483647)."""
        self._sized_for = (low, high)
        self.updateGeometry()

    def _resized(self, size):
        sized_for = getattr(self, "_sized_for", None)
        if sized_for is None:
            return size
        fm = self.fontMetrics()
        held = max(fm.horizontalAdvance(self._format(v)) for v in (self.minimum(), self.maximum()))
        wanted = [self._format(v) for v in sized_for] + [self._zero_text]
        size.setWidth(size.width() - held + max(fm.horizontalAdvance(t[:18]) for t in wanted))
        return size

    def sizeHint(self):
        return self._resized(super().sizeHint())

    def minimumSizeHint(self):
        return self._resized(super().minimumSizeHint())

    def event(self, e) -> bool:
        if (e.type() == QEvent.Type.ShortcutOverride and e.key() == Qt.Key.Key_Space
                and e.modifiers() == Qt.KeyboardModifier.NoModifier):
            e.ignore()  # not taken here, so the window's Space shortcut (Pause / Resume) fires
            return True
        return super().event(e)


class FloatSpinBox(_NumberBox, QDoubleSpinBox):
    """A spin box that shows floats plainly (0.03, 1e-05), steps adaptively, never clamps."""

    typed = Signal()  # the text became, or stopped being, something that is not a number

    def __init__(self, parent=None):
        super().__init__(parent)
        self._init_number()
        # Qt rounds every value to this many decimals: with 8, a typed 1e-9 became 0
        self.setDecimals(323)
        self.setRange(-FLOAT_BIG, FLOAT_BIG)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)

    def _parse(self, text: str):
        try:
            v = float(text.replace(",", "."))
        except ValueError:
            return None
        return v if math.isfinite(v) else None

    def _format(self, value) -> str:
        return f"{value:.10g}"  # 0.9500001 must not read as 0.95: no more digits hidden

    def _not_a_number(self, t: str) -> str:
        try:
            float(t.replace(",", "."))
            return f"{t} is not a finite number"
        except ValueError:
            return f"'{t}' is not a number"

    def stepBy(self, steps: int) -> None:
        if self.value() == 0 and self._typed is None:
            # Qt's adaptive step from 0 is one unit of the last decimal (1e-323 here)
            self.setValue(steps * self.singleStep())
        else:
            super().stepBy(steps)


class IntSpinBox(_NumberBox, QSpinBox):
    """A whole-number spin box that shows what was typed and never clamps."""

    typed = Signal()  # the text became, or stopped being, something that is not a number

    def __init__(self, parent=None):
        super().__init__(parent)
        self._init_number()
        self.setRange(-INT_BIG, INT_BIG)

    def _parse(self, text: str):
        try:
            return int(text)
        except ValueError:
            pass
        try:
            v = float(text.replace(",", "."))
        except ValueError:
            return None
        return int(v) if math.isfinite(v) and v.is_integer() else None

    def _format(self, value) -> str:
        return str(value)

    def _not_a_number(self, t: str) -> str:
        try:
            float(t.replace(",", "."))
            return f"{t} is not a whole number"
        except ValueError:
            return f"'{t}' is not a whole number"


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
    elif kind == "int":  # no range from the rule: a value out of it is shown and flagged
        w = IntSpinBox(parent)
        w.size_for(int(m["min"]) if m.get("min") is not None else 0,
                   int(m["max"]) if m.get("max") is not None else BIG)
        w.setAccelerated(True)
    elif kind == "float":
        w = FloatSpinBox(parent)
        w.size_for(float(m["min"]) if m.get("min") is not None else -1e15,
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
        w = make_editor(section, name, self)
        self.editors[(section, name)] = w
        connect_edits(w, self._edited)
        return w

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
