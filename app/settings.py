"""Where the window keeps its layout, last experiment and preferences (QSettings)."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings


def open_settings() -> QSettings:
    """Return the app's settings; LEARNSCOPE_SETTINGS names an INI file to use instead (tests)."""
    path = os.environ.get("LEARNSCOPE_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("LearnScope", "LearnScope")
