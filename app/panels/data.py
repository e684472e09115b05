"""The Data panel: which data set, how much of it, noise, standardisation and augmentation.

Its boxes are the config's groups "Data set", "Size and noise" and "Preprocessing"; what each
data set allows (a folder, a download, a test folder, its own image side) comes from its
entry in core.data.registry."""

from __future__ import annotations

from PySide6.QtWidgets import (QFileDialog, QFormLayout, QHBoxLayout, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from app.form import FormPanel, tooltip
from core.experiment import config as cfg
from core.data import registry as datasets


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
        source, _ = self.field_box("Data set", place={
            "data.dataset": lambda f: f.addRow("Set", self.editor("data", "dataset")),
            "data.root": lambda f: self._folder(f, "root", "Data folder"),
            "data.test_root": lambda f: self._folder(f, "test_root", "Test image folder"),
            "data.download": self._download_button})
        size, _ = self.field_box("Size and noise")
        # short titles: a group box's title sets its minimum width (the dock fits 1280×720)
        prep, _ = self.field_box("Preprocessing")
        prep.setToolTip("Standardisation and augmentation.")
        col = QVBoxLayout(self)
        for g in (source, size, prep):
            col.addWidget(g)
        col.addStretch(1)
        e = self.editors
        self.dataset, self.image_size, self.noise = (
            e[("data", n)] for n in ("dataset", "image_size", "noise"))
        self.standardize, self.crop, self.crop_padding, self.flip = (
            e[("data", n)] for n in ("standardize", "crop", "crop_padding", "flip"))
        self.dataset.currentIndexChanged.connect(self._enable)

    def _folder(self, form: QFormLayout, name: str, title: str) -> None:
        field = _FolderField("data", name, title, self)
        setattr(self, name, field)
        self.adopt("data", name, field.edit)
        form.addRow(cfg.field_label("data", name), field)

    def _download_button(self, form: QFormLayout) -> None:
        self.download = QPushButton(cfg.field_label("data", "download"), self)
        self.download.setCheckable(True)
        self.download.setObjectName("data.download")
        self.download.setToolTip(tooltip("data", "download"))
        self.adopt("data", "download", self.download)
        form.addRow("", self.download)

    def loaded(self, exp: cfg.Experiment) -> None:
        self._enable()

    def _enable(self, *_) -> None:
        """Enable what the chosen data set reads (its registry entry says which)."""
        ds = datasets.get(self.dataset.currentData())
        points = ds.kind == "points"
        self.root.setEnabled(ds.needs_root)
        self.download.setEnabled(ds.can_download)
        self.test_root.setEnabled(ds.test_root)
        # an image folder's images are resized to data.image_size; the built-in sets keep theirs
        self.image_size.setEnabled(ds.needs_root and ds.side is None)
        self.noise.setEnabled(points)
        for w in (self.crop, self.crop_padding, self.flip):
            w.setEnabled(not points)
        for i in range(self.standardize.count()):  # ZCA applies to images only
            item = self.standardize.model().item(i)
            item.setEnabled(not (points and self.standardize.itemData(i) == "zca"))
