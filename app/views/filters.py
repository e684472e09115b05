"""Filters: the first convolution's kernels as one RGB mosaic, deeper kernels per input channel
in grey, or an image MLP's first-layer weights as image tiles; refreshed live at about 1.5 Hz."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout

from app.layout import FlowLayout
from app.views.common import Canvas, InspectView, image_plot, show_image
from app.wheel_guard import ComboBox
from core.nets import inspect as ins


class FiltersView(InspectView):
    """One mosaic image of a layer's weights (each kernel scaled to its own range by default)."""

    interval_s = 0.7
    placeholder = "Train a model (Ctrl+Enter) to see its filters."

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        col = QVBoxLayout(self.body)
        row = FlowLayout()  # wraps in a narrow dock
        row.addWidget(QLabel("Layer:"))
        self.layer = ComboBox()
        self.layer.setToolTip("The first convolution in colour; deeper ones one grey tile per "
                              "(output channel = row, input channel = column).")
        self.layer.currentIndexChanged.connect(lambda _=0: self.tick(force=True))
        row.addWidget(self.layer)
        self.same_scale = QCheckBox("One scale for all kernels")
        self.same_scale.setToolTip("Off: each kernel stretched to its own range, so shapes show. "
                                   "On: magnitudes compare.")
        self.same_scale.toggled.connect(lambda _=False: self.tick(force=True))
        row.addWidget(self.same_scale)
        col.addLayout(row)
        self.canvas = Canvas()
        self.plot, self.image = image_plot(self.canvas.ci)
        col.addWidget(self.canvas, 1)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        col.addWidget(self.caption)
        self._layers: list[tuple[str, str]] = []   # (layer name, "rgb" | "grey" | "tiles")

    def _choices(self, model, data) -> list[tuple[str, str]]:
        convs = ins.conv_layers(model)
        if convs:
            first_rgb = model.get_submodule(convs[0]).in_channels == 3
            return [(n, "rgb" if i == 0 and first_rgb else "grey") for i, n in enumerate(convs)]
        if data.is_images and data.input_shape[0] in (1, 3):
            first = next((n for n, m in model.named_children() if hasattr(m, "in_features")), None)
            return [(first, "tiles")] if first else []
        return []

    def refresh(self) -> None:
        # the layers from the architecture; the weights are read where the model is (compute)
        model, data = self.source.structure(), self.source.data
        layers = self._choices(model, data)
        if not layers:
            self.say("This network has no image-shaped weights: filters exist for convolutions, "
                     "and for an MLP on images (its first layer's weights as image tiles).")
            return
        self.say(None)
        if layers != self._layers:
            self._layers = layers
            self.layer.blockSignals(True)
            self.layer.clear()
            for name, kind in layers:
                self.layer.addItem({"rgb": f"{name} (RGB)", "grey": f"{name} (grey, per input channel)",
                                    "tiles": f"{name} (weights as images)"}[kind])
            self.layer.blockSignals(False)
        name, kind = self._layers[max(self.layer.currentIndex(), 0)]
        scale = "all" if self.same_scale.isChecked() else "each"

        def mosaic_of(model, data):
            weight = model.get_submodule(name).weight
            if kind == "tiles":
                return ins.mlp_weight_tiles(weight, data.input_shape, scale=scale), weight.shape
            return ins.filter_mosaic(weight, kind == "rgb", scale=scale), weight.shape

        result = self.computed(f"filters-{name}-{scale}", mosaic_of)
        if result is None:
            return
        self.mosaic, wshape = result
        show_image(self.plot, self.image, self.mosaic)
        shape = "×".join(map(str, wshape))
        what = {"rgb": "each tile is one kernel in colour: the colour pattern it responds to",
                "grey": "row = output channel, column = input channel",
                "tiles": "each tile is one hidden unit's weights over the image"}[kind]
        self.caption.setText(f"{name}: weights {shape} — {what}. "
                             + ("One scale for all." if scale == "all" else "Each tile scaled to its own range."))
