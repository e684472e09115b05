"""The small experiments the app's tests train: the lab's presets on the CPU, few epochs."""

from __future__ import annotations

from core.experiment import config as cfg
from core.experiment import presets
from core.engine.train import Observer


def experiment(preset: str, epochs: int, **sets) -> cfg.Experiment:
    """Return preset on the CPU for epochs, with each key=value of sets applied ('optim.lr': 0.1)."""
    overrides = [f"train.epochs={epochs}", "train.device=cpu"] + [f"{k}={v}" for k, v in sets.items()]
    return cfg.with_overrides(presets.load(preset), overrides)


def circles(epochs: int = 3, **sets) -> cfg.Experiment:
    return experiment("circles-mlp", epochs, **sets)


def tiny_shapes(epochs: int = 2, n_test: int = 64, blocks: int = 2) -> cfg.Experiment:
    """The practical's CNN shrunk to seconds: 64 Shapes-10 images, 4 (and 8) filters, fc 16."""
    exp = experiment("shapes-cnn", epochs, **{"data.n_train": 64, "data.n_test": n_test,
                                              "train.batch_size": 32, "model.fc": "[16]"})
    exp.model.blocks = [cfg.ConvBlock(channels=4, kernel=3, padding=1),
                        cfg.ConvBlock(channels=8, kernel=3, padding=1)][:blocks]
    return cfg.validate(exp)


class Recorder(Observer):
    """Keeps everything a fit reports: its FitInfo, batch chunks, epoch records, result."""

    def __init__(self):
        self.info, self.chunks, self.epochs, self.result, self.errors = None, [], [], None, []

    def on_fit_start(self, info):
        self.info = info

    def on_batch_end(self, chunk):
        self.chunks.append(chunk)

    def on_epoch_end(self, record):
        self.epochs.append(record)

    def on_fit_end(self, result):
        self.result = result

    def on_error(self, message):
        self.errors.append(message)

    @property
    def steps(self):
        return [int(s) for c in self.chunks for s in c.steps]
