"""The Shapes-10 ladder trained sequentially and on Dask (a LocalCluster of 2 worker processes,
`--executor dask`), on this machine: both studies' wall time, and Dask's cost a rung — from the
worker beginning the rung to its files landed in the study folder, less the rung's own
training time (the worker's first rung also imports torch).

    .venv/bin/python benchmarks/study_dask.py [--epochs 2] [--n-train 512]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import study as studies  # noqa: E402
from core.study.cluster import DaskExecutor  # noqa: E402
from core.study.runner import StudyRunner  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--n-train", type=int, default=512)
    args = ap.parse_args()
    extra = [f"train.epochs={args.epochs}", f"data.n_train={args.n_train}", "data.n_test=256",
             "train.device=cpu"]
    study = studies.builtin("ladder", "shapes-cnn")
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        alone = StudyRunner(study, Path(out) / "sequential", extra=extra).run()
        sequential = time.perf_counter() - t0
        executor = DaskExecutor(workers=2, say=lambda _text: None)
        t0 = time.perf_counter()
        executor.connect()
        started = time.perf_counter() - t0
        try:
            rows = StudyRunner(study, Path(out) / "dask", extra=extra, executor=executor).run()
        finally:
            executor.close()
        on_dask = time.perf_counter() - t0
    trained = {r["run_folder"]: r["seconds"] for r in rows}
    cost = [landed - began - trained[name] for name, (began, landed) in executor.timings.items()]
    same = [(a["test_accuracy"], b["test_accuracy"]) for a, b in zip(alone, rows)]
    print(f"Shapes-10 ladder, {len(rows)} rungs × {args.epochs} epochs on {args.n_train} images:")
    print(f"  sequential {sequential:.1f} s; Dask, 2 worker processes, {on_dask:.1f} s "
          f"(the cluster's start {started:.1f} s of it)")
    print(f"  Dask's cost a rung: median {statistics.median(cost):.2f} s, most {max(cost):.2f} s "
          f"(rungs: {', '.join(f'{c:.2f}' for c in cost)})")
    print(f"  test accuracy sequential / Dask, rung by rung: "
          f"{'; '.join(f'{a:.1f}/{b:.1f}' for a, b in same)}")


if __name__ == "__main__":
    main()
