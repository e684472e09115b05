"""Time core.data.vision.load_image_folder: the first (decoding) load and the cached load.

Usage: python benchmarks/image_folder_load.py [IMAGE_FOLDER] [--size 32]
Without a folder, extracts ../shared/data/cifar10-train-jpeg.tar.gz (50,000 CIFAR-10 JPEGs) into a
temporary directory. A fresh temporary cache directory is used, so the first load always decodes.
"""
from __future__ import annotations

import argparse
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.data.vision import load_image_folder  # noqa: E402

ARCHIVE = REPO.parent / "shared" / "data" / "cifar10-train-jpeg.tar.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", help="image folder with one sub-folder per class")
    parser.add_argument("--size", type=int, default=32, help="side of the square images (default 32)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="learnscope-bench-") as tmp:
        if args.folder:
            folder = Path(args.folder)
        else:
            t0 = time.perf_counter()
            with tarfile.open(ARCHIVE) as tar:
                tar.extractall(tmp, filter="data")
            print(f"extracted {ARCHIVE.name} in {time.perf_counter() - t0:.2f} s")
            folder = Path(tmp) / "train"
        cache = Path(tmp) / "cache"
        print(f"folder {folder}, size {args.size}, {os.cpu_count()} CPUs")

        ticks = []
        t0 = time.perf_counter()
        first = load_image_folder(folder, args.size, progress=lambda d, t: ticks.append(d), cache_dir=cache)
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = load_image_folder(folder, args.size, cache_dir=cache)
        t_cached = time.perf_counter() - t0

        n = len(first.labels)
        assert second.images.shape == first.images.shape and bool((second.images == first.images).all())
        cache_mb = sum(f.stat().st_size for f in cache.glob("*.npz")) / 2**20
        print(f"images  {n}  shape {tuple(first.images.shape)} {first.images.dtype}  "
              f"classes {len(first.classes)}  skipped {first.skipped}  progress calls {len(ticks)}")
        print(f"first load (decode + cache write): {t_first:.2f} s  = {n / t_first:,.0f} images/s")
        print(f"cached load:                       {t_cached:.2f} s  = {n / t_cached:,.0f} images/s"
              f"  (cache file {cache_mb:.0f} MiB)")


if __name__ == "__main__":
    main()
