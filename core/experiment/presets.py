"""The lab's ready-made experiments, stored as TOML sheets in resources/presets/."""

from __future__ import annotations

from importlib import resources

from core.experiment import config as cfg
from core import ConfigError


def _files():
    folder = resources.files("resources").joinpath("presets")
    return {p.name[:-5]: p for p in folder.iterdir() if p.name.endswith(".toml")}


def names() -> list[str]:
    """Return the preset names, in the order of the practical."""
    order = ["circles-mlp", "circles-mlp-figure", "mnist-mlp", "lenet-mnist", "shapes-cnn", "cifar-cnn"]
    found = _files()
    return [n for n in order if n in found] + sorted(set(found) - set(order))


def description(name: str) -> str:
    """Return the one-line description (the sheet's first comment line)."""
    first = _files()[name].read_text(encoding="utf-8").splitlines()[0]
    return first.lstrip("# ").strip()


def load(name: str) -> cfg.Experiment:
    """Return the named preset's Experiment."""
    files = _files()
    if name not in files:
        raise ConfigError(f"--preset: unknown preset {name!r} (known: {', '.join(names())})")
    return cfg.loads(files[name].read_text(encoding="utf-8"))
