"""What keeping a run's snapshots costs its training: the snapshot writer's own time as a share
of the run, and the run's speed with train.snapshots = auto against none (alternating).

For the circles MLP (150 epochs, about a hundred a second: a snapshot every 10 ms) and the
practical CNN on Shapes-10 (512 images, 8 epochs), trained as `python -m core train` does, with
the run folder written. The target is at most 3 %.

    .venv/bin/python benchmarks/snapshot_cost.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.engine import malloc  # noqa: E402

malloc.keep_freed_memory()

from core.engine.train import Trainer  # noqa: E402
from core.experiment import config as cfg  # noqa: E402
from core.experiment import presets  # noqa: E402
from core.store import snapshots  # noqa: E402
from core.store.writers import recorded  # noqa: E402

WORKLOADS = {"circles MLP, 150 epochs": ("circles-mlp", ["train.epochs=150", "train.device=cpu"]),
             "practical CNN, Shapes-10, 512 images, 8 epochs": (
                 "shapes-cnn", ["data.n_train=512", "data.n_test=256", "train.epochs=8",
                                "train.device=cpu"])}


def one(preset: str, sets: list[str], mode: str) -> tuple[float, float, int]:
    """(seconds of training, seconds the snapshot writer took, snapshots kept)."""
    exp = cfg.with_overrides(presets.load(preset), sets + [f'train.snapshots="{mode}"'])
    with tempfile.TemporaryDirectory() as root:
        trainer = recorded(Trainer(exp), root)
        writer = next(o for o in trainer.observers if isinstance(o, snapshots.SnapshotWriter))
        t0 = time.perf_counter()
        result = trainer.fit()
        seconds = time.perf_counter() - t0
        return seconds, writer.seconds, len(snapshots.epochs(result.run_folder))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    for name, (preset, sets) in WORKLOADS.items():
        on, off, shares, kept = [], [], [], 0
        one(preset, sets, "none")  # warm-up: data cache, first imports
        for k in range(args.rounds):
            for mode in (("auto", "none") if k % 2 == 0 else ("none", "auto")):
                seconds, writing, n = one(preset, sets, mode)
                (on if mode == "auto" else off).append(seconds)
                if mode == "auto":
                    shares.append(writing / seconds)
                    kept = n
        print(f"{name}: {kept} snapshots; the writer's share of the run "
              f"{100 * statistics.median(shares):.2f} % (rounds: "
              f"{', '.join(f'{100 * s:.2f}' for s in shares)}); run time auto / none "
              f"{statistics.median(on):.2f} / {statistics.median(off):.2f} s")


if __name__ == "__main__":
    main()
