"""LearnScope's main window (minimal until the GUI issue lands): the experiment and its layers."""

from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QLabel, QMainWindow, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from core import config as cfg
from core import presets
from core.errors import ConfigError
from core.models import layer_table


def input_shape(exp: cfg.Experiment) -> tuple[tuple[int, ...], int]:
    """Return (input shape, number of classes) the experiment's network will see, without loading data."""
    d = exp.data
    if exp.is_points:
        return (2,), 2
    channels = 1 if d.dataset in ("mnist", "fashion-mnist") else 3
    side = {"mnist": 28, "fashion-mnist": 28, "cifar10": 32}.get(d.dataset, d.image_size)
    side = d.crop or side
    return (channels, side, side), 10


class MainWindow(QMainWindow):
    def __init__(self, exp: cfg.Experiment):
        super().__init__()
        self.setWindowTitle("LearnScope")
        body = QWidget()
        layout = QVBoxLayout(body)
        self.preset_box = QComboBox()
        self.preset_box.addItems(presets.names())
        self.preset_box.setToolTip("The practical's ready-made experiments.")
        self.summary = QLabel()
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["layer", "output", "parameters", "receptive field", "jump"])
        layout.addWidget(self.preset_box)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        self.setCentralWidget(body)
        self.preset_box.currentTextChanged.connect(lambda n: self.show_experiment(presets.load(n)))
        if exp.name in presets.names():
            self.preset_box.setCurrentText(exp.name)
        self.show_experiment(exp)

    def show_experiment(self, exp: cfg.Experiment) -> None:
        self.experiment = exp
        shape, classes = input_shape(exp)
        try:
            rows = layer_table(exp.model, shape, classes)
        except ConfigError as e:
            self.summary.setText(str(e))
            self.table.setRowCount(0)
            return
        total = sum(r.params for r in rows)
        self.summary.setText(f"{exp.name}: {exp.model.kind.upper()} on {exp.data.dataset}, "
                             f"{total:,} parameters")
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for j, v in enumerate([r.name, "×".join(map(str, r.out_shape)), f"{r.params:,}",
                                   "" if r.rf is None else str(r.rf), "" if r.jump is None else str(r.jump)]):
                self.table.setItem(i, j, QTableWidgetItem(v))
