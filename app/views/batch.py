"""What the network sees: one training batch after standardisation and augmentation
(de-standardised for display) next to the same images untouched, and the training split's
per-channel mean and std."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from app.views.common import Canvas, InspectView, best_columns, image_plot, show_image
from app.wheel_guard import SpinBox
from core.nets import inspect as ins
from core.nets.mosaic import image_mosaic


class BatchView(InspectView):
    """Two mosaics of the same n training images: as stored, and as the network gets them."""

    interval_s = 1.0
    live_refresh = False
    placeholder = "Train a model on images (Ctrl+Enter) to see what it sees."

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        col = QVBoxLayout(self.body)
        row = QHBoxLayout()
        row.addWidget(QLabel("Images:"))
        self.n = SpinBox()
        self.n.setRange(1, 64)
        self.n.setValue(16)
        self.n.valueChanged.connect(lambda _=0: self.tick(force=True))
        row.addWidget(self.n)
        self.another = QPushButton("Another batch")
        self.another.clicked.connect(self.next_batch)
        row.addWidget(self.another)
        row.addStretch(1)
        col.addLayout(row)
        self.canvas = Canvas()
        self.raw_plot, self.raw_image = image_plot(self.canvas.ci, "untouched", row=0, col=0)
        self.seen_plot, self.seen_image = image_plot(self.canvas.ci, "as the network sees them", row=0, col=1)
        self.side_by_side = True  # the two mosaics side by side, or one above the other (_arrange)
        self.canvas.resized.connect(self._arrange)
        col.addWidget(self.canvas, 1)
        self.stats = QLabel()
        self.stats.setWordWrap(True)
        col.addWidget(self.stats)
        self.seed = 0
        self.tiles = (0, 0)

    def _arrange(self) -> None:
        """Side by side in a wide panel, one above the other in a tall one: the larger mosaics."""
        side = best_columns(2, 1.0, self.canvas.width(), self.canvas.height()) == 2
        if side != self.side_by_side:
            self.side_by_side = side
            self.canvas.ci.removeItem(self.seen_plot)
            self.canvas.ci.addItem(self.seen_plot, row=0 if side else 1, col=1 if side else 0)

    def next_batch(self) -> None:
        self.seed += 1
        self.tick(force=True)

    def epoch_ended(self) -> None:
        self.stale = True

    def refresh(self) -> None:
        data = self.source.data
        if not data.is_images:
            self.say("The batch gallery shows images; these data are 2D points.")
            return
        self.say(None)
        n, seed = self.n.value(), self.seed
        # data only, but torch work all the same: in the training thread while a run trains
        batch = self.computed(f"batch-{n}-{seed}", lambda _model, d: ins.seen_batch(d, n, seed))
        if batch is None:
            return
        raw, shown = batch
        self.tiles = (len(raw), len(shown))
        self.raw_mosaic, self.seen_mosaic = image_mosaic(raw), image_mosaic(shown)
        show_image(self.raw_plot, self.raw_image, self.raw_mosaic)
        show_image(self.seen_plot, self.seen_image, self.seen_mosaic)
        dc = data.config
        aug = [f"random {dc.crop}×{dc.crop} crops (padding {dc.crop_padding})" if dc.crop else "",
               "horizontal flips" if dc.flip else ""]
        aug = " and ".join(a for a in aug if a) or "no augmentation"
        # the title stays short (it must fit half a narrow dock): the details go to the text below
        self.seen_plot.setTitle("as the network sees them")
        names = "RGB" if data.mean.numel() == 3 else "grey"
        mean = ", ".join(f"{v:.3f}" for v in data.mean.tolist())
        std = ", ".join(f"{v:.3f}" for v in data.std.tolist())
        self.stats.setText(f"As the network sees them: {aug}, standardise: {dc.standardize}. "
                           f"Training split per channel ({names}, pixel values in [0, 1]): "
                           f"mean ({mean}), std ({std}). Standardising subtracts the mean and "
                           "divides by the std; the second mosaic undoes it for display.")
