"""Feature maps: one image (validation or test set, or a file) through every conv layer, each
layer's activations as one mosaic; clicking a map reports the unit (layer, channel, row, col)."""

from __future__ import annotations

import os

import numpy as np
import torch
from PySide6.QtCore import Signal
from PySide6.QtGui import QImage, QImageReader
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QVBoxLayout

from app.layout import FlowLayout
from app.views.common import Canvas, InspectView, best_columns, image_plot, show_image
from app.wheel_guard import ComboBox, SpinBox
from core.nets import inspect as ins
from core.nets import mosaic

PAD = 1
HINT = "Click a unit in a map to see its receptive field (Receptive field tab)."


def unreadable(path: str) -> str | None:
    """Return why the file at path cannot be shown as an image, in a sentence, or None."""
    name = os.path.basename(path) or path
    if not os.path.exists(path):
        return f"Cannot open {name}: there is no such file."
    if os.path.isdir(path):
        return f"Cannot open {name}: it is a folder, not an image."
    reader = QImageReader(path)
    if reader.read().isNull():
        detail = reader.errorString().rstrip(".")
        return (f"Cannot open {name}: it could not be decoded as an image ({detail}); "
                f"the file may be damaged, or not a PNG, JPEG or BMP image.")
    return None


def image_from_file(path: str, shape: tuple[int, int, int]) -> torch.Tensor | None:
    """Return the image file resized to shape (C, H, W) as uint8 C×H×W, or None if unreadable."""
    img = QImage(path)
    if img.isNull():
        return None
    c, h, w = shape
    img = img.scaled(w, h).convertToFormat(QImage.Format.Format_RGB888)
    a = np.array(img.constBits(), np.uint8).reshape(h, img.bytesPerLine())[:, :w * 3].reshape(h, w, 3)
    if c == 1:
        a = a.mean(2, keepdims=True).astype(np.uint8)
    return torch.from_numpy(a.copy()).permute(2, 0, 1)


def unit_at(maps_shape: tuple[int, int, int], x: float, y: float) -> tuple[int, int, int] | None:
    """Return (channel, row, col) under mosaic pixel (x, y) of a layer's maps, or None."""
    n, h, w = maps_shape
    return mosaic.cell_at(n, (h, w), x, y, pad=PAD)


def unit_origin(maps_shape: tuple[int, int, int], channel: int) -> tuple[int, int]:
    """Return mosaic (x, y) of the top-left pixel of a channel's map."""
    n, h, w = maps_shape
    return mosaic.origin(n, (h, w), channel, pad=PAD)


class FeatureMapsView(InspectView):
    """The chosen image and, per conv layer, its activations (after the non-linearity)."""

    interval_s = 1.0
    placeholder = "Train a CNN (Ctrl+Enter) to see its feature maps."
    unit_clicked = Signal(str, int, int, int)   # conv layer, channel, row, column
    image_changed = Signal()                    # the user picked another image

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        col = QVBoxLayout(self.body)
        row = FlowLayout()  # wraps in a narrow dock
        self.split = ComboBox()
        self.split.addItems(["test", "validation", "train"])
        self.split.currentIndexChanged.connect(lambda _=0: self._pick())
        self.index = SpinBox()
        self.index.setRange(0, 0)
        self.index.setToolTip("Which example of the split.")
        self.index.valueChanged.connect(lambda _=0: self._pick())
        self.open = QPushButton("Open image…")
        self.open.clicked.connect(self._open)
        row.addWidget(QLabel("Image:"))
        row.addWidget(self.split)
        row.addWidget(self.index)
        row.addWidget(self.open)
        col.addLayout(row)
        self.canvas = Canvas()
        self._cols = 0  # the panels' columns (_regrid)
        self.canvas.resized.connect(self._regrid)
        col.addWidget(self.canvas, 1)
        self.caption = QLabel(HINT)
        self.caption.setWordWrap(True)
        col.addWidget(self.caption)
        self.file_image: torch.Tensor | None = None
        self.file_name = ""
        self.panels: dict[str, tuple] = {}     # layer → (plot, image)
        self.shapes: dict[str, tuple] = {}     # conv layer → its maps' shape
        self.shown: dict[str, str] = {}        # conv layer → the layer whose output is shown
        self._layout_key = None
        self.image_changed.connect(lambda: self.tick(force=True))

    # -- the image
    def _pick(self) -> None:
        self.file_image = None
        self.caption.setText(HINT)
        self.image_changed.emit()

    def _open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", "Images (*.png *.jpg *.jpeg *.bmp)")
        if path:
            self.open_image(path)

    def open_image(self, path: str) -> bool:
        """Show the maps of the image file at path; if it cannot be read, say why under the
        maps and keep the image shown until then. Return whether it was opened."""
        if not self.source.ready():
            return False
        why = unreadable(path)
        image = None if why else image_from_file(path, tuple(self.source.data.train.x.shape[1:]))
        if image is None:
            now = self.raw_image()[1]
            self.caption.setText(f"⚠ {why or f'Cannot open {os.path.basename(path)}.'} "
                                 f"Still showing {now}.")
            return False
        self.file_image = image
        self.file_name = os.path.basename(path)
        self.caption.setText(HINT)
        self.image_changed.emit()
        return True

    def raw_image(self) -> tuple[torch.Tensor, str]:
        """Return the chosen raw uint8 C×H×W image and its description."""
        if self.file_image is not None:
            return self.file_image, self.file_name
        data = self.source.data
        name = self.split.currentText()
        split = {"test": data.test, "validation": data.val, "train": data.train}[name]
        if len(split) == 0:
            split, name = data.test if len(data.test) else data.train, "test" if len(data.test) else "train"
        self.index.setMaximum(len(split) - 1)
        i = min(self.index.value(), len(split) - 1)
        return split.x[i], f"{name} #{i}: {data.classes[int(split.y[i])]}"

    def prepared(self) -> torch.Tensor:
        return self.source.data.prepare(self.raw_image()[0][None], train=False)

    # -- drawing
    def _layers(self, model) -> dict[str, str]:
        """Map each conv layer to the layer whose output is drawn: its activation if any."""
        names = [n for n, _ in model.named_children()]
        kinds = {t.name: t.kind for t in model.table}
        out = {}
        for conv in ins.conv_layers(model):
            shown = conv
            for n in names[names.index(conv) + 1:]:
                if kinds.get(n) == "conv":
                    break
                if kinds.get(n) == "activation":
                    shown = n
                    break
            out[conv] = shown
        return out

    def _build(self, layers: list[str]) -> None:
        self.canvas.clear()
        self.panels = {"input": image_plot(self.canvas.ci, "input")}
        for conv in layers:
            plot, img = image_plot(self.canvas.ci, conv)
            img.clicked.connect(lambda x, y, name=conv: self._clicked(name, x, y))
            self.panels[conv] = (plot, img)
        self._cols = 0
        self._regrid()

    def _regrid(self) -> None:
        """The panels on as many columns as make them largest in the canvas (one or two in a
        narrow dock, all on a row in a wide window)."""
        plots = [plot for plot, _ in self.panels.values()]
        cols = best_columns(len(plots), 1.0, max(1, self.canvas.width()), max(1, self.canvas.height()))
        if not plots or cols == self._cols:
            return
        self._cols = cols
        for plot in plots:
            self.canvas.ci.removeItem(plot)
        for k, plot in enumerate(plots):
            self.canvas.ci.addItem(plot, row=k // cols, col=k % cols)

    def refresh(self) -> None:
        data = self.source.data
        if not data.is_images:
            self.say("Feature maps need images; these data are 2D points.")
            return
        self.shown = self._layers(self.source.structure())  # the maps come from compute()
        if not self.shown:
            self.say("This network has no convolution layer: an MLP has no feature maps.")
            return
        self.say(None)
        if self._layout_key != tuple(self.shown):
            self._layout_key = tuple(self.shown)
            self._build(list(self.shown))
        raw, label = self.raw_image()
        shown = dict(self.shown)

        def maps_of(model, data):
            x = data.prepare(raw[None], train=False)
            maps = ins.feature_maps(model, x)
            return (data.unstandardise(x)[0].permute(1, 2, 0).float().cpu().numpy(),
                    {conv: maps[layer] for conv, layer in shown.items()})

        result = self.computed(f"maps-{label}-{id(self.file_image)}", maps_of)
        if result is None:
            return
        shown_raw, maps = result
        show_image(*self.panels["input"], shown_raw[..., 0] if shown_raw.shape[2] == 1 else shown_raw)
        self.panels["input"][0].setTitle(label)
        self.mosaics = {}
        for conv, layer in self.shown.items():
            m = maps[conv]
            self.shapes[conv] = m.shape
            self.mosaics[conv] = ins.map_mosaic(m, pad=PAD)
            plot, img = self.panels[conv]
            show_image(plot, img, self.mosaics[conv])
            plot.setTitle(f"{layer}: {m.shape[0]} maps {m.shape[1]}×{m.shape[2]}")

    def _clicked(self, conv: str, x: float, y: float) -> None:
        unit = unit_at(self.shapes.get(conv, (0, 0, 0)), x, y)
        if unit is not None:
            self.unit_clicked.emit(conv, *unit)
