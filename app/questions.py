"""Yes/no questions that do not block: the run goes on while the box is open (Quit while
training, a costly Part 1 shortcut, unsaved changes). One at a time: a second is dropped and
the open one raised."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


class Questions:
    """Asks over a parent widget; `open` is the box on screen, if any."""

    def __init__(self, parent: QWidget):
        self.parent = parent
        self.open: QMessageBox | None = None

    def ask(self, title: str, text: str, yes: str, no: str, then) -> QMessageBox:
        """Call then(True) if yes was chosen, then(False) otherwise."""
        if self.open is not None:
            self.open.raise_()
            return self.open
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self.parent)
        box.setObjectName("question")
        box.setWindowModality(Qt.WindowModality.WindowModal)
        yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(box.addButton(no, QMessageBox.ButtonRole.RejectRole))

        def answered(_code) -> None:
            self.open = None
            box.deleteLater()
            then(box.clickedButton() is yes_button)

        box.finished.connect(answered)
        self.open = box
        box.open()
        return box
