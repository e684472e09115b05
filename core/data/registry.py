"""The data sets LearnScope knows: one entry each, read by the config, the panels and the loader.

Torch-free at import: the config (which the first window needs before torch loads) validates
``data.dataset`` against these entries, and each entry names its loader as a lazy
``"module:function"`` string.

Adding a data set is one module with its loader plus one ``register(DataSet(...))`` line in
``_builtin()`` below (see docs/extending.md); the loader's module is imported only when a run
loads that set. ``register`` also works at run time (the tests add a toy set that way).

How a loader is called
----------------------
``load(dc, seed, ctx) -> Loaded``:

- ``dc`` is the experiment's ``DataConfig`` (``dc.n_train`` / ``dc.n_test`` are 0 for "the
  default": the entry's ``sizes`` for a generated set, all of them for a stored one);
- ``seed`` is the run's seed: a generated set draws its training examples from ``2 * seed``
  and its test examples from ``2 * seed + 1``, so changing N keeps the same test examples;
- ``ctx`` is a ``LoadContext``: ``ctx.generator`` (a CPU ``torch.Generator`` seeded with
  ``seed``, for shuffles and held-out cuts), ``ctx.root`` / ``ctx.test_root`` (``data.root``
  and ``data.test_root`` with ``~`` expanded), ``ctx.progress(done, total)`` and
  ``ctx.between()`` (either may be None; an exception raised by them stops the load: pass it
  on), and ``ctx.take(x, y, n)``, n examples in a seeded random order (all when n is 0).

It returns a ``Loaded``: the training pool ``x, y`` *before* the validation cut, in random
order (the validation split is cut from its end), the test split ``xt, yt``, and the class
names. Images are uint8 N×C×H×W, points float32 N×D, labels int64 N, all on the CPU;
``core.data.loader.load`` cuts the validation split and moves them to the device. ``skipped`` / ``skipped_files`` count and name unreadable
files. A problem the user can fix is a ``DataError`` (or a ``ConfigError`` naming the setting).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from core import ConfigError


@dataclass(frozen=True)
class DataSet:
    name: str                 # the config value: "circles", "cifar10", "folder", …
    label: str                # shown in the Data panel: "CIFAR-10", "Circles (2D)", "Image folder…"
    kind: str                 # "points" or "images"
    load: Callable | str      # the loader; a "module:function" string is imported lazily
    side: int | None = None   # fixed image side (mnist 28, cifar10 32); None: data.image_size
    channels: int = 3         # images: 1 or 3 (points: ignored)
    classes: int = 2          # number of classes when known before loading (images: 10)
    needs_root: bool = False  # data.root must name a folder (mnist, cifar10, folder)
    can_download: bool = False
    sizes: tuple[int, int] = (200, 200)  # n_train, n_test used when the config says 0
    known_train: int | None = None       # training examples before loading, when known
    #                                      (points 200, shapes10 10000): val_fraction check
    whole: bool = False       # sizes are all the set holds: a larger data.n_train gets no more
    test_root: bool = False   # data.test_root may name a separate test folder
    dims: int = 2             # points: coordinates per example
    min_side: int = 8         # images: the smallest data.image_size it accepts (shapes10 16)

    def loader(self) -> Callable:
        """Return the load function, importing its module when it is named by a string."""
        if callable(self.load):
            return self.load
        module, _, func = self.load.partition(":")
        return getattr(importlib.import_module(module), func)


@dataclass(frozen=True)
class Loaded:
    """What a loader returns: the training pool (before the validation cut) and the test split."""
    x: Any
    y: Any
    xt: Any
    yt: Any
    classes: tuple[str, ...]
    skipped: int = 0
    skipped_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadContext:
    """What a loader may use besides the config and the seed (see the module's docstring)."""
    generator: Any                          # torch.Generator seeded with the run's seed
    root: str = ""
    test_root: str = ""
    progress: Callable[[int, int], None] | None = None
    between: Callable[[], None] | None = None

    @classmethod
    def of(cls, dc, generator, progress=None, between=None) -> "LoadContext":
        root, test_root = (os.path.expanduser(r) if r else r for r in (dc.root, dc.test_root))
        return cls(generator, root, test_root, progress, between)

    def take(self, x, y, n: int):
        """Return n examples in a seeded random order (all of them when n is 0 or too large).

        Shuffling even when keeping all matters: image folders come sorted by class, and the
        validation split is cut from the end."""
        import torch
        idx = torch.randperm(len(y), generator=self.generator)
        if n:
            idx = idx[:n]
        return x[idx], y[idx]


_SETS: dict[str, DataSet] = {}


def register(ds: DataSet) -> DataSet:
    """Add ``ds`` (or replace the entry of the same name, keeping its place); return it."""
    if ds.kind not in ("points", "images"):
        raise ValueError(f"data set {ds.name!r}: kind must be 'points' or 'images', got {ds.kind!r}")
    _SETS[ds.name] = ds
    return ds


def unregister(name: str) -> None:
    """Remove an entry (tests remove the toy set they registered); unknown names are ignored."""
    _SETS.pop(name, None)


def get(name: str) -> DataSet:
    """Return the entry for a config's data.dataset; ConfigError when there is none."""
    try:
        return _SETS[name]
    except (KeyError, TypeError):
        allowed = ", ".join(repr(n) for n in _SETS)
        raise ConfigError(f"data.dataset: must be one of {allowed}, got {name!r}") from None


def names() -> tuple[str, ...]:
    """Return every data set's name in registration order (the Data panel's order)."""
    return tuple(_SETS)


def is_points(name: str) -> bool:
    """Return whether the named set is 2D points (False for an unknown name)."""
    ds = _SETS.get(name) if isinstance(name, str) else None
    return ds is not None and ds.kind == "points"


def example_shape(dc) -> tuple[int, ...]:
    """Return the shape of one stored example (images before any crop)."""
    ds = get(dc.dataset)
    if ds.kind == "points":
        return (ds.dims,)
    side = ds.side or dc.image_size
    return (ds.channels, side, side)


def input_shape(dc) -> tuple[tuple[int, ...], int]:
    """Return (the shape the network sees, crop included, the number of classes) without
    loading data (an image folder's class count is unknown until it is read: 10 is assumed)."""
    ds = get(dc.dataset)
    shape = example_shape(dc)
    if ds.kind == "images" and dc.crop:
        shape = (shape[0], dc.crop, dc.crop)
    return shape, ds.classes


def _builtin() -> None:
    tv = dict(kind="images", classes=10, needs_root=True, can_download=True, whole=True)
    for name, label in (("circles", "Circles (2D)"), ("moons", "Moons (2D)"), ("xor", "XOR (2D)"),
                        ("spiral", "Spiral (2D)"), ("blobs", "Blobs (2D)")):
        register(DataSet(name, label, "points", "core.data.toy2d:load", known_train=200))
    register(DataSet("shapes10", "Shapes-10 (embedded images)", "images", "core.data.shapes:load",
                     classes=10, sizes=(10000, 2000), known_train=10000, min_side=16))
    register(DataSet("mnist", "MNIST", load="core.data.vision:load_mnist", side=28, channels=1,
                     sizes=(60000, 10000), **tv))
    register(DataSet("fashion-mnist", "Fashion-MNIST", load="core.data.vision:load_fashion_mnist",
                     side=28, channels=1, sizes=(60000, 10000), **tv))
    register(DataSet("cifar10", "CIFAR-10", load="core.data.vision:load_cifar10", side=32,
                     sizes=(50000, 10000), **tv))
    register(DataSet("folder", "Image folder…", "images", "core.data.vision:load_folder",
                     classes=10, needs_root=True, sizes=(0, 0), test_root=True))


_builtin()


def check_folders(d) -> None:
    """Check that the folders a data set (DataConfig d) reads from disk exist, naming the
    setting (config.validate leaves the disk alone); a set that can download makes its own."""
    ds = get(d.dataset)
    if not ds.needs_root or ds.can_download:
        return
    folders = [("data.root", d.root, "images")]
    if ds.test_root:
        folders.append(("data.test_root", d.test_root, "test images"))
    for path, folder, what in folders:
        p = Path(folder).expanduser() if folder else None
        if p is not None and not p.is_dir():
            reason = "is a file, not a folder" if p.exists() else "does not exist"
            raise ConfigError(f"{path}: {p} {reason}; choose the folder that holds one sub-folder "
                              f"of {what} per class")
