"""The cache of decoded image folders: plain ``.npz`` arrays (never pickle) keyed by the listing.

A folder is decoded once per image size; the key covers every file's name, size and mtime, so
any change to the folder decodes it again, and a new cache replaces the stale ones beside it.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

VERSION = 3  # bump when the decoding or the cached fields change, so old caches stop matching


def path(root: Path, size: int, digest: str, cache_dir: str | Path | None) -> Path:
    """Return the cache file for this folder, image size and listing digest."""
    base = Path(cache_dir or os.environ.get("LEARNSCOPE_CACHE") or Path.home() / ".cache" / "learnscope")
    key = hashlib.sha256(f"{VERSION}\0{root}\0{size}\0{digest}".encode("utf-8", "surrogateescape"))
    root_id = hashlib.sha256(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    # The root and size prefix lets a new cache replace the stale ones for the same folder.
    return base.expanduser() / f"imagefolder-{root_id}-s{size}-{key.hexdigest()[:20]}.npz"


def read(path: Path, size: int) -> tuple | None:
    """Return the cached (images, labels, classes, skipped, skipped_files), or None if the file is
    absent, corrupt or does not match."""
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels, classes = z["images"], z["labels"], z["classes"]
            skipped = int(z["skipped"])
            skipped_files = tuple(str(f) for f in z["skipped_files"])
        n = len(labels)
        if (images.dtype != np.uint8 or images.shape != (n, 3, size, size) or labels.dtype != np.int64
                or classes.ndim != 1 or (n and not 0 <= labels.min() <= labels.max() < len(classes))):
            return None
        return (torch.from_numpy(images), torch.from_numpy(labels), tuple(str(c) for c in classes), skipped,
                skipped_files)
    except Exception:  # missing, truncated, not a zip, wrong keys: decode again
        return None


def write(path: Path, data) -> None:
    """Store ``data`` (an ImageSet) atomically at ``path`` and remove older caches of the same folder; failures are ignored."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target then rename: a killed process leaves a stray .tmp, never a half .npz.
        fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, images=data.images.numpy(), labels=data.labels.numpy(),
                     classes=np.array(data.classes, dtype=str), skipped=np.int64(data.skipped),
                     skipped_files=np.array(data.skipped_files, dtype=str))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        prefix = path.name.rsplit("-", 1)[0] + "-"
        for old in path.parent.glob(prefix + "*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:  # read-only or full disk: the load still succeeds, only uncached
        if tmp:
            Path(tmp).unlink(missing_ok=True)
