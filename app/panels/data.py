"""The Data panel: which data set, how much of it, noise, standardisation and augmentation."""

from __future__ import annotations

from PySide6.QtWidgets import (QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from app.form import FormPanel, tooltip
from core import config as cfg

LABELS = {"circles": "Circles (2D)", "moons": "Moons (2D)", "xor": "XOR (2D)", "spiral": "Spiral (2D)",
          "blobs": "Blobs (2D)", "shapes10": "Shapes-10 (embedded images)", "mnist": "MNIST",
          "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "folder": "Image folder…"}


class _FolderField(QWidget):
    """A path line edit with a Browse… button."""

    def __init__(self, section: str, name: str, title: str, parent=None):
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setObjectName(f"{section}.{name}")
        self.edit.setToolTip(tooltip(section, name))
        self.edit.setPlaceholderText("folder…")
        browse = QPushButton("Browse…", self)
        browse.setToolTip(f"Choose the {title.lower()} with a folder picker.")
        browse.clicked.connect(self._browse)
        self._title = title
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self._title, self.edit.text())
        if folder:
            self.edit.setText(folder)


class DataPanel(FormPanel):
    """Editors for the [data] section."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.dataset = self.editor("data", "dataset")
        for i in range(self.dataset.count()):
            self.dataset.setItemText(i, LABELS.get(self.dataset.itemData(i), self.dataset.itemText(i)))
        self.root = _FolderField("data", "root", "Data folder", self)
        self.test_root = _FolderField("data", "test_root", "Test image folder", self)
        self.download = QPushButton("Download when missing", self)
        self.download.setCheckable(True)
        self.download.setObjectName("data.download")
        self.download.setToolTip(tooltip("data", "download"))
        for w in (self.root.edit, self.test_root.edit):
            w.textChanged.connect(self._edited)
        self.download.toggled.connect(self._edited)
        self.bind("data.root", self.root.edit)
        self.bind("data.test_root", self.test_root.edit)
        self.bind("data.download", self.download)

        source = QGroupBox("Data set", self)
        f = QFormLayout(source)
        f.addRow("Set", self.dataset)
        f.addRow("Data folder", self.root)
        f.addRow("", self.download)
        f.addRow("Test folder", self.test_root)
        self.image_size = self.editor("data", "image_size")
        f.addRow("Image side", self.image_size)

        size = QGroupBox("Size and noise", self)
        f = QFormLayout(size)
        f.addRow("Train size N", self.editor("data", "n_train"))
        f.addRow("Test size", self.editor("data", "n_test"))
        f.addRow("Validation fraction", self.editor("data", "val_fraction"))
        self.noise = self.editor("data", "noise")
        f.addRow("Noise (2D)", self.noise)
        self.editors[("data", "n_train")].setSpecialValueText("all")
        self.editors[("data", "n_test")].setSpecialValueText("all")
        self.editors[("data", "val_fraction")].setSingleStep(0.05)

        # short titles: a group box's title sets its minimum width (the dock fits 1280×720)
        prep = QGroupBox("Preprocessing", self)
        prep.setToolTip("Standardisation and augmentation.")
        f = QFormLayout(prep)
        self.standardize = self.editor("data", "standardize")
        for i, text in enumerate(("none", "per-channel mean/std", "ZCA whitening")):
            self.standardize.setItemText(i, text)
        f.addRow("Standardise", self.standardize)
        self.crop = self.editor("data", "crop")
        self.crop.setSpecialValueText("off")
        f.addRow("Random crop", self.crop)
        self.crop_padding = self.editor("data", "crop_padding")
        f.addRow("Crop padding", self.crop_padding)
        self.flip = self.editor("data", "flip")
        self.flip.setText("horizontal flip (p 0.5)")
        f.addRow("Flip", self.flip)

        col = QVBoxLayout(self)
        for g in (source, size, prep):
            col.addWidget(g)
        col.addStretch(1)
        self.dataset.currentIndexChanged.connect(self._enable)

    def loaded(self, exp: cfg.Experiment) -> None:
        self.root.edit.setText(exp.data.root)
        self.test_root.edit.setText(exp.data.test_root)
        self.download.setChecked(exp.data.download)
        self._enable()

    def store(self, exp: cfg.Experiment) -> None:
        super().store(exp)
        exp.data.root = self.root.edit.text().strip()
        exp.data.test_root = self.test_root.edit.text().strip()
        exp.data.download = self.download.isChecked()

    def _enable(self, *_) -> None:
        name = self.dataset.currentData()
        points = name in cfg.POINT_SETS
        self.root.setEnabled(name in ("mnist", "fashion-mnist", "cifar10", "folder"))
        self.download.setEnabled(name in ("mnist", "fashion-mnist", "cifar10"))
        self.test_root.setEnabled(name == "folder")
        self.image_size.setEnabled(name == "folder")
        self.noise.setEnabled(points)
        for w in (self.crop, self.crop_padding, self.flip):
            w.setEnabled(not points)
        for i in range(self.standardize.count()):  # ZCA applies to images only
            item = self.standardize.model().item(i)
            item.setEnabled(not (points and self.standardize.itemData(i) == "zca"))
