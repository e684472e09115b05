"""A stored run's pictures over its epochs, without Qt: the first layer's filters or the decision
boundary at each kept epoch (core.store.snapshots), each frame titled with the run and the
epoch, written as PNGs, one strip, or an animated GIF.

The pictures are the lab report's: the filters as the Filters view tiles them, the decision
boundary as P(class 1) over the lab's [-2, 2]² square in the Inspect view's colours (blue 0 →
white 0.5 → red 1). `python -m core inspect`, the window's replay exports and side by side, and
the lab report's strip of epochs all draw through here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import LearnScopeError
from core.files.atomic import atomic_write_bytes
from core.report.png import encode_png, enlarge, first_layer

VIEWS = {"filters": "the first layer's filters", "decision-boundary": "the decision boundary"}
BLUE, WHITE, RED = np.array([33, 102, 172]), np.array([247, 247, 247]), np.array([178, 24, 43])
SIZE = 320       # px: a frame's picture is enlarged to about this many across
TITLE_PX = 22    # the title bar over each frame
FRAME_MS = 400   # a GIF frame: slow enough to see each epoch's change (the timeline's Play)


@dataclass
class Frame:
    epoch: int | None      # None: an older run's final weights (it kept no snapshots)
    title: str             # "circles-mlp-… · epoch 3/150"
    image: np.ndarray      # H×W×3 uint8, the title bar included


def view_for(input_shape: tuple[int, ...]) -> str:
    """The view a run's replay shows: the boundary for 2D points, else the filters."""
    return "decision-boundary" if tuple(input_shape) == (2,) else "filters"


def boundary_rgb(model, data, steps: int = 80) -> np.ndarray:
    from core.nets import inspect as ins
    grid = ins.decision_grid(model, data, steps=steps, bounds=(-2, 2, -2, 2))
    p = grid.probs[::-1, :, 1][..., None]  # row 0 at the top: y grows upwards
    rgb = np.where(p < 0.5, BLUE + (WHITE - BLUE) * (p / 0.5),
                   WHITE + (RED - WHITE) * ((p - 0.5) / 0.5))
    return rgb.clip(0, 255).astype(np.uint8)


def picture(state, view: str, input_shape: tuple[int, ...], restored=None) -> np.ndarray:
    """The view's picture (H×W×3 uint8, enlarged) of the network with these weights (the
    decision boundary draws through `restored`, the run read back with its data)."""
    if view == "filters":
        found = first_layer(state, input_shape)
        if found is None:
            raise LearnScopeError("This network has no image-shaped first layer: no filters to "
                                  "draw (the decision boundary is the view for 2D points).")
        mosaic = np.asarray(found[1], dtype=np.float64)
        mosaic = np.repeat(mosaic[..., None], 3, axis=2) if mosaic.ndim == 2 else mosaic
        rgb = (np.clip(np.nan_to_num(mosaic), 0, 1) * 255 + 0.5).astype(np.uint8)
    elif view == "decision-boundary":
        if tuple(input_shape) != (2,):
            raise LearnScopeError("The decision boundary is for 2D points; this run trained "
                                  "on images (its filters are the view to replay).")
        restored.model.load_state_dict(state)
        restored.model.eval()
        rgb = boundary_rgb(restored.model, restored.data)
    else:
        raise LearnScopeError(f"No replay of the view {view!r}; one of {', '.join(VIEWS)}.")
    return enlarge(rgb, SIZE)


def titled(image: np.ndarray, title: str) -> np.ndarray:
    """The image under a white bar with the title in black (Pillow's own font: no font file)."""
    from PIL import Image, ImageDraw, ImageFont
    h, w = image.shape[:2]
    canvas = Image.new("RGB", (w, h + TITLE_PX), "white")
    canvas.paste(Image.fromarray(image), (0, TITLE_PX))
    try:
        font = ImageFont.load_default(size=14)
    except TypeError:  # Pillow before 10.1: its one bitmap size
        font = ImageFont.load_default()
    ImageDraw.Draw(canvas).text((4, 3), title, fill="black", font=font)
    return np.asarray(canvas)


def frames(folder: Path | str, view: str | None = None, epochs: list[int] | None = None,
           restored=None) -> list[Frame]:
    """The run's frames at each kept epoch (or those of `epochs`); an older run without
    snapshots gives one frame of its final weights. The filters need only the snapshots; the
    decision boundary and the final weights read the run back (restored, if given, is used).
    LearnScopeError names what is wrong."""
    from core.data import registry as datasets
    from core.store import reader, restore, snapshots
    folder = Path(folder)
    run = reader.open_run(folder)
    if run.experiment is None:
        raise LearnScopeError(f"Cannot replay {folder.name}: "
                              f"{run.problem or 'its config.toml cannot be read'}.")
    shape = datasets.input_shape(run.experiment.data)[0]
    view = view or view_for(shape)
    kept = snapshots.epochs(folder)
    missing = sorted(set(epochs or []) - set(kept))
    if missing:
        raise LearnScopeError(f"{folder.name} kept no snapshot of epoch "
                              f"{', '.join(map(str, missing))}; it kept "
                              f"{', '.join(map(str, kept)) or 'none'}.")
    wanted = (epochs if epochs is not None else kept) or [None]
    if restored is None and view == "decision-boundary":
        restored = restore.restore(run, device="cpu")
    last = kept[-1] if kept else int(run.summary.get("epochs") or len(run.metrics()))
    out = []
    for epoch in wanted:  # None: the final weights (restore's own reading of weights.pt)
        state = restore.final_weights(run) if epoch is None else snapshots.load(folder, epoch)[0]
        title = f"{folder.name} · epoch {last if epoch is None else epoch}/{last}"
        out.append(Frame(epoch, title, titled(picture(state, view, shape, restored), title)))
    return out


def spread(kept: list[int], n: int) -> list[int]:
    """n of the kept epochs, evenly spread, the first and the last among them."""
    if len(kept) <= n:
        return list(kept)
    return [kept[int(round(i))] for i in np.linspace(0, len(kept) - 1, n)]


def strip(shown: list[Frame], gap: int = 6) -> np.ndarray:
    """The frames side by side on white, for the report (frames of one run share a size)."""
    h = max(f.image.shape[0] for f in shown)
    parts = []
    for f in shown:
        pad = np.full((h - f.image.shape[0], f.image.shape[1], 3), 255, np.uint8)
        parts += [np.concatenate([f.image, pad]), np.full((h, gap, 3), 255, np.uint8)]
    return np.concatenate(parts[:-1], axis=1)


def gif_bytes(shown: list[Frame], ms: int = FRAME_MS) -> bytes:
    """An animated GIF of the frames, looping, the last one held three times as long."""
    from PIL import Image
    # each frame's own 128-colour palette, not dithered: a smooth boundary stays smooth and
    # compresses (dithering's noise made the circles MLP's 151 frames 4 MB)
    images = [Image.fromarray(f.image).quantize(128, dither=Image.Dither.NONE) for f in shown]
    durations = [ms] * (len(images) - 1) + [3 * ms]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=durations, loop=0, optimize=False)
    return buffer.getvalue()


def write_gif(shown: list[Frame], path: Path | str, ms: int = FRAME_MS) -> Path:
    atomic_write_bytes(Path(path), gif_bytes(shown, ms))
    return Path(path)


def write_pngs(shown: list[Frame], folder: Path | str) -> list[Path]:
    """One PNG per frame, epoch-NNNN.png (final.png for an older run's final weights)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for f in shown:
        path = folder / ("final.png" if f.epoch is None else f"epoch-{f.epoch:04d}.png")
        atomic_write_bytes(path, encode_png(f.image))
        out.append(path)
    return out


def _replay(folder: Path | str) -> list[Frame]:
    """Every kept epoch's frame; LearnScopeError for a run that kept none."""
    from core.store import snapshots
    if not snapshots.epochs(folder):
        raise LearnScopeError(f"{Path(folder).name} kept no snapshots (a run from before they "
                              "were kept, or train.snapshots = \"none\"): there are no epochs "
                              "to replay. Train it again to keep them.")
    return frames(folder)


def export_gif(folder: Path | str, target: Path | str) -> Path:
    """core.export's gif: the run's view over its kept epochs, animated."""
    return write_gif(_replay(folder), target)


def export_frames(folder: Path | str, target: Path | str) -> list[Path]:
    """core.export's frames: one PNG per kept epoch."""
    return write_pngs(_replay(folder), target)
