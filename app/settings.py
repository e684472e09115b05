"""Where the window keeps its layout, last experiment and preferences (QSettings)."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

from core.experiment import config as cfg
from core.experiment import presets
from core import ConfigError

FIRST_PRESET = "circles-mlp"  # the experiment of a first launch: ready to train


def open_settings() -> QSettings:
    """Return the app's settings; LEARNSCOPE_SETTINGS names an INI file to use instead (tests)."""
    path = os.environ.get("LEARNSCOPE_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("LearnScope", "LearnScope")


def first_experiment(settings) -> cfg.Experiment:
    """Return the last experiment the window showed, or the ready first-launch preset."""
    text = settings.value("experiment", "")
    if text:
        try:
            return cfg.loads(str(text))
        except ConfigError:
            pass
    return presets.load(FIRST_PRESET)
