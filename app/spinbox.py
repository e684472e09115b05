"""The lab's number boxes: a value is shown as typed and never clamped, so the engine's rules
(core.experiment.config), not Qt, say what is wrong with it."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QSpinBox

from app.wheel_guard import WheelGuarded

INT_BIG = 2**31 - 1      # the most a QSpinBox holds: whole-number boxes span -INT_BIG … INT_BIG
FLOAT_BIG = 1e300        # float boxes span ±FLOAT_BIG: the engine, not the box, sets the limits


class _NumberBox(WheelGuarded):
    """What the lab's spin boxes share: a value is shown as typed and never clamped.

    Their range is as wide as the box can hold, so that the engine's rules (core.experiment.config) say
    what is wrong with a value instead of Qt silently changing it. Text that is not a number
    the box can hold ("1e", "-") stays shown and `typed_problem` says why; the value the box
    holds does not change until the text is a number. The special value text (Qt's 'shown at
    the minimum') is shown for 0 here, the fields' 'off' / 'all'. Space goes to the window's
    Pause / Resume shortcut: a number needs no space.
    """

    def _init_number(self) -> None:
        self.guard_wheel()  # the wheel changes the number only once the box has focus
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
