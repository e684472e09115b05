"""Receptive field (question 7): click a unit in a feature map; the input shows its theoretical
receptive field (layer table: size, jump, start; clipped at the borders) and, overlaid in red,
its effective receptive field |∂unit/∂input|."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QSplitter, QVBoxLayout, QWidget

from app.views.common import Canvas, ImageItem, InspectView, image_plot, show_image
from app.views.feature_maps import FeatureMapsView
from core.nets import receptive

RECT_COLOUR = "#00d000"
WIDE = 0.9  # width / height from which the maps and the input sit side by side


class ReceptiveFieldView(InspectView):
    """Feature maps to click on the left; the input with the clicked unit's fields on the right."""

    interval_s = 1.0
    placeholder = "Train a CNN (Ctrl+Enter) to see receptive fields."

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        self.maps = FeatureMapsView(source)
        self.maps.unit_clicked.connect(self.select_unit)
        self.maps.image_changed.connect(lambda: self.tick(force=True))
        right = QWidget()
        col = QVBoxLayout(right)
        col.setContentsMargins(0, 0, 0, 0)
        self.canvas = Canvas()
        self.plot, self.image = image_plot(self.canvas.ci, "input")
        self.erf = ImageItem()
        self.plot.addItem(self.erf)
        self.rect = QGraphicsRectItem()
        pen = pg.mkPen(RECT_COLOUR, width=3)
        pen.setCosmetic(True)
        self.rect.setPen(pen)
        self.plot.addItem(self.rect)
        col.addWidget(self.canvas, 1)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        col.addWidget(self.text)
        self.split = split = QSplitter()
        split.addWidget(self.maps)
        split.addWidget(right)
        split.setSizes([600, 400])
        split.setOrientation(Qt.Orientation.Vertical)  # side by side once wide enough (resizeEvent)
        QVBoxLayout(self.body).addWidget(split)
        self.unit: tuple[str, int, int, int] | None = None
        self.rect_px: tuple[int, int, int, int] | None = None

    # the maps beside the input where the view is wide, above it in a narrow dock
    def _side_by_side_width(self) -> int:
        s = self.split
        return sum(s.widget(i).minimumSizeHint().width() for i in range(2)) + s.handleWidth()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        wide = self.width() >= WIDE * self.height() and self.width() >= self._side_by_side_width() + 24
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.split.orientation() != orientation:
            self.split.setOrientation(orientation)

    def minimumSizeHint(self):  # noqa: N802
        # side by side only where that fits (resizeEvent): the minimum is the stacked one
        hint = super().minimumSizeHint()
        if self.split.orientation() == Qt.Orientation.Horizontal:
            widest = max(self.split.widget(i).minimumSizeHint().width() for i in range(2))
            hint.setWidth(hint.width() - self._side_by_side_width() + widest)
        return hint

    def refresh(self) -> None:
        self.maps.pending = False
        self.maps.refresh()
        self.pending = self.maps.pending  # its maps still being computed: retry at the next tick
        if not self.maps.showing():  # no maps: say why here
            self.say(self._why_none())
            return
        if not self.maps.shapes:
            return
        self.say(None)
        if self.unit is None or self.unit[0] not in self.maps.shapes:
            deepest = list(self.maps.shapes)[-1]
            n, h, w = self.maps.shapes[deepest]
            self.unit = (deepest, 0, (h - 1) // 2, (w - 1) // 2)
        self._draw_rf()

    def _why_none(self) -> str:
        """Why this model has no receptive field to show, in this tab's words."""
        if not self.source.data.is_images:
            return "Receptive fields are patches of an input image; these data are 2D points."
        if not self.maps.shown:
            return ("Receptive fields are drawn for the units of convolution layers, and this "
                    "network has none: every unit of an MLP sees the whole image.")
        return self.maps.message.text()

    def select_unit(self, layer: str, channel: int, i: int, j: int) -> None:
        """Show the receptive fields of unit (channel, i, j) of a conv layer."""
        self.unit = (layer, channel, i, j)
        self.tick(force=True)

    def _draw_rf(self) -> None:
        layer, ch, i, j = unit = self.unit
        raw, label = self.maps.raw_image()

        def fields(model, data):
            x = data.prepare(raw[None], train=False)
            shown = data.unstandardise(x)[0].permute(1, 2, 0).float().cpu().numpy()
            return shown, receptive.effective_rf(model, x, layer, ch, i, j)

        result = self.computed(f"rf-{unit}-{label}-{id(self.maps.file_image)}", fields)
        if result is None:  # computed between two training steps: drawn at the next tick
            return
        shown, g = result
        show_image(self.plot, self.image, shown[..., 0] if shown.shape[2] == 1 else shown)
        hw = shown.shape[:2]
        table = self.source.structure().table
        top, left, bottom, right = self.rect_px = receptive.theoretical_rf(table, layer, i, j, hw)
        self.rect.setRect(QRectF(left, top, right - left, bottom - top))
        g = g / g.max() if g.max() > 0 else g
        rgba = np.zeros(g.shape + (4,), np.float32)
        rgba[..., 0] = 1.0
        rgba[..., 3] = 0.85 * np.sqrt(g)
        self.erf.setImage(rgba, levels=(0, 1), autoLevels=False)
        row = next(t for t in table if t.name == layer)
        pct = 100 * (bottom - top) * (right - left) / (hw[0] * hw[1])
        clipped = (bottom - top, right - left) != (row.rf, row.rf)
        lines = [f"<b>{layer}</b>, channel {ch}, unit ({i}, {j}): theoretical receptive field "
                 f"<b>{row.rf}×{row.rf} px</b> (jump {row.jump}, start {row.start:g})"
                 + (f", clipped at the border to {bottom - top}×{right - left} px" if clipped else "")
                 + f" = {pct:.0f} % of the {hw[0]}×{hw[1]} input. "
                 f"<span style='color:{RECT_COLOUR}'>Green</span>: theoretical; "
                 "<span style='color:#d00000'>red</span>: effective |∂unit/∂input|."]
        deep = [t for t in table if t.rf is not None and t.kind in ("conv", "pool")][-2:]
        cover = ", ".join(f"{t.name} {t.rf}×{t.rf} px ({100 * receptive.rf_coverage(table, t.name, hw):.0f} %)"
                          for t in deep)
        lines.append(f"Deepest layers, central unit — how much of the image it sees: {cover}.")
        self.text.setText("<br>".join(lines))
