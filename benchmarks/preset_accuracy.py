"""Train a preset (with overrides) and print final accuracies and per-class test accuracy.

Compare variants in one call, each `--variant` a comma-separated list of overrides:

    .venv/bin/python benchmarks/preset_accuracy.py --preset shapes-cnn \
        --variant "" --variant "data.crop=28,data.flip=true"
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.experiment import config as cfg  # noqa: E402
from core.experiment import presets  # noqa: E402
from core.nets.inspect import confusion_matrix, per_class_accuracy  # noqa: E402
from core.engine.train import Observer, Trainer  # noqa: E402


class Best(Observer):
    def __init__(self):
        self.best, self.records, self.how = 0.0, [], ""

    def on_fit_start(self, info):
        self.how = info.precision  # the run's first line: number format, compile, CUDA graphs

    def on_epoch_end(self, record):
        self.records.append(record)
        self.best = max(self.best, record.test.accuracy)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="shapes-cnn")
    p.add_argument("--set", action="append", default=[], help="override for every variant")
    p.add_argument("--variant", action="append", default=None, help="comma-separated overrides")
    args = p.parse_args()
    base = cfg.with_overrides(presets.load(args.preset), args.set)
    for variant in args.variant or [""]:
        overrides = [v for v in variant.split(",") if v]
        exp = cfg.with_overrides(base, overrides)
        best = Best()
        t0 = time.perf_counter()
        trainer = Trainer(exp, [best])
        result = trainer.fit()
        seconds = time.perf_counter() - t0
        label = variant or "preset as is"
        if not result.last:
            print(f"{label}: {result.status}: {result.message}")
            continue
        last = result.last
        conf = confusion_matrix(trainer.model, trainer.data, trainer.data.test)
        per_class = per_class_accuracy(conf)
        print(f"{label}: {result.status} after {result.epochs} epochs in {seconds:.0f} s on "
              f"{trainer.device} ({best.how}); train {last.train.accuracy:.1f} % / test "
              f"{last.test.accuracy:.1f} % (best test {best.best:.1f} %), "
              f"{last.images_per_s:,.0f} img/s")
        if result.status != "done":
            print(f"    {result.message}")
        print("    per-class test accuracy: " + ", ".join(
            f"{c} {a:.0f}" for c, a in zip(trainer.data.classes, per_class)))


if __name__ == "__main__":
    main()
