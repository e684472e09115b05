"""`python -m core inspect RUN --view filters|decision-boundary [--epoch N] --png OUT.png`,
`--frames DIR` or `--gif OUT.gif`: a stored run's picture at one epoch, one PNG per kept epoch,
or all of them animated — without Qt (core.report.replay draws them).

The epoch comes from the run's snapshots (core.store.snapshots; --epoch -1: the last one);
without snapshots, the final weights.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core import LearnScopeError


def add_parser(sub) -> None:
    from core.report.replay import VIEWS
    p = sub.add_parser("inspect", help="draw a stored run's filters or decision boundary at an "
                                       "epoch, or over its epochs, without the window")
    p.add_argument("run", help="a run folder")
    p.add_argument("--view", choices=tuple(VIEWS), help="default: the decision boundary for "
                   "2D points, else the filters")
    p.add_argument("--epoch", type=int, default=-1, help="a kept epoch (0: the initial "
                   "weights; -1: the last)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--png", help="the picture's file")
    out.add_argument("--frames", help="a folder: one PNG per kept epoch, epoch-NNNN.png")
    out.add_argument("--gif", help="an animated GIF of every kept epoch, each frame titled")
    p.set_defaults(func=cmd_inspect)


def _wanted(folder: Path, args, kept: list[int]) -> list[int] | None:
    """The epochs to draw (None: an older run's final weights)."""
    if args.frames or args.gif:
        if not kept:
            raise LearnScopeError(f"{folder.name} kept no snapshots (a run from before they "
                                  "were kept, or train.snapshots = \"none\"): there are no "
                                  "epochs to draw; use --png for its final weights.")
        return kept
    if not kept:
        return None
    epoch = kept[-1] if args.epoch < 0 else args.epoch
    if epoch not in kept:
        raise LearnScopeError(f"--epoch {args.epoch}: the run kept epochs "
                              f"{', '.join(map(str, kept))}; choose one of them.")
    return [epoch]


def cmd_inspect(args) -> int:
    from core.report import replay
    from core.report.png import encode_png
    from core.files.atomic import atomic_write_bytes
    from core.store import snapshots
    folder = Path(args.run)
    try:
        shown = replay.frames(folder, args.view, _wanted(folder, args, snapshots.epochs(folder)))
        if args.gif:
            written = [replay.write_gif(shown, args.gif)]
        elif args.frames:
            written = replay.write_pngs(shown, args.frames)
        else:
            atomic_write_bytes(Path(args.png), encode_png(shown[0].image))
            written = [Path(args.png)]
    except (LearnScopeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} file(s): {written[0]}{' …' if len(written) > 1 else ''}")
    return 0
