"""A banner across the top of the window: the engine's message when a run diverges or fails."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

STYLES = {
    "error": "background:#fdecea; color:#611a15; border:1px solid #f5c2c0;",
    "warning": "background:#fff4e5; color:#663c00; border:1px solid #ffd59e;",
    "info": "background:#e8f1fb; color:#0d3c61; border:1px solid #b6d4f2;",
}
ICONS = {"error": "✖", "warning": "⚠", "info": "ℹ"}


class BannerView(QFrame):
    """A dismissable message strip; hidden until show_message()."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.icon = QLabel(self)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(self.text.textInteractionFlags().TextSelectableByMouse)
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        row.addWidget(self.icon)
        row.addWidget(self.text, 1)
        row.addWidget(close)
        self.kind = ""
        self.hide()

    def show_message(self, kind: str, title: str, message: str) -> None:
        self.kind = kind
        self.setStyleSheet(f"#banner {{{STYLES[kind]} border-radius:6px;}} QLabel {{background:transparent;}}")
        self.icon.setText(f"<span style='font-size:18pt'>{ICONS[kind]}</span>")
        self.text.setText(f"<b>{title}</b> {message}")
        self.show()

    def message(self) -> str:
        return self.text.text() if self.isVisible() else ""
