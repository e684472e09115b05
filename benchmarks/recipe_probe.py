"""What the modern recipe adds to the ladder's batch-norm rung: every row of the `recipe` study
(the base, each choice alone, all of them) trained for each seed, final test accuracy printed.

Shapes-10 (embedded) by default, its study as written (16 epochs); with --cifar-train and
--cifar-test (two image folders, one sub-folder per class: e.g. 10,000 and 5,000 of CIFAR-10's
training JPEGs) the CIFAR-10 study on them, for --epochs epochs.

    .venv/bin/python benchmarks/recipe_probe.py [--seeds 0 1 2]
    .venv/bin/python benchmarks/recipe_probe.py --cifar-train DIR --cifar-test DIR --epochs 10 --seeds 0
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.engine import malloc  # noqa: E402

malloc.keep_freed_memory()

from core import study as studies  # noqa: E402
from core.engine.train import Trainer  # noqa: E402
from core.experiment import config as cfg  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--cifar-train")
    ap.add_argument("--cifar-test")
    ap.add_argument("--epochs", type=int)
    args = ap.parse_args()
    extra = ["train.device=cpu"] + ([f"train.epochs={args.epochs}"] if args.epochs else [])
    if args.cifar_train:
        study = studies.builtin("recipe", "cifar-cnn")
        extra += ['data.dataset="folder"', f'data.root="{args.cifar_train}"',
                  f'data.test_root="{args.cifar_test}"', "data.n_train=0", "data.n_test=0"]
    else:
        study = studies.builtin("recipe", "shapes-cnn")
    rungs = studies.check(study, extra)
    base = None
    for variant, exp in rungs:
        t0, accs = time.perf_counter(), []
        for seed in args.seeds:
            result = Trainer(cfg.with_overrides(exp, [f"train.seed={seed}"])).fit()
            accs.append(result.last.test.accuracy if result.last else float("nan"))
        mean = statistics.mean(accs)
        base = mean if base is None else base
        print(f"{variant.label:<32} {' '.join(f'{a:5.1f}' for a in accs)}  mean {mean:5.1f} "
              f"({mean - base:+.1f})  {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
