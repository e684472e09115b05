"""The experiment a command names: a TOML file or a preset (exactly one), then each --set.

train, gradcheck, study and sweep (Part 1's shortcuts) and export all resolve it here, so they
agree on the order (the file or preset first, the overrides on top, in the order given) and on
what a missing or doubled source says.
"""

from __future__ import annotations

from pathlib import Path

from core import ConfigError
from core.experiment import config as cfg
from core.experiment import presets


def preset_names() -> str:
    """"presets: circles-mlp, …", for a sentence that asks for one."""
    return f"presets: {', '.join(presets.names())}"


def experiment_from(file: str | Path | None, preset: str | None, sets=(), *,
                    needs: str) -> cfg.Experiment:
    """Load the file or the preset, then apply sets; ConfigError(needs) unless exactly one of
    file and preset is given, or the sentence of what cannot be loaded or set."""
    if bool(file) == bool(preset):
        raise ConfigError(needs)
    exp = presets.load(preset) if preset else cfg.load(file)
    return cfg.with_overrides(exp, list(sets))
