"""The Results page: the table and bar chart of the last study (Part 2's ladder) or Part 1
shortcut, at the window's full width, every column in sight (the practical's answers: test
accuracy per rung, the change against the rung before, the effective step, the question).

It shows one of the StudyResults widgets the Part 1 and Part 2 tabs fill, the one filled
last, under a line naming its study."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from app.layout import ignore_width

EMPTY = ("No results yet: run the ladder (Part 2 tab → Run study) or a Part 1 shortcut; "
         "each rung's row and bar appear here as it ends.")


class ResultsPage(QWidget):
    """Shows the StudyResults widget filled last (show_study)."""

    def __init__(self, results: dict, parent=None):
        """results: {name of the tab it belongs to: its StudyResults widget}."""
        super().__init__(parent)
        self.heading = QLabel(EMPTY, self)
        self.heading.setObjectName("results-heading")
        ignore_width(self.heading)  # wraps to the page, never widens it (presentation's 18 pt)
        self.stack = QStackedWidget(self)
        self.results = dict(results)
        for name, widget in self.results.items():
            self.stack.addWidget(widget)
            widget.show()
            widget.shown.connect(lambda w=widget, n=name: self.show_study(w, n))
        col = QVBoxLayout(self)
        col.setContentsMargins(10, 8, 10, 8)
        col.addWidget(self.heading)
        col.addWidget(self.stack, 1)
        col.addStretch(0)  # while there is no table, the sentence stays at the top
        self.stack.hide()
        for name, widget in reversed(self.results.items()):  # filled before the page was made
            if widget.rows:
                self.show_study(widget, name)

    def show_study(self, widget, name: str) -> None:
        """Show widget's study (from the tab called name)."""
        self.stack.setCurrentWidget(widget)
        self.stack.show()
        folder = widget.folder.name if widget.folder is not None else ""
        self.heading.setText(f"<b>{name}</b>: {folder} — {len(widget.rows)} "
                             f"{'rung' if name == 'Part 2' else 'run'}"
                             f"{'s' * (len(widget.rows) != 1)}. Click a row or a bar to open "
                             "that run (its settings, curves and network).")

    def current(self):
        return self.stack.currentWidget() if self.stack.isVisible() else None
