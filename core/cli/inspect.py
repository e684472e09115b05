"""`python -m core inspect RUN --view filters|decision-boundary [--epoch N] --png OUT.png` or
`--frames DIR`: a stored run's picture at one epoch, or one PNG per kept epoch, without Qt.

The epoch comes from the run's snapshots (core.store.snapshots; --epoch -1: the last one);
without snapshots, the final weights. The pictures are the lab report's: the first layer's
filters as a mosaic, the decision boundary as P(class 1) over the lab's [-2, 2]² on a 80×80
grid, in the Inspect view's colours (blue 0 → white 0.5 → red 1).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from core import LearnScopeError
from core.files.atomic import atomic_write_bytes

VIEWS = ("filters", "decision-boundary")
BLUE, WHITE, RED = np.array([33, 102, 172]), np.array([247, 247, 247]), np.array([178, 24, 43])


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="draw a stored run's filters or decision boundary at an "
                                       "epoch, without the window")
    p.add_argument("run", help="a run folder")
    p.add_argument("--view", choices=VIEWS, default="filters")
    p.add_argument("--epoch", type=int, default=-1, help="a kept epoch (0: the initial "
                   "weights; -1: the last)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--png", help="the picture's file")
    out.add_argument("--frames", help="a folder: one PNG per kept epoch, epoch-NNNN.png")
    p.set_defaults(func=cmd_inspect)


def boundary_png(restored, steps: int = 80) -> bytes:
    from core.nets import inspect as ins
    from core.report.png import encode_png, enlarge
    grid = ins.decision_grid(restored.model, restored.data, steps=steps, bounds=(-2, 2, -2, 2))
    p = grid.probs[::-1, :, 1][..., None]  # row 0 at the top: y grows upwards
    rgb = np.where(p < 0.5, BLUE + (WHITE - BLUE) * (p / 0.5), WHITE + (RED - WHITE) * ((p - 0.5) / 0.5))
    return encode_png(enlarge(rgb.clip(0, 255).astype(np.uint8), 320))


def picture(restored, state, view: str) -> bytes:
    """The view's PNG for the run's network with state loaded."""
    restored.model.load_state_dict(state)
    restored.model.eval()
    if view == "filters":
        from core.report.png import filters_png
        made = filters_png(state, restored.data.input_shape)
        if made is None:
            raise LearnScopeError("This network has no image-shaped first layer: no filters to "
                                  "draw (try --view decision-boundary for 2D points).")
        return made[0]
    if len(restored.data.input_shape) != 1 or restored.data.input_shape[0] != 2:
        raise LearnScopeError("The decision boundary is for 2D points; this run trained on "
                              "images (try --view filters).")
    return boundary_png(restored)


def cmd_inspect(args) -> int:
    from core.store import reader, restore, snapshots
    folder = Path(args.run)
    try:
        restored = restore.restore(reader.open_run(folder), device="cpu")
        kept = snapshots.epochs(folder)
        if args.frames:
            if not kept:
                raise LearnScopeError(f"{folder.name} kept no snapshots (a run from before "
                                      "they were kept, or train.snapshots = \"none\"): there "
                                      "are no epochs to draw; use --png for its final weights.")
            wanted = kept
        elif kept:
            wanted = [kept[-1] if args.epoch < 0 else args.epoch]
            if wanted[0] not in kept:
                raise LearnScopeError(f"--epoch {args.epoch}: the run kept epochs "
                                      f"{', '.join(map(str, kept))}; choose one of them.")
        else:
            wanted = [None]  # an older run: its final weights
        written = []
        for epoch in wanted:
            state = restored.model.state_dict() if epoch is None else snapshots.load(folder, epoch)[0]
            png = picture(restored, state, args.view)
            out = Path(args.png) if args.png else Path(args.frames) / f"epoch-{epoch:04d}.png"
            atomic_write_bytes(out, png)
            written.append(out)
    except (LearnScopeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} picture(s): {written[0]}{' …' if len(written) > 1 else ''}")
    return 0
