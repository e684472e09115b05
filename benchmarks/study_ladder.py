"""Train the practical's built-in ladder and print its table and the wall time.

    .venv/bin/python benchmarks/study_ladder.py --preset shapes-cnn [--epochs N] [--parallel K]

Each run trains into a fresh temporary folder (so nothing is resumed) unless --out is given.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.experiment import config as cfg  # noqa: E402
from core import study as studies  # noqa: E402
from core.cli.study import _HEAD, format_row  # noqa: E402
from core.study.runner import StudyRunner  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="shapes-cnn")
    p.add_argument("--study", default="ladder")
    p.add_argument("--epochs", type=int)
    p.add_argument("--parallel", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", help="study folder's parent (default: a temporary folder)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    args = p.parse_args()
    study = studies.builtin(args.study, args.preset)
    if args.set:  # on the base, as `python -m core study --set` does
        study = dataclasses.replace(study, base=cfg.with_overrides(study.base, list(args.set)))
    extra = [f"train.device={args.device}"]
    if args.epochs is not None:
        extra.append(f"train.epochs={args.epochs}")
    out = args.out or tempfile.mkdtemp(prefix="study-ladder-")
    runner = StudyRunner(study, out, args.parallel, extra,
                         on_rung=lambda row, _rows: print(format_row(row), flush=True))
    epochs = runner.rungs[0][1].train.epochs
    print(f"{study.name}: {len(runner.rungs)} rungs, {epochs} epochs each, parallel "
          f"{args.parallel}, {os.cpu_count()} CPU cores, device {args.device}; folder {runner.folder}")
    print(_HEAD, flush=True)
    t0 = time.perf_counter()
    runner.run()
    print(f"wall time: {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
