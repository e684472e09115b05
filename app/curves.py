"""The curves on the Train page: a caption naming whose they are, the four plots, and a line at
the epoch the Inspect timeline shows."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.caption import Caption
from app.views.plots import PlotsView


class CurvesPane(QWidget):
    def __init__(self, plots: PlotsView, parent=None):
        super().__init__(parent)
        self.plots = plots
        self.caption = Caption("plots-subject")  # the Lab's subject: whose curves
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.caption)
        col.addWidget(plots, 1)

    def show_subject(self, subject) -> None:
        """Name the Lab's subject; a finished run's curves mark the earlier epoch shown (the
        Inspect timeline's)."""
        self.caption.setText(f"Curves: {subject.words()}")
        earlier = subject.kind == "run" and subject.epoch < subject.epochs  # not the curves' end
        self.plots.mark_epoch(subject.epoch if earlier else None)
